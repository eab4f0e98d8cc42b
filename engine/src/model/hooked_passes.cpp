#include "hooked_passes.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "kv_cache.h"

namespace lmwb {

namespace {

// The layer a pass starts at to reach this hook: a layer's output is the residual entering the next one.
int start_layer(const Hook& h) { return h.point.kind == HookKind::ResidPost ? h.point.layer + 1 : h.point.layer; }

}  // namespace

void call_hooks_on_row(const std::vector<const Hook*>& hooks, const torch::Tensor& value, std::int64_t row, int first_position) {
    auto r = value[row];
    const bool direct = r.scalar_type() == torch::kFloat32 && r.is_cpu() && r.is_contiguous();
    torch::Tensor work = direct ? r : r.to(torch::kCPU, torch::kFloat32).contiguous();
    HookValue v;
    v.first_position = first_position;
    v.shape.assign(work.sizes().begin(), work.sizes().end());
    v.data = work.data_ptr<float>();
    bool writes = false;
    for (const Hook* h : hooks) {
        v.point = h->point;
        h->call(v);
        writes = writes || h->writes;
    }
    if (!direct && writes) r.copy_(work);
}

std::vector<TokenReadout> run_hooked_passes(const Network& net, const torch::Tensor& ids, const std::vector<float>* input, int layers,
                                            const std::vector<std::vector<Hook>>& passes,
                                            const std::vector<std::pair<int, std::int32_t>>& at, int batch_size, const Control& control) {
    const std::int64_t T = ids.size(1);
    const auto device = ids.device();
    if (batch_size < 1) throw ModelError("batch size must be at least 1");
    for (auto& [p, id] : at)
        if (p < 0 || p >= T) throw ModelError("readout position " + std::to_string(p) + " is outside the " + std::to_string(T) + " tokens");
    for (auto& pass : passes)
        for (auto& h : pass) {
            if (h.point.layer < 0 || h.point.layer >= layers)
                throw ModelError(h.point.name() + ": layer " + std::to_string(h.point.layer) + " is outside the model's " +
                                 std::to_string(layers) + " layers");
            if (h.from < 0 || h.from >= T)
                throw ModelError(h.point.name() + ": position " + std::to_string(h.from) + " is outside the " + std::to_string(T) + " tokens");
            if (!h.call) throw ModelError(h.point.name() + ": a hook without a function");
        }
    auto embeddings = net.embed(ids);
    if (input) {
        const std::int64_t D = embeddings.size(2);
        if (static_cast<std::int64_t>(input->size()) != T * D)
            throw ModelError("input embeddings have " + std::to_string(input->size()) + " values, expected " + std::to_string(T * D));
        embeddings = torch::from_blob(const_cast<float*>(input->data()), {1, T, D}, torch::kFloat32).to(device, embeddings.scalar_type());
    }
    const auto mask = torch::ones({1, T}, torch::TensorOptions().dtype(torch::kLong).device(device));
    const auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device)).view({1, T});

    // A pass starts at its first hook's layer, and at the first position a hook or a readout needs: before it,
    // every position computes what the pass without hooks did, so its keys and values come from that pass's cache.
    int first_read = static_cast<int>(T) - 1;
    for (auto& [p, id] : at) first_read = std::min(first_read, p);
    auto start_of = [&](const std::vector<Hook>& pass) {
        int start = layers;
        for (auto& h : pass) start = std::min(start, start_layer(h));
        return start;
    };
    auto from_of = [&](const std::vector<Hook>& pass) {
        int from = first_read;
        for (auto& h : pass) from = std::min(from, h.from);
        return from;
    };
    // The pass without hooks: its residual stream entering each layer a pass starts at (the last: the final
    // residual), and its keys and values.
    std::vector<bool> needed(static_cast<std::size_t>(layers + 1), false);
    for (auto& pass : passes) needed[static_cast<std::size_t>(start_of(pass))] = true;
    std::vector<torch::Tensor> entering(static_cast<std::size_t>(layers + 1));
    entering[0] = net.input_states(embeddings, positions);
    TensorHooks keep{[&](const HookPoint& p) { return p.kind == HookKind::ResidPost && needed[static_cast<std::size_t>(p.layer + 1)]; },
                     [&](const HookPoint& p, torch::Tensor& value) { entering[static_cast<std::size_t>(p.layer + 1)] = value.clone(); },
                     {}};
    // Passes that start at the first layer and position (readers) need nothing of it.
    bool shared = false;
    for (auto& pass : passes) shared = shared || start_of(pass) > 0 || from_of(pass) > 0;
    KVCachePtr unhooked;
    if (shared) {
        unhooked = net.new_cache(1, T);
        net.forward_from(entering[0], 0, mask, positions, &keep, unhooked.get());
    }

    // Readout positions and the tokens at each.
    std::vector<int> read_positions;
    for (auto& [p, id] : at)
        if (std::find(read_positions.begin(), read_positions.end(), p) == read_positions.end()) read_positions.push_back(p);
    std::vector<std::int64_t> at_row, at_token;
    for (auto& [p, id] : at) {
        at_row.push_back(std::find(read_positions.begin(), read_positions.end(), p) - read_positions.begin());
        at_token.push_back(id);
    }
    auto at_row_t = torch::tensor(at_row, torch::kLong).to(device), at_token_t = torch::tensor(at_token, torch::kLong).to(device);

    std::vector<std::size_t> order(passes.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::make_pair(start_of(passes[a]), from_of(passes[a])) < std::make_pair(start_of(passes[b]), from_of(passes[b]));
    });
    std::vector<TokenReadout> out(passes.size());
    std::size_t done = 0;
    // Rows per batch: at most batch_size, and at most kPassTokens tokens' worth, which bounds the keys and values
    // held for the rows (layers x rows x T x 2 x kv width).
    constexpr std::int64_t kPassTokens = 2048;
    const std::int64_t rows = std::max<std::int64_t>(1, std::min<std::int64_t>(batch_size, kPassTokens / T));
    // One cache for every batch, its rows filled from the pass without hooks: a batch writes positions from its
    // `from` on (dirty[l]), and the next restores only those.
    KVCache cache;
    std::vector<std::int64_t> dirty(static_cast<std::size_t>(layers), 0);
    cache.k.resize(static_cast<std::size_t>(layers));
    cache.v.resize(static_cast<std::size_t>(layers));
    std::vector<torch::Tensor> pool_k(static_cast<std::size_t>(layers)), pool_v(static_cast<std::size_t>(layers));
    control.report(0, passes.size(), "runs");
    for (std::size_t i = 0; i < order.size();) {
        const int start = start_of(passes[order[i]]), from = from_of(passes[order[i]]);
        std::vector<std::size_t> batch;
        while (i < order.size() && start_of(passes[order[i]]) == start && from_of(passes[order[i]]) == from &&
               static_cast<std::int64_t>(batch.size()) < rows)
            batch.push_back(order[i++]);
        control.check();
        const auto B = static_cast<std::int64_t>(batch.size());
        for (auto li = static_cast<std::size_t>(start); from > 0 && li < static_cast<std::size_t>(layers); ++li) {
            for (auto [src, pool] : {std::pair{&unhooked->k[li], &pool_k[li]}, std::pair{&unhooked->v[li], &pool_v[li]}}) {
                if (!pool->defined()) *pool = torch::empty({rows, src->size(1), T, src->size(3)}, src->options());
                if (dirty[li] < from) pool->narrow(2, dirty[li], from - dirty[li]).copy_(src->narrow(2, dirty[li], from - dirty[li]).expand({rows, -1, -1, -1}));
            }
            dirty[li] = from;
            cache.k[li] = pool_k[li].narrow(0, 0, B);
            cache.v[li] = pool_v[li].narrow(0, 0, B);
        }
        cache.length = from;
        cache.capacity = T;
        // Each point's hooks, per row of the batch.
        std::map<HookPoint, std::vector<std::vector<const Hook*>>> at_point;
        for (std::int64_t b = 0; b < B; ++b)
            for (auto& h : passes[batch[static_cast<std::size_t>(b)]]) {
                auto& per_row = at_point[h.point];
                per_row.resize(static_cast<std::size_t>(B));
                per_row[static_cast<std::size_t>(b)].push_back(&h);
            }
        TensorHooks hooks{[&](const HookPoint& p) { return at_point.count(p) > 0; },
                          [&](const HookPoint& p, torch::Tensor& value) {
                              const auto& per_row = at_point.at(p);
                              bool writes = false;
                              for (auto& hs : per_row)
                                  for (const Hook* h : hs) writes = writes || h->writes;
                              // A value a hook changes is the pass's own (never the pass without hooks' tensors).
                              if (writes || !value.is_contiguous()) value = value.contiguous().clone();
                              for (std::int64_t b = 0; b < B; ++b)
                                  if (!per_row[static_cast<std::size_t>(b)].empty())
                                      call_hooks_on_row(per_row[static_cast<std::size_t>(b)], value, b, from);
                          },
                          {}};
        // Attention probabilities nobody changes arrive a block of positions at a time (memory linear in the input).
        bool pattern_writes = false;
        for (const auto& [point, per_row] : at_point)
            for (const auto& hs : per_row)
                for (const Hook* h : hs) pattern_writes = pattern_writes || (point.kind == HookKind::Pattern && h->writes);
        if (!pattern_writes)
            hooks.pattern_block = [&](int layer, std::int64_t first_row, const torch::Tensor& block) {
                const auto& per_row = at_point.at(HookPoint{layer, HookKind::Pattern});
                for (std::int64_t b = 0; b < B; ++b)
                    if (!per_row[static_cast<std::size_t>(b)].empty())
                        call_hooks_on_row(per_row[static_cast<std::size_t>(b)], block, b, from + static_cast<int>(first_row));
            };
        auto residual = entering[static_cast<std::size_t>(start)].narrow(1, from, T - from).expand({B, -1, -1}).contiguous();
        auto pass_mask = mask.expand({B, -1}), pos = positions.narrow(1, from, T - from).expand({B, -1});
        auto states = net.forward_from(residual, start, pass_mask, pos, &hooks, from > 0 ? &cache : nullptr);
        if (!at.empty()) {
            std::vector<std::int64_t> rel;
            for (int p : read_positions) rel.push_back(p - from);
            auto read = states.index_select(1, torch::tensor(rel, torch::kLong).to(device));  // [B, R, X]
            auto logits = net.logits(read).to(torch::kFloat32);                                 // [B, R, V]
            auto log_probs = logits - logits.logsumexp(-1, true);
            auto pick = [&](const torch::Tensor& t) {  // [B, A]
                return t.index_select(1, at_row_t).gather(2, at_token_t.view({1, -1, 1}).expand({B, -1, 1})).squeeze(-1).cpu().contiguous();
            };
            auto lg = pick(logits), lp = pick(log_probs);
            for (std::int64_t b = 0; b < B; ++b) {
                TokenReadout& r = out[batch[static_cast<std::size_t>(b)]];
                r.logits.assign(lg[b].data_ptr<float>(), lg[b].data_ptr<float>() + lg.size(1));
                r.log_probs.assign(lp[b].data_ptr<float>(), lp[b].data_ptr<float>() + lp.size(1));
            }
        }
        for (auto k : batch) out[k].at = at;
        done += batch.size();
        control.report(done, passes.size(), "runs");
    }
    return out;
}

}  // namespace lmwb
