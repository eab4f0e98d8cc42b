#!/usr/bin/env bash
# Runs every test: install what is missing, build, then CTest; with no arguments (as CI runs it) also the tests of
# the ASan + UBSan build and each fuzz target for a fixed time (LMWB_FUZZ_SECONDS, default 20).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
ctest --test-dir "$root/build" --output-on-failure -j"$(nproc)" "$@"
if [ $# -eq 0 ]; then
  echo "--- ASan + UBSan build: the Qt-free libraries, the CLI and their tests"
  "$root/scripts/sanitize.sh"
  echo "--- fuzz targets"
  "$root/scripts/fuzz.sh"
fi
