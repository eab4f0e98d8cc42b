#!/bin/sh
# The headless demo: describe both bundled models, let each continue a prompt, evaluate both on the bundled suites
# and compare the two runs. Usage: demo.sh [OUT_FOLDER [PROMPT]] (default ./lmwb-demo). The program is $LMWB, else
# the lmwb of the tree this script is installed in (<prefix>/share/lmwb/demo.sh -> <prefix>/bin/lmwb), else the
# lmwb on PATH.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
lmwb="${LMWB:-}"
if [ -z "$lmwb" ]; then
  if [ -x "$here/../../bin/lmwb" ]; then lmwb="$here/../../bin/lmwb"; else lmwb="$(command -v lmwb)"; fi
fi
out="${1:-lmwb-demo}"
prompt="${2:-On Monday, Ana went to}"
"$lmwb" --version
for model in tiny-a tiny-b; do
  "$lmwb" info "$model"
  echo "--- $model, greedy:"
  "$lmwb" generate "$model" "$prompt" --max-new-tokens 40
  echo "--- $model, log p(' Paris' | 'The capital of France is'):"
  "$lmwb" score "$model" --context "The capital of France is" --continuation " Paris"
  echo
done
mkdir -p "$out"
for model in tiny-a tiny-b; do
  rm -f "$out/$model.json.journal.jsonl"
  "$lmwb" eval "$model" world-facts-mc world-facts-qa world-stories-continue world-stories-ppl --out "$out/$model.json"
done
"$lmwb" compare "$out/tiny-a.json" "$out/tiny-b.json"
