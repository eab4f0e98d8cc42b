// The lmwb command line, run as a user would.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "lmwb/tokenizer.h"
#include "test_support.h"

using lmwb::test::fixture;
using lmwb::test::run_command;
using Catch::Matchers::Contains;

namespace {
std::string lmwb_cmd(const std::string& args) { return std::string("'") + LMWB_CLI + "' " + args; }
std::string gpt2() { return "'" + fixture("tokenizers/gpt2/tokenizer.json") + "'"; }
}  // namespace

TEST_CASE("lmwb --version and --help", "[cli]") {
    auto v = run_command(lmwb_cmd("--version"));
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.output, Contains("lmwb 0."));
    auto h = run_command(lmwb_cmd("--help"));
    CHECK(h.exit_code == 0);
    CHECK_THAT(h.output, Contains("tokenize") && Contains("detokenize"));
}

TEST_CASE("lmwb tokenize prints tokens with ids and offsets", "[cli]") {
    auto r = run_command(lmwb_cmd("tokenize --tokenizer " + gpt2() + " 'Hello world'"));
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Contains("15496") && Contains("Hello") && Contains("[5,11)") && Contains("\" world\""));

    auto j = run_command(lmwb_cmd("tokenize --json --tokenizer " + gpt2() + " -- 'Hello 東京'"));
    REQUIRE(j.exit_code == 0);
    auto doc = nlohmann::json::parse(j.output);
    CHECK(doc["ids"][0] == 15496);
    // 京 is split into byte-level pieces; each carries the whole character's span.
    CHECK(doc["char_offsets"].back() == nlohmann::json::array({7, 8}));
    CHECK(doc["offsets"].back() == nlohmann::json::array({9, 12}));
    CHECK(doc["tokens"][1] == "Ġæ");
}

TEST_CASE("lmwb tokenize --jsonl and - read stdin, --special adds the template's tokens", "[cli]") {
    auto r = run_command("printf '%s\\n' '\"a b\"' '\"\"' '\"東\"' | " +
                         lmwb_cmd("tokenize --jsonl --tokenizer '" + fixture("tokenizers/llama2/tokenizer.json") + "' --special"));
    REQUIRE(r.exit_code == 0);
    std::vector<nlohmann::json> lines;
    std::size_t pos = 0;
    for (std::size_t nl; (nl = r.output.find('\n', pos)) != std::string::npos; pos = nl + 1)
        lines.push_back(nlohmann::json::parse(r.output.substr(pos, nl - pos)));
    REQUIRE(lines.size() == 3);
    CHECK(lines[1]["ids"] == nlohmann::json::array({1}));  // BOS only, as the reference does for ""
    CHECK(lines[0]["ids"][0] == 1);

    auto s = run_command("printf 'from stdin' | " + lmwb_cmd("tokenize --json --tokenizer " + gpt2() + " -"));
    REQUIRE(s.exit_code == 0);
    auto a = run_command(lmwb_cmd("tokenize --json --tokenizer " + gpt2() + " 'from stdin'"));
    CHECK(nlohmann::json::parse(s.output)["ids"] == nlohmann::json::parse(a.output)["ids"]);
    CHECK(nlohmann::json::parse(s.output)["tokens"].back() == "in");
}

TEST_CASE("lmwb detokenize", "[cli]") {
    auto r = run_command(lmwb_cmd("detokenize --tokenizer " + gpt2() + " 15496 995"));
    REQUIRE(r.exit_code == 0);
    CHECK(r.output == "Hello world\n");
    auto s = run_command("echo '[15496, 50256, 995]' | " + lmwb_cmd("detokenize --skip-special --tokenizer " + gpt2() + " -"));
    CHECK(s.output == "Hello world\n");
}

