#!/usr/bin/env bash
# Configures (once) and builds into build/ with Ninja and ccache. Reuses objects across clones on this machine.
# Usage: build.sh [TARGET ...]   (default: everything, tests and benchmarks included)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
build="$root/build"
if [ ! -f "$build/build.ninja" ] || ! grep -q '^LMWB_WERROR:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLMWB_WERROR=ON >/dev/null
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" "${targets[@]}" -- -j"$(nproc)"
