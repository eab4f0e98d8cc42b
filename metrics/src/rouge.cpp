// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum as google-research's rouge_score computes them (rouge_scorer.py):
// n-gram overlap of token counts, the longest common subsequence, and for Lsum the summary-level union LCS over
// newline-separated sentences. Tokens come from words() (its Ascii mode is rouge_score's tokenizer); with the
// stemmer, tokens longer than 3 characters are Porter-stemmed, as rouge_score does (ASCII tokens only).
#include <algorithm>
#include <map>
#include <set>

#include "lmwb/text_metrics.h"

namespace lmwb::metrics {

namespace {

using Tokens = std::vector<std::string>;

bool ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

Tokens tokens(std::string_view text, WordMode mode, bool stem) {
    Tokens t = words(text, mode);
    if (stem)
        for (auto& w : t)
            if (w.size() > 3 && ascii(w)) w = porter_stem(w);
    return t;
}

PrfScore prf(double hits, double predicted, double target) {
    PrfScore s;
    s.precision = hits / std::max(predicted, 1.0);
    s.recall = hits / std::max(target, 1.0);
    s.f = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

PrfScore ngram_overlap(const Tokens& target, const Tokens& prediction, int n) {
    auto count = [n](const Tokens& t) {
        std::map<std::string, double> c;
        for (auto& g : ngrams(t, n)) c[g] += 1;
        return c;
    };
    auto tc = count(target), pc = count(prediction);
    double hits = 0, tn = 0, pn = 0;
    for (auto& [g, v] : tc) {
        tn += v;
        if (auto it = pc.find(g); it != pc.end()) hits += std::min(v, it->second);
    }
    for (auto& [g, v] : pc) pn += v;
    return prf(hits, pn, tn);
}

// LCS lengths table, (|a| + 1) x (|b| + 1).
std::vector<std::vector<int>> lcs_table(const Tokens& a, const Tokens& b) {
    std::vector<std::vector<int>> t(a.size() + 1, std::vector<int>(b.size() + 1, 0));
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j)
            t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
    return t;
}

// Indices into `ref` of one LCS with `can`, walking back as rouge_score's _backtrack_norec does.
std::vector<std::size_t> lcs_indices(const Tokens& ref, const Tokens& can) {
    auto t = lcs_table(ref, can);
    std::vector<std::size_t> out;
    std::size_t i = ref.size(), j = can.size();
    while (i > 0 && j > 0) {
        if (ref[i - 1] == can[j - 1]) {
            out.push_back(i - 1);
            --i, --j;
        } else if (t[i][j - 1] > t[i - 1][j]) {
            --j;
        } else {
            --i;
        }
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<Tokens> sentences(std::string_view text, WordMode mode, bool stem) {
    std::vector<Tokens> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        if (end > pos) out.push_back(tokens(text.substr(pos, end - pos), mode, stem));
        pos = end + 1;
    }
    return out;
}

// Summary-level LCS (Lin 2004): per reference sentence, the union of its LCS tokens with each candidate sentence,
// each token counted while both sides still have an unused occurrence.
PrfScore summary_lcs(const std::vector<Tokens>& ref, const std::vector<Tokens>& can) {
    if (ref.empty() || can.empty()) return {};
    double m = 0, n = 0;
    std::map<std::string, int> ref_left, can_left;
    for (auto& s : ref)
        for (auto& w : s) ++ref_left[w], ++m;
    for (auto& s : can)
        for (auto& w : s) ++can_left[w], ++n;
    if (m == 0 || n == 0) return {};
    double hits = 0;
    for (const Tokens& r : ref) {
        std::set<std::size_t> united;
        for (const Tokens& c : can)
            for (auto i : lcs_indices(r, c)) united.insert(i);
        for (auto i : united) {
            const std::string& w = r[i];
            if (can_left[w] > 0 && ref_left[w] > 0) {
                ++hits;
                --can_left[w];
                --ref_left[w];
            }
        }
    }
    PrfScore s;
    s.recall = hits / m;
    s.precision = hits / n;
    s.f = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

}  // namespace

PrfScore rouge(RougeKind kind, std::string_view target, std::string_view prediction, WordMode mode, bool stem) {
    if (kind == RougeKind::RougeLsum) return summary_lcs(sentences(target, mode, stem), sentences(prediction, mode, stem));
    Tokens t = tokens(target, mode, stem), p = tokens(prediction, mode, stem);
    switch (kind) {
        case RougeKind::Rouge1: return ngram_overlap(t, p, 1);
        case RougeKind::Rouge2: return ngram_overlap(t, p, 2);
        default: break;
    }
    if (t.empty() || p.empty()) return {};
    const double lcs = lcs_table(t, p)[t.size()][p.size()];
    PrfScore s;
    s.precision = lcs / static_cast<double>(p.size());
    s.recall = lcs / static_cast<double>(t.size());
    s.f = lcs > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

PrfScore rouge_best(RougeKind kind, const std::vector<std::string>& targets, std::string_view prediction, WordMode mode, bool stem) {
    PrfScore best;
    bool first = true;
    for (const auto& t : targets) {
        auto s = rouge(kind, t, prediction, mode, stem);
        if (first || s.f > best.f) best = s;
        first = false;
    }
    return best;
}

}  // namespace lmwb::metrics
