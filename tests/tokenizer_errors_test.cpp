// Bad tokenizer files fail with one clear error that names the file and the JSON path (or line) at fault.
#include <catch2/catch.hpp>

#include <tuple>

#include "lmwb/tokenizer.h"
#include "test_support.h"

using lmwb::Tokenizer;
using lmwb::TokenizerError;
using Catch::Matchers::Contains;

namespace {

// A small valid byte-level BPE tokenizer.json whose parts the tests below break one at a time.
std::string tokenizer_json(const std::string& model_extra = "", const std::string& merges = R"(["a b"])",
                           const std::string& top_extra = "") {
    return R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2})" + model_extra +
           R"(, "merges": )" + merges + "}" + top_extra + "}";
}

std::string load_error(const std::string& path) {
    try {
        Tokenizer::from_file(path);
    } catch (const TokenizerError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("a minimal tokenizer.json loads", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    Tokenizer tok = Tokenizer::from_file(dir.write("tokenizer.json", tokenizer_json()));
    CHECK(tok.encode("abab", false).ids == std::vector<std::int32_t>{2, 2});
}

TEST_CASE("missing and malformed files", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    CHECK_THAT(load_error(dir.file("nope.json")), Contains("nope.json") && Contains("no such file"));
    CHECK_THAT(load_error(dir.path().string()), Contains("no tokenizer.json"));
    std::string truncated = dir.write("t.json", "{\n  \"model\": {\"type\": \"BPE\",\n  \"vocab\": {\"a\": 0");
    CHECK_THAT(load_error(truncated), Contains("t.json:3:") && Contains("malformed JSON"));
    CHECK_THAT(load_error(dir.write("arr.json", "[1, 2]")), Contains("arr.json: /: expected a tokenizer.json object"));
    CHECK_THAT(load_error(dir.write("nomodel.json", "{}")), Contains("nomodel.json: /model: missing field 'model'"));
    // Found by fuzz/tokenizer (fuzz/corpus/tokenizer/crash-number-overflow): std::terminate before.
    CHECK_THAT(load_error(dir.write("big.json", "{\"model\": {\"type\": \"BPE\", \"dropout\": 201e308}}")),
               Contains("big.json: malformed JSON") && Contains("number overflow"));
}

TEST_CASE("fields of the wrong type or value name their JSON path", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    CHECK_THAT(load_error(dir.write("a.json", tokenizer_json(R"(, "fuse_unk": "yes")"))),
               Contains("/model/fuse_unk: expected true or false, found string"));
    CHECK_THAT(load_error(dir.write("b.json", tokenizer_json("", R"(["a b", "a c"])"))),
               Contains("/model/merges/1: merge token 'c' is not in the vocabulary"));
    CHECK_THAT(load_error(dir.write("c.json", tokenizer_json("", R"(["a  b"])"))),
               Contains("/model/merges/0: a merge must be two tokens"));
    CHECK_THAT(load_error(dir.write("d.json", tokenizer_json(R"(, "unk_token": "<unk>")"))),
               Contains("/model/unk_token: unk token '<unk>' is not in the vocabulary"));
    CHECK_THAT(load_error(dir.write("e.json", R"({"model": {"type": "BPE", "vocab": {"a": -3}, "merges": []}})")),
               Contains("/model/vocab/a: token id must be a non-negative integer"));
    CHECK_THAT(load_error(dir.write("f.json", tokenizer_json("", R"(["a b"])",
                                                             R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})"))),
               Contains("/pre_tokenizer/pattern: invalid regex '(unclosed'"));
    CHECK_THAT(load_error(dir.write("g.json", tokenizer_json("", R"(["a b"])",
                                                             R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"})"))),
               Contains("/pre_tokenizer/behavior: unknown split behavior 'Sideways'"));
    CHECK_THAT(load_error(dir.write("h.json", tokenizer_json("", R"(["a b"])",
                                                             R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "special_tokens": {}})"))),
               Contains("/post_processor/single/0/SpecialToken/id: special token '<s>' is missing"));
    CHECK_THAT(load_error(dir.write("i.json", tokenizer_json("", R"(["a b"])", R"(, "added_tokens": [{"content": "x"}])"))),
               Contains("/added_tokens/0/id: missing field 'id'"));
}

TEST_CASE("unsupported components name themselves", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    CHECK_THAT(load_error(dir.write("u.json", R"({"model": {"type": "Unigram", "vocab": [["a", -1.0]]}})")),
               Contains("/model/type: unsupported model type 'Unigram'"));
    CHECK_THAT(load_error(dir.write("p.json", tokenizer_json("", R"(["a b"])", R"(, "pre_tokenizer": {"type": "UnicodeScripts"})"))),
               Contains("/pre_tokenizer/type: unsupported pre-tokenizer type 'UnicodeScripts'"));
    CHECK_THAT(load_error(dir.write("n.json", tokenizer_json("", R"(["a b"])", R"(, "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""})"))),
               Contains("/normalizer/type: unsupported normalizer type 'Precompiled'"));
    CHECK_THAT(load_error(dir.write("d.json", tokenizer_json("", R"(["a b"])", R"(, "decoder": {"type": "Telepathy"})"))),
               Contains("/decoder/type: unsupported decoder type 'Telepathy'"));
    CHECK_THAT(load_error(dir.write("r.json", tokenizer_json(R"(, "dropout": 0.1)"))),
               Contains("/model/dropout: BPE dropout is random"));
}

TEST_CASE("deeply nested Sequences are refused at once, a plausible nesting still loads", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    auto nested = [](const std::string& kind, const std::string& list, const std::string& leaf, int depth) {
        std::string open, close;
        for (int i = 0; i < depth; ++i) {
            open += R"({"type": "Sequence", ")" + list + R"(": [)";
            close += "]}";
        }
        return R"(, ")" + kind + R"(": )" + open + leaf + close;
    };
    const std::string lowercase = R"({"type": "Lowercase"})", bytelevel = R"({"type": "ByteLevel", "add_prefix_space": false})";
    for (auto [kind, list, leaf] : {std::tuple{"normalizer", "normalizers", lowercase}, std::tuple{"pre_tokenizer", "pretokenizers", bytelevel},
                                    std::tuple{"decoder", "decoders", bytelevel}}) {
        INFO(kind);
        CHECK_THAT(load_error(dir.write("deep.json", tokenizer_json("", R"(["a b"])", nested(kind, list, leaf, 100000)))),
                   Contains("deep.json:1:") && Contains("nested deeper than 128 levels"));
        Tokenizer ok = Tokenizer::from_file(dir.write("ok.json", tokenizer_json("", R"(["a b"])", nested(kind, list, leaf, 40))));
        CHECK(ok.encode("ab", false).ids.size() >= 1);
    }
    // Brackets inside strings do not count.
    CHECK_NOTHROW(Tokenizer::from_file(dir.write("strings.json", tokenizer_json("", R"(["a b"])", R"(, "version": ")" + std::string(300, '[') + "\""))));
}

TEST_CASE("token ids far beyond the vocabulary are refused, not allocated", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    for (const char* id : {"300000000", "2147483647"}) {
        INFO(id);
        std::string json = tokenizer_json();
        json.replace(json.find("\"ab\": 2"), 7, std::string("\"ab\": ") + id);
        CHECK_THAT(load_error(dir.write("big.json", json)), Contains("big.json") && Contains("/model/vocab/ab") && Contains("far beyond"));
    }
}

TEST_CASE("legacy vocab.json + merges.txt errors name file and line", "[tokenizer][errors]") {
    lmwb::test::ScratchDir dir;
    dir.write("legacy/vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
    dir.write("legacy/merges.txt", "#version: 0.2\na b\nthis line is wrong\n");
    CHECK_THAT(load_error(dir.file("legacy")), Contains("merges.txt:3: expected two tokens separated by one space"));
    dir.write("legacy/merges.txt", "#version: 0.2\na c\n");
    CHECK_THAT(load_error(dir.file("legacy")), Contains("merge token 'c' is not in the vocabulary"));
    dir.write("legacy/merges.txt", "#version: 0.2\na b\n");
    CHECK(Tokenizer::from_file(dir.file("legacy")).encode("ab", false).ids == std::vector<std::int32_t>{2});
}

TEST_CASE("tokenizers whose steps multiply text are refused within bounded work", "[tokenizer][errors][security]") {
    lmwb::test::ScratchDir dir;
    std::string bytelevels, replaces;
    for (int i = 0; i < 30; ++i)
        bytelevels += std::string(i ? "," : "") + R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false})";
    for (int i = 0; i < 40; ++i)
        replaces += std::string(i ? "," : "") + R"({"type": "Replace", "pattern": {"String": "a"}, "content": "aaaa"})";
    // Each ByteLevel maps a non-ASCII byte to a two-byte character: the text doubles at every step.
    std::string spaced;
    for (int i = 0; i < 50; ++i) spaced += "é a ";
    for (const auto& [name, extra, stage, text] :
         {std::tuple<const char*, std::string, const char*, std::string>{
              "bytelevel.json", R"(, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [)" + bytelevels + "]}", "pre-tokenizers", spaced},
          {"replace.json", R"(, "normalizer": {"type": "Sequence", "normalizers": [)" + replaces + "]}", "normalizers", std::string(200, 'a')}}) {
        INFO(name);
        Tokenizer tok = Tokenizer::from_file(dir.write(name, tokenizer_json("", R"(["a b"])", extra)));
        CHECK_THROWS_WITH(tok.encode(text, false), Contains(std::string("the tokenizer's ") + stage + " grow this input past 64 times"));
    }
    // One Replace that lengthens each "a" fourfold is within bounds.
    Tokenizer once = Tokenizer::from_file(dir.write("once.json", tokenizer_json("", R"(["a b"])",
        R"(, "normalizer": {"type": "Replace", "pattern": {"String": "b"}, "content": "bbbb"})")));
    CHECK(once.encode("ab", false).ids.size() >= 2);
}
