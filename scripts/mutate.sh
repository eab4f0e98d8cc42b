#!/usr/bin/env bash
# Mutation check, on demand (not in CI: each mutation rebuilds and runs its tests): applies the mutations of
# tests/mutations.txt one at a time to the working tree, rebuilds build/, runs the CTest tests named for it, and
# reports which the tests kill and which survive. Every file is restored afterwards, and build/ rebuilt.
# A line is FILE | SED EXPRESSION | TEST REGEX, the fields separated by " | " (a space on each side), so that an
# expression may hold "||" or "\|".
# Usage: scripts/mutate.sh [LIST]   (exit status 1 when a mutation survives or does not apply)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
list="${1:-$root/tests/mutations.txt}"
cd "$root"
backup="$(mktemp -d)"
current=""
restore() { [ -z "$current" ] || cp "$backup/file" "$root/$current"; current=""; }
trap 'restore; rm -rf "$backup"' EXIT
killed=0 survived=0 broken=0
while IFS= read -r line; do
  [[ -z "${line// }" || "$line" == \#* ]] && continue
  file="${line%% | *}"
  rest="${line#* | }"
  expr="${rest%% | *}"
  tests="${rest#* | }"
  cp "$file" "$backup/file"
  current="$file"
  if ! sed -i "$expr" "$file" 2>/dev/null; then
    echo "BAD EXPRESSION  $file: $expr"
    broken=$((broken + 1)); restore; continue
  fi
  if cmp -s "$file" "$backup/file"; then
    echo "DOES NOT APPLY  $file: $expr"
    broken=$((broken + 1)); restore; continue
  fi
  if ! cmake --build build >/dev/null 2>&1; then
    echo "DOES NOT BUILD  $file: $expr"
    broken=$((broken + 1)); restore; continue
  fi
  if ! ctest --test-dir build -R "$tests" -N 2>/dev/null | grep -q "Total Tests: [1-9]"; then
    echo "NO SUCH TESTS   $file: $expr   (tests: $tests)"
    broken=$((broken + 1)); restore; continue
  fi
  if ctest --test-dir build -R "$tests" -j"$(nproc)" >/dev/null 2>&1; then
    echo "SURVIVED        $file: $expr   (tests: $tests)"
    survived=$((survived + 1))
  else
    echo "killed          $file: $expr"
    killed=$((killed + 1))
  fi
  restore
done < "$list"
cmake --build build >/dev/null
echo "$killed killed, $survived survived, $broken did not apply or build"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ]
