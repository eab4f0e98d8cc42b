// Recording and patching components (activation patching, direct logit attribution) on the engine's hooked passes.
#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

#include "lmwb/circuits.h"

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

HookKind hook_kind(Site site) {
    switch (site) {
        case Site::Residual: return HookKind::ResidPost;
        case Site::Attention: return HookKind::AttnOut;
        case Site::Mlp: return HookKind::MlpOut;
        case Site::Heads: return HookKind::Z;
    }
    return HookKind::ResidPost;
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

namespace attr {

namespace {

std::vector<std::vector<float>>& slot(Activations& a, Site site) { return const_cast<std::vector<std::vector<float>>&>(a.of(site)); }

std::size_t row_width(const HookValue& v) {
    std::size_t w = 1;
    for (std::size_t i = 1; i < v.shape.size(); ++i) w *= static_cast<std::size_t>(v.shape[i]);
    return w;
}

}  // namespace

Activations record_activations(const LanguageModel& m, const std::vector<std::int32_t>& ids, const std::vector<Site>& sites,
                               const std::vector<int>& positions, const std::vector<float>* input) {
    const int T = static_cast<int>(ids.size());
    Activations out;
    out.layers = static_cast<int>(m.info().layers);
    out.length = T;
    if (positions.empty()) {
        for (int p = 0; p < T; ++p) out.positions.push_back(p);
    } else {
        for (int p : positions)
            if (p < 0 || p >= T) throw ModelError("position " + std::to_string(p) + " is outside the " + std::to_string(T) + " tokens");
        out.positions = positions;
    }
    // Rows at the recorded positions into dst (every hook of the pass sees all positions: from 0).
    auto keep = [&](std::vector<float>& dst, const HookValue& v) {
        const std::size_t w = row_width(v);
        dst.resize(out.positions.size() * w);
        for (std::size_t i = 0; i < out.positions.size(); ++i)
            std::memcpy(dst.data() + i * w, v.data + static_cast<std::size_t>(out.positions[i]) * w, w * sizeof(float));
    };
    std::vector<Hook> hooks;
    hooks.push_back({HookPoint{0, HookKind::ResidPre}, [&](HookValue& v) {
                         out.hidden = static_cast<int>(v.shape[1]);
                         keep(out.input, v);
                     }});
    const bool heads = std::find(sites.begin(), sites.end(), Site::Heads) != sites.end();
    if (!heads && out.layers > 0)  // the head shape, whatever is recorded
        hooks.push_back({HookPoint{0, HookKind::Z}, [&](HookValue& v) { out.heads = static_cast<int>(v.shape[1]), out.head_dim = static_cast<int>(v.shape[2]); }});
    for (Site s : {Site::Residual, Site::Attention, Site::Mlp, Site::Heads}) {
        if (std::find(sites.begin(), sites.end(), s) == sites.end()) continue;
        auto& per_layer = slot(out, s);
        per_layer.resize(static_cast<std::size_t>(out.layers));
        for (int l = 0; l < out.layers; ++l)
            hooks.push_back({HookPoint{l, hook_kind(s)}, [&, s, l](HookValue& v) {
                                 if (s == Site::Heads) out.heads = static_cast<int>(v.shape[1]), out.head_dim = static_cast<int>(v.shape[2]);
                                 keep(per_layer[static_cast<std::size_t>(l)], v);
                             }});
    }
    m.run_hooked(ids, input, {hooks}, {});
    return out;
}

std::vector<TokenReadout> patched_readouts(const LanguageModel& m, const std::vector<std::int32_t>& ids, const std::vector<float>* input,
                                           const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                           const std::vector<std::pair<int, std::int32_t>>& at, int batch_size, const Control& control) {
    const int T = static_cast<int>(ids.size()), layers = static_cast<int>(m.info().layers);
    // Every patch names a recorded component that exists.
    auto value_of = [&](const Patch& p) -> const std::vector<float>& {
        const auto& per_layer = source.of(p.site);
        if (static_cast<int>(source.positions.size()) != T || source.length != T)
            throw ModelError("the source run was recorded at " + std::to_string(source.positions.size()) + " positions of " +
                             std::to_string(source.length) + ", patching needs all " + std::to_string(T));
        if (per_layer.size() <= static_cast<std::size_t>(p.layer) || per_layer[static_cast<std::size_t>(p.layer)].empty())
            throw ModelError("the source run did not record " + to_string(p.site) + " of layer " + std::to_string(p.layer));
        return per_layer[static_cast<std::size_t>(p.layer)];
    };
    std::vector<std::vector<Hook>> passes;
    for (auto& run : runs) {
        std::vector<Hook> pass;
        for (const Patch& p : run) {
            if (p.layer < 0 || p.layer >= layers)
                throw ModelError("layer " + std::to_string(p.layer) + " is outside the model's " + std::to_string(layers) + " layers");
            if (p.position < -1 || p.position >= T)
                throw ModelError("position " + std::to_string(p.position) + " is outside the " + std::to_string(T) + " tokens");
            if (p.site == Site::Heads && (p.head < -1 || p.head >= source.heads))
                throw ModelError("head " + std::to_string(p.head) + " is outside the model's " + std::to_string(source.heads) + " heads");
            const std::vector<float>* src = &value_of(p);
            const std::size_t head_dim = static_cast<std::size_t>(source.head_dim);
            Hook h{HookPoint{p.layer, hook_kind(p.site)}, [src, p, head_dim](HookValue& v) {
                       const std::size_t w = row_width(v);
                       const int first = std::max(p.position, v.first_position), last = p.position >= 0 ? p.position + 1 : v.first_position + static_cast<int>(v.shape[0]);
                       for (int q = first; q < last; ++q) {
                           float* dst = v.data + static_cast<std::size_t>(q - v.first_position) * w;
                           const float* s = src->data() + static_cast<std::size_t>(q) * w;
                           if (p.site == Site::Heads && p.head >= 0) {
                               const std::size_t off = static_cast<std::size_t>(p.head) * head_dim;
                               std::memcpy(dst + off, s + off, head_dim * sizeof(float));
                           } else {
                               std::memcpy(dst, s, w * sizeof(float));
                           }
                       }
                   },
                   true, std::max(0, p.position)};
            pass.push_back(std::move(h));
        }
        passes.push_back(std::move(pass));
    }
    Control staged = control;
    if (control.progress)
        staged.progress = [&control](const Progress& p) {
            Progress q = p;
            q.stage = "patching";
            control.progress(q);
        };
    return m.run_hooked(ids, input, passes, at, batch_size, staged);
}

}  // namespace attr

}  // namespace lmwb
