// Text metrics and statistics against published test vectors (../shared definitions: sacreBLEU, rouge_score,
// SQuAD, lm-evaluation-harness) and hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "lmwb/statistics.h"
#include "lmwb/text_metrics.h"

using namespace lmwb::metrics;

TEST_CASE("sacreBLEU 13a tokenizer", "[metrics][bleu]") {
    using V = std::vector<std::string>;
    CHECK(tokenize_13a("The dog bit the man.") == V{"The", "dog", "bit", "the", "man", "."});
    CHECK(tokenize_13a("It wasn't surprising.") == V{"It", "wasn't", "surprising", "."});
    CHECK(tokenize_13a("Costs $3.50, (approx)") == V{"Costs", "$", "3.50", ",", "(", "approx", ")"});
    CHECK(tokenize_13a("pages 5-7 of e-mail") == V{"pages", "5", "-", "7", "of", "e-mail"});
    CHECK(tokenize_13a("a &amp; b &lt;c&gt;") == V{"a", "&", "b", "<", "c", ">"});
    CHECK(tokenize_13a("1,000 and 3.5. End") == V{"1,000", "and", "3.5", ".", "End"});
    CHECK(tokenize_13a("  ") == V{});
}

TEST_CASE("BLEU matches sacreBLEU's published examples", "[metrics][bleu]") {
    // sacreBLEU's README corpus example (two reference sets), 13a: 48.53.
    std::vector<std::string> hyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
    std::vector<std::vector<std::string>> refs = {{"The dog bit the man.", "The dog had bit the man."},
                                                  {"It was not unexpected.", "No one was surprised."},
                                                  {"The man bit him first.", "The man had bitten the dog."}};
    BleuStats total;
    for (std::size_t i = 0; i < hyps.size(); ++i) total += bleu_stats(hyps[i], refs[i]);
    CHECK(bleu_score(total, false) == Approx(48.530827).margin(1e-4));

    BleuStats counts;
    counts.matches = {9, 7, 5, 3};
    counts.totals = {10, 8, 6, 4};
    counts.hyp_len = counts.ref_len = 11;
    CHECK(bleu_score(counts, false) == Approx(83.75922397).margin(1e-6));

    // Sentence BLEU with effective order: brevity penalty e^-1.
    CHECK(bleu_score(bleu_stats("test", {"a test"}), true) == Approx(36.78794412).margin(1e-6));
    CHECK(bleu_score(bleu_stats("", {"a test"}), true) == 0);
    CHECK(bleu_score(bleu_stats("a b c d", {"a b c d"}), false) == Approx(100));
}

TEST_CASE("chrF matches sacreBLEU", "[metrics][chrf]") {
    // The Hugging Face metric card's example (sacreBLEU underneath).
    auto s = chrf_stats("The relationship between Obama and Netanyahu is not exactly friendly.",
                        {"The ties between Obama and Netanyahu are not particularly friendly."});
    CHECK(chrf_score(s) == Approx(61.576379378113785).margin(1e-9));
    CHECK(chrf_score(chrf_stats("abc", {"abc"})) == Approx(100));
    CHECK(chrf_score(chrf_stats("", {"abc"})) == 0);
    // Several references: the best one counts.
    CHECK(chrf_score(chrf_stats("abc", {"xyz", "abc"})) == Approx(100));
}

TEST_CASE("ROUGE-L as rouge_score, and on Unicode text", "[metrics][rouge]") {
    auto s = rouge(RougeKind::RougeL, "testing one two", "testing one", WordMode::Ascii);
    CHECK(s.precision == Approx(1));
    CHECK(s.recall == Approx(2.0 / 3));
    CHECK(s.f == Approx(0.8));
    CHECK(rouge(RougeKind::RougeL, "testing one two", "testing one").f == Approx(0.8));
    // rouge_score's ASCII tokenizer sees no words in Chinese; ours does, one per ideograph.
    CHECK(rouge(RougeKind::RougeL, "我爱北京", "我爱上海", WordMode::Ascii).f == 0);
    CHECK(rouge(RougeKind::RougeL, "我爱北京", "我爱上海").f == Approx(0.5));
    CHECK(rouge(RougeKind::RougeL, "Größe über Maß", "größe uber maß").f == Approx(2.0 / 3));
    CHECK(words("Hello, World! it's 3.5") == std::vector<std::string>{"hello", "world", "it", "s", "3", "5"});
    CHECK(rouge_best(RougeKind::RougeL, {"a b c", "x y"}, "x y").f == Approx(1));
}

