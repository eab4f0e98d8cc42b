#!/bin/sh
# Where an engine pass spends its time: runs build/bench/profile_pass under perf and sums the samples into the
# categories docs/performance.md quotes (matrix products, their packing, attention and other element-wise
# kernels, copies, allocation, the kernel's share). Time on two cores: the percentages are of both cores' samples.
#   scripts/profile.sh full|ig|decode|decode8 [SECONDS]   (needs perf: apt-get install linux-perf)
set -eu
kind=${1:?full, ig, decode or decode8}
seconds=${2:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf record -q -F 499 -o "$out/perf.data" "$root/build/bench/profile_pass" "$kind" --seconds "$seconds" 2>/dev/null
perf report -i "$out/perf.data" --sort dso,sym --stdio 2>/dev/null > "$out/report.txt"
python3 - "$out/report.txt" <<'PY'
import re, sys
rules = [  # first match wins; patterns on "dso [k or .] symbol"
    ("matrix products: kernels", r"libopenblas.*(sgemm_kernel|sgemv|sdot|saxpy|0x0)"),
    ("matrix products: packing", r"libopenblas.*(copy|beta)"),
    ("matrix products: worker waits", r"libopenblas.*(sched_yield|exec_blas|blas_thread)|libc\S* \[.\] (__)?sched_yield"),
    ("matrix products: other OpenBLAS", r"libopenblas"),
    ("matrix products: few-row kernels", r"few_rows.*(columns|in_out|out_in)"),
    ("matrix products: few-row helper waits", r"few_rows.*(serve|Pool)"),
    ("vector math in element-wise ops (exp, tanh)", r"libsleef"),
    ("LibTorch ops: element-wise, softmax, norms, copies, dispatch", r"libtorch|libc10"),
    ("allocation (malloc, free)", r"libc\S* \[.\] .*(malloc|free|_int_|tcache)"),
    ("memory copies and fills (libc)", r"libc\S* \[.\] .*(memmove|memcpy|memset)"),
    ("kernel: sched_yield exits, page faults, scheduling", r"\[kernel|\[k\]"),
    ("lmwb: sampling, tokenizer, glue", r"profile_pass|lmwb"),
]
total, sums, top = 0.0, {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
    if not m: continue
    pct, dso, where, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
    key = f"{dso} [{where}] {sym}"
    cat = next((name for name, pat in rules if re.search(pat, key)), "other")
    sums[cat] = sums.get(cat, 0) + pct
    top.setdefault(cat, []).append((pct, sym[:40]))
    total += pct
for name, _ in rules + [("other", "")]:
    if name not in sums: continue
    biggest = ", ".join(f"{s} {p:.1f}" for p, s in sorted(top[name], reverse=True)[:2])
    print(f"{sums[name]:6.1f}%  {name:62s} {biggest}")
print(f"{total:6.1f}%  sampled in all")
PY
