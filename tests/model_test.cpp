// The engine on real checkpoint folders: tiny random-weight models written by scripts/make_model_fixtures.py,
// with logits from an independent PyTorch implementation of each architecture.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "lmwb/model.h"
#include "model/host_memory.h"
#include "test_support.h"

using lmwb::LanguageModel;
using lmwb::test::fixture;
using lmwb::test::ScratchDir;

namespace {

std::vector<std::string> model_names() {
    return {"gpt2", "gpt2-noprefix-f16", "llama", "llama3-bf16", "mistral", "qwen2", "qwen3",
            "pythia", "neox-sequential", "phi3", "gemma", "gemma2", "olmo2"};
}

// Attention a block of 16 query positions at a time (the smallest), to compare with one block.
std::unique_ptr<LanguageModel> open_in_small_blocks(const std::string& name) {
    lmwb::ModelOptions small;
    small.attention_block_bytes = 1;
    return LanguageModel::open(fixture("models/" + name), small);
}

nlohmann::json expected(const std::string& name) {
    std::ifstream in(fixture("models/" + name + "/expected.json"));
    return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("logits match the reference implementation to 1e-4", "[model]") {
    auto name = GENERATE(from_range(model_names()));
    auto model = LanguageModel::open(fixture("models/" + name), {});
    auto want = expected(name);
    auto ids = want["ids"].get<std::vector<std::int32_t>>();
    std::vector<float> got = model->logits(ids);
    auto V = static_cast<std::size_t>(model->info().vocab_size);
    REQUIRE(got.size() == ids.size() * V);
    double worst = 0;
    for (std::size_t t = 0; t < ids.size(); ++t)
        for (std::size_t v = 0; v < V; ++v)
            worst = std::max(worst, std::abs(static_cast<double>(got[t * V + v]) - want["logits"][t][v].get<double>()));
    INFO(name << ": largest difference " << worst);
    CHECK(worst < 1e-4);
}

TEST_CASE("attentions, greedy continuations and embedding gradients match the reference", "[model]") {
    auto name = GENERATE(from_range(model_names()));
    INFO(name);
    auto model = LanguageModel::open(fixture("models/" + name), {});
    auto want = expected(name);

    auto ids = want["ids"].get<std::vector<std::int32_t>>();
    double worst = 0;
    int layers_seen = 0;
    // Readers of every layer's attn.hook_pattern: [heads][positions][keys].
    std::vector<lmwb::Hook> hooks;
    for (int l = 0; l < static_cast<int>(model->info().layers); ++l)
        hooks.push_back({lmwb::HookPoint{l, lmwb::HookKind::Pattern}, [&, layer = l](lmwb::HookValue& v) {
        REQUIRE(v.shape.size() == 3);
        const int heads = static_cast<int>(v.shape[0]), length = static_cast<int>(v.shape[1]);
        REQUIRE(v.shape[2] == length);
        const float* data = v.data;
        const auto& w = want["attentions"][static_cast<std::size_t>(layer)];
        for (int h = 0; h < heads; ++h)
            for (int q = 0; q < length; ++q)
                for (int k = 0; k < length; ++k)
                    worst = std::max(worst, std::abs(data[(h * length + q) * length + k] -
                                                     w[static_cast<std::size_t>(h)][static_cast<std::size_t>(q)][static_cast<std::size_t>(k)].get<double>()));
        ++layers_seen;
    }});
    model->run_hooked(ids, nullptr, {hooks}, {});
    CHECK(layers_seen == static_cast<int>(want["attentions"].size()));
    INFO("attention: largest difference " << worst);
    CHECK(worst < 1e-5);

    // Greedy decoding with the KV cache gives the reference's token-by-token argmax.
    auto prompt = want["greedy"]["prompt"].get<std::vector<std::int32_t>>();
    std::string text = model->tokenizer().decode(prompt, false);
    REQUIRE(model->tokenizer().encode(text, false).ids == prompt);
    lmwb::GenerationOptions g;
    g.max_new_tokens = 10;
    auto gen = model->generate(text, g);
    std::vector<std::int32_t> got;
    for (auto& t : gen.tokens) got.push_back(t.id);
    auto ref = want["greedy"]["tokens"].get<std::vector<std::int32_t>>();
    if (gen.stop_reason == "eos") ref.resize(got.size());  // the reference decodes on past end-of-text
    CHECK(got == ref);  // 16-bit checkpoints too: computed in float32 as the reference is

    // log p(target | prompt) and its gradient with respect to the prompt's token embeddings.
    const auto& gw = want["gradient"];
    auto gp = gw["prompt"].get<std::vector<std::int32_t>>(), gt = gw["target"].get<std::vector<std::int32_t>>();
    auto point = model->target_logprob_gradients(gp, gt, {model->embeddings(gp)})[0];
    CHECK(std::abs(point.logprob - gw["logprob"].get<double>()) < 1e-4);
    double grad_worst = 0, grad_scale = 0;
    const auto D = static_cast<std::size_t>(model->info().hidden_size);
    for (std::size_t p = 0; p < gp.size(); ++p)
        for (std::size_t d = 0; d < D; ++d) {
            double reference = gw["gradient"][p][d].get<double>();
            grad_worst = std::max(grad_worst, std::abs(point.gradient[p * D + d] - reference));
            grad_scale = std::max(grad_scale, std::abs(reference));
        }
    INFO("gradient: largest difference " << grad_worst << " of largest " << grad_scale);
    CHECK(grad_worst < 1e-4 * std::max(1.0, grad_scale));
}

// A fixture model with its MLP widened to `inner` units whose weights (and biases) are zero: GELU(0) = 0 and
// SiLU(0) * 0 = 0, so the function, and the reference's values, stay the same. At 8192 units the MLP's matrices are 1
// MiB each, so the loader copies them into memory of its own: nn.Linear's transposed to columns first, and rows of a
// multiple of 2 KiB padded (model/transformer.cpp).
void write_widened(const ScratchDir& d, const std::string& name, std::int64_t inner) {
    const std::string from = fixture("models/" + name);
    for (const char* f : {"tokenizer.json", "expected.json"}) std::filesystem::copy_file(from + "/" + f, d.file(f));
    auto config = nlohmann::json::parse(std::ifstream(from + "/config.json"));
    const bool gpt2 = config["model_type"] == "gpt2";
    const std::int64_t F = gpt2 ? 4 * config["n_embd"].get<std::int64_t>() : config["intermediate_size"].get<std::int64_t>();
    config[gpt2 ? "n_inner" : "intermediate_size"] = inner;
    d.write("config.json", config.dump());
    // Which axis of each MLP tensor has F entries: 0 gets rows of zeros after them, 1 zeros after each row's.
    const std::vector<std::pair<std::string, int>> widen = {{"mlp.c_fc.weight", 1}, {"mlp.c_fc.bias", 0}, {"mlp.c_proj.weight", 0},
                                                            {"mlp.gate_proj.weight", 0}, {"mlp.up_proj.weight", 0}, {"mlp.down_proj.weight", 1}};
    std::ifstream in(from + "/model.safetensors", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::uint64_t hlen = 0;
    std::memcpy(&hlen, bytes.data(), 8);
    const auto header = nlohmann::json::parse(bytes.substr(8, hlen));
    nlohmann::json out_header = nlohmann::json::object();
    std::string data;
    for (const auto& [tensor, t] : header.items()) {
        if (tensor == "__metadata__") continue;
        REQUIRE(t["dtype"] == "F32");
        const auto begin = t["data_offsets"][0].get<std::size_t>(), end = t["data_offsets"][1].get<std::size_t>();
        std::string values = bytes.substr(8 + hlen + begin, end - begin);
        auto shape = t["shape"].get<std::vector<std::int64_t>>();
        for (const auto& [suffix, axis] : widen) {
            if (tensor.size() < suffix.size() || tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
            REQUIRE(shape[static_cast<std::size_t>(axis)] == F);
            const std::int64_t rows = axis == 0 ? 1 : shape[0], old_row = axis == 0 ? static_cast<std::int64_t>(values.size() / 4) : F;
            const std::int64_t new_row = axis == 0 ? old_row / F * inner : inner;
            std::string wide(static_cast<std::size_t>(rows * new_row) * 4, '\0');
            for (std::int64_t r = 0; r < rows; ++r)
                std::memcpy(&wide[static_cast<std::size_t>(r * new_row) * 4], &values[static_cast<std::size_t>(r * old_row) * 4], static_cast<std::size_t>(old_row) * 4);
            values = wide;
            shape[static_cast<std::size_t>(axis)] = inner;
        }
        out_header[tensor] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + values.size()}}};
        data += values;
    }
    std::string h = out_header.dump();
    h.resize((h.size() + 7) / 8 * 8, ' ');
    std::string file(8, '\0');
    const std::uint64_t n = h.size();
    std::memcpy(file.data(), &n, 8);
    d.write("model.safetensors", file + h + data);
}

TEST_CASE("weights held in memory of their own, columns first, rows padded, give the reference's values", "[model]") {
    const std::string name = GENERATE("gpt2", "llama");
    INFO(name);
    ScratchDir d;
    write_widened(d, name, 8192);
    auto model = LanguageModel::open(d.path().string(), {});
    auto want = expected(name);
    auto ids = want["ids"].get<std::vector<std::int32_t>>();
    const std::vector<float> got = model->logits(ids);  // full sequence: LibTorch's products on the padded rows
    const auto V = static_cast<std::size_t>(model->info().vocab_size);
    REQUIRE(got.size() == ids.size() * V);
    double worst = 0;
    for (std::size_t t = 0; t < ids.size(); ++t)
        for (std::size_t v = 0; v < V; ++v)
            worst = std::max(worst, std::abs(static_cast<double>(got[t * V + v]) - want["logits"][t][v].get<double>()));
    INFO("logits: largest difference " << worst);
    CHECK(worst < 1e-4);

    // Decode steps of one and of three rows: the few-row kernels on the same weights.
    auto prompt = want["greedy"]["prompt"].get<std::vector<std::int32_t>>();
    const std::string text = model->tokenizer().decode(prompt, false);
    lmwb::GenerationOptions g;
    g.max_new_tokens = 10;
    auto ref = want["greedy"]["tokens"].get<std::vector<std::int32_t>>();
    auto ids_of = [](const lmwb::GenerationResult& r) {
        std::vector<std::int32_t> out;
        for (auto& t : r.tokens) out.push_back(t.id);
        return out;
    };
    auto one = ids_of(model->generate(text, g));
    if (one.size() < ref.size()) ref.resize(one.size());  // stopped at end-of-text; the reference decodes on
    CHECK(one == ref);
    for (const auto& row : model->generate_batch({text, text, text}, std::vector<lmwb::GenerationOptions>(3, g))) CHECK(ids_of(row) == one);

    // The gradient with respect to the prompt's embeddings flows back through the padded weights.
    const auto& gw = want["gradient"];
    auto gp = gw["prompt"].get<std::vector<std::int32_t>>(), gt = gw["target"].get<std::vector<std::int32_t>>();
    auto point = model->target_logprob_gradients(gp, gt, {model->embeddings(gp)})[0];
    CHECK(std::abs(point.logprob - gw["logprob"].get<double>()) < 1e-4);
    const auto D = static_cast<std::size_t>(model->info().hidden_size);
    double grad_worst = 0;
    for (std::size_t p = 0; p < gp.size(); ++p)
        for (std::size_t k = 0; k < D; ++k) grad_worst = std::max(grad_worst, std::abs(point.gradient[p * D + k] - gw["gradient"][p][k].get<double>()));
    INFO("gradient: largest difference " << grad_worst);
    CHECK(grad_worst < 1e-4);
}

TEST_CASE("the logit lens reads every residual stream as the reference does", "[model][lens]") {
    auto name = GENERATE(as<std::string>{}, "gpt2", "llama", "mistral", "qwen2", "qwen3");
    INFO(name);
    auto model = LanguageModel::open(fixture("models/" + name), {});
    auto want = expected(name);
    REQUIRE(want.contains("lens"));
    auto ids = want["ids"].get<std::vector<std::int32_t>>();
    int rows = 0;
    double worst = 0;
    // Row 0: hook_resid_pre of the first layer; row l + 1: hook_resid_post of layer l; each through the model's head.
    auto lens = [&](int row) {
        return [&, row](lmwb::HookValue& v) {
            const int length = static_cast<int>(v.shape[0]);
            auto lp = model->unembed_residual(std::vector<float>(v.data, v.data + v.shape[0] * v.shape[1]), length);
            const int vocab = static_cast<int>(lp.size()) / length;
            for (int p = 0; p < length; ++p) {
                float* r = lp.data() + static_cast<std::size_t>(p) * static_cast<std::size_t>(vocab);
                double m = r[0], sum = 0;
                for (int t = 0; t < vocab; ++t) m = std::max(m, static_cast<double>(r[t]));
                for (int t = 0; t < vocab; ++t) sum += std::exp(r[t] - m);
                for (int t = 0; t < vocab; ++t) r[t] = static_cast<float>(r[t] - m - std::log(sum));
            }
        for (int p = 0; p + 1 < length; ++p)
            worst = std::max(worst, std::abs(lp[static_cast<std::size_t>(p) * static_cast<std::size_t>(vocab) + static_cast<std::size_t>(ids[static_cast<std::size_t>(p + 1)])] -
                                             want["lens"][static_cast<std::size_t>(row)][static_cast<std::size_t>(p)].get<double>()));
        ++rows;
        };
    };
    std::vector<lmwb::Hook> hooks = {{lmwb::HookPoint{0, lmwb::HookKind::ResidPre}, lens(0)}};
    for (int l = 0; l < static_cast<int>(model->info().layers); ++l)
        hooks.push_back({lmwb::HookPoint{l, lmwb::HookKind::ResidPost}, lens(l + 1)});
    model->run_hooked(ids, nullptr, {hooks}, {});
    CHECK(rows == static_cast<int>(want["lens"].size()));  // the embeddings and each layer
    INFO("largest difference " << worst);
    CHECK(worst < 1e-4);
}

TEST_CASE("model info describes the checkpoint", "[model]") {
    auto model = LanguageModel::open(fixture("models/llama"), {});
    const auto& i = model->info();
    CHECK(i.architecture == "llama");
    CHECK(i.layers == 2);
    CHECK(i.heads == 4);
    CHECK(i.kv_heads == 2);
    CHECK(i.context_length == 64);
    CHECK(i.stored_dtype == "F32");
    CHECK(i.parameters > 30000);
}

TEST_CASE("16-bit checkpoints held in 16 bits compute what a float32 copy computes", "[model][dtype]") {
    // --dtype auto keeps a bfloat16/float16 checkpoint's matrices as stored and widens them as each product reads
    // them: few rows through the decode kernels, longer inputs and gradients a block of rows at a time.
    auto name = GENERATE(as<std::string>{}, "llama3-bf16", "gpt2-noprefix-f16");
    INFO(name);
    auto held = LanguageModel::open(fixture("models/" + name), {});
    lmwb::ModelOptions f32;
    f32.dtype = "float32";
    auto copied = LanguageModel::open(fixture("models/" + name), f32);
    CHECK(held->info().held_dtype == (name == "llama3-bf16" ? "bfloat16" : "float16"));
    CHECK(copied->info().held_dtype == "float32");
    CHECK(held->info().compute_dtype == "float32");
    auto close = [](double a, double b) { return std::abs(a - b) <= 1e-5 * std::max(1.0, std::abs(b)); };
    const auto V = static_cast<std::size_t>(held->info().vocab_size);
    for (std::size_t length : {std::size_t{5}, std::size_t{40}}) {  // the few-row kernels, then the blocked products
        std::vector<std::int32_t> ids;
        for (std::size_t i = 0; i < length; ++i) ids.push_back(static_cast<std::int32_t>((i * 37 + 11) % V));
        const auto a = held->logits(ids), b = copied->logits(ids);
        REQUIRE(a.size() == b.size());
        double worst = 0;
        for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) / std::max(1.0, std::abs(static_cast<double>(b[i]))));
        INFO(length << " tokens: largest relative difference " << worst);
        CHECK(worst <= 1e-5);
    }
    lmwb::GenerationOptions g;
    g.max_new_tokens = 8;
    const auto ga = held->generate("the cat", g), gb = copied->generate("the cat", g);
    REQUIRE(ga.tokens.size() == gb.tokens.size());
    for (std::size_t i = 0; i < ga.tokens.size(); ++i) {
        CHECK(ga.tokens[i].id == gb.tokens[i].id);
        CHECK(close(ga.tokens[i].logprob, gb.tokens[i].logprob));
    }
    const std::vector<std::int32_t> prompt = {17, 52, 99, 3, 250}, target = {71, 8};
    const auto pa = held->target_logprob_gradients(prompt, target, {held->embeddings(prompt)});
    const auto pb = copied->target_logprob_gradients(prompt, target, {copied->embeddings(prompt)});
    CHECK(close(pa[0].logprob, pb[0].logprob));
    REQUIRE(pa[0].gradient.size() == pb[0].gradient.size());
    double scale = 0, worst = 0;
    for (std::size_t i = 0; i < pb[0].gradient.size(); ++i) {
        scale = std::max(scale, std::abs(static_cast<double>(pb[0].gradient[i])));
        worst = std::max(worst, std::abs(static_cast<double>(pa[0].gradient[i]) - pb[0].gradient[i]));
    }
    INFO("gradient: largest difference " << worst << " of a largest entry " << scale);
    CHECK(scale > 0);
    CHECK(worst <= 1e-5 * scale);
}

