// Attribution patching against scripts/reference/attribution_patching_reference.py (its definition over the
// plain-PyTorch forwards, autograd at the corrupted run), next to exact activation patching of the same inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lmwb/circuits.h"
#include "lmwb/model.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::attr;
using lmwb::test::fixture;

namespace {

const nlohmann::json& reference() {
    static const nlohmann::json j = lmwb::test::json_fixture("models/attribution_patching_reference.json");
    return j;
}

std::string grid_name(Site s) { return s == Site::Residual ? "residual" : to_string(s); }

}  // namespace

TEST_CASE("attribution patching equals its definition on the fixtures, beside exact patching with their correlation", "[circuits][attribution-patching]") {
    for (std::string name : {"gpt2", "llama"}) {
        auto model = LanguageModel::open(fixture("models/" + name));
        for (bool foil : {false, true}) {
            INFO(name << (foil ? " logit difference" : " log-prob"));
            PatchingOptions o;
            o.corrupted = "the dog ran in the";
            if (foil) o.contrast = " park";
            const auto r = attribution_patching(*model, "the cat sat on the", " mat.", o);
            const auto& want = reference()["models"][name][foil ? "logit_diff" : "logprob"];
            CHECK(r.exact.clean == Approx(want["clean"].get<double>()).epsilon(1e-4));
            CHECK(r.exact.corrupted == Approx(want["corrupted"].get<double>()).epsilon(1e-4));
            REQUIRE(r.estimates.size() == 4);
            REQUIRE(r.correlation.size() == 4);
            for (std::size_t s = 0; s < r.estimates.size(); ++s) {
                const auto& e = r.estimates[s];
                const auto& grid = want[grid_name(e.site)];
                INFO(grid_name(e.site));
                REQUIRE(e.rows == static_cast<int>(grid.size()));
                REQUIRE(e.columns == static_cast<int>(grid[0].size()));
                for (int l = 0; l < e.rows; ++l)
                    for (int c = 0; c < e.columns; ++c)
                        CHECK(std::fabs(e.at(l, c) - grid[static_cast<std::size_t>(l)][static_cast<std::size_t>(c)].get<double>()) <= 1e-4);
                // The exact grid of the same shape, and the correlation between them.
                const PatchingGrid* exact = r.exact.grid(e.site);
                REQUIRE(exact);
                CHECK(exact->recovered.size() == e.recovered.size());
                CHECK(std::isfinite(r.correlation[s]));
                CHECK(std::fabs(r.correlation[s]) <= 1.0 + 1e-12);
            }
            // Restoring the whole last residual stream is exact patching's 1; the estimate at the last position of the
            // last layer is the same first-order reading of that restore.
        }
    }
}

TEST_CASE("attribution patching alone: no exact grids, the same estimates", "[circuits][attribution-patching]") {
    auto model = LanguageModel::open(fixture("models/gpt2"));
    PatchingOptions o;
    o.corrupted = "the dog ran in the";
    o.sites = {Site::Mlp};
    const auto fast = attribution_patching(*model, "the cat sat on the", " mat.", o, false);
    const auto full = attribution_patching(*model, "the cat sat on the", " mat.", o, true);
    CHECK(fast.exact.grids.empty());
    CHECK(fast.correlation.empty());
    CHECK(fast.exact.clean == Approx(full.exact.clean));
    CHECK(fast.exact.corrupted == Approx(full.exact.corrupted));
    REQUIRE(fast.estimates.size() == 1);
    for (std::size_t i = 0; i < fast.estimates[0].recovered.size(); ++i)
        CHECK(fast.estimates[0].recovered[i] == Approx(full.estimates[0].recovered[i]).margin(1e-9));
    // Noise corruption: the same seeded noise as exact patching's.
    PatchingOptions noisy;
    noisy.sites = {Site::Residual};
    const auto n = attribution_patching(*model, "the cat sat on the", " mat.", noisy, true);
    CHECK(n.exact.noise_std > 0);
    CHECK(std::isfinite(n.correlation[0]));
}
