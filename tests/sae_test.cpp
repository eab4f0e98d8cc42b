// Sparse autoencoders against scripts/reference/sae_reference.py (SAELens's definitions in plain PyTorch, on
// random-weight SAEs at several hook points of the GPT-2 and Llama fixtures, stored as SAELens folders and Gemma Scope
// params.npz), a case worked out by hand, and the refusals.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "lmwb/model.h"
#include "lmwb/sae.h"
#include "lmwb/sae_methods.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::attr;
using lmwb::test::fixture;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const nlohmann::json& reference() {
    static const nlohmann::json j = lmwb::test::json_fixture("sae/expected.json");
    return j;
}

const LanguageModel& model(const std::string& name) {
    static std::map<std::string, std::unique_ptr<LanguageModel>> models;
    auto& m = models[name];
    if (!m) m = LanguageModel::open(fixture("models/" + name));
    return *m;
}

std::unique_ptr<SparseAutoencoder> load(const nlohmann::json& e) {
    const std::string path = fixture("sae/" + e["path"].get<std::string>());
    return SparseAutoencoder::load(path, path.size() > 4 && path.substr(path.size() - 4) == ".npz" ? e["hook"].get<std::string>() : "");
}

const char* kPrompt = "the cat sat on the";
const char* kTarget = " mat.";
const char* kFoil = " park";

bool close(double a, double b, double tol = 1e-4) { return std::fabs(a - b) <= tol * (1 + std::fabs(b)); }

std::vector<std::string> names() {
    std::vector<std::string> out;
    for (auto& [name, e] : reference()["saes"].items()) out.push_back(name);
    return out;
}

}  // namespace

TEST_CASE("an SAE worked out by hand: standard, JumpReLU with a strict threshold, TopK", "[sae]") {
    // W_enc [[1, 0, 1], [0, 1, -1]], b_enc [0, -0.5, 0], W_dec rows [1, 0], [0, 1], [1, -1], b_dec [0.5, -0.5].
    // x = [1.5, 1.2]: x - b_dec = [1.0, 1.7]; pre = [1.0, 1.2, -0.7].
    const std::vector<float> x = {1.5f, 1.2f};
    auto standard = SparseAutoencoder::load(fixture("sae/hand-standard"));
    auto s = standard->run(x, 1);
    CHECK(s.features == std::vector<float>{1.0f, 1.2f, 0.0f});  // relu(pre)
    CHECK(s.reconstruction[0] == Approx(1.5));                 // 1·[1,0] + 1.2·[0,1] + b_dec = [1.5, 0.7]
    CHECK(s.reconstruction[1] == Approx(0.7));
    // threshold [0.5, 1.2, 0]: 1.2 is not above 1.2, so feature 1 is off: f = [1, 0, 0], x̂ = [1.5, -0.5].
    auto jump = SparseAutoencoder::load(fixture("sae/hand-jumprelu"))->run(x, 1);
    CHECK(jump.features == std::vector<float>{1.0f, 0.0f, 0.0f});
    CHECK(jump.reconstruction[0] == Approx(1.5));
    CHECK(jump.reconstruction[1] == Approx(-0.5));
    // k = 1: only the largest, 1.2: x̂ = 1.2·[0, 1] + b_dec = [0.5, 0.7].
    auto topk = SparseAutoencoder::load(fixture("sae/hand-topk"))->run(x, 1);
    CHECK(topk.features == std::vector<float>{0.0f, 1.2f, 0.0f});
    CHECK(topk.reconstruction[0] == Approx(0.5));
    CHECK(topk.reconstruction[1] == Approx(0.7));
    // Decoding other features with the same rows: feature 2 at 1 adds [1, -1].
    auto y = standard->decode({1.0f, 1.2f, 1.0f}, x, 1);
    CHECK(y[0] == Approx(2.5));
    CHECK(y[1] == Approx(-0.3));
}

