#pragma once
// Attention for a decode step (one query position per row) in inference: scores, mask, softmax and the weighted sum
// of values in one pass per (row, key/value head), keys and values read in place from the KV cache. LibTorch would
// run the same as two batched products of 1 x head_dim matrices, which on the CPU loop over the batch in small
// BLAS calls with a tensor made per call (docs/performance.md). Plain C++, no torch.
#include <cstdint>

#include "few_rows.h"

namespace lmwb::decode_attention {

struct Strided {  // [rows, heads, positions, head_dim] with head_dim contiguous
    const float* data;
    std::int64_t row, head, position;  // strides in floats
};

struct Problem {
    std::int64_t rows, heads, kv_heads, positions, head_dim;
    const float* q;     // [rows, heads, head_dim] contiguous
    Strided k, v;       // [rows, kv_heads, >= positions, head_dim]
    const float* mask;  // additive [rows, positions] contiguous
    double scale;       // scores = q . k * scale
    double softcap;     // > 0: scores = tanh(scores / softcap) * softcap, before the mask
    float* out;         // [rows, heads, head_dim] contiguous
};

void run(const Problem& p);
// The same with a chosen instruction set (one the CPU runs; Isa::None: plain C++), for tests.
void run(const Problem& p, few_rows::Isa isa);

}  // namespace lmwb::decode_attention
