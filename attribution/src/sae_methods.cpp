#include "lmwb/sae_methods.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "circuit_inputs.h"
#include "sae_rows.h"
#include "utf8.h"

namespace lmwb::attr {

namespace {

// The sequence and metric of sae_attribution and sae_intervene: prompt + target but its last token; the sum of
// log p(target_k) at P − 1 + k, or with a foil logit(target_0) − logit(foil_0) at P − 1 (as activation patching).
struct Metric {
    CircuitInputs in;
    std::vector<std::int32_t> seq;
    std::vector<MetricTerm> terms;
};
Metric metric_of(const LanguageModel& model, std::string_view prompt, std::string_view target, std::string_view contrast) {
    Metric m;
    m.in = circuit_inputs(model, prompt, target, contrast);
    m.seq = m.in.pid;
    m.seq.insert(m.seq.end(), m.in.tid.begin(), m.in.tid.end() - 1);
    m.terms = metric_terms(m.in);
    return m;
}

std::vector<Token> sequence_tokens(const CircuitInputs& in, bool whole_target) {
    std::vector<Token> t = in.prompt_tokens;
    t.insert(t.end(), in.target_tokens.begin(), in.target_tokens.end() - (whole_target ? 0 : 1));
    return t;
}

}  // namespace

SaeFeatures sae_features(const LanguageModel& model, const SparseAutoencoder& sae, std::string_view prompt, std::string_view target,
                         const SaeOptions& o) {
    check(model, sae);
    const CancelScope cancel_scope(o.control.cancel);
    if (o.top_k < 1) throw AttributionError("--top-k must be at least 1");
    const SaeConfig& c = sae.config();
    SaeFeatures r;
    r.sae = c.path;
    r.hook = c.hook_name;
    r.d_sae = c.d_sae;
    r.prompt = std::string(prompt);
    r.target = std::string(target);
    std::vector<std::int32_t> ids, tid;
    r.tokens = prompt_tokens(model.tokenizer(), prompt, ids);
    if (ids.empty()) throw AttributionError("the prompt has no tokens");
    const int P = static_cast<int>(ids.size());
    if (!target.empty()) {
        auto tt = continuation_tokens(model.tokenizer(), prompt, target, tid);
        r.tokens.insert(r.tokens.end(), tt.begin(), tt.end());
        ids.insert(ids.end(), tid.begin(), tid.end());
    }
    const auto T = static_cast<std::int64_t>(ids.size());
    const HookRows rows{c};
    std::vector<float> x;
    const Hook reader{c.point, [&](HookValue& v) { x = rows.read(v); }, false, 0};
    const Hook splice{c.point, [&](HookValue& v) { rows.write(v, sae.run(rows.read(v), v.shape[0]).reconstruction); }, true, 0};
    const Hook zero{c.point, [&](HookValue& v) { rows.write(v, std::vector<float>(static_cast<std::size_t>(v.shape[0] * c.d_in), 0.0f)); }, true, 0};
    std::vector<std::pair<int, std::int32_t>> at;
    for (std::int64_t t = 0; t + 1 < T; ++t) at.push_back({static_cast<int>(t), ids[static_cast<std::size_t>(t + 1)]});
    const auto out = model.run_hooked(ids, nullptr, {{reader}, {splice}, {zero}}, at, 3, o.control);
    const SaeCode code = sae.run(x, T);
    // Features per token, L0, reconstruction error.
    std::vector<double> mean(static_cast<std::size_t>(c.d_in), 0.0);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t d = 0; d < c.d_in; ++d) mean[static_cast<std::size_t>(d)] += x[static_cast<std::size_t>(t * c.d_in + d)] / static_cast<double>(T);
    double l2 = 0, total = 0, l0 = 0;
    for (std::int64_t t = 0; t < T; ++t) {
        SaeTokenFeatures tf;
        const float* f = code.features.data() + t * c.d_sae;
        for (std::int64_t i = 0; i < c.d_sae; ++i)
            if (f[i] > 0) {
                ++tf.l0;
                tf.top.push_back({static_cast<int>(i), f[i]});
            }
        std::sort(tf.top.begin(), tf.top.end(), [](const ActiveFeature& a, const ActiveFeature& b) {
            return a.activation != b.activation ? a.activation > b.activation : a.feature < b.feature;
        });
        if (static_cast<int>(tf.top.size()) > o.top_k) tf.top.resize(static_cast<std::size_t>(o.top_k));
        double e2 = 0, v2 = 0;
        for (std::int64_t d = 0; d < c.d_in; ++d) {
            const auto k = static_cast<std::size_t>(t * c.d_in + d);
            const double e = static_cast<double>(x[k]) - code.reconstruction[k], v = x[k] - mean[static_cast<std::size_t>(d)];
            e2 += e * e;
            v2 += v * v;
        }
        tf.error_norm = std::sqrt(e2);
        l2 += e2 / static_cast<double>(T);
        total += v2 / static_cast<double>(T);
        l0 += tf.l0 / static_cast<double>(T);
        r.per_token.push_back(std::move(tf));
    }
    r.mean_l0 = l0;
    r.mse = l2 / static_cast<double>(c.d_in);
    r.variance_explained = total > 0 ? 1.0 - l2 / total : 0.0;  // one token: no variance to explain
    auto ce = [&](const TokenReadout& ro) {
        double s = 0;
        for (float lp : ro.log_probs) s -= lp;
        return ro.log_probs.empty() ? 0.0 : s / static_cast<double>(ro.log_probs.size());
    };
    r.ce_clean = ce(out[0]);
    r.ce_spliced = ce(out[1]);
    r.ce_zero = ce(out[2]);
    if (T > 1 && std::fabs(r.ce_zero - r.ce_clean) > 1e-9) r.ce_loss_score = (r.ce_zero - r.ce_spliced) / (r.ce_zero - r.ce_clean);
    if (!tid.empty()) {
        double clean = 0, spliced = 0;
        for (std::int64_t t = P - 1; t + 1 < T; ++t) clean += out[0].log_probs[static_cast<std::size_t>(t)], spliced += out[1].log_probs[static_cast<std::size_t>(t)];
        r.target_logprob = clean;
        r.target_logprob_spliced = spliced;
    }
    return r;
}

