#include "few_rows.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
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

// Helper threads that each take one part of a product. After a part a helper spins briefly for the next one (a
// decode step issues its products a few microseconds apart), then sleeps; the caller does part 0 itself.
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
        // A helper starts from the generation current now: one it has not seen yet is work (or a stop) for it.
        const std::uint64_t start = generation_.load();
        for (int i = 1; i < threads; ++i) helpers_.emplace_back([this, i, start] { serve(i, start); });
        threads_.store(threads, std::memory_order_relaxed);
    }

    int threads() const { return threads_.load(std::memory_order_relaxed); }

    // part(i) for every i < parts (at most threads()); a call made while another runs does all parts itself.
    void run(int parts, const std::function<void(int)>& part) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock() || parts > static_cast<int>(helpers_.size()) + 1) {
            for (int i = 0; i < parts; ++i) part(i);
            return;
        }
        part_ = &part;
        parts_ = parts;
        pending_.store(static_cast<int>(helpers_.size()), std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        part(0);
        while (pending_.load(std::memory_order_acquire) != 0) LMWB_PAUSE();
    }

private:
    void serve(int index, std::uint64_t seen) {
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
            if (index < parts_) (*part_)(index);
            pending_.fetch_sub(1, std::memory_order_acq_rel);
        }
    }

    std::mutex busy_;  // one product at a time uses the helpers
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    const std::function<void(int)>* part_ = nullptr;
    int parts_ = 0;
    std::atomic<int> threads_{1};
    bool stop_ = false;
    std::vector<std::thread> helpers_;
};

Pool& pool() {
    static Pool p;
    return p;
}

// Below this many weights a product takes microseconds: waking a helper would cost more than it saves.
constexpr std::int64_t min_weights_to_split = std::int64_t{1} << 18;

}  // namespace

Isa best_isa() {
    static const Isa isa = [] {
#if !LMWB_FEW_ROWS_X86
        return Isa::None;
#else
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return Isa::Avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
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
    const int parts = w.outputs * w.inputs < min_weights_to_split ? 1 : static_cast<int>(std::min<std::int64_t>(p.threads(), std::max<std::int64_t>(units, 1)));
    if (parts == 1) {
        columns(task, 0, N);
        return;
    }
    p.run(parts, [&](int part) {
        const std::int64_t begin = units * part / parts * unit;
        const std::int64_t end = part + 1 == parts ? N : units * (part + 1) / parts * unit;
        columns(task, begin, end);
    });
#else
    (void)x, (void)w, (void)bias, (void)y;
#endif
}

void parallel(std::int64_t items, const std::function<void(std::int64_t, std::int64_t)>& body) {
    Pool& p = pool();
    const int parts = static_cast<int>(std::min<std::int64_t>(p.threads(), items));
    if (parts <= 1) {
        if (items > 0) body(0, items);
        return;
    }
    p.run(parts, [&](int part) { body(items * part / parts, items * (part + 1) / parts); });
}

void set_threads(int threads) {
    threads = std::max(1, threads);
    if (pool().threads() != threads) pool().resize(threads);
}

}  // namespace lmwb::few_rows