TEST_CASE("lmwb reports bad input clearly and exits non-zero", "[cli]") {
    auto r = run_command(lmwb_cmd("tokenize --tokenizer /nonexistent/tokenizer.json hi 2>&1"));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Contains("lmwb: error: /nonexistent/tokenizer.json: no such file"));
    auto d = run_command(lmwb_cmd("detokenize --tokenizer " + gpt2() + " 12 x3 2>&1"));
    CHECK(d.exit_code == 1);
    CHECK_THAT(d.output, Contains("not a token id: 'x3'"));
    auto j = run_command("printf 'not json\\n' | " + lmwb_cmd("tokenize --jsonl --tokenizer " + gpt2() + " 2>&1"));
    CHECK(j.exit_code == 1);
    CHECK_THAT(j.output, Contains("stdin:1: malformed JSON"));
    auto u = run_command(lmwb_cmd("frobnicate 2>&1"));
    CHECK(u.exit_code != 0);
    // An id outside the vocabulary is an error, not a silently shorter text.
    for (const char* id : {"99999999", "50257"}) {
        auto v = run_command(lmwb_cmd("detokenize --tokenizer " + gpt2() + " 15496 " + id + " 2>&1"));
        CHECK(v.exit_code == 1);
        CHECK_THAT(v.output, Contains(std::string("token id ") + id + " is not in the vocabulary") && Contains("50257 tokens"));
    }
}

TEST_CASE("lmwb info, generate and score on a bundled model", "[cli]") {
    std::string model = "'" + std::string(LMWB_FIXTURES) + "/../../models/tiny-b'";
    auto info = run_command(lmwb_cmd("info --json " + model));
    REQUIRE(info.exit_code == 0);
    auto i = nlohmann::json::parse(info.output);
    CHECK(i["architecture"] == "llama");
    CHECK(i["context_length"] == 256);

    auto gen = run_command(lmwb_cmd("generate --json --max-new-tokens 5 " + model + " 'Question: What color is snow?\nAnswer:'"));
    REQUIRE(gen.exit_code == 0);
    auto g = nlohmann::json::parse(gen.output);
    CHECK(g["token_ids"].size() == g["tokens"].size());
    CHECK(g["text"].get<std::string>().rfind(" white", 0) == 0);
    auto again = nlohmann::json::parse(run_command(lmwb_cmd("generate --json --max-new-tokens 8 --temperature 1 --seed 5 " + model + " 'On Friday,'")).output);
    auto twice = nlohmann::json::parse(run_command(lmwb_cmd("generate --json --max-new-tokens 8 --temperature 1 --seed 5 " + model + " 'On Friday,'")).output);
    CHECK(again["token_ids"] == twice["token_ids"]);

    auto score = run_command(lmwb_cmd("score --json " + model + " --context 'The capital of Italy is' --continuation ' Rome'"));
    REQUIRE(score.exit_code == 0);
    auto s = nlohmann::json::parse(score.output);
    CHECK(s["logprob"].get<double>() < 0);
    CHECK(s["logprob"].get<double>() > -1.0);  // the stronger bundled model knows it

    auto bad = run_command(lmwb_cmd("info /nonexistent-model 2>&1"));
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.output, Contains("/nonexistent-model: not a folder"));
}

TEST_CASE("lmwb explain -m patching and -m dla print JSON and name bad options", "[cli][circuits]") {
    const std::string model = "'" + fixture("models/gpt2") + "' -p 'the cat sat on the' -t ' mat.'";
    auto p = run_command(lmwb_cmd("explain " + model + " -m patching --corrupted 'the dog ran in the' --sites residual,heads --positions 3,4 --json"));
    REQUIRE(p.exit_code == 0);
    auto j = nlohmann::json::parse(p.output);
    CHECK(j["schema"] == "lmwb.patching");
    CHECK(j["grids"].size() == 2);
    CHECK(j["grids"][0]["site"] == "residual");
    CHECK(j["grids"][0]["recovered"][0].size() == 2);  // the two positions asked for
    CHECK(j["grids"][1]["recovered"][0].size() == 4);  // the heads
    auto d = run_command(lmwb_cmd("explain " + model + " -m dla --contrast ' park' --json"));
    REQUIRE(d.exit_code == 0);
    auto k = nlohmann::json::parse(d.output);
    CHECK(k["sum"].get<double>() == Approx(k["total"].get<double>()).margin(1e-4));
    auto bad = run_command(lmwb_cmd("explain " + model + " -m patching --corrupted 'the dog' 2>&1"));
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.output, Contains("--corrupted has 2 tokens"));
    auto site = run_command(lmwb_cmd("explain " + model + " -m patching --sites resid 2>&1"));
    CHECK(site.exit_code != 0);
    CHECK_THAT(site.output, Contains("--sites: unknown site 'resid'"));
}

