#include "blocked_attention.h"

#include <torch/torch.h>

#include <algorithm>

#include "lmwb/control.h"

namespace lmwb {

namespace {

// One block of query positions [q0, q0 + n) and the keys [lo, hi) any of them may see.
struct Block {
    std::int64_t q0, n, lo, hi;
    std::int64_t keys() const { return hi - lo; }
};

Block block_at(std::int64_t q0, std::int64_t n, std::int64_t past, std::int64_t window) {
    const std::int64_t hi = past + q0 + n, lo = window > 0 ? std::max<std::int64_t>(0, past + q0 - window + 1) : 0;
    return {q0, n, lo, hi};
}

// Which of the block's keys each query may see: [B, 1, 1, n, keys].
torch::Tensor allowed_keys(const Block& b, const torch::Tensor& padding, std::int64_t past, std::int64_t window) {
    const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(padding.device());
    const auto q_pos = torch::arange(past + b.q0, past + b.q0 + b.n, long_opts).view({b.n, 1});
    const auto k_pos = torch::arange(b.lo, b.hi, long_opts).view({1, b.keys()});
    auto allowed = k_pos <= q_pos;
    if (window > 0) allowed = allowed.logical_and(q_pos - k_pos < window);
    const std::int64_t B = padding.size(0);
    return allowed.view({1, 1, 1, b.n, b.keys()}).logical_and(padding.narrow(1, b.lo, b.keys()).view({B, 1, 1, 1, b.keys()}));
}

// The block's queries as rows of a product per key/value head: [B, kv_heads, groups * n, hd].
torch::Tensor grouped_queries(const torch::Tensor& q, const Block& b, const AttentionShape& s) {
    return q.narrow(2, b.q0, b.n).reshape({q.size(0), s.kv_heads, (s.heads / s.kv_heads) * b.n, s.head_dim});
}

// Masked float32 scores [B, kv_heads, groups, n, keys] of one block; `capped` receives tanh(raw / softcap) when
// soft-capped (the backward pass needs it).
torch::Tensor block_scores(const torch::Tensor& qg, const torch::Tensor& k, const Block& b, const torch::Tensor& allowed,
                           const AttentionShape& s, torch::Tensor* capped = nullptr) {
    const std::int64_t B = qg.size(0), groups = s.heads / s.kv_heads;
    auto scores = torch::matmul(qg, k.narrow(2, b.lo, b.keys()).transpose(-1, -2)).to(torch::kFloat32);
    scores.mul_(s.scale);
    if (s.softcap > 0) {
        scores.div_(s.softcap).tanh_();
        if (capped) *capped = scores.clone();
        scores.mul_(s.softcap);
    }
    scores = scores.view({B, s.kv_heads, groups, b.n, b.keys()});
    return scores.masked_fill_(allowed.logical_not(), -1e9);
}

// Writes a block's output o [B, kv_heads, groups * n, hd] into out [B, T, heads * hd].
void write_block(torch::Tensor& out, const torch::Tensor& o, const Block& b, const AttentionShape& s) {
    const std::int64_t B = out.size(0);
    out.narrow(1, b.q0, b.n).copy_(o.view({B, s.heads, b.n, s.head_dim}).transpose(1, 2).reshape({B, b.n, s.heads * s.head_dim}));
}

// With gradients: the forward keeps only the output and each row's log-sum-exp; the backward recomputes a block's
// probabilities from them (memory of one block, not of the [heads, T, S] matrix).
class BlockedAttention : public torch::autograd::Function<BlockedAttention> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& v, const torch::Tensor& key_mask, std::int64_t past, std::int64_t window,
                                 std::int64_t rows, AttentionShape s) {
        const std::int64_t B = q.size(0), T = q.size(2), groups = s.heads / s.kv_heads;
        auto out = torch::empty({B, T, s.heads * s.head_dim}, q.options());
        auto lse = torch::empty({B, s.kv_heads, groups, T, 1}, q.options().dtype(torch::kFloat32));
        const auto padding = key_mask.to(torch::kBool);
        const CancelToken* cancel = CancelScope::current();
        for (std::int64_t q0 = 0; q0 < T; q0 += rows) {
            if (cancel) cancel->check();
            const Block b = block_at(q0, std::min(rows, T - q0), past, window);
            auto scores = block_scores(grouped_queries(q, b, s), k, b, allowed_keys(b, padding, past, window), s);
            auto row_lse = torch::logsumexp(scores, -1, true);
            lse.narrow(3, q0, b.n).copy_(row_lse);
            scores.sub_(row_lse).exp_();
            write_block(out, torch::matmul(scores.to(v.scalar_type()).view({B, s.kv_heads, groups * b.n, b.keys()}),
                                           v.narrow(2, b.lo, b.keys())),
                        b, s);
        }
        ctx->save_for_backward({q, k, v, key_mask, out, lse});
        ctx->saved_data["past"] = past;
        ctx->saved_data["window"] = window;
        ctx->saved_data["rows"] = rows;
        ctx->saved_data["shape"] = std::vector<std::int64_t>{s.heads, s.kv_heads, s.head_dim};
        ctx->saved_data["scale"] = s.scale;
        ctx->saved_data["softcap"] = s.softcap;
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto &q = saved[0], &k = saved[1], &v = saved[2], &key_mask = saved[3], &out = saved[4], &lse = saved[5];
        const std::int64_t past = ctx->saved_data["past"].toInt(), window = ctx->saved_data["window"].toInt(),
                           rows = ctx->saved_data["rows"].toInt();
        const auto dims = ctx->saved_data["shape"].toIntVector();
        const AttentionShape s{dims[0], dims[1], dims[2], ctx->saved_data["scale"].toDouble(), ctx->saved_data["softcap"].toDouble()};
        const std::int64_t B = q.size(0), T = q.size(2), groups = s.heads / s.kv_heads, hd = s.head_dim;
        const auto f32 = torch::kFloat32;
        // Per head: [B, heads, T, hd], grouped as the forward's rows.
        const auto per_head = [&](const torch::Tensor& x) { return x.view({B, T, s.heads, hd}).transpose(1, 2).to(f32); };
        const auto d_out = per_head(grads[0]);
        // D = rowsum(dO · O): what each row's probabilities' gradient subtracts (softmax's Jacobian).
        const auto d_dot_o = (d_out * per_head(out)).sum(-1).view({B, s.kv_heads, groups, T, 1});
        auto dq = torch::zeros({B, s.kv_heads, groups, T, hd}, q.options().dtype(f32));
        auto dk = torch::zeros(k.sizes(), k.options().dtype(f32)), dv = torch::zeros(v.sizes(), v.options().dtype(f32));
        const auto kf = k.to(f32), vf = v.to(f32), qf = q.to(f32);
        const auto padding = key_mask.to(torch::kBool);
        // The backward of a long input is seconds of blocks: the thread's cancel token (CPU gradients run on the
        // thread that asked for them) is checked between them.
        const CancelToken* cancel = CancelScope::current();
        for (std::int64_t q0 = 0; q0 < T; q0 += rows) {
            if (cancel) cancel->check();
            const Block b = block_at(q0, std::min(rows, T - q0), past, window);
            const std::int64_t keys = b.keys();
            const auto qg = grouped_queries(qf, b, s);
            torch::Tensor capped;
            auto p = block_scores(qg, kf, b, allowed_keys(b, padding, past, window), s, &capped);
            p.sub_(lse.narrow(3, q0, b.n)).exp_();  // the forward's probabilities
            p = p.view({B, s.kv_heads, groups * b.n, keys});
            const auto d_out_block = d_out.narrow(2, q0, b.n).reshape({B, s.kv_heads, groups * b.n, hd});
            dv.narrow(2, b.lo, keys).add_(torch::matmul(p.transpose(-1, -2), d_out_block));
            auto ds = torch::matmul(d_out_block, vf.narrow(2, b.lo, keys).transpose(-1, -2));
            ds.sub_(d_dot_o.narrow(3, q0, b.n).reshape({B, s.kv_heads, groups * b.n, 1})).mul_(p);
            if (s.softcap > 0) ds.mul_(1 - capped.square());  // d(cap · tanh(x / cap)) = 1 − tanh²
            ds.mul_(s.scale);
            dq.narrow(3, q0, b.n).copy_(torch::matmul(ds, kf.narrow(2, b.lo, keys)).view({B, s.kv_heads, groups, b.n, hd}));
            dk.narrow(2, b.lo, keys).add_(torch::matmul(ds.transpose(-1, -2), qg));
        }
        return {dq.view(q.sizes()).to(q.scalar_type()), dk.to(k.scalar_type()), dv.to(v.scalar_type()), torch::Tensor(),
                torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor blocked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& key_mask,
                                std::int64_t past, std::int64_t window, std::int64_t rows, const AttentionShape& s,
                                const AttentionVisitor* probabilities) {
    if (at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad()))
        return BlockedAttention::apply(q, k, v, key_mask, past, window, rows, s);
    const std::int64_t B = q.size(0), T = q.size(2), groups = s.heads / s.kv_heads;
    auto out = torch::empty({B, T, s.heads * s.head_dim}, q.options());
    const auto padding = key_mask.to(torch::kBool);
    const CancelToken* cancel = CancelScope::current();
    for (std::int64_t q0 = 0; q0 < T; q0 += rows) {
        if (cancel) cancel->check();
        const Block b = block_at(q0, std::min(rows, T - q0), past, window);
        auto scores = block_scores(grouped_queries(q, b, s), k, b, allowed_keys(b, padding, past, window), s);
        at::_softmax_out(scores, scores, -1, false);  // in place: one block's scores at a time
        if (probabilities) {  // over every key, as the whole-matrix path gives them
            auto full = torch::zeros({B, s.heads, b.n, k.size(2)}, scores.options());
            full.narrow(3, b.lo, b.keys()).copy_(scores.view({B, s.heads, b.n, b.keys()}));
            (*probabilities)(q0, full);
        }
        write_block(out, torch::matmul(scores.to(v.scalar_type()).view({B, s.kv_heads, groups * b.n, b.keys()}), v.narrow(2, b.lo, b.keys())),
                    b, s);
    }
    return out;
}

}  // namespace lmwb
