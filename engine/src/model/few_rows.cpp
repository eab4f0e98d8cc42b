#include "few_rows.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "few_rows_kernels.h"

#if LMWB_FEW_ROWS_X86
#include <immintrin.h>
#define LMWB_PAUSE() _mm_pause()
#else
#define LMWB_PAUSE() std::this_thread::yield()
#endif

namespace lmwb::few_rows {
namespace {

// Helper threads for the products. The caller posts a job and starts on it at once; the job hands out chunks from
// an atomic counter, so a helper still waking up (tens of microseconds in a VM) takes whatever is left, and one
// that has not started when the caller runs out is released unstarted instead of waited for. After a job a
// helper spins briefly for the next one (a decode step issues its products microseconds apart), then sleeps.
class Pool {
public:
    ~Pool() { resize(1); }

    void resize(int threads) {
        std::lock_guard<std::mutex> busy(busy_);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
            ++generation_;
        }
        wake_.notify_all();
        for (auto& h : helpers_) h.join();
        helpers_.clear();
        stop_ = false;
        slots_ = std::vector<std::atomic<int>>(static_cast<std::size_t>(std::max(0, threads - 1)));
        for (auto& slot : slots_) slot.store(released);
        // A helper starts from the generation current now: one it has not seen yet is work (or a stop) for it.
        const std::uint64_t start = generation_.load();
        for (int i = 1; i < threads; ++i) helpers_.emplace_back([this, i, start] { serve(i - 1, start); });
        threads_.store(threads, std::memory_order_relaxed);
    }

    int threads() const { return threads_.load(std::memory_order_relaxed); }

    // job() on the caller and on every one of the first `helpers` helpers that starts before the caller is done with
    // it; job must take its work from shared state until none is left. A call made while another runs does it all
    // itself.
    void run(const std::function<void()>& job, int helpers) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock() || helpers_.empty() || helpers < 1) {
            job();
            return;
        }
        job_ = &job;
        const auto used = std::min(slots_.size(), static_cast<std::size_t>(helpers));
        for (std::size_t i = 0; i < used; ++i) slots_[i].store(posted, std::memory_order_release);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        job();
        for (std::size_t i = 0; i < used; ++i) {
            auto& slot = slots_[i];
            int state = posted;
            if (slot.compare_exchange_strong(state, released, std::memory_order_acq_rel)) continue;  // never started
            while (slot.load(std::memory_order_acquire) != done) LMWB_PAUSE();
        }
    }

private:
    static constexpr int posted = 0, running = 1, done = 2, released = 3;

    void serve(int slot, std::uint64_t seen) {
        for (;;) {
            const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
            while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < spin_until)
                for (int i = 0; i < 16; ++i) LMWB_PAUSE();
            if (generation_.load(std::memory_order_acquire) == seen) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            }
            seen = generation_.load(std::memory_order_acquire);
            if (stop_) return;
            int state = posted;
            auto& s = slots_[static_cast<std::size_t>(slot)];
            if (!s.compare_exchange_strong(state, running, std::memory_order_acq_rel)) continue;  // released
            (*job_)();
            s.store(done, std::memory_order_release);
        }
    }

    std::mutex busy_;  // one job at a time uses the helpers
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<std::uint64_t> generation_{0};
    std::vector<std::atomic<int>> slots_;  // per helper: posted, running, done, released
    const std::function<void()>* job_ = nullptr;
    std::atomic<int> threads_{1};
    bool stop_ = false;
    std::vector<std::thread> helpers_;
};

// Hands out [0, items) in chunks to whoever asks.
class Chunks {
public:
    Chunks(std::int64_t items, std::int64_t chunk) : items_(items), chunk_(std::max<std::int64_t>(1, chunk)) {}
    bool next(std::int64_t& begin, std::int64_t& end) {
        begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
        end = std::min(begin + chunk_, items_);
        return begin < items_;
    }
    // Where the next chunk handed out begins.
    std::int64_t peek() const { return next_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> next_{0};
    const std::int64_t items_, chunk_;
};

Pool& pool() {
    static Pool p;
    return p;
}

// The calling thread's share of the pool (0: all of it): the thread count of the model whose call runs here.
thread_local int call_threads = 0;

int active_threads(const Pool& p) { return call_threads > 0 ? std::min(call_threads, p.threads()) : p.threads(); }

// Below this many weights a product takes microseconds: waking a helper would cost more than it saves.
constexpr std::int64_t min_weights_to_split = std::int64_t{1} << 18;

}  // namespace

