#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "lmwb/attribution.h"

namespace lmwb::attr {

namespace {

// C(n, k), exact for the sizes used here (n <= 63 fits a double's 53 bits up to C(63, 31) ~ 9e17, rounded).
double choose(int n, int k) {
    double c = 1;
    for (int i = 1; i <= k; ++i) c = c * (n - k + i) / i;
    return std::round(c);
}

// |S|! (n − |S| − 1)! / n!
double shapley_weight(int n, int s) { return std::exp(std::lgamma(s + 1.0) + std::lgamma(n - s + 0.0) - std::lgamma(n + 1.0)); }

std::uint64_t full_mask(int n) { return n >= 64 ? ~0ull : (1ull << n) - 1; }

// Evaluates coalitions once each, whatever order and repeats the algorithms ask for.
class Cache {
public:
    Cache(const CoalitionValues& f, std::size_t outputs) : f_(f), outputs_(outputs) {}
    void need(std::uint64_t m) {
        if (!values_.count(m) && queued_.insert(m).second) pending_.push_back(m);
    }
    void flush() {
        if (pending_.empty()) return;
        auto v = f_(pending_);
        if (v.size() != pending_.size()) throw AttributionError("the value function returned the wrong number of results");
        for (std::size_t i = 0; i < pending_.size(); ++i) {
            if (v[i].size() != outputs_) throw AttributionError("the value function returned the wrong number of outputs");
            values_[pending_[i]] = std::move(v[i]);
        }
        pending_.clear();
        queued_.clear();
    }
    const std::vector<double>& at(std::uint64_t m) const { return values_.at(m); }
    std::size_t size() const { return values_.size(); }
    std::size_t pending() const { return pending_.size(); }

private:
    const CoalitionValues& f_;
    std::size_t outputs_;
    std::map<std::uint64_t, std::vector<double>> values_;
    std::vector<std::uint64_t> pending_;
    std::set<std::uint64_t> queued_;
};

ShapleyResult start(Cache& cache, int n, std::size_t outputs, const char* algorithm) {
    ShapleyResult r;
    r.algorithm = algorithm;
    cache.need(0);
    cache.need(full_mask(n));
    cache.flush();
    r.empty = cache.at(0);
    r.full = cache.at(full_mask(n));
    r.phi.assign(outputs, std::vector<double>(static_cast<std::size_t>(n), 0.0));
    return r;
}

// Solves A x = b (small, symmetric positive definite up to rounding) by Gaussian elimination with pivoting.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
    const std::size_t n = b.size();
    for (std::size_t c = 0; c < n; ++c) {
        std::size_t p = c;
        for (std::size_t r = c + 1; r < n; ++r)
            if (std::fabs(a[r][c]) > std::fabs(a[p][c])) p = r;
        std::swap(a[c], a[p]);
        std::swap(b[c], b[p]);
        if (std::fabs(a[c][c]) < 1e-300) continue;
        for (std::size_t r = c + 1; r < n; ++r) {
            double f = a[r][c] / a[c][c];
            for (std::size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
            b[r] -= f * b[c];
        }
    }
    std::vector<double> x(n, 0.0);
    for (std::size_t c = n; c-- > 0;) {
        double s = b[c];
        for (std::size_t k = c + 1; k < n; ++k) s -= a[c][k] * x[k];
        x[c] = std::fabs(a[c][c]) < 1e-300 ? 0.0 : s / a[c][c];
    }
    return x;
}

}  // namespace

ShapleyResult shapley_exact(int n, std::size_t outputs, const CoalitionValues& value) {
    if (n < 1 || n > 24) throw AttributionError("exact Shapley values take 1 to 24 features; use KernelSHAP or Partition for " + std::to_string(n));
    Cache cache(value, outputs);
    const std::uint64_t all = full_mask(n);
    // Everything in batches of the caller's choosing: one call with all coalitions.
    for (std::uint64_t m = 0; m <= all; ++m) cache.need(m);
    cache.flush();
    ShapleyResult r = start(cache, n, outputs, "exact");
    for (std::uint64_t m = 0; m <= all; ++m) {
        int s = __builtin_popcountll(m);
        for (int i = 0; i < n; ++i) {
            if (m & (1ull << i)) continue;
            double w = shapley_weight(n, s);
            const auto& with = cache.at(m | (1ull << i));
            const auto& without = cache.at(m);
            for (std::size_t o = 0; o < outputs; ++o) r.phi[o][static_cast<std::size_t>(i)] += w * (with[o] - without[o]);
        }
    }
    r.evaluations = cache.size();
    return r;
}

ShapleyResult kernel_shap(int n, std::size_t outputs, const CoalitionValues& value, std::size_t budget, std::uint64_t seed) {
    if (n < 1 || n > 63) throw AttributionError("KernelSHAP takes 1 to 63 features");
    if (budget < 4) throw AttributionError("KernelSHAP needs a budget of at least 4 evaluations");
    Cache cache(value, outputs);
    ShapleyResult r = start(cache, n, outputs, "kernel");
    if (n == 1) {
        for (std::size_t o = 0; o < outputs; ++o) r.phi[o][0] = r.full[o] - r.empty[o];
        r.evaluations = cache.size();
        return r;
    }
    // Weighted coalitions: (mask, weight). Sizes 1 and n−1, 2 and n−2, ... are enumerated whole while the budget
    // allows (they carry most of the kernel's weight), the remaining sizes sampled in complementary pairs.
    std::map<std::uint64_t, double> weights;
    std::size_t left = budget - 2;
    std::vector<double> size_mass(static_cast<std::size_t>(n), 0.0);
    for (int s = 1; s < n; ++s) size_mass[static_cast<std::size_t>(s)] = (n - 1.0) / (s * (n - s + 0.0));  // total kernel mass of size s
    int lo = 1;
    for (; lo <= n / 2; ++lo) {
        int hi = n - lo;
        double count = choose(n, lo) * (lo == hi ? 1 : 2);
        if (count > static_cast<double>(left) || count > 1e7) break;
        std::vector<int> both = lo == hi ? std::vector<int>{lo} : std::vector<int>{lo, hi};
        for (int s : both) {
            // Every subset of size s: per-subset kernel weight (n−1) / (C(n,s) s (n−s)).
            double w = size_mass[static_cast<std::size_t>(s)] / choose(n, s);
            std::vector<int> idx(static_cast<std::size_t>(s));
            std::iota(idx.begin(), idx.end(), 0);
            while (true) {
                std::uint64_t m = 0;
                for (int i : idx) m |= 1ull << i;
                weights[m] += w;
                int k = s - 1;
                while (k >= 0 && idx[static_cast<std::size_t>(k)] == n - s + k) --k;
                if (k < 0) break;
                ++idx[static_cast<std::size_t>(k)];
                for (int j = k + 1; j < s; ++j) idx[static_cast<std::size_t>(j)] = idx[static_cast<std::size_t>(j - 1)] + 1;
            }
        }
        left -= static_cast<std::size_t>(count);
    }
    // The remaining sizes, stratified: each class {s, n−s} gets a share of the pairs proportional to its kernel
    // mass; within a class, distinct random subsets of size s with their complements, weighted so that the class
    // carries its full mass.
    std::vector<int> classes;
    std::vector<double> class_mass;
    for (int s = lo; s <= n / 2; ++s) {
        classes.push_back(s);
        class_mass.push_back(size_mass[static_cast<std::size_t>(s)] + (s == n - s ? 0.0 : size_mass[static_cast<std::size_t>(n - s)]));
    }
    const std::size_t pairs = left / 2;
    if (!classes.empty() && pairs > 0) {
        std::mt19937_64 rng(seed);
        double total = std::accumulate(class_mass.begin(), class_mass.end(), 0.0);
        std::vector<std::size_t> share(classes.size());
        std::vector<std::pair<double, std::size_t>> rest;
        std::size_t given = 0;
        for (std::size_t c = 0; c < classes.size(); ++c) {
            double exact = static_cast<double>(pairs) * class_mass[c] / total;
            share[c] = static_cast<std::size_t>(exact);
            given += share[c];
            rest.push_back({exact - static_cast<double>(share[c]), c});
        }
        std::sort(rest.rbegin(), rest.rend());
        for (std::size_t k = 0; given < pairs && k < rest.size(); ++k, ++given) ++share[rest[k].second];
        for (std::size_t c = 0; c < classes.size(); ++c) {
            const int sz = classes[c];
            const double available = choose(n, sz) / (sz == n - sz ? 2.0 : 1.0);  // distinct {subset, complement} pairs
            std::size_t k = static_cast<std::size_t>(std::min<double>(static_cast<double>(share[c]), available));
            if (k == 0) continue;
            std::set<std::uint64_t> drawn;
            std::vector<int> perm(static_cast<std::size_t>(n));
            std::iota(perm.begin(), perm.end(), 0);
            while (drawn.size() < k) {
                std::shuffle(perm.begin(), perm.end(), rng);
                std::uint64_t m = 0;
                for (int i = 0; i < sz; ++i) m |= 1ull << perm[static_cast<std::size_t>(i)];
                std::uint64_t key = std::min(m, full_mask(n) & ~m);
                drawn.insert(sz == n - sz ? key : m);
            }
            const double kk = static_cast<double>(k);
            for (std::uint64_t m : drawn) {
                if (sz == n - sz) {
                    weights[m] += size_mass[static_cast<std::size_t>(sz)] / (2 * kk);
                    weights[full_mask(n) & ~m] += size_mass[static_cast<std::size_t>(sz)] / (2 * kk);
                } else {
                    weights[m] += size_mass[static_cast<std::size_t>(sz)] / kk;
                    weights[full_mask(n) & ~m] += size_mass[static_cast<std::size_t>(n - sz)] / kk;
                }
            }
        }
    }
    for (auto& [m, w] : weights) cache.need(m);
    cache.flush();
    // Weighted least squares for φ_0..φ_{n−2}; φ_{n−1} = Δ − Σ others (efficiency exactly).
    const std::size_t k = static_cast<std::size_t>(n - 1);
    for (std::size_t o = 0; o < outputs; ++o) {
        double delta = r.full[o] - r.empty[o];
        std::vector<std::vector<double>> a(k, std::vector<double>(k, 0.0));
        std::vector<double> b(k, 0.0), z(k);
        for (const auto& [m, w] : weights) {
            double zl = (m >> (n - 1)) & 1 ? 1.0 : 0.0;
            for (std::size_t i = 0; i < k; ++i) z[i] = ((m >> i) & 1 ? 1.0 : 0.0) - zl;
            double y = cache.at(m)[o] - r.empty[o] - zl * delta;
            for (std::size_t i = 0; i < k; ++i) {
                if (z[i] == 0) continue;
                b[i] += w * z[i] * y;
                for (std::size_t j = 0; j < k; ++j) a[i][j] += w * z[i] * z[j];
            }
        }
        for (std::size_t i = 0; i < k; ++i) a[i][i] += 1e-12;
        auto phi = solve(a, b);
        double sum = 0;
        for (std::size_t i = 0; i < k; ++i) r.phi[o][i] = phi[i], sum += phi[i];
        r.phi[o][k] = delta - sum;
    }
    r.evaluations = cache.size();
    return r;
}

ShapleyResult partition_shap(int n, std::size_t outputs, const CoalitionValues& value, const std::vector<std::vector<int>>& groups,
                             std::size_t budget) {
    if (n < 1 || n > 63) throw AttributionError("Partition SHAP takes 1 to 63 features");
    if (groups.empty()) throw AttributionError("Partition SHAP needs a hierarchy");
    // Members (feature masks) of every node.
    std::vector<std::uint64_t> members(groups.size(), 0);
    std::function<std::uint64_t(int)> collect = [&](int node) {
        std::uint64_t m = 0;
        for (int c : groups[static_cast<std::size_t>(node)]) m |= c < n ? 1ull << c : collect(c - n);
        return members[static_cast<std::size_t>(node)] = m;
    };
    if (collect(0) != full_mask(n)) throw AttributionError("the hierarchy does not cover every feature once");

    // Owen value, recursively: a node's children play a Shapley game within every context (the features present
    // outside the node, each context with its probability); each child then splits its share among its own children
    // in the contexts extended by the coalitions of its siblings.
    struct Context {
        std::uint64_t present;
        double weight;
    };
    Cache cache(value, outputs);
    ShapleyResult r = start(cache, n, outputs, "partition");
    // Two passes: first list the coalitions needed (to batch and check the budget), then combine.
    for (int pass = 0; pass < 2; ++pass) {
        std::function<void(int, const std::vector<Context>&)> visit;
        visit = [&](int node, const std::vector<Context>& contexts) {
            const auto& kids = groups[static_cast<std::size_t>(node)];
            const int m = static_cast<int>(kids.size());
            if (m > 20) throw AttributionError("a node of the hierarchy has more than 20 children");
            auto mask_of = [&](int c) { return c < n ? 1ull << c : members[static_cast<std::size_t>(c - n)]; };
            for (int k = 0; k < m; ++k) {
                std::vector<Context> inner;
                for (const auto& ctx : contexts) {
                    for (std::uint64_t sub = 0; sub < (1ull << m); ++sub) {
                        if (sub & (1ull << k)) continue;
                        std::uint64_t with_sibs = ctx.present;
                        for (int j = 0; j < m; ++j)
                            if (sub & (1ull << j)) with_sibs |= mask_of(kids[static_cast<std::size_t>(j)]);
                        double w = ctx.weight * shapley_weight(m, __builtin_popcountll(sub));
                        int kid = kids[static_cast<std::size_t>(k)];
                        if (pass == 0) {
                            cache.need(with_sibs);
                            cache.need(with_sibs | mask_of(kid));
                        } else if (kid < n) {
                            const auto& a = cache.at(with_sibs | mask_of(kid));
                            const auto& b = cache.at(with_sibs);
                            for (std::size_t o = 0; o < outputs; ++o) r.phi[o][static_cast<std::size_t>(kid)] += w * (a[o] - b[o]);
                        }
                        inner.push_back({with_sibs, w});
                    }
                }
                int kid = kids[static_cast<std::size_t>(k)];
                if (kid >= n) {
                    // Merge equal contexts so that deep trees stay polynomial.
                    std::map<std::uint64_t, double> merged;
                    for (const auto& c : inner) merged[c.present] += c.weight;
                    std::vector<Context> next;
                    for (const auto& [p, w] : merged) next.push_back({p, w});
                    visit(kid - n, next);
                }
            }
        };
        visit(0, {{0, 1.0}});
        if (pass == 0) {
            if (cache.size() + cache.pending() > budget)
                throw AttributionError("Partition SHAP over this hierarchy needs " + std::to_string(cache.size() + cache.pending()) +
                                       " model evaluations, more than the budget of " + std::to_string(budget) + " (raise --budget)");
            cache.flush();
        }
    }
    r.evaluations = cache.size();
    return r;
}

}  // namespace lmwb::attr
