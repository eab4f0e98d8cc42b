// TorchScript bundles written by scripts/export_torchscript.py from the Hugging Face folders: the same numbers
// through the other loading path, and clear errors when the bundle breaks the contract.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "lmwb/model.h"
#include "test_support.h"

using lmwb::LanguageModel;
using lmwb::test::fixture;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

TEST_CASE("a TorchScript bundle computes what its Hugging Face folder computes", "[model][torchscript]") {
    std::string root = std::string(LMWB_FIXTURES) + "/../../models/tiny-a";
    auto hf = LanguageModel::open(root, {});
    auto ts = LanguageModel::open(fixture("torchscript/tiny-a"), {});
    CHECK(ts->info().format == "torchscript");
    CHECK(ts->info().vocab_size == hf->info().vocab_size);
    std::vector<std::int32_t> ids = {10, 200, 33, 400, 5, 61};
    auto a = hf->logits(ids), b = ts->logits(ids);
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
    CHECK(worst < 1e-4);
    std::vector<lmwb::ScoreRequest> reqs = {{"The capital of France is", " Paris"}, {"", "the cat"}, {"On Monday,", " Ana went"}};
    auto sa = hf->score(reqs, 2), sb = ts->score(reqs, 3);
    for (std::size_t i = 0; i < reqs.size(); ++i) CHECK(std::abs(sa[i].logprob - sb[i].logprob) < 1e-4);
    lmwb::GenerationOptions g;
    g.max_new_tokens = 15;
    CHECK(hf->generate("On Monday, Ana went to", g).text == ts->generate("On Monday, Ana went to", g).text);
    auto emb = ts->embeddings({10, 200, 33});
    auto ga = hf->target_logprob_gradients({10, 200, 33}, {400}, {emb});
    auto gb = ts->target_logprob_gradients({10, 200, 33}, {400}, {emb});
    CHECK(std::abs(ga[0].logprob - gb[0].logprob) < 1e-4);
    double gworst = 0;
    for (std::size_t i = 0; i < ga[0].gradient.size(); ++i)
        gworst = std::max(gworst, static_cast<double>(std::abs(ga[0].gradient[i] - gb[0].gradient[i])));
    CHECK(gworst < 1e-3);
    auto ta = hf->trace("the cat sat", {}), tb = ts->trace("the cat sat", {});
    REQUIRE(ta.attentions.size() == tb.attentions.size());
    REQUIRE(ta.hidden_states.size() == tb.hidden_states.size());
    double aw = 0, hw = 0;
    for (std::size_t i = 0; i < ta.attentions.size(); ++i) aw = std::max(aw, static_cast<double>(std::abs(ta.attentions[i] - tb.attentions[i])));
    for (std::size_t i = 0; i < ta.hidden_states.size(); ++i) hw = std::max(hw, static_cast<double>(std::abs(ta.hidden_states[i] - tb.hidden_states[i])));
    CHECK(aw < 1e-5);
    CHECK(hw < 1e-4);
}

TEST_CASE("a bundle with the cached step generates through a KV cache, batched, and shares prefixes", "[model][torchscript]") {
    std::string root = std::string(LMWB_FIXTURES) + "/../../models/tiny-a";
    auto hf = LanguageModel::open(root, {});
    auto cached = LanguageModel::open(fixture("torchscript/tiny-a-cached"), {});
    auto plain = LanguageModel::open(fixture("torchscript/tiny-a"), {});  // exported before the step method existed
    auto has = [](const LanguageModel& m, const char* cap) {
        const auto& c = m.info().capabilities;
        return std::find(c.begin(), c.end(), cap) != c.end();
    };
    CHECK(has(*cached, "kv_cache"));
    CHECK_FALSE(has(*plain, "kv_cache"));
    CHECK(has(*hf, "kv_cache"));
    const std::vector<std::string> prompts = {"On Monday, Ana went to", "The capital of France is", "Once", "the cat sat on the mat and"};
    std::vector<lmwb::GenerationOptions> opts;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        lmwb::GenerationOptions g;
        g.max_new_tokens = 8 + 3 * static_cast<int>(i);
        g.temperature = i % 2 ? 0.8 : 0.0;
        g.seed = 5 + i;
        opts.push_back(g);
    }
    auto batch = cached->generate_batch(prompts, opts);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        INFO(prompts[i]);
        auto want = hf->generate(prompts[i], opts[i]);
        auto one = cached->generate(prompts[i], opts[i]);
        auto old = plain->generate(prompts[i], opts[i]);  // recomputes the sequence at every step
        CHECK(one.text == want.text);
        CHECK(batch[i].text == want.text);
        CHECK(old.text == want.text);
        REQUIRE(one.tokens.size() == want.tokens.size());
        for (std::size_t k = 0; k < want.tokens.size(); ++k) CHECK(one.tokens[k].logprob == Approx(want.tokens[k].logprob).margin(1e-4));
    }
    // Choices sharing a 40-token context: the context runs once through step, then the continuations.
    std::string context = "Question: once upon a time there was a little cat that sat on a mat and looked at the stars";
    while (cached->tokenizer().encode(context, false).ids.size() < 40) context += " and more";
    std::vector<lmwb::ScoreRequest> reqs;
    for (const char* c : {" blue", " red and green", " a"}) reqs.push_back({context, c});
    auto a = hf->score(reqs, 4), b = cached->score(reqs, 4);
    for (std::size_t i = 0; i < reqs.size(); ++i) CHECK(b[i].logprob == Approx(a[i].logprob).margin(1e-4));
}

