#pragma once
// The few-row product kernels, written once over a vector type and compiled once per instruction set: each
// few_rows_<isa>.cpp includes this with its own -m flags (engine/CMakeLists.txt). Everything here has internal
// linkage, so no function compiled for AVX-512 can be picked by the linker for a caller on another CPU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <immintrin.h>

#include "decode_attention.h"
#include "decode_math.h"
#include "few_rows.h"

namespace lmwb::few_rows::detail {

struct Task {
    const float* x;
    std::int64_t rows;
    Weight w;
    const float* bias;
    float* y;
};

// One per instruction set (few_rows_avx512.cpp, few_rows_avx2.cpp): the output columns [n0, n1) of every row (then:
// see columns()), and the multiple of columns a split between threads keeps to; decode attention for one (row,
// key/value head), with `scores` room for the problem's positions.
void columns_avx512(const Task& t, std::int64_t n0, std::int64_t n1, std::int64_t then);
std::int64_t unit_avx512(Layout layout);
void attention_avx512(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores);
void columns_avx2(const Task& t, std::int64_t n0, std::int64_t n1, std::int64_t then);
std::int64_t unit_avx2(Layout layout);
void attention_avx2(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores);
// model/decode_math.h for one row.
decode_math::LogitStats logit_stats_avx512(const float* x, std::int64_t n);
decode_math::LogitStats logit_stats_avx2(const float* x, std::int64_t n);
void gelu_tanh_avx512(const float* x, float* y, std::int64_t n);
void gelu_tanh_avx2(const float* x, float* y, std::int64_t n);

namespace {

using v16 = float __attribute__((vector_size(64)));
using v8 = float __attribute__((vector_size(32)));

template <class V>
constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(float));

// How far ahead the weight is prefetched. In-out: rows of the weight (each load jumps a whole row, which the
// hardware prefetchers do not follow well); out-in: 8 KiB along the streamed rows, which for a matrix of short
// rows such as GPT-2's head reaches blocks of rows further on. Tuned on a Zen 5 EPYC (docs/performance.md).
constexpr std::int64_t prefetch_rows = 32;
constexpr std::int64_t prefetch_bytes = 8192;

template <class V>
inline V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class V>
inline void store(float* p, V v) {
    std::memcpy(p, &v, sizeof v);
}
template <class V>
inline void prefetch(const float* p) {
    for (int i = 0; i < lanes<V>; i += 16) __builtin_prefetch(p + i);  // one per 64-byte line
}

// A weight's stored numbers (few_rows.h's Element): float, or the bits of a bfloat16 or float16.
struct BF16 {
    std::uint16_t bits;
};
struct F16 {
    std::uint16_t bits;
};
inline float to_float(float w) { return w; }
inline float to_float(BF16 w) {
    const std::uint32_t bits = std::uint32_t{w.bits} << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}
inline float to_float(F16 w) {  // exact: every float16 is a float
    const std::uint32_t sign = std::uint32_t{w.bits & 0x8000u} << 16, exponent = (w.bits >> 10) & 0x1fu, mantissa = w.bits & 0x3ffu;
    float f;
    if (exponent == 0) {
        f = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
        return sign ? -f : f;
    }
    const std::uint32_t bits = sign | (exponent == 31 ? 0x7f800000u | (mantissa << 13) : ((exponent + 112) << 23) | (mantissa << 13));
    std::memcpy(&f, &bits, sizeof f);
    return f;
}
// lanes<V> weights from p, as floats.
template <class V>
inline V load_weight(const float* p) {
    return load<V>(p);
}
using u16x16 = std::uint16_t __attribute__((vector_size(32)));
using u16x8 = std::uint16_t __attribute__((vector_size(16)));
using u32x16 = std::uint32_t __attribute__((vector_size(64)));
using u32x8 = std::uint32_t __attribute__((vector_size(32)));
template <class V>
inline V load_weight(const BF16* p) {
    using Half = std::conditional_t<lanes<V> == 16, u16x16, u16x8>;
    using Word = std::conditional_t<lanes<V> == 16, u32x16, u32x8>;
    Half h;
    std::memcpy(&h, p, sizeof h);
    const Word w = __builtin_convertvector(h, Word) << 16;
    V v;
    std::memcpy(&v, &w, sizeof v);
    return v;
}
template <class V>
inline V load_weight(const F16* p) {
    V v;
    if constexpr (lanes<V> == 16) {
#ifdef __AVX512F__
        // (the masked form: GCC 12 warns about the undefined source of the plain one)
        const __m512 f = _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
        std::memcpy(&v, &f, sizeof v);
#else
        for (int i = 0; i < 16; ++i) v[i] = to_float(p[i]);
#endif
    } else {
#ifdef __F16C__
        const __m256 f = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        std::memcpy(&v, &f, sizeof v);
#else
        for (int i = 0; i < 8; ++i) v[i] = to_float(p[i]);
#endif
    }
    return v;
}
// One prefetch per 64-byte line of the lanes<V> weights from p.
template <class V, class E>
inline void prefetch_weight(const E* p) {
    for (std::size_t i = 0; i < lanes<V> * sizeof(E); i += 64) __builtin_prefetch(reinterpret_cast<const char*>(p) + i);
}
// Lanes added as a tree in a fixed order: lane i + lane i + L/2, then the same on the first half, down to one.
template <class V>
inline float sum_lanes(V v) {
    float a[lanes<V>];
    std::memcpy(a, &v, sizeof v);
    for (int width = lanes<V> / 2; width >= 1; width /= 2)
        for (int i = 0; i < width; ++i) a[i] += a[i + width];
    return a[0];
}

// sum_lanes of L vectors at once, lane i of the result holding vector i's: each step folds two vectors' blocks of
// 2h lanes to h lanes (first half + second half, sum_lanes' tree), interleaving the two vectors' blocks.
constexpr int fold_lane(int L, int h, int q, int second) {
    const int block = q / h, from_b = block % 2, source_block = block / 2;
    return from_b * L + source_block * 2 * h + second * h + q % h;
}
#define LMWB_LANES8(L, H, S) fold_lane(L, H, 0, S), fold_lane(L, H, 1, S), fold_lane(L, H, 2, S), fold_lane(L, H, 3, S), \
                             fold_lane(L, H, 4, S), fold_lane(L, H, 5, S), fold_lane(L, H, 6, S), fold_lane(L, H, 7, S)
#define LMWB_LANES16(H, S) LMWB_LANES8(16, H, S), fold_lane(16, H, 8, S), fold_lane(16, H, 9, S), fold_lane(16, H, 10, S), \
                           fold_lane(16, H, 11, S), fold_lane(16, H, 12, S), fold_lane(16, H, 13, S), fold_lane(16, H, 14, S), \
                           fold_lane(16, H, 15, S)
template <int H>
inline v16 fold(v16 a, v16 b) {
    return __builtin_shufflevector(a, b, LMWB_LANES16(H, 0)) + __builtin_shufflevector(a, b, LMWB_LANES16(H, 1));
}
template <int H>
inline v8 fold(v8 a, v8 b) {
    return __builtin_shufflevector(a, b, LMWB_LANES8(8, H, 0)) + __builtin_shufflevector(a, b, LMWB_LANES8(8, H, 1));
}
#undef LMWB_LANES16
#undef LMWB_LANES8
template <class V, int H = lanes<V> / 2>
inline V sum_lanes_of(V* v) {
#pragma GCC unroll 8
    for (int i = 0; i < H; ++i) v[i] = fold<H>(v[i], v[i + H]);
    if constexpr (H == 1) return v[0];
    else return sum_lanes_of<V, H / 2>(v);
}

template <class E>
inline const E* weight_data(const Task& t) {
    return static_cast<const E*>(t.w.data);
}

// In-out layout: R rows times C vectors of consecutive output columns starting at n, over all K inputs. The weight
// is read once per block, a C-vector strip of each of its rows.
template <class V, class E, int R, int C>
inline void in_out_block(const Task& t, std::int64_t r0, std::int64_t n, const E* next) {
    constexpr int L = lanes<V>;
    const std::int64_t K = t.w.inputs, ld = t.w.ld;
    const float* x = t.x + r0 * K;
    const E* w = weight_data<E>(t) + n;
    V acc[R][C];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = V{};
    // The last prefetch_rows rows prefetch the first rows of the strip read next (`next`, when there is one).
    const std::int64_t ahead = next ? std::max<std::int64_t>(0, K - prefetch_rows) : K;
    auto step = [&](std::int64_t k, const E* pf) {
        V wv[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
            prefetch_weight<V>(pf + c * L);
            wv[c] = load_weight<V>(w + c * L);
        }
        // A strip that does not start on a cache line (safetensors aligns data to 8 bytes) ends in one more line.
        __builtin_prefetch(pf + C * L - 1);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const V xv = V{} + x[r * K + k];
#pragma GCC unroll 4
            for (int c = 0; c < C; ++c) acc[r][c] += xv * wv[c];
        }
    };
    std::int64_t k = 0;
    for (; k < ahead; ++k, w += ld) step(k, w + prefetch_rows * ld);
    for (; k < K; ++k, w += ld) step(k, next + (k - ahead) * ld);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
            V out = acc[r][c];
            if (t.bias) out += load<V>(t.bias + n + c * L);
            store(t.y + (r0 + r) * t.w.outputs + n + c * L, out);
        }
}

