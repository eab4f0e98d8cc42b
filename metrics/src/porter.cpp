// The Porter stemmer as rouge_score calls it: NLTK's PorterStemmer() in its default NLTK_EXTENSIONS mode (nltk
// 3.8, nltk/stem/porter.py), on lowercase ASCII words. Written from that definition; tests compare with NLTK's output.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lmwb/text_metrics.h"

namespace lmwb::metrics {

namespace {

using Word = std::string;

bool ends_with(const Word& w, const std::string& s) { return w.size() >= s.size() && w.compare(w.size() - s.size(), s.size(), s) == 0; }
Word cut(const Word& w, std::size_t n) { return w.substr(0, w.size() - n); }

bool consonant(const Word& w, std::size_t i) {
    const char c = w[i];
    if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') return false;
    if (c == 'y') return i == 0 ? true : !consonant(w, i - 1);
    return true;
}

// m in [C](VC){m}[V]: the number of vowel-consonant transitions.
int measure(const Word& w) {
    int m = 0;
    for (std::size_t i = 1; i < w.size(); ++i)
        if (!consonant(w, i - 1) && consonant(w, i)) ++m;
    return m;
}
bool positive(const Word& w) { return measure(w) > 0; }
bool has_vowel(const Word& w) {
    for (std::size_t i = 0; i < w.size(); ++i)
        if (!consonant(w, i)) return true;
    return false;
}
bool double_consonant(const Word& w) { return w.size() >= 2 && w.back() == w[w.size() - 2] && consonant(w, w.size() - 1); }
// *o: ends consonant-vowel-consonant, the last not w, x or y; NLTK also counts a two-letter vowel-consonant word.
bool cvc(const Word& w) {
    const std::size_t n = w.size();
    if (n >= 3 && consonant(w, n - 3) && !consonant(w, n - 2) && consonant(w, n - 1) && w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y')
        return true;
    return n == 2 && !consonant(w, 0) && consonant(w, 1);
}

struct Rule {
    std::string suffix, replacement;  // suffix "*d": a double consonant (the last two letters)
    std::function<bool(const Word& stem)> condition;  // empty: always
};
// The first rule whose suffix matches decides: applied if its condition holds, else the word stays.
Word apply(const Word& w, const std::vector<Rule>& rules) {
    for (const Rule& r : rules) {
        if (r.suffix == "*d") {
            if (!double_consonant(w)) continue;
            Word stem = cut(w, 2);
            return !r.condition || r.condition(stem) ? stem + r.replacement : w;
        }
        if (ends_with(w, r.suffix)) {
            Word stem = cut(w, r.suffix.size());
            return !r.condition || r.condition(stem) ? stem + r.replacement : w;
        }
    }
    return w;
}

Word step1a(const Word& w) {
    if (ends_with(w, "ies") && w.size() == 4) return cut(w, 3) + "ie";
    return apply(w, {{"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}});
}

Word step1b(const Word& w) {
    if (ends_with(w, "ied")) return cut(w, 3) + (w.size() == 4 ? "ie" : "i");
    if (ends_with(w, "eed")) {
        Word stem = cut(w, 3);
        return measure(stem) > 0 ? stem + "ee" : w;
    }
    Word stem;
    bool removed = false;
    for (const char* suffix : {"ed", "ing"})
        if (ends_with(w, suffix)) {
            stem = cut(w, std::char_traits<char>::length(suffix));
            if (has_vowel(stem)) {
                removed = true;
                break;
            }
        }
    if (!removed) return w;
    const char last = stem.back();
    return apply(stem, {{"at", "ate", {}},
                        {"bl", "ble", {}},
                        {"iz", "ize", {}},
                        {"*d", std::string(1, last), [last](const Word&) { return last != 'l' && last != 's' && last != 'z'; }},
                        {"", "e", [](const Word& s) { return measure(s) == 1 && cvc(s); }}});
}

Word step1c(const Word& w) {
    return apply(w, {{"y", "i", [](const Word& s) { return s.size() > 1 && consonant(s, s.size() - 1); }}});
}

Word step2(const Word& w) {
    if (ends_with(w, "alli") && positive(cut(w, 4))) return step2(cut(w, 4) + "al");
    return apply(w, {{"ational", "ate", positive}, {"tional", "tion", positive}, {"enci", "ence", positive},
                     {"anci", "ance", positive},   {"izer", "ize", positive},     {"bli", "ble", positive},
                     {"alli", "al", positive},     {"entli", "ent", positive},    {"eli", "e", positive},
                     {"ousli", "ous", positive},   {"ization", "ize", positive},  {"ation", "ate", positive},
                     {"ator", "ate", positive},    {"alism", "al", positive},     {"iveness", "ive", positive},
                     {"fulness", "ful", positive}, {"ousness", "ous", positive},  {"aliti", "al", positive},
                     {"iviti", "ive", positive},   {"biliti", "ble", positive},   {"fulli", "ful", positive},
                     // NLTK's condition looks at the word without "ogi", not at the stem
                     {"logi", "log", [w](const Word&) { return positive(cut(w, 3)); }}});
}

Word step3(const Word& w) {
    return apply(w, {{"icate", "ic", positive}, {"ative", "", positive}, {"alize", "al", positive}, {"iciti", "ic", positive},
                     {"ical", "ic", positive},  {"ful", "", positive},   {"ness", "", positive}});
}

Word step4(const Word& w) {
    auto gt1 = [](const Word& s) { return measure(s) > 1; };
    return apply(w, {{"al", "", gt1},   {"ance", "", gt1}, {"ence", "", gt1}, {"er", "", gt1},    {"ic", "", gt1},
                     {"able", "", gt1}, {"ible", "", gt1}, {"ant", "", gt1},  {"ement", "", gt1}, {"ment", "", gt1},
                     {"ent", "", gt1},
                     {"ion", "", [](const Word& s) { return measure(s) > 1 && !s.empty() && (s.back() == 's' || s.back() == 't'); }},
                     {"ou", "", gt1},   {"ism", "", gt1},  {"ate", "", gt1},  {"iti", "", gt1},   {"ous", "", gt1},
                     {"ive", "", gt1},  {"ize", "", gt1}});
}

Word step5a(const Word& w) {
    if (!ends_with(w, "e")) return w;
    Word stem = cut(w, 1);
    const int m = measure(stem);
    return m > 1 || (m == 1 && !cvc(stem)) ? stem : w;
}

Word step5b(const Word& w) {
    return apply(w, {{"ll", "l", [w](const Word&) { return measure(cut(w, 1)) > 1; }}});
}

const std::map<std::string, std::string>& irregular() {
    static const std::map<std::string, std::string> forms = {
        {"sky", "sky"},         {"skies", "sky"},     {"dying", "die"},       {"lying", "lie"},       {"tying", "tie"},
        {"news", "news"},       {"innings", "inning"}, {"inning", "inning"},  {"outings", "outing"}, {"outing", "outing"},
        {"cannings", "canning"}, {"canning", "canning"}, {"howe", "howe"},     {"proceed", "proceed"}, {"exceed", "exceed"},
        {"succeed", "succeed"}};
    return forms;
}

}  // namespace

std::string porter_stem(std::string_view word) {
    Word w(word);
    for (char& c : w)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (auto it = irregular().find(w); it != irregular().end()) return it->second;
    if (w.size() <= 2) return w;
    return step5b(step5a(step4(step3(step2(step1c(step1b(step1a(w))))))));
}

}  // namespace lmwb::metrics
