// Reference-based text metrics with the conventions of the tools our users compare against: sacreBLEU (BLEU with
// the 13a tokenizer, chrF), google-research rouge_score (ROUGE-L), SQuAD (token F1). Strings are UTF-8.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmwb::metrics {

// Answer normalisation for exact match and contains.
// How answers compare, by name: SQuAD v1.1's evaluation script, or every Unicode punctuation character.
enum class AnswerConvention {
    SquadV11,  // punctuation = Python's string.punctuation (ASCII); F1 is 0 when no token is left on either side
    Unicode,   // punctuation = general category P* and ASCII punctuation; F1 is 1 when both sides are empty
};
struct Normalization {
    bool lowercase = false;
    bool strip_punctuation = false;  // which characters: convention
    AnswerConvention convention = AnswerConvention::SquadV11;
    bool strip_articles = false;     // English "a", "an", "the" as whole words
    bool collapse_whitespace = true; // trim, and runs of whitespace become one space
};
std::string normalize_answer(std::string_view text, const Normalization& n);

// 1 when the normalised response equals (contains) a normalised reference, else 0.
double exact_match(std::string_view response, const std::vector<std::string>& references, const Normalization& n);
double contains(std::string_view response, const std::vector<std::string>& references, const Normalization& n);
// SQuAD token F1: lowercase, punctuation and articles removed, whitespace tokens; the best over the references.
double token_f1(std::string_view response, const std::vector<std::string>& references,
                AnswerConvention convention = AnswerConvention::SquadV11);

// Words for ROUGE and the diversity metrics. Unicode: lowercased runs of letters, marks and digits, with each
// ideograph, kana or Hangul syllable its own word (text without spaces still scores). Ascii: rouge_score's
// tokenizer (lowercase, every character outside [a-z0-9] a separator), so Chinese text has no words.
enum class WordMode { Unicode, Ascii };
std::vector<std::string> words(std::string_view text, WordMode mode = WordMode::Unicode);

struct PrfScore {
    double precision = 0, recall = 0, f = 0;
};
// ROUGE-L from the longest common subsequence of words; score(target, prediction) as rouge_score orders them.
PrfScore rouge_l(std::string_view target, std::string_view prediction, WordMode mode = WordMode::Unicode);
// The best F over several targets.
PrfScore rouge_l_best(const std::vector<std::string>& targets, std::string_view prediction, WordMode mode = WordMode::Unicode);

// sacreBLEU's default tokenizer "13a" (mteval-v13a).
std::vector<std::string> tokenize_13a(std::string_view line);

// Sufficient statistics of BLEU for one hypothesis (or summed over a corpus).
struct BleuStats {
    std::array<double, 4> matches{}, totals{};
    double hyp_len = 0, ref_len = 0;
    BleuStats& operator+=(const BleuStats& o);
};
// Clipped n-gram matches against all references; ref_len is the closest reference length (the shorter on ties).
BleuStats bleu_stats(std::string_view hypothesis, const std::vector<std::string>& references);
// BLEU in [0, 100] with exp smoothing; effective_order as sacreBLEU's sentence_bleu.
double bleu_score(const BleuStats& stats, bool effective_order);

// chrF: character n-grams 1..6 with whitespace removed, beta 2 (sacreBLEU's defaults).
struct ChrfStats {
    std::array<double, 6> hyp{}, ref{}, match{};
    ChrfStats& operator+=(const ChrfStats& o);
};
// Against the reference that gives the best sentence score.
ChrfStats chrf_stats(std::string_view hypothesis, const std::vector<std::string>& references);
double chrf_score(const ChrfStats& stats);  // in [0, 100]

// n-grams of a word list, each joined with U+0001, for distinct-n and seq-rep-n.
std::vector<std::string> ngrams(const std::vector<std::string>& words, int n);
// 1 − unique / total n-grams within one output (0 when it has no n-gram).
double seq_rep(const std::vector<std::string>& words, int n);

double cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace lmwb::metrics
