#include <cmath>

#include <nlohmann/json.hpp>

#include "lmwb/attribution.h"
#include "lmwb/circuits.h"
#include "lmwb/sae_methods.h"

namespace lmwb::attr {

using nlohmann::json;

namespace {

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json tokens_json(const std::vector<Token>& tokens) {
    json a = json::array();
    for (const auto& t : tokens) a.push_back({{"id", t.id}, {"text", t.text}, {"start", t.start}, {"end", t.end}});
    return a;
}

json spans_json(const std::vector<Span>& spans) {
    json a = json::array();
    for (const auto& s : spans)
        a.push_back({{"text", s.text}, {"first_token", s.first}, {"last_token", s.last}, {"start", s.start}, {"end", s.end}, {"score", s.score}});
    return a;
}

json rows(const std::vector<double>& flat, std::size_t cols) {
    json a = json::array();
    for (std::size_t r = 0; cols && r < flat.size() / cols; ++r)
        a.push_back(std::vector<double>(flat.begin() + static_cast<std::ptrdiff_t>(r * cols), flat.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols)));
    return a;
}

std::string dump(const json& j, int indent) { return j.dump(indent, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace

std::string to_json_text(const Result& r, int indent) {
    json j = {{"schema", "lmwb.attribution"}, {"schema_version", 1}, {"method", r.method}, {"details", r.details},
              {"prompt", r.prompt}, {"target", r.target}, {"prompt_tokens", tokens_json(r.prompt_tokens)},
              {"target_tokens", tokens_json(r.target_tokens)}, {"token_attr", rows(r.matrix, r.prompt_tokens.size())},
              {"seq_attr", r.scores}, {"words", spans_json(r.words)}, {"target_logprob", r.target_logprob},
              {"target_token_logprobs", r.target_token_logprobs}, {"baseline_logprob", number(r.baseline_logprob)},
              {"delta", number(r.delta)}, {"evaluations", r.evaluations}, {"warnings", r.warnings}};
    if (!r.spans.empty()) j["spans"] = spans_json(r.spans);
    if (!r.contrast.empty()) {  // F = log p(target) − log p(contrast); token_attr rows: target tokens, then the foil's
        j["contrast"] = r.contrast;
        j["contrast_tokens"] = tokens_json(r.contrast_tokens);
    }
    if (!r.attention.empty()) {
        j["tokens"] = tokens_json(r.tokens);
        j["attention"] = rows(r.attention, r.tokens.size());
        j["layer"] = r.layer;
        j["head"] = r.head;
    }
    return dump(j, indent);
}

std::string to_json_text(const AttentionMaps& m, int indent) {
    const bool full = m.display == 0;  // else the maps come in display cells of `block` tokens
    const std::size_t N = full ? static_cast<std::size_t>(m.length) : static_cast<std::size_t>(m.display), NN = N * N;
    json layers = json::array();
    for (int l = 0; l < m.layers; ++l) {
        auto slice = [&](const std::vector<float>& v) {
            const auto at = v.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l) * NN);
            return rows(std::vector<double>(at, at + static_cast<std::ptrdiff_t>(NN)), N);
        };
        layers.push_back({{"layer", l}, {"head_mean", slice(full ? m.head_mean : m.mean_display)}, {"head_max", slice(full ? m.head_max : m.max_display)}});
    }
    json j = {{"schema", "lmwb.attention"}, {"schema_version", 1}, {"tokens", tokens_json(m.tokens)}, {"layers", layers}, {"heads", m.heads}};
    if (!full) j["block"] = m.block;
    if (!m.rollout.empty()) j["rollout"] = rows(m.rollout, static_cast<std::size_t>(m.length));
    if (!m.selected.empty()) j["selected"] = rows(std::vector<double>(m.selected.begin(), m.selected.end()), static_cast<std::size_t>(m.length));
    return dump(j, indent);
}

std::string to_json_text(const LogitLens& lens, int indent) {
    json rows = json::array();
    for (int r = 0; r < lens.rows; ++r) {
        json cells = json::array();
        for (int p = 0; p < lens.length; ++p) {
            const LensCell& c = lens.at(r, p);
            json top = json::array();
            for (std::size_t i = 0; i < c.top_ids.size(); ++i) top.push_back({{"id", c.top_ids[i]}, {"text", c.top_tokens[i]}, {"prob", c.top_probs[i]}});
            json cell = {{"top", top}, {"kl_to_final", c.kl_to_final}};
            if (c.target_rank > 0) cell["target_logprob"] = c.target_logprob, cell["target_rank"] = c.target_rank;
            cells.push_back(cell);
        }
        rows.push_back({{"row", r}, {"after", r == 0 ? json("embeddings") : json(r - 1)}, {"positions", cells}});
    }
    json j = {{"schema", "lmwb.logit_lens"}, {"schema_version", 1}, {"tokens", tokens_json(lens.tokens)}, {"targets", lens.targets}, {"rows", rows}};
    return dump(j, indent);
}

std::string to_json_text(const HeadSummaries& s, int indent) {
    json heads = json::array();
    for (const auto& h : s.heads)
        heads.push_back({{"layer", h.layer}, {"head", h.head}, {"entropy", h.entropy}, {"first_token", h.first_token},
                         {"previous_token", h.previous_token}, {"induction", h.induction}});
    return dump(json{{"schema", "lmwb.heads"}, {"schema_version", 1}, {"layers", s.layers}, {"heads_per_layer", s.heads_per_layer},
                     {"length", s.length}, {"heads", heads}, {"induction_tokens", s.induction_tokens}},
                indent);
}

std::string to_json_text(const UncertaintyResult& r, int indent) {
    json greedy = json::array();
    for (const auto& s : r.greedy) {
        json alts = json::array();
        for (const auto& [t, lp] : s.alternatives) alts.push_back({{"text", t}, {"logprob", lp}});
        greedy.push_back({{"text", s.text}, {"logprob", s.logprob}, {"entropy", s.entropy}, {"alternatives", alts}});
    }
    json samples = json::array();
    for (const auto& s : r.samples)
        samples.push_back({{"text", s.text}, {"normalized", s.normalized}, {"logprob", s.logprob}, {"cluster", s.cluster}});
    json answers = json::array();
    for (const auto& a : r.answers) answers.push_back({{"answer", a.answer}, {"count", a.count}, {"probability", a.probability}});
    json j = {{"schema", "lmwb.uncertainty"}, {"schema_version", 1}, {"prompt", r.prompt}, {"greedy_text", r.greedy_text},
              {"greedy", greedy}, {"samples", samples}, {"answers", answers}, {"predictive_entropy", r.predictive_entropy},
              {"self_consistency", r.self_consistency}, {"semantic_entropy", r.semantic_entropy},
              {"discrete_semantic_entropy", r.discrete_semantic_entropy}, {"clusters", r.clusters}, {"truncated", r.truncated}};
    return dump(j, indent);
}

std::string to_json_text(const PatchingResult& r, int indent) {
    json grids = json::array();
    for (const auto& g : r.grids) {
        json rec = json::array();
        for (int row = 0; row < g.rows; ++row) {
            json cells = json::array();
            for (int c = 0; c < g.columns; ++c) cells.push_back(number(g.at(row, c)));
            rec.push_back(cells);
        }
        grids.push_back({{"site", to_string(g.site)}, {"rows", "layer"}, {"columns", g.site == Site::Heads ? "head" : "position"},
                         {"recovered", rec}, {"metric", rows(g.metric, static_cast<std::size_t>(g.columns))}});
    }
    json j = {{"schema", "lmwb.patching"}, {"schema_version", 1}, {"prompt", r.prompt}, {"target", r.target},
              {"metric", r.metric}, {"tokens", tokens_json(r.tokens)}, {"target_tokens", tokens_json(r.target_tokens)},
              {"positions", r.positions}, {"layers", r.layers}, {"heads", r.heads}, {"clean", r.clean},
              {"corrupted", r.corrupted}, {"runs", r.runs}, {"grids", grids}};
    if (!r.corrupted_prompt.empty()) {
        j["corrupted_prompt"] = r.corrupted_prompt;
        j["corrupted_tokens"] = tokens_json(r.corrupted_tokens);
    } else {
        j["noise"] = {{"positions", r.noise_positions}, {"std", r.noise_std}};
    }
    if (!r.contrast.empty()) j["contrast"] = r.contrast, j["contrast_tokens"] = tokens_json(r.contrast_tokens);
    return dump(j, indent);
}

std::string to_json_text(const AttributionPatching& r, int indent) {
    json j = json::parse(to_json_text(r.exact, -1));
    j["schema"] = "lmwb.attribution_patching";
    j["exact"] = !r.exact.grids.empty();
    json estimates = json::array();
    for (std::size_t s = 0; s < r.estimates.size(); ++s) {
        const auto& g = r.estimates[s];
        json rec = json::array();
        for (int row = 0; row < g.rows; ++row) {
            json cells = json::array();
            for (int c = 0; c < g.columns; ++c) cells.push_back(number(g.at(row, c)));
            rec.push_back(cells);
        }
        json e = {{"site", to_string(g.site)}, {"rows", "layer"}, {"columns", g.site == Site::Heads ? "head" : "position"}, {"recovered", rec},
                  {"metric", rows(g.metric, static_cast<std::size_t>(g.columns))}};
        if (s < r.correlation.size()) e["correlation"] = number(r.correlation[s]);
        estimates.push_back(e);
    }
    j["estimates"] = estimates;
    return dump(j, indent);
}

std::string to_json_text(const DirectLogitAttribution& r, int indent) {
    auto token = [](const Token& t) { return json{{"id", t.id}, {"text", t.text}}; };
    json j = {{"schema", "lmwb.direct_logit"}, {"schema_version", 1}, {"prompt", r.prompt}, {"target", r.target},
              {"tokens", tokens_json(r.tokens)}, {"position", r.position}, {"target_token", token(r.target_token)},
              {"embed", r.embed}, {"attention", r.attention}, {"mlp", r.mlp}, {"norm_bias", r.norm_bias},
              {"sum", r.sum}, {"total", r.total}, {"gap", r.gap}, {"softcap", r.softcap}};
    if (!r.head_values.empty()) {
        j["heads"] = rows(r.head_values, static_cast<std::size_t>(r.heads));
        j["attention_bias"] = r.attention_bias;
    } else {
        j["heads_note"] = r.heads_note;
    }
    if (!r.contrast.empty()) j["contrast"] = r.contrast, j["contrast_token"] = token(r.contrast_token);
    return dump(j, indent);
}

std::string to_json_text(const GenerationAttribution& r, int indent) {
    json j = {{"schema", "lmwb.generation_attribution"}, {"schema_version", 1}, {"method", r.method}, {"details", r.details},
              {"prompt", r.prompt}, {"continuation", r.continuation}, {"prompt_tokens", tokens_json(r.prompt_tokens)},
              {"generated_tokens", tokens_json(r.generated_tokens)}, {"token_attr", rows(r.matrix, r.columns())},
              {"token_logprobs", r.token_logprobs}, {"evaluations", r.evaluations}};
    if (!r.deltas.empty()) j["baseline_logprobs"] = r.baseline_logprobs, j["deltas"] = r.deltas;
    return dump(j, indent);
}

std::string to_json_text(const SaeFeatures& r, int indent) {
    json per = json::array();
    for (const auto& t : r.per_token) {
        json top = json::array();
        for (const auto& f : t.top) top.push_back({{"feature", f.feature}, {"activation", f.activation}});
        per.push_back({{"l0", t.l0}, {"error_norm", number(t.error_norm)}, {"top", top}});
    }
    json j = {{"schema", "lmwb.sae_features"}, {"schema_version", 1}, {"sae", r.sae}, {"hook", r.hook}, {"d_sae", r.d_sae},
              {"prompt", r.prompt}, {"target", r.target}, {"tokens", tokens_json(r.tokens)}, {"per_token", per},
              {"mean_l0", number(r.mean_l0)}, {"variance_explained", number(r.variance_explained)}, {"mse", number(r.mse)},
              {"ce_clean", number(r.ce_clean)}, {"ce_spliced", number(r.ce_spliced)}, {"ce_zero", number(r.ce_zero)},
              {"ce_loss_score", r.ce_loss_score ? number(*r.ce_loss_score) : json(nullptr)}};
    if (r.target_logprob) j["target_logprob"] = number(*r.target_logprob), j["target_logprob_spliced"] = number(*r.target_logprob_spliced);
    return dump(j, indent);
}

std::string to_json_text(const SaeAttribution& r, int indent) {
    json parts = json::array();
    for (const auto& c : r.contributions)
        parts.push_back({{"position", c.position}, {"feature", c.feature < 0 ? json("error") : json(c.feature)}, {"activation", c.activation},
                         {"gradient_x_activation", number(c.gradient_x_activation)}, {"integrated_gradients", number(c.integrated_gradients)}});
    json j = {{"schema", "lmwb.sae_attribution"}, {"schema_version", 1}, {"sae", r.sae}, {"hook", r.hook}, {"prompt", r.prompt},
              {"target", r.target}, {"metric", r.metric}, {"tokens", tokens_json(r.tokens)}, {"value", number(r.value)},
              {"baseline", number(r.baseline)}, {"delta", number(r.delta)}, {"error_total", number(r.error_total)}, {"steps", r.steps},
              {"contributions", parts}};
    if (!r.contrast.empty()) j["contrast"] = r.contrast;
    return dump(j, indent);
}

std::string to_json_text(const SaeIntervention& r, int indent) {
    json j = {{"schema", "lmwb.sae_intervention"}, {"schema_version", 1}, {"feature", r.feature}, {"value", r.value},
              {"positions", r.positions}, {"original", number(r.original)}, {"changed", number(r.changed)},
              {"effect", number(r.changed - r.original)}};
    return dump(j, indent);
}

std::string to_json_text(const Steering& r, int indent) {
    json j = {{"schema", "lmwb.steering"}, {"schema_version", 1}, {"hook", r.hook}, {"what", r.what}, {"coefficient", r.coefficient},
              {"prompt", r.prompt}, {"plain", r.plain}, {"steered", r.steered}, {"plain_stop", r.plain_stop}, {"steered_stop", r.steered_stop},
              {"steered_tokens", tokens_json(r.steered_tokens)}, {"logprob_plain", r.logprob_plain}, {"logprob_steered", r.logprob_steered}};
    if (r.head_index >= 0) j["head_index"] = r.head_index;
    return dump(j, indent);
}

std::string to_json_text(const FeatureDashboard& r, int indent) {
    json top = json::array();
    for (const auto& c : r.top)
        top.push_back({{"source", c.source}, {"tokens", tokens_json(c.tokens)}, {"activations", c.activations}, {"peak", c.peak},
                       {"max_activation", c.max_activation}});
    auto effect = [](const std::vector<std::pair<Token, double>>& list) {
        json a = json::array();
        for (const auto& [t, v] : list) a.push_back({{"id", t.id}, {"text", t.text}, {"effect", number(v)}});
        return a;
    };
    json j = {{"schema", "lmwb.sae_dashboard"}, {"schema_version", 1}, {"sae", r.sae}, {"hook", r.hook}, {"corpus", r.corpus},
              {"feature", r.feature}, {"texts", r.texts}, {"tokens", r.tokens}, {"active_tokens", r.active_tokens},
              {"density", r.tokens ? number(static_cast<double>(r.active_tokens) / static_cast<double>(r.tokens)) : json(nullptr)},
              {"top", top}, {"histogram", {{"edges", r.histogram_edges}, {"counts", r.histogram_counts}}},
              {"promoted", effect(r.promoted)}, {"suppressed", effect(r.suppressed)}};
    return dump(j, indent);
}

FeatureDashboard feature_dashboard_from_json(const std::string& text) {
    const json j = json::parse(text);
    if (j.at("schema") != "lmwb.sae_dashboard") throw AttributionError("not an lmwb.sae_dashboard");
    FeatureDashboard d;
    d.sae = j.at("sae");
    d.hook = j.at("hook");
    d.corpus = j.at("corpus");
    d.feature = j.at("feature");
    d.texts = j.at("texts");
    d.tokens = j.at("tokens");
    d.active_tokens = j.at("active_tokens");
    auto tokens = [](const json& a) {
        std::vector<Token> out;
        for (const auto& t : a) out.push_back({t.at("id"), t.at("text"), t.at("start"), t.at("end")});
        return out;
    };
    for (const auto& c : j.at("top"))
        d.top.push_back({c.at("source"), tokens(c.at("tokens")), c.at("activations").get<std::vector<float>>(), c.at("peak"), c.at("max_activation")});
    d.histogram_edges = j.at("histogram").at("edges").get<std::vector<double>>();
    d.histogram_counts = j.at("histogram").at("counts").get<std::vector<std::size_t>>();
    for (const char* which : {"promoted", "suppressed"})
        for (const auto& e : j.at(which))
            (std::string(which) == "promoted" ? d.promoted : d.suppressed).push_back({Token{e.at("id"), e.at("text"), -1, -1}, e.at("effect").is_null() ? 0.0 : e.at("effect").get<double>()});
    return d;
}

}  // namespace lmwb::attr
