// Attribution math against the published examples (../shared definitions: Captum's paper example, the sigmoid
// example, Shapley identities), and the methods on the bundled models: completeness, efficiency, convergence.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::attr;
using lmwb::test::ScratchDir;

namespace {

std::string model_path(const std::string& name) { return std::string(LMWB_MODELS) + "/" + name; }

// F(x) = ReLU(ReLU(x1) − 1 − ReLU(x2)) (Captum's test of the IG paper's example).
std::pair<double, std::vector<double>> paper(const std::vector<double>& x) {
    double u = std::max(0.0, x[0]) - 1 - std::max(0.0, x[1]);
    double on = u > 0 ? 1 : 0;
    return {std::max(0.0, u), {on * (x[0] > 0 ? 1 : 0), -on * (x[1] > 0 ? 1 : 0)}};
}

// F(x) = sigmoid(x1 − 2 x2 + 0.5 x3)
std::pair<double, std::vector<double>> sigmoid3(const std::vector<double>& x) {
    double z = x[0] - 2 * x[1] + 0.5 * x[2], s = 1 / (1 + std::exp(-z)), d = s * (1 - s);
    return {s, {d, -2 * d, 0.5 * d}};
}

const char* kPrompt = "Question: What color is the sky?\nAnswer:";

}  // namespace

TEST_CASE("quadrature rules: nodes in [0, 1], weights summing to 1, Gauss-Legendre exact on polynomials", "[attribution][ig]") {
    for (auto q : {Quadrature::GaussLegendre, Quadrature::RiemannLeft, Quadrature::RiemannRight, Quadrature::RiemannMiddle,
                   Quadrature::RiemannTrapezoid}) {
        auto r = quadrature_rule(q, 7);
        CHECK(std::accumulate(r.weights.begin(), r.weights.end(), 0.0) == Approx(1).epsilon(1e-12));
        CHECK(std::is_sorted(r.alphas.begin(), r.alphas.end()));
        CHECK(r.alphas.front() >= 0);
        CHECK(r.alphas.back() <= 1);
    }
    auto gl = quadrature_rule(Quadrature::GaussLegendre, 5);  // exact up to degree 9
    double s = 0;
    for (std::size_t k = 0; k < 5; ++k) s += gl.weights[k] * std::pow(gl.alphas[k], 9);
    CHECK(s == Approx(0.1).epsilon(1e-12));
    CHECK(quadrature_rule(Quadrature::RiemannTrapezoid, 3).alphas == std::vector<double>{0, 0.5, 1});
    CHECK_THROWS_AS(quadrature_from_name("simpson"), AttributionError);
}

TEST_CASE("integrated gradients reproduce the paper example", "[attribution][ig]") {
    std::vector<double> x = {3, 1}, b = {0, 0};
    for (auto q : {Quadrature::GaussLegendre, Quadrature::RiemannMiddle, Quadrature::RiemannRight}) {
        auto r = integrated_gradients(paper, x, b, 50, q);
        CHECK(r.attributions[0] == Approx(1.5).margin(1e-12));
        CHECK(r.attributions[1] == Approx(-0.5).margin(1e-12));
    }
    auto left = integrated_gradients(paper, x, b, 50, Quadrature::RiemannLeft);
    CHECK(left.attributions[0] == Approx(1.44).margin(1e-12));
    CHECK(left.attributions[1] == Approx(-0.48).margin(1e-12));
}

TEST_CASE("integrated gradients reproduce the sigmoid example and its deltas", "[attribution][ig]") {
    std::vector<double> x = {1, 0.3, 2}, b = {0, 0, 0};
    auto gl = integrated_gradients(sigmoid3, x, b, 50, Quadrature::GaussLegendre);
    CHECK(gl.value - gl.baseline_value == Approx(0.302184).margin(1e-6));
    CHECK(gl.attributions[0] == Approx(0.21585).margin(1e-5));
    CHECK(gl.attributions[1] == Approx(-0.12951).margin(1e-5));
    CHECK(gl.attributions[2] == Approx(0.21585).margin(1e-5));
    CHECK(std::fabs(gl.delta) < 1e-14);
    CHECK(integrated_gradients(sigmoid3, x, b, 50, Quadrature::RiemannMiddle).delta == Approx(3.1e-6).margin(0.1e-6));
    auto left = integrated_gradients(sigmoid3, x, b, 50, Quadrature::RiemannLeft);
    CHECK(left.delta == Approx(1.27e-3).margin(0.01e-3));
    CHECK(left.attributions[0] == Approx(0.21675).margin(1e-5));
    CHECK(left.attributions[1] == Approx(-0.13005).margin(1e-5));
    CHECK(integrated_gradients(sigmoid3, x, b, 50, Quadrature::RiemannRight).delta == Approx(-1.29e-3).margin(0.01e-3));
    // Our trapezoid's weights sum to 1 (Captum's to 1 − 1/n, delta −6.05e−3): far smaller delta.
    CHECK(std::fabs(integrated_gradients(sigmoid3, x, b, 50, Quadrature::RiemannTrapezoid).delta) < 1e-5);
}

