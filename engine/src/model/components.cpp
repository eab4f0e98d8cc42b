#include "components.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "kv_cache.h"

namespace lmwb {

std::string to_string(Site site) {
    switch (site) {
        case Site::Residual: return "residual";
        case Site::Attention: return "attention";
        case Site::Mlp: return "mlp";
        case Site::Heads: return "heads";
    }
    return "residual";
}

Site site_from_name(const std::string& name) {
    for (Site s : {Site::Residual, Site::Attention, Site::Mlp, Site::Heads})
        if (to_string(s) == name) return s;
    throw std::invalid_argument("unknown site '" + name + "' (residual, attention, mlp or heads)");
}

const std::vector<std::vector<float>>& Activations::of(Site site) const {
    switch (site) {
        case Site::Residual: return residual;
        case Site::Attention: return attention;
        case Site::Mlp: return mlp;
        case Site::Heads: return head_outputs;
    }
    return residual;
}

namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
    auto c = t.to(torch::kFloat32).cpu().contiguous();
    return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::vector<std::vector<float>>& slot(Activations& a, Site site) { return const_cast<std::vector<std::vector<float>>&>(a.of(site)); }

// One input sequence ready to run: its embeddings, mask and positions.
class ComponentPass {
public:
    ComponentPass(const Network& net, const torch::Tensor& ids, const std::vector<float>* input, int layers);
    Activations record(const std::vector<Site>& sites, const std::vector<int>& positions) const;
    std::vector<TokenReadout> patched(const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                      const std::vector<std::pair<int, std::int32_t>>& at, int batch_size,
                                      const Control& control) const;

private:
    const Network& net_;
    int layers_;
    torch::Tensor embeddings_, mask_, positions_;
};

ComponentPass::ComponentPass(const Network& net, const torch::Tensor& ids, const std::vector<float>* input, int layers)
    : net_(net), layers_(layers) {
    const std::int64_t T = ids.size(1);
    const auto device = ids.device();
    embeddings_ = net.embed(ids);
    if (input) {
        const std::int64_t D = embeddings_.size(2);
        if (static_cast<std::int64_t>(input->size()) != T * D)
            throw ModelError("input embeddings have " + std::to_string(input->size()) + " values, expected " + std::to_string(T * D));
        embeddings_ = torch::from_blob(const_cast<float*>(input->data()), {1, T, D}, torch::kFloat32).to(device, embeddings_.scalar_type());
    }
    mask_ = torch::ones({1, T}, torch::TensorOptions().dtype(torch::kLong).device(device));
    positions_ = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device)).view({1, T});
}

Activations ComponentPass::record(const std::vector<Site>& sites, const std::vector<int>& positions) const {
    const std::int64_t T = mask_.size(1);
    Activations out;
    out.layers = layers_;
    out.length = static_cast<int>(T);
    if (positions.empty()) {
        for (int p = 0; p < T; ++p) out.positions.push_back(p);
    } else {
        for (int p : positions)
            if (p < 0 || p >= T) throw ModelError("position " + std::to_string(p) + " is outside the " + std::to_string(T) + " tokens");
        out.positions = positions;
    }
    auto sel = torch::tensor(std::vector<std::int64_t>(out.positions.begin(), out.positions.end()), torch::kLong).to(mask_.device());
    auto wanted = [&](Site s) { return std::find(sites.begin(), sites.end(), s) != sites.end(); };
    for (Site s : {Site::Residual, Site::Attention, Site::Mlp, Site::Heads})
        if (wanted(s)) slot(out, s).resize(static_cast<std::size_t>(layers_));
    auto input = net_.input_states(embeddings_, positions_);
    out.hidden = static_cast<int>(input.size(2));
    out.input = to_vector(input[0].index_select(0, sel));
    ComponentHook hook = [&](int layer, Site site, torch::Tensor& value) {
        if (site == Site::Heads) out.heads = static_cast<int>(value.size(2)), out.head_dim = static_cast<int>(value.size(3));
        if (wanted(site)) slot(out, site)[static_cast<std::size_t>(layer)] = to_vector(value[0].index_select(0, sel));
    };
    net_.forward_components(input, 0, mask_, positions_, hook);
    return out;
}

