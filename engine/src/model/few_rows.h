#pragma once
// Matrix products of a few rows (a decode step of 1 to 16 sequences) against a weight that is far larger than any
// cache. Such a product reads every weight once and does 2 x rows FLOPs per weight, so it is bound by memory or by
// plain FMA throughput; OpenBLAS 0.3.21 instead packs the whole weight before every call and runs its AVX2 kernels
// (docs/performance.md). These kernels read the weight without packing, in the layout the checkpoint stores, with
// software prefetch, and split the output columns over a small pool of threads.
//
// Every output element is one sum in a fixed order (over k, in vector lanes, then the lanes in a fixed order), so a
// row's result does not depend on how many rows or threads share the call. Plain C++, no torch.
#include <cstdint>
#include <functional>

namespace lmwb::few_rows {

enum class Isa { None, Avx2, Avx512 };

// The widest instruction set this CPU runs that a kernel exists for.
Isa best_isa();

enum class Layout {
    OutIn,  // w[n * ld + k]: row n holds output n's weights (nn.Linear, tied embeddings as the output head)
    InOut,  // w[k * ld + n]: row k holds input k's weights to every output (GPT-2's Conv1D)
};

// How the weight's numbers are stored. 16-bit ones are widened to float32 as they are read (half the bytes of a
// float32 copy per product, for the same float32 arithmetic): bfloat16 by a shift, float16 by F16C's conversion.
enum class Element { F32, BF16, F16 };

struct Weight {
    const void* data = nullptr;
    std::int64_t outputs = 0, inputs = 0, ld = 0;  // N, K, and the stride of the stored rows, in elements
    Layout layout = Layout::OutIn;
    Element element = Element::F32;
};

constexpr std::int64_t max_rows = 16;

// y[r * outputs + n] = sum_k x[r * inputs + k] * w(n, k) (+ bias[n]) for r < rows (1..max_rows). bias may be null.
// isa must be one the CPU runs (best_isa() or narrower); Isa::None is refused.
void multiply(const float* x, std::int64_t rows, const Weight& w, const float* bias, float* y, Isa isa);

// Threads the pool holds (1 = the calling thread only), exactly: benchmarks and tests.
void set_threads(int threads);
// Grows the pool to at least this many threads (models ask for theirs as they open; the pool serves the largest).
void reserve_threads(int threads);
// While alive, the products and parallel() called on this thread use at most `threads` threads of the pool: a model's
// own thread count for its calls. Scopes nest.
class CallThreads {
public:
    explicit CallThreads(int threads);
    ~CallThreads();
    CallThreads(const CallThreads&) = delete;
    CallThreads& operator=(const CallThreads&) = delete;
    static int current();  // threads a product on this thread would use now

private:
    int previous_;
};

// body(begin, end) over [0, items) split into at most that many ranges, one per thread of the same pool: for the
// other kernels of a decode step (model/decode_attention.h).
void parallel(std::int64_t items, const std::function<void(std::int64_t, std::int64_t)>& body);

}  // namespace lmwb::few_rows
