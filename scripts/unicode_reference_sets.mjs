// Asks the reference `tokenizers` library (npm tokenizers@0.23.2) how it classifies every code point, for the
// character classes our tokenizer must agree with. Writes JSON {name: [[lo, hi], ...]} to stdout.
//   cd /tmp/ref && node /path/to/scripts/unicode_reference_sets.mjs > reference_sets.json
import { createRequire } from "module";
const require = createRequire(process.cwd() + "/");
const { Tokenizer } = require("tokenizers");

const all = [];
for (let c = 0; c <= 0x10ffff; ++c) if (c < 0xd800 || c > 0xdfff) all.push(c);

function tokenizerWith(extra) {
  return Tokenizer.fromString(JSON.stringify({
    version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: null,
    post_processor: null, decoder: null,
    model: { type: "WordLevel", vocab: { "[UNK]": 0 }, unk_token: "[UNK]" }, ...extra }));
}

function ranges(set) {
  const out = [];
  const sorted = [...set].sort((a, b) => a - b);
  for (const c of sorted) {
    if (out.length && out[out.length - 1][1] === c - 1) out[out.length - 1][1] = c;
    else out.push([c, c]);
  }
  return out;
}

// Code points a pre-tokenizer isolates when each candidate stands between two separators.
function isolated(preTokenizer, separator) {
  const pt = tokenizerWith({ pre_tokenizer: preTokenizer }).getPreTokenizer();
  const set = new Set();
  const chunk = 50000;
  for (let i = 0; i < all.length; i += chunk) {
    const cps = all.slice(i, i + chunk);
    const text = separator + cps.map((c) => String.fromCodePoint(c)).join(separator) + separator;
    for (const [piece] of pt.preTokenizeString(text)) {
      const chars = [...piece];
      if (chars.length === 1 && chars[0] !== separator) set.add(chars[0].codePointAt(0));
    }
  }
  return set;
}

// Code points a regex matches (Split, Isolated): a match stands alone between separators.
const regex = (pattern, separator) =>
  isolated({ type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false }, separator);

// Per code point output of a normalizer, one code point at a time.
function normalized(normalizer, sep = "\u0001") {
  const n = tokenizerWith({ normalizer }).getNormalizer();
  const out = {};
  const chunk = 20000;
  for (let i = 0; i < all.length; i += chunk) {
    const cps = all.slice(i, i + chunk).filter((c) => c !== sep.codePointAt(0));
    const parts = n.normalizeString(cps.map((c) => String.fromCodePoint(c)).join(sep) + sep).split(sep);
    if (parts.length !== cps.length + 1) throw new Error("a separator was changed by the normalizer");
    cps.forEach((c, k) => {
      const want = String.fromCodePoint(c);
      if (parts[k] !== want) out[c] = [...parts[k]].map((x) => x.codePointAt(0));
    });
  }
  return out;
}

const result = {
  onig_s: ranges(regex("\\s", "a")),
  onig_w: ranges(regex("\\w", "!")),
  punctuation: ranges(isolated({ type: "Punctuation", behavior: "Isolated" }, "a")),
  numeric: ranges(isolated({ type: "Digits", individual_digits: true }, "a")),
  lowercase: normalized({ type: "Lowercase" }),
  nfd: normalized({ type: "NFD" }),
  nfkd: normalized({ type: "NFKD" }),
  bert_clean: normalized({ type: "BertNormalizer", clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: false }, "a"),
  strip_accents: normalized({ type: "StripAccents" }),
};
// Unicode general categories as Oniguruma knows them; the separator "\u0001" (Cc) is in none of them.
for (const cat of ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "S", "Z"])
  result["onig_" + cat] = ranges(regex(`\\p{${cat}}`, "\u0001"));
// BertNormalizer with only strip_accents: NFD, then drop what the reference takes for a nonspacing mark.
result.bert_strip_accents = normalized({ type: "BertNormalizer", clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false });
// Rust regex's \w (the Whitespace pre-tokenizer uses the regex crate, not Oniguruma): a word character between
// two "!" stays in one piece with nothing else.
{
  const pt = tokenizerWith({ pre_tokenizer: { type: "Whitespace" } }).getPreTokenizer();
  const word = new Set();
  const chunk = 50000;
  for (let i = 0; i < all.length; i += chunk) {
    const text = all.slice(i, i + chunk).map((c) => "!" + String.fromCodePoint(c)).join("") + "!";
    for (const [piece] of pt.preTokenizeString(text)) {
      const chars = [...piece];
      if (chars.length === 1 && chars[0] !== "!") word.add(chars[0].codePointAt(0));
    }
  }
  result.rust_w = ranges(word);
}
// Marks the reference's normalizer reorders (canonical combining class strictly between 0 and 240): placed
// after U+0345 (class 240), NFD moves them before it.
{
  const n = tokenizerWith({ normalizer: { type: "NFD" } }).getNormalizer();
  const moved = [];
  const chunk = 20000;
  for (let i = 0; i < all.length; i += chunk) {
    const cps = all.slice(i, i + chunk).filter((c) => c !== 1);
    const parts = n.normalizeString(cps.map((c) => "a\u0345" + String.fromCodePoint(c)).join("\u0001")).split("\u0001");
    cps.forEach((c, k) => {
      const x = String.fromCodePoint(c);
      if (parts[k] === "a" + x + "\u0345") moved.push(c);
    });
  }
  result.reorderable = ranges(moved);
}
// Rust's char::is_whitespace, through WhitespaceSplit (which removes it).
{
  const pt = tokenizerWith({ pre_tokenizer: { type: "WhitespaceSplit" } }).getPreTokenizer();
  const kept = new Set();
  const text = all.map((c) => String.fromCodePoint(c)).join("a");
  for (const [piece] of pt.preTokenizeString(text)) for (const ch of piece) kept.add(ch.codePointAt(0));
  result.whitespace = ranges(all.filter((c) => !kept.has(c)));
}
process.stdout.write(JSON.stringify(result));
