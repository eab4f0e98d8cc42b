// Report equality for runs that differ in batch size, thread count or sharding: float32 products summed in
// another order move log-probabilities in the sixth or seventh digit, so numbers compare with a tolerance while
// everything else (ids, texts, predictions, counts) must be identical.
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace lmwb::test {

// Empty when equal; else the path of the first difference.
inline std::string json_difference(const nlohmann::json& a, const nlohmann::json& b, double tolerance = 1e-5,
                                   const std::string& path = "") {
    if (a.is_number() && b.is_number() && (a.is_number_float() || b.is_number_float())) {
        double x = a.get<double>(), y = b.get<double>();
        double scale = std::max({1.0, std::fabs(x), std::fabs(y)});
        return std::fabs(x - y) <= tolerance * scale ? "" : path + ": " + a.dump() + " vs " + b.dump();
    }
    if (a.type() != b.type()) return path + ": types differ";
    if (a.is_object()) {
        if (a.size() != b.size()) return path + ": different keys";
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (!b.contains(it.key())) return path + "/" + it.key() + ": missing";
            auto d = json_difference(it.value(), b[it.key()], tolerance, path + "/" + it.key());
            if (!d.empty()) return d;
        }
        return "";
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return path + ": lengths differ";
        for (std::size_t i = 0; i < a.size(); ++i) {
            auto d = json_difference(a[i], b[i], tolerance, path + "/" + std::to_string(i));
            if (!d.empty()) return d;
        }
        return "";
    }
    return a == b ? "" : path + ": " + a.dump() + " vs " + b.dump();
}

}  // namespace lmwb::test
