// Activation patching and direct logit attribution against scripts/reference/circuits_reference.py (plain-PyTorch
// forwards with hooks, written independently of the engine), plus the checks that need no reference: patching every
// position of the last layer recovers the clean run, patching nothing leaves the corrupted one, a model where one
// head carries the signal is found, and the direct parts add up to the logit.
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
    static const nlohmann::json j = [] {
        std::ifstream in(fixture("models/circuits_reference.json"));
        return nlohmann::json::parse(in);
    }();
    return j;
}

std::unique_ptr<LanguageModel> open(const std::string& name) { return LanguageModel::open(fixture("models/" + name)); }

const char* kClean = "the cat sat on the";
const char* kCorrupted = "the dog ran in the";
const char* kTarget = " mat.";
const char* kFoil = " park";

std::string grid_name(Site s) { return s == Site::Residual ? "residual" : to_string(s); }

}  // namespace

TEST_CASE("activation patching equals the reference on GPT-2 and Llama, with and without a foil", "[circuits][patching]") {
    for (std::string name : {"gpt2", "llama", "gpt2-one-head"}) {
        auto model = open(name);
        for (bool foil : {false, true}) {
            INFO(name << (foil ? " with a foil" : ""));
            const auto& want = reference()["models"][name][foil ? "patching_foil" : "patching"];
            PatchingOptions o;
            o.corrupted = kCorrupted;
            if (foil) o.contrast = kFoil;
            o.batch_size = 3;  // batches that do not divide the runs
            auto r = activation_patching(*model, kClean, kTarget, o);
            // The fixture's token ids are the reference's
            std::vector<std::int32_t> ids;
            for (auto& t : r.tokens) ids.push_back(t.id);
            std::vector<std::int32_t> expected = reference()["clean"].get<std::vector<std::int32_t>>();
            expected.push_back(reference()["target"][0].get<std::int32_t>());
            REQUIRE(ids == expected);
            CHECK(r.clean == Approx(want["clean"].get<double>()).margin(1e-4));
            CHECK(r.corrupted == Approx(want["corrupted"].get<double>()).margin(1e-4));
            REQUIRE(r.grids.size() == 4);
            for (const auto& g : r.grids) {
                const auto& w = want[grid_name(g.site)];
                REQUIRE(g.rows == static_cast<int>(w.size()));
                REQUIRE(g.columns == static_cast<int>(w[0].size()));
                for (int l = 0; l < g.rows; ++l)
                    for (int c = 0; c < g.columns; ++c) {
                        INFO(to_string(g.site) << " layer " << l << " column " << c);
                        CHECK(g.metric[static_cast<std::size_t>(l * g.columns + c)] == Approx(w[l][c].get<double>()).margin(1e-4));
                    }
            }
            CHECK(r.runs == static_cast<std::size_t>(3 * r.layers * 6 + r.layers * r.heads + 2));
        }
    }
}

