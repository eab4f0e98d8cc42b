// Text lists and hand-written synthetic tokenizers for make_tokenizer_fixtures.mjs.
// Every synthetic tokenizer.json is written in the exact form the reference
// library serialises (the generator checks this with a load/save round trip).

// ---------------------------------------------------------------- texts ----

// Deterministic pseudo-random lowercase "word" (LCG), no spaces.
function lcgWord(n, seed) {
  let x = seed, s = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += 'abcdefghijklmnopqrstuvwxyz'[(x >>> 16) % 26];
  }
  return s;
}
export const LONG_WORD = lcgWord(2000, 42);

const PYTHON = 'def fib(n):\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n\n' +
  '    for _ in range(n):\n\ta, b = b, a + b  # tab-indented\n    return a\n\n\n\n' +
  "if __name__ == '__main__':\n    print(fib(10))\n";
const CPP = '#include <iostream>\n#include <vector>\n\nint main() {\n    std::vector<int> v{1, 2, 3};\n' +
  "    for (auto& x : v) {\n        std::cout << x << '\\n';\n    }\n\treturn 0;\n}\n";
const JSON_TEXT = '{"name": "LM Workbench", "version": 1.25, "tags": ["a", "b"],\n "nested": {"k": null, "t": true, "e": "\\u00e9"}}';

// Texts used for every real vocabulary.
// Characters from Unicode 14-16 and marks whose classes differ between Unicode versions: the reference's tables
// (Oniguruma, Rust) are newer or older than PCRE2's and utf8proc's here.
const NEW_UNICODE = [
  'Kaktovik \u{1D2C0}\u{1D2C1}\u{1D2D3} 1\u{1D2C2} ²³¹ ¼', 'Nag Mundari \u{1E4D0}\u{1E4D1}\u{1E4EC}\u{1E4ED}',
  'Garay \u{10D50}\u{10D70} \u1C89\u1C8A \uA7CB\uA7CD', 'CJK-H \u{31350}\u{31351}\u{323AF} 東京',
  'Arabic \u061D \u0890\u0891 \u08E2x', 'o\u0331\u0301 \u01A1\u0319\u030D', 'ﾊﾞﾋﾟ \uFFA4\uFFC4 \u1100\u1161\u11A8',
  'Kirat Rai \u{16D40}\u{16D41}\u{16D70} Toto \u{1E290}\u{1E291}', 'Ahom \u{11700}\u{1171E}\u{11720}',
  'emoji 15/16 \u{1FA77}\u{1FAE8}\u{1FACE}', '\u{11938}\u{11935}\u0CF3\u0ECE',
];

