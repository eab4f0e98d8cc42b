// Suite loading: formats, field mapping, templates, few-shot draws, and every kind of bad input.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "lmwb/suite.h"
#include "test_support.h"

using lmwb::datasets::load_suite;
using lmwb::datasets::SuiteError;
using lmwb::datasets::TaskKind;
using lmwb::test::ScratchDir;

namespace {

std::string mc_def(const std::string& extra = "") {
    return R"({"lmwb_suite": 1, "name": "t", "kind": "multiple_choice", "items": "items.jsonl",
               "prompt": "Q: {question}\nA:")" + extra + "}";
}

std::string error_of(const ScratchDir& d) {
    try {
        load_suite(d.file("suite.json"));
    } catch (const SuiteError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("a multiple-choice suite loads with prompts, answers and hashes", "[datasets]") {
    ScratchDir d;
    d.write("suite.json", mc_def());
    d.write("items.jsonl", "{\"id\": \"a\", \"question\": \"2+2?\", \"choices\": [\"3\", \"4\"], \"answer\": 1}\n\n"
                           "{\"id\": 7, \"question\": \"sky?\", \"choices\": [\"blue\", \"red\"], \"answer\": \"blue\"}\n");
    auto s = load_suite(d.file("suite.json"));
    CHECK(s.kind == TaskKind::MultipleChoice);
    REQUIRE(s.items.size() == 2);
    CHECK(s.items[0].prompt == "Q: 2+2?\nA:");
    CHECK(s.items[0].answer == 1);
    CHECK(s.items[1].id == "7");
    CHECK(s.items[1].line == 3);
    CHECK(s.items[1].answer == 0);
    CHECK(s.items[0].content_hash.size() == 64);
    CHECK(s.items[0].content_hash != s.items[1].content_hash);
    CHECK(s.sha256.size() == 64);
    // Any change to the items changes the suite's hash.
    auto before = s.sha256;
    d.write("items.jsonl", "{\"id\": \"a\", \"question\": \"2+2?\", \"choices\": [\"3\", \"4\"], \"answer\": 0}\n");
    CHECK(load_suite(d.file("suite.json")).sha256 != before);
}

TEST_CASE("field mapping accepts the shapes datasets already have", "[datasets]") {
    ScratchDir d;
    d.write("suite.json", R"({"name": "qa", "kind": "generation", "items": "items.jsonl", "prompt": "{prompt}",
                              "fields": {"id": "qid", "references": "reference"}})");
    d.write("items.jsonl", "{\"qid\": \"x1\", \"prompt\": \"Capital of France?\", \"reference\": \"Paris\"}\n"
                           "{\"qid\": \"x2\", \"prompt\": \"Two words\", \"reference\": [\"a b\", \"c d\"]}\n");
    auto s = load_suite(d.file("suite.json"));
    CHECK(s.items[0].id == "x1");
    CHECK(s.items[0].references == std::vector<std::string>{"Paris"});
    CHECK(s.items[1].references.size() == 2);

    ScratchDir p;
    p.write("suite.json", R"({"name": "yesno", "kind": "multiple_choice", "items": "items.jsonl", "prompt": "{passage} {q}?",
                              "choices": ["no", "yes"], "fields": {"answer": "label"}})");
    p.write("items.jsonl", "{\"passage\": \"Snow is white.\", \"q\": \"is snow white\", \"label\": 1}\n");
    auto y = load_suite(p.file("suite.json"));
    CHECK(y.items[0].choices == std::vector<std::string>{"no", "yes"});
    CHECK(y.items[0].answer == 1);
    CHECK(y.items[0].id == "0");
    CHECK(y.items[0].prompt == "Snow is white. is snow white?");
}

