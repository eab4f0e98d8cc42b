#include <cmath>
#include <limits>
#include <map>

#include "circuit_inputs.h"
#include "lmwb/circuits.h"
#include "lmwb/model.h"

namespace lmwb::attr {

namespace {

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    double mx = 0, my = 0, n = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (std::isfinite(x[i]) && std::isfinite(y[i])) mx += x[i], my += y[i], n += 1;
    if (n < 2) return std::numeric_limits<double>::quiet_NaN();
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (std::isfinite(x[i]) && std::isfinite(y[i])) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

AttributionPatching attribution_patching(const LanguageModel& m, std::string_view prompt, std::string_view target, const PatchingOptions& o,
                                         bool exact) {
    CancelScope cancel_scope(o.control.cancel);
    AttributionPatching out;
    PatchingResult& r = out.exact;
    const CircuitInputs in = circuit_inputs(m, prompt, target, o.contrast);
    if (o.sites.empty()) throw AttributionError("--sites: no site to patch");
    std::vector<std::int32_t> seq = in.pid;
    seq.insert(seq.end(), in.tid.begin(), in.tid.end() - 1);
    const int P = static_cast<int>(in.pid.size()), T = static_cast<int>(seq.size());
    if (exact) {
        r = activation_patching(m, prompt, target, o);
    } else {
        r.prompt = std::string(prompt);
        r.target = in.target;
        r.contrast = o.contrast;
        r.metric = o.contrast.empty() ? "logprob" : "logit_diff";
        r.target_tokens = in.target_tokens;
        r.contrast_tokens = in.foil_tokens;
        r.tokens = in.prompt_tokens;
        for (std::size_t k = 0; k + 1 < in.tid.size(); ++k) {
            Token t = in.target_tokens[k];
            t.start = t.end = -1;
            r.tokens.push_back(t);
        }
        r.positions = o.positions;
        if (r.positions.empty())
            for (int p = 0; p < T; ++p) r.positions.push_back(p);
        for (int p : r.positions)
            if (p < 0 || p >= T) throw AttributionError("--positions: position " + std::to_string(p) + " is outside the run's " + std::to_string(T) + " tokens");
        r.layers = static_cast<int>(m.info().layers);
        r.heads = static_cast<int>(m.info().heads);
    }
    PatchingResult scratch;
    const CorruptedRun corrupted = corrupted_run(m, o, seq, P, exact ? scratch : r);
    const std::vector<MetricTerm> terms = metric_terms(in);
    std::vector<HookPoint> points;
    for (Site s : o.sites)
        for (int l = 0; l < r.layers; ++l) points.push_back({l, hook_kind(s)});

    // The clean run's values, read in one pass, and its F.
    std::map<HookPoint, std::vector<float>> clean;
    std::vector<Hook> readers;
    for (const auto& p : points)
        readers.push_back({p, [&clean, p](HookValue& v) {
            std::size_t n = 1;
            for (auto d : v.shape) n *= static_cast<std::size_t>(d);
            clean[p].assign(v.data, v.data + n);
        }, false, 0});
    std::vector<std::pair<int, std::int32_t>> at;
    for (const auto& t : terms) at.push_back({t.position, t.token});
    const auto readout = m.run_hooked(seq, nullptr, {readers}, at, 1, o.control)[0];
    double clean_f = 0;
    for (std::size_t k = 0; k < terms.size(); ++k) clean_f += terms[k].weight * (terms[k].logit ? readout.logits[k] : readout.log_probs[k]);
    // The corrupted run's values and gradients.
    const HookGradients g = m.hook_gradients(corrupted.seq, corrupted.input(), points, {}, terms, o.control);
    if (!exact) r.clean = clean_f, r.corrupted = g.metric;
    const double span = r.clean - r.corrupted;
    std::size_t k = 0;
    for (Site s : o.sites) {
        PatchingGrid e;
        e.site = s;
        e.rows = r.layers;
        e.columns = s == Site::Heads ? r.heads : static_cast<int>(r.positions.size());
        e.metric.assign(static_cast<std::size_t>(e.rows * e.columns), 0.0);
        for (int l = 0; l < r.layers; ++l, ++k) {
            const HookGradient& hg = g.points[k];
            const std::vector<float>& a = clean.at(hg.point);
            // Per position (shape [T][X...]); a head: [T][heads][head_dim], every position.
            const std::size_t per_position = hg.value.size() / static_cast<std::size_t>(T);
            for (int c = 0; c < e.columns; ++c) {
                double sum = 0;
                if (s == Site::Heads) {
                    const std::size_t hd = per_position / static_cast<std::size_t>(r.heads);
                    for (int p = 0; p < T; ++p)
                        for (std::size_t d = 0; d < hd; ++d) {
                            const std::size_t i = static_cast<std::size_t>(p) * per_position + static_cast<std::size_t>(c) * hd + d;
                            sum += (static_cast<double>(a[i]) - hg.value[i]) * hg.gradient[i];
                        }
                } else {
                    const std::size_t p = static_cast<std::size_t>(r.positions[static_cast<std::size_t>(c)]);
                    for (std::size_t d = 0; d < per_position; ++d) {
                        const std::size_t i = p * per_position + d;
                        sum += (static_cast<double>(a[i]) - hg.value[i]) * hg.gradient[i];
                    }
                }
                e.metric[static_cast<std::size_t>(l * e.columns + c)] = r.corrupted + sum;
            }
        }
        for (double v : e.metric) e.recovered.push_back(span != 0 ? (v - r.corrupted) / span : std::numeric_limits<double>::quiet_NaN());
        if (exact) out.correlation.push_back(pearson(e.recovered, r.grid(s)->recovered));
        out.estimates.push_back(std::move(e));
    }
    return out;
}

}  // namespace lmwb::attr