TEST_CASE("SAE features, reconstruction and spliced-in loss equal the PyTorch reference", "[sae]") {
    const auto name = GENERATE(from_range(names()));
    INFO(name);
    const auto& e = reference()["saes"][name];
    const auto& m = model(e["model"].get<std::string>());
    auto sae = load(e);
    CHECK(sae->config().hook_name == e["hook"].get<std::string>());
    SaeOptions o;
    o.top_k = static_cast<int>(sae->config().d_sae);  // every active feature
    const auto r = sae_features(m, *sae, kPrompt, kTarget, o);
    const auto& want = e["features"];
    REQUIRE(r.per_token.size() == want["features"].size());
    for (std::size_t t = 0; t < r.per_token.size(); ++t) {
        INFO("token " << t);
        CHECK(r.per_token[t].l0 == want["l0"][t].get<int>());
        std::map<int, float> got;
        for (const auto& f : r.per_token[t].top) got[f.feature] = f.activation;
        for (std::size_t i = 0; i < want["features"][t].size(); ++i) {
            const double v = want["features"][t][i].get<double>();
            if (v > 0) {
                INFO("feature " << i);
                REQUIRE(got.count(static_cast<int>(i)));
                CHECK(close(got[static_cast<int>(i)], v));
            }
        }
        for (std::size_t k = 1; k < r.per_token[t].top.size(); ++k) CHECK(r.per_token[t].top[k - 1].activation >= r.per_token[t].top[k].activation);
    }
    CHECK(close(r.variance_explained, want["variance_explained"].get<double>()));
    CHECK(close(r.mse, want["mse"].get<double>()));
    CHECK(close(r.ce_clean, want["ce_clean"].get<double>()));
    CHECK(close(r.ce_spliced, want["ce_spliced"].get<double>()));
    CHECK(close(r.ce_zero, want["ce_zero"].get<double>()));
    REQUIRE(r.target_logprob);
    CHECK(close(*r.target_logprob, want["target_logprob"].get<double>()));
    CHECK(close(*r.target_logprob_spliced, want["target_logprob_spliced"].get<double>()));
    REQUIRE(r.ce_loss_score);
    CHECK(close(*r.ce_loss_score, (r.ce_zero - r.ce_spliced) / (r.ce_zero - r.ce_clean), 1e-9));
    // A topk SAE's L0 is k at every token.
    if (sae->config().architecture == "topk")
        for (const auto& t : r.per_token) CHECK(t.l0 <= sae->config().k);
}

TEST_CASE("SAE feature attribution (gradient × activation, integrated gradients, the error node) equals the reference", "[sae]") {
    const auto name = GENERATE(from_range(names()));
    const auto& e = reference()["saes"][name];
    if (!e.contains("attribution")) return;  // normalizing SAEs: refused, tested below
    for (const char* which : {"attribution", "attribution_foil"}) {
        INFO(name << " " << which);
        const auto& want = e[which];
        const bool foil = want["foil"].get<bool>();
        auto sae = load(e);
        SaeOptions o;
        o.steps = want["steps"].get<int>();
        o.features = 100000;
        const auto r = sae_attribution(model(e["model"].get<std::string>()), *sae, kPrompt, kTarget, foil ? kFoil : "", o);
        CHECK(r.metric == (foil ? "logit_diff" : "logprob"));
        CHECK(close(r.value, want["value"].get<double>()));
        CHECK(close(r.baseline, want["baseline"].get<double>()));
        std::map<std::pair<int, int>, const SaeContribution*> got;
        for (const auto& c : r.contributions) got[{c.position, c.feature}] = &c;
        REQUIRE(got.size() == want["contributions"].size());
        double sum = 0;
        for (const auto& w : want["contributions"]) {
            const int feature = w["feature"].is_string() ? -1 : w["feature"].get<int>();
            INFO("position " << w["position"] << " feature " << feature);
            auto it = got.find({w["position"].get<int>(), feature});
            REQUIRE(it != got.end());
            CHECK(std::fabs(it->second->gradient_x_activation - w["gradient_x_activation"].get<double>()) <= 2e-4 * (1 + std::fabs(w["gradient_x_activation"].get<double>())));
            CHECK(std::fabs(it->second->integrated_gradients - w["integrated_gradients"].get<double>()) <= 2e-4 * (1 + std::fabs(w["integrated_gradients"].get<double>())));
            sum += w["integrated_gradients"].get<double>();
        }
        // The parts add up to F(x) − F(b_dec) within the delta, theirs and ours.
        CHECK(std::fabs(r.delta) <= 0.02 * std::fabs(r.value - r.baseline) + 1e-3);
        CHECK(std::fabs((sum - (want["value"].get<double>() - want["baseline"].get<double>())) - r.delta) <= 1e-3);
        // Largest |IG| first among the features, then the error nodes.
        for (std::size_t k = 1; k < r.contributions.size() && r.contributions[k].feature >= 0; ++k)
            CHECK(std::fabs(r.contributions[k - 1].integrated_gradients) >= std::fabs(r.contributions[k].integrated_gradients));
    }
}

