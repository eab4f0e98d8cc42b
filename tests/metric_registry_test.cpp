// The metric registry: each metric once, the calibration and matching metrics HELM and lm-evaluation-harness define
// (values worked by hand from their definitions), and docs/suite-format.md's table equal to the registry.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "lmwb/report_analysis.h"
#include "test_support.h"

using namespace lmwb;
using datasets::TaskKind;

namespace {

// A multiple-choice item whose choice log-likelihoods are `ll` (answer `answer`).
eval::ItemRecord mc_item(std::vector<std::pair<std::string, double>> choices, int answer, int greedy = -1) {
    eval::ItemRecord r;
    r.id = std::to_string(choices.size()) + choices.front().first;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        eval::ChoiceScore c;
        c.text = choices[i].first;
        c.logprob = choices[i].second;
        c.is_greedy = static_cast<int>(i) == greedy;
        r.choices.push_back(c);
    }
    r.answer = answer;
    return r;
}

double item_value(TaskKind kind, const std::string& metric, const eval::ItemRecord& r, const eval::MetricSettings& s = {}) {
    const eval::MetricInfo* m = eval::find_metric(kind, metric);
    REQUIRE(m);
    REQUIRE(m->item);
    auto v = m->item(r, s);
    REQUIRE(v.has_value());
    return *v;
}

}  // namespace

TEST_CASE("every metric is registered once per kind, with what it needs", "[evaluation][registry]") {
    std::set<std::pair<int, std::string>> seen;
    for (const auto& m : eval::metric_catalog()) {
        INFO(m.name);
        CHECK(seen.insert({static_cast<int>(m.kind), m.name}).second);
        CHECK_FALSE(m.description.empty());
        CHECK_FALSE(m.convention.empty());
        const bool runner_writes = m.needs == eval::ModelInput::PromptRelevance || m.needs == eval::ModelInput::ReferenceRelevance;
        if (m.aggregation == eval::Aggregation::Corpus) CHECK(m.corpus);
        else CHECK((m.item || runner_writes));
    }
    CHECK(eval::find_metric(TaskKind::MultipleChoice, "exact_match") != eval::find_metric(TaskKind::Generation, "exact_match"));
    CHECK(eval::find_metric(TaskKind::Perplexity, "bleu") == nullptr);
}

TEST_CASE("multiple choice: acc, acc_norm, acc_bytes and exact_match follow lm-evaluation-harness", "[evaluation][registry]") {
    // Log-likelihoods -6, -9, -8 of "a", "ééé" and "abcd" (1, 3 and 4 code points; 1, 6 and 4 UTF-8 bytes), answer 1:
    // acc picks choice 0; acc_norm (per code point: -6, -3, -2) choice 2; acc_bytes (per byte: -6, -1.5, -2) choice 1.
    auto r = mc_item({{"a", -6}, {"\xC3\xA9\xC3\xA9\xC3\xA9", -9}, {"abcd", -8}}, 1, /*greedy=*/1);
    CHECK(item_value(TaskKind::MultipleChoice, "acc", r) == 0);
    CHECK(item_value(TaskKind::MultipleChoice, "acc_norm", r) == 0);
    CHECK(item_value(TaskKind::MultipleChoice, "acc_bytes", r) == 1);
    CHECK(item_value(TaskKind::MultipleChoice, "exact_match", r) == 1);  // the answer's continuation is greedy
    r.choices[1].is_greedy = false;
    CHECK(item_value(TaskKind::MultipleChoice, "exact_match", r) == 0);
    // Brier over the softmax: choices with probabilities 0.5, 0.25, 0.25 and answer 0: 0.25 + 0.0625 + 0.0625.
    auto b = mc_item({{"x", std::log(0.5)}, {"y", std::log(0.25)}, {"z", std::log(0.25)}}, 0);
    CHECK(item_value(TaskKind::MultipleChoice, "brier", b) == Approx(0.375));
}

