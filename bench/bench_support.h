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
#include <vector>

namespace lmwb::bench {

inline double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

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

// Read bandwidth of main memory with `threads` threads (GB/s, median of 5 passes): each thread sums its share of a
// 1 GiB buffer, far past any cache, in 32-byte vectors over four independent chains so that loads, not additions,
// set the pace. The yardstick for work that reads every weight once per step (decoding).
inline double memory_read_gbps(int threads) {
    typedef float v8 __attribute__((vector_size(32)));
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::size_t n = (std::size_t{1} << 30) / sizeof(v8);
    std::vector<v8> buf(n);
    for (std::size_t i = 0; i < n; ++i) buf[i] = v8{} + static_cast<float>(i % 7);  // every page faulted in first
    std::vector<float> sums(static_cast<std::size_t>(threads) * 16);  // a cache line each: no false sharing
    std::vector<double> rates;
    for (int pass = 0; pass < 6; ++pass) {
        const double t0 = now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                const std::size_t begin = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
                const std::size_t end = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
                v8 a{}, b{}, c{}, d{};
                std::size_t i = begin;
                for (; i + 4 <= end; i += 4) a += buf[i], b += buf[i + 1], c += buf[i + 2], d += buf[i + 3];
                for (; i < end; ++i) a += buf[i];
                v8 s = a + b + c + d;
                float total = 0;
                for (int k = 0; k < 8; ++k) total += s[k];
                sums[static_cast<std::size_t>(t) * 16] = total;
            });
        for (auto& th : pool) th.join();
        if (pass > 0) rates.push_back(static_cast<double>(n * sizeof(v8)) / (now() - t0) / 1e9);  // first: warm-up
    }
    float total = 0;
    for (float s : sums) total += s;
    if (total == 42.0f) rates.push_back(0);  // keeps the sums observable
    return median(rates);
}

}  // namespace lmwb::bench
