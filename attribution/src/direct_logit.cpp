#include <cmath>

#include "lmwb/circuits.h"
#include "lmwb/model.h"
#include "circuit_inputs.h"

namespace lmwb::attr {

DirectLogitAttribution direct_logit_attribution(const LanguageModel& m, std::string_view prompt, std::string_view target,
                                                std::string_view contrast, const Control& control) {
    CancelScope cancel_scope(control.cancel);
    DirectLogitAttribution r;
    r.prompt = std::string(prompt);
    const CircuitInputs in = circuit_inputs(m, prompt, target, contrast);
    r.target = in.target;
    r.contrast = std::string(contrast);
    r.tokens = in.prompt_tokens;
    r.target_token = in.target_tokens[0];
    const auto& pid = in.pid;
    std::vector<std::int32_t> read = {in.tid[0]};
    if (!in.fid.empty()) {
        r.contrast_token = in.foil_tokens[0];
        read.push_back(in.fid[0]);
    }
    const int P = static_cast<int>(pid.size());
    r.position = P - 1;
    const auto acts = m.record_activations(pid, {Site::Residual, Site::Attention, Site::Mlp, Site::Heads}, {P - 1});
    control.check();
    r.layers = acts.layers;
    r.heads = acts.heads;
    const std::size_t D = static_cast<std::size_t>(acts.hidden), L = static_cast<std::size_t>(acts.layers);
    const std::vector<float>& residual = acts.residual.back();

    // Rows: the embeddings, each layer's attention and MLP output, then every head's projected output.
    std::vector<float> parts = acts.input;
    for (std::size_t l = 0; l < L; ++l) parts.insert(parts.end(), acts.attention[l].begin(), acts.attention[l].end());
    for (std::size_t l = 0; l < L; ++l) parts.insert(parts.end(), acts.mlp[l].begin(), acts.mlp[l].end());
    bool heads = true;
    try {
        for (std::size_t l = 0; l < L; ++l) {
            auto h = m.project_heads(static_cast<int>(l), acts.head_outputs[l], 1);
            parts.insert(parts.end(), h.begin(), h.end());
        }
    } catch (const ModelError& e) {
        heads = false;
        r.heads_note = e.what();
        parts.resize((1 + 2 * L) * D);
    }
    const int rows = static_cast<int>(parts.size() / D);
    const auto normed = m.frozen_final_norm(parts, rows, residual);
    const auto u = m.unembedding(read);
    std::vector<double> direction(D);
    for (std::size_t d = 0; d < D; ++d) direction[d] = u[d] - (read.size() > 1 ? u[D + d] : 0.0f);
    auto value = [&](const float* x) {
        double s = 0;
        for (std::size_t d = 0; d < D; ++d) s += x[d] * direction[d];
        return s;
    };
    r.embed = value(normed.data());
    for (std::size_t l = 0; l < L; ++l) {
        r.attention.push_back(value(normed.data() + (1 + l) * D));
        r.mlp.push_back(value(normed.data() + (1 + L + l) * D));
    }
    if (heads) {
        const auto H = static_cast<std::size_t>(r.heads);
        for (std::size_t l = 0; l < L; ++l) {
            double heads_sum = 0;
            for (std::size_t h = 0; h < H; ++h) {
                r.head_values.push_back(value(normed.data() + (1 + 2 * L + l * H + h) * D));
                heads_sum += r.head_values.back();
            }
            r.attention_bias.push_back(r.attention[l] - heads_sum);
        }
    }
    const auto bias = m.final_norm_bias();
    r.norm_bias = value(bias.data());
    r.sum = r.embed + r.norm_bias;
    for (std::size_t l = 0; l < L; ++l) r.sum += r.attention[l] + r.mlp[l];
    const auto logits = m.logits(pid);
    const std::size_t V = logits.size() / static_cast<std::size_t>(P), last = static_cast<std::size_t>(P - 1) * V;
    r.total = logits[last + static_cast<std::size_t>(read[0])] - (read.size() > 1 ? logits[last + static_cast<std::size_t>(read[1])] : 0.0f);
    r.softcap = m.final_logit_softcap();
    r.gap = r.total - r.sum;
    return r;
}

}  // namespace lmwb::attr