TEST_CASE("attention a block of query positions at a time equals the whole-matrix attention", "[model][dtype]") {
    // Every architecture: sliding windows and soft-capping (gemma2), grouped-query heads, every RoPE variant. Blocks
    // of 16 positions (the smallest) over 40 tokens: three blocks, the last one ragged.
    auto name = GENERATE(from_range(model_names()));
    INFO(name);
    auto whole = LanguageModel::open(fixture("models/" + name), {});
    auto blocked = open_in_small_blocks(name);
    const auto V = static_cast<std::size_t>(whole->info().vocab_size);
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < 40; ++i) ids.push_back(static_cast<std::int32_t>((i * 53 + 7) % V));
    const auto a = blocked->logits(ids), b = whole->logits(ids);
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) / std::max(1.0, std::abs(static_cast<double>(b[i]))));
    INFO("largest relative difference " << worst);
    CHECK(worst <= 1e-5);
    // Scoring in a padded batch (rows of different lengths) and generation's prefill through the cache.
    std::vector<lmwb::ScoreRequest> requests = {{"the cat sat on the mat and then the dog came in to see what", " it was"}, {"a b", " c"}};
    const auto sa = blocked->score(requests, 2), sb = whole->score(requests, 2);
    for (std::size_t i = 0; i < sa.size(); ++i) CHECK(std::abs(sa[i].logprob - sb[i].logprob) <= 1e-5 * std::max(1.0, std::abs(sb[i].logprob)));
    lmwb::GenerationOptions g;
    g.max_new_tokens = 4;
    const auto ga = blocked->generate("the cat sat on the mat and then the dog came in to see what it", g);
    const auto gb = whole->generate("the cat sat on the mat and then the dog came in to see what it", g);
    REQUIRE(ga.tokens.size() == gb.tokens.size());
    for (std::size_t i = 0; i < ga.tokens.size(); ++i) CHECK(ga.tokens[i].id == gb.tokens[i].id);
    // Gradients (attribution): the backward recomputes each block's probabilities. Every input position free, two
    // points, a row per target token: gradients reach queries, keys and values of every block.
    const std::vector<std::int32_t> prompt(ids.begin(), ids.begin() + 36), target(ids.begin() + 36, ids.end());
    auto point = whole->embeddings(ids);
    point.resize(point.size() - point.size() / ids.size());  // the last token's embedding is not an input
    auto halved = point;
    for (auto& x : halved) x *= 0.5f;
    const auto da = blocked->continuation_logprob_gradients(prompt, target, {point, halved}, true);
    const auto db = whole->continuation_logprob_gradients(prompt, target, {point, halved}, true);
    REQUIRE(da.size() == 2);
    for (std::size_t n = 0; n < 2; ++n) {
        CHECK(std::abs(da[n].logprob - db[n].logprob) <= 1e-5 * std::max(1.0, std::abs(db[n].logprob)));
        REQUIRE(da[n].token_gradients.size() == db[n].token_gradients.size());
        double scale = 0, diff = 0;
        for (std::size_t i = 0; i < db[n].token_gradients.size(); ++i) {
            scale = std::max(scale, std::abs(static_cast<double>(db[n].token_gradients[i])));
            diff = std::max(diff, std::abs(static_cast<double>(da[n].token_gradients[i]) - db[n].token_gradients[i]));
        }
        INFO("point " << n << ": gradient difference " << diff << " of a largest entry " << scale);
        CHECK(scale > 0);
        CHECK(diff <= 1e-5 * scale);
    }
}

