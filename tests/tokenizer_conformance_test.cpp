// Every fixture under fixtures/tokenizers holds a tokenizer and the output the reference Hugging Face
// `tokenizers` library (0.23.2) produced for it (scripts/make_tokenizer_fixtures.mjs): we must match it exactly.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lmwb/tokenizer.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> fixture_dirs() {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(fs::path(LMWB_FIXTURES) / "tokenizers"))
        if (fs::exists(e.path() / "cases.jsonl")) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string show(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

TEST_CASE("tokenizer fixtures cover the required vocabularies and components", "[tokenizer][conformance]") {
    auto dirs = fixture_dirs();
    for (const char* required : {"gpt2", "gpt2-legacy", "llama3", "qwen2", "llama2", "gpt4o", "bert-wordpiece"})
        CHECK(std::find(dirs.begin(), dirs.end(), required) != dirs.end());
    CHECK(dirs.size() >= 20);
}

TEST_CASE("encode and decode match the reference library on every fixture", "[tokenizer][conformance]") {
    auto dir = GENERATE(from_range(fixture_dirs()));
    fs::path base = fs::path(LMWB_FIXTURES) / "tokenizers" / dir;
    fs::path file = fs::exists(base / "tokenizer.json") ? base / "tokenizer.json" : base;
    lmwb::Tokenizer tok = lmwb::Tokenizer::from_file(file.string());

    std::ifstream in(base / "cases.jsonl");
    std::string line;
    std::size_t line_no = 0, cases = 0, failures = 0;
    std::ostringstream report;
    while (std::getline(in, line)) {
        ++line_no;
        auto c = nlohmann::json::parse(line);
        std::string text = c["text"];
        bool special = c["add_special_tokens"];
        lmwb::Encoding e = c.contains("pair") ? tok.encode_pair(text, c["pair"].get<std::string>(), special)
                                              : tok.encode(text, special);
        nlohmann::json offsets = nlohmann::json::array();
        for (auto& o : e.char_offsets) offsets.push_back({o.begin, o.end});
        std::vector<std::int32_t> want_ids = c["ids"].get<std::vector<std::int32_t>>();
        std::string decoded = tok.decode(want_ids, false), decoded_skip = tok.decode(want_ids, true);
        ++cases;
        bool types_ok = !c.contains("type_ids") || nlohmann::json(e.type_ids) == c["type_ids"];
        bool ok = types_ok && e.ids == want_ids && nlohmann::json(e.tokens) == c["tokens"] && offsets == c["offsets"] &&
                  decoded == c["decoded"] && decoded_skip == c["decoded_skip_special"];
        if (!ok && ++failures <= 5) {
            report << dir << " line " << line_no << " text " << show(c["text"]) << " special=" << special << "\n";
            if (e.ids != want_ids) report << "  ids    " << show(e.ids) << "\n  want   " << show(c["ids"]) << "\n";
            if (nlohmann::json(e.tokens) != c["tokens"])
                report << "  tokens " << show(e.tokens) << "\n  want   " << show(c["tokens"]) << "\n";
            if (offsets != c["offsets"]) report << "  offs   " << show(offsets) << "\n  want   " << show(c["offsets"]) << "\n";
            if (!types_ok) report << "  types  " << show(e.type_ids) << "\n  want   " << show(c["type_ids"]) << "\n";
            if (decoded != c["decoded"]) report << "  dec    " << show(decoded) << "\n  want   " << show(c["decoded"]) << "\n";
            if (decoded_skip != c["decoded_skip_special"])
                report << "  dec-skip " << show(decoded_skip) << "\n  want     " << show(c["decoded_skip_special"]) << "\n";
        }
    }
    INFO(report.str());
    INFO(dir << ": " << failures << " of " << cases << " cases differ");
    CHECK(cases > 0);
    CHECK(failures == 0);
}

TEST_CASE("a tokenizer described without its vocabulary is described as the loaded one", "[tokenizer][describe]") {
    for (const auto& dir : fixture_dirs()) {
        fs::path base = fs::path(LMWB_FIXTURES) / "tokenizers" / dir;
        INFO(base);
        CHECK(lmwb::Tokenizer::describe_file(base.string()) == lmwb::Tokenizer::from_file(base.string()).describe());
    }
    // A type-less model (older files) is inferred from the fields the quick read drops.
    lmwb::test::ScratchDir scratch;
    std::ifstream in(fs::path(LMWB_FIXTURES) / "tokenizers" / "gpt2" / "tokenizer.json");
    nlohmann::json j = nlohmann::json::parse(in);
    j["model"].erase("type");
    const fs::path typeless = scratch.write("typeless.json", j.dump());
    CHECK(lmwb::Tokenizer::describe_file(typeless.string()) == lmwb::Tokenizer::from_file(typeless.string()).describe());
    CHECK_THAT(lmwb::Tokenizer::describe_file(typeless.string()), Catch::Matchers::StartsWith("BPE"));
    const std::string truncated = scratch.write("truncated.json", "{\"model\": {\"type\": \"BPE\",\n \"vocab\": {}");
    CHECK_THROWS_WITH(lmwb::Tokenizer::describe_file(truncated), Catch::Matchers::Contains("truncated.json:2:"));
}
