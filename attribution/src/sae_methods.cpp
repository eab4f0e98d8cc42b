#include "lmwb/sae_methods.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "circuit_inputs.h"
#include "utf8.h"

#include <unistd.h>

namespace lmwb::attr {

namespace {

// The SAE's rows of a hook value: [T][d_in], a head's slice of attn.hook_z ([T][heads][head_dim]) or all heads.
struct Rows {
    const SaeConfig& c;
    std::int64_t width(const HookValue& v) const { return c.point.kind == HookKind::Z ? v.shape[1] * v.shape[2] : v.shape[1]; }
    std::int64_t offset() const { return c.hook_head_index >= 0 ? c.hook_head_index * c.d_in : 0; }
    std::vector<float> read(const HookValue& v) const {
        const std::int64_t T = v.shape[0], W = width(v);
        if (c.hook_head_index < 0 && W != c.d_in)
            throw AttributionError(c.hook_name + " has width " + std::to_string(W) + " in this model, the SAE's d_in is " + std::to_string(c.d_in));
        std::vector<float> out(static_cast<std::size_t>(T * c.d_in));
        for (std::int64_t t = 0; t < T; ++t)
            std::copy_n(v.data + t * W + offset(), c.d_in, out.begin() + t * c.d_in);
        return out;
    }
    void write(HookValue& v, const std::vector<float>& rows) const {
        const std::int64_t T = v.shape[0], W = width(v);
        for (std::int64_t t = 0; t < T; ++t) std::copy_n(rows.begin() + t * c.d_in, c.d_in, v.data + t * W + offset());
    }
};

void check(const LanguageModel& model, const SparseAutoencoder& sae) {
    try {
        sae.check_fits(model.info());
    } catch (const SaeError& e) {
        throw AttributionError(e.what());
    }
}

double dot(const float* a, const float* b, std::int64_t n) {
    double s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return s;
}

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
    const int P = static_cast<int>(m.in.pid.size());
    m.seq = m.in.pid;
    m.seq.insert(m.seq.end(), m.in.tid.begin(), m.in.tid.end() - 1);
    if (contrast.empty()) {
        for (std::size_t k = 0; k < m.in.tid.size(); ++k) m.terms.push_back({P - 1 + static_cast<int>(k), m.in.tid[k], 1.0, false});
    } else {
        m.terms.push_back({P - 1, m.in.tid[0], 1.0, true});
        m.terms.push_back({P - 1, m.in.fid[0], -1.0, true});
    }
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
    const Rows rows{c};
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
    const Rows rows{c};
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
    const Rows rows{c};
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
    const Rows rows{c};
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

namespace {

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// What a dashboard depends on, as a cache file name: the model's and SAE's files (path, size, time), the corpus's
// texts, the feature and the options that shape the result.
std::string dashboard_key(const LanguageModel& model, const SparseAutoencoder& sae, int feature,
                          const std::vector<std::pair<std::string, std::string>>& texts, const DashboardOptions& o) {
    std::uint64_t h = 1469598103934665603ull;
    auto file = [&](const std::string& path) {
        std::error_code ec;
        h = fnv1a(h, path);
        h = fnv1a(h, std::to_string(std::filesystem::file_size(path, ec)));
        h = fnv1a(h, std::to_string(std::filesystem::last_write_time(path, ec).time_since_epoch().count()));
    };
    for (const auto& f : model.info().weight_files) file(f);
    file(sae.config().path);
    for (const char* part : {"cfg.json", "sae_weights.safetensors"}) file(sae.config().path + "/" + part);
    h = fnv1a(h, sae.config().hook_name);
    for (const auto& [source, text] : texts) h = fnv1a(fnv1a(h, source), text), h = fnv1a(h, "\x1f");
    h = fnv1a(h, std::to_string(feature) + "/" + std::to_string(o.top_contexts) + "/" + std::to_string(o.bins) + "/" + std::to_string(o.logit_tokens));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

std::filesystem::path dashboard_cache_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) return std::filesystem::path(xdg) / "lmwb" / "sae";
    return home && *home ? std::filesystem::path(home) / ".cache" / "lmwb" / "sae" : std::filesystem::path();
}

}  // namespace

FeatureDashboard feature_dashboard(const LanguageModel& model, const SparseAutoencoder& sae, int feature,
                                   const std::vector<std::pair<std::string, std::string>>& texts, const std::string& corpus_name,
                                   const DashboardOptions& o) {
    check(model, sae);
    const CancelScope cancel_scope(o.control.cancel);
    const SaeConfig& c = sae.config();
    if (feature < 0 || feature >= c.d_sae) throw AttributionError("--feature " + std::to_string(feature) + " is outside the SAE's 0.." + std::to_string(c.d_sae - 1));
    if (o.top_contexts < 1 || o.bins < 1 || o.logit_tokens < 0) throw AttributionError("a dashboard needs at least one context and one bin");
    if (texts.empty()) throw AttributionError("the corpus has no texts");
    const std::filesystem::path cache_dir = dashboard_cache_dir();
    const std::filesystem::path cached = cache_dir.empty() ? std::filesystem::path() : cache_dir / (dashboard_key(model, sae, feature, texts, o) + ".json");
    if (o.use_cache && !cached.empty()) {
        std::ifstream in(cached);
        if (in) {
            try {
                FeatureDashboard d = feature_dashboard_from_json(std::string((std::istreambuf_iterator<char>(in)), {}));
                d.from_cache = true;
                return d;
            } catch (const std::exception&) {
                // a damaged cache entry: computed again below
            }
        }
    }
    FeatureDashboard d;
    d.sae = c.path;
    d.hook = c.hook_name;
    d.corpus = corpus_name;
    d.feature = feature;
    const Rows rows{c};
    std::vector<float> all;  // every token's activation, for the histogram
    for (std::size_t k = 0; k < texts.size(); ++k) {
        o.control.check();
        o.control.report(k, texts.size(), "texts");
        DashboardContext ctx;
        ctx.source = texts[k].first;
        std::vector<std::int32_t> ids;
        ctx.tokens = prompt_tokens(model.tokenizer(), texts[k].second, ids);
        if (ids.empty()) continue;
        if (static_cast<std::int64_t>(ids.size()) > model.info().context_length) {  // its first context's worth
            ids.resize(static_cast<std::size_t>(model.info().context_length));
            ctx.tokens.resize(ids.size());
        }
        std::vector<float> x;
        const Hook reader{c.point, [&](HookValue& v) { x = rows.read(v); }, false, 0};
        model.run_hooked(ids, nullptr, {{reader}}, {}, 1, o.control);
        const auto T = static_cast<std::int64_t>(ids.size());
        const SaeCode code = sae.run(x, T);
        for (std::int64_t t = 0; t < T; ++t) {
            const float a = code.features[static_cast<std::size_t>(t * c.d_sae + feature)];
            ctx.activations.push_back(a);
            if (a > ctx.max_activation) ctx.max_activation = a, ctx.peak = static_cast<int>(t);
            if (a > 0) all.push_back(a), ++d.active_tokens;
        }
        d.tokens += static_cast<std::size_t>(T);
        ++d.texts;
        if (ctx.max_activation > 0) d.top.push_back(std::move(ctx));
    }
    o.control.report(texts.size(), texts.size(), "texts");
    std::stable_sort(d.top.begin(), d.top.end(), [](const DashboardContext& a, const DashboardContext& b) { return a.max_activation > b.max_activation; });
    if (static_cast<int>(d.top.size()) > o.top_contexts) d.top.resize(static_cast<std::size_t>(o.top_contexts));
    const double hi = all.empty() ? 1.0 : *std::max_element(all.begin(), all.end());
    for (int b = 0; b <= o.bins; ++b) d.histogram_edges.push_back(hi * b / o.bins);
    d.histogram_counts.assign(static_cast<std::size_t>(o.bins), 0);
    for (float a : all) ++d.histogram_counts[std::min<std::size_t>(static_cast<std::size_t>(a / hi * o.bins), static_cast<std::size_t>(o.bins - 1))];
    // Logit effect: the decoder direction in the residual stream (hook_z: through each head's W_O), times the final
    // norm's scale, against every unembedding row, a block of tokens at a time.
    std::vector<float> dir = sae.decoder_rows({feature});
    const auto D = model.info().hidden_size;
    if (c.point.kind == HookKind::Z) {
        const auto w_o = model.weights("blocks." + std::to_string(c.point.layer) + ".attn.W_O");  // [heads][head_dim][hidden]
        const auto hd = model.info().head_dim;
        std::vector<float> resid(static_cast<std::size_t>(D), 0.0f);
        const std::int64_t first_head = c.hook_head_index >= 0 ? c.hook_head_index : 0;
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(dir.size()); ++i) {
            const std::int64_t h = first_head + i / hd, k = i % hd;
            for (std::int64_t j = 0; j < D; ++j) resid[static_cast<std::size_t>(j)] += dir[static_cast<std::size_t>(i)] * w_o[static_cast<std::size_t>((h * hd + k) * D + j)];
        }
        dir = resid;
    }
    const auto scale = model.weights("ln_final.w");
    for (std::int64_t j = 0; j < D; ++j) dir[static_cast<std::size_t>(j)] *= scale[static_cast<std::size_t>(j)];
    std::vector<std::pair<std::int32_t, double>> effect;
    const auto V = static_cast<std::int32_t>(model.info().vocab_size);
    for (std::int32_t first = 0; first < V; first += 4096) {
        std::vector<std::int32_t> block;
        for (std::int32_t v = first; v < std::min(V, first + 4096); ++v) block.push_back(v);
        const auto u = model.weights("unembed.W_U", block);
        for (std::size_t r = 0; r < block.size(); ++r) effect.push_back({block[r], dot(u.data() + r * static_cast<std::size_t>(D), dir.data(), D)});
    }
    std::stable_sort(effect.begin(), effect.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(o.logit_tokens), effect.size());
    auto token = [&](std::int32_t id) { return Token{id, model.tokenizer().decode({id}), -1, -1}; };
    for (std::size_t k = 0; k < n; ++k) d.promoted.push_back({token(effect[k].first), effect[k].second});
    for (std::size_t k = 0; k < n; ++k) d.suppressed.push_back({token(effect[effect.size() - 1 - k].first), effect[effect.size() - 1 - k].second});
    if (o.use_cache && !cached.empty()) {
        // Atomically: a reader sees the old entry, the new one, or none.
        std::error_code ec;
        std::filesystem::create_directories(cache_dir, ec);
        const auto tmp = cached.string() + ".tmp" + std::to_string(::getpid());
        if (!ec && (std::ofstream(tmp) << to_json_text(d, -1))) std::filesystem::rename(tmp, cached, ec);
        if (ec) std::filesystem::remove(tmp, ec);
    }
    return d;
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