// Out-in layout: R rows times J weight rows (outputs n .. n+J), each a dot product over K streamed in vectors.
template <class V, class E, int R, int J>
inline void out_in_block(const Task& t, std::int64_t r0, std::int64_t n) {
    constexpr int L = lanes<V>;
    constexpr std::int64_t ahead = prefetch_bytes / static_cast<std::int64_t>(sizeof(E));
    const std::int64_t K = t.w.inputs, ld = t.w.ld;
    const float* x = t.x + r0 * K;
    const E* w = weight_data<E>(t) + n * ld;
    V acc[R * J];
#pragma GCC unroll 16
    for (int i = 0; i < R * J; ++i) acc[i] = V{};
    std::int64_t k = 0;
    for (; k + L <= K; k += L) {
        V wv[J];
#pragma GCC unroll 4
        for (int j = 0; j < J; ++j) {
            prefetch_weight<V>(w + j * ld + k + ahead);
            wv[j] = load_weight<V>(w + j * ld + k);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const V xv = load<V>(x + r * K + k);
#pragma GCC unroll 4
            for (int j = 0; j < J; ++j) acc[r * J + j] += xv * wv[j];
        }
    }
    float sums[R * J];
    if constexpr (R * J == L) {  // a full block: all lanes summed together
        const V all = sum_lanes_of<V>(acc);
        std::memcpy(sums, &all, sizeof all);
    } else {
        for (int i = 0; i < R * J; ++i) sums[i] = sum_lanes(acc[i]);
    }
    for (int r = 0; r < R; ++r)
        for (int j = 0; j < J; ++j) {
            float s = sums[r * J + j];
            // fma written out: a contraction the compiler may or may not make would differ between weight types
            for (std::int64_t kk = k; kk < K; ++kk) s = std::fma(x[r * K + kk], to_float(w[j * ld + kk]), s);
            if (t.bias) s += t.bias[n + j];
            t.y[(r0 + r) * t.w.outputs + n + j] = s;
        }
}

