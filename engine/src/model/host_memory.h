// Where tensor buffers live on the CPU: how the heap serves activations, and memory of their own for weights
// (plain C++).
#pragma once

#include <cstddef>

namespace lmwb {

// glibc hands every allocation above its mmap threshold (128 KB, rising to at most 32 MB) to the kernel and back:
// each layer's activations and each block of logits then arrive as fresh pages the kernel must zero, and page faults
// took more time than the matrix products of full-sequence scoring (bench_model: 191 -> 433 tokens/s). Blocks up to
// 256 MB are kept in the heap, which is trimmed only past 512 MB free. Once per process; a MALLOC_MMAP_THRESHOLD_ or
// MALLOC_TRIM_THRESHOLD_ in the environment wins. No effect without glibc.
void keep_tensor_buffers_in_heap();

// Bytes the heap holds free for this process's next allocations (freed by earlier passes, not returned to the
// system: the kernel counts them as used). 0 where the allocator does not say.
std::size_t heap_free_bytes();

// Memory of its own for one weight tensor of `bytes` (anonymous, returned to the system when the tensor goes). The
// decode kernels stream every weight once per step: from the pages of a memory-mapped checkpoint they read at 17-24
// GB/s, from such a copy at 31-34 GB/s on the same machine (docs/performance.md). It starts on a 2 MiB boundary and
// is advised for transparent huge pages, because faulting in fresh 4 KiB pages one at a time made the copy itself
// cost 2-3 s per 500 MB. Null when the system refuses; release with release_weight_memory(p, bytes).
void* allocate_weight_memory(std::size_t bytes);
void release_weight_memory(void* p, std::size_t bytes);

}  // namespace lmwb