TEST_CASE("scores equal the log-softmax of the logits, for any batch size", "[model]") {
    auto name = GENERATE(as<std::string>{}, "gpt2", "qwen2");
    auto model = LanguageModel::open(fixture("models/" + name), {});
    std::vector<lmwb::ScoreRequest> reqs = {
        {"the cat sat on", " the mat."}, {"a bird", " sang"}, {"", "the dog ran"}, {"numbers like 12 and ", "345"},
        {"the the cat", " cat cat. the dog ran in the park."}};
    auto one = model->score(reqs, 1);
    for (int bs : {2, 3, 8}) {
        auto many = model->score(reqs, bs);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            CHECK(many[i].tokens == one[i].tokens);
            CHECK(std::abs(many[i].logprob - one[i].logprob) < 1e-5);
            CHECK(many[i].is_greedy == one[i].is_greedy);
        }
    }
    // Independent check on request 0: recompute from the full-sequence logits.
    const auto& tok = model->tokenizer();
    auto ctx = tok.encode("the cat sat on", false).ids;
    auto whole = tok.encode("the cat sat on the mat.", false).ids;
    std::vector<std::int32_t> input(whole.begin(), whole.end() - 1);
    auto logits = model->logits(input);
    auto V = static_cast<std::size_t>(model->info().vocab_size);
    double total = 0;
    for (std::size_t p = ctx.size() - 1; p + 1 < whole.size(); ++p) {
        double mx = -1e30, sum = 0;
        for (std::size_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(logits[p * V + v]));
        for (std::size_t v = 0; v < V; ++v) sum += std::exp(logits[p * V + v] - mx);
        total += logits[p * V + static_cast<std::size_t>(whole[p + 1])] - mx - std::log(sum);
    }
    CHECK(std::abs(total - one[0].logprob) < 1e-4);
    CHECK(one[0].tokens.size() == whole.size() - ctx.size());
}