export const REAL_TEXTS = [
  // English
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  "Hello, my dog is cute. Isn't he? Yes -- he is!",
  'Tokenization is the process of splitting text into smaller units called tokens, which are then mapped to integer ids.',
  "I'M here", "she'LL go", "don't", "they've", "We'Re OK", "it's IT'S It'S iT's", "I'd've", "y'all", "rock 'n' roll", "'s 'S 't",
  // CJK and other scripts
  '我爱自然语言处理。这是一个测试。', '今日は良い天気ですね。', 'カタカナとひらがなと漢字', '안녕하세요, 세계! 반갑습니다.',
  'مرحبا بالعالم', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'Привет, мир!', 'Γειά σου Κόσμε', 'שלום עולם',
  // code / data
  PYTHON, CPP, JSON_TEXT,
  // emoji
  '🚀', 'I ❤️ NY 🗽', '👨‍👩‍👧‍👦 family', '🏳️‍🌈 🇺🇸🇯🇵 flags', '👍🏽👍🏿 skin tones', '😀😃😄😁', '🧑🏻‍💻 coder',
  // accents: precomposed vs combining marks
  'naïve café résumé', 'nai\u0308ve cafe\u0301 re\u0301sume\u0301', '\u00c5 \u212b A\u030a', 'ﬁancé ｆｕｌｌ ① ㎏', 'ß ẞ İ ı ǅ',
  // whitespace
  'a\tb\t\tc', 'line1\r\nline2\r\n', 'a\n\n\nb', 'a  b', 'a   b', 'a' + ' '.repeat(10) + 'b', ' '.repeat(100),
  'x' + ' '.repeat(100) + 'y', '   leading spaces', 'trailing spaces   ', ' both ', '\n', '\t', '\r\n', ' \n ', '\n\n\n',
  'a\u00a0b', 'a\u3000b', 'a\u2028b', 'a\u0085b', 'a\u200bb', ' \u00a0 \u3000 ',
  // digits
  '1234567', '12345678901234567890', '0123456789'.repeat(10), 'abc123def4567', '3.14159', '1,234,567.89',
  '$1,000,000', '+1 (555) 123-4567', '2024-01-15T10:30:00Z', '１２３ ٣٤٥ ३४५',
  // URLs, e-mail
  'https://example.com/path/to/page?query=1&x=y#frag', 'user.name+tag@example.co.uk', 'www.huggingface.co',
  // punctuation
  '!!!???...', '---', '...', '?!', '"quoted" \'single\' `back`', '(parens) [brackets] {braces}',
  '<html><body>x</body></html>', 'C++ & C# || a->b :: x != y', '#!/bin/bash',
  // empty, single characters
  '', ' ', 'a', 'A', '.', 'é', '中', '\u0001', 'a\u0001b', '\u007f', '\u0000',
  // special-token strings of the various vocabularies, embedded in text
  'hello<|endoftext|>world', '<|endoftext|>', ' <|endoftext|> ', '<|endoftext|><|endoftext|>',
  '<s>hi</s>', '<s>', '</s> x', '<unk>', '<|begin_of_text|>Hello<|eot_id|>',
  '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>', '<|im_start|>user\nhello<|im_end|>\n',
  '<|endofprompt|>', '<|fim_prefix|>def<|fim_suffix|>\n<|fim_middle|>', '<think>\n\n</think>\n\nOK',
  // long / mixed
  LONG_WORD,
  'naïve café résumé 東京 🚀', '\ufffd', 'a\ufffdb', '日本語とEnglishの混在text123です',
  'The year 2023 had 365 days; π ≈ 3.14159 and e ≈ 2.71828.', 'ＡＢＣ ａｂｃ',
  ...NEW_UNICODE,
];

// Texts shared by all synthetic tokenizers.
export const SYNTH_TEXTS = [
  ...NEW_UNICODE,
  'Hello world', 'Hello, World!', 'hello world', '  leading and trailing  ', "don't stop", "I'M here",
  'naïve café', 'nai\u0308ve cafe\u0301', 'ÀÉÎÕÜ àéîõü', 'Straße', '東京タワー is tall', '안녕',
  '🚀 rocket 👍🏽', 'abc123def4567', '3.14, 1,000,000 and 42!', 'a\tb\nc\r\nd', 'a  b   c',
  'x\u00a0y\u3000z\u200bw', '!!!???...', '---', 'a--b', '(a) [b] {c}', '', ' ', 'a', '\u0001\u007f', '\ufffd',
  'ﬁ ｆｕｌｌ ①', 'e-mail: user@example.com', 'https://x.y/z?a=1', 'unbelievable tokenization', 'the lower newest',
  'antidisestablishmentarianism', lcgWord(60, 7),
];

const PRETOK_TEXTS = [
  'Hello, world! How are you?', 'a,b.c!d?e', 'wait...what?!', 'x - y -- z --- w', '-start and end-',
  'abc123def4567', 'price: $12,345.67', '2024-01-15', '12 345 6789', 'a1b22c333', '٣٤٥ and １２３',
  '¿Qué? ¡Sí!', '«quotes» “curly”', 'a|b||c', 'tab\tsep\tvalues',
];

// -------------------------------------------------------------- helpers ----

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => String.fromCharCode(a + i));
const ASCII = range(0x21, 0x7e);
const LOWER = range(0x61, 0x7a);
const UPPER = range(0x41, 0x5a);
const DIGITS = range(0x30, 0x39);
const PUNCT = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
const BYTE_TOKENS = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

// GPT-2 byte-to-unicode table (the alphabet of ByteLevel).
function bytesToUnicode() {
  const bs = [...range(0x21, 0x7e), ...range(0xa1, 0xac), ...range(0xae, 0xff)].map((c) => c.charCodeAt(0));
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const m = new Map();
  bs.forEach((b, i) => m.set(b, String.fromCharCode(cs[i])));
  return m;
}
const B2U = bytesToUnicode();
const BYTE_LEVEL_ALPHABET = [...B2U.keys()].sort((a, b) => a - b).map((b) => B2U.get(b));
const byteLevel = (s) => [...Buffer.from(s, 'utf8')].map((b) => B2U.get(b)).join('');