// Rows in groups of at most G, the last group's size chosen at run time among compiled ones.
// In-out: `next` is where the strip read after this one starts (nullptr: none known).
template <class V, class E, int G, int C, bool InOut>
inline void row_groups(const Task& t, std::int64_t n, const E* next = nullptr) {
    for (std::int64_t r0 = 0; r0 < t.rows; r0 += G) {
        const std::int64_t left = t.rows - r0;
        // A later group of rows reads the same strip again.
        const E* after = left > G ? weight_data<E>(t) + n : next;
        if (left >= G) {
            if constexpr (InOut) in_out_block<V, E, G, C>(t, r0, n, after);
            else out_in_block<V, E, G, C>(t, r0, n);
            continue;
        }
        switch (left) {
#define LMWB_FEW_ROWS_CASE(R)                                      \
    case R:                                                        \
        if constexpr (R < G) {                                     \
            if constexpr (InOut) in_out_block<V, E, R, C>(t, r0, n, next); \
            else out_in_block<V, E, R, C>(t, r0, n);               \
        }                                                          \
        break;
            LMWB_FEW_ROWS_CASE(1)
            LMWB_FEW_ROWS_CASE(2)
            LMWB_FEW_ROWS_CASE(3)
            LMWB_FEW_ROWS_CASE(4)
            LMWB_FEW_ROWS_CASE(5)
            LMWB_FEW_ROWS_CASE(6)
            LMWB_FEW_ROWS_CASE(7)
#undef LMWB_FEW_ROWS_CASE
            default: break;
        }
    }
}

