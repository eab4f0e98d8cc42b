#include "lmwb/agreement.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace lmwb::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Ranks 1..n, ties sharing their average rank.
std::vector<double> ranks(const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
        const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
        for (std::size_t k = i; k <= j; ++k) r[order[k]] = avg;
        i = j + 1;
    }
    return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : kNaN;
}

}  // namespace

double cohen_kappa(const std::vector<double>& a, const std::vector<double>& b, KappaWeights weights) {
    if (a.size() != b.size() || a.empty()) return kNaN;
    std::vector<double> labels(a);
    labels.insert(labels.end(), b.begin(), b.end());
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    const std::size_t k = labels.size();
    auto pos = [&](double v) { return static_cast<std::size_t>(std::lower_bound(labels.begin(), labels.end(), v) - labels.begin()); };
    std::vector<double> confusion(k * k, 0), row(k, 0), col(k, 0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::size_t x = pos(a[i]), y = pos(b[i]);
        confusion[x * k + y] += 1, row[x] += 1, col[y] += 1;
    }
    const double n = static_cast<double>(a.size());
    double observed = 0, expected = 0;
    for (std::size_t x = 0; x < k; ++x)
        for (std::size_t y = 0; y < k; ++y) {
            const double d = std::fabs(static_cast<double>(x) - static_cast<double>(y));
            const double w = weights == KappaWeights::None ? (x == y ? 0.0 : 1.0) : weights == KappaWeights::Linear ? d : d * d;
            observed += w * confusion[x * k + y];
            expected += w * row[x] * col[y] / n;
        }
    return expected > 0 ? 1 - observed / expected : kNaN;
}

double fleiss_kappa(const std::vector<std::vector<double>>& counts) {
    if (counts.empty()) return kNaN;
    const std::size_t items = counts.size(), categories = counts.front().size();
    const double raters = std::accumulate(counts.front().begin(), counts.front().end(), 0.0);
    if (raters < 2) return kNaN;
    std::vector<double> category_share(categories, 0);
    double agreement = 0;
    for (const auto& row : counts) {
        double squares = 0;
        for (std::size_t c = 0; c < categories; ++c) category_share[c] += row[c], squares += row[c] * row[c];
        agreement += (squares - raters) / (raters * (raters - 1));
    }
    agreement /= static_cast<double>(items);
    double chance = 0;
    for (double s : category_share) chance += (s / (static_cast<double>(items) * raters)) * (s / (static_cast<double>(items) * raters));
    return chance < 1 ? (agreement - chance) / (1 - chance) : kNaN;
}

double krippendorff_alpha(const std::vector<std::vector<std::optional<double>>>& data, Scale scale) {
    std::size_t units = 0;
    for (const auto& rater : data) units = std::max(units, rater.size());
    // The coincidence matrix over the values that occur: o[c][k] = Σ_u (pairs c,k of different raters in u) / (m_u − 1).
    std::map<double, std::size_t> index;
    for (const auto& rater : data)
        for (const auto& v : rater)
            if (v) index.emplace(*v, 0);
    std::vector<double> values;
    for (auto& [v, i] : index) i = values.size(), values.push_back(v);
    const std::size_t k = values.size();
    std::vector<double> o(k * k, 0);
    for (std::size_t u = 0; u < units; ++u) {
        std::vector<std::size_t> present;
        for (const auto& rater : data)
            if (u < rater.size() && rater[u]) present.push_back(index[*rater[u]]);
        if (present.size() < 2) continue;
        const double weight = 1.0 / static_cast<double>(present.size() - 1);
        for (std::size_t i = 0; i < present.size(); ++i)
            for (std::size_t j = 0; j < present.size(); ++j)
                if (i != j) o[present[i] * k + present[j]] += weight;
    }
    std::vector<double> n_c(k, 0);
    for (std::size_t c = 0; c < k; ++c)
        for (std::size_t d = 0; d < k; ++d) n_c[c] += o[c * k + d];
    const double n = std::accumulate(n_c.begin(), n_c.end(), 0.0);
    if (n <= 1) return kNaN;
    auto delta2 = [&](std::size_t c, std::size_t d) {
        const double a = values[c], b = values[d];
        switch (scale) {
            case Scale::Nominal: return c == d ? 0.0 : 1.0;
            case Scale::Interval: return (a - b) * (a - b);
            case Scale::Ratio: return a + b != 0 ? ((a - b) / (a + b)) * ((a - b) / (a + b)) : 0.0;
            case Scale::Ordinal: {
                double between = 0;
                for (std::size_t g = std::min(c, d); g <= std::max(c, d); ++g) between += n_c[g];
                const double x = between - (n_c[c] + n_c[d]) / 2;
                return x * x;
            }
        }
        return 0.0;
    };
    double observed = 0, expected = 0;
    for (std::size_t c = 0; c < k; ++c)
        for (std::size_t d = 0; d < k; ++d) {
            const double w = delta2(c, d);
            observed += o[c * k + d] * w;
            expected += n_c[c] * n_c[d] * w;
        }
    observed /= n;
    expected /= n * (n - 1);
    return expected > 0 ? 1 - observed / expected : kNaN;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size() || x.size() < 2) return kNaN;
    return pearson(ranks(x), ranks(y));
}

}  // namespace lmwb::metrics
