// Agreement statistics against Fleiss (1971)'s table (psychiatric diagnoses, 30 patients x 6 raters), the worked
// example of Wikipedia's "Fleiss' kappa" article (10 subjects x 14 raters), Krippendorff (2011)'s worked example and
// the values scikit-learn, statsmodels and scipy compute (tests/fixtures/metrics/agreement_reference.json, written by
// scripts/reference/agreement_reference.py).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "lmwb/agreement.h"

using namespace lmwb::metrics;
using nlohmann::json;

namespace {
json reference() {
    std::ifstream in(std::string(LMWB_FIXTURES) + "/metrics/agreement_reference.json");
    return json::parse(in);
}
}  // namespace

TEST_CASE("Fleiss' kappa: Fleiss (1971)'s Table 1 (30 patients, 6 raters) and statsmodels", "[metrics][agreement]") {
    const json j = reference()["fleiss_1971"];
    auto table = j["table"].get<std::vector<std::vector<double>>>();
    REQUIRE(table.size() == 30);
    CHECK(fleiss_kappa(table) == Approx(j["kappa"].get<double>()).margin(1e-12));
    CHECK(fleiss_kappa(table) == Approx(0.430).margin(5e-4));  // as Fleiss (1971) published
}

TEST_CASE("Fleiss' kappa: Wikipedia's worked example (10 subjects, 14 raters) and statsmodels", "[metrics][agreement]") {
    const json j = reference()["fleiss_wikipedia"];
    auto table = j["table"].get<std::vector<std::vector<double>>>();
    REQUIRE(table.size() == 10);
    CHECK(fleiss_kappa(table) == Approx(j["kappa"].get<double>()).margin(1e-12));
    CHECK(fleiss_kappa(table) == Approx(0.210).margin(5e-4));  // as Wikipedia's "Fleiss' kappa" article gives it
}

TEST_CASE("Cohen's kappa, unweighted and weighted, as scikit-learn", "[metrics][agreement]") {
    const json j = reference()["cohen"];
    auto a = j["a"].get<std::vector<double>>(), b = j["b"].get<std::vector<double>>();
    CHECK(cohen_kappa(a, b) == Approx(j["kappa"].get<double>()).margin(1e-12));
    CHECK(cohen_kappa(a, b, KappaWeights::Linear) == Approx(j["linear"].get<double>()).margin(1e-12));
    CHECK(cohen_kappa(a, b, KappaWeights::Quadratic) == Approx(j["quadratic"].get<double>()).margin(1e-12));
    CHECK(cohen_kappa(a, a) == Approx(1));
}

TEST_CASE("Krippendorff's alpha on his worked example, every scale, missing values", "[metrics][agreement]") {
    const json j = reference()["krippendorff"];
    std::vector<std::vector<std::optional<double>>> data;
    for (const auto& rater : j["data"]) {
        data.emplace_back();
        for (const auto& v : rater) data.back().push_back(v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()));
    }
    const std::pair<const char*, Scale> scales[] = {{"nominal", Scale::Nominal}, {"ordinal", Scale::Ordinal}, {"interval", Scale::Interval}, {"ratio", Scale::Ratio}};
    for (auto [name, scale] : scales) {
        INFO(name);
        CHECK(krippendorff_alpha(data, scale) == Approx(j["alpha"][name].get<double>()).margin(1e-12));
    }
    CHECK(krippendorff_alpha(data, Scale::Nominal) == Approx(0.743).margin(5e-4));  // published
    CHECK(krippendorff_alpha(data, Scale::Interval) == Approx(0.849).margin(5e-4));
}

TEST_CASE("Spearman's rho with ties, as scipy", "[metrics][agreement]") {
    const json j = reference()["spearman"];
    CHECK(spearman(j["judge"].get<std::vector<double>>(), j["human"].get<std::vector<double>>()) == Approx(j["rho"].get<double>()).margin(1e-12));
    CHECK(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}