TEST_CASE("Shapley values: exact, KernelSHAP and Partition on games with known values", "[attribution][shap]") {
    // f(S) = Σ a_i [i ∈ S] + b [0 ∈ S and 1 ∈ S] + c [2, 3, 4 all in S]: φ = a, with b split over 0 and 1 and c over 2, 3, 4.
    const int n = 8;
    std::vector<double> a = {0.5, -1, 2, 0.25, 1.5, -0.75, 0.1, 3};
    const double b = 2, c = -3;
    CoalitionValues game = [&](const std::vector<std::uint64_t>& cs) {
        std::vector<std::vector<double>> out;
        for (auto m : cs) {
            double v = 0;
            for (int i = 0; i < n; ++i) v += (m >> i & 1) ? a[static_cast<std::size_t>(i)] : 0;
            if ((m & 3) == 3) v += b;
            if ((m & 28) == 28) v += c;
            out.push_back({v, 2 * v});
        }
        return out;
    };
    std::vector<double> expect = a;
    expect[0] += b / 2, expect[1] += b / 2;
    for (int i : {2, 3, 4}) expect[static_cast<std::size_t>(i)] += c / 3;
    auto ex = shapley_exact(n, 2, game);
    CHECK(ex.evaluations == 256);
    for (int i = 0; i < n; ++i) {
        CHECK(ex.phi[0][static_cast<std::size_t>(i)] == Approx(expect[static_cast<std::size_t>(i)]).margin(1e-12));
        CHECK(ex.phi[1][static_cast<std::size_t>(i)] == Approx(2 * expect[static_cast<std::size_t>(i)]).margin(1e-12));
    }
    // KernelSHAP with every coalition affordable is exact; with fewer it is close and efficient exactly.
    auto full = kernel_shap(n, 2, game, 256, 1);
    for (int i = 0; i < n; ++i) CHECK(full.phi[0][static_cast<std::size_t>(i)] == Approx(expect[static_cast<std::size_t>(i)]).margin(1e-8));
    auto some = kernel_shap(n, 2, game, 64, 1);
    CHECK(some.evaluations <= 64);
    double sum = std::accumulate(some.phi[0].begin(), some.phi[0].end(), 0.0);
    CHECK(sum == Approx(some.full[0] - some.empty[0]).margin(1e-9));
    // Partition with the interacting features grouped: the Owen value equals the Shapley value here.
    std::vector<std::vector<int>> tree = {{n + 1, n + 2}, {0, 1, 5, 6}, {2, 3, 4, 7}};
    auto ow = partition_shap(n, 2, game, tree, 1000);
    for (int i = 0; i < n; ++i) CHECK(ow.phi[0][static_cast<std::size_t>(i)] == Approx(expect[static_cast<std::size_t>(i)]).margin(1e-12));
    CHECK(ow.evaluations < ex.evaluations);
    CHECK_THROWS_WITH(partition_shap(n, 2, game, tree, 10), Catch::Contains("raise --budget"));
    CHECK_THROWS_WITH(partition_shap(n, 2, game, {{0, 1}}, 1000), Catch::Contains("does not cover"));
}

TEST_CASE("KernelSHAP converges to the exact values as the budget grows", "[attribution][shap]") {
    const int n = 12;
    std::mt19937 rng(5);
    std::normal_distribution<double> g;
    std::vector<double> w(n), pair(n * n);
    for (auto& x : w) x = g(rng);
    for (auto& x : pair) x = 0.3 * g(rng);
    CoalitionValues game = [&](const std::vector<std::uint64_t>& cs) {
        std::vector<std::vector<double>> out;
        for (auto m : cs) {
            double v = 0;
            for (int i = 0; i < n; ++i) {
                if (!(m >> i & 1)) continue;
                v += w[static_cast<std::size_t>(i)];
                for (int j = i + 1; j < n; ++j)
                    if (m >> j & 1) v += pair[static_cast<std::size_t>(i * n + j)];
            }
            out.push_back({std::tanh(v)});
        }
        return out;
    };
    auto exact = shapley_exact(n, 1, game);
    auto err = [&](std::size_t budget) {
        auto k = kernel_shap(n, 1, game, budget, 3);
        double d = 0, s = 0;
        for (int i = 0; i < n; ++i) {
            double e = exact.phi[0][static_cast<std::size_t>(i)];
            d += (k.phi[0][static_cast<std::size_t>(i)] - e) * (k.phi[0][static_cast<std::size_t>(i)] - e);
            s += e * e;
        }
        return std::sqrt(d / s);
    };
    double e128 = err(128), e2048 = err(2048);
    CHECK(e2048 < e128);
    CHECK(e2048 < 0.05);
}

TEST_CASE("attention rollout rows sum to one", "[attribution][attention]") {
    std::vector<std::vector<double>> layers = {{1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5}, {1, 0, 0, 0.1, 0.9, 0, 0.6, 0.2, 0.2}};
    auto r = attention_rollout(layers, 3);
    for (int i = 0; i < 3; ++i) CHECK(r[static_cast<std::size_t>(i * 3)] + r[static_cast<std::size_t>(i * 3 + 1)] + r[static_cast<std::size_t>(i * 3 + 2)] == Approx(1));
    CHECK(r[1] == 0);  // causal: the first token attends only to itself
}

TEST_CASE("integrated gradients on the bundled models: completeness, rows, convergence", "[attribution][ig][model]") {
    for (const char* name : {"tiny-a", "tiny-b"}) {
        INFO(name);
        auto m = LanguageModel::open(model_path(name));
        auto eot = m->tokenizer().token_to_id("<|endoftext|>");
        REQUIRE(eot);
        Options o;
        o.baseline_token = *eot;
        double previous = INFINITY;
        for (int steps : {16, 256, 1024}) {
            o.steps = steps;
            o.internal_batch = 128;
            o.matrix = steps == 16;
            auto r = explain(*m, kPrompt, " blue", o);
            INFO(steps << " steps: delta " << r.delta);
            CHECK((std::fabs(r.delta) < previous || std::fabs(r.delta) < 1e-5));  // 1e-5: float32 rounding of the sums
            previous = std::fabs(r.delta);
            CHECK(r.evaluations == static_cast<std::size_t>(steps) + 2);
            if (o.matrix) {
                // Rows are per target token; their sum over rows is the per-token score.
                REQUIRE(r.matrix.size() == r.target_tokens.size() * r.prompt_tokens.size());
                for (std::size_t i = 0; i < r.prompt_tokens.size(); ++i) {
                    double col = 0;
                    for (std::size_t j = 0; j < r.target_tokens.size(); ++j) col += r.matrix[j * r.prompt_tokens.size() + i];
                    CHECK(col == Approx(r.scores[i]).margin(1e-6));
                }
            }
        }
        CHECK(previous < 1e-3);
        // Words hold the sum of their tokens' scores.
        auto r = explain(*m, kPrompt, " blue", o);
        double words = 0, tokens = 0;
        for (const auto& w : r.words) words += w.score;
        for (double s : r.scores) tokens += s;
        CHECK(words == Approx(tokens).margin(1e-9));
        CHECK(r.words.front().text == "Question:");
    }
}

