#!/usr/bin/env bash
# The main job: install what is missing, build, then run the workbench on the bundled material.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
# Until the model engine and GUI land, the headless job tokenizes a sample with the GPT-2 vocabulary of the test
# fixtures (pruned to the merges the fixture texts use, so rarer words split into more pieces than with the full one).
tok="$root/tests/fixtures/tokenizers/gpt2/tokenizer.json"
"$root/build/cli/lmwb" --version
"$root/build/cli/lmwb" tokenize --tokenizer "$tok" -- "${1:-LM Workbench tokenizes 東京 and 🚀 exactly like Hugging Face.}"