TEST_CASE("ablating or clamping an SAE feature keeps the error and equals the reference", "[sae]") {
    const auto name = GENERATE(from_range(names()));
    const auto& e = reference()["saes"][name];
    auto sae = load(e);
    for (const auto& want : e["ablation"]) {
        INFO(name << " feature " << want["feature"] << " = " << want["value"]);
        const auto r = sae_intervene(model(e["model"].get<std::string>()), *sae, kPrompt, kTarget, want["foil"].get<bool>() ? kFoil : "",
                                     want["feature"].get<int>(), want["value"].get<double>());
        CHECK(close(r.original, want["original"].get<double>()));
        CHECK(close(r.changed, want["changed"].get<double>()));
    }
}

TEST_CASE("SAEs that do not fit, or cannot be read, are refused with the file and the reason", "[sae]") {
    const auto& gpt2 = model("gpt2");
    auto hand = SparseAutoencoder::load(fixture("sae/hand-standard"));
    CHECK_THROWS_WITH(hand->check_fits(gpt2.info()), Contains("d_in 2 does not match blocks.0.hook_resid_post") && Contains("hidden size 32"));
    CHECK_THROWS_WITH(sae_features(gpt2, *hand, kPrompt, "", {}), Contains("d_in 2"));
    lmwb::test::ScratchDir dir;
    auto variant = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
        const fs::path to = dir.path() / name;
        fs::create_directories(to);
        fs::copy_file(fixture("sae/gpt2-resid1-standard/sae_weights.safetensors"), to / "sae_weights.safetensors");
        nlohmann::json cfg = nlohmann::json::parse(std::ifstream(fixture("sae/gpt2-resid1-standard/cfg.json")));
        edit(cfg);
        std::ofstream(to / "cfg.json") << cfg.dump();
        return to.string();
    };
    CHECK_THROWS_WITH(SparseAutoencoder::load(variant("unknown-hook", [](auto& c) { c["metadata"]["hook_name"] = "blocks.1.hook_foo"; })),
                      Contains("unknown hook point 'blocks.1.hook_foo'"));
    auto far = SparseAutoencoder::load(variant("far", [](auto& c) { c["metadata"]["hook_name"] = "blocks.7.hook_resid_post"; }));
    CHECK_THROWS_WITH(far->check_fits(gpt2.info()), Contains("past the model's 2 layers"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(variant("wide", [](auto& c) { c["d_in"] = 33; })),
                      Contains("sae_weights.safetensors: tensor 'W_enc' has shape [32, 40], expected [33, 40]"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(variant("arch", [](auto& c) { c["architecture"] = "gated"; })), Contains("architecture 'gated'"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(variant("topk", [](auto& c) { c["architecture"] = "topk"; })), Contains("'k' of a topk SAE"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(variant("pattern", [](auto& c) { c["metadata"]["hook_name"] = "blocks.0.attn.hook_pattern"; })),
                      Contains("not attention probabilities"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(fixture("sae/gpt2-resid1-gemmascope/params.npz")), Contains("names no hook"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(fixture("sae/gpt2-resid1-gemmascope/params.npz"), "blocks.1.hook_nothing"), Contains("unknown hook point"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(fixture("sae/gpt2-resid1-standard"), "blocks.0.hook_mlp_out"), Contains("names hook blocks.1.hook_resid_post"));
    CHECK_THROWS_WITH(SparseAutoencoder::load(dir.path().string()), Contains("cfg.json: cannot be read"));
    // A damaged params.npz.
    const std::string broken = (dir.path() / "broken.npz").string();
    std::ofstream(broken) << "PK not a zip at all";
    CHECK_THROWS_WITH(SparseAutoencoder::load(broken, "blocks.1.hook_resid_post"), Contains("broken.npz: not a readable .npz"));
    // Attribution through a normalizing SAE is refused (its features do not add up to the activation).
    auto normed = load(reference()["saes"]["gpt2-resid-pre1-layernorm"]);
    CHECK_THROWS_WITH(sae_attribution(gpt2, *normed, kPrompt, kTarget, "", {}), Contains("normalizes its input (layer_norm)"));
}

TEST_CASE("several SAEs at different hook points read one prompt", "[sae]") {
    const auto& gpt2 = model("gpt2");
    std::vector<std::unique_ptr<SparseAutoencoder>> saes;
    for (const char* n : {"gpt2-resid1-standard", "gpt2-mlp0-jumprelu", "gpt2-z1-topk"}) saes.push_back(load(reference()["saes"][n]));
    std::vector<std::string> hooks;
    for (const auto& s : saes) {
        const auto r = sae_features(gpt2, *s, kPrompt, kTarget, {});
        hooks.push_back(r.hook);
        CHECK(r.tokens.size() == 7);
    }
    CHECK(hooks == std::vector<std::string>{"blocks.1.hook_resid_post", "blocks.0.hook_mlp_out", "blocks.1.attn.hook_z"});
}

TEST_CASE("steering with an SAE feature's decoder direction equals the reference, and a zero coefficient changes nothing", "[sae]") {
    for (const char* name : {"gpt2-resid1-standard", "llama-z0-head1"}) {
        INFO(name);
        const auto& e = reference()["saes"][name];
        const auto& want = e["steering"];
        auto sae = load(e);
        const auto& m = model(e["model"].get<std::string>());
        GenerationOptions g;
        g.max_new_tokens = static_cast<int>(want["tokens"].size());
        g.stop.clear();
        const auto direction = sae->decoder_rows({want["feature"].get<int>()});
        const auto r = steer(m, sae->config().point, sae->config().hook_head_index, direction, want["coefficient"].get<double>(), kPrompt, g, "feature");
        // Greedy tokens until the reference's (which does not stop at end-of-text) or ours ends.
        REQUIRE(!r.steered_tokens.empty());
        for (std::size_t k = 0; k < r.steered_tokens.size(); ++k) {
            INFO("token " << k);
            CHECK(r.steered_tokens[k].id == want["tokens"][k].get<int>());
            CHECK(close(r.logprob_plain[k], want["logprob_plain"][k].get<double>()));
            CHECK(close(r.logprob_steered[k], want["logprob_steered"][k].get<double>()));
        }
        CHECK(r.steered != r.plain);
        const auto zero = steer(m, sae->config().point, sae->config().hook_head_index, direction, 0.0, kPrompt, g, "feature");
        CHECK(zero.steered == zero.plain);
        CHECK(zero.logprob_plain == zero.logprob_steered);
    }
    // A direction of the wrong width is refused.
    CHECK_THROWS_WITH(steer(model("gpt2"), HookPoint::parse("blocks.0.hook_resid_post"), -1, std::vector<float>(5, 1.0f), 1.0, kPrompt, {}, "x"),
                      Contains("has 5 values; blocks.0.hook_resid_post of this model has width 32"));
}

TEST_CASE("a feature's dashboard: top contexts with the features' activations, histogram, logit effect as the reference, cached", "[sae]") {
    const auto& gpt2 = model("gpt2");
    const std::vector<std::pair<std::string, std::string>> texts = {
        {"a", "the cat sat on the mat."}, {"b", "a dog ran in the park"}, {"c", "the the the"}, {"d", "on a mat, the cat sat"}};
    lmwb::test::ScratchDir cache;
    const std::string before = std::getenv("XDG_CACHE_HOME") ? std::getenv("XDG_CACHE_HOME") : "";
    setenv("XDG_CACHE_HOME", cache.path().c_str(), 1);
    for (const char* name : {"gpt2-resid1-standard", "gpt2-z1-topk"}) {
        INFO(name);
        const auto& e = reference()["saes"][name];
        auto sae = load(e);
        const int feature = e["logit_effect"]["feature"].get<int>();
        DashboardOptions o;
        o.top_contexts = 3;
        o.bins = 5;
        o.logit_tokens = 5;
        const auto d = feature_dashboard(gpt2, *sae, feature, texts, "four texts", o);
        CHECK_FALSE(d.from_cache);
        CHECK(d.texts == 4);
        std::size_t counted = 0;
        for (auto c : d.histogram_counts) counted += c;
        CHECK(counted == d.active_tokens);
        CHECK(d.histogram_edges.size() == 6);
        REQUIRE(!d.top.empty());
        for (std::size_t k = 1; k < d.top.size(); ++k) CHECK(d.top[k - 1].max_activation >= d.top[k].max_activation);
        // Each context's activations are sae_features' for that text.
        SaeOptions all;
        all.top_k = static_cast<int>(sae->config().d_sae);
        std::size_t tokens = 0;
        for (const auto& [source, text] : texts) tokens += sae_features(gpt2, *sae, text, "", all).tokens.size();
        CHECK(d.tokens == tokens);
        for (const auto& c : d.top) {
            const auto& text = std::find_if(texts.begin(), texts.end(), [&](const auto& t) { return t.first == c.source; })->second;
            const auto f = sae_features(gpt2, *sae, text, "", all);
            REQUIRE(f.per_token.size() == c.activations.size());
            for (std::size_t t = 0; t < c.activations.size(); ++t) {
                float want = 0;
                for (const auto& a : f.per_token[t].top)
                    if (a.feature == feature) want = a.activation;
                CHECK(c.activations[t] == Approx(want).margin(1e-6));
            }
            CHECK(c.activations[static_cast<std::size_t>(c.peak)] == c.max_activation);
        }
        // The logit effect (W_dec · diag(ln_f) · W_U; hook_z through c_proj) equals the reference's.
        REQUIRE(d.promoted.size() == 5);
        for (std::size_t k = 0; k < 5; ++k) {
            CHECK(d.promoted[k].first.id == e["logit_effect"]["promoted"][k][0].get<int>());
            CHECK(close(d.promoted[k].second, e["logit_effect"]["promoted"][k][1].get<double>()));
            CHECK(d.suppressed[k].first.id == e["logit_effect"]["suppressed"][k][0].get<int>());
            CHECK(close(d.suppressed[k].second, e["logit_effect"]["suppressed"][k][1].get<double>()));
        }
        // Read back from the cache, the same; a damaged entry is computed again.
        const auto again = feature_dashboard(gpt2, *sae, feature, texts, "four texts", o);
        CHECK(again.from_cache);
        CHECK(to_json_text(again) == to_json_text(d));
        for (const auto& f : fs::recursive_directory_iterator(cache.path()))
            if (f.is_regular_file()) std::ofstream(f.path()) << "{ damaged";
        const auto third = feature_dashboard(gpt2, *sae, feature, texts, "four texts", o);
        CHECK_FALSE(third.from_cache);
        CHECK(to_json_text(third) == to_json_text(d));
        // Another corpus is another entry.
        auto fewer = texts;
        fewer.pop_back();
        CHECK_FALSE(feature_dashboard(gpt2, *sae, feature, fewer, "three texts", o).from_cache);
        Control cancelled;
        cancelled.cancel.request();
        DashboardOptions stop = o;
        stop.use_cache = false;
        stop.control = cancelled;
        CHECK_THROWS_AS(feature_dashboard(gpt2, *sae, feature, texts, "four texts", stop), Cancelled);
    }
    if (before.empty()) unsetenv("XDG_CACHE_HOME");
    else setenv("XDG_CACHE_HOME", before.c_str(), 1);
}