std::vector<TokenReadout> ComponentPass::patched(const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                                 const std::vector<std::pair<int, std::int32_t>>& at, int batch_size,
                                                 const Control& control) const {
    const std::int64_t T = mask_.size(1);
    const auto device = mask_.device();
    if (batch_size < 1) throw ModelError("batch size must be at least 1");
    for (auto& [p, id] : at)
        if (p < 0 || p >= T) throw ModelError("readout position " + std::to_string(p) + " is outside the " + std::to_string(T) + " tokens");
    // Every patch names a recorded component that exists.
    std::map<std::pair<int, int>, torch::Tensor> values;  // (site, layer) -> [T, D] or [T, H, hd]
    auto value_of = [&](const Patch& p) -> const torch::Tensor& {
        auto key = std::make_pair(static_cast<int>(p.site), p.layer);
        auto it = values.find(key);
        if (it != values.end()) return it->second;
        const auto& per_layer = source.of(p.site);
        if (static_cast<std::int64_t>(source.positions.size()) != T || source.length != T)
            throw ModelError("the source run was recorded at " + std::to_string(source.positions.size()) + " positions of " +
                             std::to_string(source.length) + ", patching needs all " + std::to_string(T));
        if (per_layer.size() <= static_cast<std::size_t>(p.layer) || per_layer[static_cast<std::size_t>(p.layer)].empty())
            throw ModelError("the source run did not record " + to_string(p.site) + " of layer " + std::to_string(p.layer));
        const auto& v = per_layer[static_cast<std::size_t>(p.layer)];
        std::vector<std::int64_t> shape = p.site == Site::Heads ? std::vector<std::int64_t>{T, source.heads, source.head_dim}
                                                                 : std::vector<std::int64_t>{T, source.hidden};
        auto t = torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).to(device, embeddings_.scalar_type());
        return values.emplace(key, t.clone()).first->second;
    };
    for (auto& run : runs)
        for (auto& p : run) {
            if (p.layer < 0 || p.layer >= layers_)
                throw ModelError("layer " + std::to_string(p.layer) + " is outside the model's " + std::to_string(layers_) + " layers");
            if (p.position < -1 || p.position >= T)
                throw ModelError("position " + std::to_string(p.position) + " is outside the " + std::to_string(T) + " tokens");
            if (p.site == Site::Heads && (p.head < -1 || p.head >= source.heads))
                throw ModelError("head " + std::to_string(p.head) + " is outside the model's " + std::to_string(source.heads) + " heads");
            value_of(p);
        }

    // A run starts where its first patch acts: at a component's layer, or after the layer whose output it replaces;
    // and at its first patched position (or the first readout, if earlier): before it, every position computes
    // what the unpatched pass did, so its keys and values come from that pass's cache.
    auto start_of = [&](const std::vector<Patch>& run) {
        int start = layers_;
        for (auto& p : run) start = std::min(start, p.site == Site::Residual ? p.layer + 1 : p.layer);
        return start;
    };
    int first_read = static_cast<int>(T);
    for (auto& [p, id] : at) first_read = std::min(first_read, p);
    auto from_of = [&](const std::vector<Patch>& run) {
        int from = first_read;
        for (auto& p : run) from = std::min(from, std::max(0, p.position));
        return from;
    };
    // The unpatched pass: its residual stream entering each layer a run starts at (the last: the final residual),
    // and its keys and values.
    std::vector<bool> needed(static_cast<std::size_t>(layers_ + 1), false);
    for (auto& run : runs) needed[static_cast<std::size_t>(start_of(run))] = true;
    std::vector<torch::Tensor> entering(static_cast<std::size_t>(layers_ + 1));
    entering[0] = net_.input_states(embeddings_, positions_);
    ComponentHook keep = [&](int layer, Site site, torch::Tensor& value) {
        if (site == Site::Residual && needed[static_cast<std::size_t>(layer + 1)]) entering[static_cast<std::size_t>(layer + 1)] = value.clone();
    };
    KVCachePtr unpatched = net_.new_cache(1, T);
    net_.forward_components(entering[0], 0, mask_, positions_, keep, unpatched.get());

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

    // Replaces row `row` of value (positions from `from` on) by the source's component.
    auto apply = [&](torch::Tensor& value, std::int64_t row, const Patch& p, int from) {
        const torch::Tensor& src = value_of(p);
        auto dst = value[row];
        if (p.position >= 0) {
            auto d = dst[p.position - from], s = src[p.position];
            if (p.site == Site::Heads && p.head >= 0) d[p.head].copy_(s[p.head]);
            else d.copy_(s);
        } else {  // every position: the run starts at 0
            if (p.site == Site::Heads && p.head >= 0) dst.select(1, p.head).copy_(src.select(1, p.head));
            else dst.copy_(src);
        }
    };

    std::vector<std::size_t> order(runs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::make_pair(start_of(runs[a]), from_of(runs[a])) < std::make_pair(start_of(runs[b]), from_of(runs[b]));
    });
    std::vector<TokenReadout> out(runs.size());
    std::size_t done = 0;
    // Rows per pass: at most batch_size, and at most kPassTokens tokens' worth, which bounds the keys and values
    // held for the rows (layers x rows x T x 2 x kv width).
    constexpr std::int64_t kPassTokens = 2048;
    const std::int64_t rows = std::max<std::int64_t>(1, std::min<std::int64_t>(batch_size, kPassTokens / T));
    // One cache for every pass, its rows filled from the unpatched pass: a pass writes positions from its first
    // patched one on (dirty[l]), and the next restores only those.
    KVCache cache;
    std::vector<std::int64_t> dirty(static_cast<std::size_t>(layers_), 0);
    cache.k.resize(static_cast<std::size_t>(layers_));
    cache.v.resize(static_cast<std::size_t>(layers_));
    std::vector<torch::Tensor> pool_k(static_cast<std::size_t>(layers_)), pool_v(static_cast<std::size_t>(layers_));
    control.report(0, runs.size(), "runs", "patching");
    for (std::size_t i = 0; i < order.size();) {
        const int start = start_of(runs[order[i]]), from = from_of(runs[order[i]]);
        std::vector<std::size_t> batch;
        while (i < order.size() && start_of(runs[order[i]]) == start && from_of(runs[order[i]]) == from &&
               static_cast<std::int64_t>(batch.size()) < rows)
            batch.push_back(order[i++]);
        control.check();
        const auto B = static_cast<std::int64_t>(batch.size());
        // Positions before `from` as the unpatched pass left them, in each row's cache.
        for (auto li = static_cast<std::size_t>(start); li < static_cast<std::size_t>(layers_); ++li) {
            for (auto [src, pool] : {std::pair{&unpatched->k[li], &pool_k[li]}, std::pair{&unpatched->v[li], &pool_v[li]}}) {
                if (!pool->defined()) *pool = torch::empty({rows, src->size(1), T, src->size(3)}, src->options());
                if (dirty[li] < from) pool->narrow(2, dirty[li], from - dirty[li]).copy_(src->narrow(2, dirty[li], from - dirty[li]).expand({rows, -1, -1, -1}));
            }
            dirty[li] = from;  // the pass writes positions from `from` on
            cache.k[li] = pool_k[li].narrow(0, 0, B);
            cache.v[li] = pool_v[li].narrow(0, 0, B);
        }
        cache.length = from;
        cache.capacity = T;
        auto residual = entering[static_cast<std::size_t>(start)].narrow(1, from, T - from).expand({B, -1, -1}).clone();
        for (std::int64_t b = 0; b < B; ++b)
            for (auto& p : runs[batch[static_cast<std::size_t>(b)]])
                if (p.site == Site::Residual && p.layer + 1 == start) apply(residual, b, p, from);
        ComponentHook hook = [&](int layer, Site site, torch::Tensor& value) {
            for (std::int64_t b = 0; b < B; ++b)
                for (auto& p : runs[batch[static_cast<std::size_t>(b)]])
                    if (p.layer == layer && p.site == site) {
                        if (!value.is_contiguous()) value = value.contiguous();
                        apply(value, b, p, from);
                    }
        };
        auto mask = mask_.expand({B, -1}), pos = positions_.narrow(1, from, T - from).expand({B, -1});
        std::vector<std::int64_t> rel;
        for (int p : read_positions) rel.push_back(p - from);
        auto read_sel = torch::tensor(rel, torch::kLong).to(device);
        auto states = net_.forward_components(residual, start, mask, pos, hook, &cache).index_select(1, read_sel);  // [B, R, X]
        auto logits = net_.logits(states).to(torch::kFloat32);                                               // [B, R, V]
        auto log_probs = logits - logits.logsumexp(-1, true);
        auto pick = [&](const torch::Tensor& t) {  // [B, A]
            return t.index_select(1, at_row_t).gather(2, at_token_t.view({1, -1, 1}).expand({B, -1, 1})).squeeze(-1).cpu().contiguous();
        };
        auto lg = pick(logits), lp = pick(log_probs);
        for (std::int64_t b = 0; b < B; ++b) {
            TokenReadout& r = out[batch[static_cast<std::size_t>(b)]];
            r.at = at;
            r.logits.assign(lg[b].data_ptr<float>(), lg[b].data_ptr<float>() + lg.size(1));
            r.log_probs.assign(lp[b].data_ptr<float>(), lp[b].data_ptr<float>() + lp.size(1));
        }
        done += batch.size();
        control.report(done, runs.size(), "runs", "patching");
    }
    return out;
}

}  // namespace

Activations record_components(const Network& net, const torch::Tensor& ids, const std::vector<float>* input, int layers,
                              const std::vector<Site>& sites, const std::vector<int>& positions) {
    return ComponentPass(net, ids, input, layers).record(sites, positions);
}

std::vector<TokenReadout> patch_components(const Network& net, const torch::Tensor& ids, const std::vector<float>* input, int layers,
                                           const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                           const std::vector<std::pair<int, std::int32_t>>& at, int batch_size, const Control& control) {
    return ComponentPass(net, ids, input, layers).patched(source, runs, at, batch_size, control);
}

}  // namespace lmwb
