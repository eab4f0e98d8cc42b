#!/usr/bin/env bash
# The main job: install what is missing, build, then run the workbench on the bundled material.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
# Until the GUI lands this runs the headless job: tokenize a sample with a bundled GPT-2 vocabulary.
tok="$root/tests/fixtures/tokenizers/gpt2/tokenizer.json"
"$root/build/cli/lmwb" --version
"$root/build/cli/lmwb" tokenize --tokenizer "$tok" -- "${1:-LM Workbench tokenizes 東京 and 🚀 exactly like Hugging Face.}"
