// Every metric, once: what it applies to, its per-item value, how it aggregates, whose convention it follows.
// The runner, aggregation, comparisons, the GUI and docs/suite-format.md all read this table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <numeric>
#include <unordered_set>

#include "lmwb/lm_eval_task.h"
#include "lmwb/report_analysis.h"
#include "lmwb/text_metrics.h"
#include "unicode_text.h"

namespace lmwb::eval {

using datasets::TaskKind;
using Items = std::vector<const ItemRecord*>;
using Value = std::optional<double>;

namespace {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
// Where the calibration metrics' probabilities come from, said beside each.
const std::string kConfidence =
    "; p = softmax of the choices' summed log-likelihoods (HELM's separate-choice adapter first divides each by its token count)";

std::size_t argmax(const std::vector<double>& v) {
    return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());  // first of ties, as numpy
}

// Multiple choice: which choice wins when each log-likelihood is divided by `length` of the choice (1: none).
template <class Length>
Value choice_correct(const ItemRecord& r, Length length) {
    if (r.choices.empty() || r.answer < 0) return std::nullopt;
    std::vector<double> v;
    for (const auto& c : r.choices) v.push_back(c.logprob / static_cast<double>(std::max<std::size_t>(1, length(c))));
    return static_cast<int>(argmax(v)) == r.answer ? 1.0 : 0.0;
}
std::size_t one(const ChoiceScore&) { return 1; }
std::size_t code_points(const ChoiceScore& c) { return metrics::text::decode(c.text).size(); }
std::size_t utf8_bytes(const ChoiceScore& c) { return c.text.size(); }

// HELM strips each completion, then scores an empty one 0 whatever the reference (`if not pred: return 0`).
bool helm_empty(const std::string& response) { return metrics::text::strip(metrics::text::decode(response)).empty(); }

std::vector<double> choice_probabilities(const ItemRecord& r) {
    std::vector<double> ll;
    for (const auto& c : r.choices) ll.push_back(c.logprob);
    return metrics::softmax(ll);
}
// Top choice's probability and whether it is right, per item (calibration).
void confidences(const Items& items, std::vector<double>& conf, std::vector<double>& correct) {
    for (const ItemRecord* r : items) {
        auto p = choice_probabilities(*r);
        const std::size_t top = argmax(p);
        conf.push_back(p.empty() ? 0.0 : p[top]);
        correct.push_back(static_cast<int>(top) == r->answer ? 1.0 : 0.0);
    }
}
// A statistic of (confidence, correct) pairs over resampled indices.
template <class F>
Statistic calibration_statistic(const Items& items, F f) {
    std::vector<double> conf, correct;
    confidences(items, conf, correct);
    return [conf = std::move(conf), correct = std::move(correct), f](const std::vector<std::size_t>& idx) {
        std::vector<double> c, y;
        for (auto i : idx) c.push_back(conf[i]), y.push_back(correct[i]);
        return f(c, y);
    };
}

// HELM's get_selective_stats: items by confidence, most confident first; accuracy of the first k for every k. The
// mean of those accuracies is the area under the coverage-accuracy curve. HELM orders tied confidences as numpy's
// argsort happens to (not stable above 16 items); here a tied group counts as its mean correctness at every position
// it spans, the expected value over all orders of the group, so the result never depends on item order.
std::vector<double> selective_accuracies(const std::vector<double>& conf, const std::vector<double>& correct) {
    std::vector<std::size_t> order(conf.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return conf[a] > conf[b]; });
    std::vector<double> acc;
    double right = 0;
    for (std::size_t start = 0; start < order.size();) {
        std::size_t end = start;
        double group = 0;
        while (end < order.size() && conf[order[end]] == conf[order[start]]) group += correct[order[end++]];
        const double per_item = group / static_cast<double>(end - start);
        for (std::size_t k = start; k < end; ++k) acc.push_back((right + per_item * static_cast<double>(k + 1 - start)) / static_cast<double>(k + 1));
        right += group, start = end;
    }
    return acc;
}

