// The typed JSON layer every reader uses (lmwb/json_file.h): its rules once, and each reader applying them.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>

#include "lmwb/json_file.h"
#include "lmwb/report.h"
#include "lmwb/suite.h"
#include "test_support.h"

using lmwb::test::ScratchDir;
namespace jf = lmwb::json_file;

namespace {

[[noreturn]] void runtime(const std::string& message) { throw std::runtime_error(message); }

std::string nested(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("json files: unique keys, a nesting limit, a size cap and regular files only", "[json]") {
    CHECK_NOTHROW(jf::parse_strict(R"({"a": {"b": 1}, "c": {"b": 2}})"));  // the same key in two objects is fine
    CHECK_THROWS_AS(jf::parse_strict(R"({"a": {"b": 1, "b": 2}})"), jf::DuplicateKey);
    CHECK_THROWS_AS(jf::parse_strict(R"([{"x": 1}, {"y": 2, "y": 3}])"), jf::DuplicateKey);
    CHECK_NOTHROW(jf::parse_strict(nested(64)));
    CHECK_THROWS_AS(jf::parse_strict(nested(65)), jf::TooDeep);
    CHECK_THROWS_AS(jf::parse_strict(nested(100000)), jf::TooDeep);  // refused long before the stack would be
    ScratchDir d;
    const std::string big = d.write("big.json", "[" + std::string(2000, ' ') + "]");
    CHECK_THAT(error_of([&] { jf::read(big, "a test", runtime, {1000, 64}); }), Catch::Contains("big.json: cannot open: is 2002 bytes, more than the 1000 bytes"));
    CHECK_NOTHROW(jf::read(big, "a test", runtime));
    CHECK_THAT(error_of([&] { jf::read(d.path().string(), "a test", runtime); }), Catch::Contains("is a folder"));
    const std::string fifo = d.file("fifo.json");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THAT(error_of([&] { jf::read(fifo, "a test", runtime); }), Catch::Contains("not a regular file"));  // never blocks
    CHECK_THAT(error_of([&] { jf::read(d.file("none.json"), "the test's input", runtime); }),
               Catch::Contains("none.json: cannot open: no such file (the test's input)"));
    CHECK_THAT(error_of([&] { jf::parse("{\"a\": 1,}", "x.json", runtime); }), Catch::Contains("x.json: malformed JSON"));
    CHECK_THAT(error_of([&] { jf::read_object(d.write("list.json", "[1]"), "", runtime); }), Catch::Contains("list.json: expected a JSON object, found array"));
}

TEST_CASE("json files: typed fields name the file and the field's pointer", "[json]") {
    const auto j = jf::parse_strict(R"({"n": "3", "x": 1.5, "list": ["a", 2], "sub": {"k": true, "z": 1}, "big": 18446744073709551615})");
    const jf::Object o(j, "f.json", runtime);
    CHECK_THAT(error_of([&] { o.integer("n"); }), Catch::Equals("f.json: /n: expected an integer, found string"));
    CHECK_THAT(error_of([&] { o.integer("missing"); }), Catch::Equals("f.json: /missing: missing field"));
    CHECK(o.integer("missing", 7) == 7);
    CHECK(o.number("x", 0) == 1.5);
    CHECK_THAT(error_of([&] { o.integer("x"); }), Catch::Equals("f.json: /x: expected an integer, found number"));
    CHECK_THAT(error_of([&] { o.integer("big"); }), Catch::Equals("f.json: /big: is out of range"));
    CHECK_THAT(error_of([&] { o.strings("list"); }), Catch::Equals("f.json: /list/1: expected a string, found number"));
    const auto sub = o.object("sub");
    CHECK(sub.boolean("k", false));
    CHECK_THAT(error_of([&] { sub.string("k"); }), Catch::Equals("f.json: /sub/k: expected a string, found boolean"));
    CHECK_THAT(error_of([&] { sub.only({"k"}); }), Catch::Equals("f.json: unknown field '/sub/z'"));
    CHECK_THAT(error_of([&] { o.object("x"); }), Catch::Equals("f.json: /x: expected an object, found number"));
}

// Suites, reports, journals and ratings apply the same rules: a key given twice is an error in every one of them
// (nlohmann would silently keep the last), and so is nesting past the limit.
TEST_CASE("every reader applies the json file rules", "[json]") {
    ScratchDir d;
    const std::string items = d.write("items.jsonl", R"({"id": "a", "question": "Q?", "choices": ["x", "y"], "answer": 0})" "\n");
    const std::string def = R"({"lmwb_suite": 1, "name": "t", "kind": "multiple_choice", "items": "items.jsonl", "prompt": "{question}")";
    CHECK_NOTHROW(lmwb::datasets::load_suite(d.write("ok.json", def + "}")));
    CHECK_THAT(error_of([&] { lmwb::datasets::load_suite(d.write("twice.json", def + R"(, "name": "u"})")); }),
               Catch::Contains("twice.json: the key 'name' appears twice"));
    d.write("items.jsonl", R"({"id": "a", "question": "Q?", "question": "R?", "choices": ["x", "y"], "answer": 0})" "\n");
    CHECK_THAT(error_of([&] { lmwb::datasets::load_suite(d.file("ok.json")); }), Catch::Contains("items.jsonl:1: the key 'question' appears twice"));
    d.write("items.jsonl", R"({"id": "a", "question": "Q?", "choices": ["x", "y"], "answer": 0, "deep": )" + nested(80) + "}\n");
    CHECK_THAT(error_of([&] { lmwb::datasets::load_suite(d.file("ok.json")); }), Catch::Contains("items.jsonl:1: nested deeper than 64 levels"));
    CHECK_THAT(error_of([&] { lmwb::eval::report_from_json_text(R"({"schema": "lmwb.report", "schema": "x"})", "r.json"); }),
               Catch::Contains("r.json: the key 'schema' appears twice"));
    CHECK_THAT(error_of([&] { lmwb::eval::report_from_json_text(nested(70), "deep.json"); }), Catch::Contains("deep.json: nested deeper than 64 levels"));
}