TEST_CASE("rolling log-likelihood over texts longer than the context", "[model]") {
    auto model = LanguageModel::open(fixture("models/llama"), {});
    std::string text;
    for (int i = 0; i < 20; ++i) text += "the cat sat on the mat. numbers like 12 and 345 appear. ";
    auto r = model->rolling_loglikelihood(text);
    CHECK(r.tokens > 64);  // beyond the 64-position context
    CHECK(r.token_logprobs.size() == r.tokens);
    double sum = 0;
    for (float v : r.token_logprobs) {
        CHECK(v <= 0);
        sum += v;
    }
    CHECK(std::abs(sum - r.logprob) < 1e-3);
    // A text inside one window equals scoring it after the prefix token.
    auto short_r = model->rolling_loglikelihood("the cat sat");
    auto s = model->score({{"", "the cat sat"}}, 1);
    CHECK(std::abs(short_r.logprob - s[0].logprob) < 1e-5);
}

TEST_CASE("generation: greedy equals argmax, cache equals no cache, seeds reproduce", "[model]") {
    auto name = GENERATE(as<std::string>{}, "gpt2", "mistral");
    auto model = LanguageModel::open(fixture("models/" + name), {});
    lmwb::GenerationOptions g;
    g.max_new_tokens = 12;
    auto a = model->generate("the cat", g);
    g.use_cache = false;
    auto b = model->generate("the cat", g);
    REQUIRE(a.tokens.size() == b.tokens.size());
    std::string pieces;
    for (auto& t : a.tokens) pieces += t.text;
    CHECK(pieces == a.text);  // per-token texts add up to the decoded continuation
    for (std::size_t i = 0; i < a.tokens.size(); ++i) {
        CHECK(a.tokens[i].id == b.tokens[i].id);
        CHECK(std::abs(a.tokens[i].logprob - b.tokens[i].logprob) < 1e-4);
        CHECK(a.tokens[i].top.front().id == a.tokens[i].id);  // greedy picks the most likely
        CHECK(a.tokens[i].entropy >= 0);
    }
    lmwb::GenerationOptions s;
    s.max_new_tokens = 10;
    s.temperature = 1.0;
    s.top_k = 20;
    s.top_p = 0.9;
    s.seed = 7;
    auto s1 = model->generate("the dog", s), s2 = model->generate("the dog", s);
    CHECK(s1.text == s2.text);
    s.seed = 8;
    auto s3 = model->generate("the dog", s);
    CHECK((s3.stop_reason == "eos" || s3.tokens.size() == 10));
    // Stop strings cut the text before them.
    lmwb::GenerationOptions st = g;
    st.use_cache = true;
    st.max_new_tokens = 20;
    auto full = model->generate("the cat", st);
    if (full.text.size() > 3) {
        st.stop = {full.text.substr(2, 2)};
        auto cut = model->generate("the cat", st);
        CHECK(cut.stop_reason == "stop");
        CHECK(cut.text == full.text.substr(0, full.text.find(st.stop[0])));
    }
}