// Σ numerator / Σ denominator over resampled items (perplexities): undefined without any denominator.
Statistic ratio(std::vector<double> num, std::vector<double> den, double (*f)(double, double)) {
    return [num = std::move(num), den = std::move(den), f](const std::vector<std::size_t>& idx) {
        double a = 0, b = 0;
        for (auto i : idx) a += num[i], b += den[i];
        return b > 0 ? f(a, b) : kUndefined;
    };
}
double perplexity(double ll, double n) { return std::exp(-ll / n); }
double bits(double ll, double n) { return -ll / n / std::log(2.0); }

template <class Count>
MetricInfo corpus_perplexity(std::string name, TaskKind kind, std::string description, Count count, double (*f)(double, double) = perplexity) {
    MetricInfo m;
    m.name = std::move(name);
    m.kind = kind;
    m.higher_is_better = false;
    m.aggregation = Aggregation::Corpus;
    m.description = std::move(description);
    m.item = [count, f](const ItemRecord& r, const MetricSettings&) -> Value {
        const double n = count(r);
        if (n <= 0) return std::nullopt;
        return f(r.logprob, n);
    };
    m.corpus = [count, f](const Items& items, const MetricSettings&) {
        std::vector<double> ll, n;
        for (const ItemRecord* r : items) ll.push_back(r->logprob), n.push_back(count(*r));
        return ratio(std::move(ll), std::move(n), f);
    };
    return m;
}

// scikit-learn's matthews_corrcoef over (gold, predicted) labels: from the confusion matrix's row and column sums.
double matthews(const std::vector<int>& gold, const std::vector<int>& pred) {
    std::map<int, double> t, p;
    double correct = 0, n = static_cast<double>(gold.size());
    for (std::size_t i = 0; i < gold.size(); ++i) t[gold[i]] += 1, p[pred[i]] += 1, correct += gold[i] == pred[i];
    double tp = 0, pp = 0, tt = 0;
    for (const auto& [label, c] : t) tt += c * c, tp += c * (p.count(label) ? p.at(label) : 0);
    for (const auto& [label, c] : p) pp += c * c;
    const double cov_ytyp = correct * n - tp, cov_ypyp = n * n - pp, cov_ytyt = n * n - tt;
    if (cov_ypyp * cov_ytyt == 0) return 0;
    return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}
// scikit-learn's f1_score(gold, pred) with average='binary': labels 0 and 1 at most (else undefined, where
// scikit-learn raises), F1 of label 1, 0 when it is neither predicted nor gold (zero_division).
double binary_f1(const std::vector<int>& gold, const std::vector<int>& pred) {
    std::set<int> labels(gold.begin(), gold.end());
    labels.insert(pred.begin(), pred.end());
    if (labels.size() > 2 || (labels.size() == 2 && !labels.count(1))) return kUndefined;
    double tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < gold.size(); ++i) {
        tp += gold[i] == 1 && pred[i] == 1;
        fp += gold[i] != 1 && pred[i] == 1;
        fn += gold[i] == 1 && pred[i] != 1;
    }
    return tp + fp + fn == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}
// A statistic of the items' (gold, predicted) choice indices over resampled indices.
Statistic label_statistic(const Items& items, double (*f)(const std::vector<int>&, const std::vector<int>&)) {
    std::vector<int> gold, pred;
    for (const ItemRecord* r : items) gold.push_back(r->answer), pred.push_back(r->predicted);  // one per item, as the indices
    return [gold = std::move(gold), pred = std::move(pred), f](const std::vector<std::size_t>& idx) {
        if (idx.empty()) return kUndefined;
        std::vector<int> g, p;
        for (auto i : idx) g.push_back(gold[i]), p.push_back(pred[i]);
        return f(g, p);
    };
}

// Sufficient statistics summed over resampled items.
template <class Stats, class Make, class Score>
Statistic summed(const Items& items, Make make, Score score) {
    std::vector<Stats> st;
    for (const ItemRecord* r : items) st.push_back(make(*r));
    return [st = std::move(st), score](const std::vector<std::size_t>& idx) {
        Stats sum;
        for (auto i : idx) sum += st[i];
        return score(sum);
    };
}

std::string reference_count(const Items& items) {
    std::size_t n = items.empty() ? 0 : items.front()->references.size();
    for (const ItemRecord* r : items)
        if (r->references.size() != n) return "var";
    return std::to_string(n);
}

