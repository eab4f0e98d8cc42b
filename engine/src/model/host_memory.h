// How the process's heap serves tensor buffers (plain C++).
#pragma once

namespace lmwb {

// glibc hands every allocation above its mmap threshold (128 KB, rising to at most 32 MB) to the kernel and back:
// each layer's activations and each block of logits then arrive as fresh pages the kernel must zero, and page faults
// took more time than the matrix products of full-sequence scoring (bench_model: 191 -> 433 tokens/s). Blocks up to
// 256 MB are kept in the heap, which is trimmed only past 512 MB free. Once per process; a MALLOC_MMAP_THRESHOLD_ or
// MALLOC_TRIM_THRESHOLD_ in the environment wins. No effect without glibc.
void keep_tensor_buffers_in_heap();

}  // namespace lmwb