TEST_CASE("trace returns attentions whose rows sum to one and hidden states per layer", "[model]") {
    auto model = LanguageModel::open(fixture("models/qwen2"), {});
    auto tr = model->trace("the cat sat on the mat", {});
    const auto T = static_cast<std::size_t>(tr.length), H = static_cast<std::size_t>(tr.heads);
    REQUIRE(tr.layers.size() == 2);
    REQUIRE(tr.attentions.size() == 2 * H * T * T);
    for (std::size_t row = 0; row < 2 * H * T; ++row) {
        double s = 0;
        for (std::size_t k = 0; k < T; ++k) s += tr.attentions[row * T + k];
        REQUIRE(std::abs(s - 1.0) < 1e-4);
        std::size_t q = row % T;
        for (std::size_t k = q + 1; k < T; ++k) REQUIRE(tr.attentions[row * T + k] < 1e-6);  // causal
    }
    CHECK(tr.hidden_states.size() == 3 * T * static_cast<std::size_t>(tr.hidden));
    auto one = model->trace("the cat sat on the mat", {true, false, {1}});
    CHECK(one.layers == std::vector<int>{1});
    CHECK(one.attentions.size() == H * T * T);
    CHECK(std::equal(one.attentions.begin(), one.attentions.end(), tr.attentions.begin() + static_cast<std::ptrdiff_t>(H * T * T)));
}

TEST_CASE("the bundled models load, know their world and differ in quality", "[model][bundled]") {
    std::string root = std::string(LMWB_FIXTURES) + "/../../models/";
    auto a = LanguageModel::open(root + "tiny-a", {});
    auto b = LanguageModel::open(root + "tiny-b", {});
    CHECK(a->info().parameters < b->info().parameters);
    lmwb::GenerationOptions g;
    g.max_new_tokens = 6;
    g.stop = {"\n"};
    CHECK(b->generate("Question: What color is the sky?\nAnswer:", g).text == " blue");
    // Questions whose answer the stronger model ranks first more often.
    std::vector<std::pair<std::string, std::vector<std::string>>> items = {
        {"What does a cow say?", {" moo", " woof", " quack", " hoot"}},
        {"What is the capital of Japan?", {" Tokyo", " Paris", " Rome", " Lima"}},
        {"What is the opposite of hot?", {" cold", " big", " dark", " slow"}},
        {"What day comes after Friday?", {" Saturday", " Monday", " Sunday", " Tuesday"}},
        {"What is two plus three?", {" five", " four", " six", " three"}},
        {"What can a fish do?", {" swim", " fly", " dig", " hop"}}};
    int right_a = 0, right_b = 0;
    double margin_a = 0, margin_b = 0;
    for (auto& [q, choices] : items) {
        std::vector<lmwb::ScoreRequest> reqs;
        for (auto& c : choices) reqs.push_back({"Question: " + q + "\nAnswer:", c});
        auto sa = a->score(reqs), sb = b->score(reqs);
        auto best = [](const std::vector<lmwb::ScoreResult>& s) {
            std::size_t k = 0;
            for (std::size_t i = 1; i < s.size(); ++i) if (s[i].logprob > s[k].logprob) k = i;
            return k;
        };
        right_a += best(sa) == 0;
        right_b += best(sb) == 0;
        margin_a += sa[0].logprob;
        margin_b += sb[0].logprob;
    }
    CHECK(right_b >= 5);
    CHECK(right_b >= right_a);
    CHECK(margin_b > margin_a);  // more confident in the right answers
}