MetricInfo make(std::string name, TaskKind kind, std::string description, std::string convention) {
    MetricInfo m;
    m.name = std::move(name);
    m.kind = kind;
    m.description = std::move(description);
    m.convention = std::move(convention);
    return m;
}

std::vector<MetricInfo> build() {
    std::vector<MetricInfo> t;
    const TaskKind MC = TaskKind::MultipleChoice, GEN = TaskKind::Generation, PPL = TaskKind::Perplexity;
    auto add = [&](MetricInfo m) -> MetricInfo& { return t.emplace_back(std::move(m)); };

    // ---- multiple choice
    {
        auto& m = add(make("acc", MC, "the highest log-likelihood choice is the answer", "lm-evaluation-harness acc"));
        m.binary = true;
        m.item = [](const ItemRecord& r, const MetricSettings&) { return choice_correct(r, one); };
    }
    {
        auto& m = add(make("acc_norm", MC, "as acc, log-likelihood divided by the choice's length in code points",
                           "lm-evaluation-harness acc_norm (len of the choice string)"));
        m.binary = true;
        m.item = [](const ItemRecord& r, const MetricSettings&) { return choice_correct(r, code_points); };
    }
    {
        auto& m = add(make("acc_bytes", MC, "as acc, log-likelihood divided by the choice's length in UTF-8 bytes",
                           "lm-evaluation-harness acc_bytes"));
        m.binary = true;
        m.default_on = false;
        m.item = [](const ItemRecord& r, const MetricSettings&) { return choice_correct(r, utf8_bytes); };
    }
    {
        auto& m = add(make("acc_mutual_info", MC, "as acc, log-likelihood minus that of the choice without context",
                           "lm-evaluation-harness >= 0.4.9 acc_mutual_info (unconditional: target_delimiter + choice after an empty context)"));
        m.binary = true;
        m.default_on = false;
        m.needs = ModelInput::Unconditional;
        m.item = [](const ItemRecord& r, const MetricSettings&) -> Value {
            if (r.choices.empty() || r.answer < 0) return std::nullopt;
            std::vector<double> v;
            for (const auto& c : r.choices) {
                if (!c.unconditional_logprob) return std::nullopt;
                v.push_back(c.logprob - *c.unconditional_logprob);
            }
            return static_cast<int>(argmax(v)) == r.answer ? 1.0 : 0.0;
        };
    }
    {
        auto& m = add(make("exact_match", MC, "the answer's continuation is the model's greedy decoding (is_greedy)",
                           "lm-evaluation-harness exact_match for multiple choice"));
        m.binary = true;
        m.default_on = false;
        m.item = [](const ItemRecord& r, const MetricSettings&) -> Value {
            if (r.answer < 0 || static_cast<std::size_t>(r.answer) >= r.choices.size()) return std::nullopt;
            return r.choices[static_cast<std::size_t>(r.answer)].is_greedy ? 1.0 : 0.0;
        };
    }
    {
        auto& m = add(make("brier", MC, "sum over choices of (p - [gold])^2, p the softmax over choices", "lm-evaluation-harness brier_score" + kConfidence));
        m.higher_is_better = false;
        m.item = [](const ItemRecord& r, const MetricSettings&) -> Value {
            if (r.choices.empty() || r.answer < 0) return std::nullopt;
            return metrics::brier(choice_probabilities(r), r.answer);
        };
    }
    {
        auto& m = add(make("perplexity", MC, "exp(-mean log-likelihood of the answer); per item: exp(-log p(answer))",
                           "lm-evaluation-harness perplexity of a loglikelihood task (aggregation perplexity)"));
        m.higher_is_better = false;
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.item = [](const ItemRecord& r, const MetricSettings&) -> Value {
            if (r.answer < 0 || static_cast<std::size_t>(r.answer) >= r.choices.size()) return std::nullopt;
            return std::exp(-r.choices[static_cast<std::size_t>(r.answer)].logprob);
        };
        m.corpus = [](const Items& items, const MetricSettings&) {
            std::vector<double> ll, one;
            for (const ItemRecord* r : items) {  // one entry per item: the resampled indices are the items'
                const bool ok = r->answer >= 0 && static_cast<std::size_t>(r->answer) < r->choices.size();
                ll.push_back(ok ? r->choices[static_cast<std::size_t>(r->answer)].logprob : 0.0), one.push_back(ok ? 1 : 0);
            }
            return ratio(std::move(ll), std::move(one), perplexity);
        };
    }
    {
        auto& m = add(make("mcc", MC, "Matthews correlation of the predicted and gold choice indices (multi-class)",
                           "lm-evaluation-harness mcc (scikit-learn matthews_corrcoef; 0 when undefined)"));
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.corpus = [](const Items& items, const MetricSettings&) { return label_statistic(items, matthews); };
    }
    {
        auto& m = add(make("f1", MC, "F1 of choice 1 against the gold (two-choice tasks; undefined with more labels)",
                           "lm-evaluation-harness f1 (scikit-learn f1_score, average='binary', pos_label=1; 0 when nothing is positive)"));
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.corpus = [](const Items& items, const MetricSettings&) { return label_statistic(items, binary_f1); };
    }
    {
        auto& m = add(make("ece", MC, "expected calibration error, 10 equal-mass bins of top-choice probability", "HELM ece_10_bin" + kConfidence));
        m.higher_is_better = false;
        m.aggregation = Aggregation::Corpus;
        m.corpus = [](const Items& items, const MetricSettings&) {
            return calibration_statistic(items, [](const std::vector<double>& c, const std::vector<double>& y) { return metrics::ece_equal_mass(c, y, 10); });
        };
    }
    {
        auto& m = add(make("ece_1_bin", MC, "|mean top-choice probability - accuracy| (one bin)", "HELM ece_1_bin" + kConfidence));
        m.higher_is_better = false;
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.corpus = [](const Items& items, const MetricSettings&) {
            return calibration_statistic(items, [](const std::vector<double>& c, const std::vector<double>& y) {
                return c.empty() ? kUndefined : std::fabs(metrics::mean(c) - metrics::mean(y));
            });
        };
    }
    {
        auto& m = add(make("selective_acc@10", MC, "accuracy of the 10% most confident items (first int(0.1 n) + 1)",
                           "HELM selective_acc@10 (get_selective_stats; tied confidences averaged)" + kConfidence));
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.corpus = [](const Items& items, const MetricSettings&) {
            return calibration_statistic(items, [](const std::vector<double>& c, const std::vector<double>& y) {
                auto acc = selective_accuracies(c, y);
                return acc.empty() ? kUndefined : acc[static_cast<std::size_t>(0.1 * static_cast<double>(acc.size()))];
            });
        };
    }
    {
        auto& m = add(make("selective_cov_acc_area", MC, "area under the coverage-accuracy curve (most confident first)",
                           "HELM selective_cov_acc_area (get_selective_stats; tied confidences averaged)" + kConfidence));
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.corpus = [](const Items& items, const MetricSettings&) {
            return calibration_statistic(items, [](const std::vector<double>& c, const std::vector<double>& y) {
                auto acc = selective_accuracies(c, y);
                return acc.empty() ? kUndefined : metrics::mean(acc);
            });
        };
    }

    // ---- generation
    {
        auto& m = add(make("exact_match", GEN, "the normalised response equals a reference",
                           "SQuAD v1.1 exact_match_score (normalize_answer), or the suite's normalization"));
        m.binary = true;
        m.item = [](const ItemRecord& r, const MetricSettings& s) -> Value {
            if (s.remove_patterns.empty() && !s.remove_digits) return metrics::exact_match(r.response, r.references, s.normalization);
            // lm-eval's exact_match_hf_evaluate: regexes_to_ignore first, then case and punctuation, then digits (which
            // commute with those two)
            auto clean = [&s](std::string x) {
                for (const auto& p : s.remove_patterns) x = datasets::remove_matches(p, x);
                if (s.remove_digits) x.erase(std::remove_if(x.begin(), x.end(), [](char c) { return c >= '0' && c <= '9'; }), x.end());
                return x;
            };
            std::vector<std::string> refs;
            for (const auto& ref : r.references) refs.push_back(clean(ref));
            return metrics::exact_match(clean(r.response), refs, s.normalization);
        };
    }
    {
        auto& m = add(make("quasi_exact_match", GEN, "equal after lowercasing and removing punctuation, articles and extra whitespace",
                           "HELM quasi_exact_match (normalize_text; a response empty once stripped scores 0)"));
        m.binary = true;
        m.default_on = false;
        m.item = [](const ItemRecord& r, const MetricSettings& s) -> Value {
            if (helm_empty(r.response)) return 0.0;
            return metrics::exact_match(r.response, r.references, metrics::quasi_normalization(s.answers));
        };
    }
    {
        auto& m = add(make("prefix_exact_match", GEN, "the stripped response starts with a stripped reference",
                           "HELM prefix_exact_match (a response empty once stripped scores 0)"));
        m.binary = true;
        m.default_on = false;
        m.item = [](const ItemRecord& r, const MetricSettings&) -> Value {
            if (helm_empty(r.response)) return 0.0;
            return metrics::prefix_match(r.response, r.references, nullptr);
        };
    }
    {
        auto& m = add(make("quasi_prefix_exact_match", GEN, "as prefix_exact_match after quasi_exact_match's normalisation",
                           "HELM quasi_prefix_exact_match (a response empty once stripped scores 0)"));
        m.binary = true;
        m.default_on = false;
        m.item = [](const ItemRecord& r, const MetricSettings& s) -> Value {
            if (helm_empty(r.response)) return 0.0;
            auto n = metrics::quasi_normalization(s.answers);
            return metrics::prefix_match(r.response, r.references, &n);
        };
    }
    {
        auto& m = add(make("contains", GEN, "the normalised response contains a reference",
                           "SQuAD v1.1 normalize_answer, or the suite's normalization; an empty reference never matches"));
        m.binary = true;
        m.item = [](const ItemRecord& r, const MetricSettings& s) -> Value { return metrics::contains(r.response, r.references, s.normalization); };
    }
    {
        auto& m = add(make("f1", GEN, "SQuAD token F1 against the best reference", "SQuAD v1.1 evaluation script (or unicode)"));
        m.item = [](const ItemRecord& r, const MetricSettings& s) -> Value { return metrics::token_f1(r.response, r.references, s.answers); };
    }
    {
        auto& m = add(make("bleu", GEN, "corpus BLEU; per item: sentence BLEU with effective order", "sacreBLEU 2.x BLEU (tokenizer per suite)"));
        m.aggregation = Aggregation::Corpus;
        m.item = [](const ItemRecord& r, const MetricSettings& s) -> Value {
            return metrics::bleu_score(metrics::bleu_stats(r.response, r.references, s.bleu_tokenizer), true);
        };
        m.corpus = [](const Items& items, const MetricSettings& s) {
            return summed<metrics::BleuStats>(
                items, [&](const ItemRecord& r) { return metrics::bleu_stats(r.response, r.references, s.bleu_tokenizer); },
                [](const metrics::BleuStats& b) { return metrics::bleu_score(b, false); });
        };
        m.signature = [](const Items& items, const MetricSettings& s) { return metrics::bleu_signature(reference_count(items), s.bleu_tokenizer); };
    }
    for (int word_order : {0, 2}) {
        auto& m = add(make(word_order ? "chrf_pp" : "chrf", GEN,
                           word_order ? "corpus chrF++ (character 6-grams and word 2-grams, beta 2); per item: sentence chrF++"
                                      : "corpus chrF (character 6-grams, beta 2); per item: sentence chrF",
                           word_order ? "sacreBLEU 2.x CHRF(word_order=2)" : "sacreBLEU 2.x CHRF()"));
        m.aggregation = Aggregation::Corpus;
        m.default_on = word_order == 0;
        m.item = [word_order](const ItemRecord& r, const MetricSettings&) -> Value {
            return metrics::chrf_score(metrics::chrf_stats(r.response, r.references, word_order));
        };
        m.corpus = [word_order](const Items& items, const MetricSettings&) {
            return summed<metrics::ChrfStats>(
                items, [&](const ItemRecord& r) { return metrics::chrf_stats(r.response, r.references, word_order); },
                [](const metrics::ChrfStats& c) { return metrics::chrf_score(c); });
        };
        m.signature = [word_order](const Items& items, const MetricSettings&) { return metrics::chrf_signature(reference_count(items), word_order); };
    }
    {
        auto& m = add(make("ter", GEN, "corpus TER: edits (shifts included) per reference word; per item: sentence TER",
                           "sacreBLEU 2.x TER() (tercom, lowercased)"));
        m.higher_is_better = false;
        m.default_on = false;
        m.aggregation = Aggregation::Corpus;
        m.item = [](const ItemRecord& r, const MetricSettings&) -> Value { return metrics::ter_score(metrics::ter_stats(r.response, r.references)); };
        m.corpus = [](const Items& items, const MetricSettings&) {
            return summed<metrics::TerStats>(
                items, [](const ItemRecord& r) { return metrics::ter_stats(r.response, r.references); },
                [](const metrics::TerStats& stats) { return metrics::ter_score(stats); });
        };
        m.signature = [](const Items& items, const MetricSettings&) { return metrics::ter_signature(reference_count(items)); };
    }
    for (auto [name, kind] : {std::pair{"rouge_1", metrics::RougeKind::Rouge1}, {"rouge_2", metrics::RougeKind::Rouge2},
                              {"rouge_l", metrics::RougeKind::RougeL}, {"rouge_lsum", metrics::RougeKind::RougeLsum}})
        for (auto [suffix, part] : {std::pair{"", 2}, {"_precision", 0}, {"_recall", 1}}) {
            const std::string n = std::string(name) + suffix;
            auto& m = add(make(n, GEN,
                               std::string(part == 0 ? "precision" : part == 1 ? "recall" : "F") + " of " + name +
                                   " against the reference with the best F",
                               "google-research rouge_score (tokenizer per rouge_tokenizer, Porter stemmer per rouge_stemmer)"));
            m.default_on = n == "rouge_l";
            m.item = [kind = kind, part = part](const ItemRecord& r, const MetricSettings& s) -> Value {
                auto p = metrics::rouge_best(kind, r.references, r.response, s.words, s.rouge_stemmer);
                return part == 0 ? p.precision : part == 1 ? p.recall : p.f;
            };
        }
    t.push_back(corpus_perplexity("response_perplexity", GEN, "perplexity of the responses under the scoring model (fluency)",
                                  [](const ItemRecord& r) { return static_cast<double>(r.tokens); }));
    t.back().needs = ModelInput::ResponseScore;
    t.back().convention = "exp(-sum log p / sum tokens) over responses";
    for (int order : {1, 2}) {
        auto& m = add(make("distinct_" + std::to_string(order), GEN,
                           std::string("unique / total word ") + (order == 1 ? "unigrams" : "bigrams") + " over all responses",
                           "Li et al. 2016; Unicode words (letters, marks, digits; each CJK character one)"));
        m.aggregation = Aggregation::Corpus;
        m.corpus = [order](const Items& items, const MetricSettings&) {
            std::vector<std::vector<std::string>> grams;
            for (const ItemRecord* r : items) grams.push_back(metrics::ngrams(metrics::words(r->response), order));
            return Statistic([grams = std::move(grams)](const std::vector<std::size_t>& idx) {
                std::unordered_set<std::string> unique;
                double total = 0;
                for (auto i : idx) {
                    total += static_cast<double>(grams[i].size());
                    unique.insert(grams[i].begin(), grams[i].end());
                }
                return total > 0 ? static_cast<double>(unique.size()) / total : 0.0;
            });
        };
    }
    for (int order : {2, 4}) {
        auto& m = add(make("seq_rep_" + std::to_string(order), GEN,
                           "1 - unique / total word " + std::to_string(order) + "-grams within a response",
                           "Welleck et al. 2020; Unicode words (letters, marks, digits; each CJK character one)"));
        m.higher_is_better = false;
        m.default_on = order == 2;
        m.item = [order](const ItemRecord& r, const MetricSettings&) -> Value { return metrics::seq_rep(metrics::words(r.response), order); };
    }
    for (const char* what : {"prompt", "reference"}) {
        auto& m = add(make(std::string("relevance_") + what, GEN,
                           std::string("cosine of mean-pooled hidden states, response vs ") + (what[0] == 'p' ? "prompt" : "first reference"),
                           "scoring model's last hidden state after the final norm"));
        m.needs = what[0] == 'p' ? ModelInput::PromptRelevance : ModelInput::ReferenceRelevance;
    }

    // ---- perplexity
    t.push_back(corpus_perplexity("token_perplexity", PPL, "exp(-sum log p / tokens)", [](const ItemRecord& r) { return static_cast<double>(r.tokens); }));
    t.push_back(corpus_perplexity("word_perplexity", PPL, "exp(-sum log p / words), words = pieces of re.split(r'\\s+')",
                                  [](const ItemRecord& r) { return static_cast<double>(r.words); }));
    t.push_back(corpus_perplexity("byte_perplexity", PPL, "exp(-sum log p / UTF-8 bytes)", [](const ItemRecord& r) { return static_cast<double>(r.bytes); }));
    t.push_back(corpus_perplexity("bits_per_byte", PPL, "-sum log p / UTF-8 bytes / ln 2", [](const ItemRecord& r) { return static_cast<double>(r.bytes); }, bits));
    for (auto& m : t)
        if (m.kind == PPL) m.convention = "lm-evaluation-harness loglikelihood_rolling";
    // What each item's value can be: proportions and F-scores in [0, 1], sacreBLEU's scores in [0, 100] (TER above
    // 100 when the hypothesis is longer), Brier in [0, 2], cosines in [-1, 1], perplexities at least 1.
    for (auto& m : t) {
        const std::string& n = m.name;
        auto starts = [&n](const char* p) { return n.rfind(p, 0) == 0; };
        if (m.binary || n == "f1" || starts("rouge_") || starts("seq_rep_") || starts("distinct_") || starts("ece") || starts("selective_"))
            m.min = 0, m.max = 1;
        else if (n == "bleu" || starts("chrf")) m.min = 0, m.max = 100;
        else if (n == "ter" || n == "bits_per_byte") m.min = 0;
        else if (n == "brier") m.min = 0, m.max = 2;
        else if (starts("relevance_") || n == "mcc") m.min = -1, m.max = 1;
        else if (n.find("perplexity") != std::string::npos) m.min = 1;
    }
    return t;
}

}  // namespace

