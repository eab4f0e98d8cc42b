#!/usr/bin/env bash
# Differential check against the reference library on full vocabularies (developer tool, needs Node and the
# npm package tokenizers@0.23.2 in REF_DIR, see tests/fixtures/tokenizers/README.md).
#   scripts/tokenizer_differential.sh TOKENIZER_JSON TEXTS_JSONL [--special]
# Prints the number of texts whose ids or code point offsets differ, and the first few differences.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tok="$1"; texts="$2"; special="${3:-}"
ref_dir="${REF_DIR:-/tmp/ref}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$ref_dir" && node "$root/scripts/reference_tokenize.mjs" $special "$tok" < "$texts" > "$tmp/ref.jsonl")
"$root/build/cli/lmwb" tokenize --tokenizer "$tok" --jsonl $special < "$texts" > "$tmp/ours.jsonl"
python3 - "$texts" "$tmp/ref.jsonl" "$tmp/ours.jsonl" <<'PY'
import json, sys
texts = [json.loads(l) for l in open(sys.argv[1])]
ref = [json.loads(l) for l in open(sys.argv[2])]
ours = [json.loads(l) for l in open(sys.argv[3])]
assert len(ref) == len(ours) == len(texts), (len(texts), len(ref), len(ours))
bad = 0
for t, r, o in zip(texts, ref, ours):
    if r["ids"] != o["ids"] or r["offsets"] != o["char_offsets"]:
        bad += 1
        if bad <= 3:
            n = min(len(r["ids"]), len(o["ids"]))
            i = next((k for k in range(n) if r["ids"][k] != o["ids"][k] or r["offsets"][k] != o["char_offsets"][k]), n)
            lo = max(0, i - 3)
            span = r["offsets"][lo][0] if lo < len(r["offsets"]) else 0
            print(f"text (first difference at token {i}, near {json.dumps(t[span:span + 40])}):")
            print("  ref ids ", r["ids"][lo:i + 6], "\n  our ids ", o["ids"][lo:i + 6])
            print("  ref offs", r["offsets"][lo:i + 6], "\n  our offs", o["char_offsets"][lo:i + 6])
print(f"{bad} of {len(texts)} texts differ")
sys.exit(1 if bad else 0)
PY
