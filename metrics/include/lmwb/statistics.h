// Aggregation statistics: closed-form standard errors, a seeded bootstrap, calibration and paired tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lmwb::metrics {

double mean(const std::vector<double>& v);
double sample_stddev(const std::vector<double>& v);  // n − 1 in the denominator
double mean_stderr(const std::vector<double>& v);    // sample_stddev / sqrt(n), as lm-evaluation-harness

// Deterministic item resampling: the same seed gives the same index lists on every platform.
class Resampler {
public:
    Resampler(std::size_t n, std::uint64_t seed);
    const std::vector<std::size_t>& next();  // n indices drawn with replacement

private:
    std::uint64_t state_;
    std::vector<std::size_t> idx_;
};

// A statistic over a list of item indices (with repeats).
using Statistic = std::function<double(const std::vector<std::size_t>& items)>;

struct Interval {
    double value = 0;     // the statistic on all items
    double stderr_ = 0;   // standard error
    double low = 0, high = 0;  // 95% interval
    std::string method;   // how low and high were found: "wilson", "percentile bootstrap", "bca bootstrap", "normal"
};

// Closed form for a mean: value ± 1.96 · stderr ("normal"; may leave the values' range on few items).
Interval normal_interval(const std::vector<double>& values);
// The interval a report gives the mean of per-item values. Every value 0 or 1 (a proportion): Wilson's score
// interval, never outside [0, 1]. Otherwise a percentile bootstrap of the mean, never outside the values' range.
// stderr is the closed-form sample stderr either way (lm-evaluation-harness's).
Interval mean_interval(const std::vector<double>& values, int iterations, std::uint64_t seed);
// Wilson's score interval (z = 1.96) of `successes` out of n.
std::pair<double, double> wilson(double successes, double n);
// Bootstrap of a statistic of the whole set of items (corpus BLEU, ECE, perplexity): stderr = sample standard
// deviation of the replicates; interval = BCa (bias-corrected and accelerated, Efron 1987: bias from the share of
// replicates below the estimate, acceleration from the jackknife, leaving out one item, or above 200 items one of 200
// contiguous groups).
Interval bootstrap_interval(std::size_t n, const Statistic& stat, int iterations, std::uint64_t seed);
// The standard normal quantile function (Acklam's approximation, relative error < 1.2e-9).
double normal_quantile(double p);

// Calibration of top-label confidences: expected calibration error with `bins` equal-mass bins (HELM's
// convention: bin edges half-way between neighbouring sorted confidences, items assigned by the first edge at or
// above their confidence; each bin weighs |mean correct − mean confidence| by its share of items).
double ece_equal_mass(const std::vector<double>& confidence, const std::vector<double>& correct, int bins = 10);
struct ReliabilityBin {
    double confidence_low = 0, confidence_high = 0, mean_confidence = 0, accuracy = 0;
    std::size_t count = 0;
};
std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& confidence, const std::vector<double>& correct, int bins = 10);
// The classic reliability diagram's bins (Guo et al. 2017): `bins` equal-width intervals of [0, 1], the last closed;
// empty bins are kept with count 0. For drawing: confidences of a strong model crowd into equal-mass bins near 1.
std::vector<ReliabilityBin> equal_width_bins(const std::vector<double>& confidence, const std::vector<double>& correct, int bins = 10);

// Multi-class Brier score of one item: Σ_c (p_c − [c = gold])².
double brier(const std::vector<double>& probabilities, int gold);
// Softmax of log-likelihoods (choices of one item).
std::vector<double> softmax(const std::vector<double>& logits);

// McNemar's test for paired binary outcomes: b = first right and second wrong, c = the reverse.
// Exact two-sided binomial test when b + c < 25, else χ² with continuity correction.
struct McNemar {
    std::size_t b = 0, c = 0;
    double statistic = 0;  // χ² (0 for the exact test)
    double p_value = 1;
    std::string method;    // "exact" or "chi2"
};
McNemar mcnemar(std::size_t b, std::size_t c);

// Paired bootstrap of the difference stat_b − stat_a over the same resampled items.
struct PairedDelta {
    double delta = 0, low = 0, high = 0;
    double p_value = 1;  // two-sided: twice the smaller share of replicates on either side of 0
};
PairedDelta paired_bootstrap(std::size_t n, const Statistic& a, const Statistic& b, int iterations, std::uint64_t seed);

// Paired randomization test of stat_b − stat_a: under the null each item's two results are exchangeable, so every
// way of swapping them between the runs is equally likely. `joint` is the statistic over 2n items, 0..n−1 run A's and
// n..2n−1 run B's. Exact over all 2^n swaps up to exact_up_to items; above, `draws`
// random swaps (sacreBLEU's paired approximate randomization), p = (hits + 1) / (draws + 1). Two-sided: a swap
// counts when |its difference| >= |the observed one| (within 1e-12 relative).
struct Randomization {
    double p_value = 1;
    double min_p_value = 0;  // the smallest p this test could give on these items
    std::size_t n = 0;       // items; for means, those whose two results differ (the others cannot swap)
    std::string method;      // "exact over 2^n swaps" or "approximate, N random swaps"
};
Randomization paired_randomization(std::size_t n, const Statistic& joint, int draws, std::uint64_t seed, std::size_t exact_up_to = 16);
// The same for per-item values (NaN: no value, left out with its pair): swaps of the items whose values differ,
// exact up to 20 of them (a sign-flip permutation test of the mean difference).
Randomization paired_randomization(const std::vector<double>& a, const std::vector<double>& b, int draws, std::uint64_t seed);

// A stable 64-bit hash (FNV-1a) for deriving seeds from names.
std::uint64_t stable_hash(const std::string& s, std::uint64_t seed = 0);

}  // namespace lmwb::metrics