// Merges building each word left to right ("h e", "he l", ...), deduplicated.
// `split` turns a word into initial symbols (handles ## prefix and </w> suffix).
function wordMerges(words, split = (w) => [...w]) {
  const out = [], seen = new Set();
  for (const w of words) {
    const syms = split(w);
    let cur = syms[0];
    for (let i = 1; i < syms.length; i++) {
      const key = cur + ' ' + syms[i];
      if (!seen.has(key)) { seen.add(key); out.push([cur, syms[i]]); }
      cur = cur + syms[i].replace(/^##/, '');
    }
  }
  return out;
}

// vocab object: tokens in order, ids 0.. (duplicates ignored)
function vocabOf(...lists) {
  const v = {};
  let id = 0;
  for (const t of lists.flat()) if (!(t in v)) v[t] = id++;
  return v;
}
function mergeResults(merges, prefix = '') {
  return merges.map(([a, b]) => a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b));
}

const added = (id, content, o = {}) => ({
  id, content, single_word: !!o.single_word, lstrip: !!o.lstrip, rstrip: !!o.rstrip,
  normalized: !!o.normalized, special: o.special ?? true,
});
const addedFromVocab = (vocab, names) => names.map((n) => added(vocab[n], n));

const tokenizer = (o) => ({
  version: '1.0', truncation: null, padding: null, added_tokens: o.added_tokens ?? [],
  normalizer: o.normalizer ?? null, pre_tokenizer: o.pre_tokenizer ?? null,
  post_processor: o.post_processor ?? null, decoder: o.decoder ?? null, model: o.model,
});

const bpe = (vocab, merges, o = {}) => ({
  type: 'BPE', dropout: null, unk_token: o.unk_token ?? null,
  continuing_subword_prefix: o.continuing_subword_prefix ?? null, end_of_word_suffix: o.end_of_word_suffix ?? null,
  fuse_unk: !!o.fuse_unk, byte_fallback: !!o.byte_fallback, ignore_merges: !!o.ignore_merges, vocab, merges,
});
const wordPiece = (vocab, maxChars = 100) => ({
  type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: maxChars, vocab,
});
const wordLevel = (vocab) => ({ type: 'WordLevel', vocab, unk_token: '[UNK]' });

const R = (source) => ({ Regex: source }); // regex pattern (Oniguruma syntax)
const pat = (p) => (typeof p === 'string' ? { String: p } : p);
const N = {
  seq: (normalizers) => ({ type: 'Sequence', normalizers }),
  bert: (o) => ({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true, ...o }),
  nfc: { type: 'NFC' }, nfd: { type: 'NFD' }, nfkc: { type: 'NFKC' }, nfkd: { type: 'NFKD' },
  lower: { type: 'Lowercase' }, stripAccents: { type: 'StripAccents' }, nmt: { type: 'Nmt' },
  strip: (l, r) => ({ type: 'Strip', strip_left: l, strip_right: r }),
  replace: (p, content) => ({ type: 'Replace', pattern: pat(p), content }),
  prepend: (prepend) => ({ type: 'Prepend', prepend }),
};
const P = {
  whitespace: { type: 'Whitespace' }, whitespaceSplit: { type: 'WhitespaceSplit' }, bert: { type: 'BertPreTokenizer' },
  punct: (behavior) => ({ type: 'Punctuation', behavior }),
  digits: (individual_digits) => ({ type: 'Digits', individual_digits }),
  split: (p, behavior, invert = false) => ({ type: 'Split', pattern: pat(p), behavior, invert }),
  charDelim: (delimiter) => ({ type: 'CharDelimiterSplit', delimiter }),
  metaspace: (prepend_scheme, split) => ({ type: 'Metaspace', replacement: '▁', prepend_scheme, split }),
  byteLevel: (add_prefix_space, trim_offsets = true) => ({ type: 'ByteLevel', add_prefix_space, trim_offsets, use_regex: true }),
  seq: (pretokenizers) => ({ type: 'Sequence', pretokenizers }),
};
const D = {
  seq: (decoders) => ({ type: 'Sequence', decoders }),
  bpe: (suffix) => ({ type: 'BPEDecoder', suffix }),
  wordPiece: (cleanup) => ({ type: 'WordPiece', prefix: '##', cleanup }),
  metaspace: (prepend_scheme, split) => ({ type: 'Metaspace', replacement: '▁', prepend_scheme, split }),
  byteLevel: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  fuse: { type: 'Fuse' }, byteFallback: { type: 'ByteFallback' },
  strip: (content, start, stop) => ({ type: 'Strip', content, start, stop }),
  replace: (p, content) => ({ type: 'Replace', pattern: pat(p), content }),
};
// "[CLS]:0 $A:0 [SEP]:0" -> TemplateProcessing pieces
const pieces = (s) => s.split(' ').map((p) => {
  const [id, t] = p.split(':');
  const type_id = Number(t ?? 0);
  return id.startsWith('$') ? { Sequence: { id: id.slice(1), type_id } } : { SpecialToken: { id, type_id } };
});
const template = (single, pair, specials) => ({
  type: 'TemplateProcessing', single: pieces(single), pair: pieces(pair),
  // specials: {name: id} or {name: [[token, id], ...]} (one template entry emitting several tokens)
  special_tokens: Object.fromEntries(Object.entries(specials).map(([id, v]) => {
    const list = Array.isArray(v) ? v : [[id, v]];
    return [id, { id, ids: list.map((x) => x[1]), tokens: list.map((x) => x[0]) }];
  })),
});