TEST_CASE("capabilities follow the methods a bundle exports", "[model][torchscript]") {
    auto ts = LanguageModel::open(fixture("torchscript/llama-forward-only"), {});
    const auto& caps = ts->info().capabilities;
    CHECK(std::find(caps.begin(), caps.end(), "score") != caps.end());
    CHECK(std::find(caps.begin(), caps.end(), "embeddings") == caps.end());
    CHECK_THROWS_WITH(ts->embeddings({1, 2}), Contains("exports no 'embed' method"));
    CHECK(std::find(caps.begin(), caps.end(), "attentions") == caps.end());
    CHECK_THROWS_WITH(ts->trace("hi", {}), Contains("exports no 'attentions' method"));
    auto hf = LanguageModel::open(fixture("models/llama"), {});
    auto ids = std::vector<std::int32_t>{3, 1, 4, 1, 5};
    auto a = hf->logits(ids), b = ts->logits(ids);
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
    CHECK(worst < 1e-4);
}

TEST_CASE("broken bundles fail clearly", "[model][torchscript][errors]") {
    lmwb::test::ScratchDir dir;
    fs::path b = dir.path() / "bundle";
    fs::create_directories(b);
    for (auto& e : fs::directory_iterator(fixture("torchscript/llama-forward-only"))) fs::copy_file(e.path(), b / e.path().filename());
    auto error = [&]() -> std::string {
        try {
            auto m = LanguageModel::open(b.string(), {});
            m->logits({1, 2, 3});
        } catch (const lmwb::ModelError& e) {
            return e.what();
        }
        return "no error";
    };
    std::string manifest;
    {
        std::ifstream in(b / "lmwb.json");
        manifest.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto rewrite = [&](const std::string& from, const std::string& to) {
        std::string m = manifest;
        auto at = m.find(from);
        REQUIRE(at != std::string::npos);
        m.replace(at, from.size(), to);
        std::ofstream(b / "lmwb.json") << m;
    };
    rewrite("\"vocab_size\"", "\"vocabulary\"");
    CHECK_THAT(error(), Contains("lmwb.json: /vocab_size: missing field"));
    rewrite("\"logits\": 0", "\"logits\": 2");
    CHECK_THAT(error(), Contains("/outputs/logits: output 2 does not exist"));
    rewrite("\"format\": \"lmwb-torchscript\"", "\"format\": \"onnx\"");
    CHECK_THAT(error(), Contains("/format"));
    // The rules of every JSON file a model folder holds: no key twice, a regular file only.
    rewrite("\"vocab_size\"", "\"vocab_size\": 1, \"vocab_size\"");
    CHECK_THAT(error(), Contains("lmwb.json: the key 'vocab_size' appears twice in one object"));
    fs::remove(b / "lmwb.json");
    fs::create_directory(b / "lmwb.json");
    CHECK_THAT(error(), Contains("lmwb.json: cannot open") && Contains("a TorchScript bundle needs lmwb.json"));
    fs::remove(b / "lmwb.json");
    std::ofstream(b / "lmwb.json") << manifest;
    std::ofstream(b / "model.pt") << "not a zip archive";
    CHECK_THAT(error(), Contains("model.pt: not a loadable TorchScript file"));
}

TEST_CASE("a minimal manifest is enough, the bundle tells its own shapes", "[model][torchscript]") {
    lmwb::test::ScratchDir dir;
    fs::path b = dir.path() / "bundle";
    fs::create_directories(b);
    for (auto& e : fs::directory_iterator(fixture("torchscript/tiny-a"))) fs::copy_file(e.path(), b / e.path().filename());
    std::ofstream(b / "lmwb.json") << R"({"format": "lmwb-torchscript", "vocab_size": 766, "context_length": 256,
                                          "eos_token_id": [765, 700]})";
    auto ts = LanguageModel::open(b.string(), {});
    auto tr = ts->trace("the cat", {});
    CHECK(tr.layers.size() == 2);
    CHECK(tr.heads == 4);
    auto emb = ts->embeddings({10, 20});
    auto g = ts->target_logprob_gradients({10, 20}, {30}, {emb});
    CHECK(g[0].gradient.size() == emb.size());
    lmwb::ModelOptions bf16;
    bf16.dtype = "bfloat16";
    CHECK_THROWS_WITH(LanguageModel::open(b.string(), bf16), Contains("run in the dtype they were exported with"));
}

