// Small helpers the benchmark programs share: a clock, medians, and this process's memory figures.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <cstdint>
#include <string>
#include <thread>

#include <time.h>
#include <vector>

namespace lmwb::bench {

inline double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// This process's CPU time (every thread), seconds.
inline double process_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Seconds from t0 (a now() value) to the start of the first 100 ms window in which this process used under 0.15 cores,
// polling every 5 ms; -1 when none came within `limit` seconds. The measure of a cancel: work that returned while
// BLAS or OpenMP threads keep spinning is not idle.
inline double until_cpu_idle(double t0, double limit) {
    struct Sample {
        double wall, cpu;
    };
    std::vector<Sample> samples{{t0, process_cpu_s()}};
    std::size_t first = 0;
    while (samples.back().wall - t0 < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        samples.push_back({now(), process_cpu_s()});
        const Sample& last = samples.back();
        while (first + 1 < samples.size() && last.wall - samples[first + 1].wall >= 0.1) ++first;
        const Sample& from = samples[first];
        if (last.wall - from.wall >= 0.1 && (last.cpu - from.cpu) / (last.wall - from.wall) < 0.15) return from.wall - t0;
    }
    return -1;
}

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// A /proc/self/status field in kB, e.g. "VmRSS:" or "VmHWM:" (peak).
inline std::size_t status_kb(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::strlen(field)));
    return 0;
}

// Read bandwidth of main memory with `threads` threads (GB/s): each thread sums its share of a 1 GiB buffer, far past
// any cache, in 32-byte vectors over four independent chains so that loads, not additions, set the pace. The
// yardstick for work that reads every weight once per step (decoding). The buffer is kept between measurements, so
// that a benchmark can measure right before and after the work it compares (a shared machine's bandwidth moves by
// tens of percent within minutes).
class MemoryReadProbe {
public:
    typedef float v8 __attribute__((vector_size(32)));

    explicit MemoryReadProbe(int threads)
        : threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
          buf_((std::size_t{1} << 30) / sizeof(v8)) {
        for (std::size_t i = 0; i < buf_.size(); ++i) buf_[i] = v8{} + static_cast<float>(i % 7);  // every page faulted in
        pass();                                                                                   // warm-up
    }

    // GB/s, median of 5 passes.
    double gbps() {
        std::vector<double> rates;
        for (int i = 0; i < 5; ++i) rates.push_back(pass());
        return median(rates);
    }

private:
    double pass() {
        const std::size_t n = buf_.size();
        std::vector<float> sums(static_cast<std::size_t>(threads_) * 16);  // a cache line each: no false sharing
        const double t0 = now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads_; ++t)
            pool.emplace_back([&, t] {
                const std::size_t begin = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads_);
                const std::size_t end = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads_);
                v8 a{}, b{}, c{}, d{};
                std::size_t i = begin;
                for (; i + 4 <= end; i += 4) a += buf_[i], b += buf_[i + 1], c += buf_[i + 2], d += buf_[i + 3];
                for (; i < end; ++i) a += buf_[i];
                v8 s = a + b + c + d;
                float total = 0;
                for (int k = 0; k < 8; ++k) total += s[k];
                sums[static_cast<std::size_t>(t) * 16] = total;
            });
        for (auto& th : pool) th.join();
        const double rate = static_cast<double>(n * sizeof(v8)) / (now() - t0) / 1e9;
        for (float s : sums) sink_ += s;  // keeps the sums observable
        return rate;
    }

    int threads_;
    std::vector<v8> buf_;
    float sink_ = 0;
};

}  // namespace lmwb::bench
