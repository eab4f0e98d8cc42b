#!/usr/bin/env node
// Dev tool for bulk differential checks against the reference Hugging Face
// tokenizers library (npm package tokenizers@0.23.2, Rust core).
//
//   cd /tmp/ref && node /work/main/scripts/reference_tokenize.mjs [--special] TOKENIZER_JSON < texts.jsonl > out.jsonl
//
// Input: one JSON string per line. Output: one {"ids":[...],"offsets":[[start,end],...]}
// per input line, in order. Offsets are Unicode code point offsets into the text.
// add_special_tokens is false unless --special is given.
// `tokenizers` is resolved from ./node_modules of the current directory.
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const args = process.argv.slice(2);
const special = args.includes('--special');
const files = args.filter((a) => a !== '--special');
if (files.length !== 1) {
  console.error('usage: node reference_tokenize.mjs [--special] TOKENIZER_JSON < texts.jsonl > out.jsonl');
  process.exit(2);
}

let tk;
try {
  tk = createRequire(path.join(process.cwd(), 'noop.js'))('tokenizers');
} catch {
  tk = createRequire(import.meta.url)('tokenizers');
}
const tokenizer = tk.Tokenizer.fromFile(files[0]);

const BATCH = 512;
let batch = [];
let lineNo = 0;

async function flush() {
  if (batch.length === 0) return;
  const encodings = await tokenizer.encodeBatch(batch, { addSpecialTokens: special });
  const out = encodings.map((e) => JSON.stringify({ ids: e.getIds(), offsets: e.getOffsets() }) + '\n').join('');
  batch = [];
  if (!process.stdout.write(out)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  lineNo++;
  if (line === '') continue; // tolerate blank lines (e.g. a trailing newline); use "" for the empty text
  let text;
  try {
    text = JSON.parse(line);
  } catch (err) {
    console.error(`line ${lineNo}: invalid JSON: ${err.message}`);
    process.exit(1);
  }
  if (typeof text !== 'string') {
    console.error(`line ${lineNo}: expected a JSON string`);
    process.exit(1);
  }
  batch.push(text);
  if (batch.length >= BATCH) await flush();
}
await flush();