// Columns per block. In-out: 3 vectors, so G x 3 accumulators, the block's weights and one input fit in registers
// (28 of AVX-512's 32 with G = 8, all 16 of AVX2's with G = 4). Out-in: L / G weight rows, so that the G x J dot
// products are summed in one pass of folds.
constexpr int in_out_vectors = 3;
template <class V, int G>
constexpr int out_in_rows = lanes<V> / G;

template <class V, int G>
constexpr std::int64_t unit(Layout layout) {
    return layout == Layout::InOut ? in_out_vectors * lanes<V> : out_in_rows<V, G>;
}

// Output columns [n0, n1) for every row. n0 is a multiple of unit<V, G>(layout); only the last part has a ragged end.
// then: the column the caller's next call probably starts at (-1: none). An in-out strip's last rows prefetch the
// first rows of the strip read after it, which nothing would prefetch otherwise.
template <class V, int G, class E>
inline void columns_of(const Task& t, std::int64_t n0, std::int64_t n1, std::int64_t then) {
    constexpr int L = lanes<V>;
    const E* const data = weight_data<E>(t);
    std::int64_t n = n0;
    if (t.w.layout == Layout::InOut) {
        constexpr std::int64_t W = in_out_vectors * L;
        const E* const after = then >= 0 ? data + then : nullptr;
        for (; n + W <= n1; n += W) row_groups<V, E, G, in_out_vectors, true>(t, n, n + W < n1 ? data + n + W : after);
        for (; n + L <= n1; n += L) row_groups<V, E, G, 1, true>(t, n, n + L < n1 ? data + n + L : after);
        const std::int64_t K = t.w.inputs;
        for (; n < n1; ++n)
            for (std::int64_t r = 0; r < t.rows; ++r) {
                float s = 0;
                for (std::int64_t k = 0; k < K; ++k) s = std::fma(t.x[r * K + k], to_float(data[k * t.w.ld + n]), s);
                if (t.bias) s += t.bias[n];
                t.y[r * t.w.outputs + n] = s;
            }
    } else {
        constexpr int J = out_in_rows<V, G>;
        for (; n + J <= n1; n += J) row_groups<V, E, G, J, false>(t, n);
        for (; n < n1; ++n) row_groups<V, E, G, 1, false>(t, n);
    }
}
template <class V, int G>
inline void columns(const Task& t, std::int64_t n0, std::int64_t n1, std::int64_t then) {
    switch (t.w.element) {
        case Element::F32: return columns_of<V, G, float>(t, n0, n1, then);
        case Element::BF16: return columns_of<V, G, BF16>(t, n0, n1, then);
        case Element::F16: return columns_of<V, G, F16>(t, n0, n1, then);
    }
}

// e^x for x <= 0, and 0 below -80 (e^-80 ~ 2e-35: nothing beside the terms these sums hold; a masked score is
// -1e9): Cephes' single-precision polynomial on r = x - n ln 2, n = round(x / ln 2), then 2^n added to the exponent
// bits.
template <class V>
inline V exp_nonpositive(V x) {
    if constexpr (lanes<V> == 1) {
        return x < -80.0f ? 0.0f : std::exp(x);
    } else {
        typedef int I __attribute__((vector_size(sizeof(V))));
        const auto flush = x < -80.0f;
        x = flush ? V{} - 80.0f : x;
        const V t = x * 1.44269504088896341f + 0.5f;
        I n = __builtin_convertvector(t, I);  // toward zero; t < 1, so floor(t) is that or one less
        n += t < __builtin_convertvector(n, V);  // a true comparison is -1
        const V nf = __builtin_convertvector(n, V);
        const V r = x - nf * 0.693359375f - nf * -2.12194440e-4f;  // ln 2 in two parts: r exact enough
        V p = V{} + 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        I bits;
        std::memcpy(&bits, &p, sizeof p);
        bits += n << 23;
        std::memcpy(&p, &bits, sizeof p);
        return flush ? V{} : p;
    }
}

