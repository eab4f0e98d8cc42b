#pragma once
// Element-wise work of a decode step that LibTorch does in several passes with a tensor per op, done in one or two
// vectorised passes per row (the few-row kernels' instruction sets, model/few_rows_kernels.h). Each row is computed
// on its own in a fixed order, so a row's result does not depend on what it is batched with. Plain C++, no torch.
#include <cstdint>

#include "few_rows.h"

namespace lmwb::decode_math {

// What choosing and recording the next token needs from one row of logits x[0, n).
struct LogitStats {
    bool finite = false;      // every logit finite (when not, the rest is unset)
    float top = 0;            // the largest logit
    std::int64_t argmax = 0;  // its first position
    double log_norm = 0;      // log sum exp(x): log p(i) = x[i] - log_norm
    double entropy = 0;       // -sum p log p, in nats
};
LogitStats logit_stats(const float* x, std::int64_t n);

// y = GELU(x), tanh approximation, for `rows` rows of `width` values (y may be x). Within a few float32 ulps of
// LibTorch's gelu(x, "tanh").
void gelu_tanh(const float* x, float* y, std::int64_t rows, std::int64_t width);

// The same with a chosen instruction set (one the CPU runs; Isa::None: plain C++), for tests.
LogitStats logit_stats(const float* x, std::int64_t n, few_rows::Isa isa);
void gelu_tanh(const float* x, float* y, std::int64_t rows, std::int64_t width, few_rows::Isa isa);

}  // namespace lmwb::decode_math