TEST_CASE("HELM calibration: ece_1_bin, selective_acc@10 and the coverage-accuracy area", "[evaluation][registry]") {
    // Top-choice probabilities 0.9, 0.8, 0.7, 0.6, 0.5 (two choices each), right, wrong, right, right, wrong.
    eval::SuiteReport s;
    s.name = "calibration";
    s.kind = datasets::to_string(TaskKind::MultipleChoice);
    s.metrics = {"ece_1_bin", "selective_acc@10", "selective_cov_acc_area", "acc"};
    const double conf[] = {0.9, 0.8, 0.7, 0.6, 0.5};
    const int right[] = {1, 0, 1, 1, 0};
    for (int i = 0; i < 5; ++i) {
        auto r = mc_item({{"p", std::log(conf[i])}, {"q", std::log(1 - conf[i])}}, right[i] ? 0 : 1);
        r.id = std::to_string(i);
        r.metrics["acc"] = right[i];
        s.items.push_back(r);
    }
    auto aggregates = eval::aggregate(s, 200, 1);
    auto value = [&](const std::string& m) {
        for (auto& a : aggregates)
            if (a.metric == m) return a.value;
        FAIL("no aggregate " << m);
        return 0.0;
    };
    // |mean confidence 0.7 - accuracy 0.6|
    CHECK(value("ece_1_bin") == Approx(0.1));
    // Most confident first: running accuracies 1, 1/2, 2/3, 3/4, 3/5. selective_acc@10 = accs[int(0.1 * 5)] = accs[0].
    CHECK(value("selective_acc@10") == Approx(1.0));
    CHECK(value("selective_cov_acc_area") == Approx((1 + 0.5 + 2.0 / 3 + 0.75 + 0.6) / 5));
    CHECK(value("acc") == Approx(0.6));
}

TEST_CASE("selective metrics: tied confidences count as their group's mean, whatever the item order", "[evaluation][registry]") {
    // Confidences 0.9, 0.9 (one right) and 0.6, 0.6, 0.6 (two right). A tie group counts its mean correctness at each
    // position it spans: running accuracies 0.5, 0.5, (1 + 2/3) / 3, (1 + 4/3) / 4, 3/5.
    auto run = [](bool reversed) {
        eval::SuiteReport s;
        s.name = "ties";
        s.kind = datasets::to_string(TaskKind::MultipleChoice);
        s.metrics = {"selective_acc@10", "selective_cov_acc_area"};
        const double conf[] = {0.9, 0.9, 0.6, 0.6, 0.6};
        const int right[] = {1, 0, 1, 0, 1};
        for (int k = 0; k < 5; ++k) {
            const int i = reversed ? 4 - k : k;
            auto r = mc_item({{"p", std::log(conf[i])}, {"q", std::log(1 - conf[i])}}, right[i] ? 0 : 1);
            r.id = std::to_string(i);
            s.items.push_back(r);
        }
        std::map<std::string, double> out;
        for (const auto& a : eval::aggregate(s, 50, 1)) out[a.metric] = a.value;
        return out;
    };
    auto forward = run(false), backward = run(true);
    CHECK(forward["selective_acc@10"] == Approx(0.5));
    CHECK(forward["selective_cov_acc_area"] == Approx((0.5 + 0.5 + 5.0 / 9 + 7.0 / 12 + 0.6) / 5));
    CHECK(backward["selective_acc@10"] == forward["selective_acc@10"]);
    CHECK(backward["selective_cov_acc_area"] == Approx(forward["selective_cov_acc_area"]).epsilon(1e-15));
}

TEST_CASE("generation: HELM's quasi and prefix exact match", "[evaluation][registry]") {
    eval::ItemRecord r;
    r.references = {"The Eiffel Tower"};
    auto v = [&](const char* metric, const char* response) {
        r.response = response;
        return item_value(TaskKind::Generation, metric, r);
    };
    CHECK(v("quasi_exact_match", "  eiffel tower!") == 1);    // lowercased, punctuation and article gone
    CHECK(v("quasi_exact_match", "the Eiffel Tower is tall") == 0);
    CHECK(v("prefix_exact_match", "  The Eiffel Tower is tall") == 1);  // stripped, then a prefix
    CHECK(v("prefix_exact_match", "the Eiffel Tower is tall") == 0);    // case matters without normalising
    CHECK(v("quasi_prefix_exact_match", "the eiffel tower, in Paris") == 1);
    CHECK(v("quasi_prefix_exact_match", "a tower") == 0);
    // An empty completion scores 0 in all three, even against a reference that normalises to nothing (HELM).
    r.references = {"the"};
    for (const char* m : {"quasi_exact_match", "prefix_exact_match", "quasi_prefix_exact_match"}) {
        INFO(m);
        CHECK(v(m, "") == 0);
        CHECK(v(m, "  ") == 0);
    }
    CHECK(v("quasi_prefix_exact_match", "anything") == 1);  // every text starts with ""
}

