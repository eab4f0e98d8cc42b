// TER as sacreBLEU 2.x computes it with its defaults (metrics/ter.py, lib_ter.py, following Tercom): lowercased
// words; greedy block shifts (at most 10 words, at most 50 positions away, at most 1000 candidates in all), each the
// one that lowers the edit distance most; then a beam-limited Levenshtein distance. Written from those definitions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include "lmwb/text_metrics.h"
#include "unicode_text.h"

namespace lmwb::metrics {

namespace {

using Words = std::vector<std::string>;
constexpr int kMaxShiftSize = 10, kMaxShiftDist = 50, kBeamWidth = 25, kMaxCandidates = 1000;
constexpr long long kInfinity = 10'000'000'000'000'000LL;

// Levenshtein distance from ref to hyp in a beam around the (length-scaled) diagonal, and the trace of operations
// ('n' no change, 's' substitution, 'i' insertion: a ref word, 'd' deletion: a hyp word), as BeamEditDistance.
std::pair<long long, std::string> edit_distance(const Words& h, const Words& r) {
    const std::size_t nh = h.size(), nr = r.size();
    std::vector<std::vector<std::pair<long long, char>>> dist(nh + 1, std::vector<std::pair<long long, char>>(nr + 1, {kInfinity, 'x'}));
    for (std::size_t j = 0; j <= nr; ++j) dist[0][j] = {static_cast<long long>(j), 'i'};
    const double ratio = nh ? static_cast<double>(nr) / static_cast<double>(nh) : 1.0;
    const long long beam = kBeamWidth < ratio / 2 ? static_cast<long long>(std::ceil(ratio / 2 + kBeamWidth)) : kBeamWidth;
    for (std::size_t i = 1; i <= nh; ++i) {
        const auto diag = static_cast<long long>(std::floor(static_cast<double>(i) * ratio));
        const auto lo = static_cast<std::size_t>(std::max(0LL, diag - beam));
        auto hi = static_cast<std::size_t>(std::min(static_cast<long long>(nr + 1), diag + beam));
        if (i == nh) hi = nr + 1;
        for (std::size_t j = lo; j < hi; ++j) {
            if (j == 0) {
                dist[i][0] = {dist[i - 1][0].first + 1, 'd'};
                continue;
            }
            const bool same = h[i - 1] == r[j - 1];
            const std::pair<long long, char> ops[] = {{dist[i - 1][j - 1].first + (same ? 0 : 1), same ? 'n' : 's'},
                                                      {dist[i - 1][j].first + 1, 'd'},
                                                      {dist[i][j - 1].first + 1, 'i'}};
            for (const auto& op : ops)
                if (dist[i][j].first > op.first) dist[i][j] = op;  // ties keep the earlier: substitution, deletion, insertion
        }
    }
    std::string trace;
    std::size_t i = nh, j = nr;
    while (i > 0 || j > 0) {
        const char op = dist[i][j].second;
        trace += op;
        if (op == 'n' || op == 's') --i, --j;
        else if (op == 'i') --j;
        else --i;
    }
    std::reverse(trace.begin(), trace.end());
    return {dist[nh][nr].first, trace};
}

Words perform_shift(const Words& w, std::size_t start, std::size_t length, std::size_t target) {
    // Python's w[a:b]: both ends clamped to the list, empty when a >= b (sacreBLEU's shifts rely on it).
    auto part = [&](std::size_t a, std::size_t b) {
        a = std::min(a, w.size()), b = std::min(b, w.size());
        if (a >= b) return Words();
        return Words(w.begin() + static_cast<std::ptrdiff_t>(a), w.begin() + static_cast<std::ptrdiff_t>(b));
    };
    Words out;
    auto append = [&](const Words& p) { out.insert(out.end(), p.begin(), p.end()); };
    if (target < start) {
        append(part(0, target)), append(part(start, start + length)), append(part(target, start)), append(part(start + length, w.size()));
    } else if (target > start + length) {
        append(part(0, start)), append(part(start + length, target)), append(part(start, start + length)), append(part(target, w.size()));
    } else {
        append(part(0, start)), append(part(start + length, length + target)), append(part(start, start + length)), append(part(length + target, w.size()));
    }
    return out;
}

// The best shift of the hypothesis (largest gain, then longest, earliest, earliest target, then the words), as _shift.
std::pair<long long, Words> best_shift(const Words& h, const Words& r, int& checked) {
    auto [pre, inv_trace] = edit_distance(h, r);
    // Hypothesis-to-reference alignment: the trace read the other way round (insertions and deletions swap).
    std::map<long long, long long> align;
    std::vector<int> ref_err, hyp_err;
    long long ph = -1, pr = -1;
    for (char op : inv_trace) {
        op = op == 'i' ? 'd' : op == 'd' ? 'i' : op;
        if (op == 'n' || op == 's') {
            align[++pr] = ++ph;
            hyp_err.push_back(op == 's'), ref_err.push_back(op == 's');
        } else if (op == 'i') {
            ++ph;
            hyp_err.push_back(1);
        } else {
            align[++pr] = ph;
            ref_err.push_back(1);
        }
    }
    using Candidate = std::tuple<long long, std::size_t, long long, long long, Words>;
    std::optional<Candidate> best;
    auto errors = [](const std::vector<int>& e, std::size_t a, std::size_t n) {
        int s = 0;
        for (std::size_t k = a; k < a + n && k < e.size(); ++k) s += e[k];
        return s;
    };
    for (std::size_t sh = 0; sh < h.size() && checked < kMaxCandidates; ++sh) {
        for (std::size_t sr = 0; sr < r.size() && checked < kMaxCandidates; ++sr) {
            if (std::llabs(static_cast<long long>(sr) - static_cast<long long>(sh)) > kMaxShiftDist) continue;
            for (std::size_t length = 1; length <= kMaxShiftSize && sh + length <= h.size() && sr + length <= r.size() &&
                                         h[sh + length - 1] == r[sr + length - 1];
                 ++length) {
                if (errors(hyp_err, sh, length) == 0 || errors(ref_err, sr, length) == 0) continue;
                const long long at = align[static_cast<long long>(sr)];
                if (static_cast<long long>(sh) <= at && at < static_cast<long long>(sh + length)) continue;
                long long prev = -1;
                for (long long offset = -1; offset < static_cast<long long>(length); ++offset) {
                    const long long pos = static_cast<long long>(sr) + offset;
                    long long idx;
                    if (pos == -1) idx = 0;
                    else if (align.count(pos)) idx = align[pos] + 1;
                    else break;
                    if (idx == prev) continue;
                    prev = idx;
                    Words shifted = perform_shift(h, sh, length, static_cast<std::size_t>(idx));
                    Candidate c{pre - edit_distance(shifted, r).first, length, -static_cast<long long>(sh), -idx, std::move(shifted)};
                    ++checked;
                    if (!best || c > *best) best = std::move(c);
                }
                if (checked >= kMaxCandidates) break;
            }
        }
    }
    if (!best) return {0, h};
    return {std::get<0>(*best), std::get<4>(*best)};
}

// Edits and reference length of one hypothesis against one reference (translation_edit_rate).
std::pair<double, double> edit_rate(const Words& hyp, const Words& ref) {
    if (ref.empty()) return {static_cast<double>(hyp.size()), 0};
    Words input = hyp;
    int checked = 0, shifts = 0;
    while (true) {
        auto [delta, shifted] = best_shift(input, ref, checked);
        if (checked >= kMaxCandidates || delta <= 0) break;
        ++shifts;
        input = std::move(shifted);
    }
    return {static_cast<double>(shifts + edit_distance(input, ref).first), static_cast<double>(ref.size())};
}

Words ter_words(std::string_view s) {
    std::u32string t = text::decode(s);
    while (!t.empty() && text::is_space(t.back())) t.pop_back();
    Words out;
    for (auto& w : text::split(text::lower_full(t))) out.push_back(text::encode(w));
    return out;
}

}  // namespace

TerStats& TerStats::operator+=(const TerStats& o) {
    edits += o.edits;
    ref_length += o.ref_length;
    return *this;
}

TerStats ter_stats(std::string_view hypothesis, const std::vector<std::string>& references) {
    const Words hyp = ter_words(hypothesis);
    TerStats s;
    double best = std::numeric_limits<double>::infinity(), lengths = 0;
    for (const auto& r : references) {
        auto [edits, length] = edit_rate(hyp, ter_words(r));
        lengths += length;
        best = std::min(best, edits);
    }
    s.edits = references.empty() ? 0 : best;
    s.ref_length = references.empty() ? 0 : lengths / static_cast<double>(references.size());
    return s;
}

double ter_score(const TerStats& s) {
    if (s.ref_length > 0) return 100 * s.edits / s.ref_length;
    return s.edits > 0 ? 100 : 0;
}

std::string ter_signature(const std::string& nrefs) { return "nrefs:" + nrefs + "|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0"; }

}  // namespace lmwb::metrics
