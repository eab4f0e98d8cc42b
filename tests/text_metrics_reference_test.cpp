// Text metrics against values the reference implementations computed when run as they are: sacreBLEU 2.6.0 (BLEU
// with each tokenizer, chrF, chrF++, signatures) and google-research rouge_score with NLTK 3.8's Porter stemmer.
// tests/fixtures/metrics/text_metrics_reference.json holds inputs and outputs; scripts/reference/
// text_metrics_reference.py wrote it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "lmwb/text_metrics.h"

using namespace lmwb::metrics;
using nlohmann::json;

namespace {

const json& reference() {
    static const json j = [] {
        std::ifstream in(std::string(LMWB_FIXTURES) + "/metrics/text_metrics_reference.json");
        return json::parse(in);
    }();
    return j;
}

std::vector<std::string> strings(const json& j) { return j.get<std::vector<std::string>>(); }

// The tokenizer's output string as BLEU reads it: split on (Unicode) whitespace, as Python's str.split().
std::vector<std::string> tokens_of(const json& tokenized) { return tokenize_bleu(tokenized.get<std::string>(), "none"); }

}  // namespace

TEST_CASE("BLEU with each sacreBLEU tokenizer: tokens, corpus statistics, scores and signatures", "[metrics][reference]") {
    const json& j = reference();
    const auto hyps = strings(j["inputs"]["hyps"]), refs = strings(j["inputs"]["refs"][0]);  // one reference stream
    for (const std::string tok : {"13a", "intl", "zh", "char", "none"}) {
        INFO("tokenizer " << tok);
        const json& want = j["bleu"]["by_tokenizer"][tok];
        BleuStats corpus;
        for (std::size_t i = 0; i < hyps.size(); ++i) {
            INFO(hyps[i] << " / " << refs[i]);
            CHECK(tokenize_bleu(hyps[i], tok) == tokens_of(want["tokenized_hyps"][i]));
            CHECK(tokenize_bleu(refs[i], tok) == tokens_of(want["tokenized_refs"][i]));
            auto s = bleu_stats(hyps[i], {refs[i]}, tok);
            CHECK(bleu_score(s, true) == Approx(want["sentence"][i]["score"].get<double>()).margin(1e-9));
            CHECK(bleu_score(s, false) == Approx(want["sentence"][i]["score_effective_order_false"].get<double>()).margin(1e-9));
            corpus += s;
        }
        const json& c = want["corpus"];
        for (int n = 0; n < 4; ++n) {
            CHECK(corpus.matches[static_cast<std::size_t>(n)] == c["counts"][static_cast<std::size_t>(n)].get<double>());
            CHECK(corpus.totals[static_cast<std::size_t>(n)] == c["totals"][static_cast<std::size_t>(n)].get<double>());
        }
        CHECK(corpus.hyp_len == c["sys_len"].get<double>());
        CHECK(corpus.ref_len == c["ref_len"].get<double>());
        CHECK(bleu_score(corpus, false) == Approx(c["score"].get<double>()).margin(1e-9));
        CHECK(bleu_signature("1", tok) == c["signature"].get<std::string>());
        // Edge cases: entities, <skipped>, numbers with punctuation, Unicode digits and symbols, odd whitespace.
        const auto probes = strings(j["tokenizer_probes"]["inputs"]);
        for (std::size_t i = 0; i < probes.size(); ++i) {
            INFO("probe " << probes[i]);
            CHECK(tokenize_bleu(probes[i], tok) == tokens_of(j["tokenizer_probes"]["bleu"][tok][i]));
        }
    }
    CHECK_FALSE(is_bleu_tokenizer("spm"));
}