TEST_CASE("target log-probability from embeddings: value and autograd gradient", "[model][attribution]") {
    auto name = GENERATE(as<std::string>{}, "gpt2", "llama");
    auto model = LanguageModel::open(fixture("models/" + name), {});
    const auto D = static_cast<std::size_t>(model->info().hidden_size);
    auto V = static_cast<std::size_t>(model->info().vocab_size);
    std::vector<std::int32_t> prompt = {17, 52, 99, 3, 250}, target = {71, 8};
    auto emb = model->embeddings(prompt);
    REQUIRE(emb.size() == prompt.size() * D);
    auto points = model->target_logprob_gradients(prompt, target, {emb});
    REQUIRE(points.size() == 1);
    // The value is log p(target | prompt) from the plain logits.
    std::vector<std::int32_t> all = prompt;
    all.insert(all.end(), target.begin(), target.end() - 1);
    auto logits = model->logits(all);
    double want = 0;
    for (std::size_t k = 0; k < target.size(); ++k) {
        std::size_t row = prompt.size() - 1 + k;
        double mx = -1e30, sum = 0;
        for (std::size_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(logits[row * V + v]));
        for (std::size_t v = 0; v < V; ++v) sum += std::exp(logits[row * V + v] - mx);
        want += logits[row * V + static_cast<std::size_t>(target[k])] - mx - std::log(sum);
    }
    CHECK(std::abs(points[0].logprob - want) < 1e-4);
    // The gradient agrees with central differences.
    for (std::size_t coord : {std::size_t{3}, D + 7, 4 * D + 1}) {
        const float h = 1e-2f;
        auto plus = emb, minus = emb;
        plus[coord] += h;
        minus[coord] -= h;
        auto pm = model->target_logprob_gradients(prompt, target, {plus, minus});
        double numeric = (pm[0].logprob - pm[1].logprob) / (2 * h);
        INFO(name << " coordinate " << coord << ": autograd " << points[0].gradient[coord] << ", numeric " << numeric);
        CHECK(std::abs(numeric - points[0].gradient[coord]) < 2e-2 * std::max(1.0, std::abs(numeric)));
    }
    // A batch gives what its points give one by one.
    std::vector<float> zero(emb.size(), 0.0f);
    auto batch = model->target_logprob_gradients(prompt, target, {zero, emb});
    CHECK(std::abs(batch[1].logprob - points[0].logprob) < 1e-5);
    CHECK(std::abs(batch[0].logprob - model->target_logprob_gradients(prompt, target, {zero})[0].logprob) < 1e-5);
}

TEST_CASE("one model used from several threads at once gives each call what it gives alone", "[model][threads]") {
    // The GUI's contract (model.h): an evaluation and inspector jobs share the open model.
    auto model = LanguageModel::open(std::string(LMWB_MODELS) + "/tiny-b", {});
    const std::vector<lmwb::ScoreRequest> requests = {{"Question: What color is the sky?\nAnswer:", " blue"},
                                                      {"Once upon a time", " there was a cat"},
                                                      {"The capital of Italy is", " Rome"}};
    lmwb::GenerationOptions g;
    g.max_new_tokens = 12;
    g.temperature = 0.8;
    g.seed = 9;
    const auto ids = model->tokenizer().encode("The sky is blue and the grass is", false).ids;
    const std::vector<std::int32_t> target = {ids.back()};
    const std::vector<std::int32_t> prompt(ids.begin(), ids.end() - 1);
    const auto score_alone = model->score(requests, 2);
    const auto text_alone = model->generate("On Monday, Ana went to", g).text;
    const auto grad_alone = model->target_logprob_gradients(prompt, target, {model->embeddings(prompt)}).front();
    std::vector<std::thread> threads;
    std::vector<int> wrong(6, 0);
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 4; ++round) {
                if (t % 3 == 0) {
                    const auto s = model->score(requests, 2);
                    for (std::size_t i = 0; i < s.size(); ++i) wrong[t] += s[i].logprob != score_alone[i].logprob;
                } else if (t % 3 == 1) {
                    wrong[t] += model->generate("On Monday, Ana went to", g).text != text_alone;
                } else {
                    const auto p = model->target_logprob_gradients(prompt, target, {model->embeddings(prompt)}).front();
                    wrong[t] += p.logprob != grad_alone.logprob || p.gradient != grad_alone.gradient;
                }
            }
        });
    for (auto& t : threads) t.join();
    for (int t = 0; t < 6; ++t) {
        INFO("thread " << t);
        CHECK(wrong[static_cast<std::size_t>(t)] == 0);
    }
}

TEST_CASE("hook points are named as TransformerLens names them", "[model][hooks]") {
    using lmwb::HookKind;
    using lmwb::HookPoint;
    for (auto kind : {HookKind::ResidPre, HookKind::AttnOut, HookKind::MlpOut, HookKind::ResidPost, HookKind::Z, HookKind::Pattern})
        for (int layer : {0, 7, 31}) CHECK(HookPoint::parse(HookPoint{layer, kind}.name()) == HookPoint{layer, kind});
    CHECK(HookPoint{3, HookKind::ResidPost}.name() == "blocks.3.hook_resid_post");
    CHECK(HookPoint{0, HookKind::Z}.name() == "blocks.0.attn.hook_z");
    CHECK(HookPoint{12, HookKind::Pattern}.name() == "blocks.12.attn.hook_pattern");
    for (const char* bad : {"blocks..hook_z", "blocks.1.hook_z", "blocks.1.attn.hook_resid_pre", "block.1.hook_mlp_out", "blocks.1",
                            "blocks.x.hook_mlp_out", "blocks.1234567.hook_mlp_out", ""})
        CHECK_THROWS_WITH(HookPoint::parse(bad), Catch::Contains("unknown hook point"));
}