TEST_CASE("gradient methods, SHAP and attention on a bundled model", "[attribution][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    Options o;
    o.method = Method::Saliency;
    auto sal = explain(*m, kPrompt, " blue", o);
    o.method = Method::GradientXInput;
    auto gxi = explain(*m, kPrompt, " blue", o);
    CHECK(gxi.target_logprob == Approx(sal.target_logprob));
    {
        // Both against central differences of the forward log-probability (no backward pass): saliency is the slope
        // along the token's gradient direction (the gradient's norm), gradient x input the slope along the token's
        // own embedding.
        std::vector<std::int32_t> pids, tids;
        for (const auto& t : sal.prompt_tokens) pids.push_back(t.id);
        for (const auto& t : sal.target_tokens) tids.push_back(t.id);
        const std::vector<float> x = m->embeddings(pids);
        const std::size_t D = x.size() / pids.size();
        const auto g = m->target_logprob_gradients(pids, tids, {x}).front().gradient;
        auto slope = [&](std::size_t i, const std::vector<double>& direction) {
            const double h = 1e-2;
            std::vector<float> plus = x, minus = x;
            for (std::size_t d = 0; d < D; ++d) {
                plus[i * D + d] += static_cast<float>(h * direction[d]);
                minus[i * D + d] -= static_cast<float>(h * direction[d]);
            }
            const auto f = m->target_logprob_gradients(pids, tids, {plus, minus});
            return (f[0].logprob - f[1].logprob) / (2 * h);
        };
        REQUIRE(sal.scores.size() == pids.size());
        for (std::size_t i = 0; i < pids.size(); ++i) {
            INFO("token " << i);
            double norm = 0;
            for (std::size_t d = 0; d < D; ++d) norm += static_cast<double>(g[i * D + d]) * g[i * D + d];
            norm = std::sqrt(norm);
            std::vector<double> unit(D), own(D);
            for (std::size_t d = 0; d < D; ++d) unit[d] = g[i * D + d] / norm, own[d] = x[i * D + d];
            CHECK(sal.scores[i] == Approx(slope(i, unit)).epsilon(0.02).margin(2e-3));
            CHECK(gxi.scores[i] == Approx(slope(i, own)).epsilon(0.02).margin(2e-3));
        }
    }

    o = {};
    o.method = Method::Shap;
    o.shap = Options::ShapAlgorithm::Exact;
    auto shap = explain(*m, "What color is the sky?", " blue", o);
    REQUIRE(shap.prompt_tokens.size() <= 12);
    CHECK(std::fabs(shap.delta) < 1e-9);  // efficiency
    CHECK(shap.evaluations == (1u << shap.prompt_tokens.size()));
    auto sc = m->score({{"What color is the sky?", " blue"}}).front();
    CHECK(shap.target_logprob == Approx(sc.logprob).margin(1e-4));
    o.shap = Options::ShapAlgorithm::Kernel;
    o.budget = 64;
    auto kern = explain(*m, "What color is the sky?", " blue", o);
    CHECK(std::fabs(kern.delta) < 1e-9);
    CHECK(kern.evaluations <= 64);
    o.shap = Options::ShapAlgorithm::Partition;
    o.budget = 4096;
    auto part = explain(*m, "What color is the sky? Answer in one word:", " blue", o);
    CHECK(std::fabs(part.delta) < 1e-9);
    o.shap_words = true;
    o.shap_delete = true;
    o.shap = Options::ShapAlgorithm::Exact;
    auto words = explain(*m, "What color is the sky?", " blue", o);
    CHECK(std::fabs(words.delta) < 1e-9);
    CHECK(words.evaluations == (1u << words.words.size()));

    o = {};
    o.method = Method::Attention;
    auto att = explain(*m, kPrompt, " blue", o);
    const std::size_t T = att.tokens.size();
    REQUIRE(att.attention.size() == T * T);
    for (std::size_t i = 0; i < T; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < T; ++j) s += att.attention[i * T + j];
        CHECK(s == Approx(1).margin(1e-5));
        for (std::size_t j = i + 1; j < T; ++j) CHECK(att.attention[i * T + j] == 0.0);  // causal: nothing after itself
        CHECK(att.attention[i * T + i] > 0.0);
    }
    o.method = Method::Rollout;
    auto roll = explain(*m, kPrompt, " blue", o);
    for (std::size_t i = 0; i < T; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < T; ++j) s += roll.attention[i * T + j];
        CHECK(s == Approx(1).margin(1e-9));
    }
    auto maps = attention_maps(*m, kPrompt, 1, 2);
    CHECK(maps.layers == m->info().layers);
    CHECK(maps.selected.size() == static_cast<std::size_t>(maps.length * maps.length));
    auto j = nlohmann::json::parse(to_json_text(att));
    CHECK(j["schema"] == "lmwb.attribution");
    CHECK(j["attention"].size() == T);

    // The model's own greedy output when no target is given.
    o = {};
    o.steps = 8;
    o.generated_target = true;
    auto own = explain(*m, kPrompt, "", o);
    CHECK(own.target == m->generate(kPrompt, [] {
        GenerationOptions g;
        g.max_new_tokens = 16;
        g.stop = {"\n"};
        return g;
    }()).text);
}