SaeAttribution sae_attribution(const LanguageModel& model, const SparseAutoencoder& sae, std::string_view prompt, std::string_view target,
                               std::string_view contrast, const SaeOptions& o) {
    check(model, sae);
    const CancelScope cancel_scope(o.control.cancel);
    const SaeConfig& c = sae.config();
    if (c.normalize_activations != "none")
        throw AttributionError(c.path + ": attribution through an SAE that normalizes its input (" + c.normalize_activations +
                               ") is not supported: the features then do not add up to the activation");
    if (o.steps < 1 || o.steps > kMaxGaussLegendreSteps) throw AttributionError("--steps must be 1 to " + std::to_string(kMaxGaussLegendreSteps));
    const Metric m = metric_of(model, prompt, target, contrast);
    SaeAttribution r;
    r.sae = c.path;
    r.hook = c.hook_name;
    r.prompt = std::string(prompt);
    r.target = m.in.target;
    r.contrast = std::string(contrast);
    r.metric = contrast.empty() ? "logprob" : "logit_diff";
    r.tokens = sequence_tokens(m.in, false);
    r.steps = o.steps;
    const HookRows rows{c};
    const auto T = static_cast<std::int64_t>(m.seq.size());
    const auto D = c.d_in;
    // Gradient at x, and at each point of the path b_dec + α (x − b_dec).
    auto gradient_at = [&](const std::vector<float>* replacement) {
        std::vector<Hook> writes;
        if (replacement) writes.push_back({c.point, [&](HookValue& v) { rows.write(v, *replacement); }, true, 0});
        auto g = model.hook_gradients(m.seq, nullptr, {c.point}, writes, m.terms, {});
        HookValue hv;
        hv.point = c.point;
        hv.shape = g.points[0].shape;
        hv.data = g.points[0].value.data();
        std::vector<float> value = rows.read(hv);
        hv.data = g.points[0].gradient.data();
        return std::tuple{g.metric, value, rows.read(hv)};
    };
    o.control.report(0, static_cast<std::size_t>(o.steps + 2), "points");
    auto [value, x, grad_x] = gradient_at(nullptr);
    r.value = value;
    const SaeCode code = sae.run(x, T);
    const std::vector<float> b_dec = sae.decoder_bias();
    std::vector<float> base(static_cast<std::size_t>(T * D));
    for (std::int64_t t = 0; t < T; ++t) std::copy(b_dec.begin(), b_dec.end(), base.begin() + t * D);
    r.baseline = std::get<0>(gradient_at(&base));
    o.control.report(2, static_cast<std::size_t>(o.steps + 2), "points");
    const Rule rule = quadrature_rule(Quadrature::GaussLegendre, o.steps);
    std::vector<double> G(static_cast<std::size_t>(T * D), 0.0);  // ∫ gradient dα along the path
    for (std::size_t j = 0; j < rule.alphas.size(); ++j) {
        std::vector<float> point(base.size());
        for (std::size_t k = 0; k < point.size(); ++k) point[k] = base[k] + static_cast<float>(rule.alphas[j]) * (x[k] - base[k]);
        auto g = std::get<2>(gradient_at(&point));
        for (std::size_t k = 0; k < G.size(); ++k) G[k] += rule.weights[j] * g[k];
        o.control.report(3 + j, static_cast<std::size_t>(o.steps + 2), "points");
    }
    // Active features and their decoder rows.
    std::vector<int> active;
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t i = 0; i < c.d_sae; ++i)
            if (code.features[static_cast<std::size_t>(t * c.d_sae + i)] != 0) active.push_back(static_cast<int>(i));
    std::sort(active.begin(), active.end());
    active.erase(std::unique(active.begin(), active.end()), active.end());
    // The direction a feature's activation multiplies in the reconstruction: W_dec[i], or W_dec[i] / ‖W_dec[i]‖ for a
    // topk SAE that rescales its activations by the decoder norms.
    std::vector<float> W = sae.decoder_rows(active);
    if (c.architecture == "topk" && c.rescale_acts_by_decoder_norm)
        for (std::size_t k = 0; k < active.size(); ++k) {
            float* w = W.data() + k * static_cast<std::size_t>(D);
            const double n = std::sqrt(dot(w, w, D));
            for (std::int64_t d = 0; d < D; ++d) w[d] = static_cast<float>(w[d] / n);
        }
    std::map<int, const float*> row_of;
    for (std::size_t k = 0; k < active.size(); ++k) row_of[active[k]] = W.data() + k * static_cast<std::size_t>(D);
    std::vector<float> Gf(G.begin(), G.end());
    std::vector<SaeContribution> features, errors;
    double total = 0;
    for (std::int64_t t = 0; t < T; ++t) {
        const float* gx = grad_x.data() + t * D;
        const float* gi = Gf.data() + t * D;
        for (std::int64_t i = 0; i < c.d_sae; ++i) {
            const float f = code.features[static_cast<std::size_t>(t * c.d_sae + i)];
            if (f == 0) continue;
            const float* w = row_of[static_cast<int>(i)];
            SaeContribution s{static_cast<int>(t), static_cast<int>(i), f, f * dot(gx, w, D), f * dot(gi, w, D)};
            total += s.integrated_gradients;
            features.push_back(s);
        }
        std::vector<float> e(static_cast<std::size_t>(D));
        for (std::int64_t d = 0; d < D; ++d) e[static_cast<std::size_t>(d)] = x[static_cast<std::size_t>(t * D + d)] - code.reconstruction[static_cast<std::size_t>(t * D + d)];
        SaeContribution err{static_cast<int>(t), -1, 0.0f, dot(gx, e.data(), D), dot(gi, e.data(), D)};
        r.error_total += err.integrated_gradients;
        total += err.integrated_gradients;
        errors.push_back(err);
    }
    // x − b_dec = Σ f W_dec + (x − x̂) exactly, so the parts add up to the path integral.
    r.delta = total - (r.value - r.baseline);
    std::sort(features.begin(), features.end(), [](const SaeContribution& a, const SaeContribution& b) {
        const double fa = std::fabs(a.integrated_gradients), fb = std::fabs(b.integrated_gradients);
        return fa != fb ? fa > fb : std::make_pair(a.position, a.feature) < std::make_pair(b.position, b.feature);
    });
    if (o.features >= 0 && static_cast<int>(features.size()) > o.features) features.resize(static_cast<std::size_t>(o.features));
    r.contributions = std::move(features);
    r.contributions.insert(r.contributions.end(), errors.begin(), errors.end());
    return r;
}