const std::vector<MetricInfo>& metric_catalog() {
    static const std::vector<MetricInfo> catalog = build();
    return catalog;
}

const MetricInfo* find_metric(TaskKind kind, const std::string& name) {
    for (const auto& m : metric_catalog())
        if (m.kind == kind && m.name == name) return &m;
    return nullptr;
}

const MetricInfo* find_metric(const SuiteReport& suite, const std::string& name) {
    for (TaskKind k : {TaskKind::MultipleChoice, TaskKind::Generation, TaskKind::Perplexity})
        if (datasets::to_string(k) == suite.kind) return find_metric(k, name);
    return nullptr;
}

void validate_suite(const SuiteReport& s, const std::string& source) {
    const std::string where = source + ": suite '" + s.name + "'";
    if (!find_metric(s, "acc") && !find_metric(s, "exact_match") && !find_metric(s, "token_perplexity"))
        throw ReportError(where + ": kind '" + s.kind + "' is not multiple_choice, generation or perplexity");
    if (s.metrics.empty() && !s.items.empty()) throw ReportError(where + ": names no metrics");
    for (const auto& m : s.metrics)
        if (!find_metric(s, m)) throw ReportError(where + ": unknown " + s.kind + " metric '" + m + "'");
    if (s.items.size() > s.suite_items)
        throw ReportError(where + ": holds " + std::to_string(s.items.size()) + " items, more than its file's " + std::to_string(s.suite_items));
    std::set<std::string> ids;
    std::optional<MetricSettings> settings;  // only to ask whether a missing value is defined
    for (const auto& r : s.items) {
        if (!ids.insert(r.id).second) throw ReportError(where + ": item id '" + r.id + "' appears more than once (a damaged report?)");
        // An item lacks a metric only where the value is undefined for it (the perplexity of a response without
        // tokens, the mutual information without unconditional scores); the runner writes every other one.
        for (const auto& m : s.metrics) {
            if (r.metrics.count(m)) continue;
            const MetricInfo& info = *find_metric(s, m);
            const bool written = info.needs == ModelInput::PromptRelevance || info.needs == ModelInput::ReferenceRelevance;
            if (!info.item && !written) continue;  // a corpus statistic only (ece, distinct_n)
            if (!settings) settings = metric_settings(s);
            if (written || info.item(r, *settings))
                throw ReportError(where + ", item '" + r.id + "': no value of " + m + ", which the item's record defines (a damaged report?)");
        }
        for (const auto& [m, v] : r.metrics) {
            const MetricInfo* info = find_metric(s, m);
            const bool confidence = m == "confidence";  // the runner's reliability-diagram value, a probability
            if (!info && !confidence) throw ReportError(where + ", item '" + r.id + "': unknown metric '" + m + "'");
            const double lo = confidence ? 0 : info->min, hi = confidence ? 1 : info->max;
            const bool ok = std::isfinite(v) && v >= lo && v <= hi && (!info || !info->binary || v == 0 || v == 1);
            if (!ok) {
                char value[64];
                std::snprintf(value, sizeof value, "%.6g", v);
                throw ReportError(where + ", item '" + r.id + "': " + m + " = " + value + " is not a possible value (" +
                                  (info && info->binary ? std::string("0 or 1") : "[" + num(lo) + ", " + num(hi) + "]") + ")");
            }
        }
    }
}

