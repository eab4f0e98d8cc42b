// How many rows (IG points, SHAP coalitions, patched runs) one pass takes when the user did not say: as many as the
// model's activation budget holds (lmwb/memory_estimate.h), instead of a fixed count that a large model does not fit.
#pragma once

#include <algorithm>
#include <cstddef>

#include "lmwb/memory_estimate.h"
#include "lmwb/model.h"

namespace lmwb::attr {

// `asked` when > 0; otherwise the largest count up to `most` whose pass (`shape` with that many rows) the estimate
// puts within m.activation_budget(), and at least 1 (the model then refuses a single row that does not fit, with the
// numbers).
inline std::size_t rows_per_pass(const LanguageModel& m, int asked, PassShape shape, std::size_t most) {
    if (asked > 0) return static_cast<std::size_t>(asked);
    const std::size_t budget = m.activation_budget();
    std::size_t lo = 1, hi = std::max<std::size_t>(1, most);
    while (lo < hi) {  // the estimate grows with the rows
        const std::size_t mid = lo + (hi - lo + 1) / 2;
        shape.rows = static_cast<std::int64_t>(mid);
        if (estimate_activation_bytes(m.info(), shape) <= budget) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

}  // namespace lmwb::attr