TEST_CASE("chrF and chrF++: corpus and sentence scores and signatures as sacreBLEU", "[metrics][reference]") {
    const json& j = reference();
    const auto hyps = strings(j["inputs"]["hyps"]), refs = strings(j["inputs"]["refs"][0]);  // one reference stream
    for (int word_order : {0, 2}) {
        INFO("word order " << word_order);
        const json& want = j[word_order ? "chrf_pp" : "chrf"];
        ChrfStats corpus;
        corpus.word_order = word_order;
        for (std::size_t i = 0; i < hyps.size(); ++i) {
            auto s = chrf_stats(hyps[i], {refs[i]}, word_order);
            CHECK(chrf_score(s) == Approx(want["sentence"][i].get<double>()).margin(1e-9));
            corpus += s;
        }
        CHECK(chrf_score(corpus) == Approx(want["corpus"]["score"].get<double>()).margin(1e-9));
        CHECK(chrf_signature("1", word_order) == want["corpus"]["signature"].get<std::string>());
    }
    // The pair, under chrF++: a response's n-grams of an order count only where its reference has that order.
    const json& extra = j["inputs"]["chrf_pp_extra"];
    ChrfStats corpus = chrf_stats(extra["hyps"][0].get<std::string>(), {extra["refs"][0][0].get<std::string>()}, 2);
    corpus += chrf_stats(extra["hyps"][1].get<std::string>(), {extra["refs"][0][1].get<std::string>()}, 2);
    CHECK(chrf_score(corpus) == Approx(j["chrf_pp_extra"]["corpus"]["score"].get<double>()).margin(1e-9));
}

TEST_CASE("TER: corpus and sentence scores and the signature, as sacreBLEU", "[metrics][reference]") {
    const json& j = reference();
    const auto hyps = strings(j["inputs"]["hyps"]), refs = strings(j["inputs"]["refs"][0]);
    TerStats corpus;
    for (std::size_t i = 0; i < hyps.size(); ++i) {
        INFO(hyps[i] << " / " << refs[i]);
        auto s = ter_stats(hyps[i], {refs[i]});
        const json& want = j["ter"]["sentence"][i];
        CHECK(ter_score(s) == Approx((want.is_object() ? want["score"] : want).get<double>()).margin(1e-9));
        corpus += s;
    }
    CHECK(corpus.edits == j["ter"]["corpus"]["num_edits"].get<double>());
    CHECK(corpus.ref_length == j["ter"]["corpus"]["ref_length"].get<double>());
    CHECK(ter_score(corpus) == Approx(j["ter"]["corpus"]["score"].get<double>()).margin(1e-9));
    CHECK(ter_signature("1") == j["ter"]["corpus"]["signature"].get<std::string>());
    // A block shift is one edit: "b c a" against "a b c" is 1 shift, not 2 edits.
    CHECK(ter_stats("b c a", {"a b c"}).edits == 1);
    CHECK(ter_score(ter_stats("", {""})) == 0);
    CHECK(ter_score(ter_stats("a", {""})) == 100);
}

TEST_CASE("ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum with and without the stemmer, as rouge_score", "[metrics][reference]") {
    const json& j = reference();
    const std::pair<const char*, RougeKind> kinds[] = {
        {"rouge1", RougeKind::Rouge1}, {"rouge2", RougeKind::Rouge2}, {"rougeL", RougeKind::RougeL}, {"rougeLsum", RougeKind::RougeLsum}};
    for (bool stem : {false, true}) {
        for (const json& pair : j["rouge"][stem ? "use_stemmer_true" : "use_stemmer_false"]) {
            const auto target = pair["target"].get<std::string>(), prediction = pair["prediction"].get<std::string>();
            INFO((stem ? "stemmed: " : "") << target << " / " << prediction);
            for (auto [name, kind] : kinds) {
                INFO(name);
                auto got = rouge(kind, target, prediction, WordMode::Ascii, stem);
                const json& want = pair["scores"][name];
                CHECK(got.precision == Approx(want["precision"].get<double>()).margin(1e-12));
                CHECK(got.recall == Approx(want["recall"].get<double>()).margin(1e-12));
                CHECK(got.f == Approx(want["fmeasure"].get<double>()).margin(1e-12));
            }
        }
    }
}

TEST_CASE("the Porter stemmer equals NLTK's as rouge_score calls it", "[metrics][reference]") {
    for (const json& w : reference()["porter"]["words"]) {
        const auto word = w["word"].get<std::string>();
        INFO(word);
        CHECK(porter_stem(word) == w["stemmer_stem"].get<std::string>());
        CHECK((word.size() > 3 ? porter_stem(word) : word) == w["rouge_score"].get<std::string>());
    }
}