// out = sum_s w[s] v[s] over S positions of NV vectors each, in registers; prefetches `next` (same shape) meanwhile.
template <class V, int NV>
inline void weighted_values(const float* v, std::int64_t position, const float* w, std::int64_t S, float* out, const float* next) {
    constexpr int L = lanes<V>;
    V acc[NV];
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) acc[c] = V{};
    for (std::int64_t s = 0; s < S; ++s) {
        if (next)
            for (int i = 0; i < NV * L; i += 16) __builtin_prefetch(next + s * position + i);
        const V ws = V{} + w[s];
        const float* vs = v + s * position;
#pragma GCC unroll 8
        for (int c = 0; c < NV; ++c) acc[c] += ws * load<V>(vs + c * L);
    }
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) store(out + c * L, acc[c]);
}

// Decode attention for one (row, key/value head): every query head of its group against the same keys and values.
// Scores of L positions at a time are summed by one fold of L vectors (the tree sum_lanes uses for one).
template <class V>
inline void attention(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores) {
    constexpr int L = lanes<V>;
    const std::int64_t S = p.positions, D = p.head_dim, groups = p.heads / p.kv_heads, kp = p.k.position;
    const float* k = p.k.data + row * p.k.row + kv_head * p.k.head;
    const float* v = p.v.data + row * p.v.row + kv_head * p.v.head;
    const float* mask = p.mask + row * S;
    const auto scale = static_cast<float>(p.scale), cap = static_cast<float>(p.softcap);
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t head = kv_head * groups + g;
        const float* q = p.q + (row * p.heads + head) * D;
        float* out = p.out + (row * p.heads + head) * D;
        float top = -INFINITY;
        std::int64_t s = 0;
        if constexpr (L > 1) {
            for (; D % L == 0 && s + L <= S; s += L) {
                V acc[L];
#pragma GCC unroll 16
                for (int j = 0; j < L; ++j) acc[j] = V{};
                for (std::int64_t i = 0; i < D; i += L) {
                    const V qv = load<V>(q + i);
#pragma GCC unroll 16
                    for (int j = 0; j < L; ++j) {
                        const float* ks = k + (s + j) * kp + i;
                        if (g == 0) {  // keys L positions on, and these positions' values for the pass after this one
                            __builtin_prefetch(ks + L * kp);
                            __builtin_prefetch(v + (s + j) * p.v.position + i);
                        }
                        acc[j] += qv * load<V>(ks);
                    }
                }
                float x[L];
                const V sums = sum_lanes_of<V>(acc) * scale;
                std::memcpy(x, &sums, sizeof sums);
                for (int j = 0; j < L; ++j) {
                    if (cap > 0) x[j] = std::tanh(x[j] / cap) * cap;
                    scores[s + j] = x[j] + mask[s + j];
                    top = std::max(top, scores[s + j]);
                }
            }
        }
        for (; s < S; ++s) {
            const float* ks = k + s * kp;
            V acc{};
            std::int64_t i = 0;
            for (; i + L <= D; i += L) acc += load<V>(q + i) * load<V>(ks + i);
            float x = sum_lanes(acc);
            for (; i < D; ++i) x += q[i] * ks[i];
            x *= scale;
            if (cap > 0) x = std::tanh(x / cap) * cap;
            x += mask[s];
            scores[s] = x;
            top = std::max(top, x);
        }
        for (s = 0; s + L <= S; s += L) store(scores + s, exp_nonpositive(load<V>(scores + s) - top));
        for (; s < S; ++s) scores[s] = exp_nonpositive(scores[s] - top);
        float total = 0;
        for (s = 0; s < S; ++s) total += scores[s];
        for (s = 0; s < S; ++s) scores[s] /= total;
        // The next (row, key/value head)'s keys are fetched while this one's values are read.
        const bool last = g + 1 == groups && (kv_head + 1 < p.kv_heads || row + 1 < p.rows);
        const float* next = !last ? nullptr : kv_head + 1 < p.kv_heads ? k + p.k.head : p.k.data + (row + 1) * p.k.row;
        if (L > 1 && D == 4 * L) {
            weighted_values<V, 4>(v, p.v.position, scores, S, out, next);
        } else if (L > 1 && D == 8 * L) {
            weighted_values<V, 8>(v, p.v.position, scores, S, out, next);
        } else {
            std::fill(out, out + D, 0.0f);
            for (s = 0; s < S; ++s) {
                const float* vs = v + s * p.v.position;
                std::int64_t i = 0;
                for (; i + L <= D; i += L) store(out + i, load<V>(out + i) + scores[s] * load<V>(vs + i));
                for (; i < D; ++i) out[i] += scores[s] * vs[i];
            }
        }
    }
}

