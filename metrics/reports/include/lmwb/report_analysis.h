// What a run's report means: the metric registry, aggregates with intervals, slices, shard merges and paired
// comparison of runs. No model code: tools that only read reports (and the fuzz targets) use it without LibTorch;
// running suites on a model is lmwb/evaluation.h.
#pragma once

#include <limits>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lmwb/control.h"
#include "lmwb/report.h"
#include "lmwb/statistics.h"
#include "lmwb/suite.h"
#include "lmwb/text_metrics.h"

namespace lmwb::eval {

using metrics::McNemar;
using metrics::PairedDelta;
using metrics::Statistic;

// What a suite sets for its metrics. Run time reads it from the suite; corpus statistics recomputed from a report
// (comparisons, merges) read what they need from the report (metric_settings below).
struct MetricSettings {
    metrics::Normalization normalization;                      // exact_match, contains
    metrics::AnswerConvention answers = metrics::AnswerConvention::SquadV11;  // f1, quasi_exact_match
    metrics::WordMode words = metrics::WordMode::Ascii;        // ROUGE's tokenizer (rouge_score's by default)
    std::string bleu_tokenizer = "13a";
    bool rouge_stemmer = false;
    std::vector<std::string> remove_patterns;  // exact_match: an lm-eval task's regexes_to_ignore
    bool remove_digits = false;                // exact_match: an lm-eval task's ignore_numbers
};
MetricSettings metric_settings(const datasets::Suite& suite);
MetricSettings metric_settings(const SuiteReport& suite);

// How a metric's aggregate is computed: the mean of its per-item values (closed-form stderr), or a statistic of the
// whole set of items (corpus BLEU, perplexity over summed tokens, ECE), with a bootstrap interval.
enum class Aggregation { Mean, Corpus };
// What the runner computes for a metric beyond the model's own output.
enum class ModelInput {
    None,
    Unconditional,  // each choice's log-likelihood without the context (acc_mutual_info)
    ResponseScore,  // the response scored as a continuation of the prompt by the scoring model (fluency)
    PromptRelevance,     // cosine of the scoring model's pooled states, response vs prompt (the runner writes it)
    ReferenceRelevance,  // the same against the first reference
};

// One metric: everything about it in one place (metric_registry.cpp).
struct MetricInfo {
    std::string name;
    datasets::TaskKind kind;
    bool higher_is_better = true;
    bool binary = false;  // per-item 0/1 (McNemar in comparisons)
    // The values an item's metric can take (binary: 0 and 1); a report with a value outside is refused when read.
    double min = -std::numeric_limits<double>::infinity(), max = std::numeric_limits<double>::infinity();
    bool default_on = true;
    Aggregation aggregation = Aggregation::Mean;
    ModelInput needs = ModelInput::None;
    std::string description;  // what it computes
    std::string convention;   // whose definition it follows
    // The value for one item from its record (nullopt where undefined, e.g. a response without tokens); empty for
    // the relevance metrics, whose values the runner writes.
    std::function<std::optional<double>(const ItemRecord&, const MetricSettings&)> item;
    // Corpus metrics: the statistic over the given items (bootstraps call it with resampled indices).
    std::function<Statistic(const std::vector<const ItemRecord*>&, const MetricSettings&)> corpus;
    // A reproducibility string for the report (sacreBLEU's signature), or empty.
    std::function<std::string(const std::vector<const ItemRecord*>&, const MetricSettings&)> signature;
};
const std::vector<MetricInfo>& metric_catalog();
// One check of a suite's recorded values for every reader (report files, merge, compare, the GUI): its kind and
// metrics are known, item ids unique, every per-item value finite and inside its metric's range (a binary one 0 or
// 1), no more items than the suite has. Throws
// ReportError naming `source`, the suite, the item and the value.
void validate_suite(const SuiteReport& suite, const std::string& source);
// Names are unique within a kind (multiple choice and generation each have an exact_match).
const MetricInfo* find_metric(datasets::TaskKind kind, const std::string& name);  // nullptr when unknown
const MetricInfo* find_metric(const SuiteReport& suite, const std::string& name);
// Throws datasets::SuiteError naming the suite and the unknown or misplaced metric.
std::vector<std::string> resolve_metrics(const datasets::Suite& suite);
// The registry as a Markdown table (docs/suite-format.md holds it; `lmwb metrics` prints it).
std::string metrics_markdown();

// Aggregates of a suite's items (value, stderr, 95% interval); depends on the items and settings only.
// Resamples of a bootstrap or random swaps of a randomization test: more gains nothing measurable and costs minutes
// and gigabytes; compare needs at least kMinSwaps for a p-value below 0.01 to be possible.
constexpr int kMaxResamples = 100000;
constexpr int kMinSwaps = 100;
// Items per block (RunSettings::batch_size): more only pads batches and holds more memory.
constexpr int kMaxBatchSize = 4096;
// The shard (1..shard_count) that runs item `index` of a suite: whole blocks, round robin.
int shard_of(std::size_t index, const RunSettings& settings);
std::vector<Aggregate> aggregate(const SuiteReport& suite, int bootstrap_iterations, std::uint64_t seed);
// The same for every value of the suite's slice fields (slices of one item: no interval).
std::vector<SliceReport> slice_aggregates(const SuiteReport& suite, int bootstrap_iterations, std::uint64_t seed);
// The suite restricted to the items whose slice field holds value.
SuiteReport subset(const SuiteReport& suite, const std::string& field, const std::string& value);
// What makes an aggregate's number doubtful, each in a sentence (none: nothing does): a 95% interval that excludes
// its own estimate (a statistic biased under resampling, as ECE on few items), one that leaves the values the metric
// can take, too few items for the interval to mean much, or none at all. Every front end flags the same.
std::vector<std::string> aggregate_doubts(const Aggregate& a, const MetricInfo* metric);
constexpr std::size_t kFewItems = 20;
// The aggregate statistic of one metric over a list of item indices, for bootstraps.
Statistic metric_statistic(const SuiteReport& suite, const std::string& metric);
// Per-item values of a metric, in item order: NaN where an item has none (left out of means and tests).
std::vector<double> item_values(const SuiteReport& suite, const std::string& metric);

// Combines shard reports of one run into the report a single run would have produced.
Report merge_reports(const std::vector<Report>& shards, const std::vector<std::string>& names);

// Paired comparison of runs against the first (baseline).
struct MetricComparison {
    std::string suite, metric;
    std::string slice;  // "field=value" for a slice's items, empty for the whole suite
    bool higher_is_better = true;
    double baseline = 0, other = 0;
    std::size_t n = 0;               // paired items
    PairedDelta delta;               // the paired bootstrap's interval of the difference
    int iterations = 0;              // of the paired bootstrap
    metrics::Randomization test;     // the paired randomization test: the p-value the verdict rests on
    std::optional<McNemar> mcnemar;  // binary metrics
    // False when no outcome of the test on these items could reach p < 0.05 (a handful of items).
    bool decidable() const { return test.min_p_value < 0.05; }
};
// The paired tests in words, as the CLI and the GUI show them, with the items they rest on: "McNemar p=1.6e-06
// (0 vs 53), n=200", "permutation p=0.031 (exact), n=6", "permutation p=0.000999 (1000 swaps), n=106"; "too few
// items to decide" when the smallest p the test could give is 0.05 or more.
std::string describe_test(const MetricComparison& m);
// "better" or "worse" when the randomization test gives p < 0.05, the bootstrap's 95% interval of the delta excludes 0
// (direction from higher_is_better) and, for binary metrics, McNemar's p < 0.05; else "".
std::string verdict(const MetricComparison& m);
struct ItemChange {
    std::string suite, id, metric;
    double baseline = 0, other = 0;
};
struct RunComparison {
    std::string baseline, other;  // report names as given
    std::vector<MetricComparison> metrics;
    // On each suite's primary metric (the first with per-item values): items that changed, did not, or lack the
    // value in one run (not comparable: never counted as 0).
    std::vector<ItemChange> regressions, improvements;
    std::size_t unchanged = 0, not_comparable = 0, paired = 0, unpaired = 0;
};
// Throws ReportError when the reports are of different suites or their items differ under the same id.
// Progress: metric comparisons done (each a paired bootstrap); cancelled between them.
std::vector<RunComparison> compare_reports(const std::vector<Report>& reports, const std::vector<std::string>& names,
                                           int iterations, std::uint64_t seed, const Control& control = {});

// One suite's items paired by id between a baseline and another run, on one metric: the rule every front-end uses.
enum class ItemStatus { Regression, Improvement, Unchanged, NotComparable };
struct ItemPair {
    std::string id;
    std::optional<double> baseline, other;  // absent where the run has no value of the metric for the item
    ItemStatus status = ItemStatus::NotComparable;
};
// Items of `baseline` in its order; items of `other` without a partner are left out (they count as unpaired).
std::vector<ItemPair> pair_items(const SuiteReport& baseline, const SuiteReport& other, const std::string& metric);
// The suite's first metric with per-item values (what per-item changes are judged on); empty when none.
std::string primary_metric(const SuiteReport& suite);
const char* to_string(ItemStatus status);  // "regression", "improvement", "unchanged", "not comparable"

}  // namespace lmwb::eval

namespace lmwb::eval {
// The comparison as JSON text (the layout of `lmwb compare --json`, docs/report-schema.md).
std::string comparisons_to_json(const std::vector<RunComparison>& comparisons);
}  // namespace lmwb::eval
