#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <ctime>
#include <unordered_set>

#include "evaluation_internal.h"
#include "lmwb/text_metrics.h"

namespace lmwb::eval {

using datasets::TaskKind;

const std::vector<MetricInfo>& metric_catalog() {
    static const std::vector<MetricInfo> catalog = {
        {"acc", TaskKind::MultipleChoice, true, true, true, true, "the highest log-likelihood choice is the answer"},
        {"acc_norm", TaskKind::MultipleChoice, true, true, true, true, "as acc, log-likelihood divided by the choice's length in code points"},
        {"acc_mutual_info", TaskKind::MultipleChoice, true, true, true, false, "as acc, log-likelihood minus that of the choice without context"},
        {"brier", TaskKind::MultipleChoice, false, false, true, true, "sum over choices of (p - [gold])^2, p the softmax over choices"},
        {"ece", TaskKind::MultipleChoice, false, false, false, true, "expected calibration error, 10 equal-mass bins of top-choice probability"},
        {"exact_match", TaskKind::Generation, true, true, true, true, "the normalised response equals a reference"},
        {"contains", TaskKind::Generation, true, true, true, true, "the normalised response contains a reference"},
        {"f1", TaskKind::Generation, true, false, true, true, "SQuAD token F1 against the best reference"},
        {"bleu", TaskKind::Generation, true, false, false, true, "corpus BLEU (sacreBLEU 13a); per item: sentence BLEU"},
        {"chrf", TaskKind::Generation, true, false, false, true, "corpus chrF (character 6-grams, beta 2); per item: sentence chrF"},
        {"rouge_l", TaskKind::Generation, true, false, true, true, "ROUGE-L F against the best reference"},
        {"response_perplexity", TaskKind::Generation, false, false, false, true, "perplexity of the responses under the scoring model (fluency)"},
        {"distinct_1", TaskKind::Generation, true, false, false, true, "unique / total words over all responses"},
        {"distinct_2", TaskKind::Generation, true, false, false, true, "unique / total word bigrams over all responses"},
        {"seq_rep_2", TaskKind::Generation, false, false, true, true, "1 - unique / total word bigrams within a response"},
        {"seq_rep_4", TaskKind::Generation, false, false, true, false, "1 - unique / total word 4-grams within a response"},
        {"relevance_prompt", TaskKind::Generation, true, false, true, true, "cosine of mean-pooled hidden states, response vs prompt"},
        {"relevance_reference", TaskKind::Generation, true, false, true, true, "cosine of mean-pooled hidden states, response vs first reference"},
        {"token_perplexity", TaskKind::Perplexity, false, false, false, true, "exp(-sum log p / tokens)"},
        {"word_perplexity", TaskKind::Perplexity, false, false, false, true, "exp(-sum log p / words), words = pieces of re.split(r'\\s+')"},
        {"byte_perplexity", TaskKind::Perplexity, false, false, false, true, "exp(-sum log p / UTF-8 bytes)"},
        {"bits_per_byte", TaskKind::Perplexity, false, false, false, true, "-sum log p / UTF-8 bytes / ln 2"},
    };
    return catalog;
}

const MetricInfo* find_metric(const std::string& name) {
    for (const auto& m : metric_catalog())
        if (m.name == name) return &m;
    return nullptr;
}

std::vector<std::string> resolve_metrics(const datasets::Suite& suite) {
    std::vector<std::string> out;
    if (suite.metrics.empty()) {
        for (const auto& m : metric_catalog())
            if (m.kind == suite.kind && m.default_on) out.push_back(m.name);
        return out;
    }
    for (const auto& name : suite.metrics) {
        const MetricInfo* m = find_metric(name);
        if (!m) {
            std::string known;
            for (const auto& k : metric_catalog())
                if (k.kind == suite.kind) known += (known.empty() ? "" : ", ") + k.name;
            throw datasets::SuiteError(suite.path + ": field 'metrics': unknown metric '" + name + "' (for " +
                                       datasets::to_string(suite.kind) + ": " + known + ")");
        }
        if (m->kind != suite.kind)
            throw datasets::SuiteError(suite.path + ": field 'metrics': '" + name + "' is a " + datasets::to_string(m->kind) +
                                       " metric; this suite is " + datasets::to_string(suite.kind));
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
}

namespace {

double metric_value(const ItemRecord& r, const std::string& name) {
    auto it = r.metrics.find(name);
    return it == r.metrics.end() ? 0.0 : it->second;
}

Statistic ratio_statistic(std::vector<double> num, std::vector<double> den, std::function<double(double, double)> f) {
    return [num = std::move(num), den = std::move(den), f = std::move(f)](const std::vector<std::size_t>& idx) {
        double a = 0, b = 0;
        for (auto i : idx) a += num[i], b += den[i];
        return b > 0 ? f(a, b) : std::numeric_limits<double>::quiet_NaN();  // undefined: no tokens (words, bytes)
    };
}

}  // namespace

Statistic metric_statistic(const SuiteReport& s, const std::string& metric) {
    const auto& items = s.items;
    const auto n = items.size();
    const MetricInfo* info = find_metric(metric);
    if (info && info->mean) {
        std::vector<double> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = metric_value(items[i], metric);
        return [v = std::move(v)](const std::vector<std::size_t>& idx) {
            double sum = 0;
            for (auto i : idx) sum += v[i];
            return idx.empty() ? 0.0 : sum / static_cast<double>(idx.size());
        };
    }
    if (metric == "ece") {
        std::vector<double> conf(n), correct(n);
        for (std::size_t i = 0; i < n; ++i) conf[i] = metric_value(items[i], "confidence"), correct[i] = metric_value(items[i], "acc");
        return [conf = std::move(conf), correct = std::move(correct)](const std::vector<std::size_t>& idx) {
            std::vector<double> c, y;
            for (auto i : idx) c.push_back(conf[i]), y.push_back(correct[i]);
            return metrics::ece_equal_mass(c, y, 10);
        };
    }
    if (metric == "bleu") {
        std::vector<metrics::BleuStats> st;
        for (const auto& r : items) st.push_back(metrics::bleu_stats(r.response, r.references));
        return [st = std::move(st)](const std::vector<std::size_t>& idx) {
            metrics::BleuStats sum;
            for (auto i : idx) sum += st[i];
            return metrics::bleu_score(sum, false);
        };
    }
    if (metric == "chrf") {
        std::vector<metrics::ChrfStats> st;
        for (const auto& r : items) st.push_back(metrics::chrf_stats(r.response, r.references));
        return [st = std::move(st)](const std::vector<std::size_t>& idx) {
            metrics::ChrfStats sum;
            for (auto i : idx) sum += st[i];
            return metrics::chrf_score(sum);
        };
    }
    if (metric == "distinct_1" || metric == "distinct_2") {
        int order = metric == "distinct_1" ? 1 : 2;
        auto mode = s.ascii_words ? metrics::WordMode::Ascii : metrics::WordMode::Unicode;
        std::vector<std::vector<std::string>> grams;
        for (const auto& r : items) grams.push_back(metrics::ngrams(metrics::words(r.response, mode), order));
        return [grams = std::move(grams)](const std::vector<std::size_t>& idx) {
            std::unordered_set<std::string> unique;
            double total = 0;
            for (auto i : idx) {
                total += static_cast<double>(grams[i].size());
                unique.insert(grams[i].begin(), grams[i].end());
            }
            return total > 0 ? static_cast<double>(unique.size()) / total : 0.0;
        };
    }
    std::vector<double> ll(n), tokens(n), words(n), bytes(n);
    for (std::size_t i = 0; i < n; ++i) {
        ll[i] = items[i].logprob;
        tokens[i] = static_cast<double>(items[i].tokens);
        words[i] = static_cast<double>(items[i].words);
        bytes[i] = static_cast<double>(items[i].bytes);
    }
    auto ppl = [](double a, double b) { return std::exp(-a / b); };
    if (metric == "response_perplexity" || metric == "token_perplexity") return ratio_statistic(ll, tokens, ppl);
    if (metric == "word_perplexity") return ratio_statistic(ll, words, ppl);
    if (metric == "byte_perplexity") return ratio_statistic(ll, bytes, ppl);
    if (metric == "bits_per_byte") return ratio_statistic(ll, bytes, [](double a, double b) { return -a / b / std::log(2.0); });
    throw ReportError("suite '" + s.name + "': unknown metric '" + metric + "'");
}

std::vector<Aggregate> aggregate(const SuiteReport& s, int iterations, std::uint64_t seed) {
    std::vector<Aggregate> out;
    for (const auto& name : s.metrics) {
        const MetricInfo* info = find_metric(name);
        if (!info) throw ReportError("suite '" + s.name + "': unknown metric '" + name + "'");
        Aggregate a;
        a.metric = name;
        a.n = s.items.size();
        a.higher_is_better = info->higher_is_better;
        metrics::Interval iv;
        if (info->mean) {
            std::vector<double> v;
            for (const auto& r : s.items) v.push_back(metric_value(r, name));
            iv = metrics::mean_interval(v);
            a.method = "mean";
        } else {
            iv = metrics::bootstrap_interval(s.items.size(), metric_statistic(s, name), iterations,
                                             metrics::stable_hash(s.name + "/" + name, seed));
            a.method = "bootstrap";
        }
        a.value = iv.value;
        a.stderr_ = iv.stderr_;
        a.low = iv.low;
        a.high = iv.high;
        out.push_back(a);
    }
    return out;
}

void finalize_suite(SuiteReport& s, const RunSettings& settings) {
    std::sort(s.items.begin(), s.items.end(), [](const ItemRecord& a, const ItemRecord& b) { return a.index < b.index; });
    s.aggregates = aggregate(s, settings.bootstrap_iterations, settings.seed);
    s.reliability.clear();
    if (s.kind == datasets::to_string(TaskKind::MultipleChoice)) {
        std::vector<double> conf, correct;
        for (const auto& r : s.items) conf.push_back(metric_value(r, "confidence")), correct.push_back(metric_value(r, "acc"));
        for (const auto& b : metrics::reliability_bins(conf, correct, 10))
            s.reliability.push_back({b.confidence_low, b.confidence_high, b.mean_confidence, b.accuracy, b.count});
    }
}

std::string utc_now() {
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace lmwb::eval
