// One rule for how a prompt becomes tokens, on a tokenizer that adds BOS and splits "▁" words as SentencePiece
// does (Llama 2's, tests/fixtures/tokenizers/llama2): scoring, generation and every attribution method see the same
// ids, and targets are split from the joint encoding of prompt + target.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lmwb/attribution.h"
#include "lmwb/circuits.h"
#include "lmwb/model.h"
#include "lmwb/prompt_encoding.h"
#include "lmwb/side_by_side.h"
#include "test_support.h"

using namespace lmwb;
using lmwb::test::fixture;
using lmwb::test::ScratchDir;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The llama fixture model with Llama 2's tokenizer: its embedding and head widened to that vocabulary (row i is the
// fixture's row i mod 321), BOS 1, EOS 2. A real folder on disk, written here.
std::string bos_model(const ScratchDir& dir) {
    const std::string src = fixture("models/llama");
    const std::string file = slurp(src + "/model.safetensors");
    std::uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    const json header = json::parse(file.substr(8, n));
    const char* data = file.data() + 8 + n;
    constexpr std::int64_t V = 32000;
    json out_header = json::object();
    std::string body;
    for (const auto& [name, t] : header.items()) {
        if (name == "__metadata__") continue;
        const auto begin = t["data_offsets"][0].get<std::size_t>(), end = t["data_offsets"][1].get<std::size_t>();
        std::string bytes(data + begin, data + end);
        auto shape = t["shape"].get<std::vector<std::int64_t>>();
        if (name == "model.embed_tokens.weight" || name == "lm_head.weight") {
            REQUIRE(t["dtype"] == "F32");
            const std::size_t row = static_cast<std::size_t>(shape[1]) * 4, rows = static_cast<std::size_t>(shape[0]);
            std::string wide;
            for (std::int64_t i = 0; i < V; ++i) wide.append(bytes, (static_cast<std::size_t>(i) % rows) * row, row);
            bytes = std::move(wide);
            shape[0] = V;
        }
        out_header[name] = {{"dtype", t["dtype"]}, {"shape", shape}, {"data_offsets", {body.size(), body.size() + bytes.size()}}};
        body += bytes;
    }
    std::string h = out_header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    std::string st(8, '\0');
    const std::uint64_t len = h.size();
    std::memcpy(st.data(), &len, 8);
    dir.write("m/model.safetensors", st + h + body);
    json cfg = json::parse(slurp(src + "/config.json"));
    cfg["vocab_size"] = V;
    cfg["bos_token_id"] = 1;
    cfg["eos_token_id"] = 2;
    cfg["max_position_embeddings"] = 64;
    dir.write("m/config.json", cfg.dump());
    dir.write("m/tokenizer.json", slurp(fixture("tokenizers/llama2/tokenizer.json")));
    return dir.file("m");
}

const char* kPrompt = "The quick brown fox jumps over the lazy";

}  // namespace

TEST_CASE("a BOS-adding tokenizer: prompts get BOS once, continuations are split from the joint encoding", "[attribution][prompt]") {
    const Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/llama2/tokenizer.json"));
    auto p = encode_prompt(tok, kPrompt);
    REQUIRE_FALSE(p.ids.empty());
    CHECK(p.ids.front() == 1);
    CHECK(p.ids == tok.encode(kPrompt, true).ids);
    // A prompt carrying its own BOS text gets no second one (lm-eval's has_bos_prefix).
    CHECK(encode_prompt(tok, std::string("<s>") + kPrompt).ids == tok.encode(std::string("<s>") + kPrompt, false).ids);
    // " dog" alone is a lone "▁" and "▁dog"; after the prompt it is the one word-initial token.
    CHECK(tok.encode(" dog", false).tokens == std::vector<std::string>{"▁", "▁dog"});
    auto pc = encode_with_continuation(tok, kPrompt, " dog");
    CHECK(pc.prompt.ids == p.ids);
    REQUIRE(pc.continuation.ids.size() == 1);
    CHECK(pc.continuation.tokens[0] == "▁dog");
    CHECK(pc.continuation.char_offsets[0].end == 4);  // into " dog"
    // The prompt's trailing space moves to the continuation: the same split.
    auto moved = encode_with_continuation(tok, std::string(kPrompt) + " ", "dog");
    CHECK(moved.prompt.ids == p.ids);
    CHECK(moved.continuation.ids == pc.continuation.ids);
}

