// Slices: aggregates and paired comparisons per value of a suite's slice fields (a category, a split, a list of tags).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

#include "lmwb/evaluation.h"
#include "lmwb/model.h"
#include "test_support.h"

using namespace lmwb;

namespace {

datasets::Suite bundled(const char* name) { return datasets::load_suite(std::string(LMWB_SUITES) + "/" + name + ".json"); }

eval::Report run(const char* model, const datasets::Suite& suite) {
    auto m = LanguageModel::open(std::string(LMWB_MODELS) + "/" + model);
    eval::EvalOptions o;
    o.settings.bootstrap_iterations = 200;
    auto out = eval::evaluate(*m, nullptr, {suite}, o);
    REQUIRE(out.complete);
    return out.report;
}

const eval::Aggregate& find(const std::vector<eval::Aggregate>& v, const std::string& metric) {
    for (const auto& a : v)
        if (a.metric == metric) return a;
    FAIL("no aggregate " << metric);
    return v.front();
}

}  // namespace

TEST_CASE("a suite's slice fields take strings, numbers and lists of tags, bad ones are named", "[evaluation][slices]") {
    test::ScratchDir dir;
    dir.write("s.jsonl",
              "{\"id\": \"a\", \"question\": \"q1\", \"choices\": [\"x\", \"y\"], \"answer\": 0, \"topic\": \"geo\", \"level\": 2, \"tags\": [\"hard\", \"new\"]}\n"
              "{\"id\": \"b\", \"question\": \"q2\", \"choices\": [\"x\", \"y\"], \"answer\": 1, \"topic\": \"math\", \"tags\": []}\n");
    const std::string def = R"({"name": "s", "kind": "multiple_choice", "prompt": "{question}", "items": "s.jsonl", "slices": ["topic", "level", "tags"]})";
    auto s = datasets::load_suite(dir.write("s.json", def));
    REQUIRE(s.items.size() == 2);
    CHECK(s.items[0].slices.at("topic") == std::vector<std::string>{"geo"});
    CHECK(s.items[0].slices.at("level") == std::vector<std::string>{"2"});
    CHECK(s.items[0].slices.at("tags") == std::vector<std::string>{"hard", "new"});
    CHECK(s.items[1].slices.count("level") == 0);  // absent: in no slice of that field
    CHECK(s.items[1].slices.at("tags").empty());
    dir.write("bad.jsonl", "{\"id\": \"a\", \"question\": \"q\", \"choices\": [\"x\"], \"answer\": 0, \"topic\": {\"k\": 1}}\n");
    CHECK_THROWS_WITH(datasets::load_suite(dir.write("bad.json", R"({"name": "b", "kind": "multiple_choice", "prompt": "{question}", "items": "bad.jsonl", "slices": ["topic"]})")),
                      Catch::Contains("bad.jsonl:1") && Catch::Contains("slice field 'topic'"));
    CHECK_THROWS_WITH(datasets::load_suite(dir.write("twice.json", R"({"name": "t", "kind": "multiple_choice", "prompt": "{question}", "items": "s.jsonl", "slices": ["topic", "topic"]})")),
                      Catch::Contains("'topic' is named twice"));
}

TEST_CASE("the report carries every aggregate per slice, a slice of one item has no interval", "[evaluation][slices]") {
    auto report = run("tiny-b", bundled("world-facts-qa"));
    const auto& s = report.suites[0];
    CHECK(s.slice_fields == std::vector<std::string>{"topic", "split"});
    std::set<std::string> seen;
    std::size_t split_items = 0;
    for (const auto& sl : s.slices) {
        INFO(sl.field << " = " << sl.value);
        seen.insert(sl.field + "=" + sl.value);
        CHECK(sl.aggregates.size() == s.metrics.size());
        // The slice's aggregates are those of the suite restricted to its items.
        auto sub = eval::subset(s, sl.field, sl.value);
        CHECK(sub.items.size() == sl.n);
        if (sl.field == "split") split_items += sl.n;
        auto direct = eval::aggregate(sub, 200, report.settings.seed);
        for (const auto& a : sl.aggregates) {
            CHECK(a.value == Approx(find(direct, a.metric).value));
            CHECK(a.has_interval == (sl.n > 1));
        }
    }
    CHECK(split_items == s.items.size());  // seen and held-out partition the suite
    CHECK(seen.count("topic=day"));
    CHECK(seen.count("split=held-out"));
    // Held-out sums are all wrong for tiny-b, the seen facts nearly all right.
    for (const auto& sl : s.slices) {
        if (sl.field == "split" && sl.value == "held-out") CHECK(find(sl.aggregates, "exact_match").value == 0);
        if (sl.field == "split" && sl.value == "seen") CHECK(find(sl.aggregates, "exact_match").value > 0.9);
        if (sl.field == "topic" && sl.value == "day") {
            CHECK(sl.n == 1);
            auto j = nlohmann::json(nlohmann::json::parse(eval::to_json_text(report)));
            for (const auto& js : j["suites"][0]["slices"])
                if (js["value"] == "day") CHECK(js["aggregates"][0]["ci95"].is_null());
        }
    }
    // Round trip: slices and the missing intervals survive.
    auto back = eval::report_from_json_text(eval::to_json_text(report), "mem");
    CHECK(eval::deterministic_json(back) == eval::deterministic_json(report));
}