std::string metrics_markdown() {
    std::string out = "| kind | metric | default | aggregate | better | what | convention |\n|---|---|---|---|---|---|---|\n";
    for (const auto& m : metric_catalog()) {
        out += "| " + datasets::to_string(m.kind) + " | `" + m.name + "` | " + (m.default_on ? "yes" : "no") + " | " +
               (m.aggregation == Aggregation::Mean ? "mean" : "corpus, bootstrap") + " | " + (m.higher_is_better ? "higher" : "lower") +
               " | " + m.description + " | " + m.convention + " |\n";
    }
    return out;
}

MetricSettings metric_settings(const datasets::Suite& s) {
    MetricSettings m;
    m.answers = s.unicode_answers ? metrics::AnswerConvention::Unicode : metrics::AnswerConvention::SquadV11;
    m.normalization = {s.normalization.lowercase, s.normalization.strip_punctuation, m.answers, s.normalization.strip_articles,
                       s.normalization.collapse_whitespace};
    m.words = s.ascii_words ? metrics::WordMode::Ascii : metrics::WordMode::Unicode;
    m.bleu_tokenizer = s.bleu_tokenizer;
    m.rouge_stemmer = s.rouge_stemmer;
    m.remove_patterns = s.normalization.remove_patterns;
    m.remove_digits = s.normalization.remove_digits;
    return m;
}

