#include <algorithm>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "utf8.h"

namespace lmwb::attr {

void stream_attentions(const LanguageModel& m, const std::vector<std::int32_t>& ids,
                       const std::function<void(int layer, int heads, int length, const float* data)>& visit, const std::vector<int>& only) {
    const int layers = static_cast<int>(m.info().layers);
    if (layers <= 0) throw ModelError(m.info().path + ": the model does not say how many layers it has (a bundle's lmwb.json \"layers\")");
    std::vector<float> map;  // the layer being assembled from blocks of query positions: [heads][T][T]
    std::vector<Hook> hooks;
    for (int l = 0; l < layers; ++l) {
        if (!only.empty() && std::find(only.begin(), only.end(), l) == only.end()) continue;
        hooks.push_back({HookPoint{l, HookKind::Pattern}, [&visit, &map, l](HookValue& v) {
                             const auto H = static_cast<std::size_t>(v.shape[0]), n = static_cast<std::size_t>(v.shape[1]),
                                        T = static_cast<std::size_t>(v.shape[2]), first = static_cast<std::size_t>(v.first_position);
                             if (first == 0 && n == T) return visit(l, static_cast<int>(H), static_cast<int>(T), v.data);  // whole
                             if (first == 0) map.assign(H * T * T, 0.0f);
                             for (std::size_t h = 0; h < H; ++h)
                                 std::copy(v.data + h * n * T, v.data + (h + 1) * n * T, map.begin() + static_cast<std::ptrdiff_t>(h * T * T + first * T));
                             if (first + n == T) visit(l, static_cast<int>(H), static_cast<int>(T), map.data());
                         }});
    }
    m.run_hooked(ids, nullptr, {hooks}, {});
}

void Rollout::add(const double* a) {
    const std::size_t n = static_cast<std::size_t>(length_);
    if (r_.empty()) {
        r_.assign(n * n, 0.0);
        for (std::size_t i = 0; i < n; ++i) r_[i * n + i] = 1;
    }
    bool causal = true;
    for (std::size_t i = 0; i < n && causal; ++i)
        for (std::size_t j = i + 1; j < n; ++j)
            if (a[i * n + j] != 0) {
                causal = false;
                break;
            }
    // Â = (A + I) normalised by rows; R ← Â · R. Causal maps keep both triangular: a sixth of the work.
    std::vector<double> hat(n * n), next(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < n; ++j) s += hat[i * n + j] = a[i * n + j] + (i == j ? 1.0 : 0.0);
        for (std::size_t j = 0; j < n; ++j) hat[i * n + j] /= s;
    }
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t kmax = causal ? i + 1 : n;
        for (std::size_t k = 0; k < kmax; ++k) {
            double h = hat[i * n + k];
            if (h == 0) continue;
            std::size_t jmax = causal ? k + 1 : n;
            const double* rk = r_.data() + k * n;
            double* out = next.data() + i * n;
            for (std::size_t j = 0; j < jmax; ++j) out[j] += h * rk[j];
        }
    }
    r_.swap(next);
}

std::vector<double> attention_rollout(const std::vector<std::vector<double>>& layers, int T) {
    Rollout r(T);
    for (const auto& a : layers) {
        if (a.size() != static_cast<std::size_t>(T) * static_cast<std::size_t>(T))
            throw AttributionError("attention rollout: a layer's map has the wrong size");
        r.add(a.data());
    }
    return r.result();
}

AttentionMaps attention_maps(const LanguageModel& m, std::string_view text, int layer, int head, int display_limit,
                             const Control& control) {
    CancelScope cancel_scope(control.cancel);
    const auto& caps = m.info().capabilities;
    if (std::find(caps.begin(), caps.end(), "attentions") == caps.end())
        throw AttributionError("this model does not expose attentions (" + m.info().format + ")");
    AttentionMaps out;
    std::vector<std::int32_t> ids;
    out.tokens = prompt_tokens(m.tokenizer(), text, ids);
    if (ids.empty()) throw AttributionError("the text has no tokens");
    const int T = static_cast<int>(ids.size());
    out.length = T;
    // Uniform blocks of `block` tokens (the last may be shorter), so that every display cell covers the same span.
    out.block = display_limit > 0 ? (T + display_limit - 1) / display_limit : 1;
    out.display = display_limit > 0 ? (T + out.block - 1) / out.block : 0;
    const std::size_t D = static_cast<std::size_t>(out.display);
    Rollout rollout(T);
    const auto L = static_cast<std::size_t>(m.info().layers);
    control.report(0, L, "layers");
    try {
        stream_attentions(m, ids, [&](int l, int h, int len, const float* a) {
            control.check();
            out.heads = h;
            const std::size_t TT = static_cast<std::size_t>(len) * static_cast<std::size_t>(len);
            std::vector<double> mean(TT, 0.0);
            std::vector<float> mx(TT, 0.0f);
            for (int k = 0; k < h; ++k)
                for (std::size_t q = 0; q < TT; ++q) {
                    float v = a[static_cast<std::size_t>(k) * TT + q];
                    mean[q] += v / static_cast<double>(h);
                    mx[q] = std::max(mx[q], v);
                }
            out.head_mean.insert(out.head_mean.end(), mean.begin(), mean.end());
            out.head_max.insert(out.head_max.end(), mx.begin(), mx.end());
            if (D) {  // block means of every head
                std::vector<std::size_t> cell(static_cast<std::size_t>(len));
                std::vector<float> counts(D, 0.0f);
                for (int i = 0; i < len; ++i) cell[static_cast<std::size_t>(i)] = static_cast<std::size_t>(i / out.block);
                for (int i = 0; i < len; ++i) counts[cell[static_cast<std::size_t>(i)]] += 1;
                for (int k = 0; k < h; ++k) {
                    std::vector<float> blk(D * D, 0.0f);
                    const float* src = a + static_cast<std::size_t>(k) * TT;
                    for (int i = 0; i < len; ++i)
                        for (int j = 0; j < len; ++j)
                            blk[cell[static_cast<std::size_t>(i)] * D + cell[static_cast<std::size_t>(j)]] += src[static_cast<std::size_t>(i) * static_cast<std::size_t>(len) + static_cast<std::size_t>(j)];
                    for (std::size_t i = 0; i < D; ++i)
                        for (std::size_t j = 0; j < D; ++j) blk[i * D + j] /= counts[i] * counts[j];
                    out.heads_display.insert(out.heads_display.end(), blk.begin(), blk.end());
                }
            }
            if (l == layer && head >= 0) {
                if (head >= h) throw AttributionError("head " + std::to_string(head) + " does not exist (the model has " + std::to_string(h) + ")");
                out.selected.assign(a + static_cast<std::size_t>(head) * TT, a + static_cast<std::size_t>(head + 1) * TT);
            }
            rollout.add(mean.data());
            out.layers = l + 1;
            control.report(static_cast<std::size_t>(l) + 1, std::max(L, static_cast<std::size_t>(l) + 1), "layers");
        });
    } catch (const ModelError& e2) {
        throw AttributionError(e2.what());
    }
    if (layer >= out.layers) throw AttributionError("layer " + std::to_string(layer) + " does not exist (the model has " + std::to_string(out.layers) + ")");
    out.rollout = rollout.result();
    return out;
}

}  // namespace lmwb::attr
