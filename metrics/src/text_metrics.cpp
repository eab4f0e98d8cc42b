#include "lmwb/text_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "counting.h"
#include "unicode_text.h"

namespace lmwb::metrics {

namespace {

using text::decode;
using text::encode;

bool is_article(std::u32string_view w) { return w == U"a" || w == U"an" || w == U"the"; }

// Removes whole-word articles (Python's re.sub(r"\b(a|an|the)\b", " ", s): word boundaries as Python's \w draws them).
std::u32string remove_articles(std::u32string_view s) {
    std::u32string out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (text::is_python_word_char(s[i])) {
            std::size_t j = i;
            while (j < s.size() && text::is_python_word_char(s[j])) ++j;
            auto w = s.substr(i, j - i);
            if (is_article(w)) out.push_back(U' ');
            else out.append(w);
            i = j;
        } else {
            out.push_back(s[i++]);
        }
    }
    return out;
}

bool is_ascii_punctuation(char32_t c) { return c < 0x80 && text::is_punctuation(c); }  // string.punctuation

std::u32string normalize32(std::string_view in, const Normalization& n) {
    std::u32string s = decode(in);
    if (n.lowercase) s = text::lower_full(s);
    if (n.strip_punctuation)
        s.erase(std::remove_if(s.begin(), s.end(), n.convention == AnswerConvention::Unicode ? text::is_punctuation : is_ascii_punctuation), s.end());
    if (n.strip_articles) s = remove_articles(s);
    if (n.collapse_whitespace) s = text::collapse_spaces(s, true);
    return s;
}

}  // namespace

std::string normalize_answer(std::string_view text, const Normalization& n) { return encode(normalize32(text, n)); }

double exact_match(std::string_view response, const std::vector<std::string>& references, const Normalization& n) {
    auto r = normalize32(response, n);
    for (const auto& ref : references)
        if (normalize32(ref, n) == r) return 1;
    return 0;
}

Normalization quasi_normalization(AnswerConvention convention) { return {true, true, convention, true, true}; }

double prefix_match(std::string_view response, const std::vector<std::string>& references, const Normalization* n) {
    // Python's str.strip() (Unicode whitespace) unless normalised, which collapses whitespace already.
    auto prepare = [n](std::string_view t) { return n ? normalize32(t, *n) : text::strip(decode(t)); };
    const std::u32string r = prepare(response);
    for (const auto& ref : references) {
        const std::u32string g = prepare(ref);
        if (r.compare(0, g.size(), g) == 0) return 1;
    }
    return 0;
}

double contains(std::string_view response, const std::vector<std::string>& references, const Normalization& n) {
    auto r = normalize32(response, n);
    for (const auto& ref : references) {
        auto x = normalize32(ref, n);
        if (!x.empty() && r.find(x) != std::u32string::npos) return 1;
    }
    return 0;
}

double token_f1(std::string_view response, const std::vector<std::string>& references, AnswerConvention convention) {
    Normalization squad{true, true, convention, true, true};
    auto pred = text::split(normalize32(response, squad));
    double best = 0;
    for (const auto& ref : references) {
        auto gold = text::split(normalize32(ref, squad));
        double f = 0;
        if (pred.empty() || gold.empty()) {
            // SQuAD v1.1 returns 0 whenever no token is shared, both sides empty included.
            f = pred.empty() && gold.empty() && convention == AnswerConvention::Unicode ? 1 : 0;
        } else {
            std::map<std::u32string, double> pc, gc;
            for (auto& w : pred) pc[w] += 1;
            for (auto& w : gold) gc[w] += 1;
            double same = overlap(pc, gc);
            if (same > 0) {
                double p = same / static_cast<double>(pred.size()), r = same / static_cast<double>(gold.size());
                f = 2 * p * r / (p + r);
            }
        }
        best = std::max(best, f);
    }
    return best;
}

std::vector<std::string> words(std::string_view in, WordMode mode) {
    std::u32string s = decode(in);
    std::vector<std::string> out;
    std::u32string cur;
    auto flush = [&] {
        if (!cur.empty()) out.push_back(encode(cur)), cur.clear();
    };
    for (char32_t c : s) {
        if (mode == WordMode::Ascii) {
            // rouge_score: Python's str.lower() of the whole text, then [a-z0-9] runs. Its full lowercase mapping
            // turns U+0130 into "i" + U+0307 (the one special case that matters here); other letters map one to one.
            if (c == 0x130) {  // lower_full: "i" + U+0307, and U+0307 separates
                cur.push_back('i');
                flush();
                continue;
            }
            c = text::lower(c);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) cur.push_back(c);
            else flush();
            continue;
        }
        c = text::lower(c);
        if (text::is_cjk(c)) {
            flush();
            cur.push_back(c);
            flush();
        } else if (text::is_word_char(c)) {
            cur.push_back(c);
        } else {
            flush();
        }
    }
    flush();
    return out;
}

std::vector<std::string> ngrams(const std::vector<std::string>& w, int n) {
    std::vector<std::string> out;
    if (n <= 0) return out;
    for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= w.size(); ++i) {
        std::string g = w[i];
        for (int k = 1; k < n; ++k) g += '\x01', g += w[i + static_cast<std::size_t>(k)];
        out.push_back(std::move(g));
    }
    return out;
}

double seq_rep(const std::vector<std::string>& w, int n) {
    auto g = ngrams(w, n);
    if (g.empty()) return 0;
    std::sort(g.begin(), g.end());
    auto unique = static_cast<double>(std::unique(g.begin(), g.end()) - g.begin());
    return 1 - unique / static_cast<double>(g.size());
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
}

}  // namespace lmwb::metrics
