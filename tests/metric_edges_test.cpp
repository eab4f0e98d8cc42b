// Metrics at the edges the audits found, against values the reference implementations computed when run as they are:
// sacreBLEU 2.6.0's TER on shift-heavy sentences and Greek final sigmas, the SQuAD v1.1 script and HELM's reference
// metrics on empty, article-only, combining-mark and Unicode-15 inputs, and Python 3.11's own \w and str.lower().
// tests/fixtures/metrics/edge_reference.json holds inputs and outputs; scripts/reference/metric_edges_reference.py
// wrote it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "lmwb/report_analysis.h"
#include "lmwb/text_metrics.h"
#include "unicode_text.h"

using namespace lmwb::metrics;
using nlohmann::json;

namespace {

const json& reference() {
    static const json j = [] {
        std::ifstream in(std::string(LMWB_FIXTURES) + "/metrics/edge_reference.json");
        return json::parse(in);
    }();
    return j;
}

// Every code point (surrogates aside) in or out of a list of [lo, hi] ranges, compared with a predicate.
template <class Pred>
void check_ranges(const json& ranges, char32_t from, Pred pred) {
    std::vector<bool> in(0x110000, false);
    for (const auto& r : ranges)
        for (auto c = r[0].get<std::uint32_t>(); c <= r[1].get<std::uint32_t>(); ++c) in[c] = true;
    std::size_t wrong = 0;
    for (char32_t c = from; c < 0x110000; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        if (in[c] != pred(c) && ++wrong <= 5) FAIL_CHECK("U+" << std::hex << static_cast<std::uint32_t>(c) << ": Python says " << in[c]);
    }
    CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("TER as sacreBLEU on shift-heavy sentences: no crash, the same edits", "[metrics][reference][ter]") {
    const json& t = reference()["ter"];
    TerStats corpus;
    auto check_pair = [](const json& p) {
        INFO(p["hyp"].get<std::string>() << " / " << p["ref"].get<std::string>());
        auto s = ter_stats(p["hyp"].get<std::string>(), {p["ref"].get<std::string>()});
        CHECK(s.edits == p["num_edits"].get<double>());
        CHECK(s.ref_length == p["ref_length"].get<double>());
        CHECK(ter_score(s) == Approx(p["score"].get<double>()).margin(1e-9));
        return s;
    };
    for (const auto& p : t["fixed"]) check_pair(p);  // "f b f" / "c b f b": 50.00 (a shift past the end used to crash)
    for (const auto& p : t["random"]) corpus += check_pair(p);
    CHECK(t["random"].size() == 400);
    CHECK(corpus.edits == t["random_corpus"]["num_edits"].get<double>());
    CHECK(corpus.ref_length == t["random_corpus"]["ref_length"].get<double>());
    CHECK(ter_score(corpus) == Approx(t["random_corpus"]["score"].get<double>()).margin(1e-9));
}

TEST_CASE("TER lowercases as Python: word-final capital sigma is ς", "[metrics][reference][ter]") {
    for (const auto& p : reference()["ter"]["greek_final_sigma"]) {
        INFO(p["hyp"].get<std::string>() << " / " << p["ref"].get<std::string>());
        auto s = ter_stats(p["hyp"].get<std::string>(), {p["ref"].get<std::string>()});
        CHECK(ter_score(s) == Approx(p["score"].get<double>()).margin(1e-9));
        CHECK(s.edits == p["num_edits"].get<double>());
    }
}

TEST_CASE("SQuAD v1.1 normalize_answer, exact match and F1 as the script on its edges", "[metrics][reference]") {
    const Normalization squad{true, true, AnswerConvention::SquadV11, true, true};
    for (const auto& p : reference()["squad_v1_1"]["pairs"]) {
        const auto pred = p["prediction"].get<std::string>(), gold = p["ground_truth"].get<std::string>();
        INFO(pred << " / " << gold);
        CHECK(normalize_answer(pred, squad) == p["normalized_prediction"].get<std::string>());
        CHECK(normalize_answer(gold, squad) == p["normalized_ground_truth"].get<std::string>());
        CHECK(exact_match(pred, {gold}, squad) == (p["exact_match_score"].get<bool>() ? 1.0 : 0.0));
        CHECK(token_f1(pred, {gold}) == Approx(p["f1_score"].get<double>()).margin(1e-12));
    }
}

TEST_CASE("HELM's quasi and prefix matches as its pipeline scores them (completions stripped)", "[metrics][reference]") {
    using lmwb::eval::find_metric;
    const auto GEN = lmwb::datasets::TaskKind::Generation;
    for (const auto& p : reference()["helm"]["pairs"]) {
        lmwb::eval::ItemRecord r;
        r.response = p["pred"].get<std::string>();
        r.references = {p["gold"].get<std::string>()};
        INFO("gold '" << r.references[0] << "', pred '" << r.response << "'");
        CHECK(normalize_answer(r.references[0], quasi_normalization()) == p["normalize_text_gold"].get<std::string>());
        for (const char* m : {"quasi_exact_match", "prefix_exact_match", "quasi_prefix_exact_match"}) {
            INFO(m);
            CHECK(find_metric(GEN, m)->item(r, {}).value() == p["pred_stripped"][m].get<double>());
        }
    }
}

TEST_CASE("Python 3.11's \\w and the final-sigma rule, code point by code point", "[metrics][reference][unicode]") {
    const json& u = reference()["python_unicode"];
    check_ranges(u["re_word_non_ascii"], 0x80, text::is_python_word_char);
    // lower_full of "A" + c + "Σ" ends in ς exactly when c is case-ignorable or cased; of c + "Σ" when c is cased and
    // not ignorable.
    const auto& sigma = u["lower_final_sigma"];
    check_ranges(sigma["cased_not_ignorable"], 0, [](char32_t c) { return text::lower_full(std::u32string{c, 0x3A3}).back() == 0x3C2; });
    std::vector<json> either(sigma["cased_not_ignorable"].begin(), sigma["cased_not_ignorable"].end());
    either.insert(either.end(), sigma["case_ignorable"].begin(), sigma["case_ignorable"].end());
    check_ranges(json(either), 0, [](char32_t c) { return text::lower_full(std::u32string{U'A', c, 0x3A3}).back() == 0x3C2; });
    CHECK(text::lower_full(U"ΟΔΟΣ ΣΑΣ.") == U"οδος σας.");
    CHECK(text::lower_full(U"ΣΣ") == U"σς");
    CHECK(text::lower_full(U"İ") == U"i\u0307");
}