SaeIntervention sae_intervene(const LanguageModel& model, const SparseAutoencoder& sae, std::string_view prompt, std::string_view target,
                              std::string_view contrast, int feature, double value, const std::vector<int>& positions, const Control& control) {
    check(model, sae);
    const CancelScope cancel_scope(control.cancel);
    const SaeConfig& c = sae.config();
    if (feature < 0 || feature >= c.d_sae)
        throw AttributionError("--feature " + std::to_string(feature) + " is outside the SAE's 0.." + std::to_string(c.d_sae - 1));
    const Metric m = metric_of(model, prompt, target, contrast);
    const auto T = static_cast<int>(m.seq.size());
    for (int p : positions)
        if (p < 0 || p >= T) throw AttributionError("--positions: " + std::to_string(p) + " is outside the " + std::to_string(T) + " tokens run");
    SaeIntervention r;
    r.feature = feature;
    r.value = value;
    r.positions = positions;
    const HookRows rows{c};
    // x' = x + (value − f) W_dec[feature] at the chosen positions; the error and every other feature unchanged. With a
    // normalizing SAE the change is decoded (value − f in the normalized space, undone as the reconstruction is).
    const Hook set{c.point, [&](HookValue& v) {
        std::vector<float> x = rows.read(v);
        const auto n = static_cast<std::int64_t>(v.shape[0]);
        SaeCode code = sae.run(x, n);
        std::vector<float> changed = code.features;
        for (std::int64_t t = 0; t < n; ++t)
            if (positions.empty() || std::find(positions.begin(), positions.end(), static_cast<int>(t)) != positions.end())
                changed[static_cast<std::size_t>(t * c.d_sae + feature)] = static_cast<float>(value);
        const std::vector<float> moved = sae.decode(changed, x, n);
        for (std::size_t k = 0; k < x.size(); ++k) x[k] += moved[k] - code.reconstruction[k];
        rows.write(v, x);
    }, true, 0};
    std::vector<std::pair<int, std::int32_t>> at;
    for (const auto& t : m.terms) at.push_back({t.position, t.token});
    const auto out = model.run_hooked(m.seq, nullptr, {{}, {set}}, at, 2, control);
    auto F = [&](const TokenReadout& ro) {
        double s = 0;
        for (std::size_t k = 0; k < m.terms.size(); ++k) s += m.terms[k].weight * (m.terms[k].logit ? ro.logits[k] : ro.log_probs[k]);
        return s;
    };
    r.original = F(out[0]);
    r.changed = F(out[1]);
    return r;
}

