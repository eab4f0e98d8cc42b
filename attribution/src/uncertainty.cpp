#include <algorithm>
#include <cmath>
#include <map>

#include "lmwb/attribution.h"
#include "lmwb/model.h"

namespace lmwb::attr {

namespace {

double logsumexp(const std::vector<double>& v) {
    if (v.empty()) return -INFINITY;
    double m = *std::max_element(v.begin(), v.end()), s = 0;
    for (double x : v) s += std::exp(x - m);
    return m + std::log(s);
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) d += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
    return na > 0 && nb > 0 ? d / std::sqrt(na * nb) : 0;
}

}  // namespace

std::string normalize_answer(std::string_view text) {
    std::string out;
    bool space = false;
    for (unsigned char c : text) {
        if (c < 0x80 && std::ispunct(c)) continue;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
    }
    return out;
}

UncertaintyResult sample_uncertainty(const LanguageModel& m, std::string_view prompt, const UncertaintyOptions& o) {
    if (o.samples < 1) throw AttributionError("uncertainty needs at least one sample");
    if (o.clustering != "exact" && o.clustering != "embedding")
        throw AttributionError("unknown clustering '" + o.clustering + "' (exact or embedding)");
    CancelScope cancel_scope(o.control.cancel);
    const auto total = static_cast<std::size_t>(o.samples) + 1;
    o.control.report(0, total, "samples");
    UncertaintyResult r;
    r.prompt = prompt;
    GenerationOptions g;
    g.max_new_tokens = o.max_new_tokens;
    g.stop = o.stop;
    g.alternatives = o.alternatives;
    auto greedy = m.generate(prompt, g);
    r.truncated = greedy.truncated;
    r.greedy_text = greedy.text;
    for (const auto& t : greedy.tokens) {
        // A special token (end of text) decodes to nothing: it goes by its vocabulary name, the one name every view
        // shows for it, in the greedy path and among the alternatives alike.
        auto name = [&m](std::int32_t id, const std::string& text) { return text.empty() ? m.tokenizer().id_to_token(id).value_or("") : text; };
        GreedyStep s{name(t.id, t.text), t.logprob, t.entropy, {}};
        for (const auto& a : t.top) s.alternatives.push_back({name(a.id, a.text), a.logprob});
        r.greedy.push_back(s);
    }
    o.control.report(1, total, "samples");
    g.temperature = o.temperature;
    g.top_p = o.top_p;
    g.alternatives = 0;
    for (int i = 0; i < o.samples; ++i) {
        g.seed = o.seed + static_cast<std::uint64_t>(i);
        auto s = m.generate(prompt, g);
        SampleRecord rec;
        rec.text = s.text;
        rec.normalized = normalize_answer(s.text);
        for (const auto& t : s.tokens) rec.logprob += t.logprob;
        r.samples.push_back(rec);
        o.control.report(r.samples.size() + 1, total, "samples");
    }
    const double N = static_cast<double>(r.samples.size());
    for (const auto& s : r.samples) r.predictive_entropy -= s.logprob / N;
    // Clusters: equal normalised answers, or hidden-state cosine to a cluster's first member above the threshold.
    std::vector<std::size_t> reps;
    std::vector<std::vector<float>> rep_vec;
    std::map<std::string, int> by_answer;
    for (auto& s : r.samples) {
        if (o.clustering == "exact") {
            auto [it, fresh] = by_answer.emplace(s.normalized, static_cast<int>(by_answer.size()));
            s.cluster = it->second;
        } else {
            auto v = m.pooled_hidden_state(s.text.empty() ? std::string(" ") : s.text);
            int found = -1;
            for (std::size_t c = 0; c < rep_vec.size() && found < 0; ++c)
                if (cosine(v, rep_vec[c]) >= o.threshold) found = static_cast<int>(c);
            if (found < 0) {
                found = static_cast<int>(rep_vec.size());
                rep_vec.push_back(std::move(v));
            }
            s.cluster = found;
        }
    }
    // Probability mass over the distinct sampled sequences (a sequence drawn twice counts once).
    std::map<std::string, double> distinct;
    std::map<std::string, int> cluster_of_text;
    for (const auto& s : r.samples) distinct[s.text] = s.logprob, cluster_of_text[s.text] = s.cluster;
    std::vector<double> all;
    for (const auto& [t, lp] : distinct) all.push_back(lp);
    double log_total = logsumexp(all);
    std::map<int, std::vector<double>> cluster_lp;
    for (const auto& [t, lp] : distinct) cluster_lp[cluster_of_text[t]].push_back(lp - log_total);
    r.clusters = cluster_lp.size();
    for (const auto& [c, lps] : cluster_lp) {
        double lpc = logsumexp(lps), p = std::exp(lpc);
        if (p > 0) r.semantic_entropy -= p * lpc;
    }
    std::map<int, std::size_t> freq;
    for (const auto& s : r.samples) freq[s.cluster] += 1;
    for (const auto& [c, n] : freq) {
        double p = static_cast<double>(n) / N;
        r.discrete_semantic_entropy -= p * std::log(p);
    }
    // Answers (normalised) with counts and mass.
    std::map<std::string, AnswerMass> answers;
    for (const auto& s : r.samples) {
        auto& a = answers[s.normalized];
        a.answer = s.normalized;
        a.count += 1;
    }
    for (const auto& [t, lp] : distinct) answers[normalize_answer(t)].probability += std::exp(lp - log_total);
    std::size_t best = 0;
    for (auto& [k, a] : answers) r.answers.push_back(a), best = std::max(best, a.count);
    std::sort(r.answers.begin(), r.answers.end(), [](const AnswerMass& a, const AnswerMass& b) {
        return a.probability != b.probability ? a.probability > b.probability : a.answer < b.answer;
    });
    r.self_consistency = static_cast<double>(best) / N;
    return r;
}

}  // namespace lmwb::attr
