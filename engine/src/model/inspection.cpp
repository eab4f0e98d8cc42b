// Inspection: traces, pooled states, hooked passes, the model's head on residual states and weight views.
#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "lmwb/prompt_encoding.h"
#include "compute_threads.h"
#include "hf_model.h"
#include "hooked_passes.h"

namespace lmwb {

Trace HfModel::trace(std::string_view text, const TraceOptions& opt) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    Trace tr;
    Encoding enc = encode_prompt(tokenizer(), text);
    if (enc.ids.empty()) {
        enc.ids.push_back(static_cast<std::int32_t>(prefix_));
        enc.tokens.push_back(tokenizer().id_to_token(static_cast<std::int32_t>(prefix_)).value_or(""));
        enc.char_offsets.push_back({0, 0});
    }
    const std::int64_t T = static_cast<std::int64_t>(enc.ids.size());
    if (T > info_.context_length)
        throw ModelError("the text has " + std::to_string(T) + " tokens, more than the model's context of " +
                         std::to_string(info_.context_length) + "; trace a shorter text");
    PassShape pass = pass_of(1, T);
    pass.attention_maps = opt.attentions;
    check_memory(pass, "tracing " + std::to_string(T) + " tokens", "a shorter text, or fewer layers (--layers)");
    tr.ids = enc.ids;
    tr.tokens = enc.tokens;
    tr.offsets = enc.char_offsets;
    tr.length = static_cast<int>(T);
    tr.heads = static_cast<int>(info_.heads);
    tr.hidden = static_cast<int>(info_.hidden_size);
    for (int l = 0; l < info_.layers; ++l)
        if (opt.layers.empty() || std::find(opt.layers.begin(), opt.layers.end(), l) != opt.layers.end()) tr.layers.push_back(l);
    for (int l : opt.layers)
        if (l < 0 || l >= info_.layers) throw ModelError("layer " + std::to_string(l) + " does not exist (the model has " + std::to_string(info_.layers) + ")");
    auto append = [](std::vector<float>& dst, const torch::Tensor& t) {
        auto c = t.to(torch::kFloat32).cpu().contiguous();
        dst.insert(dst.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    std::vector<std::int64_t> ids(enc.ids.begin(), enc.ids.end());
    auto id_t = ids_tensor(ids, 1);
    auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
    TensorHooks hooks{[&](const HookPoint& p) {
                          if (p.kind == HookKind::Pattern)
                              return opt.attentions && std::find(tr.layers.begin(), tr.layers.end(), p.layer) != tr.layers.end();
                          return p.kind == HookKind::ResidPost && opt.hidden_states && p.layer + 1 < info_.layers;
                      },
                      [&](const HookPoint& p, torch::Tensor& value) {
                          append(p.kind == HookKind::Pattern ? tr.attentions : tr.hidden_states, value[0]);
                      },
                      // A block of query positions at a time into the layer's [heads, T, T] (only the maps asked for
                      // are ever whole).
                      [&](int, std::int64_t first_row, const torch::Tensor& block) {
                          const std::size_t H = static_cast<std::size_t>(block.size(1)), n = static_cast<std::size_t>(block.size(2)),
                                            TT = static_cast<std::size_t>(T) * static_cast<std::size_t>(T);
                          if (first_row == 0) tr.attentions.resize(tr.attentions.size() + H * TT, 0.0f);
                          float* layer_map = tr.attentions.data() + tr.attentions.size() - H * TT;
                          const auto c = block[0].to(torch::kFloat32).cpu().contiguous();
                          for (std::size_t h = 0; h < H; ++h)
                              std::memcpy(layer_map + h * TT + static_cast<std::size_t>(first_row) * static_cast<std::size_t>(T),
                                          c.data_ptr<float>() + h * n * static_cast<std::size_t>(T), n * static_cast<std::size_t>(T) * sizeof(float));
                      }};
    if (!net().runs_hooks()) {  // e.g. a TorchScript bundle: whole traces from its own methods
        auto mask = torch::ones({1, T}, torch::kLong).to(device());
        if (opt.attentions) {
            auto all = net().traced_attentions(id_t, mask);
            if (all.dim() != 5 || all.size(3) != T || all.size(4) != T)
                throw ModelError("the bundle's attentions method returned shape " + std::string(c10::str(all.sizes())) +
                                 ", expected [layers, 1, heads, " + std::to_string(T) + ", " + std::to_string(T) + "]");
            if (tr.layers.empty() && opt.layers.empty())  // the manifest did not say how many layers there are
                for (int l = 0; l < all.size(0); ++l) tr.layers.push_back(l);
            tr.heads = static_cast<int>(all.size(2));
            for (int l : tr.layers) {
                if (l >= all.size(0)) throw ModelError("layer " + std::to_string(l) + " does not exist in the bundle's attentions");
                append(tr.attentions, all[l][0]);
            }
        }
        if (opt.hidden_states) {
            auto all = net().traced_hidden_states(id_t, mask);
            for (std::int64_t l = 0; l < all.size(0); ++l) append(tr.hidden_states, all[l][0]);
        }
        return tr;
    }
    auto emb = net().embed(id_t);
    // The first entry is what the first layer reads (GPT-2 adds its position embeddings).
    if (opt.hidden_states) append(tr.hidden_states, net().input_states(emb, pos)[0]);
    auto final_h = net().forward(emb, torch::ones({1, T}, torch::kLong).to(device()), pos, nullptr, &hooks);
    // As Hugging Face's output_hidden_states: the last entry is after the final norm.
    if (opt.hidden_states) append(tr.hidden_states, final_h[0]);
    return tr;
}

std::vector<float> HfModel::pooled_hidden_state(std::string_view text) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    auto ids32 = encode_prompt(tokenizer(), text).ids;
    if (ids32.empty()) ids32.push_back(static_cast<std::int32_t>(prefix_));
    if (static_cast<std::int64_t>(ids32.size()) > info_.context_length)
        ids32.erase(ids32.begin(), ids32.end() - info_.context_length);
    std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    const auto T = static_cast<std::int64_t>(ids.size());
    auto id_t = ids_tensor(ids, 1);
    auto mask = torch::ones({1, T}, torch::kLong).to(device());
    torch::Tensor last;
    if (net().runs_hooks()) {
        auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
        last = net().forward(net().embed(id_t), mask, pos, nullptr, nullptr)[0];
    } else {
        last = net().traced_hidden_states(id_t, mask)[-1][0];
    }
    auto pooled = last.to(torch::kFloat32).mean(0).cpu().contiguous();
    return {pooled.data_ptr<float>(), pooled.data_ptr<float>() + pooled.numel()};
}

torch::Tensor HfModel::sequence_ids(const std::vector<std::int32_t>& ids32, const char* what) const {
    const auto T = static_cast<std::int64_t>(ids32.size());
    if (T == 0) throw ModelError(std::string(what) + " needs at least one token");
    if (T > info_.context_length)
        throw ModelError(std::to_string(T) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
    return ids_tensor(std::vector<std::int64_t>(ids32.begin(), ids32.end()), 1);
}

namespace {

// A bundle runs as a whole: passes whose hooks only read the attention probabilities get them from its trace.
bool pattern_readers_only(const std::vector<std::vector<Hook>>& passes) {
    for (auto& pass : passes)
        for (auto& h : pass)
            if (h.writes || h.point.kind != HookKind::Pattern) return false;
    return true;
}

}  // namespace

std::vector<TokenReadout> HfModel::run_hooked(const std::vector<std::int32_t>& ids32, const std::vector<float>* input,
                                              const std::vector<std::vector<Hook>>& passes,
                                              const std::vector<std::pair<int, std::int32_t>>& at, int batch_size,
                                              const Control& control) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    auto ids = sequence_ids(ids32, "a hooked pass");
    for (auto& [p, id] : at) ids_tensor({id}, 1);  // checks the id
    if (net().runs_hooks()) return run_hooked_passes(net(), ids, input, static_cast<int>(info_.layers), passes, at, batch_size, control);
    if (!pattern_readers_only(passes) || input)
        throw ModelError("hooks other than reading attn.hook_pattern need the components of every layer, which a TorchScript bundle "
                         "does not expose");
    const auto T = ids.size(1);
    for (auto& [p, id] : at)
        if (p < 0 || p >= T) throw ModelError("readout position " + std::to_string(p) + " is outside the " + std::to_string(T) + " tokens");
    const auto mask = torch::ones({1, T}, torch::kLong).to(device());
    torch::Tensor all;
    bool any = false;
    for (auto& pass : passes) any = any || !pass.empty();
    if (any) {
        all = net().traced_attentions(ids, mask);
        if (all.dim() != 5 || all.size(3) != T || all.size(4) != T)
            throw ModelError("the bundle's attentions method returned shape " + std::string(c10::str(all.sizes())) +
                             ", expected [layers, 1, heads, " + std::to_string(T) + ", " + std::to_string(T) + "]");
        all = all.to(torch::kFloat32).contiguous();
    }
    std::vector<TokenReadout> out(passes.size());
    torch::Tensor log_probs, logits;
    if (!at.empty()) {
        logits = net().logits(net().forward_ids(ids, mask, torch::arange(T, torch::kLong).view({1, T}).to(device()), nullptr)[0]).cpu();
        log_probs = torch::log_softmax(logits, -1);
    }
    for (std::size_t k = 0; k < passes.size(); ++k) {
        control.check();
        for (auto& h : passes[k]) {
            if (h.point.layer < 0 || h.point.layer >= all.size(0))
                throw ModelError(h.point.name() + ": the bundle's attentions have " + std::to_string(all.size(0)) + " layers");
            auto layer = all[h.point.layer].clone();  // [1, heads, T, T]; a reader's own copy
            call_hooks_on_row({&h}, layer, 0, 0);
        }
        out[k].at = at;
        for (auto& [p, id] : at) {
            out[k].logits.push_back(logits[p][id].item<float>());
            out[k].log_probs.push_back(log_probs[p][id].item<float>());
        }
        control.report(k + 1, passes.size(), "runs");
    }
    return out;
}

std::vector<float> HfModel::unembed_residual(const std::vector<float>& residual, int rows) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    const auto D = info_.hidden_size;
    if (rows < 0 || residual.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(D))
        throw ModelError("residual states of " + std::to_string(residual.size()) + " values are not " + std::to_string(rows) +
                         " rows of the hidden size " + std::to_string(D));
    if (rows == 0) return {};
    const auto r = torch::from_blob(const_cast<float*>(residual.data()), {rows, D}, torch::kFloat32).to(device());
    auto out = net().logits(net().final_norm(r)).to(torch::kFloat32).cpu().contiguous();
    return {out.data_ptr<float>(), out.data_ptr<float>() + out.numel()};
}

std::vector<float> HfModel::weights(const std::string& name, const std::vector<std::int32_t>& rows) const {
    torch::InferenceMode guard;
    torch::Tensor r;
    if (name == "unembed.W_U") r = ids_tensor(std::vector<std::int64_t>(rows.begin(), rows.end()), 1)[0];
    else if (!rows.empty()) throw ModelError("weight view '" + name + "' takes no rows");
    auto w = net().weights(name, r).to(torch::kFloat32).cpu().contiguous();
    return {w.data_ptr<float>(), w.data_ptr<float>() + w.numel()};
}

}  // namespace lmwb