TEST_CASE("compare gives paired results per slice", "[evaluation][slices][compare]") {
    const auto suite = bundled("world-facts-mc");
    auto ra = run("tiny-a", suite), rb = run("tiny-b", suite);
    auto cmp = eval::compare_reports({ra, rb}, {"a", "b"}, 300, 1);
    std::size_t slice_rows = 0;
    for (const auto& m : cmp[0].metrics) {
        if (m.slice.empty() || m.metric != "acc") continue;
        ++slice_rows;
        INFO(m.slice);
        const auto eq = m.slice.find('=');
        auto xa = eval::subset(ra.suites[0], m.slice.substr(0, eq), m.slice.substr(eq + 1));
        auto xb = eval::subset(rb.suites[0], m.slice.substr(0, eq), m.slice.substr(eq + 1));
        REQUIRE(xa.items.size() == xb.items.size());
        std::size_t a_only = 0, b_only = 0;
        double sa = 0, sb = 0;
        for (std::size_t i = 0; i < xa.items.size(); ++i) {
            const bool x = xa.items[i].metrics.at("acc") > 0.5, y = xb.items[i].metrics.at("acc") > 0.5;
            a_only += x && !y;
            b_only += !x && y;
            sa += x, sb += y;
        }
        REQUIRE(m.mcnemar);
        CHECK(m.mcnemar->b == a_only);
        CHECK(m.mcnemar->c == b_only);
        CHECK(m.baseline == Approx(sa / static_cast<double>(xa.items.size())));
        CHECK(m.other == Approx(sb / static_cast<double>(xb.items.size())));
        if (m.mcnemar->p_value >= 0.05) CHECK(eval::verdict(m).empty());  // a few items: no verdict without McNemar
    }
    CHECK(slice_rows == 9);  // 7 topics + 2 splits
    auto json = nlohmann::json::parse(eval::comparisons_to_json(cmp));
    bool sliced = false;
    for (const auto& m : json["comparisons"][0]["metrics"]) sliced = sliced || m["slice"] == "split=held-out";
    CHECK(sliced);
}

TEST_CASE("a comparison on a handful of items says it cannot decide, and gives no verdict", "[evaluation][compare]") {
    const auto suite = bundled("world-facts-qa");
    auto ra = run("tiny-a", suite), rb = run("tiny-b", suite);
    // The first three items only: no paired test on 3 items can go below p = 2 / 2^3 = 0.25.
    for (auto* r : {&ra, &rb}) r->suites[0].items.resize(3);
    auto cmp = eval::compare_reports({ra, rb}, {"a", "b"}, 1000, 1);
    bool seen = false;
    for (const auto& m : cmp[0].metrics) {
        if (!m.slice.empty()) continue;
        INFO(m.metric << ": " << eval::describe_test(m));
        CHECK(m.n == 3);
        CHECK_FALSE(m.decidable());
        CHECK(m.test.min_p_value >= 0.25);
        CHECK(m.test.p_value >= 0.25);
        CHECK(eval::verdict(m).empty());
        CHECK(eval::describe_test(m).find("too few items to decide") != std::string::npos);
        CHECK(eval::describe_test(m).find("n=3") != std::string::npos);
        seen = true;
    }
    CHECK(seen);
    auto json = nlohmann::json::parse(eval::comparisons_to_json(cmp));
    CHECK(json["comparisons"][0]["metrics"][0]["decidable"] == false);
    CHECK(json["comparisons"][0]["metrics"][0]["n"] == 3);
}