MetricSettings metric_settings(const SuiteReport& s) {
    MetricSettings m;
    m.words = s.ascii_words ? metrics::WordMode::Ascii : metrics::WordMode::Unicode;
    m.bleu_tokenizer = s.bleu_tokenizer;
    m.rouge_stemmer = s.rouge_stemmer;
    return m;
}

std::vector<std::string> resolve_metrics(const datasets::Suite& suite) {
    if (!metrics::is_bleu_tokenizer(suite.bleu_tokenizer))
        throw datasets::SuiteError(suite.path + ": /bleu_tokenizer: is '" + suite.bleu_tokenizer + "'; expected 13a, intl, zh, char or none");
    std::vector<std::string> out;
    if (suite.metrics.empty()) {
        for (const auto& m : metric_catalog())
            if (m.kind == suite.kind && m.default_on) out.push_back(m.name);
        return out;
    }
    for (const auto& name : suite.metrics) {
        if (!find_metric(suite.kind, name)) {
            std::string known, other;
            for (const auto& k : metric_catalog()) {
                if (k.kind == suite.kind) known += (known.empty() ? "" : ", ") + k.name;
                else if (k.name == name) other = datasets::to_string(k.kind);
            }
            if (!other.empty())
                throw datasets::SuiteError(suite.path + ": field 'metrics': '" + name + "' is a " + other + " metric; this suite is " +
                                           datasets::to_string(suite.kind));
            throw datasets::SuiteError(suite.path + ": field 'metrics': unknown metric '" + name + "' (for " +
                                       datasets::to_string(suite.kind) + ": " + known + ")");
        }
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
}

}  // namespace lmwb::eval
