#include "host_memory.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>

#include <sys/mman.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lmwb {

void keep_tensor_buffers_in_heap() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return;
        mallopt(M_MMAP_THRESHOLD, 256 << 20);
        mallopt(M_TRIM_THRESHOLD, 512 << 20);
    });
#endif
}

std::size_t heap_free_bytes() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    return mallinfo2().fordblks;
#else
    return 0;
#endif
}

namespace {
constexpr std::size_t huge_page = std::size_t{2} << 20;
}  // namespace

void* allocate_weight_memory(std::size_t bytes) {
    // A huge page more than asked, then what lies before the first 2 MiB boundary and after the end unmapped.
    const std::size_t mapped = bytes + huge_page;
    void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    const auto begin = reinterpret_cast<std::uintptr_t>(p), aligned = (begin + huge_page - 1) & ~(huge_page - 1);
    const std::uintptr_t end = (aligned + bytes + 4095) & ~std::uintptr_t{4095};
    if (aligned > begin) ::munmap(p, aligned - begin);
    if (begin + mapped > end) ::munmap(reinterpret_cast<void*>(end), begin + mapped - end);
#ifdef MADV_HUGEPAGE
    ::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // a hint; where refused, 4 KiB pages
#endif
    return reinterpret_cast<void*>(aligned);
}

void release_weight_memory(void* p, std::size_t bytes) {
    if (p) ::munmap(p, bytes);
}

}  // namespace lmwb