TEST_CASE("scoring, generation and attribution read the same tokens on a BOS-adding model", "[attribution][prompt][model]") {
    ScratchDir dir;
    const std::string path = bos_model(dir);
    auto m = LanguageModel::open(path);
    const auto prompt_ids = encode_prompt(m->tokenizer(), kPrompt).ids;
    REQUIRE(prompt_ids.front() == 1);

    // Generation conditions on BOS + prompt; explaining its output explains those tokens.
    GenerationOptions g;
    g.max_new_tokens = 4;
    g.alternatives = 0;
    auto gen = m->generate(kPrompt, g);
    CHECK(gen.prompt_tokens == prompt_ids);
    REQUIRE_FALSE(gen.tokens.empty());
    attr::Options o;
    o.method = attr::Method::GradientXInput;
    o.generated_target = true;
    auto e = attr::explain(*m, kPrompt, "", o);
    REQUIRE(e.prompt_tokens.size() == prompt_ids.size());
    for (std::size_t i = 0; i < prompt_ids.size(); ++i) CHECK(e.prompt_tokens[i].id == prompt_ids[i]);
    CHECK(e.prompt_tokens[0].start == e.prompt_tokens[0].end);  // BOS covers no text
    for (std::size_t i = 0; i < e.target_tokens.size() && i < gen.tokens.size(); ++i) CHECK(e.target_tokens[i].id == gen.tokens[i].id);
    // Its log-probabilities are the generation's own.
    for (std::size_t i = 0; i < e.target_token_logprobs.size() && i < gen.tokens.size(); ++i)
        CHECK(e.target_token_logprobs[i] == Approx(gen.tokens[i].logprob).margin(1e-4));

    // A given target: the same tokens and log-probability as `lmwb score`.
    auto scored = m->score({{kPrompt, " dog"}}, 1);
    o.generated_target = false;
    o.method = attr::Method::IntegratedGradients;
    o.steps = 32;
    auto ig = attr::explain(*m, kPrompt, " dog", o);
    REQUIRE(ig.target_tokens.size() == 1);
    CHECK(ig.target_tokens[0].id == scored[0].tokens[0]);
    CHECK(ig.target_logprob == Approx(scored[0].logprob).margin(1e-4));
    // A foil with a leading space is a word of its own, not a lone "▁" shared with the target.
    o.method = attr::Method::GradientXInput;
    o.contrast = " world";
    auto contrast = attr::explain(*m, kPrompt, " dog", o);
    REQUIRE(contrast.contrast_tokens.size() == 1);
    CHECK(contrast.contrast_tokens[0].id != ig.target_tokens[0].id);
    // SHAP: BOS is no feature (always present); its score is 0.
    o.method = attr::Method::Shap;
    o.contrast.clear();
    auto shap = attr::explain(*m, kPrompt, " dog", o);
    CHECK(shap.scores[0] == 0);
    CHECK(std::fabs(shap.delta) < 1e-6);

    // DLA and patching without a target: the greedy next token as generated, not its text re-encoded.
    auto dla = attr::direct_logit_attribution(*m, kPrompt, "");
    CHECK(dla.target_token.id == gen.tokens[0].id);
    CHECK(dla.tokens.front().id == 1);
    attr::PatchingOptions po;
    auto patch = attr::activation_patching(*m, kPrompt, "", po);
    REQUIRE(patch.target_tokens.size() == 1);
    CHECK(patch.target_tokens[0].id == gen.tokens[0].id);
    CHECK(patch.tokens.front().id == 1);

    // Generated-text attribution: the tokens generate() produced, after BOS + prompt.
    attr::GenerationAttributionOptions go;
    go.method = attr::Method::GradientXInput;
    go.max_new_tokens = 4;
    auto ga = attr::explain_generation(*m, kPrompt, "", go);
    REQUIRE(ga.prompt_tokens.front().id == 1);
    REQUIRE(ga.generated_tokens.size() == gen.tokens.size());
    for (std::size_t i = 0; i < gen.tokens.size(); ++i) {
        CHECK(ga.generated_tokens[i].id == gen.tokens[i].id);
        CHECK(ga.token_logprobs[i] == Approx(gen.tokens[i].logprob).margin(1e-4));
    }

    // Side by side (the model against itself): A's tokens are its generated ones.
    attr::SideBySideOptions so;
    so.max_new_tokens = 4;
    so.attribute = false;
    auto s = attr::side_by_side(*m, *m, kPrompt, "", so);
    REQUIRE(s.a_tokens.size() == gen.tokens.size());
    for (std::size_t i = 0; i < gen.tokens.size(); ++i) CHECK(s.a_tokens[i].id == gen.tokens[i].id);
    CHECK(s.a_total == Approx(gen.tokens.empty() ? 0.0 : [&] {
              double t = 0;
              for (const auto& x : gen.tokens) t += x.logprob;
              return t;
          }()).margin(1e-3));
}