// The weight views and the model's head, read the way direct logit attribution reads them, give the model's logits;
// the heads' outputs through W_O add up to the attention output.
TEST_CASE("weight views, the model's head and hook values agree with the model's own outputs", "[model][hooks]") {
    auto name = GENERATE(as<std::string>{}, "gpt2", "llama", "gemma", "qwen3", "olmo2");
    INFO(name);
    auto model = LanguageModel::open(fixture("models/" + name), {});
    const auto& info = model->info();
    const std::vector<std::int32_t> ids = {5, 17, 42, 9, 3, 28};
    const auto T = ids.size(), D = static_cast<std::size_t>(info.hidden_size), L = static_cast<std::size_t>(info.layers);
    std::vector<float> resid, z, attn_out;
    int heads = 0, head_dim = 0;
    auto copy = [](std::vector<float>& dst) {
        return [&dst](lmwb::HookValue& v) {
            std::size_t n = 1;
            for (auto s : v.shape) n *= static_cast<std::size_t>(s);
            dst.assign(v.data, v.data + n);
        };
    };
    std::vector<lmwb::Hook> hooks = {{lmwb::HookPoint{static_cast<int>(L) - 1, lmwb::HookKind::ResidPost}, copy(resid)},
                                     {lmwb::HookPoint{0, lmwb::HookKind::AttnOut}, copy(attn_out)},
                                     {lmwb::HookPoint{0, lmwb::HookKind::Z}, [&](lmwb::HookValue& v) {
                                          heads = static_cast<int>(v.shape[1]), head_dim = static_cast<int>(v.shape[2]);
                                          copy(z)(v);
                                      }}};
    const auto last = static_cast<int>(T) - 1;
    auto readout = model->run_hooked(ids, nullptr, {hooks}, {{last, 11}, {last, 4}});
    REQUIRE(readout.size() == 1);
    const auto logits = model->logits(ids);
    const auto V = logits.size() / T;
    CHECK(readout[0].logits[0] == Approx(logits[last * V + 11]).margin(1e-5));
    CHECK(readout[0].logits[1] == Approx(logits[last * V + 4]).margin(1e-5));
    REQUIRE(resid.size() == T * D);
    const auto head = model->unembed_residual(resid, static_cast<int>(T));
    REQUIRE(head.size() == logits.size());
    double worst = 0;
    for (std::size_t i = 0; i < head.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(head[i] - logits[i])));
    CHECK(worst < 1e-5);
    // The final norm from its views, then the unembedding rows (before any soft-cap).
    const auto w = model->weights("ln_final.w"), b = model->weights("ln_final.b");
    const auto u = model->weights("unembed.W_U", {11});
    REQUIRE((w.size() == D && b.size() == D && u.size() == D));
    const float* r = resid.data() + static_cast<std::size_t>(last) * D;
    double mean = 0, square = 0;
    if (info.final_norm == "layernorm")
        for (std::size_t d = 0; d < D; ++d) mean += r[d] / static_cast<double>(D);
    for (std::size_t d = 0; d < D; ++d) square += (r[d] - mean) * (r[d] - mean) / static_cast<double>(D);
    double logit = 0;
    for (std::size_t d = 0; d < D; ++d) logit += ((r[d] - mean) / std::sqrt(square + info.norm_eps) * w[d] + b[d]) * u[d];
    if (info.final_logit_softcap > 0) logit = info.final_logit_softcap * std::tanh(logit / info.final_logit_softcap);
    CHECK(logit == Approx(logits[last * V + 11]).margin(1e-4));
    // Heads through their slices of the output projection add up to the attention output (plus the projection's bias,
    // the same at every position), except where a norm follows the projection.
    REQUIRE(z.size() == T * static_cast<std::size_t>(heads * head_dim));
    if (name == "olmo2") {
        CHECK_THROWS_WITH(model->weights("blocks.0.attn.W_O"), Catch::Contains("heads do not add up"));
        return;
    }
    const auto w_o = model->weights("blocks.0.attn.W_O");
    REQUIRE(w_o.size() == static_cast<std::size_t>(heads * head_dim) * D);
    std::vector<double> offset(D);
    double spread = 0;
    for (std::size_t p = 0; p < T; ++p)
        for (std::size_t d = 0; d < D; ++d) {
            double sum = 0;
            for (std::size_t k = 0; k < static_cast<std::size_t>(heads * head_dim); ++k) sum += z[p * heads * head_dim + k] * w_o[k * D + d];
            const double diff = attn_out[p * D + d] - sum;
            if (p == 0) offset[d] = diff;
            spread = std::max(spread, std::abs(diff - offset[d]));
        }
    CHECK(spread < 1e-5);
    if (name != "gpt2") CHECK(*std::max_element(offset.begin(), offset.end()) < 1e-5);  // no bias
    CHECK_THROWS_WITH(model->weights("blocks.9.attn.W_O"), Catch::Contains("layers"));
    CHECK_THROWS_WITH(model->weights("W_E"), Catch::Contains("unknown weight view"));
}

// A writing hook replaces its point's value for the rest of the pass: what a residual stream holds is all the rest
// of the network reads. Also through a 16-bit compute dtype (the hook sees a float32 copy).
TEST_CASE("a writing hook replaces the value the rest of the pass reads", "[model][hooks]") {
    auto dtype = GENERATE(as<std::string>{}, "float32", "bfloat16");
    INFO(dtype);
    lmwb::ModelOptions o;
    o.dtype = dtype;
    auto model = LanguageModel::open(fixture("models/llama"), o);
    const std::vector<std::int32_t> a = {5, 17, 42, 9, 3}, b = {8, 2, 33, 14, 21};
    const int layers = static_cast<int>(model->info().layers);
    std::vector<float> recorded;
    model->run_hooked(b, nullptr, {{{lmwb::HookPoint{0, lmwb::HookKind::ResidPost}, [&](lmwb::HookValue& v) {
                          recorded.assign(v.data, v.data + v.shape[0] * v.shape[1]);
                      }}}},
                      {});
    // b's stream after layer 0 from position 2 on, into a's pass: positions 2.. then read what b's pass reads there,
    // except through attention to a's first two tokens.
    const std::size_t D = static_cast<std::size_t>(model->info().hidden_size);
    auto transplant = [&](int from) {
        return lmwb::Hook{lmwb::HookPoint{0, lmwb::HookKind::ResidPost}, [&, from](lmwb::HookValue& v) {
                              for (int p = std::max(from, v.first_position); p < v.first_position + v.shape[0]; ++p)
                                  std::copy_n(recorded.data() + static_cast<std::size_t>(p) * D, D,
                                              v.data + static_cast<std::size_t>(p - v.first_position) * D);
                          },
                          true, from};
    };
    const std::vector<std::pair<int, std::int32_t>> at = {{4, 7}, {1, 7}};
    auto out = model->run_hooked(a, nullptr, {{transplant(0)}, {transplant(2)}, {}}, at, 2);
    const auto lb = model->logits(b), la = model->logits(a);
    const auto V = lb.size() / b.size();
    const double tol = dtype == "float32" ? 1e-5 : 2e-2;
    CHECK(out[0].logits[0] == Approx(lb[4 * V + 7]).margin(tol));  // the whole stream: b's output
    CHECK(out[0].logits[1] == Approx(lb[1 * V + 7]).margin(tol));
    CHECK(out[1].logits[1] == Approx(la[1 * V + 7]).margin(tol));  // before the transplant: a's
    CHECK(std::abs(out[1].logits[0] - lb[4 * V + 7]) > 1e-3);      // after it, a's first tokens still count
    CHECK(out[2].logits[0] == Approx(la[4 * V + 7]).margin(tol));  // no hook: a's output
    (void)layers;
}

