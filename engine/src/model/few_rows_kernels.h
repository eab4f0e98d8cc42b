#pragma once
// The few-row product kernels, written once over a vector type and compiled once per instruction set: each
// few_rows_<isa>.cpp includes this with its own -m flags (engine/CMakeLists.txt). Everything here has internal
// linkage, so no function compiled for AVX-512 can be picked by the linker for a caller on another CPU.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "decode_attention.h"
#include "few_rows.h"

namespace lmwb::few_rows::detail {

struct Task {
    const float* x;
    std::int64_t rows;
    Weight w;
    const float* bias;
    float* y;
};

// One per instruction set (few_rows_avx512.cpp, few_rows_avx2.cpp): the output columns [n0, n1) of every row, and
// the multiple of columns a split between threads keeps to; decode attention for one (row, key/value head), with
// `scores` room for the problem's positions.
void columns_avx512(const Task& t, std::int64_t n0, std::int64_t n1);
std::int64_t unit_avx512(Layout layout);
void attention_avx512(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores);
void columns_avx2(const Task& t, std::int64_t n0, std::int64_t n1);
std::int64_t unit_avx2(Layout layout);
void attention_avx2(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores);

namespace {

using v16 = float __attribute__((vector_size(64)));
using v8 = float __attribute__((vector_size(32)));

template <class V>
constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(float));

// How far ahead the weight is prefetched. In-out: rows of the weight (each load jumps a whole row, which the
// hardware prefetchers do not follow well); out-in: floats along the streamed rows, 8 KiB, which for a matrix of
// short rows such as GPT-2's head reaches blocks of rows further on. Tuned on a Zen 5 EPYC (docs/performance.md).
constexpr std::int64_t prefetch_rows = 32;
constexpr std::int64_t prefetch_floats = 2048;

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

// In-out layout: R rows times C vectors of consecutive output columns starting at n, over all K inputs. The weight
// is read once per block, a C-vector strip of each of its rows.
template <class V, int R, int C>
inline void in_out_block(const Task& t, std::int64_t r0, std::int64_t n) {
    constexpr int L = lanes<V>;
    const std::int64_t K = t.w.inputs, ld = t.w.ld;
    const float* x = t.x + r0 * K;
    const float* w = t.w.data + n;
    V acc[R][C];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = V{};
    for (std::int64_t k = 0; k < K; ++k, w += ld) {
        V wv[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
            prefetch<V>(w + prefetch_rows * ld + c * L);
            wv[c] = load<V>(w + c * L);
        }
        // A strip that does not start on a cache line (safetensors aligns data to 8 bytes) ends in one more line.
        __builtin_prefetch(w + prefetch_rows * ld + C * L - 1);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const V xv = V{} + x[r * K + k];
#pragma GCC unroll 4
            for (int c = 0; c < C; ++c) acc[r][c] += xv * wv[c];
        }
    }
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
template <class V, int R, int J>
inline void out_in_block(const Task& t, std::int64_t r0, std::int64_t n) {
    constexpr int L = lanes<V>;
    const std::int64_t K = t.w.inputs, ld = t.w.ld;
    const float* x = t.x + r0 * K;
    const float* w = t.w.data + n * ld;
    V acc[R * J];
#pragma GCC unroll 16
    for (int i = 0; i < R * J; ++i) acc[i] = V{};
    std::int64_t k = 0;
    for (; k + L <= K; k += L) {
        V wv[J];
#pragma GCC unroll 4
        for (int j = 0; j < J; ++j) {
            prefetch<V>(w + j * ld + k + prefetch_floats);
            wv[j] = load<V>(w + j * ld + k);
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
            for (std::int64_t kk = k; kk < K; ++kk) s += x[r * K + kk] * w[j * ld + kk];
            if (t.bias) s += t.bias[n + j];
            t.y[(r0 + r) * t.w.outputs + n + j] = s;
        }
}

// Rows in groups of at most G, the last group's size chosen at run time among compiled ones.
template <class V, int G, int C, bool InOut>
inline void row_groups(const Task& t, std::int64_t n) {
    for (std::int64_t r0 = 0; r0 < t.rows; r0 += G) {
        const std::int64_t left = t.rows - r0;
        if (left >= G) {
            if constexpr (InOut) in_out_block<V, G, C>(t, r0, n);
            else out_in_block<V, G, C>(t, r0, n);
            continue;
        }
        switch (left) {
#define LMWB_FEW_ROWS_CASE(R)                                      \
    case R:                                                        \
        if constexpr (R < G) {                                     \
            if constexpr (InOut) in_out_block<V, R, C>(t, r0, n);  \
            else out_in_block<V, R, C>(t, r0, n);                  \
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

// Output columns [n0, n1) for every row. n0 is a multiple of unit<V, G>(layout); only the last part has a ragged end.
template <class V, int G>
constexpr std::int64_t unit(Layout layout) {
    return layout == Layout::InOut ? in_out_vectors * lanes<V> : out_in_rows<V, G>;
}

template <class V, int G>
inline void columns(const Task& t, std::int64_t n0, std::int64_t n1) {
    constexpr int L = lanes<V>;
    std::int64_t n = n0;
    if (t.w.layout == Layout::InOut) {
        for (; n + in_out_vectors * L <= n1; n += in_out_vectors * L) row_groups<V, G, in_out_vectors, true>(t, n);
        for (; n + L <= n1; n += L) row_groups<V, G, 1, true>(t, n);
        const std::int64_t K = t.w.inputs;
        for (; n < n1; ++n)
            for (std::int64_t r = 0; r < t.rows; ++r) {
                float s = 0;
                for (std::int64_t k = 0; k < K; ++k) s += t.x[r * K + k] * t.w.data[k * t.w.ld + n];
                if (t.bias) s += t.bias[n];
                t.y[r * t.w.outputs + n] = s;
            }
    } else {
        constexpr int J = out_in_rows<V, G>;
        for (; n + J <= n1; n += J) row_groups<V, G, J, false>(t, n);
        for (; n < n1; ++n) row_groups<V, G, 1, false>(t, n);
    }
}

// Decode attention for one (row, key/value head): every query head of its group against the same keys and values.
template <class V>
inline void attention(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores) {
    constexpr int L = lanes<V>;
    const std::int64_t S = p.positions, D = p.head_dim, groups = p.heads / p.kv_heads;
    const float* k = p.k.data + row * p.k.row + kv_head * p.k.head;
    const float* v = p.v.data + row * p.v.row + kv_head * p.v.head;
    const float* mask = p.mask + row * S;
    const auto scale = static_cast<float>(p.scale), cap = static_cast<float>(p.softcap);
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t head = kv_head * groups + g;
        const float* q = p.q + (row * p.heads + head) * D;
        float* out = p.out + (row * p.heads + head) * D;
        float top = -INFINITY;
        for (std::int64_t s = 0; s < S; ++s) {
            const float* ks = k + s * p.k.position;
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
        float total = 0;
        for (std::int64_t s = 0; s < S; ++s) total += scores[s] = std::exp(scores[s] - top);
        std::fill(out, out + D, 0.0f);
        for (std::int64_t s = 0; s < S; ++s) {
            const float w = scores[s] / total;
            const float* vs = v + s * p.v.position;
            std::int64_t i = 0;
            for (; i + L <= D; i += L) store(out + i, load<V>(out + i) + w * load<V>(vs + i));
            for (; i < D; ++i) out[i] += w * vs[i];
        }
    }
}

}  // namespace
}  // namespace lmwb::few_rows::detail