TEST_CASE("exact match, contains and SQuAD F1", "[metrics]") {
    Normalization loose{true, true, AnswerConvention::SquadV11, true, true};
    CHECK(exact_match("  The Blue. ", {"blue"}, loose) == 1);
    CHECK(exact_match("The Blue.", {"blue"}, Normalization{}) == 0);
    CHECK(exact_match("blue", {"red", "blue"}, Normalization{}) == 1);
    CHECK(contains("it is blue today", {"Blue"}, loose) == 1);
    CHECK(contains("it is red", {"blue"}, loose) == 0);
    CHECK(token_f1("the cat sat", {"a cat sat down"}) == Approx(0.8));
    CHECK(token_f1("", {""}) == 0);  // SQuAD v1.1: no shared token
    CHECK(token_f1("", {""}, AnswerConvention::Unicode) == 1);
    CHECK(token_f1("cat", {""}) == 0);
    CHECK(normalize_answer("  Ein  Löwe!\t", {true, true, AnswerConvention::SquadV11, false, true}) == "ein löwe");
}

TEST_CASE("diversity and similarity", "[metrics]") {
    CHECK(seq_rep({"a", "b", "a", "b"}, 2) == Approx(1.0 / 3));
    CHECK(seq_rep({"a"}, 2) == 0);
    CHECK(ngrams({"a", "b", "c"}, 2).size() == 2);
    CHECK(cosine({1, 0}, {0, 1}) == Approx(0));
    CHECK(cosine({1, 2}, {2, 4}) == Approx(1));
    CHECK(cosine({0, 0}, {1, 1}) == 0);
}

TEST_CASE("means, closed-form stderr and the bootstrap", "[metrics][statistics]") {
    std::vector<double> v = {1, 0, 1, 1};
    auto iv = normal_interval(v);
    CHECK(iv.value == Approx(0.75));
    CHECK(iv.stderr_ == Approx(0.25));  // sample sd 0.5 / sqrt(4)
    CHECK(iv.low == Approx(0.75 - 1.96 * 0.25));
    CHECK(iv.high > 1);  // why proportions do not get it

    Statistic mean_stat = [&](const std::vector<std::size_t>& idx) {
        double s = 0;
        for (auto i : idx) s += v[i];
        return s / static_cast<double>(idx.size());
    };
    auto a = bootstrap_interval(v.size(), mean_stat, 2000, 7), b = bootstrap_interval(v.size(), mean_stat, 2000, 7);
    CHECK(a.stderr_ == b.stderr_);  // seeded: identical
    CHECK(a.value == Approx(0.75));
    // The bootstrap stderr of a mean approaches sd_pop / sqrt(n) = 0.2165.
    CHECK(a.stderr_ == Approx(0.2165).margin(0.01));
    CHECK(bootstrap_interval(v.size(), mean_stat, 2000, 8).stderr_ != a.stderr_);

    Resampler r1(5, 42), r2(5, 42);
    CHECK(r1.next() == r2.next());
}

TEST_CASE("calibration: equal-mass ECE, reliability bins and Brier", "[metrics][calibration]") {
    // Two bins of two: edges at 0.75 and 1; |0.5 - 0.65| and |0.5 - 0.85| weighted equally.
    std::vector<double> conf = {0.9, 0.8, 0.7, 0.6}, correct = {1, 0, 1, 0};
    CHECK(ece_equal_mass(conf, correct, 2) == Approx(0.25));
    auto bins = reliability_bins(conf, correct, 2);
    REQUIRE(bins.size() == 2);
    CHECK(bins[0].count == 2);
    CHECK(bins[0].confidence_high == Approx(0.75));
    CHECK(bins[1].mean_confidence == Approx(0.85));
    // Perfect calibration.
    CHECK(ece_equal_mass({1, 1, 1}, {1, 1, 1}) == Approx(0));
    // Ten equal-mass bins over 20 items: two items per bin.
    std::vector<double> c20, y20;
    for (int i = 0; i < 20; ++i) c20.push_back(0.5 + 0.025 * i), y20.push_back(i % 2);
    double expect = 0;
    for (int b = 0; b < 10; ++b) expect += 0.1 * std::fabs(0.5 - (c20[2 * b] + c20[2 * b + 1]) / 2);
    CHECK(ece_equal_mass(c20, y20) == Approx(expect));
    // Equal-width bins (the classic diagram): [0.6, 0.7) holds 0.6, [0.7, 0.8) holds 0.7, ..., 1.0 falls in the last.
    auto wide = equal_width_bins({0.9, 0.8, 0.7, 0.6, 1.0, 0.05}, {1, 0, 1, 0, 1, 0}, 10);
    REQUIRE(wide.size() == 10);
    CHECK(wide[0].count == 1);
    CHECK(wide[6].count == 1);
    CHECK(wide[9].count == 2);
    CHECK(wide[9].mean_confidence == Approx(0.95));
    CHECK(wide[9].accuracy == Approx(1.0));
    CHECK(wide[3].count == 0);
    CHECK(wide[3].confidence_low == Approx(0.3));
    CHECK(brier({0.7, 0.2, 0.1}, 0) == Approx(0.14));
    auto p = softmax({std::log(1.0), std::log(3.0)});
    CHECK(p[0] == Approx(0.25));
}

