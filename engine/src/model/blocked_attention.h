// Attention a block of query positions at a time, for inputs whose [heads, T, S] scores nobody asked to see: memory
// linear in the input, forward and backward (the gradient recomputes each block's probabilities from a saved
// log-sum-exp per row, as flash attention does, instead of keeping them).
#pragma once

#include <cstdint>
#include <functional>

namespace at {
class Tensor;
}

namespace lmwb {

struct AttentionShape {
    std::int64_t heads = 0, kv_heads = 0, head_dim = 0;
    double scale = 1, softcap = 0;  // scores = softcap * tanh(q·k * scale / softcap) when softcap > 0
};

// Queries q [B, heads, T, hd] over keys and values [B, kv_heads, S, hd] (S = past + T, the last T being the
// queries' own positions; grouped-query heads share a key/value head without copies), a block of `rows` query
// positions at a time, each against only the keys it may see: causal, within `window` when > 0, key_mask [B, S]
// (long, 1 = a real token) for padding. Row for row what the whole-matrix softmax computes (a masked key's weight is
// exactly 0 there too). Returns [B, T, heads * hd]. With gradients enabled and any input requiring one, the backward
// pass is blockwise as well. Without gradients, `probabilities` (when given) sees each block's attention weights as
// [B, heads, rows, S] float32 (0 for the keys a query may not see), for query positions first_row onwards.
using AttentionVisitor = std::function<void(std::int64_t first_row, const at::Tensor& probabilities)>;
at::Tensor blocked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask,
                             std::int64_t past, std::int64_t window, std::int64_t rows, const AttentionShape& shape,
                             const AttentionVisitor* probabilities = nullptr);

}  // namespace lmwb
