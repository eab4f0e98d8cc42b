// sacreBLEU 2.x's BLEU (with its tokenizers) and chrF / chrF++, written from its definitions
// (sacrebleu/metrics/bleu.py, chrf.py, tokenizers/); tests hold values sacreBLEU computes.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include "counting.h"
#include "lmwb/text_metrics.h"
#include "unicode_text.h"

namespace lmwb::metrics {

namespace {
using text::decode;
using text::encode;
// The sacreBLEU release whose definitions and signature format these follow (and whose values the tests hold).
constexpr const char* kSacrebleuVersion = "2.6.0";
}  // namespace

namespace {

std::vector<std::string> split_words(std::u32string_view s) {
    std::vector<std::string> out;
    for (auto& w : text::split(s)) out.push_back(encode(w));
    return out;
}

// Rewrites of adjacent pairs, left to right and non-overlapping, as one re.sub with a two-character pattern does.
template <class Match, class Emit>
std::u32string pairs(const std::u32string& in, Match match, Emit emit) {
    std::u32string out;
    std::size_t i = 0;
    while (i < in.size()) {
        if (i + 1 < in.size() && match(in[i], in[i + 1])) {
            emit(out, in[i], in[i + 1]);
            i += 2;
        } else {
            out.push_back(in[i++]);
        }
    }
    return out;
}
void space_after(std::u32string& o, char32_t x, char32_t y) { o += x, o += U' ', o += y, o += U' '; }
void space_around(std::u32string& o, char32_t x, char32_t y) { o += U' ', o += x, o += U' ', o += y; }

// The regular expressions of mteval-v13a (tokenizer_re.py), without its replacements and padding.
std::u32string rules_13a(const std::u32string& s) {
    auto digit = [](char32_t c) { return c >= U'0' && c <= U'9'; };
    auto period_comma = [](char32_t c) { return c == U'.' || c == U','; };
    std::u32string a;
    for (char32_t c : s) {  // punctuation and symbols of the ASCII range, except . , ' and -
        bool sym = (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
                   (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
        if (sym) a += U' ', a += c, a += U' ';
        else a += c;
    }
    auto b = pairs(a, [&](char32_t x, char32_t y) { return !digit(x) && period_comma(y); }, space_after);
    auto c = pairs(b, [&](char32_t x, char32_t y) { return period_comma(x) && !digit(y); }, space_around);
    return pairs(c, [&](char32_t x, char32_t y) { return digit(x) && y == U'-'; }, space_after);
}

// tokenizer_intl.py (mteval-v14 international): punctuation split from non-digits, symbols split everywhere.
std::vector<std::string> tokenize_intl(const std::u32string& s) {
    using text::Category;
    auto is = [](char32_t c, Category k) { return text::category(c) == k; };
    auto a = pairs(s, [&](char32_t x, char32_t y) { return !is(x, Category::Number) && is(y, Category::Punctuation); }, space_after);
    auto b = pairs(a, [&](char32_t x, char32_t y) { return is(x, Category::Punctuation) && !is(y, Category::Number); }, space_around);
    std::u32string c;
    for (char32_t ch : b) {
        if (is(ch, Category::Symbol)) c += U' ', c += ch, c += U' ';
        else c += ch;
    }
    return split_words(c);
}

// tokenizer_zh.py's "Chinese" characters. Its table compares strings, and two of its bounds ('\u20000', '\u2f800')
// are really U+2000 followed by "0": these are the ranges it ends up testing (sacreBLEU 2.6.0).
bool zh_char(char32_t c) {
    static constexpr std::pair<char32_t, char32_t> ranges[] = {
        {0x2001, 0x2A6D}, {0x2E80, 0x2FDF}, {0x2FF0, 0x303F}, {0x3100, 0x312F}, {0x31A0, 0x31EF}, {0x3200, 0x4DB5}, {0x4E00, 0x9FBB},
        {0xF900, 0xFA2D}, {0xFA30, 0xFA6A}, {0xFA70, 0xFAD9}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0xFF00, 0xFFEF}};
    for (auto [lo, hi] : ranges)
        if (c >= lo && c <= hi) return true;
    return false;
}

}  // namespace

std::vector<std::string> tokenize_13a(std::string_view line_in) {
    std::string line(line_in);
    auto replace_all = [&](const std::string& from, const std::string& to) {
        for (std::size_t pos = 0; (pos = line.find(from, pos)) != std::string::npos; pos += to.size())
            line.replace(pos, from.size(), to);
    };
    replace_all("<skipped>", "");
    replace_all("-\n", "");
    replace_all("\n", " ");
    if (line.find('&') != std::string::npos) {
        replace_all("&quot;", "\"");
        replace_all("&amp;", "&");
        replace_all("&lt;", "<");
        replace_all("&gt;", ">");
    }
    return split_words(rules_13a(U" " + decode(line) + U" "));
}

bool is_bleu_tokenizer(std::string_view name) {
    return name == "13a" || name == "intl" || name == "zh" || name == "char" || name == "none";
}

std::vector<std::string> tokenize_bleu(std::string_view line, std::string_view tokenizer) {
    std::u32string s = decode(line);
    while (!s.empty() && text::is_space(s.back())) s.pop_back();  // BLEU rstrips every line first
    if (tokenizer == "13a") return tokenize_13a(encode(s));
    if (tokenizer == "intl") return tokenize_intl(s);
    if (tokenizer == "zh") {
        std::u32string spaced;
        for (char32_t c : text::strip(s)) {
            if (zh_char(c)) spaced += U' ', spaced += c, spaced += U' ';
            else spaced += c;
        }
        return split_words(rules_13a(spaced));
    }
    if (tokenizer == "char") {
        std::vector<std::string> out;
        for (char32_t c : s)
            if (!text::is_space(c)) out.push_back(encode(std::u32string(1, c)));
        return out;
    }
    if (tokenizer == "none") return split_words(s);
    throw std::invalid_argument("unknown BLEU tokenizer '" + std::string(tokenizer) + "' (13a, intl, zh, char or none)");
}

std::string bleu_signature(const std::string& nrefs, std::string_view tokenizer) {
    return "nrefs:" + nrefs + "|case:mixed|eff:no|tok:" + std::string(tokenizer) + "|smooth:exp|version:" + kSacrebleuVersion;
}

BleuStats& BleuStats::operator+=(const BleuStats& o) {
    for (int i = 0; i < 4; ++i) matches[i] += o.matches[i], totals[i] += o.totals[i];
    hyp_len += o.hyp_len;
    ref_len += o.ref_len;
    return *this;
}

namespace {

std::unordered_map<std::string, double> count_ngrams(const std::vector<std::string>& toks, int n) {
    std::unordered_map<std::string, double> c;
    for (auto& g : ngrams(toks, n)) c[g] += 1;
    return c;
}

}  // namespace

BleuStats bleu_stats(std::string_view hypothesis, const std::vector<std::string>& references, std::string_view tokenizer) {
    BleuStats s;
    auto hyp = tokenize_bleu(hypothesis, tokenizer);
    std::vector<std::vector<std::string>> refs;
    for (auto& r : references) refs.push_back(tokenize_bleu(r, tokenizer));
    s.hyp_len = static_cast<double>(hyp.size());
    double closest = -1;
    for (auto& r : refs) {
        double rl = static_cast<double>(r.size()), diff = std::fabs(rl - s.hyp_len);
        if (closest < 0 || diff < closest || (diff == closest && rl < s.ref_len)) {
            closest = diff;
            s.ref_len = rl;
        }
    }
    for (int n = 1; n <= 4; ++n) {
        auto hc = count_ngrams(hyp, n);
        std::unordered_map<std::string, double> maxref;
        for (auto& r : refs)
            for (auto& [g, v] : count_ngrams(r, n)) maxref[g] = std::max(maxref[g], v);
        s.matches[n - 1] = overlap(hc, maxref);
        s.totals[n - 1] = std::max(0.0, s.hyp_len - n + 1);
    }
    return s;
}

double bleu_score(const BleuStats& s, bool effective_order) {
    if (std::all_of(s.matches.begin(), s.matches.end(), [](double m) { return m == 0; })) return 0;
    std::array<double, 4> prec{};
    double smooth = 1;
    int order = 4;
    for (int n = 1; n <= 4; ++n) {
        if (s.totals[n - 1] == 0) break;
        if (effective_order) order = n;
        if (s.matches[n - 1] == 0) {
            smooth *= 2;
            prec[n - 1] = 100.0 / (smooth * s.totals[n - 1]);
        } else {
            prec[n - 1] = 100.0 * s.matches[n - 1] / s.totals[n - 1];
        }
    }
    double bp = 1;
    if (s.hyp_len < s.ref_len) bp = s.hyp_len > 0 ? std::exp(1 - s.ref_len / s.hyp_len) : 0;
    double log_sum = 0;
    for (int n = 0; n < order; ++n) log_sum += prec[n] > 0 ? std::log(prec[n]) : -9999999999.0;
    return bp * std::exp(log_sum / order);
}

ChrfStats& ChrfStats::operator+=(const ChrfStats& o) {
    for (int i = 0; i < 6; ++i) hyp[i] += o.hyp[i], ref[i] += o.ref[i], match[i] += o.match[i];
    for (int i = 0; i < 2; ++i) whyp[i] += o.whyp[i], wref[i] += o.wref[i], wmatch[i] += o.wmatch[i];
    word_order = std::max(word_order, o.word_order);
    return *this;
}

double chrf_score(const ChrfStats& s) {
    const double factor = 4;  // beta = 2
    double p = 0, r = 0;
    int effective = 0;
    // Every order alike (characters 1..6, then words 1..word_order); only orders both sides have count.
    auto add = [&](double h, double ref, double m) {
        if (h > 0 && ref > 0) p += m / h, r += m / ref, ++effective;
    };
    for (int i = 0; i < 6; ++i) add(s.hyp[i], s.ref[i], s.match[i]);
    for (int i = 0; i < s.word_order; ++i) add(s.whyp[i], s.wref[i], s.wmatch[i]);
    if (effective == 0) return 0;
    p /= effective;
    r /= effective;
    if (p + r == 0) return 0;
    double f = (1 + factor) * p * r;
    f /= factor * p + r;
    return 100 * f;
}

namespace {

using Counter = std::unordered_map<std::u32string, double>;

Counter char_ngrams(const std::u32string& s, int n) {
    Counter c;
    for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= s.size(); ++i) c[s.substr(i, static_cast<std::size_t>(n))] += 1;
    return c;
}

// chrF++'s words: whitespace-separated, one ASCII punctuation character peeled off the end, else off the start.
std::vector<std::u32string> chrf_words(std::u32string_view sentence) {
    auto punct = [](char32_t c) { return c < 0x80 && text::is_punctuation(c); };
    std::vector<std::u32string> out;
    for (auto& w : text::split(sentence)) {
        if (w.size() == 1) {
            out.push_back(w);
        } else if (punct(w.back())) {
            out.push_back(w.substr(0, w.size() - 1));
            out.push_back(w.substr(w.size() - 1));
        } else if (punct(w.front())) {
            out.push_back(w.substr(0, 1));
            out.push_back(w.substr(1));
        } else {
            out.push_back(w);
        }
    }
    return out;
}

Counter word_ngrams(const std::vector<std::u32string>& words, int n) {
    Counter c;
    for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= words.size(); ++i) {
        std::u32string g = words[i];
        for (int k = 1; k < n; ++k) g += U' ', g += words[i + static_cast<std::size_t>(k)];
        c[g] += 1;
    }
    return c;
}

double total(const Counter& c) {
    double n = 0;
    for (auto& [g, v] : c) n += v;
    return n;
}

}  // namespace

