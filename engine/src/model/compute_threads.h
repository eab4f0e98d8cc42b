// A model's compute thread count, applied per call. Matrix products, nearly all the work, run in OpenBLAS's pool or,
// for a few rows, in the few-row kernels' pool. LibTorch's OpenMP pool stays at one thread: its idle workers spin
// after each parallel region and would take the cores OpenBLAS needs (measured: generation steps twice as slow once
// element-wise ops on the KV cache went parallel).
#pragma once

#include "few_rows.h"

namespace lmwb {

// ModelOptions::threads (0: all cores) as a count; ModelError outside 0..1024. Readies the pools for it.
int open_compute_threads(int requested);

// While alive, computation on this thread uses `threads`: the few-row kernels' share for this thread, and OpenBLAS's
// count, which is one for the process (set as a call starts when it differs, so two models with different counts
// computing at the same moment share the later call's for OpenBLAS).
class ModelThreads {
public:
    explicit ModelThreads(int threads);

private:
    few_rows::CallThreads few_rows_;
};

// Sets both pools to `threads` for the whole process (benchmarks: matmul_gflops).
void set_process_threads(int threads);

}  // namespace lmwb
