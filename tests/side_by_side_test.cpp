// Two models on one prompt: responses, the continuation's log-probabilities aligned by token or by character span,
// attributions from both.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "lmwb/model.h"
#include "lmwb/side_by_side.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::attr;
using lmwb::test::fixture;

namespace {
std::vector<Token> spans(const std::vector<std::pair<int, int>>& s) {
    std::vector<Token> out;
    for (auto [a, b] : s) out.push_back(Token{0, "", a, b});
    return out;
}
}  // namespace

TEST_CASE("alignment cuts where both tokenizations have a boundary", "[attribution][side-by-side]") {
    // "abcde": A = ab|c|de, B = a|bcd|e -> no shared inner boundary: one segment
    auto one = align_tokens(spans({{0, 2}, {2, 3}, {3, 5}}), spans({{0, 1}, {1, 4}, {4, 5}}), 5);
    REQUIRE(one.size() == 1);
    CHECK(one[0].a_tokens == std::vector<int>{0, 1, 2});
    CHECK(one[0].b_tokens == std::vector<int>{0, 1, 2});
    // A = ab|c|de, B = ab|cde -> [0, 2) and [2, 5)
    auto two = align_tokens(spans({{0, 2}, {2, 3}, {3, 5}}), spans({{0, 2}, {2, 5}}), 5);
    REQUIRE(two.size() == 2);
    CHECK(two[0].end == 2);
    CHECK(two[1].a_tokens == std::vector<int>{1, 2});
    CHECK(two[1].b_tokens == std::vector<int>{1});
    // Several tokens inside one character (byte pieces share its span) stay together
    auto bytes = align_tokens(spans({{0, 1}, {0, 1}, {1, 2}}), spans({{0, 1}, {1, 2}}), 2);
    REQUIRE(bytes.size() == 2);
    CHECK(bytes[0].a_tokens == std::vector<int>{0, 1});
}

TEST_CASE("side by side: same tokenizer token by token, different tokenizers by spans, totals as scored", "[attribution][side-by-side]") {
    auto a = LanguageModel::open(std::string(LMWB_MODELS) + "/tiny-a");
    auto b = LanguageModel::open(std::string(LMWB_MODELS) + "/tiny-b");
    SideBySideOptions o;
    o.attribution.method = Method::GradientXInput;
    auto s = side_by_side(*a, *b, "Question: What color is the sky?\nAnswer:", " blue", o);
    CHECK_FALSE(s.a_response.empty());
    CHECK(s.same_tokens);
    REQUIRE(s.segments.size() == s.a_tokens.size());
    for (std::size_t i = 0; i < s.segments.size(); ++i) CHECK(s.segments[i].a_logprob == Approx(s.a_logprobs[i]));
    CHECK(s.a_total == Approx(s.a_attribution.target_logprob).margin(1e-4));
    CHECK(s.b_total == Approx(s.b_attribution.target_logprob).margin(1e-4));
    CHECK(s.a_total != s.b_total);
    auto j = nlohmann::json::parse(to_json_text(s));
    CHECK(j["schema"] == "lmwb.side_by_side");
    CHECK(j["a"]["attribution"]["method"] == "grad-x-input");

    // A fixture GPT-2 (its own small BPE) against tiny-b: spans, every token in one segment, sums preserved.
    auto g = LanguageModel::open(fixture("models/gpt2"));
    o.attribute = false;
    auto d = side_by_side(*g, *b, "the cat sat on", " the mat and the dog.", o);
    CHECK_FALSE(d.same_tokens);
    double sa = 0, sb = 0;
    std::size_t na = 0, nb = 0;
    int covered = 0;
    for (const auto& seg : d.segments) {
        CHECK(seg.start == covered);
        covered = seg.end;
        sa += seg.a_logprob, sb += seg.b_logprob;
        na += seg.a_tokens.size(), nb += seg.b_tokens.size();
    }
    CHECK(covered == 21);
    CHECK(na == d.a_tokens.size());
    CHECK(nb == d.b_tokens.size());
    CHECK(sa == Approx(d.a_total));
    CHECK(sb == Approx(d.b_total));
    CHECK_FALSE(d.attributed);
}
