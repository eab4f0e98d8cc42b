// Aggregation statistics: closed-form standard errors, a seeded bootstrap, calibration and paired tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
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
};

// Closed form for a mean: value ± 1.96 · stderr.
Interval mean_interval(const std::vector<double>& values);
// Bootstrap: stderr = sample standard deviation of the replicates, interval = their 2.5 and 97.5 percentiles.
Interval bootstrap_interval(std::size_t n, const Statistic& stat, int iterations, std::uint64_t seed);

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

// A stable 64-bit hash (FNV-1a) for deriving seeds from names.
std::uint64_t stable_hash(const std::string& s, std::uint64_t seed = 0);

}  // namespace lmwb::metrics
