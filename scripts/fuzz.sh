#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for LMWB_FUZZ_SECONDS (default 20) from its
# committed corpus (fuzz/corpus/<target>/); new inputs go to build-fuzz/corpus/<target>/, never into the repository.
# A crash, leak, timeout or out-of-memory input stops the run: its file is in build-fuzz/artifacts/<target>/.
# Commit it as fuzz/corpus/<target>/crash-<what> once fixed: the fuzz_corpus_<target> tests replay it from then on.
# Usage: scripts/fuzz.sh [TARGET ...] (default: all).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
build="$root/build-fuzz"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMWB_FUZZ=ON >/dev/null
fi
cmake --build "$build" --target fuzz_all -- -j"$(nproc)"
seconds="${LMWB_FUZZ_SECONDS:-20}"
# A fixed seed by default: CI replays the same mutations each run (a new find then comes from a change, not luck);
# LMWB_FUZZ_SEED=0 draws a new seed for exploratory campaigns.
seed="${LMWB_FUZZ_SEED:-1}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tokenizer encode safetensors safetensors_index npz config suite report journal ratings hf_cache workspace jinja lm_eval_task)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  echo "fuzz_$t: ${seconds}s"
  if ! "$build/fuzz/fuzz_$t" "$build/corpus/$t" "$root/fuzz/corpus/$t" -dict="$root/fuzz/lmwb.dict" \
      -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" > "$build/fuzz_$t.log" 2>&1; then
    tail -60 "$build/fuzz_$t.log"
    echo "fuzz_$t found a failing input: $(ls -t "$build/artifacts/$t" | head -1) in $build/artifacts/$t/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/fuzz_$t.log" | tr '\n' ' '; echo
done