TEST_CASE("few-shot examples are drawn per item with a fixed seed", "[datasets]") {
    ScratchDir d;
    d.write("suite.json", mc_def(R"(, "few_shot": {"count": 2, "seed": 5, "separator": "\n\n"})"));
    std::string items;
    for (int i = 0; i < 6; ++i)
        items += "{\"id\": \"i" + std::to_string(i) + "\", \"question\": \"q" + std::to_string(i) +
                 "\", \"choices\": [\"x\", \"y\"], \"answer\": " + std::to_string(i % 2) + "}\n";
    d.write("items.jsonl", items);
    auto a = load_suite(d.file("suite.json")), b = load_suite(d.file("suite.json"));
    for (std::size_t i = 0; i < a.items.size(); ++i) {
        CHECK(a.items[i].prompt == b.items[i].prompt);
        // Two examples, each "Q: qK\nA: target", and never the item itself.
        const auto& p = a.items[i].prompt;
        CHECK(p.rfind("Q: q" + std::to_string(i) + "\nA:") == p.size() - std::string("Q: qX\nA:").size());
        CHECK(p.find("Q: q" + std::to_string(i) + "\nA: ") == std::string::npos);
        auto count = [&](const std::string& s) {
            std::size_t n = 0;
            for (auto pos = p.find(s); pos != std::string::npos; pos = p.find(s, pos + 1)) ++n;
            return n;
        };
        CHECK(count("\n\n") == 2);
    }
    bool shows_target = a.items[0].prompt.find("A: x\n\n") != std::string::npos || a.items[0].prompt.find("A: y\n\n") != std::string::npos;
    CHECK(shows_target);
    // Another seed, other draws (for at least one item).
    d.write("suite.json", mc_def(R"(, "few_shot": {"count": 2, "seed": 6})"));
    auto c = load_suite(d.file("suite.json"));
    bool differs = false;
    for (std::size_t i = 0; i < a.items.size(); ++i) differs = differs || c.items[i].prompt != a.items[i].prompt;
    CHECK(differs);
}

TEST_CASE("few-shot draws are pinned: the examples of each item equal an independent implementation's", "[datasets]") {
    // scripts/reference/few_shot_reference.py: SplitMix64 (checked against its published outputs) and a partial
    // Fisher-Yates shuffle, as docs/suite-format.md defines the draw. A change here changes every suite's prompts.
    const auto want = nlohmann::json::parse(lmwb::test::read_text(lmwb::test::fixture("datasets/few_shot_reference.json")));
    for (const auto& c : want["cases"]) {
        const auto n = c["items"].get<int>();
        const auto seed = c["seed"].get<std::uint64_t>();
        INFO(n << " items, count " << c["count"] << ", seed " << seed);
        ScratchDir d;
        d.write("suite.json", mc_def(", \"few_shot\": {\"count\": " + std::to_string(c["count"].get<int>()) + ", \"seed\": " + std::to_string(seed) + "}"));
        std::string items;
        auto target = [](int k) { return k % 2 ? std::string("y") : std::string("x"); };
        for (int i = 0; i < n; ++i)
            items += "{\"id\": \"i" + std::to_string(i) + "\", \"question\": \"q" + std::to_string(i) +
                     "\", \"choices\": [\"x\", \"y\"], \"answer\": " + std::to_string(i % 2) + "}\n";
        d.write("items.jsonl", items);
        const auto s = load_suite(d.file("suite.json"));
        REQUIRE(s.items.size() == static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            std::string expected;
            for (const auto& k : c["draws"][static_cast<std::size_t>(i)])
                expected += "Q: q" + std::to_string(k.get<int>()) + "\nA: " + target(k.get<int>()) + "\n\n";
            expected += "Q: q" + std::to_string(i) + "\nA:";
            CHECK(s.items[static_cast<std::size_t>(i)].prompt == expected);
        }
    }
}

TEST_CASE("templates substitute fields and escape braces", "[datasets]") {
    using lmwb::datasets::render_template;
    CHECK(render_template("{a} and {{b}}", {{"a", "x"}}) == "x and {b}");
    CHECK_THROWS_WITH(render_template("{missing}", {}), Catch::Contains("'missing'"));
}