TEST_CASE("patching the whole last layer recovers the clean run, patching nothing leaves the corrupted one", "[circuits][patching]") {
    auto model = open("llama");
    for (bool noise : {false, true}) {
        INFO((noise ? "noise" : "text") << " corruption");
        PatchingOptions o;
        if (!noise) o.corrupted = kCorrupted;
        o.noise_positions = {1, 2};
        o.seed = 7;
        o.sites = {Site::Residual};
        auto r = activation_patching(*model, kClean, kTarget, o);
        REQUIRE(std::abs(r.clean - r.corrupted) > 1e-3);
        const auto& g = *r.grid(Site::Residual);
        const int last = g.rows - 1;
        // The whole residual stream of the last layer restored, through the engine: the clean output.
        std::vector<std::int32_t> seq;
        for (auto& t : r.tokens) seq.push_back(t.id);
        auto clean = record_activations(*model, seq, {Site::Residual});
        std::vector<std::pair<int, std::int32_t>> at = {{4, 301}, {5, 13}};
        std::vector<std::int32_t> corrupted_seq = seq;
        std::vector<float> shifted = model->embeddings(seq);  // a corrupted input of our own for the noise case
        for (std::size_t d = 0; d < shifted.size() / seq.size(); ++d) shifted[shifted.size() / seq.size() + d] += 1.0f;
        if (!noise) corrupted_seq = {319, 310, 282, 307, 258, 301};
        auto out = patched_readouts(*model, corrupted_seq, noise ? &shifted : nullptr, clean,
                                           {{}, {Patch{Site::Residual, last, -1, -1}}}, at);
        auto reference_clean = patched_readouts(*model, seq, nullptr, clean, {{}}, at)[0];
        for (std::size_t k = 0; k < at.size(); ++k) CHECK(out[1].log_probs[k] == Approx(reference_clean.log_probs[k]).margin(1e-5));
        CHECK(std::abs(out[0].log_probs[0] - reference_clean.log_probs[0]) > 1e-4);
        if (!noise) CHECK(out[0].log_probs[0] + out[0].log_probs[1] == Approx(r.corrupted).margin(1e-5));
        // In the grid: restoring the last layer at the last position recovers the whole metric's last token, and the
        // columns at the readout positions add up in the last layer (each position feeds only its own readout there).
        CHECK(g.at(last, 5) + g.at(last, 4) == Approx(1.0).margin(1e-4));
        for (int p = 0; p < 4; ++p) CHECK(g.at(last, p) == Approx(0.0).margin(1e-6));
    }
}

TEST_CASE("noise corruption: seeded, on the chosen positions, 3 standard deviations of the embeddings", "[circuits][patching]") {
    auto model = open("gpt2");
    PatchingOptions o;
    o.sites = {Site::Mlp};
    o.noise_positions = {1, 2, 3};
    o.seed = 11;
    auto a = activation_patching(*model, kClean, kTarget, o);
    auto b = activation_patching(*model, kClean, kTarget, o);
    CHECK(a.corrupted == b.corrupted);
    CHECK(a.grids[0].metric == b.grids[0].metric);
    o.seed = 12;
    auto c = activation_patching(*model, kClean, kTarget, o);
    CHECK(a.corrupted != c.corrupted);
    // The embedding matrix's standard deviation, computed here from the raw table.
    std::vector<std::int32_t> all;
    for (std::int32_t i = 0; i < model->info().vocab_size; ++i) all.push_back(i);
    auto e = model->embeddings(all);
    double sum = 0, sq = 0;
    for (float x : e) sum += x, sq += static_cast<double>(x) * x;
    const double n = static_cast<double>(e.size()), sd = std::sqrt(sq / n - (sum / n) * (sum / n));
    CHECK(a.noise_std == Approx(3 * sd).epsilon(1e-6));
    // Noise only before the readout at position 4 changes nothing there when position 0 is left alone: the first
    // token's embedding stays, so the MLP at position 0 is unaffected and restoring it recovers nothing.
    CHECK(a.grids[0].at(0, 0) == Approx(0.0).margin(1e-5));
}

TEST_CASE("per-head patching finds the one head that carries the signal", "[circuits][patching]") {
    auto model = open("gpt2-one-head");
    PatchingOptions o;
    o.corrupted = kCorrupted;
    o.sites = {Site::Heads};
    auto r = activation_patching(*model, kClean, " mat", o);
    const auto& g = *r.grid(Site::Heads);
    REQUIRE(std::abs(r.clean - r.corrupted) > 1e-3);
    for (int l = 0; l < g.rows; ++l)
        for (int h = 0; h < g.columns; ++h) {
            INFO("layer " << l << " head " << h);
            CHECK(g.at(l, h) == Approx(l == 1 && h == 2 ? 1.0 : 0.0).margin(1e-5));
        }
}

