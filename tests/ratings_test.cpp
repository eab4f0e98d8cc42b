// Human ratings: raters' files checked against the report, summaries with agreement, pairwise win rates, the CLI.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "lmwb/agreement.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"
#include "lmwb/ratings.h"
#include "test_support.h"

using namespace lmwb;

namespace {

const eval::Report& qa_report() {
    static const eval::Report r = [] {
        auto m = LanguageModel::open(std::string(LMWB_MODELS) + "/tiny-b");
        eval::EvalOptions o;
        o.settings.bootstrap_iterations = 100;
        o.settings.limit = 10;
        return eval::evaluate(*m, nullptr, {datasets::load_suite(std::string(LMWB_SUITES) + "/world-facts-qa.json")}, o).report;
    }();
    return r;
}

eval::RatingsFile rater(const std::string& name, const std::vector<std::pair<std::size_t, std::string>>& fluency) {
    eval::RatingsFile f;
    f.rater = name;
    for (auto& [item, value] : fluency) {
        eval::Rating r;
        r.suite = "world-facts-qa";
        r.item = qa_report().suites[0].items[item].id;
        r.dimension = "fluency";
        r.value = value;
        r.line = item + 2;
        f.ratings.push_back(r);
    }
    return f;
}

}  // namespace

TEST_CASE("generation suites carry a default rubric, ratings are checked against the report", "[ratings]") {
    const auto& rep = qa_report();
    REQUIRE(rep.suites[0].rubric.size() == 3);
    CHECK(rep.suites[0].rubric[0].name == "fluency");
    CHECK(rep.suites[0].rubric[2].values == std::vector<std::string>{"yes", "no"});
    test::ScratchDir dir;
    auto error = [&](const std::string& csv) -> std::string {
        try {
            auto f = eval::import_ratings(dir.write("r.csv", "suite,item,dimension,value\n" + csv), "ana", "qa.json");
            eval::check_ratings(rep, f, "r.csv");
        } catch (const eval::ReportError& e) {
            return e.what();
        }
        return "no error";
    };
    const std::string id = rep.suites[0].items[0].id;
    CHECK(error("world-facts-qa," + id + ",fluency,4\n") == "no error");
    CHECK_THAT(error("nope," + id + ",fluency,4\n"), Catch::Contains("r.csv:2: suite 'nope' is not in the report"));
    CHECK_THAT(error("world-facts-qa,nope,fluency,4\n"), Catch::Contains("r.csv:2: item 'nope'"));
    CHECK_THAT(error("world-facts-qa," + id + ",wit,4\n"), Catch::Contains("dimension 'wit'"));
    CHECK_THAT(error("world-facts-qa," + id + ",fluency,6\n"), Catch::Contains("'6' is not a value of fluency"));
    CHECK_THAT(error("world-facts-qa," + id + ",fluency,4\nworld-facts-qa," + id + ",fluency,5\n"), Catch::Contains("r.csv:3:") && Catch::Contains("twice"));
    CHECK_THAT(error("world-facts-qa," + id + ",preference,B\n"), Catch::Contains("r.csv:2:") && Catch::Contains("a preference also a, b, first"));
    auto pref = eval::import_ratings(dir.write("p.csv", "suite,item,dimension,value,a,b,first\nworld-facts-qa," + id + ",preference,C,x.json,y.json,A\n"), "ana", "qa.json");
    CHECK_THROWS_WITH(eval::check_ratings(rep, pref, "p.csv"), Catch::Contains("p.csv:2: preference 'C'; expected A, B or tie"));
    // Written and read back as the rater's own file.
    auto f = eval::import_ratings(dir.write("ok.csv", "suite,item,dimension,value\nworld-facts-qa,\"" + id + "\",correct,yes\n"), "ana", "qa.json");
    eval::write_ratings(dir.file("ana.jsonl"), f);
    auto back = eval::read_ratings(dir.file("ana.jsonl"));
    CHECK(back.rater == "ana");
    REQUIRE(back.ratings.size() == 1);
    CHECK(back.ratings[0].value == "yes");
    CHECK_THROWS_WITH(eval::read_ratings(dir.write("bad.jsonl", "{\"lmwb_ratings\": 1, \"rater\": \"x\"}\n{oops\n")), Catch::Contains("bad.jsonl:2: malformed JSON"));
}