TEST_CASE("McNemar's test and the paired bootstrap", "[metrics][statistics]") {
    auto e = mcnemar(10, 2);  // exact: 2 * P(X <= 2), X ~ Bin(12, 1/2) = 2 * 79 / 4096
    CHECK(e.method == "exact");
    CHECK(e.p_value == Approx(2.0 * 79 / 4096));
    auto c = mcnemar(30, 10);  // (|30 - 10| - 1)^2 / 40 = 9.025; chi-square(1) survival
    CHECK(c.method == "chi2");
    CHECK(c.statistic == Approx(9.025));
    CHECK(c.p_value == Approx(0.0026636).epsilon(1e-3));
    CHECK(mcnemar(0, 0).p_value == 1);
    CHECK(mcnemar(3, 3).p_value == 1);

    std::vector<double> a = {0, 0, 1, 0, 1, 0, 0, 1}, b = {1, 1, 1, 1, 1, 0, 1, 1};
    auto stat = [](const std::vector<double>& v) {
        return Statistic([&v](const std::vector<std::size_t>& idx) {
            double s = 0;
            for (auto i : idx) s += v[i];
            return s / static_cast<double>(idx.size());
        });
    };
    auto d = paired_bootstrap(a.size(), stat(a), stat(b), 1000, 3);
    CHECK(d.delta == Approx(0.5));
    CHECK(d.low > 0);
    CHECK(d.high <= 1);
    auto same = paired_bootstrap(a.size(), stat(a), stat(a), 1000, 3);
    CHECK(same.delta == 0);
    CHECK(same.p_value == 1);
}

TEST_CASE("regressions found against the reference implementations (issue 12)", "[metrics][regression]") {
    // Corpus chrF, sacreBLEU 2.x: a response's n-grams of an order count only where the reference has that order.
    // sacreBLEU: CHRF().corpus_score([" five", " seven"], [["seven", "nine"]]).score == 14.682539683.
    ChrfStats corpus = chrf_stats(" five", {"seven"});
    corpus += chrf_stats(" seven", {"nine"});
    CHECK(chrf_score(corpus) == Approx(14.682539683).epsilon(1e-9));
    // Per item, unchanged: sacreBLEU's sentence_score(" five", ["seven"]) and (" seven", ["nine"]).
    CHECK(chrf_score(chrf_stats(" seven", {"seven"})) == Approx(100.0));
    // ROUGE-L in rouge_score's ASCII mode lowercases the whole Unicode text first: "İroar" -> "i̇roar" -> "i roar".
    CHECK(rouge_best(RougeKind::RougeL, {"İroar"}, " roar", WordMode::Ascii).f == Approx(2.0 / 3.0));
    CHECK(words("İroar ÅB", WordMode::Ascii) == std::vector<std::string>{"i", "roar", "b"});
    // SQuAD v1.1's script (the default convention): F1 is 0 when both sides normalise to nothing, and only ASCII
    // punctuation is removed; the "unicode" convention is the other named choice.
    for (const char* ref : {"the", "!!!", "   "}) {
        CHECK(token_f1("", {ref}) == 0);
        CHECK(token_f1("", {ref}, AnswerConvention::Unicode) == 1);
    }
    CHECK(token_f1("?", {"!"}) == 0);
    for (const char* ref : {"roar。", "«roar»"}) {
        CHECK(token_f1(" roar", {ref}) == 0);
        CHECK(token_f1(" roar", {ref}, AnswerConvention::Unicode) == 1);
    }
    CHECK(token_f1(" blue", {"blue¿"}) == 0);
    Normalization squad{true, true, AnswerConvention::SquadV11, true, true}, unicode = squad;
    unicode.convention = AnswerConvention::Unicode;
    CHECK(exact_match(" roar", {"roar。"}, squad) == 0);
    CHECK(exact_match(" roar", {"roar。"}, unicode) == 1);
    // Exact match follows the script too: normalize_answer("") == normalize_answer("the") holds, so it is 1.
    CHECK(exact_match("", {"the"}, squad) == 1);
    // A bootstrap resample on which the statistic is undefined is left out: 60 items of which 3 define it.
    Statistic sparse = [](const std::vector<std::size_t>& idx) {
        double sum = 0, n = 0;
        for (auto i : idx)
            if (i < 3) sum += 10.0 + static_cast<double>(i), n += 1;
        return n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN();
    };
    auto iv = bootstrap_interval(60, sparse, 1000, 7);
    CHECK(iv.value == Approx(11.0));
    CHECK(iv.low >= 10.0);  // before: 0, from resamples without a defined item
    CHECK(iv.high <= 12.0);
}

