// Python's random.Random for an integer seed, as lm-eval's default few-shot sampler draws with it
// (lm_eval/api/samplers.py ContextSampler: Random(seed).sample(docs, n)). CPython's _randommodule.c seeds the
// Mersenne Twister with init_by_array over the seed's 32-bit words; random.py's sample and _randbelow choose.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <unordered_set>
#include <vector>

namespace lmwb::datasets {

class PyRandom {
public:
    explicit PyRandom(std::uint64_t seed) {
        std::vector<std::uint32_t> key;
        for (std::uint64_t s = seed; s; s >>= 32) key.push_back(static_cast<std::uint32_t>(s));
        if (key.empty()) key.push_back(0);
        ByArray init{key};
        mt_.seed(init);
    }

    // random.sample(range(n), k): the indices drawn, in order (k <= n).
    std::vector<std::size_t> sample(std::size_t n, std::size_t k) {
        std::vector<std::size_t> out(k);
        std::size_t setsize = 21;
        if (k > 5) setsize += static_cast<std::size_t>(std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
        if (n <= setsize) {
            std::vector<std::size_t> pool(n);
            for (std::size_t i = 0; i < n; ++i) pool[i] = i;
            for (std::size_t i = 0; i < k; ++i) {
                const std::size_t j = below(n - i);
                out[i] = pool[j];
                pool[j] = pool[n - i - 1];
            }
        } else {
            std::unordered_set<std::size_t> selected;
            for (std::size_t i = 0; i < k; ++i) {
                std::size_t j = below(n);
                while (selected.count(j)) j = below(n);
                selected.insert(j);
                out[i] = j;
            }
        }
        return out;
    }

    // _randbelow_with_getrandbits(n) for 0 < n < 2^32: getrandbits(n.bit_length()) until below n.
    std::size_t below(std::size_t n) {
        int bits = 0;
        while (bits < 32 && (std::uint64_t{1} << bits) <= n) ++bits;
        std::uint32_t r = getrandbits(bits);
        while (r >= n) r = getrandbits(bits);
        return r;
    }

private:
    std::uint32_t getrandbits(int k) { return k == 0 ? 0 : static_cast<std::uint32_t>(mt_()) >> (32 - k); }

    // init_by_array as a seed sequence: std::mt19937 takes the 624 state words it writes (the last step's
    // mt[0] = 0x80000000 keeps the state non-zero, so the engine uses them as they are).
    struct ByArray {
        using result_type = std::uint32_t;
        const std::vector<std::uint32_t>& key;
        template <class It>
        void generate(It first, It last) const {
            constexpr int N = 624;
            std::uint32_t mt[N];
            mt[0] = 19650218u;
            for (int i = 1; i < N; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
            int i = 1;
            std::size_t j = 0;
            for (std::size_t k = std::max<std::size_t>(N, key.size()); k; --k) {
                mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<std::uint32_t>(j);
                ++i, ++j;
                if (i >= N) mt[0] = mt[N - 1], i = 1;
                if (j >= key.size()) j = 0;
            }
            for (int k = N - 1; k; --k) {
                mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - static_cast<std::uint32_t>(i);
                ++i;
                if (i >= N) mt[0] = mt[N - 1], i = 1;
            }
            mt[0] = 0x80000000u;
            for (int w = 0; first != last && w < N; ++first, ++w) *first = mt[w];
        }
    };
    std::mt19937 mt_;
};

}  // namespace lmwb::datasets