TEST_CASE("sampled uncertainty is seeded and its masses add up", "[attribution][uncertainty][model]") {
    auto m = LanguageModel::open(model_path("tiny-a"));
    UncertaintyOptions o;
    o.samples = 12;
    o.max_new_tokens = 6;
    auto a = sample_uncertainty(*m, kPrompt, o), b = sample_uncertainty(*m, kPrompt, o);
    CHECK(to_json_text(a) == to_json_text(b));
    double mass = 0;
    std::size_t count = 0;
    for (const auto& ans : a.answers) mass += ans.probability, count += ans.count;
    CHECK(mass == Approx(1));
    CHECK(count == 12);
    CHECK(a.self_consistency > 0);
    CHECK(a.self_consistency <= 1);
    {
        // Semantic entropy (Kuhn et al. 2023) from the samples themselves: each distinct sequence's probability,
        // normalised over the distinct sequences drawn, summed per cluster; and the discrete variant from counts.
        std::map<std::string, std::pair<double, int>> distinct;
        std::map<int, int> counts;
        for (const auto& s : a.samples) distinct[s.text] = {s.logprob, s.cluster}, counts[s.cluster] += 1;
        double z = 0;
        for (const auto& [text, v] : distinct) z += std::exp(v.first);
        std::map<int, double> cluster_mass;
        for (const auto& [text, v] : distinct) cluster_mass[v.second] += std::exp(v.first) / z;
        double h = 0, discrete = 0;
        for (const auto& [c, p] : cluster_mass) h -= p * std::log(p);
        for (const auto& [c, n] : counts) discrete -= n / 12.0 * std::log(n / 12.0);
        CHECK(a.clusters == cluster_mass.size());
        CHECK(a.semantic_entropy == Approx(h).margin(1e-9));
        CHECK(a.discrete_semantic_entropy == Approx(discrete).margin(1e-12));
        CHECK(a.semantic_entropy > 0);  // the drawn answers differ: something to measure
    }
    CHECK(a.predictive_entropy > 0);
    CHECK_FALSE(a.greedy.empty());
    o.clustering = "embedding";
    o.threshold = 0.99;
    auto e = sample_uncertainty(*m, kPrompt, o);
    CHECK(e.clusters >= 1);
    o.seed = 1;
    o.clustering = "exact";
    CHECK(to_json_text(sample_uncertainty(*m, kPrompt, o)) != to_json_text(a));
    o.clustering = "meaning";
    CHECK_THROWS_WITH(sample_uncertainty(*m, kPrompt, o), Catch::Contains("unknown clustering"));
}