TEST_CASE("proportions get Wilson intervals, other means a percentile bootstrap inside their range", "[metrics][statistics]") {
    // Wilson's interval for 3 of 4 (Newcombe 1998, method 3): 0.3006 to 0.9544.
    auto iv = mean_interval({1, 0, 1, 1}, 1000, 1);
    CHECK(iv.method == "wilson");
    CHECK(iv.value == Approx(0.75));
    CHECK(iv.stderr_ == Approx(0.25));
    CHECK(iv.low == Approx(0.3006).margin(1e-4));
    CHECK(iv.high == Approx(0.9544).margin(1e-4));
    // 6 of 7 right: the Wald interval was [0.577, 1.137].
    iv = mean_interval({1, 1, 1, 1, 1, 1, 0}, 1000, 1);
    CHECK(iv.low == Approx(0.4869).margin(1e-4));  // Wilson 6/7: 0.4869 to 0.9743
    CHECK(iv.high == Approx(0.9743).margin(1e-4));
    CHECK(mean_interval({0, 0, 0}, 1000, 1).low == 0);
    CHECK(mean_interval({1, 1, 1}, 1000, 1).high == 1);
    CHECK(wilson(0, 10).second == Approx(0.2775).margin(1e-4));  // 0 of 10: 0 to 0.2775
    // A rating of 0 or 1 with one 0.5 (a tie): not a proportion, bootstrap of the mean, never outside [0, 1].
    auto b = mean_interval({0, 1, 0.5, 1, 1, 0}, 2000, 3);
    CHECK(b.method == "percentile bootstrap");
    CHECK(b.low >= 0);
    CHECK(b.high <= 1);
    CHECK(b.low < b.value);
    CHECK(b.high > b.value);
    CHECK(mean_interval({0, 1, 0.5, 1, 1, 0}, 2000, 3).low == b.low);  // seeded
}

TEST_CASE("normal quantiles and the BCa bootstrap", "[metrics][statistics]") {
    CHECK(normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-9));
    CHECK(normal_quantile(0.5) == Approx(0).margin(1e-12));
    CHECK(normal_quantile(0.001) == Approx(-3.090232306167813).epsilon(1e-8));
    CHECK(normal_quantile(1 - 1e-10) == Approx(6.361340902404056).epsilon(1e-8));
    // A statistic biased upward on resamples (a maximum-like ECE): the percentile interval can miss the estimate; the
    // bias correction moves it back around it.
    std::vector<double> conf, correct;
    for (int i = 0; i < 40; ++i) conf.push_back(0.55 + 0.01 * (i % 10)), correct.push_back(i % 3 ? 1.0 : 0.0);
    Statistic ece = [&](const std::vector<std::size_t>& idx) {
        std::vector<double> c, y;
        for (auto i : idx) c.push_back(conf[i]), y.push_back(correct[i]);
        return ece_equal_mass(c, y, 10);
    };
    auto iv = bootstrap_interval(conf.size(), ece, 2000, 11);
    CHECK(iv.method == "bca bootstrap");
    CHECK(iv.low <= iv.value);
    CHECK(iv.high >= iv.value);
}

TEST_CASE("paired randomization: exact over all swaps on few items, never below what they allow", "[metrics][statistics]") {
    // Three items, B better on each: no paired test on 3 items can go below 2 / 2^3 = 0.25.
    auto r = paired_randomization({0.1, 0.2, 0.3}, {0.5, 0.6, 0.9}, 1000, 1);
    CHECK(r.p_value == Approx(0.25));
    CHECK(r.min_p_value == Approx(0.25));
    CHECK(r.n == 3);
    CHECK(r.method == "exact over 2^3 swaps");
    // Seven items all better: 2 / 128.
    std::vector<double> a(7, 0.0), b(7, 1.0);
    CHECK(paired_randomization(a, b, 1000, 1).p_value == Approx(2.0 / 128));
    // Differences 1, 2, 3, -1 (plus an unchanged item), sum 5: |sum| >= 5 in 6 of the 16 sign patterns (7 and the two
    // 5s, and their mirrors).
    r = paired_randomization({0, 0, 0, 1, 4}, {1, 2, 3, 0, 4}, 1000, 1);
    CHECK(r.n == 4);
    CHECK(r.p_value == Approx(6.0 / 16));
    // Many items: random swaps, seeded, p = (hits + 1) / (draws + 1).
    std::vector<double> x, y;
    for (int i = 0; i < 60; ++i) x.push_back(i % 2), y.push_back(i % 3 ? 1 : 0);
    auto m1 = paired_randomization(x, y, 999, 5), m2 = paired_randomization(x, y, 999, 5);
    CHECK(m1.p_value == m2.p_value);
    CHECK(m1.method == "approximate, 999 random swaps");
    CHECK(m1.p_value >= 1.0 / 1000);
}