TEST_CASE("direct logit attribution equals the reference, and its parts add up to the logit", "[circuits][dla]") {
    for (std::string name : {"gpt2", "llama"}) {
        auto model = open(name);
        for (bool foil : {false, true}) {
            INFO(name << (foil ? " with a foil" : ""));
            const auto& want = reference()["models"][name][foil ? "dla_foil" : "dla"];
            auto r = direct_logit_attribution(*model, kClean, kTarget, foil ? kFoil : "");
            CHECK(r.embed == Approx(want["embed"].get<double>()).margin(1e-4));
            CHECK(r.norm_bias == Approx(want["norm_bias"].get<double>()).margin(1e-4));
            CHECK(r.total == Approx(want["total"].get<double>()).margin(1e-4));
            for (int l = 0; l < r.layers; ++l) {
                CHECK(r.attention[l] == Approx(want["attention"][l].get<double>()).margin(1e-4));
                CHECK(r.mlp[l] == Approx(want["mlp"][l].get<double>()).margin(1e-4));
                CHECK(r.attention_bias[l] == Approx(want["attention_bias"][l].get<double>()).margin(1e-4));
                for (int h = 0; h < r.heads; ++h)
                    CHECK(r.head_values[static_cast<std::size_t>(l * r.heads + h)] == Approx(want["heads"][l][h].get<double>()).margin(1e-4));
            }
            CHECK(std::abs(r.gap) < 1e-4);  // no soft-cap: the frozen-norm parts are exact at the clean input
        }
    }
    // Gemma 2: the final soft-cap bends the logit; the gap says by how much. OLMo 2 normalises the attention output
    // after its projection: no per-head values, and the note says why.
    auto gemma2 = open("gemma2");
    auto g = direct_logit_attribution(*gemma2, kClean, kTarget, kFoil);
    CHECK(g.softcap == 3.0);
    CHECK(std::abs(g.gap) > 1e-3);
    {  // total: the model's own (capped) logit difference at the last prompt position, from its logits
        std::vector<std::int32_t> ids;
        for (const auto& t : g.tokens) ids.push_back(t.id);
        const auto logits = gemma2->logits(ids);
        const auto V = static_cast<std::size_t>(gemma2->info().vocab_size), last = ids.size() - 1;
        CHECK(g.total == Approx(logits[last * V + static_cast<std::size_t>(g.target_token.id)] -
                                logits[last * V + static_cast<std::size_t>(g.contrast_token.id)]).margin(1e-4));
        CHECK(g.gap == Approx(g.total - g.sum).margin(1e-9));
    }
    auto olmo2 = open("olmo2");
    auto o = direct_logit_attribution(*olmo2, kClean, kTarget);
    CHECK(o.head_values.empty());
    CHECK_THAT(o.heads_note, Catch::Contains("normalises the attention output"));
    CHECK(std::abs(o.gap) < 1e-4);
}