Steering steer(const LanguageModel& model, const HookPoint& point, int head_index, const std::vector<float>& direction, double coefficient,
               std::string_view prompt, const GenerationOptions& generation, const std::string& what, const Control& control) {
    const CancelScope cancel_scope(control.cancel);
    if (point.kind == HookKind::Pattern) throw AttributionError("steering adds to activations, not to attention probabilities");
    if (point.layer < 0 || point.layer >= model.info().layers)
        throw AttributionError(point.name() + ": the model has " + std::to_string(model.info().layers) + " layers");
    const auto& info = model.info();
    const std::int64_t width = point.kind == HookKind::Z ? (head_index >= 0 ? info.head_dim : info.heads * info.head_dim) : info.hidden_size;
    if (static_cast<std::int64_t>(direction.size()) != width)
        throw AttributionError("the steering direction has " + std::to_string(direction.size()) + " values; " + point.name() + " of this model has width " +
                               std::to_string(width));
    Steering r;
    r.hook = point.name();
    r.what = what;
    r.head_index = head_index;
    r.coefficient = coefficient;
    r.prompt = std::string(prompt);
    SaeConfig c;  // the rows of the hook, as an SAE of this width reads them
    c.point = point;
    c.hook_name = point.name();
    c.hook_head_index = head_index;
    c.d_in = width;
    const HookRows rows{c};
    const Hook add{point, [&](HookValue& v) {
        std::vector<float> x = rows.read(v);
        for (std::size_t k = 0; k < x.size(); ++k) x[k] += static_cast<float>(coefficient) * direction[k % direction.size()];
        rows.write(v, x);
    }, true, 0};
    const GenerationResult plain = model.generate(prompt, generation);
    control.check();
    GenerationOptions steered_options = generation;
    steered_options.hooks = {add};
    const GenerationResult steered = model.generate(prompt, steered_options);
    r.plain = plain.text;
    r.steered = steered.text;
    r.plain_stop = plain.stop_reason;
    r.steered_stop = steered.stop_reason;
    // The steered tokens under the model as it is and as steered: one pass each over prompt + continuation.
    std::vector<std::int32_t> ids(steered.prompt_tokens.begin(), steered.prompt_tokens.end());
    std::vector<std::pair<int, std::int32_t>> at;
    for (const auto& t : steered.tokens) {
        at.push_back({static_cast<int>(ids.size()) - 1, t.id});
        ids.push_back(t.id);
        r.steered_tokens.push_back(Token{t.id, t.text, -1, -1});
    }
    if (!at.empty()) {
        ids.pop_back();  // the last token is predicted, not read
        const auto out = model.run_hooked(ids, nullptr, {{}, {add}}, at, 2, control);
        r.logprob_plain.assign(out[0].log_probs.begin(), out[0].log_probs.end());
        r.logprob_steered.assign(out[1].log_probs.begin(), out[1].log_probs.end());
    }
    return r;
}

std::vector<float> read_direction(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw AttributionError(path + ": cannot be read");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::vector<float> out;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array() || j.empty()) throw AttributionError(path + ": a direction is a JSON array of numbers");
    for (std::size_t k = 0; k < j.size(); ++k) {
        if (!j[k].is_number() || !std::isfinite(j[k].get<double>())) throw AttributionError(path + ": entry " + std::to_string(k) + " is not a finite number");
        out.push_back(j[k].get<float>());
    }
    return out;
}

}  // namespace lmwb::attr
