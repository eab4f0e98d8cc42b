// Reference-based text metrics with the conventions of the tools our users compare against: sacreBLEU (BLEU and its
// tokenizers, chrF, chrF++), google-research rouge_score (ROUGE-1/2/L/Lsum, Porter stemmer), SQuAD (token F1), HELM
// (quasi and prefix exact match). Strings are UTF-8.
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
// HELM's normalize_text (lowercase, punctuation and articles removed, whitespace collapsed), the punctuation per
// convention: what quasi_exact_match compares.
Normalization quasi_normalization(AnswerConvention convention = AnswerConvention::SquadV11);
// HELM's prefix_exact_match: 1 when the response, stripped of surrounding whitespace (or normalised with n), starts
// with a reference treated the same way.
double prefix_match(std::string_view response, const std::vector<std::string>& references, const Normalization* n);
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
// rouge_score's scorer.score(target, prediction) for one ROUGE type (ROUGE-Lsum splits both texts into sentences at
// newlines); with `stem`, words longer than 3 characters are Porter-stemmed.
enum class RougeKind { Rouge1, Rouge2, RougeL, RougeLsum };
PrfScore rouge(RougeKind kind, std::string_view target, std::string_view prediction, WordMode mode = WordMode::Unicode, bool stem = false);
// The target with the best F (the first of equals).
PrfScore rouge_best(RougeKind kind, const std::vector<std::string>& targets, std::string_view prediction,
                    WordMode mode = WordMode::Unicode, bool stem = false);
// NLTK's PorterStemmer() (NLTK_EXTENSIONS), which rouge_score uses, of a lowercase ASCII word.
std::string porter_stem(std::string_view word);

// sacreBLEU's tokenizers: "13a" (default, mteval-v13a), "intl" (mteval-v14 international), "zh" (Chinese
// characters split), "char" (every character), "none".
bool is_bleu_tokenizer(std::string_view name);
std::vector<std::string> tokenize_bleu(std::string_view line, std::string_view tokenizer);
std::vector<std::string> tokenize_13a(std::string_view line);

// Sufficient statistics of BLEU for one hypothesis (or summed over a corpus).
struct BleuStats {
    std::array<double, 4> matches{}, totals{};
    double hyp_len = 0, ref_len = 0;
    BleuStats& operator+=(const BleuStats& o);
};
// Clipped n-gram matches against all references; ref_len is the closest reference length (the shorter on ties).
BleuStats bleu_stats(std::string_view hypothesis, const std::vector<std::string>& references, std::string_view tokenizer = "13a");
// BLEU in [0, 100] with exp smoothing; effective_order as sacreBLEU's sentence_bleu.
double bleu_score(const BleuStats& stats, bool effective_order);
// sacreBLEU's signature of a corpus BLEU: "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:..." (nrefs a count, or
// "var" when items differ in their number of references).
std::string bleu_signature(const std::string& nrefs, std::string_view tokenizer);

// chrF: character n-grams 1..6 with whitespace removed, beta 2 (sacreBLEU's defaults); chrF++ adds word n-grams
// 1..word_order (2).
struct ChrfStats {
    std::array<double, 6> hyp{}, ref{}, match{};     // character orders 1..6
    std::array<double, 2> whyp{}, wref{}, wmatch{};  // word orders 1..2 (chrF++)
    int word_order = 0;
    ChrfStats& operator+=(const ChrfStats& o);
};
// Against the reference that gives the best sentence score.
ChrfStats chrf_stats(std::string_view hypothesis, const std::vector<std::string>& references, int word_order = 0);
double chrf_score(const ChrfStats& stats);  // in [0, 100]
std::string chrf_signature(const std::string& nrefs, int word_order);

// TER (sacreBLEU's defaults: lowercased, tercom shifts): the fewest edits against any reference, and the references'
// average length; corpus TER sums both.
struct TerStats {
    double edits = 0, ref_length = 0;
    TerStats& operator+=(const TerStats& o);
};
TerStats ter_stats(std::string_view hypothesis, const std::vector<std::string>& references);
double ter_score(const TerStats& stats);  // 100 · edits / reference length
std::string ter_signature(const std::string& nrefs);

// n-grams of a word list, each joined with U+0001, for distinct-n and seq-rep-n.
std::vector<std::string> ngrams(const std::vector<std::string>& words, int n);
// 1 − unique / total n-grams within one output (0 when it has no n-gram).
double seq_rep(const std::vector<std::string>& words, int n);

double cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace lmwb::metrics