ChrfStats chrf_stats(std::string_view hypothesis, const std::vector<std::string>& references, int word_order) {
    const std::u32string hyp32 = decode(hypothesis);
    const auto hyp = text::collapse_spaces(hyp32, false);
    std::vector<Counter> hc, hw;
    for (int n = 1; n <= 6; ++n) hc.push_back(char_ngrams(hyp, n));
    const auto hyp_words = chrf_words(hyp32);
    for (int n = 1; n <= word_order; ++n) hw.push_back(word_ngrams(hyp_words, n));
    ChrfStats best;
    best.word_order = word_order;
    double best_f = -1;
    for (const auto& r : references) {
        const std::u32string ref32 = decode(r);
        const auto ref = text::collapse_spaces(ref32, false);
        ChrfStats s;
        s.word_order = word_order;
        // sacreBLEU 2.x: a response's n-grams of an order count only when the reference has that order at all.
        for (int n = 1; n <= 6; ++n) {
            const auto i = static_cast<std::size_t>(n - 1);
            auto rc = char_ngrams(ref, n);
            s.ref[i] = total(rc);
            s.hyp[i] = s.ref[i] > 0 ? total(hc[i]) : 0;
            s.match[i] = overlap(hc[i], rc);
        }
        const auto ref_words = chrf_words(ref32);
        for (int n = 1; n <= word_order; ++n) {
            const auto i = static_cast<std::size_t>(n - 1);
            auto rw = word_ngrams(ref_words, n);
            s.wref[i] = total(rw);
            s.whyp[i] = s.wref[i] > 0 ? total(hw[i]) : 0;
            s.wmatch[i] = overlap(hw[i], rw);
        }
        double f = chrf_score(s);
        if (f > best_f) best_f = f, best = s;
    }
    return best;
}

std::string chrf_signature(const std::string& nrefs, int word_order) {
    return "nrefs:" + nrefs + "|case:mixed|eff:yes|nc:6|nw:" + std::to_string(word_order) + "|space:no|version:" + kSacrebleuVersion;
}

}  // namespace lmwb::metrics
