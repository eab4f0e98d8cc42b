#include "lmwb/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lmwb/text.h"

namespace lmwb::metrics {

namespace {

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

Interval mean_interval(const std::vector<double>& values) {
    Interval r;
    r.value = mean(values);
    r.stderr_ = mean_stderr(values);
    r.low = r.value - 1.96 * r.stderr_;
    r.high = r.value + 1.96 * r.stderr_;
    return r;
}

Interval bootstrap_interval(std::size_t n, const Statistic& stat, int iterations, std::uint64_t seed) {
    Interval r;
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    r.value = stat(all);
    if (!std::isfinite(r.value)) r.value = 0;  // undefined over every item (e.g. no response has a token)
    if (n < 2 || iterations < 2) {
        r.low = r.high = r.value;
        return r;
    }
    Resampler rs(n, seed);
    std::vector<double> reps;
    reps.reserve(static_cast<std::size_t>(iterations));
    // A resample on which the statistic is undefined (e.g. a perplexity of resampled items without tokens) says
    // nothing about the interval: it is left out, not counted as 0.
    for (int i = 0; i < iterations; ++i)
        if (double x = stat(rs.next()); std::isfinite(x)) reps.push_back(x);
    if (reps.size() < 2) {
        r.low = r.high = r.value;
        return r;
    }
    r.stderr_ = sample_stddev(reps);
    r.low = percentile(reps, 0.025);
    r.high = percentile(reps, 0.975);
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

std::uint64_t stable_hash(const std::string& s, std::uint64_t seed) {
    std::uint64_t h = 1469598103934665603ull ^ seed;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

}  // namespace lmwb::metrics
