#include "decode_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "few_rows.h"

namespace lmwb::decode_attention {
namespace {

// q . k over head_dim in 8 interleaved partial sums (vectorisable without reassociating), then those in order.
float dot(const float* q, const float* k, std::int64_t n) {
    float part[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) part[j] += q[i + j] * k[i + j];
    float s = ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
    for (; i < n; ++i) s += q[i] * k[i];
    return s;
}

// One (row, key/value head): every query head of its group against the same keys and values.
void group(const Problem& p, std::int64_t row, std::int64_t kv_head, std::vector<float>& scores) {
    const std::int64_t S = p.positions, D = p.head_dim, groups = p.heads / p.kv_heads;
    const float* k = p.k.data + row * p.k.row + kv_head * p.k.head;
    const float* v = p.v.data + row * p.v.row + kv_head * p.v.head;
    const float* mask = p.mask + row * S;
    const auto scale = static_cast<float>(p.scale), cap = static_cast<float>(p.softcap);
    scores.resize(static_cast<std::size_t>(S));
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t head = kv_head * groups + g;
        const float* q = p.q + (row * p.heads + head) * D;
        float* out = p.out + (row * p.heads + head) * D;
        float top = -INFINITY;
        for (std::int64_t s = 0; s < S; ++s) {
            float x = dot(q, k + s * p.k.position, D) * scale;
            if (cap > 0) x = std::tanh(x / cap) * cap;
            x += mask[s];
            scores[static_cast<std::size_t>(s)] = x;
            top = std::max(top, x);
        }
        float total = 0;
        for (std::int64_t s = 0; s < S; ++s) total += scores[static_cast<std::size_t>(s)] = std::exp(scores[static_cast<std::size_t>(s)] - top);
        std::fill(out, out + D, 0.0f);
        for (std::int64_t s = 0; s < S; ++s) {
            const float w = scores[static_cast<std::size_t>(s)] / total;
            const float* vs = v + s * p.v.position;
            for (std::int64_t d = 0; d < D; ++d) out[d] += w * vs[d];
        }
    }
}

}  // namespace

void run(const Problem& p) {
    const std::int64_t items = p.rows * p.kv_heads;
    // Below a few hundred thousand multiply-adds a second thread costs more to wake than it saves.
    const bool split = items > 1 && items * (p.heads / p.kv_heads) * p.positions * p.head_dim >= 65536;
    auto body = [&](std::int64_t begin, std::int64_t end) {
        std::vector<float> scores;
        for (std::int64_t i = begin; i < end; ++i) group(p, i / p.kv_heads, i % p.kv_heads, scores);
    };
    if (split) few_rows::parallel(items, body);
    else body(0, items);
}

}  // namespace lmwb::decode_attention