TEST_CASE("NaN values or gradients are a clear error", "[attribution][errors][model]") {
    ScratchDir d;
    for (const char* f : {"config.json", "tokenizer.json", "model.safetensors"})
        std::filesystem::copy_file(model_path("tiny-a") + "/" + f, d.file(f));
    std::string bytes;
    {
        std::ifstream in(d.file("model.safetensors"), std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::uint64_t hlen = 0;
    std::memcpy(&hlen, bytes.data(), 8);
    std::string header = bytes.substr(8, hlen);
    auto at = header.find("\"model.norm.weight\"");
    REQUIRE(at != std::string::npos);
    auto off = header.find("\"data_offsets\":[", at);
    auto begin = std::stoull(header.substr(off + 16, header.find(',', off) - off - 16));
    for (int i = 0; i < 64; ++i) std::memcpy(bytes.data() + 8 + hlen + begin + 4 * static_cast<std::size_t>(i), "\x00\x00\xc0\x7f", 4);
    std::ofstream(d.file("model.safetensors"), std::ios::binary) << bytes;
    auto m = LanguageModel::open(d.path().string());
    CHECK_THROWS_WITH(explain(*m, kPrompt, " blue", {}), Catch::Contains("NaN or infinite"));
    Options o;
    o.method = Method::Shap;
    CHECK_THROWS_WITH(explain(*m, "What color is the sky?", " blue", o), Catch::Contains("NaN or infinite"));
}

TEST_CASE("attribution errors are clear", "[attribution][errors][model]") {
    auto m = LanguageModel::open(model_path("tiny-a"));
    Options o;
    o.baseline_text = "one two";
    CHECK_THROWS_WITH(explain(*m, kPrompt, " blue", o), Catch::Contains("baseline text has") && Catch::Contains("same number"));
    o = {};
    o.baseline_token = 1 << 20;
    CHECK_THROWS_WITH(explain(*m, kPrompt, " blue", o), Catch::Contains("outside the vocabulary"));
    o = {};
    o.method = Method::Attention;
    o.layer = 7;
    CHECK_THROWS_WITH(explain(*m, kPrompt, " blue", o), Catch::Contains("layer 7 does not exist"));
    o = {};
    o.method = Method::Shap;
    o.shap = Options::ShapAlgorithm::Exact;
    o.budget = 100;
    CHECK_THROWS_WITH(explain(*m, kPrompt, " blue", o), Catch::Contains("more than the budget"));
    CHECK_THROWS_WITH(explain(*m, "", " blue", {}), Catch::Contains("prompt has no tokens"));
    CHECK_THROWS_WITH(explain(*m, kPrompt, "", {}), Catch::Contains("the target is empty"));
    std::string long_prompt;
    for (int i = 0; i < 300; ++i) long_prompt += "the sky is blue ";
    CHECK_THROWS_WITH(explain(*m, long_prompt, " blue", {}), Catch::Contains("more than the model's context"));
    o = {};
    o.method = Method::Shap;
    o.shap = Options::ShapAlgorithm::Exact;
    o.budget = 1u << 30;
    CHECK_THROWS_WITH(explain(*m, "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
                                  "seventeen eighteen nineteen twenty twenty-one", " blue", o),
                      Catch::Contains("use --kernel or --partition"));
    CHECK_THROWS_WITH(method_from_name("lime"), Catch::Contains("unknown method 'lime'"));
    // A bundle without embedding methods: gradient methods say which capability is missing.
    auto bundle = LanguageModel::open(std::string(LMWB_FIXTURES) + "/torchscript/llama-forward-only");
    CHECK_THROWS_WITH(explain(*bundle, "hello world", " again", {}), Catch::Contains("embedding_gradients"));
    o = {};
    o.method = Method::Attention;
    CHECK_THROWS_WITH(explain(*bundle, "hello world", " again", o), Catch::Contains("attentions"));
}

TEST_CASE("every method reports progress in its own unit and stops on the core cancel token", "[attribution][control][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    struct Seen {
        std::vector<lmwb::Progress> all;
    };
    auto recorder = [](Seen& seen) {
        Control c;
        c.progress = [&seen](const lmwb::Progress& p) { seen.all.push_back(p); };
        return c;
    };
    auto monotone_to_total = [](const Seen& seen, const std::string& unit, std::size_t total) {
        REQUIRE_FALSE(seen.all.empty());
        for (std::size_t i = 0; i < seen.all.size(); ++i) {
            CHECK(seen.all[i].unit == unit);
            CHECK(seen.all[i].done <= seen.all[i].total);
            if (i) CHECK(seen.all[i].done >= seen.all[i - 1].done);
        }
        CHECK(seen.all.back().done == total);
        CHECK(seen.all.back().total == total);
    };
    {
        Seen seen;
        Options o;
        o.steps = 20;
        o.internal_batch = 4;
        o.control = recorder(seen);
        explain(*m, kPrompt, " blue", o);
        monotone_to_total(seen, "points", 22);  // 20 rule points and the two ends
        CHECK(seen.all.size() >= 6);            // one report per batch of 4
    }
    {
        Seen seen;
        Options o;
        o.method = Method::Shap;
        o.shap = Options::ShapAlgorithm::Exact;
        o.control = recorder(seen);
        auto r = explain(*m, "The sky is", " blue", o);
        monotone_to_total(seen, "coalitions", r.evaluations);
        CHECK(r.evaluations == (std::size_t{1} << r.prompt_tokens.size()));
    }
    {
        Seen seen;
        auto maps = attention_maps(*m, kPrompt, -1, -1, 0, recorder(seen));
        monotone_to_total(seen, "layers", static_cast<std::size_t>(maps.layers));
    }
    {
        Seen seen;
        UncertaintyOptions o;
        o.samples = 5;
        o.control = recorder(seen);
        sample_uncertainty(*m, kPrompt, o);
        monotone_to_total(seen, "samples", 6);  // the greedy answer and five samples
    }

    // A cancel requested while the work runs stops it with lmwb::Cancelled, not an AttributionError (so that, e.g.,
    // SHAP's automatic fallback from Partition to KernelSHAP never mistakes a cancel for a failure).
    auto cancel_at = [](std::size_t after) {
        Control c;
        auto calls = std::make_shared<std::size_t>(0);
        c.progress = [c_token = c.cancel, calls, after](const lmwb::Progress&) {
            if (++*calls > after) c_token.request();
        };
        return c;
    };
    Options ig;
    ig.steps = 64;
    ig.internal_batch = 4;
    ig.control = cancel_at(2);
    CHECK_THROWS_AS(explain(*m, kPrompt, " blue", ig), lmwb::Cancelled);
    Options shap;
    shap.method = Method::Shap;
    shap.shap = Options::ShapAlgorithm::Auto;  // Partition first, Kernel as the fallback
    shap.budget = 512;
    shap.batch_size = 2;
    shap.control = cancel_at(1);
    bool attribution_error = false;
    try {
        explain(*m, "Question: What color is the sky on a clear summer day at noon?\nAnswer:", " blue", shap);
    } catch (const lmwb::Cancelled&) {
    } catch (const AttributionError&) {
        attribution_error = true;
    }
    CHECK_FALSE(attribution_error);
    UncertaintyOptions u;
    u.samples = 50;
    u.control = cancel_at(3);
    CHECK_THROWS_AS(sample_uncertainty(*m, kPrompt, u), lmwb::Cancelled);
    // Requested before the call: the first layer of the first pass stops it.
    Control gone;
    gone.cancel.request();
    CHECK_THROWS_AS(attention_maps(*m, kPrompt, -1, -1, 0, gone), lmwb::Cancelled);
}

TEST_CASE("a cancel scope stops the engine's passes on its thread only while it lives", "[attribution][control][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    auto ids = m->tokenizer().encode(kPrompt, false).ids;
    std::vector<std::int32_t> target{ids.back()};
    std::vector<std::vector<float>> points(3, m->embeddings(ids));
    CancelToken token;
    {
        CancelScope scope(token);
        CHECK_NOTHROW(m->target_logprob_gradients(ids, target, points));  // not cancelled: runs as before
        token.request();
        CHECK_THROWS_AS(m->target_logprob_gradients(ids, target, points), lmwb::Cancelled);
        CHECK_THROWS_AS(m->score_tokens({{ids, target}}), lmwb::Cancelled);
    }
    // Outside the scope the token is not seen.
    CHECK_NOTHROW(m->score_tokens({{ids, target}}));
}

TEST_CASE("logit lens: the last layer's lens is the model's own output, ranks, targets and divergence", "[attribution][lens]") {
    auto model = LanguageModel::open(model_path("tiny-b"));
    auto lens = logit_lens(*model, kPrompt, " blue", 3);
    const int L = static_cast<int>(model->info().layers);
    REQUIRE(lens.rows == L + 1);
    REQUIRE(lens.length == static_cast<int>(lens.tokens.size()));
    std::vector<std::int32_t> ids;
    for (const auto& t : lens.tokens) ids.push_back(t.id);
    const auto logits = model->logits(ids);
    const auto V = logits.size() / ids.size();
    for (int p = 0; p < lens.length; ++p) {
        const auto& last = lens.at(L, p);
        CHECK(last.kl_to_final < 1e-6);
        // Its top token and the target's log-probability are the model's own.
        const float* row = logits.data() + static_cast<std::size_t>(p) * V;
        CHECK(last.top_ids.front() == static_cast<std::int32_t>(std::max_element(row, row + V) - row));
        double mx = *std::max_element(row, row + V), sum = 0;
        for (std::size_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
        const std::int32_t tgt = lens.targets[static_cast<std::size_t>(p)];
        REQUIRE(tgt >= 0);  // the next token, and " blue" after the prompt
        CHECK(last.target_logprob == Approx(row[tgt] - mx - std::log(sum)).margin(1e-5));
        CHECK(last.target_rank == 1 + static_cast<int>(std::count_if(row, row + V, [&](float x) { return x > row[tgt]; })));
        for (int r = 0; r <= L; ++r) {
            const auto& c = lens.at(r, p);
            REQUIRE(c.top_probs.size() == 3);
            CHECK(c.top_probs[0] >= c.top_probs[1]);
            CHECK(c.kl_to_final >= 0);
            CHECK((c.target_rank >= 1 && c.target_logprob <= 0));
        }
    }
    // tiny-b knows the answer by its last layer: " blue" ranks first there, not in the embeddings' lens.
    CHECK(lens.at(L, lens.length - 1).target_rank == 1);
    auto json = nlohmann::json::parse(to_json_text(lens));
    CHECK(json["schema"] == "lmwb.logit_lens");
    CHECK(json["rows"].size() == static_cast<std::size_t>(L + 1));
    CHECK(json["rows"][0]["after"] == "embeddings");
    CHECK_THROWS_WITH(logit_lens(*model, kPrompt, "", 0), Catch::Contains("--top-k"));
}

TEST_CASE("contrastive attribution: F = log p(target) - log p(foil), by linearity the difference of both", "[attribution][contrast]") {
    auto model = LanguageModel::open(model_path("tiny-b"));
    const char* prompt = "Question: What is the capital of France?\nAnswer:";
    for (Method method : {Method::GradientXInput, Method::IntegratedGradients, Method::Shap}) {
        INFO(to_string(method));
        Options o;
        o.method = method;
        o.steps = 16;
        o.shap = Options::ShapAlgorithm::Kernel;  // same seed and budget: the same coalitions for all three runs
        o.budget = 256;
        auto target = explain(*model, prompt, " Paris", o);
        auto foil = explain(*model, prompt, " Rome", o);
        o.contrast = " Rome";
        auto both = explain(*model, prompt, " Paris", o);
        CHECK(both.target_logprob == Approx(target.target_logprob - foil.target_logprob).margin(1e-4));
        REQUIRE(both.scores.size() == target.scores.size());
        double worst = 0;
        for (std::size_t i = 0; i < both.scores.size(); ++i)
            worst = std::max(worst, std::fabs(both.scores[i] - (target.scores[i] - foil.scores[i])));
        CHECK(worst < 1e-3);
        // Rows: the target's tokens, then the foil's (negated); their sum is the score.
        const std::size_t P = both.prompt_tokens.size(), rows = both.target_tokens.size() + both.contrast_tokens.size();
        REQUIRE(both.matrix.size() == rows * P);
        for (std::size_t i = 0; i < P; ++i) {
            double s = 0;
            for (std::size_t j = 0; j < rows; ++j) s += both.matrix[j * P + i];
            CHECK(s == Approx(both.scores[i]).margin(1e-6));
        }
        if (method == Method::IntegratedGradients) {  // F's baseline value and convergence delta are the differences too
            CHECK(both.baseline_logprob == Approx(target.baseline_logprob - foil.baseline_logprob).margin(1e-4));
            CHECK(both.delta == Approx(target.delta - foil.delta).margin(1e-3));
        }
        auto json = nlohmann::json::parse(to_json_text(both));
        CHECK(json["contrast"] == " Rome");
    }
    Options o;
    o.contrast = " Paris";
    CHECK_THROWS_WITH(explain(*model, prompt, " Paris", o), Catch::Contains("the foil is the target itself"));
    o.method = Method::Attention;
    o.contrast = " Rome";
    CHECK_THROWS_WITH(explain(*model, prompt, " Paris", o), Catch::Contains("--contrast applies to the gradient methods and SHAP"));
}

TEST_CASE("head summaries: entropy, first- and previous-token attention from the maps, induction on a repeated sequence", "[attribution][heads]") {
    auto model = LanguageModel::open(model_path("tiny-b"));
    const std::string text = "the cat sat on the mat and the dog ran in the park";
    auto s = head_summaries(*model, text, 24, 3);
    REQUIRE(s.layers == static_cast<int>(model->info().layers));
    REQUIRE(s.heads.size() == static_cast<std::size_t>(s.layers * s.heads_per_layer));
    // The same statistics from the trace's attention maps (another path through the engine).
    auto tr = model->trace(text, {true, false, {}});
    const auto T = static_cast<std::size_t>(tr.length), H = static_cast<std::size_t>(tr.heads);
    REQUIRE(static_cast<int>(T) == s.length);
    for (const auto& h : s.heads) {
        const float* a = tr.attentions.data() + (static_cast<std::size_t>(h.layer) * H + static_cast<std::size_t>(h.head)) * T * T;
        double entropy = 0, first = 0, previous = 0;
        for (std::size_t q = 0; q < T; ++q) {
            for (std::size_t k = 0; k <= q; ++k)
                if (a[q * T + k] > 0) entropy -= a[q * T + k] * std::log(static_cast<double>(a[q * T + k]));
            first += a[q * T];
            if (q) previous += a[q * T + q - 1];
        }
        INFO("layer " << h.layer << " head " << h.head);
        CHECK(h.entropy == Approx(entropy / static_cast<double>(T)).margin(1e-5));
        CHECK(h.first_token == Approx(first / static_cast<double>(T)).margin(1e-5));
        CHECK(h.previous_token == Approx(previous / static_cast<double>(T - 1)).margin(1e-5));
        CHECK((h.induction >= 0 && h.induction <= 1));
    }
    // Induction (Olsson et al. 2022; TransformerLens' induction score): on the random half repeated, the mean attention
    // of each second-copy position q to q - L + 1, the token that followed q's earlier occurrence.
    const int L = 24;
    REQUIRE(s.induction_tokens.size() == 2 * static_cast<std::size_t>(L));
    CHECK(std::equal(s.induction_tokens.begin(), s.induction_tokens.begin() + L, s.induction_tokens.begin() + L));
    stream_attentions(*model, s.induction_tokens, [&](int layer, int heads, int length, const float* a) {
        for (int h = 0; h < heads; ++h) {
            double score = 0;
            for (int q = L; q < length; ++q) score += a[(h * length + q) * length + q - L + 1];
            INFO("layer " << layer << " head " << h);
            CHECK(s.heads[static_cast<std::size_t>(layer * heads + h)].induction == Approx(score / L).margin(1e-6));
        }
    });
    // Seeded: the same seed, the same random sequence.
    auto again = head_summaries(*model, text, 24, 3), other = head_summaries(*model, text, 24, 4);
    CHECK(again.heads[0].induction == s.heads[0].induction);
    bool differs = false;
    for (std::size_t i = 0; i < s.heads.size(); ++i) differs = differs || other.heads[i].induction != s.heads[i].induction;
    CHECK(differs);
    CHECK(nlohmann::json::parse(to_json_text(s))["schema"] == "lmwb.heads");
    CHECK_THROWS_WITH(head_summaries(*model, text, 1), Catch::Contains("--repeat-length"));
    CHECK_THROWS_WITH(head_summaries(*model, text, 200), Catch::Contains("exceeds the model's context"));
}

TEST_CASE("display cells average unmasked positions only, and a window equals the full maps at token resolution", "[attribution][attention]") {
    // Reference: the trace's full [layer][head][T][T] maps (another path through the engine). Mistral's window of 5
    // masks positions below the diagonal too; 7 cells over ~30 tokens leave a shorter last block.
    for (const char* name : {"models/mistral", "models/gpt2"}) {
        INFO(name);
        auto model = LanguageModel::open(lmwb::test::fixture(name));
        const std::string text = "the cat sat on the mat and the dog ran in the park while the bird sang on the tree by the lake";
        const auto tr = model->trace(text, {true, false, {}});
        const auto T = static_cast<std::size_t>(tr.length), H = static_cast<std::size_t>(tr.heads);
        const std::size_t L = static_cast<std::size_t>(model->info().layers);
        auto full = [&](std::size_t l, std::size_t h, std::size_t q, std::size_t k) { return tr.attentions[((l * H + h) * T + q) * T + k]; };
        auto masked = [&](std::size_t l, std::size_t q, std::size_t k) {
            for (std::size_t h = 0; h < H; ++h)
                if (full(l, h, q, k) != 0.0f) return false;
            return true;
        };
        const auto maps = attention_maps(*model, text, -1, -1, 7);
        REQUIRE(static_cast<std::size_t>(maps.length) == T);
        const auto b = static_cast<std::size_t>(maps.block), D = static_cast<std::size_t>(maps.display);
        REQUIRE(b == (T + 6) / 7);
        REQUIRE(D == (T + b - 1) / b);
        CHECK(maps.head_mean.empty());
        REQUIRE(maps.heads_display.size() == L * H * D * D);
        REQUIRE(maps.mean_display.size() == L * D * D);
        std::size_t nan_cells = 0;
        for (std::size_t l = 0; l < L; ++l)
            for (std::size_t ci = 0; ci < D; ++ci)
                for (std::size_t cj = 0; cj < D; ++cj) {
                    double mean = 0, mx = 0;
                    std::vector<double> sums(H, 0.0);
                    std::size_t n = 0;
                    for (std::size_t q = ci * b; q < std::min(T, (ci + 1) * b); ++q)
                        for (std::size_t k = cj * b; k < std::min(T, (cj + 1) * b); ++k) {
                            if (masked(l, q, k)) continue;
                            ++n;
                            double m = 0;
                            for (std::size_t h = 0; h < H; ++h) {
                                sums[h] += full(l, h, q, k);
                                m += full(l, h, q, k) / static_cast<double>(H);
                                mx = std::max(mx, static_cast<double>(full(l, h, q, k)));
                            }
                            mean += m;
                        }
                    const std::size_t cell = (l * D + ci) * D + cj;
                    INFO("layer " << l << " cell " << ci << "," << cj);
                    if (n == 0) {
                        ++nan_cells;
                        CHECK(std::isnan(maps.mean_display[cell]));
                        CHECK(std::isnan(maps.max_display[cell]));
                        CHECK(std::isnan(maps.heads_display[(l * H * D + ci) * D + cj]));
                        continue;
                    }
                    CHECK(maps.mean_display[cell] == Approx(mean / static_cast<double>(n)).margin(1e-6));
                    CHECK(maps.max_display[cell] == Approx(mx).margin(1e-6));
                    for (std::size_t h = 0; h < H; ++h)
                        CHECK(maps.heads_display[((l * H + h) * D + ci) * D + cj] == Approx(sums[h] / static_cast<double>(n)).margin(1e-6));
                }
        CHECK(nan_cells >= L * D * (D - 1) / 2);  // at least the cells above the diagonal
        CHECK(maps.rollout.size() == T * T);

        // A window of tokens 5..23 of layer 1: the full maps' values, NaN where every head gives 0.
        const auto w = attention_window(*model, text, 1, 5, 23);
        REQUIRE(w.width() == 19);
        REQUIRE(static_cast<std::size_t>(w.heads) == H);
        std::size_t window_masked = 0;
        for (std::size_t q = 0; q < 19; ++q)
            for (std::size_t k = 0; k < 19; ++k) {
                const std::size_t tq = q + 5, tk = k + 5;
                if (masked(1, tq, tk)) {
                    ++window_masked;
                    CHECK(std::isnan(w.mean[q * 19 + k]));
                    continue;
                }
                double m = 0, mx = 0;
                for (std::size_t h = 0; h < H; ++h) {
                    CHECK(w.head_values[(h * 19 + q) * 19 + k] == Approx(full(1, h, tq, tk)).margin(1e-6));
                    m += full(1, h, tq, tk) / static_cast<double>(H);
                    mx = std::max(mx, static_cast<double>(full(1, h, tq, tk)));
                }
                CHECK(w.mean[q * 19 + k] == Approx(m).margin(1e-6));
                CHECK(w.max[q * 19 + k] == Approx(mx).margin(1e-6));
            }
        CHECK(window_masked >= 19 * 18 / 2);
        if (std::string(name) == "models/mistral") CHECK(window_masked > 19 * 18 / 2);  // the sliding window's too
        CHECK_THROWS_WITH(attention_window(*model, text, static_cast<int>(L), 0, 3), Catch::Contains("does not exist"));
        CHECK_THROWS_WITH(attention_window(*model, text, 0, 3, static_cast<int>(T)), Catch::Contains("not within"));
    }
}

TEST_CASE("exact SHAP over too many features says why, whatever the budget", "[attribution][errors][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    std::string prompt;
    for (int i = 0; i < 32; ++i) prompt += "sky ";
    Options o;
    o.method = Method::Shap;
    o.shap = Options::ShapAlgorithm::Exact;
    o.budget = std::size_t{1} << 40;
    CHECK_THROWS_WITH(explain(*m, prompt, " blue", o), Catch::Contains("at most 20 features") && !Catch::Contains("more than the budget"));
    o.budget = 1000;
    CHECK_THROWS_WITH(explain(*m, "What color is the sky? It is", " blue", o), Catch::Contains("more than the budget of 1000"));
}

TEST_CASE("SHAP past 63 features groups tokens into words, then words into spans, and still adds up", "[attribution][shap][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    Options o;
    o.method = Method::Shap;
    o.budget = 300;
    std::string words;  // 8 words of many tokens each: words are few enough
    for (int i = 0; i < 8; ++i) words += "Constantinople ";
    auto r = explain(*m, words, " blue", o);
    REQUIRE(r.prompt_tokens.size() > 63);
    CHECK(r.details.find("over 8 words (" + std::to_string(r.prompt_tokens.size()) + " tokens are more than SHAP's 63 features: grouped)") != std::string::npos);
    CHECK(std::fabs(r.delta) < 1e-6);  // Owen values are efficient: the scores sum to f(all) - f(none)
    std::string spans;  // 80 words: spans of two
    for (int i = 0; i < 40; ++i) spans += "the sky ";
    r = explain(*m, spans, " blue", o);
    CHECK(r.details.find("over 40 spans of 2 words") != std::string::npos);
    CHECK(std::fabs(r.delta) < 1e-6);
    // tokens of one span share its value
    CHECK(r.scores[0] == Approx(r.scores[1]).margin(1e-12));
    CHECK(r.evaluations <= o.budget);
}

TEST_CASE("end of text goes by one name: its vocabulary entry, in the greedy path and among the alternatives", "[attribution][uncertainty][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    UncertaintyOptions o;
    o.samples = 1;
    o.max_new_tokens = 4;
    o.alternatives = 8;
    auto r = sample_uncertainty(*m, "Question: What color is coal?\nAnswer:", o);
    bool eos_seen = false;
    for (const auto& step : r.greedy) {
        CHECK_FALSE(step.text.empty());
        for (const auto& [text, logprob] : step.alternatives) {
            CHECK_FALSE(text.empty());
            eos_seen = eos_seen || text == "<|endoftext|>";
        }
    }
    CHECK(eos_seen);
}

TEST_CASE("sampled uncertainty says when the prompt was cut to fit the context", "[attribution][uncertainty][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    UncertaintyOptions o;
    o.samples = 2;
    o.max_new_tokens = 2;
    CHECK_FALSE(sample_uncertainty(*m, "Question: What color is the sky?\nAnswer:", o).truncated);
    std::string longer;
    for (int i = 0; i < 300; ++i) longer += "sky ";
    auto r = sample_uncertainty(*m, longer, o);
    CHECK(r.truncated);
    CHECK(to_json_text(r).find("\"truncated\": true") != std::string::npos);
}

TEST_CASE("Gauss-Legendre rules: symmetric nodes, a cap instead of minutes of Newton steps", "[attribution][ig]") {
    for (int n : {1, 2, 7, 50, 301}) {
        auto r = quadrature_rule(Quadrature::GaussLegendre, n);
        REQUIRE(r.alphas.size() == static_cast<std::size_t>(n));
        double w = 0;
        for (std::size_t i = 0; i < r.alphas.size(); ++i) {
            w += r.weights[i];
            CHECK(r.alphas[i] == Approx(1 - r.alphas[r.alphas.size() - 1 - i]).margin(1e-12));
            if (i) CHECK(r.alphas[i] > r.alphas[i - 1]);
        }
        CHECK(w == Approx(1).margin(1e-12));
    }
    CHECK(quadrature_rule(Quadrature::GaussLegendre, kMaxGaussLegendreSteps).alphas.size() == static_cast<std::size_t>(kMaxGaussLegendreSteps));
    CHECK_THROWS_WITH(quadrature_rule(Quadrature::GaussLegendre, 200000), Catch::Contains("at most 10000 steps, not 200000"));
}

TEST_CASE("integrated gradients warn when the delta is large against what they explain", "[attribution][ig][model]") {
    auto m = LanguageModel::open(model_path("tiny-b"));
    Options o;
    o.method = Method::IntegratedGradients;
    auto zero = explain(*m, kPrompt, " blue", o);  // zero embedding, 50 steps: delta 9.6 against a gap of 6.6
    REQUIRE(zero.warnings.size() == 1);
    CHECK_THAT(zero.warnings[0], Catch::Contains("convergence delta") && Catch::Contains("token baseline"));
    o.baseline_token = 0;
    o.steps = 128;
    auto token = explain(*m, kPrompt, " blue", o);
    CHECK(std::fabs(token.delta) < 0.05 * std::fabs(token.target_logprob - token.baseline_logprob));
    CHECK(token.warnings.empty());
    CHECK(nlohmann::json::parse(to_json_text(zero))["warnings"].size() == 1);
}
