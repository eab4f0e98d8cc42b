// What the SAE methods share (attribution/src): an SAE's rows of a hook value, the check that it fits the model, a
// dot product in double.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lmwb/attribution.h"
#include "lmwb/sae.h"

namespace lmwb::attr {

// The SAE's rows of a hook value: [T][d_in], a head's slice of attn.hook_z ([T][heads][head_dim]) or all heads.
struct HookRows {
    const SaeConfig& c;
    std::int64_t width(const HookValue& v) const { return c.point.kind == HookKind::Z ? v.shape[1] * v.shape[2] : v.shape[1]; }
    std::int64_t offset() const { return c.hook_head_index >= 0 ? c.hook_head_index * c.d_in : 0; }
    std::vector<float> read(const HookValue& v) const {
        const std::int64_t T = v.shape[0], W = width(v);
        if (c.hook_head_index < 0 && W != c.d_in)
            throw AttributionError(c.hook_name + " has width " + std::to_string(W) + " in this model, the SAE's d_in is " + std::to_string(c.d_in));
        std::vector<float> out(static_cast<std::size_t>(T * c.d_in));
        for (std::int64_t t = 0; t < T; ++t)
            std::copy_n(v.data + t * W + offset(), c.d_in, out.begin() + t * c.d_in);
        return out;
    }
    void write(HookValue& v, const std::vector<float>& rows) const {
        const std::int64_t T = v.shape[0], W = width(v);
        for (std::int64_t t = 0; t < T; ++t) std::copy_n(rows.begin() + t * c.d_in, c.d_in, v.data + t * W + offset());
    }
};

inline void check(const LanguageModel& model, const SparseAutoencoder& sae) {
    try {
        sae.check_fits(model.info());
    } catch (const SaeError& e) {
        throw AttributionError(e.what());
    }
}

inline double dot(const float* a, const float* b, std::int64_t n) {
    double s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return s;
}

}  // namespace lmwb::attr