TEST_CASE("defaults name one convention: rouge_score's tokenizer, SQuAD's normalize_answer", "[evaluation][registry]") {
    auto qa = datasets::load_suite(std::string(LMWB_SUITES) + "/world-stories-continue.json");
    CHECK(qa.ascii_words);  // no rouge_tokenizer field: rouge_score's
    const auto settings = eval::metric_settings(qa);
    CHECK(settings.words == metrics::WordMode::Ascii);
    eval::ItemRecord r;
    r.references = {"猫"};
    r.response = "猫";
    CHECK(item_value(TaskKind::Generation, "rouge_1", r, settings) == 0);  // no [a-z0-9] word, as rouge_score
    eval::MetricSettings unicode = settings;
    unicode.words = metrics::WordMode::Unicode;
    CHECK(item_value(TaskKind::Generation, "rouge_1", r, unicode) == 1);
    // exact_match without a suite normalization: SQuAD v1.1's normalize_answer on both sides.
    datasets::Suite plain;
    r.references = {"The Eiffel Tower."};
    r.response = "eiffel   tower";
    CHECK(item_value(TaskKind::Generation, "exact_match", r, eval::metric_settings(plain)) == 1);
}

TEST_CASE("docs/suite-format.md lists the registry's metrics as the registry describes them", "[evaluation][registry][docs]") {
    CHECK(lmwb::test::doc_section(std::string(LMWB_SOURCE_DIR) + "/docs/suite-format.md", "<!-- metrics table: `lmwb metrics --markdown` -->\n",
                                  "<!-- end of metrics table -->") == eval::metrics_markdown());
}

// The definition's fields are declared once (datasets::suite_fields): the loader accepts exactly those, and the docs'
// table is generated from them.
TEST_CASE("docs/suite-format.md's field table is the loader's, and the loader accepts exactly those fields", "[evaluation][suite][docs]") {
    CHECK(lmwb::test::doc_section(std::string(LMWB_SOURCE_DIR) + "/docs/suite-format.md", "<!-- suite fields table: `lmwb formats suite` -->\n",
                                  "<!-- end of suite fields table -->") == datasets::suite_fields_markdown());
    // Every declared field (and every key of an object field) loads; one more is an unknown field.
    lmwb::test::ScratchDir d;
    d.write("items.jsonl", R"({"id": "a", "question": "Q?", "choices": ["x", "y"], "answer": 0})" "\n");
    const std::string base = R"({"name": "t", "kind": "multiple_choice", "items": "items.jsonl")";
    auto loads = [&](const std::string& extra) {
        try {
            datasets::load_suite(d.write("s.json", base + ", " + extra + "}"));
            return std::string("loaded");
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
    };
    std::size_t checked = 0;
    for (const auto& f : datasets::suite_fields())
        for (const auto& name : f.names) {
            INFO(name);
            CHECK_THAT(loads("\"" + name + "\": null"), !Catch::Contains("unknown field"));
            ++checked;
        }
    CHECK(checked >= 20);
    CHECK_THAT(loads(R"("promt": "x")"), Catch::Contains("unknown field '/promt'"));
    for (const auto& f : datasets::suite_fields()) {
        if (f.keys.empty()) continue;
        std::string all;
        for (const auto& k : f.keys) all += (all.empty() ? "" : ", ") + ("\"" + k + "\": null");
        CHECK(loads("\"" + f.names.front() + "\": {" + all + "}") == "loaded");
        CHECK_THAT(loads("\"" + f.names.front() + "\": {\"bogus\": 1}"), Catch::Contains("unknown field '/" + f.names.front() + "/bogus'"));
    }
}

TEST_CASE("doubtful aggregates say why: an interval excluding its estimate or leaving the metric's range, few items, none", "[metrics][doubts]") {
    const eval::MetricInfo* ece = eval::find_metric(datasets::TaskKind::MultipleChoice, "ece");
    const eval::MetricInfo* acc = eval::find_metric(datasets::TaskKind::MultipleChoice, "acc");
    REQUIRE((ece && acc));
    eval::Aggregate a;
    a.metric = "ece", a.value = 0.30, a.low = 0.31, a.high = 0.52, a.n = 200;  // a bootstrap above its own estimate
    auto d = eval::aggregate_doubts(a, ece);
    REQUIRE(d.size() == 1);
    CHECK(d[0].find("excludes the estimate 0.3") != std::string::npos);
    a.metric = "acc", a.value = 0.06, a.low = -0.06, a.high = 0.185;  // a Wald interval below 0
    d = eval::aggregate_doubts(a, acc);
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "the interval leaves the values acc can take (0 to 1)");
    a.low = 0.01, a.n = 19;
    d = eval::aggregate_doubts(a, acc);
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "only 19 items: the interval is rough");
    a.n = 20;
    CHECK(eval::aggregate_doubts(a, acc).empty());
    a.has_interval = false;
    CHECK(eval::aggregate_doubts(a, acc) == std::vector<std::string>{"one item: no interval"});
}
