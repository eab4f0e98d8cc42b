// Clipped overlap of two count maps (n-grams, tokens): Σ min(a[k], b[k]).
#pragma once

#include <algorithm>

namespace lmwb::metrics {

template <class Counts>
double overlap(const Counts& a, const Counts& b) {
    double m = 0;
    for (const auto& [k, v] : a) {
        auto it = b.find(k);
        if (it != b.end()) m += std::min(v, it->second);
    }
    return m;
}

}  // namespace lmwb::metrics