// ------------------------------------------------------- synthetic defs ----

// --- WordPiece / BERT
const WP_WORDS = ['hello', 'world', 'the', 'quick', 'brown', 'fox', 'don', 'stop', 'here', 'rocket', 'is', 'tall',
  'un', '##believ', '##able', 'token', '##ization', 'cafe', 'café', 'naive', 'naïve', 'e', 'mail', 'user', 'example',
  'com', 'https', 'and', 'leading', 'trailing', '##s', '##ing', '##ed', 'Hello', 'World', 'I', 'M', 'Stra', '##ße', '##sse'];
const WP_VOCAB = vocabOf(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], PUNCT, DIGITS, LOWER, UPPER,
  [...DIGITS, ...LOWER, ...UPPER].map((c) => '##' + c), [...'東京タワー안녕éàîõüÀÉÎÕÜ'], WP_WORDS);
const WP_ADDED = addedFromVocab(WP_VOCAB, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
const WP_TEXTS = ['[CLS] hello [SEP]', 'Hello [MASK] world', 'HELLO World', 'a' + 'b'.repeat(24), 'unbelievableness',
  '你好世界', 'Ａｃｃｅｎｔｅｄ: Ångström Ελληνικά', 'control\u0000chars\u0007here\u200d', 'hello##world', 'the [mask] fox'];
const WP_PAIRS = [['Hello world', 'the quick fox'], ['', 'b'], ['naïve café', '東京']];
const bertTemplate = template('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1',
  { '[CLS]': WP_VOCAB['[CLS]'], '[SEP]': WP_VOCAB['[SEP]'] });
const bertProcessing = { type: 'BertProcessing', sep: ['[SEP]', WP_VOCAB['[SEP]']], cls: ['[CLS]', WP_VOCAB['[CLS]']] };

// --- Metaspace (char-level BPE over ▁-words)
const MS_WORDS = ['▁hello', '▁world', '▁the', 'the', '▁quick', '▁brown', '▁fox', 'hello', '▁a', '▁b', '▁stop', '▁is'];
const MS_MERGES = wordMerges(MS_WORDS);
const MS_VOCAB = vocabOf(['<unk>', '<s>', '</s>', '<sep>', '▁'], ASCII, mergeResults(MS_MERGES));
const MS_TEXTS = ['hello<sep>world', '<sep>hello', 'hello <sep> world', '<s>the fox</s>', 'hello▁world', '▁hello',
  ' the fox', '  two  spaces'];
const metaspace = (scheme, split) => tokenizer({
  added_tokens: addedFromVocab(MS_VOCAB, ['<unk>', '<s>', '</s>', '<sep>']),
  pre_tokenizer: P.metaspace(scheme, split), decoder: D.metaspace(scheme, split),
  model: bpe(MS_VOCAB, MS_MERGES, { unk_token: '<unk>', fuse_unk: true }),
});

// --- Normalizers: char-level BPE with byte fallback, no pre-tokenizer, so
// tokens/offsets expose the normalized string and its alignment char by char.
const NORM_VOCAB = vocabOf(['<unk>'], BYTE_TOKENS, [' ', '▁', ...ASCII], [...'àéîõüïñçß\u0301\u0308\u030aÅ']);
const NORM_TEXTS = ['Ω Ω K K Å Å', 'ﬁﬂ ﬀ', '①②③ ⑴', 'ｈａｌｆ／ｆｕｌｌ', '¼ ½ ²³', '가각 한국어', 'ẛ̣ ṩ',
  'e\u0301\u0302 \u1e09', 'x\u0327\u0301y', '㍿ ㈱', '\u00a0\u2003\u3000', 'ABab abAB', '...', 'A  B\t\tC\n\nD',
  'Digits 1234567 and 89', '\u0130stanbul \u0049\u0307', '\u0345\u0345'];
const normTok = (normalizer) => tokenizer({
  normalizer, decoder: D.seq([D.byteFallback, D.fuse]),
  model: bpe(NORM_VOCAB, [], { unk_token: '<unk>', byte_fallback: true }),
});

// --- Pre-tokenizers: WordLevel, so every pre-token becomes exactly one token.
const PT_VOCAB = vocabOf(['[UNK]', 'Hello', 'hello', 'world', ',', '!', '?', '.', "'", '-', '--', '---', 'don', 't',
  'abc', 'def', '123', '4567', '1', '2', '3', '4', '5', '6', '7', 'a', 'b', 'c', 'd', 'e', 'x', 'y', 'z',
  ' ', 'Hello,', 'world!', 'a,', 'b.', 'c!', 'd?', '...', '!!!', '???', 'wait', 'what', '?!', '▁Hello']);
const PT_TEXTS = [...SYNTH_TEXTS, ...PRETOK_TEXTS];
const pretok = (pre_tokenizer) => ({
  json: tokenizer({ pre_tokenizer, model: wordLevel(PT_VOCAB), added_tokens: addedFromVocab(PT_VOCAB, ['[UNK]']) }),
  texts: PT_TEXTS,
});

// --- BPE options
const SUFFIX_SPLIT = (w) => [...w].map((c, i, a) => (i === a.length - 1 ? c + '</w>' : c));
const SUFFIX_WORDS = ['the', 'lower', 'newest', 'widest', 'hello', 'world', 'low', 'new', 'est', 'stop', 'token'];
const SUFFIX_MERGES = wordMerges(SUFFIX_WORDS, SUFFIX_SPLIT);
const SUFFIX_VOCAB = vocabOf(['<unk>'], [...LOWER, ...DIGITS, ...PUNCT], [...LOWER, ...DIGITS, ...PUNCT].map((c) => c + '</w>'),
  mergeResults(SUFFIX_MERGES));
const PREFIX_SPLIT = (w) => [...w].map((c, i) => (i ? '##' + c : c));
const PREFIX_MERGES = wordMerges(['the', 'lower', 'newest', 'widest', 'hello', 'world', 'unbelievable', 'token', 'stop'], PREFIX_SPLIT);
const PREFIX_VOCAB = vocabOf(['[UNK]'], ASCII, ASCII.map((c) => '##' + c), mergeResults(PREFIX_MERGES, '##'));
const BPE_TEXTS = ['lowest newer wider', 'the the the', 'helloworld', 'x中y文z', '中文', 'a🚀🚀b', 'ab中中cd', '<unk>'];

const FB_WORDS = ['▁hello', '▁world', '▁the', '▁quick', '▁fox', '▁a', 'b', '▁中', '文', '▁東京'];
const FB_MERGES = wordMerges(FB_WORDS);
const FB_VOCAB = vocabOf(['<unk>', '<s>', '</s>'], BYTE_TOKENS.filter((t) => t !== '<0xF0>'), ['▁', ...ASCII, '中', '文', '東', '京'],
  mergeResults(FB_MERGES));
const FB_TEXTS = ['中文字', 'hello 🚀', '€100', '<s>hi</s>', '<0x41>', 'ẞ⁂'];
const FB_DECODE = [[FB_VOCAB['<0xE4>'], FB_VOCAB['<0xB8>']], [FB_VOCAB['<0xE4>'], FB_VOCAB['<0xB8>'], FB_VOCAB['<0xAD>']],
  [FB_VOCAB['<0xFF>'], FB_VOCAB.a, FB_VOCAB['<0xC3>']], [FB_VOCAB['<0xE4>'], FB_VOCAB['▁hello'], FB_VOCAB['<0xAD>']],
  [FB_VOCAB['<s>'], FB_VOCAB['▁'], FB_VOCAB['▁'], FB_VOCAB.a, FB_VOCAB['</s>']], [FB_VOCAB['<0x20>'], FB_VOCAB['<0x41>']]];

const BL_WORDS = ['hello', 'Ġhello', 'Ġworld', 'Ġthe', 'Ġquick', 'ing', 'Ġdo', 'n', "'t"].map((w) => (w.startsWith('Ġ') ? w : byteLevel(w)));
const BL_MERGES = wordMerges(BL_WORDS);
const BL_EXTRA = ['Ġtokenization', 'world', 'Ġunbelievable', 'Ġstop', 'ĠðŁļĢ'];
const BL_VOCAB = vocabOf(['<|endoftext|>'], BYTE_LEVEL_ALPHABET, mergeResults(BL_MERGES), BL_EXTRA);
const BL_TEXTS = ['world world', 'helloworld', 'Hello hello', ' hello  world  ', 'a 🚀 🚀', 'don\'t stop',
  'hello<|endoftext|> world'];
const byteLevelBpe = (ignore_merges) => tokenizer({
  added_tokens: [added(0, '<|endoftext|>')], pre_tokenizer: P.byteLevel(false),
  post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  decoder: D.byteLevel, model: bpe(BL_VOCAB, BL_MERGES, { ignore_merges }),
});
const BL_DECODE = [[BL_VOCAB['ð'], BL_VOCAB['Ł']], [BL_VOCAB['Ġhello'], BL_VOCAB['ĸ'], BL_VOCAB['Ġworld']], [0, BL_VOCAB.a, 0]];

// --- Added tokens (byte-level BPE, Lowercase normalizer so normalized=true/false differ)
const AT_WORDS = ['hello', 'Ġhello', 'Ġworld', 'world', 'Ġnew', 'Ġyork', 'Ġthe', 'Ġsw', 'Ġswap', 'ab', 'cd', 'Ġab'];
const AT_MERGES = wordMerges(AT_WORDS);
const AT_VOCAB = vocabOf(['<s>', '<pad>', '</s>', '<unk>'], BYTE_LEVEL_ALPHABET, mergeResults(AT_MERGES));
const atBase = Object.keys(AT_VOCAB).length;
const AT_ADDED = [
  ...addedFromVocab(AT_VOCAB, ['<s>', '<pad>', '</s>', '<unk>']),
  added(atBase + 0, '<mask>', { lstrip: true }),
  added(atBase + 1, '[RS]', { rstrip: true }),
  added(atBase + 2, '[BOTH]', { lstrip: true, rstrip: true }),
  added(atBase + 3, 'new york', { normalized: true, special: false }),
  added(atBase + 4, 'NoNorm', { special: false }),
  added(atBase + 5, 'sw', { single_word: true, special: false }),
  added(atBase + 6, 'abc', { normalized: true, special: false }),
  added(atBase + 7, 'abcd', { normalized: true, special: false }),
  added(atBase + 8, 'bcd', { normalized: true, special: false }),
  added(AT_VOCAB.cd, 'cd', { special: false }), // also a regular vocab token: keeps its vocab id
  added(atBase + 9, '<|x|>', { single_word: true, lstrip: true }),
].sort((a, b) => a.id - b.id);
const AT_TEXTS = [
  'hello <mask> world', 'hello<mask>world', 'hello   <mask>', '<mask>', ' <mask> ', 'a [RS]  b', '[RS][RS]',
  'x  [BOTH]  y', '[BOTH]', 'I love New York and NEW YORK', 'new  york', 'NoNorm nonorm NONORM', 'sw swap sw. sw',
  'swsw', 'abcde xbcde abcd abc bcd cd', 'ABCD', '<s></s><pad><unk>', '<s> hello </s>', 'hello</s>', '<|x|> a<|x|> <|x|>b',
  'hello world', ' hello', '   ', '<mask><mask>', '<MASK>',
];
const AT_PAIRS = [['hello world', 'the world'], ['<mask>', ''], [' a ', ' b ']];
const roberta = (trim, prefix) => tokenizer({
  added_tokens: AT_ADDED, normalizer: N.lower, pre_tokenizer: P.byteLevel(prefix), decoder: D.byteLevel,
  post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: trim, add_prefix_space: prefix },
  model: bpe(AT_VOCAB, AT_MERGES),
});