TEST_CASE("ratings summary: means over items, agreement of two and three raters with missing ratings", "[ratings]") {
    const auto& rep = qa_report();
    auto ana = rater("ana", {{0, "5"}, {1, "4"}, {2, "2"}, {3, "5"}, {4, "1"}, {5, "3"}});
    auto ben = rater("ben", {{0, "5"}, {1, "3"}, {2, "2"}, {3, "4"}, {4, "2"}, {5, "3"}});
    auto two = eval::summarize_ratings(rep, {ana, ben});
    REQUIRE(two.dimensions.size() == 1);
    const auto& d = two.dimensions[0];
    CHECK(d.items == 6);
    CHECK(d.raters == 2);
    CHECK(d.ratings == 12);
    CHECK(d.mean.value == Approx((5 + 3.5 + 2 + 4.5 + 1.5 + 3) / 6.0));
    REQUIRE(d.cohen_kappa);
    CHECK(*d.cohen_kappa == Approx(metrics::cohen_kappa({5, 4, 2, 5, 1, 3}, {5, 3, 2, 4, 2, 3}, metrics::KappaWeights::Quadratic)));
    REQUIRE(d.fleiss_kappa);  // two ratings per item
    REQUIRE(d.krippendorff_alpha);
    CHECK(*d.krippendorff_alpha == Approx(metrics::krippendorff_alpha({{5, 4, 2, 5, 1, 3}, {5, 3, 2, 4, 2, 3}}, metrics::Scale::Ordinal)));
    CHECK_FALSE(d.judge.empty());  // the scoring model's fluency and relevance against the humans
    // A third rater on half the items: no Cohen (three raters), no Fleiss (unequal counts), alpha with missing values.
    auto cy = rater("cy", {{0, "4"}, {2, "1"}, {4, "1"}});
    auto three = eval::summarize_ratings(rep, {ana, ben, cy});
    const auto& t = three.dimensions[0];
    CHECK_FALSE(t.cohen_kappa);
    CHECK_FALSE(t.fleiss_kappa);
    REQUIRE(t.krippendorff_alpha);
    using O = std::optional<double>;
    CHECK(*t.krippendorff_alpha == Approx(metrics::krippendorff_alpha({{5, 4, 2, 5, 1, 3}, {5, 3, 2, 4, 2, 3}, {4, O{}, 1, O{}, 1, O{}}},
                                                                       metrics::Scale::Ordinal)));
    CHECK_THROWS_WITH(eval::summarize_ratings(rep, {ana, ana}), Catch::Contains("rater 'ana' has two ratings files"));
}

TEST_CASE("pairwise preference: win rate with ties, the order shown recorded, the report keeps the summary", "[ratings]") {
    auto rep = qa_report();
    eval::RatingsFile f;
    f.rater = "ana";
    const char* votes[] = {"B", "B", "A", "tie", "B"};
    for (std::size_t i = 0; i < 5; ++i)
        f.ratings.push_back({"world-facts-qa", rep.suites[0].items[i].id, "preference", votes[i], "a.json", "b.json", i % 2 ? "B" : "A", i + 2});
    eval::check_ratings(rep, f, "ana.jsonl");
    rep.ratings = eval::summarize_ratings(rep, {f});
    REQUIRE(rep.ratings->pairwise.size() == 1);
    const auto& p = rep.ratings->pairwise[0];
    CHECK(p.b_wins == 3);
    CHECK(p.a_wins == 1);
    CHECK(p.ties == 1);
    CHECK(p.a_shown_first == 3);
    CHECK(p.b_win_rate.value == Approx(3.5 / 5));
    auto back = eval::report_from_json_text(eval::to_json_text(rep), "mem");
    REQUIRE(back.ratings);
    CHECK(back.ratings->pairwise[0].b_win_rate.value == Approx(0.7));
    CHECK(eval::deterministic_json(back) == eval::deterministic_json(rep));
}

