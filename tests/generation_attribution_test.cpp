// Attribution of generated text against scripts/reference/generation_attribution_reference.py (plain-PyTorch
// gradients of every continuation token with respect to every input embedding).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::attr;
using lmwb::test::fixture;

TEST_CASE("generated-text attribution equals the reference: grad, grad x input and IG rows over prompt and continuation", "[attribution][generation]") {
    std::ifstream in(fixture("models/generation_attribution_reference.json"));
    const auto ref = nlohmann::json::parse(in);
    for (std::string name : {"gpt2", "llama"}) {
        INFO(name);
        auto model = LanguageModel::open(fixture("models/" + name));
        const auto& want = ref["models"][name];
        for (auto [method, key] : {std::pair{Method::GradientXInput, "grad_x_input"}, std::pair{Method::Saliency, "grad_norm"},
                                   std::pair{Method::IntegratedGradients, "ig"}}) {
            INFO(key);
            GenerationAttributionOptions o;
            o.method = method;
            o.steps = ref["steps"].get<int>();
            o.internal_batch = 3;  // batches that do not divide the points
            auto r = explain_generation(*model, "the cat sat on", " the mat.", o);
            REQUIRE(r.prompt_tokens.size() == 4);
            REQUIRE(r.generated_tokens.size() == 3);
            const std::size_t C = r.columns();
            for (std::size_t j = 0; j < 3; ++j) {
                CHECK(r.token_logprobs[j] == Approx(want["token_logprobs"][j].get<double>()).margin(1e-4));
                for (std::size_t i = 0; i < C; ++i) {
                    INFO("row " << j << " column " << i);
                    const double expected = i < 4 + j ? want[key][j][i].get<double>() : 0.0;  // causal: nothing at or after itself
                    CHECK(r.matrix[j * C + i] == Approx(expected).margin(2e-4));
                }
            }
            if (method == Method::IntegratedGradients) {
                REQUIRE(r.deltas.size() == 3);
                for (std::size_t j = 0; j < 3; ++j) {
                    CHECK(r.baseline_logprobs[j] == Approx(want["baseline_logprobs"][j].get<double>()).margin(1e-4));
                    double row = 0;
                    for (std::size_t i = 0; i < C; ++i) row += r.matrix[j * C + i];
                    CHECK(r.deltas[j] == Approx(row - (r.token_logprobs[j] - r.baseline_logprobs[j])).margin(1e-9));
                }
                CHECK(r.evaluations == 10);  // 8 points and both ends
            }
        }
    }
}

TEST_CASE("generated-text attribution: the model's own greedy continuation, converging deltas, clear errors", "[attribution][generation]") {
    auto model = LanguageModel::open(fixture("models/gpt2"));
    GenerationAttributionOptions o;
    o.max_new_tokens = 4;
    o.steps = 64;
    auto r = explain_generation(*model, "the cat sat on", "", o);
    GenerationOptions g;
    g.max_new_tokens = 4;
    CHECK(r.continuation == model->generate("the cat sat on", g).text);
    REQUIRE(r.generated_tokens.size() == 4);
    for (double d : r.deltas) CHECK(std::abs(d) < 0.05);
    o.method = Method::Shap;
    CHECK_THROWS_WITH(explain_generation(*model, "the cat", " sat", o), Catch::Contains("grad, grad-x-input or ig"));
    o.method = Method::IntegratedGradients;
    o.baseline_token = 100000;
    CHECK_THROWS_WITH(explain_generation(*model, "the cat", " sat", o), Catch::Contains("--baseline-token 100000"));
    o.baseline_token = -1;
    o.max_new_tokens = 0;
    CHECK_THROWS_WITH(explain_generation(*model, "the cat", "", o), Catch::Contains("--max-new-tokens"));
}