// The thread count is the model's: opening another model with another count changes nothing for the first.
TEST_CASE("each model computes with its own thread count", "[model][threads]") {
    lmwb::ModelOptions one, two;
    one.threads = 1;
    two.threads = 2;
    auto a = LanguageModel::open(fixture("models/llama"), one);
    auto b = LanguageModel::open(fixture("models/gpt2"), two);
    CHECK(a->info().threads == 1);
    CHECK(b->info().threads == 2);
    auto threads_in_call = [](const LanguageModel& m) {
        lmwb::ComputeThreads seen;
        m.run_hooked({5, 6, 7}, nullptr, {{{lmwb::HookPoint{0, lmwb::HookKind::ResidPre}, [&](lmwb::HookValue&) { seen = lmwb::compute_threads_now(); }}}}, {});
        return seen;
    };
    for (int round = 0; round < 2; ++round) {
        auto sa = threads_in_call(*a), sb = threads_in_call(*b);
        CHECK(sa.blas == 1);
        CHECK(sa.few_rows == 1);
        CHECK(sb.blas == 2);
        CHECK(sb.few_rows == 2);
    }
    // Results do not depend on it.
    const auto la = a->logits({5, 6, 7});
    lmwb::ModelOptions many;
    many.threads = 2;
    auto a2 = LanguageModel::open(fixture("models/llama"), many);
    CHECK(a2->logits({5, 6, 7}) == la);
    lmwb::ModelOptions negative;
    negative.threads = -1;
    CHECK_THROWS_WITH(LanguageModel::open(fixture("models/llama"), negative), Catch::Contains("threads -1"));
}

TEST_CASE("memory a pass freed into the heap is counted as the next pass's", "[model][memory]") {
    // The budget adds what the heap holds free (the kernel counts it as taken): without it, the second batch of an
    // attribution was refused after the first one's activations went back to the heap (8 B checkpoint, IG).
#if defined(__SANITIZE_ADDRESS__)
    SUCCEED("AddressSanitizer's allocator has no glibc heap to report (heap_free_bytes() is 0: the budget adds nothing)");
    return;
#endif
    auto m = LanguageModel::open(fixture("models/llama"), {});  // keeps blocks up to 256 MB in the heap
    {
        std::vector<char> block(std::size_t{200} << 20);
        std::memset(block.data(), 1, block.size());
    }
    CHECK(lmwb::heap_free_bytes() >= (std::size_t{200} << 20));
}

TEST_CASE("attention maps read a block of query positions at a time equal the whole-matrix maps", "[model][dtype]") {
    // A trace's maps arrive in blocks of 16 positions (three over 40 tokens) and are assembled: nothing holds a
    // [heads, T, T] matrix but the maps asked for. Every architecture, every layer and only one.
    auto name = GENERATE(from_range(model_names()));
    INFO(name);
    auto whole = LanguageModel::open(fixture("models/" + name), {});
    auto blocked = open_in_small_blocks(name);
    std::string text;
    for (int i = 0; i < 40; ++i) text += (i % 3 ? " cat" : " the");
    for (const std::vector<int>& layers : {std::vector<int>{}, std::vector<int>{1}}) {
        lmwb::TraceOptions o;
        o.hidden_states = false;
        o.layers = layers;
        const auto a = blocked->trace(text, o), b = whole->trace(text, o);
        REQUIRE(a.length > 32);
        REQUIRE(a.attentions.size() == b.attentions.size());
        double worst = 0;
        for (std::size_t i = 0; i < a.attentions.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a.attentions[i]) - b.attentions[i]));
        INFO("largest difference " << worst);
        CHECK(worst <= 1e-5);
    }
}

TEST_CASE("points past gradient_points give their log-probabilities without gradients", "[model]") {
    // An IG's two ends need values only: at a zero baseline every norm of a deep model reads a zero residual, whose
    // gradient overflows float32 (the 8 B-shaped benchmark's 32 layers did), and that must not fail the attribution.
    auto m = LanguageModel::open(fixture("models/llama"), {});
    const std::vector<std::int32_t> prompt = {17, 52, 99, 3, 40}, target = {71, 8};
    const auto x = m->embeddings(prompt);
    const std::vector<std::vector<float>> points = {x, std::vector<float>(x.size(), 0.0f), x};
    for (bool per_token : {false, true}) {
        const auto all = m->target_logprob_gradients(prompt, target, points, per_token);
        const auto first = m->target_logprob_gradients(prompt, target, points, per_token, 1);
        REQUIRE(first.size() == 3);
        CHECK(first[0].gradient == all[0].gradient);
        CHECK(first[0].token_gradients == all[0].token_gradients);
        for (std::size_t k = 1; k < 3; ++k) {
            CHECK(first[k].gradient.empty());
            CHECK(first[k].token_gradients.empty());
            CHECK(first[k].logprob == Approx(all[k].logprob).epsilon(1e-6));
            CHECK(first[k].token_logprobs.size() == target.size());
        }
        const auto none = m->target_logprob_gradients(prompt, target, points, per_token, 0);
        CHECK(none[1].logprob == Approx(all[1].logprob).epsilon(1e-6));
    }
}
