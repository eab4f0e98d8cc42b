#include <algorithm>
#include <cmath>

#include "lmwb/attribution.h"

namespace lmwb::attr {

Quadrature quadrature_from_name(const std::string& name) {
    if (name == "gausslegendre" || name == "gauss-legendre") return Quadrature::GaussLegendre;
    if (name == "riemann_left" || name == "left") return Quadrature::RiemannLeft;
    if (name == "riemann_right" || name == "right") return Quadrature::RiemannRight;
    if (name == "riemann_middle" || name == "middle") return Quadrature::RiemannMiddle;
    if (name == "riemann_trapezoid" || name == "trapezoid") return Quadrature::RiemannTrapezoid;
    throw AttributionError("unknown quadrature '" + name + "' (gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid)");
}

std::string to_string(Quadrature q) {
    switch (q) {
    case Quadrature::GaussLegendre: return "gausslegendre";
    case Quadrature::RiemannLeft: return "riemann_left";
    case Quadrature::RiemannRight: return "riemann_right";
    case Quadrature::RiemannMiddle: return "riemann_middle";
    case Quadrature::RiemannTrapezoid: return "riemann_trapezoid";
    }
    return "?";
}

Rule quadrature_rule(Quadrature q, int n) {
    if (n < 1) throw AttributionError("integrated gradients needs at least one step");
    Rule r;
    const double dn = n;
    switch (q) {
    case Quadrature::GaussLegendre:
        if (n > kMaxGaussLegendreSteps)
            throw AttributionError("Gauss-Legendre integration takes at most " + std::to_string(kMaxGaussLegendreSteps) + " steps, not " +
                                   std::to_string(n) + " (each step is a forward and backward pass; 50-300 reach a small delta)");
        // Roots of the Legendre polynomial P_n by Newton's method, mapped from [-1, 1] to [0, 1]. The roots are
        // symmetric: the first half is found, the second mirrored.
        for (int i = 0; i < (n + 1) / 2; ++i) {
            double x = std::cos(M_PI * (i + 0.75) / (dn + 0.5)), dp = 0;
            for (int it = 0; it < 100; ++it) {
                double p0 = 1, p1 = x;
                for (int k = 2; k <= n; ++k) {
                    double p2 = ((2.0 * k - 1) * x * p1 - (k - 1.0) * p0) / k;
                    p0 = p1;
                    p1 = p2;
                }
                if (n == 1) p0 = 1, p1 = x;
                dp = dn * (x * p1 - p0) / (x * x - 1);
                double dx = p1 / dp;
                x -= dx;
                if (std::fabs(dx) < 1e-16) break;
            }
            if (2 * i + 1 == n) x = 0;  // the middle root of an odd n
            const double w = 1.0 / ((1 - x * x) * dp * dp);  // 2 / (...) on [-1, 1], halved for [0, 1]
            r.alphas.push_back((x + 1) / 2);
            r.weights.push_back(w);
            if (2 * i + 1 != n) r.alphas.push_back((1 - x) / 2), r.weights.push_back(w);
        }
        break;
    case Quadrature::RiemannLeft:
    case Quadrature::RiemannRight:
    case Quadrature::RiemannMiddle: {
        double shift = q == Quadrature::RiemannLeft ? 0 : q == Quadrature::RiemannRight ? 1 : 0.5;
        for (int k = 0; k < n; ++k) r.alphas.push_back((k + shift) / dn), r.weights.push_back(1 / dn);
        break;
    }
    case Quadrature::RiemannTrapezoid:
        if (n < 2) throw AttributionError("the trapezoid rule needs at least two steps");
        for (int k = 0; k < n; ++k) {
            r.alphas.push_back(k / (dn - 1));
            r.weights.push_back((k == 0 || k == n - 1 ? 0.5 : 1.0) / (dn - 1));
        }
        break;
    }
    // Ascending nodes (Newton found them from the right end).
    std::vector<std::size_t> order(r.alphas.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return r.alphas[a] < r.alphas[b]; });
    Rule sorted;
    for (auto i : order) sorted.alphas.push_back(r.alphas[i]), sorted.weights.push_back(r.weights[i]);
    return sorted;
}

IgResult integrated_gradients(const GradientFunction& f, const std::vector<double>& x, const std::vector<double>& baseline,
                              int steps, Quadrature q) {
    if (x.size() != baseline.size()) throw AttributionError("the baseline and the input differ in size");
    Rule rule = quadrature_rule(q, steps);
    std::vector<double> avg(x.size(), 0.0), point(x.size());
    for (std::size_t k = 0; k < rule.alphas.size(); ++k) {
        for (std::size_t i = 0; i < x.size(); ++i) point[i] = baseline[i] + rule.alphas[k] * (x[i] - baseline[i]);
        auto g = f(point).second;
        for (std::size_t i = 0; i < x.size(); ++i) avg[i] += rule.weights[k] * g[i];
    }
    IgResult r;
    r.value = f(x).first;
    r.baseline_value = f(baseline).first;
    double sum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        r.attributions.push_back((x[i] - baseline[i]) * avg[i]);
        sum += r.attributions.back();
    }
    r.delta = sum - (r.value - r.baseline_value);
    return r;
}

}  // namespace lmwb::attr