const TP_WORDS = ['hello', 'world', 'the', 'quick', 'fox', 'assistant', 'user'];
const TP_MERGES = wordMerges(TP_WORDS);
const TP_VOCAB = vocabOf(['<pad>', '<unk>', '<bos>', '<eos>', '<sep>', '<sep2>'], ASCII, mergeResults(TP_MERGES));
const tpBase = Object.keys(TP_VOCAB).length;
const TP_ADDED = [...addedFromVocab(TP_VOCAB, ['<pad>', '<unk>', '<bos>', '<eos>', '<sep>', '<sep2>']),
  added(tpBase, '<|user|>'), added(tpBase + 1, 'Assistant:', { rstrip: true, special: false })];

// ---------------------------------------------------------------- list ----

export const SYNTHETIC = [
  { name: 'bert-wordpiece', texts: [...SYNTH_TEXTS, ...WP_TEXTS], pairs: WP_PAIRS, json: tokenizer({
    added_tokens: WP_ADDED, normalizer: N.bert({}), pre_tokenizer: P.bert, post_processor: bertTemplate,
    decoder: D.wordPiece(true), model: wordPiece(WP_VOCAB, 20) }) },
  { name: 'bert-wordpiece-strip-accents', texts: [...SYNTH_TEXTS, ...WP_TEXTS], pairs: WP_PAIRS, json: tokenizer({
    added_tokens: WP_ADDED, normalizer: N.bert({ strip_accents: true, lowercase: false }), pre_tokenizer: P.bert,
    post_processor: bertProcessing, decoder: D.wordPiece(true), model: wordPiece(WP_VOCAB) }) },
  { name: 'bert-wordpiece-cased', texts: [...SYNTH_TEXTS, ...WP_TEXTS], pairs: WP_PAIRS, json: tokenizer({
    added_tokens: WP_ADDED, normalizer: N.bert({ clean_text: false, handle_chinese_chars: false, lowercase: false }),
    pre_tokenizer: P.bert, post_processor: bertProcessing, decoder: D.wordPiece(false), model: wordPiece(WP_VOCAB) }) },

  { name: 'metaspace-first', texts: [...SYNTH_TEXTS, ...MS_TEXTS], json: metaspace('first', true) },
  { name: 'metaspace-always', texts: [...SYNTH_TEXTS, ...MS_TEXTS], json: metaspace('always', true) },
  { name: 'metaspace-never', texts: [...SYNTH_TEXTS, ...MS_TEXTS], json: metaspace('never', true) },
  { name: 'metaspace-always-nosplit', texts: [...SYNTH_TEXTS, ...MS_TEXTS], json: metaspace('always', false) },
  { name: 'metaspace-first-nosplit', texts: [...SYNTH_TEXTS, ...MS_TEXTS], json: metaspace('first', false) },

  { name: 'normalizers-sequence', texts: [...SYNTH_TEXTS, ...NORM_TEXTS], json: normTok(N.seq([N.nfkc, N.lower,
    N.strip(true, true), N.replace('ab', 'X'), N.replace(R('\\s+'), ' '), N.replace(R('[0-9]{3,}'), '#'), N.prepend('▁')])) },
  { name: 'normalizers-nfc', texts: [...SYNTH_TEXTS, ...NORM_TEXTS], json: normTok(N.nfc) },
  { name: 'normalizers-nfd', texts: [...SYNTH_TEXTS, ...NORM_TEXTS], json: normTok(N.nfd) },
  { name: 'normalizers-nfkd', texts: [...SYNTH_TEXTS, ...NORM_TEXTS], json: normTok(N.nfkd) },
  { name: 'normalizers-strip-accents', texts: [...SYNTH_TEXTS, ...NORM_TEXTS],
    json: normTok(N.seq([N.nfd, N.stripAccents, N.nmt, N.strip(true, false)])) },

  { name: 'pretok-whitespace', ...pretok(P.whitespace) },
  { name: 'pretok-whitespace-split', ...pretok(P.whitespaceSplit) },
  { name: 'pretok-bert', ...pretok(P.bert) },
  ...['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].flatMap((b) => {
    const kebab = b.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase());
    return [{ name: `pretok-punctuation-${kebab}`, ...pretok(P.punct(b)) },
      { name: `pretok-split-regex-${kebab}`, ...pretok(P.split(R('[,.!?-]'), b)) }];
  }),
  { name: 'pretok-digits-individual', ...pretok(P.digits(true)) },
  { name: 'pretok-digits-grouped', ...pretok(P.digits(false)) },
  { name: 'pretok-split-string-removed', ...pretok(P.split(' ', 'Removed')) },
  { name: 'pretok-split-string-contiguous', ...pretok(P.split('-', 'Contiguous')) },
  { name: 'pretok-split-invert-removed', ...pretok(P.split(R('\\p{L}+|\\p{N}+'), 'Removed', true)) },
  { name: 'pretok-split-invert-merged-with-next', ...pretok(P.split(R('\\s+'), 'MergedWithNext', true)) },
  { name: 'pretok-char-delimiter', ...pretok(P.charDelim('-')) },
  { name: 'pretok-sequence', ...pretok(P.seq([P.whitespaceSplit, P.punct('Isolated'), P.digits(true),
    P.split(R("(?i:'s|'t|'m)"), 'Isolated')])) },

  { name: 'bpe-suffix-bpedecoder', texts: [...SYNTH_TEXTS, ...BPE_TEXTS], json: tokenizer({
    normalizer: N.lower, pre_tokenizer: P.whitespace, decoder: D.bpe('</w>'),
    model: bpe(SUFFIX_VOCAB, SUFFIX_MERGES, { unk_token: '<unk>', end_of_word_suffix: '</w>' }) }) },
  { name: 'bpe-prefix-fuse-unk', texts: [...SYNTH_TEXTS, ...BPE_TEXTS], json: tokenizer({
    pre_tokenizer: P.whitespaceSplit, decoder: D.wordPiece(true),
    model: bpe(PREFIX_VOCAB, PREFIX_MERGES, { unk_token: '[UNK]', continuing_subword_prefix: '##', fuse_unk: true }) }) },
  { name: 'bpe-byte-fallback', texts: [...SYNTH_TEXTS, ...BPE_TEXTS, ...FB_TEXTS], decodeIds: FB_DECODE,
    pairs: [['hello', 'world']], json: tokenizer({
      added_tokens: addedFromVocab(FB_VOCAB, ['<unk>', '<s>', '</s>']),
      normalizer: N.seq([N.prepend('▁'), N.replace(' ', '▁')]),
      post_processor: template('<s>:0 $A:0', '<s>:0 $A:0 <s>:1 $B:1', { '<s>': FB_VOCAB['<s>'] }),
      decoder: D.seq([D.replace('▁', ' '), D.byteFallback, D.fuse, D.strip(' ', 1, 0)]),
      model: bpe(FB_VOCAB, FB_MERGES, { unk_token: '<unk>', fuse_unk: true, byte_fallback: true }) }) },
  { name: 'bpe-ignore-merges', texts: [...SYNTH_TEXTS, ...BPE_TEXTS, ...BL_TEXTS], decodeIds: BL_DECODE, json: byteLevelBpe(true) },
  { name: 'bpe-no-ignore-merges', texts: [...SYNTH_TEXTS, ...BPE_TEXTS, ...BL_TEXTS], decodeIds: BL_DECODE, json: byteLevelBpe(false) },

  { name: 'added-tokens-roberta', texts: [...SYNTH_TEXTS, ...AT_TEXTS], pairs: AT_PAIRS, json: roberta(false, false) },
  { name: 'added-tokens-roberta-trim', texts: [...SYNTH_TEXTS, ...AT_TEXTS], pairs: AT_PAIRS, json: roberta(true, true) },
  { name: 'added-tokens-template', pairs: [['hello world', 'the fox'], ['', ''], ['<|user|> hi', 'Assistant: yes']],
    texts: [...SYNTH_TEXTS, '<|user|>hello<eos>', 'Assistant:   the fox', 'Assistant:', '<bos><bos>'], json: tokenizer({
      added_tokens: TP_ADDED, pre_tokenizer: P.whitespace, decoder: D.fuse,
      post_processor: template('<bos>:0 $A:0 <eos>:0', '<bos>:0 $A:0 <sep>:1 $B:1 <eos>:2',
        { '<bos>': TP_VOCAB['<bos>'], '<eos>': TP_VOCAB['<eos>'], '<sep>': [['<sep>', TP_VOCAB['<sep>']], ['<sep2>', TP_VOCAB['<sep2>']]] }),
      model: bpe(TP_VOCAB, TP_MERGES, { unk_token: '<unk>' }) }) },
];