TEST_CASE("a bundle using an operator this LibTorch lacks fails naming the operator", "[model][torchscript][errors]") {
    // scripts/make_damaged_bundles.py: tiny-a's code with one call renamed to aten::lmwb_future_op.
    try {
        LanguageModel::open(fixture("torchscript/unknown-op"), {});
        FAIL("opened a bundle with an unknown operator");
    } catch (const lmwb::ModelError& e) {
        CHECK_THAT(e.what(), Contains("aten::lmwb_future_op") && Contains("lacks") && Contains("model.pt"));
    }
}

TEST_CASE("a bundle whose tensor storage is cut short is refused at load, naming the tensor", "[model][torchscript][errors]") {
    // scripts/make_damaged_bundles.py: tiny-a with the token embeddings' record cut to a third (CRC recomputed).
    try {
        LanguageModel::open(fixture("torchscript/cut-storage"), {});
        FAIL("opened a bundle whose storage is cut short");
    } catch (const lmwb::ModelError& e) {
        CHECK_THAT(e.what(), Contains("model.pt: tensor '") && Contains("bytes of storage") && Contains("cut or damaged"));
    }
}

TEST_CASE("a model.pt whose records declare far more than the file holds is refused before LibTorch reads it",
          "[model][torchscript][errors][security]") {
    lmwb::test::ScratchDir dir;
    fs::path b = dir.path() / "bundle";
    fs::create_directories(b);
    for (auto& e : fs::directory_iterator(fixture("torchscript/llama-forward-only"))) fs::copy_file(e.path(), b / e.path().filename());
    // One stored record of 16 bytes whose directory entry claims 3 GiB (a deflated bomb declares the same way).
    auto le = [](std::uint64_t v, int bytes) {
        std::string s;
        for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
        return s;
    };
    const std::string name = "archive/data/0", data(16, '\0');
    const std::uint64_t claimed = 3ull << 30;
    std::string zip = std::string("PK\x03\x04", 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) + le(16, 4) + le(16, 4) +
                      le(name.size(), 2) + le(0, 2) + name + data;
    const std::size_t cd_offset = zip.size();
    std::string cd = std::string("PK\x01\x02", 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(8, 2) + le(0, 4) + le(0, 4) + le(16, 4) +
                     le(0xFFFFFFFFu & claimed, 4) + le(name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) + name;
    zip += cd + std::string("PK\x05\x06", 4) + le(0, 2) + le(0, 2) + le(1, 2) + le(1, 2) + le(cd.size(), 4) + le(cd_offset, 4) + le(0, 2);
    std::ofstream(b / "model.pt", std::ios::binary) << zip;
    // The directory's word, not LibTorch's after inflating: refused before any record is read.
    CHECK_THROWS_WITH(LanguageModel::open(b.string(), {}), Contains("model.pt: its records declare 3072 MiB once inflated") && Contains("zip bomb"));
}