Isa best_isa() {
    static const Isa isa = [] {
#if !LMWB_FEW_ROWS_X86
        return Isa::None;
#else
        __builtin_cpu_init();
        // F16C converts float16 weights (every CPU with AVX2 has it).
        const bool f16c = __builtin_cpu_supports("f16c");
        // LMWB_FEW_ROWS_ISA=avx2 (or none) runs a narrower set than the CPU has: how an AVX2-only machine's kernels do,
        // measured on this one (docs/performance.md).
        const char* cap = std::getenv("LMWB_FEW_ROWS_ISA");
        if (cap && std::string_view(cap) == "none") return Isa::None;
        const bool wide = !(cap && std::string_view(cap) == "avx2");
        if (wide && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && f16c) return Isa::Avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c) return Isa::Avx2;
        return Isa::None;
#endif
    }();
    return isa;
}

void multiply(const float* x, std::int64_t rows, const Weight& w, const float* bias, float* y, Isa isa) {
    if (rows < 1 || rows > max_rows) throw std::invalid_argument("few_rows::multiply: rows out of range");
    if (isa == Isa::None || (isa == Isa::Avx512 && best_isa() != Isa::Avx512) || (isa == Isa::Avx2 && best_isa() == Isa::None))
        throw std::invalid_argument("few_rows::multiply: instruction set not available");
#if LMWB_FEW_ROWS_X86
    const detail::Task task{x, rows, w, bias, y};
    auto columns = isa == Isa::Avx512 ? detail::columns_avx512 : detail::columns_avx2;
    const std::int64_t unit = isa == Isa::Avx512 ? detail::unit_avx512(w.layout) : detail::unit_avx2(w.layout);
    const std::int64_t N = w.outputs, units = N / unit;
    Pool& p = pool();
    const int threads = active_threads(p);
    if (threads == 1 || units < 2 || w.outputs * w.inputs < min_weights_to_split) {
        columns(task, 0, N, -1);
        return;
    }
    // About 8 chunks per thread: small enough that a late helper still gets a share, large enough that the counter
    // is touched a few dozen times per product. Which thread does a column changes none of its bits.
    Chunks chunks(units, units / (8 * threads));
    p.run([&] {
        std::int64_t begin, end;
        while (chunks.next(begin, end)) {
            const std::int64_t then = chunks.peek();  // likely this thread's next chunk: its first rows are prefetched
            columns(task, begin * unit, end == units ? N : end * unit, then < units ? then * unit : -1);
        }
    }, threads - 1);
#else
    (void)x, (void)w, (void)bias, (void)y;
#endif
}

void parallel(std::int64_t items, const std::function<void(std::int64_t, std::int64_t)>& body) {
    if (items <= 0) return;
    Pool& p = pool();
    const int threads = active_threads(p);
    if (threads == 1 || items == 1) {
        body(0, items);
        return;
    }
    Chunks chunks(items, items / (4 * threads));
    p.run([&] {
        std::int64_t begin, end;
        while (chunks.next(begin, end)) body(begin, end);
    }, threads - 1);
}

void set_threads(int threads) {
    threads = std::max(1, threads);
    if (pool().threads() != threads) pool().resize(threads);
}

void reserve_threads(int threads) {
    static std::mutex growing;
    std::lock_guard<std::mutex> lock(growing);
    if (pool().threads() < threads) pool().resize(threads);
}

CallThreads::CallThreads(int threads) : previous_(call_threads) { call_threads = std::max(1, threads); }
CallThreads::~CallThreads() { call_threads = previous_; }
int CallThreads::current() { return active_threads(pool()); }

}  // namespace lmwb::few_rows
