#include "lmwb/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include "lmwb/control.h"
#include "lmwb/text.h"

namespace lmwb::metrics {

namespace {

// Resampling loops stop on the caller's cancel token (lmwb/control.h), looked at every 32 replicates.
void check_cancel(int replicate) {
    if (replicate % 32 == 0)
        if (const CancelToken* t = CancelScope::current()) t->check();
}

// Linear interpolation between order statistics (numpy's default percentile).
double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    double pos = q * static_cast<double>(v.size() - 1);
    auto lo = static_cast<std::size_t>(std::floor(pos));
    auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

double mean(const std::vector<double>& v) {
    if (v.empty()) return 0;
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sample_stddev(const std::vector<double>& v) {
    if (v.size() < 2) return 0;
    double m = mean(v), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

double mean_stderr(const std::vector<double>& v) {
    return v.empty() ? 0 : sample_stddev(v) / std::sqrt(static_cast<double>(v.size()));
}

Resampler::Resampler(std::size_t n, std::uint64_t seed) : state_(seed), idx_(n) {}

const std::vector<std::size_t>& Resampler::next() {
    const std::uint64_t n = idx_.size();
    if (n == 0) return idx_;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // rejection keeps the draw unbiased
    for (auto& i : idx_) {
        std::uint64_t r;
        do r = text::splitmix64(state_);
        while (r >= limit);
        i = static_cast<std::size_t>(r % n);
    }
    return idx_;
}

Interval normal_interval(const std::vector<double>& values) {
    Interval r;
    r.value = mean(values);
    r.stderr_ = mean_stderr(values);
    r.low = r.value - 1.96 * r.stderr_;
    r.high = r.value + 1.96 * r.stderr_;
    r.method = "normal";
    return r;
}

std::pair<double, double> wilson(double k, double n) {
    if (n <= 0) return {0, 1};
    const double z = 1.959963984540054, p = k / n, z2n = z * z / n;
    const double centre = (p + z2n / 2) / (1 + z2n), half = z / (1 + z2n) * std::sqrt(p * (1 - p) / n + z2n / (4 * n));
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval mean_interval(const std::vector<double>& values, int iterations, std::uint64_t seed) {
    Interval r;
    r.value = mean(values);
    r.stderr_ = mean_stderr(values);
    r.low = r.high = r.value;
    if (std::all_of(values.begin(), values.end(), [](double x) { return x == 0 || x == 1; })) {
        r.method = "wilson";
        if (!values.empty()) std::tie(r.low, r.high) = wilson(r.value * static_cast<double>(values.size()), static_cast<double>(values.size()));
        return r;
    }
    r.method = "percentile bootstrap";
    if (values.size() < 2 || iterations < 2) return r;
    Resampler rs(values.size(), seed);
    std::vector<double> reps(static_cast<std::size_t>(iterations));
    for (std::size_t k = 0; k < reps.size(); ++k) {
        check_cancel(static_cast<int>(k));
        double s = 0;
        for (auto i : rs.next()) s += values[i];
        reps[k] = s / static_cast<double>(values.size());
    }
    r.low = percentile(reps, 0.025);
    r.high = percentile(reps, 0.975);
    return r;
}

double normal_quantile(double p) {
    if (!(p > 0)) return -std::numeric_limits<double>::infinity();
    if (!(p < 1)) return std::numeric_limits<double>::infinity();
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
    auto tail = [&](double q) {
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    };
    if (p < 0.02425) return tail(std::sqrt(-2 * std::log(p)));
    if (p > 1 - 0.02425) return -tail(std::sqrt(-2 * std::log(1 - p)));
    const double q = p - 0.5, t = q * q;
    return (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * q /
           (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
}

namespace {
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
// The acceleration's jackknife leaves out one of at most this many contiguous groups of items (one item each up to
// there): its cost stays a fraction of the bootstrap's whatever the suite's size.
constexpr std::size_t kJackknifeGroups = 200;
}  // namespace

Interval bootstrap_interval(std::size_t n, const Statistic& stat, int iterations, std::uint64_t seed) {
    Interval r;
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    r.value = stat(all);
    if (!std::isfinite(r.value)) r.value = 0;  // undefined over every item (e.g. no response has a token)
    r.method = "bca bootstrap";
    if (n < 2 || iterations < 2) {
        r.low = r.high = r.value;
        return r;
    }
    Resampler rs(n, seed);
    std::vector<double> reps;
    reps.reserve(static_cast<std::size_t>(iterations));
    // A resample on which the statistic is undefined (e.g. a perplexity of resampled items without tokens) says
    // nothing about the interval: it is left out, not counted as 0.
    for (int i = 0; i < iterations; ++i) {
        check_cancel(i);
        if (double x = stat(rs.next()); std::isfinite(x)) reps.push_back(x);
    }
    if (reps.size() < 2) {
        r.low = r.high = r.value;
        return r;
    }
    r.stderr_ = sample_stddev(reps);
    // Bias: the share of replicates below the estimate (ties count half), kept off 0 and 1 so z0 stays finite.
    const double B = static_cast<double>(reps.size());
    double below = 0;
    for (double x : reps) below += x < r.value ? 1.0 : x == r.value ? 0.5 : 0.0;
    const double z0 = normal_quantile(std::clamp(below / B, 1 / (B + 1), B / (B + 1)));
    // Acceleration: the skewness of the jackknife values (leave one item out, or one of kJackknifeGroups groups).
    double acc = 0;
    {
        const std::size_t groups = std::min(n, kJackknifeGroups);
        std::vector<double> jack;
        std::vector<std::size_t> rest;
        for (std::size_t g = 0; g < groups; ++g) {
            rest.clear();
            for (std::size_t k = 0; k < n; ++k)
                if (k * groups / n != g) rest.push_back(k);
            if (double x = stat(rest); std::isfinite(x)) jack.push_back(x);
        }
        const double m = mean(jack);
        double s2 = 0, s3 = 0;
        for (double x : jack) s2 += (m - x) * (m - x), s3 += (m - x) * (m - x) * (m - x);
        if (s2 > 0) acc = s3 / (6 * std::pow(s2, 1.5));
    }
    auto level = [&](double z) {
        const double shifted = z0 + z;
        return normal_cdf(z0 + shifted / (1 - acc * shifted));
    };
    const double z = 1.959963984540054;
    r.low = percentile(reps, level(-z));
    r.high = percentile(reps, level(z));
    return r;
}

namespace {
// Counts, mean confidence and accuracy of the items each falls in (bin_of: confidence -> bin index).
template <class BinOf>
void fill_bins(std::vector<ReliabilityBin>& out, const std::vector<double>& conf, const std::vector<double>& correct, BinOf bin_of) {
    const std::size_t n = std::min(conf.size(), correct.size());
    for (std::size_t i = 0; i < n; ++i) {
        auto& b = out[bin_of(conf[i])];
        b.count += 1;
        b.mean_confidence += conf[i];
        b.accuracy += correct[i];
    }
    for (auto& b : out)
        if (b.count) b.mean_confidence /= static_cast<double>(b.count), b.accuracy /= static_cast<double>(b.count);
}
}  // namespace

std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& conf, const std::vector<double>& correct, int bins) {
    std::vector<ReliabilityBin> out;
    std::size_t n = std::min(conf.size(), correct.size());
    if (n == 0 || bins <= 0) return out;
    std::vector<double> sorted(conf.begin(), conf.begin() + static_cast<std::ptrdiff_t>(n));
    std::sort(sorted.begin(), sorted.end());
    auto k = static_cast<std::size_t>(std::min<std::size_t>(static_cast<std::size_t>(bins), n));
    // Split the sorted confidences into k nearly equal groups (numpy.array_split sizes).
    std::vector<double> edges;
    std::size_t start = 0;
    for (std::size_t g = 0; g < k; ++g) {
        std::size_t size = n / k + (g < n % k ? 1 : 0);
        std::size_t end = start + size;
        if (g + 1 < k) edges.push_back((sorted[end - 1] + sorted[end]) / 2);
        start = end;
    }
    edges.push_back(1.0);
    std::sort(edges.begin(), edges.end());
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    out.resize(edges.size());
    for (std::size_t b = 0; b < edges.size(); ++b) {
        out[b].confidence_low = b ? edges[b - 1] : 0.0;
        out[b].confidence_high = edges[b];
    }
    fill_bins(out, conf, correct, [&edges](double c) {
        return std::min(static_cast<std::size_t>(std::lower_bound(edges.begin(), edges.end(), c) - edges.begin()), edges.size() - 1);
    });
    return out;
}

std::vector<ReliabilityBin> equal_width_bins(const std::vector<double>& conf, const std::vector<double>& correct, int bins) {
    std::vector<ReliabilityBin> out(static_cast<std::size_t>(std::max(0, bins)));
    for (std::size_t b = 0; b < out.size(); ++b) {
        out[b].confidence_low = static_cast<double>(b) / bins;
        out[b].confidence_high = static_cast<double>(b + 1) / bins;
    }
    if (bins > 0)
        fill_bins(out, conf, correct, [bins](double c) { return static_cast<std::size_t>(std::clamp(static_cast<int>(c * bins), 0, bins - 1)); });
    return out;
}

double ece_equal_mass(const std::vector<double>& conf, const std::vector<double>& correct, int bins) {
    auto rb = reliability_bins(conf, correct, bins);
    double n = 0, e = 0;
    for (auto& b : rb) n += static_cast<double>(b.count);
    for (auto& b : rb)
        if (b.count) e += static_cast<double>(b.count) / n * std::fabs(b.accuracy - b.mean_confidence);
    return e;
}

double brier(const std::vector<double>& p, int gold) {
    double s = 0;
    for (std::size_t c = 0; c < p.size(); ++c) {
        double y = static_cast<int>(c) == gold ? 1.0 : 0.0;
        s += (p[c] - y) * (p[c] - y);
    }
    return s;
}

std::vector<double> softmax(const std::vector<double>& x) {
    std::vector<double> p(x.size());
    if (x.empty()) return p;
    double m = *std::max_element(x.begin(), x.end()), z = 0;
    for (std::size_t i = 0; i < x.size(); ++i) z += p[i] = std::exp(x[i] - m);
    for (auto& v : p) v /= z;
    return p;
}

McNemar mcnemar(std::size_t b, std::size_t c) {
    McNemar r;
    r.b = b;
    r.c = c;
    std::size_t n = b + c;
    if (n == 0) {
        r.method = "exact";
        return r;
    }
    if (n < 25) {
        r.method = "exact";
        std::size_t k = std::min(b, c);
        // P(X <= k) for X ~ Binomial(n, 1/2), in logs for stability.
        double tail = 0;
        for (std::size_t i = 0; i <= k; ++i)
            tail += std::exp(std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(i) + 1) -
                             std::lgamma(static_cast<double>(n - i) + 1) - static_cast<double>(n) * std::log(2.0));
        r.p_value = std::min(1.0, 2 * tail);
    } else {
        r.method = "chi2";
        double d = std::fabs(static_cast<double>(b) - static_cast<double>(c)) - 1;
        r.statistic = d * d / static_cast<double>(n);
        r.p_value = std::erfc(std::sqrt(r.statistic / 2));  // χ² with one degree of freedom
    }
    return r;
}

PairedDelta paired_bootstrap(std::size_t n, const Statistic& a, const Statistic& b, int iterations, std::uint64_t seed) {
    PairedDelta r;
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    r.delta = b(all) - a(all);
    if (!std::isfinite(r.delta)) r.delta = 0;  // undefined over every item, as in bootstrap_interval
    r.low = r.high = r.delta;
    if (n < 2 || iterations < 2) return r;
    Resampler rs(n, seed);
    std::vector<double> d;
    std::size_t below = 0, above = 0;
    for (int i = 0; i < iterations; ++i) {
        check_cancel(i);
        const auto& idx = rs.next();
        double x = b(idx) - a(idx);
        if (!std::isfinite(x)) continue;  // undefined on this resample (see bootstrap_interval)
        d.push_back(x);
        below += x <= 0;
        above += x >= 0;
    }
    if (d.empty()) return r;
    r.low = percentile(d, 0.025);
    r.high = percentile(d, 0.975);
    r.p_value = std::min(1.0, 2.0 * static_cast<double>(std::min(below, above)) / static_cast<double>(d.size()));
    return r;
}

namespace {
bool at_least_as_extreme(double d, double observed) { return std::fabs(d) >= std::fabs(observed) * (1 - 1e-12) - 1e-300; }
}  // namespace

Randomization paired_randomization(std::size_t n, const Statistic& joint, int draws, std::uint64_t seed, std::size_t exact_up_to) {
    Randomization r;
    r.n = n;
    std::vector<std::size_t> ia(n), ib(n);
    auto diff = [&](auto swapped) {
        for (std::size_t i = 0; i < n; ++i) {
            const bool s = swapped(i);
            ia[i] = s ? n + i : i;
            ib[i] = s ? i : n + i;
        }
        return joint(ib) - joint(ia);
    };
    const double observed = diff([](std::size_t) { return false; });
    if (n == 0 || !std::isfinite(observed)) {
        r.method = "exact over 2^0 swaps";
        return r;
    }
    double hits = 0, total = 0;
    if (n <= exact_up_to) {
        // Half the assignments suffice: swapping every item mirrors the difference (A and B change places).
        const std::uint64_t half = std::uint64_t{1} << (n - 1);
        for (std::uint64_t mask = 0; mask < half; ++mask) {
            check_cancel(static_cast<int>(mask));
            const double d = diff([mask](std::size_t i) { return (mask >> i & 1) != 0; });
            if (!std::isfinite(d)) continue;
            total += 2;
            hits += at_least_as_extreme(d, observed) ? 2 : 0;
        }
        r.p_value = total > 0 ? hits / total : 1;
        r.min_p_value = total > 0 ? 2 / total : 1;
        r.method = "exact over 2^" + std::to_string(n) + " swaps";
        return r;
    }
    std::uint64_t state = seed;
    std::vector<bool> swap(n);
    for (int k = 0; k < draws; ++k) {
        check_cancel(k);
        for (std::size_t i = 0; i < n; ++i) swap[i] = (text::splitmix64(state) >> 63) != 0;
        const double d = diff([&swap](std::size_t i) { return swap[i]; });
        if (!std::isfinite(d)) continue;
        total += 1;
        hits += at_least_as_extreme(d, observed);
    }
    r.p_value = (hits + 1) / (total + 1);
    r.min_p_value = std::max(1 / (total + 1), std::ldexp(2.0, -static_cast<int>(std::min<std::size_t>(n, 1000))));
    r.method = "approximate, " + std::to_string(static_cast<long long>(total)) + " random swaps";
    return r;
}

Randomization paired_randomization(const std::vector<double>& a, const std::vector<double>& b, int draws, std::uint64_t seed) {
    std::vector<double> va, vb;
    std::size_t pairs = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (std::isnan(a[i]) || std::isnan(b[i])) continue;
        ++pairs;
        if (a[i] != b[i]) va.push_back(a[i]), vb.push_back(b[i]);
    }
    // Items with equal values shift both means alike under every swap: the test runs on the others, with the mean's
    // divisor (all pairs) unchanged, which does not change which swaps are as extreme.
    const std::size_t n = va.size();
    Statistic joint = [&](const std::vector<std::size_t>& idx) {
        double s = 0;
        for (auto i : idx) s += i < n ? va[i] : vb[i - n];
        return s / static_cast<double>(std::max<std::size_t>(pairs, 1));
    };
    return paired_randomization(n, joint, draws, seed, 20);
}

std::uint64_t stable_hash(const std::string& s, std::uint64_t seed) {
    std::uint64_t h = 1469598103934665603ull ^ seed;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

}  // namespace lmwb::metrics