TEST_CASE("lmwb ratings import and merge", "[ratings][cli]") {
    test::ScratchDir dir;
    const std::string report = dir.file("qa.json");
    eval::write_report(report, qa_report());
    std::string csv = "suite,item,dimension,value\n";
    for (std::size_t i = 0; i < 4; ++i) csv += "world-facts-qa," + qa_report().suites[0].items[i].id + ",fluency," + std::to_string(2 + i % 3) + "\n";
    dir.write("ana.csv", csv);
    dir.write("ben.csv", csv);
    const std::string cli = LMWB_CLI;
    auto r1 = test::run_command(cli + " ratings import " + dir.file("ana.csv") + " --rater ana --report " + report + " --out " + dir.file("ana.jsonl") + " 2>&1");
    auto r2 = test::run_command(cli + " ratings import " + dir.file("ben.csv") + " --rater ben --report " + report + " --out " + dir.file("ben.jsonl") + " 2>&1");
    REQUIRE(r1.exit_code == 0);
    REQUIRE(r2.exit_code == 0);
    auto m = test::run_command(cli + " ratings merge " + report + " " + dir.file("ana.jsonl") + " " + dir.file("ben.jsonl") + " --out " + dir.file("rated.json") + " 2>&1");
    INFO(m.output);
    REQUIRE(m.exit_code == 0);
    CHECK_THAT(m.output, Catch::Contains("fluency"));
    auto rated = eval::read_report(dir.file("rated.json"));
    REQUIRE(rated.ratings);
    CHECK(rated.ratings->raters == std::vector<std::string>{"ana", "ben"});
    CHECK(*rated.ratings->dimensions[0].krippendorff_alpha == Approx(1.0));  // identical ratings
    auto bad = test::run_command(cli + " ratings import " + dir.write("bad.csv", "suite,item,dimension,value\nx,y,z,1\n") + " --rater c --report " + report +
                                 " --out " + dir.file("c.jsonl") + " 2>&1");
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.output, Catch::Contains("bad.csv:2: suite 'x'"));
}

TEST_CASE("ratings files: every rater their own file, and the import's edge cases answered by name", "[ratings]") {
    // Names outside ASCII stay apart (they all became "__" once); an empty name is refused.
    const auto zhang = eval::ratings_file_for("runs/qa.json", "张伟"), li = eval::ratings_file_for("runs/qa.json", "李娜");
    CHECK(zhang != li);
    CHECK(zhang == "runs/qa.ratings.%E5%BC%A0%E4%BC%9F.jsonl");
    CHECK(eval::ratings_file_for("runs/qa.json", " ana ") == "runs/qa.ratings.ana.jsonl");
    CHECK(eval::ratings_file_for("qa.json", "a/b") != eval::ratings_file_for("qa.json", "a_b"));
    CHECK_THROWS_WITH(eval::ratings_file_for("qa.json", "  "), Catch::Contains("no name"));

    const auto& rep = qa_report();
    const std::string id = rep.suites[0].items[0].id, id2 = rep.suites[0].items[1].id;
    test::ScratchDir dir;
    auto import = [&](const std::string& name, const std::string& content, const std::string& who = "ana") {
        return eval::import_ratings(dir.write(name, content), who, "qa.json");
    };
    // Excel's "CSV UTF-8" starts with a byte-order mark; quoted fields may hold commas, quotes and line breaks.
    auto bom = import("bom.csv", "\xEF\xBB\xBFsuite,item,dimension,value\r\nworld-facts-qa," + id + ",fluency,4\r\n\"world-facts-qa\",\"" + id2 +
                                     "\",\"fluency\",\"5\"\r\n");
    REQUIRE(bom.ratings.size() == 2);
    CHECK(bom.ratings[1].value == "5");
    CHECK(bom.ratings[1].line == 3);
    auto error = [&](const std::string& name, const std::string& content, const std::string& who = "ana") -> std::string {
        try {
            import(name, content, who);
        } catch (const eval::ReportError& e) {
            return e.what();
        }
        return "no error";
    };
    CHECK_THAT(error("empty.csv", ""), Catch::Contains("empty.csv: holds no ratings"));
    CHECK_THAT(error("header.csv", "suite,item,dimension,value\n"), Catch::Contains("holds no ratings"));
    CHECK_THAT(error("open.csv", "suite,item,dimension,value\nworld-facts-qa,\"" + id + ",fluency,4\n"),
               Catch::Contains("open.csv:2: a quoted field is never closed"));
    CHECK_THAT(error("twice.csv", "suite,item,dimension,value,value\nworld-facts-qa," + id + ",fluency,4,5\n"),
               Catch::Contains("twice.csv:1: the header names column 'value' twice"));
    CHECK_THAT(error("twice.jsonl", R"({"suite": "world-facts-qa", "item": ")" + id + R"(", "dimension": "fluency", "value": "4", "value": "5"})" "\n"),
               Catch::Contains("twice.jsonl:1: the key 'value' appears twice in one object"));
    CHECK_THAT(error("who.csv", "suite,item,dimension,value\nworld-facts-qa," + id + ",fluency,4\n", ""), Catch::Contains("the rater has no name"));
    // An ordinal rubric whose values are words: said by name, not "stod".
    eval::Report words = rep;
    words.suites[0].rubric[0].values = {"low", "high"};
    eval::RatingsFile f = rater("ana", {{0, "low"}, {1, "high"}});
    CHECK_THROWS_WITH(eval::summarize_ratings(words, {f}), Catch::Contains("rubric dimension 'fluency': value 'low' is not a number"));
}
