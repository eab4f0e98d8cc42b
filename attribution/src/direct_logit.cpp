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
    const auto acts = record_activations(m, pid, {Site::Residual, Site::Attention, Site::Mlp, Site::Heads}, {P - 1});
    control.check();
    r.layers = acts.layers;
    r.heads = acts.heads;
    const std::size_t D = static_cast<std::size_t>(acts.hidden), L = static_cast<std::size_t>(acts.layers);
    const std::vector<float>& residual = acts.residual.back();

    // Rows: the embeddings, each layer's attention and MLP output, then every head's output through its slice of the
    // output projection (W_O [heads][head_dim][hidden]).
    std::vector<float> parts = acts.input;
    for (std::size_t l = 0; l < L; ++l) parts.insert(parts.end(), acts.attention[l].begin(), acts.attention[l].end());
    for (std::size_t l = 0; l < L; ++l) parts.insert(parts.end(), acts.mlp[l].begin(), acts.mlp[l].end());
    bool heads = true;
    try {
        const auto H = static_cast<std::size_t>(acts.heads), hd = static_cast<std::size_t>(acts.head_dim);
        for (std::size_t l = 0; l < L; ++l) {
            const auto w_o = m.weights("blocks." + std::to_string(l) + ".attn.W_O");
            const std::vector<float>& z = acts.head_outputs[l];
            for (std::size_t h = 0; h < H; ++h) {
                std::vector<double> out(D, 0.0);
                for (std::size_t k = 0; k < hd; ++k) {
                    const double zk = z[h * hd + k];
                    const float* w = w_o.data() + (h * hd + k) * D;
                    for (std::size_t d = 0; d < D; ++d) out[d] += zk * w[d];
                }
                parts.insert(parts.end(), out.begin(), out.end());
            }
        }
    } catch (const ModelError& e) {
        heads = false;
        r.heads_note = e.what();
        parts.resize((1 + 2 * L) * D);
    }
    const std::size_t rows = parts.size() / D;
    // The final norm with its scale frozen at the clean residual: each part centred (LayerNorm) and divided by the
    // residual's scale, times the norm's weight; its bias is a part of its own.
    const ModelInfo& info = m.info();
    if (info.final_norm != "layernorm" && info.final_norm != "rmsnorm")
        throw ModelError("direct logit attribution needs the model's final norm, which this network does not describe");
    const bool centred = info.final_norm == "layernorm";
    double mean = 0, square = 0;
    for (float x : residual) mean += x;
    mean /= static_cast<double>(D);
    for (float x : residual) square += centred ? (x - mean) * (x - mean) : static_cast<double>(x) * x;
    const double scale = 1.0 / std::sqrt(square / static_cast<double>(D) + info.norm_eps);
    const auto weight = m.weights("ln_final.w");
    std::vector<float> normed(parts.size());
    for (std::size_t i = 0; i < rows; ++i) {
        const float* x = parts.data() + i * D;
        double row_mean = 0;
        if (centred) {
            for (std::size_t d = 0; d < D; ++d) row_mean += x[d];
            row_mean /= static_cast<double>(D);
        }
        for (std::size_t d = 0; d < D; ++d) normed[i * D + d] = static_cast<float>((x[d] - row_mean) * scale * weight[d]);
    }
    const auto u = m.weights("unembed.W_U", read);
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
    const auto bias = m.weights("ln_final.b");
    r.norm_bias = value(bias.data());
    r.sum = r.embed + r.norm_bias;
    for (std::size_t l = 0; l < L; ++l) r.sum += r.attention[l] + r.mlp[l];
    const auto logits = m.logits(pid);
    const std::size_t V = logits.size() / static_cast<std::size_t>(P), last = static_cast<std::size_t>(P - 1) * V;
    r.total = logits[last + static_cast<std::size_t>(read[0])] - (read.size() > 1 ? logits[last + static_cast<std::size_t>(read[1])] : 0.0f);
    r.softcap = info.final_logit_softcap;
    r.gap = r.total - r.sum;
    return r;
}

}  // namespace lmwb::attr