// Sums of float lanes kept in doubles: V's lanes widened in two halves.
using v8d = double __attribute__((vector_size(64)));
using v4d = double __attribute__((vector_size(32)));
template <class V> struct Wide { using type = double; };
template <> struct Wide<v16> { using type = v8d; };
template <> struct Wide<v8> { using type = v4d; };
inline void add_widened(float x, double& lo, double&) { lo += x; }
inline void add_widened(v16 x, v8d& lo, v8d& hi) {
    lo += __builtin_convertvector(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7), v8d);
    hi += __builtin_convertvector(__builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15), v8d);
}
inline void add_widened(v8 x, v4d& lo, v4d& hi) {
    lo += __builtin_convertvector(__builtin_shufflevector(x, x, 0, 1, 2, 3), v4d);
    hi += __builtin_convertvector(__builtin_shufflevector(x, x, 4, 5, 6, 7), v4d);
}
template <class W>
inline double sum_in_order(W w) {  // lane 0 + lane 1 + ...
    if constexpr (sizeof(W) == sizeof(double)) {
        return w;
    } else {
        double a[sizeof(W) / sizeof(double)], s = 0;
        std::memcpy(a, &w, sizeof w);
        for (double v : a) s += v;
        return s;
    }
}
template <class V>
inline float lane_max(V v) {
    float a[lanes<V>];
    std::memcpy(a, &v, sizeof v);
    return *std::max_element(a, a + lanes<V>);
}

// Everything sampling needs from one row of logits but the draw, in two passes: maximum (and first place of it) and
// finiteness, then e = exp(x - max) and e (x - max) summed in double lanes.
template <class V>
inline decode_math::LogitStats logit_stats(const float* x, std::int64_t n) {
    constexpr int L = lanes<V>;
    decode_math::LogitStats s;
    V top = V{} - INFINITY, nan_if_any = V{};
    std::int64_t i = 0;
    for (; i + L <= n; i += L) {
        const V v = load<V>(x + i);
        top = v > top ? v : top;
        nan_if_any += v - v;  // NaN for an infinite or NaN logit
    }
    float t = lane_max(top), bad = sum_lanes(nan_if_any);
    for (; i < n; ++i) t = std::max(t, x[i]), bad += x[i] - x[i];
    s.finite = n > 0 && bad == 0 && std::isfinite(t);
    if (!s.finite) return s;
    s.top = t;
    s.argmax = std::find(x, x + n, t) - x;
    using W = typename Wide<V>::type;
    W z_lo{}, z_hi{}, es_lo{}, es_hi{};
    const V tv = V{} + t;
    for (i = 0; i + L <= n; i += L) {
        const V d = load<V>(x + i) - tv, e = exp_nonpositive(d);
        add_widened(e, z_lo, z_hi);
        add_widened(e * d, es_lo, es_hi);
    }
    double z = sum_in_order(z_lo + z_hi), es = sum_in_order(es_lo + es_hi);
    for (; i < n; ++i) {
        const float d = x[i] - t, e = exp_nonpositive(d);
        z += e, es += static_cast<double>(e * d);
    }
    s.log_norm = t + std::log(z);
    s.entropy = std::max(0.0, std::log(z) - es / z);  // -sum p log p with log p = d - log z
    return s;
}

// GELU, tanh form: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), tanh(u) = sign(u) (1 - e) / (1 + e) with
// e = exp(-2 |u|).
template <class V>
inline V gelu_tanh_of(V v) {
    const V u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    const V a = u < 0.0f ? -u : u;
    const V e = exp_nonpositive(-2.0f * a);
    V th = (1.0f - e) / (1.0f + e);
    th = u < 0.0f ? -th : th;
    return 0.5f * v * (1.0f + th);
}
template <class V>
inline void gelu_tanh(const float* x, float* y, std::int64_t n) {
    constexpr int L = lanes<V>;
    std::int64_t i = 0;
    for (; i + L <= n; i += L) store(y + i, gelu_tanh_of(load<V>(x + i)));
    for (; i < n; ++i) y[i] = gelu_tanh_of(x[i]);
}

}  // namespace
}  // namespace lmwb::few_rows::detail