TEST_CASE("circuit inputs that cannot work are clear errors naming the option", "[circuits][errors]") {
    auto model = open("gpt2");
    auto fails = [&](PatchingOptions o, const std::string& target, const std::string& message) {
        INFO(message);
        CHECK_THROWS_WITH(activation_patching(*model, kClean, target, o), Catch::Contains(message));
    };
    PatchingOptions o;
    o.corrupted = "the dog";
    fails(o, kTarget, "--corrupted has 2 tokens; it must have the prompt's 5");
    o = {};
    o.noise_positions = {5};
    fails(o, kTarget, "--noise-positions: position 5 is outside the prompt's 5 tokens");
    o = {};
    o.positions = {-1};
    fails(o, kTarget, "--positions: position -1");
    o = {};
    o.contrast = " mat";
    fails(o, kTarget, "--contrast: the foil starts with the target's first token");
    o = {};
    o.noise_scale = 0;
    fails(o, kTarget, "--noise-scale must be a positive number");
    // Engine level: a patch outside the model
    std::vector<std::int32_t> seq = {319, 262, 276};
    auto clean = record_activations(*model, seq, {Site::Heads});
    CHECK_THROWS_WITH(patched_readouts(*model, seq, nullptr, clean, {{Patch{Site::Heads, 2, -1, 0}}}, {{2, 1}}),
                      Catch::Contains("layer 2 is outside the model's 2 layers"));
    CHECK_THROWS_WITH(patched_readouts(*model, seq, nullptr, clean, {{Patch{Site::Heads, 1, -1, 4}}}, {{2, 1}}),
                      Catch::Contains("head 4 is outside the model's 4 heads"));
    CHECK_THROWS_WITH(patched_readouts(*model, seq, nullptr, clean, {{Patch{Site::Mlp, 1, 0, -1}}}, {{2, 1}}),
                      Catch::Contains("did not record mlp of layer 1"));
    CHECK_THROWS_WITH(direct_logit_attribution(*model, kClean, kTarget, " mat"), Catch::Contains("--contrast"));
    // No target: the model's greedy next token
    GenerationOptions g;
    g.max_new_tokens = 1;
    const std::string next = model->generate(kClean, g).text;
    CHECK(direct_logit_attribution(*model, kClean, "").target == next);
    PatchingOptions q;
    q.corrupted = kCorrupted;
    q.sites = {Site::Residual};
    CHECK(activation_patching(*model, kClean, "", q).target == next);
}

TEST_CASE("patching reports progress in runs and stops on its cancel token", "[circuits][control]") {
    auto model = open("gpt2");
    PatchingOptions o;
    o.corrupted = kCorrupted;
    o.sites = {Site::Attention};
    o.batch_size = 2;
    std::size_t last = 0, total = 0;
    o.control.progress = [&](const Progress& p) {
        CHECK(p.unit == "runs");
        CHECK(p.done >= last);
        last = p.done, total = p.total;
    };
    auto r = activation_patching(*model, kClean, kTarget, o);
    CHECK(total == r.runs);
    CHECK(last == r.runs);
    o.control.progress = [&](const Progress& p) {
        if (p.done >= 4) o.control.cancel.request();
    };
    CHECK_THROWS_AS(activation_patching(*model, kClean, kTarget, o), Cancelled);
}

TEST_CASE("a patched run reuses the unpatched keys and values before its first patched position, in every family", "[circuits][patching]") {
    // The same patch, once alone (the run starts at its position, earlier positions from the cache) and once with a
    // no-op patch at position 0 (the first token is the same in both prompts), which makes the run start at 0.
    const std::vector<std::int32_t> clean_seq = {319, 262, 276, 268, 258, 301}, corrupted_seq = {319, 310, 282, 307, 258, 301};
    const std::vector<std::pair<int, std::int32_t>> at = {{4, 301}, {5, 13}};
    for (std::string name : {"mistral", "phi3", "gemma2", "pythia", "qwen3", "olmo2"}) {
        INFO(name);
        auto model = open(name);
        auto clean = record_activations(*model, clean_seq, {Site::Residual, Site::Attention, Site::Heads});
        for (Site site : {Site::Residual, Site::Attention, Site::Heads}) {
            INFO(to_string(site));
            const int last = static_cast<int>(model->info().layers) - 1;
            Patch p{site, 0, 3, site == Site::Heads ? 1 : -1};
            Patch noop{Site::Residual, last, 0, -1};
            auto out = patched_readouts(*model, corrupted_seq, nullptr, clean, {{p}, {p, noop}, {}}, at, 2);
            for (std::size_t k = 0; k < at.size(); ++k) {
                CHECK(out[0].log_probs[k] == Approx(out[1].log_probs[k]).margin(1e-5));
                CHECK(out[0].logits[k] == Approx(out[1].logits[k]).margin(1e-5));
            }
            CHECK(std::abs(out[0].log_probs[0] - out[2].log_probs[0]) > 1e-6);  // the patch did something
        }
    }
}
