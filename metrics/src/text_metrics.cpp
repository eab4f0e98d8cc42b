#include "lmwb/text_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "unicode_text.h"

namespace lmwb::metrics {

namespace {

using text::decode;
using text::encode;

std::vector<std::u32string> split_spaces(std::u32string_view s) {
    std::vector<std::u32string> out;
    std::u32string cur;
    for (char32_t c : s) {
        if (text::is_space(c)) {
            if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

bool is_article(std::u32string_view w) { return w == U"a" || w == U"an" || w == U"the"; }

// Removes whole-word articles (regex \b(a|an|the)\b replaced by a space).
std::u32string remove_articles(std::u32string_view s) {
    std::u32string out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (text::is_word_char(s[i]) || s[i] == U'_') {
            std::size_t j = i;
            while (j < s.size() && (text::is_word_char(s[j]) || s[j] == U'_')) ++j;
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

template <class Counts>
double overlap(const Counts& a, const Counts& b) {
    double m = 0;
    for (const auto& [k, v] : a) {
        auto it = b.find(k);
        if (it != b.end()) m += std::min(v, it->second);
    }
    return m;
}

}  // namespace

std::string normalize_answer(std::string_view text, const Normalization& n) { return encode(normalize32(text, n)); }

double exact_match(std::string_view response, const std::vector<std::string>& references, const Normalization& n) {
    auto r = normalize32(response, n);
    for (const auto& ref : references)
        if (normalize32(ref, n) == r) return 1;
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
    auto pred = split_spaces(normalize32(response, squad));
    double best = 0;
    for (const auto& ref : references) {
        auto gold = split_spaces(normalize32(ref, squad));
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

PrfScore rouge_l(std::string_view target, std::string_view prediction, WordMode mode) {
    auto t = words(target, mode), p = words(prediction, mode);
    PrfScore s;
    if (t.empty() || p.empty()) return s;
    std::vector<std::size_t> prev(p.size() + 1, 0), cur(p.size() + 1, 0);
    for (std::size_t i = 1; i <= t.size(); ++i) {
        for (std::size_t j = 1; j <= p.size(); ++j)
            cur[j] = t[i - 1] == p[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
        std::swap(prev, cur);
    }
    double lcs = static_cast<double>(prev[p.size()]);
    s.precision = lcs / static_cast<double>(p.size());
    s.recall = lcs / static_cast<double>(t.size());
    s.f = lcs > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

PrfScore rouge_l_best(const std::vector<std::string>& targets, std::string_view prediction, WordMode mode) {
    PrfScore best;
    bool first = true;
    for (const auto& t : targets) {
        auto s = rouge_l(t, prediction, mode);
        if (first || s.f > best.f) best = s;
        first = false;
    }
    return best;
}

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
    std::u32string s = U" " + decode(line) + U" ";
    auto digit = [](char32_t c) { return c >= U'0' && c <= U'9'; };
    auto period_comma = [](char32_t c) { return c == U'.' || c == U','; };
    std::u32string a;
    for (char32_t c : s) {  // punctuation and symbols of the ASCII range, except . , ' and -
        bool sym = (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
                   (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
        if (sym) a += U' ', a += c, a += U' ';
        else a += c;
    }
    // Left-to-right, non-overlapping pair rewrites, as re.sub applies them.
    auto pass = [](const std::u32string& in, auto matches, auto emit) {
        std::u32string out;
        std::size_t i = 0;
        while (i < in.size()) {
            if (i + 1 < in.size() && matches(in[i], in[i + 1])) {
                emit(out, in[i], in[i + 1]);
                i += 2;
            } else {
                out.push_back(in[i++]);
            }
        }
        return out;
    };
    auto b = pass(a, [&](char32_t x, char32_t y) { return !digit(x) && period_comma(y); },
                  [](std::u32string& o, char32_t x, char32_t y) { o += x, o += U' ', o += y, o += U' '; });
    auto c = pass(b, [&](char32_t x, char32_t y) { return period_comma(x) && !digit(y); },
                  [](std::u32string& o, char32_t x, char32_t y) { o += U' ', o += x, o += U' ', o += y; });
    auto d = pass(c, [&](char32_t x, char32_t y) { return digit(x) && y == U'-'; },
                  [](std::u32string& o, char32_t x, char32_t y) { o += x, o += U' ', o += y, o += U' '; });
    std::vector<std::string> out;
    for (auto& w : split_spaces(d)) out.push_back(encode(w));
    return out;
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

BleuStats bleu_stats(std::string_view hypothesis, const std::vector<std::string>& references) {
    BleuStats s;
    auto hyp = tokenize_13a(hypothesis);
    std::vector<std::vector<std::string>> refs;
    for (auto& r : references) refs.push_back(tokenize_13a(r));
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
    return *this;
}

double chrf_score(const ChrfStats& s) {
    const double eps = 1e-16, factor = 4;  // beta = 2
    double avg_p = 0, avg_r = 0;
    int effective = 0;
    for (int i = 0; i < 6; ++i) {
        avg_p += s.hyp[i] > 0 ? s.match[i] / s.hyp[i] : eps;
        avg_r += s.ref[i] > 0 ? s.match[i] / s.ref[i] : eps;
        if (s.hyp[i] > 0 && s.ref[i] > 0) ++effective;
    }
    if (effective == 0) return 0;
    avg_p /= effective;
    avg_r /= effective;
    if (avg_p + avg_r == 0) return 0;
    return 100 * (1 + factor) * avg_p * avg_r / (factor * avg_p + avg_r);
}

ChrfStats chrf_stats(std::string_view hypothesis, const std::vector<std::string>& references) {
    auto char_ngrams = [](const std::u32string& s, int n) {
        std::unordered_map<std::u32string, double> c;
        for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= s.size(); ++i) c[s.substr(i, static_cast<std::size_t>(n))] += 1;
        return c;
    };
    auto hyp = text::collapse_spaces(decode(hypothesis), false);
    std::vector<std::unordered_map<std::u32string, double>> hc;
    for (int n = 1; n <= 6; ++n) hc.push_back(char_ngrams(hyp, n));
    ChrfStats best;
    double best_f = -1;
    for (const auto& r : references) {
        auto ref = text::collapse_spaces(decode(r), false);
        ChrfStats s;
        for (int n = 1; n <= 6; ++n) {
            auto rc = char_ngrams(ref, n);
            for (auto& [g, v] : rc) s.ref[n - 1] += v;
            // sacreBLEU 2.x: a response's n-grams of an order count only when the reference has that order at all.
            if (s.ref[n - 1] > 0)
                for (auto& [g, v] : hc[static_cast<std::size_t>(n - 1)]) s.hyp[n - 1] += v;
            s.match[n - 1] = overlap(hc[static_cast<std::size_t>(n - 1)], rc);
        }
        double f = chrf_score(s);
        if (f > best_f) best_f = f, best = s;
    }
    return best;
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