TEST_CASE("bad suites name the file, line and field", "[datasets][errors]") {
    ScratchDir d;
    auto items_ok = "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 0}\n";
    d.write("items.jsonl", items_ok);

    d.write("suite.json", "{\"name\": ");
    CHECK_THAT(error_of(d), Catch::Contains("suite.json: malformed JSON"));
    d.write("suite.json", mc_def(R"(, "promt": "x")"));
    CHECK_THAT(error_of(d), Catch::Contains("unknown field '/promt'"));
    d.write("suite.json", R"({"name": "t", "kind": "ranking", "items": "items.jsonl"})");
    CHECK_THAT(error_of(d), Catch::Contains("/kind: is 'ranking'"));
    d.write("suite.json", R"({"name": "t", "kind": "multiple_choice"})");
    CHECK_THAT(error_of(d), Catch::Contains("/items: missing field"));
    d.write("suite.json", R"({"name": 3, "kind": "multiple_choice", "items": "items.jsonl"})");
    CHECK_THAT(error_of(d), Catch::Contains("suite.json: /name: expected a string, found number"));
    d.write("suite.json", mc_def(R"(, "generation": {"max_new_tokens": "ten"})"));
    CHECK_THAT(error_of(d), Catch::Contains("generation/max_new_tokens"));
    // Settings a run could only fail on are refused when the suite opens, naming the file and the field.
    for (auto [setting, message] : {std::pair{R"("temperature": -1)", "/generation/temperature: is -1"},
                                    std::pair{R"("top_p": 0)", "/generation/top_p: is 0"},
                                    std::pair{R"("top_k": -5)", "/generation/top_k: is -5"},
                                    std::pair{R"("max_new_tokens": 1e9)", "/generation/max_new_tokens: is 1000000000"}}) {
        d.write("suite.json", mc_def(std::string(R"(, "generation": {)") + setting + "}"));
        CHECK_THAT(error_of(d), Catch::Contains("suite.json") && Catch::Contains(message));
    }
    d.write("suite.json", mc_def(R"(, "lmwb_suite": 2)"));
    CHECK_THAT(error_of(d), Catch::Contains("lmwb_suite"));

    d.write("suite.json", mc_def());
    d.write("items.jsonl", std::string(items_ok) + items_ok + "{\"question\": \"q\", \"choices\": [\"a\"], \"answer\": 0,}\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:3: malformed JSON"));
    // Found by fuzz/suite: a number beyond double's range is nlohmann's out_of_range, thrown while parsing.
    d.write("items.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 1e400}\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:1: malformed JSON") && Catch::Contains("number overflow"));
    d.write("suite.json", mc_def(R"(, "few_shot": {"count": 1.2e20})"));  // a float cast into an int (fuzz/suite)
    CHECK_THAT(error_of(d), Catch::Contains("/few_shot/count: is 1.2e+20, out of range"));
    d.write("suite.json", mc_def(R"(, "generation": {"temperature": -1e999})"));
    CHECK_THAT(error_of(d), Catch::Contains("suite.json: malformed JSON"));
    d.write("suite.json", mc_def());
    d.write("items.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 18446744073709551615}\n");
    CHECK_THAT(error_of(d), Catch::Contains("/answer: is 18446744073709551615, out of range for 2 choices"));
    d.write("items.jsonl", "[1, 2]\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:1: expected a JSON object"));
    d.write("items.jsonl", "\n\n");
    CHECK_THAT(error_of(d), Catch::Contains("the suite has no items"));
    d.write("items.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 2}\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:1: /answer: is 2, out of range for 2 choices"));
    d.write("items.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": \"c\"}\n");
    CHECK_THAT(error_of(d), Catch::Contains("not one of the choices"));
    d.write("items.jsonl", "{\"question\": \"q\", \"answer\": 0}\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:1: /choices: missing field"));
    d.write("items.jsonl", "{\"choices\": [\"a\"], \"answer\": 0}\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:1: template field 'question' is missing"));
    d.write("items.jsonl", "{\"id\": \"x\", \"question\": \"q\", \"choices\": [\"a\"], \"answer\": 0}\n"
                           "{\"id\": \"y\", \"question\": \"q\", \"choices\": [\"a\"], \"answer\": 0}\n"
                           "{\"id\": \"x\", \"question\": \"q\", \"choices\": [\"a\"], \"answer\": 0}\n");
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl:3: duplicate id 'x' (first on line 1)"));
    d.write("items.jsonl", items_ok);
    d.write("suite.json", mc_def(R"(, "few_shot": {"count": 3})"));
    CHECK_THAT(error_of(d), Catch::Contains("few_shot/count"));
    std::filesystem::remove(d.file("items.jsonl"));
    d.write("suite.json", mc_def());
    CHECK_THAT(error_of(d), Catch::Contains("items.jsonl: cannot open"));
}