TEST_CASE("lmwb tokenize --jsonl keeps one output per input line, bad numeric options are named", "[cli]") {
    auto blank = run_command("printf '\"a\"\\n\\n\"b\"\\n' | " + lmwb_cmd("tokenize --jsonl --tokenizer " + gpt2() + " 2>&1"));
    CHECK(blank.exit_code != 0);
    CHECK_THAT(blank.output, Contains("stdin:2: a blank line"));
    const std::string model = "'" + fixture("models/gpt2") + "'";
    for (auto [args, message] : {std::pair{"-m attention --layer -7", "--layer -7"}, std::pair{"--baseline-token -2", "--baseline-token -2"},
                                 std::pair{"-m shap --batch-size -1", "--batch-size must be 0"}, std::pair{"--max-memory 1kB", "--max-memory allows"}, std::pair{"--max-memory 2.5XB", "expected a size such as 12GB"}, std::pair{"--max-memory 0.5KiB", "--max-memory allows 512 B"}, std::pair{"--threads -1", "threads -1"},
                                 std::pair{"--threads 1000000", "threads 1000000"}}) {
        INFO(args);
        auto r = run_command(lmwb_cmd("explain " + model + " -p 'the cat' -t ' sat' " + args + " 2>&1"));
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.output, Contains(message));
    }
}

TEST_CASE("generation gives the same tokens whichever decode kernels run (LMWB_FEW_ROWS_ISA)", "[cli]") {
    // The knob that measures an AVX2-only machine's kernels on a wider CPU (docs/performance.md): every set must
    // decode as the widest does. A bfloat16 checkpoint, whose weights the kernels widen as they read them.
    const std::string model = "'" + fixture("models/llama3-bf16") + "'";
    const std::string args = "generate " + model + " 'the cat sat' --max-new-tokens 12 --json 2>&1";
    const auto widest = run_command(lmwb_cmd(args));
    REQUIRE(widest.exit_code == 0);
    const auto ids = nlohmann::json::parse(widest.output)["token_ids"];
    CHECK(ids.size() == 12);
    for (const char* isa : {"avx2", "none"}) {
        INFO(isa);
        const auto r = run_command(std::string("LMWB_FEW_ROWS_ISA=") + isa + " " + lmwb_cmd(args));
        REQUIRE(r.exit_code == 0);
        CHECK(nlohmann::json::parse(r.output)["token_ids"] == ids);
    }
}

TEST_CASE("lmwb chat renders a folder's chat template, and with --json its ids without a second BOS", "[cli][chat]") {
    // A folder holding only tokenizer.json (the Llama-3 fixture tokenizer) and Llama-3.1's tokenizer_config.json.
    lmwb::test::ScratchDir d;
    std::filesystem::create_directories(d.file("m"));
    std::filesystem::copy_file(fixture("tokenizers/llama3/tokenizer.json"), d.file("m/tokenizer.json"));
    std::filesystem::copy_file(fixture("chat/llama3_1/tokenizer_config.json"), d.file("m/tokenizer_config.json"));
    d.write("msgs.json", R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there "}])");
    const std::string expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                                 "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>";
    auto plain = run_command(lmwb_cmd("chat " + d.file("m") + " --messages " + d.file("msgs.json")));
    CHECK(plain.exit_code == 0);
    CHECK(plain.output == expected);
    auto gen = run_command(lmwb_cmd("chat " + d.file("m") + " --messages " + d.file("msgs.json") + " --add-generation-prompt --json"));
    REQUIRE(gen.exit_code == 0);
    const auto j = nlohmann::json::parse(gen.output);
    const std::string text = j["text"];
    CHECK(text == expected + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    const auto ids = j["ids"].get<std::vector<int>>();
    CHECK(ids == lmwb::Tokenizer::from_file(d.file("m")).encode(text, false).ids);
    CHECK(std::count(ids.begin(), ids.end(), 128000) == 1);  // <|begin_of_text|> from the template only
    CHECK(ids.front() == 128000);
    // Bad input names its place.
    d.write("bad.json", R"([{"role": "user", "content": "a"}, {"content": "b"}])");
    auto bad = run_command(lmwb_cmd("chat " + d.file("m") + " --messages " + d.file("bad.json") + " 2>&1"));
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.output, Contains(d.file("bad.json") + ": message 2: 'role' is missing"));
    std::filesystem::remove(d.file("m/tokenizer_config.json"));
    auto none = run_command(lmwb_cmd("chat " + d.file("m") + " --messages " + d.file("msgs.json") + " 2>&1"));
    CHECK(none.exit_code == 1);
    CHECK_THAT(none.output, Contains("no chat template"));
}
