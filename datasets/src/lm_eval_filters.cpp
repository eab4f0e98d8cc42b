// lm-eval's response filters (lm_eval/filters: extraction.py RegexFilter, transformation.py, selection.py).
#include <algorithm>
#include <cstdint>
#include <optional>

#include "lmwb/lm_eval_task.h"
#include "lmwb/text.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

namespace lmwb::datasets {

namespace {

struct Pcre {
    pcre2_code* code = nullptr;
    explicit Pcre(const std::string& pattern) {
        int err = 0;
        PCRE2_SIZE at = 0;
        code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err, &at, nullptr);
        if (!code) {
            PCRE2_UCHAR buf[256];
            pcre2_get_error_message(err, buf, sizeof buf);
            throw SuiteError("regex_pattern '" + pattern + "' at " + std::to_string(at) + ": " + reinterpret_cast<const char*>(buf));
        }
    }
    ~Pcre() { pcre2_code_free(code); }
    Pcre(const Pcre&) = delete;
    Pcre& operator=(const Pcre&) = delete;
};

// Python's (3.7+) match iteration for findall and sub: each search starts where the last match ended; after an empty
// match, one that is empty at that same place is not taken (PCRE2_NOTEMPTY_ATSTART), a longer one there or any later
// one is.
template <class F>
void each_match(const Pcre& re, const std::string& text, F f) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(re.code, nullptr);
    PCRE2_SIZE start = 0;
    std::uint32_t options = 0;
    while (start <= text.size()) {
        if (pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, options, md, nullptr) < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        f(ov);
        options = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART : 0;
        start = ov[1];
    }
    pcre2_match_data_free(md);
}

// re.findall: every non-overlapping match; without groups the whole match, with one its text, with several a tuple.
std::vector<std::vector<std::string>> findall(const Pcre& re, const std::string& text, std::uint32_t& groups) {
    pcre2_pattern_info(re.code, PCRE2_INFO_CAPTURECOUNT, &groups);
    std::vector<std::vector<std::string>> out;
    each_match(re, text, [&](const PCRE2_SIZE* ov) {
        std::vector<std::string> m;
        for (std::uint32_t g = groups ? 1 : 0; g <= groups; ++g)
            m.push_back(ov[2 * g] == PCRE2_UNSET ? std::string() : text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        out.push_back(std::move(m));
    });
    return out;
}

std::string py_strip(const std::string& s) {  // str.strip()
    const auto chars = text::decode(s);
    std::size_t a = 0, z = chars.size();
    while (a < z && text::is_space(chars[a])) ++a;
    while (z > a && text::is_space(chars[z - 1])) --z;
    return text::encode(std::u32string_view(chars).substr(a, z - a));
}

// One response through one per-response filter.
std::string filter_one(const Suite::ResponseFilter& f, const Pcre* re, const std::string& r) {
    if (f.function == "lowercase" || f.function == "uppercase") {
        std::u32string out;
        for (char32_t c : text::decode(r))
            out += static_cast<char32_t>(f.function == "lowercase" ? utf8proc_tolower(static_cast<utf8proc_int32_t>(c))
                                                                   : utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
        return text::encode(out);
    }
    if (f.function == "remove_whitespace") return py_strip(r);
    if (f.function != "regex" || !re) return r;
    std::uint32_t groups = 0;
    const auto matches = findall(*re, r, groups);
    if (matches.empty()) return f.fallback;
    const auto n = static_cast<long long>(matches.size());
    const long long k = f.group_select < 0 ? n + f.group_select : f.group_select;
    if (k < 0 || k >= n)  // Python's IndexError; lm-eval would stop the run
        throw SuiteError("regex filter: group_select " + std::to_string(f.group_select) + " of " + std::to_string(n) + " matches");
    const auto& m = matches[static_cast<std::size_t>(k)];
    if (groups <= 1) return py_strip(m.front());
    for (const auto& g : m)  // a tuple: its first non-empty group, else the fallback
        if (!g.empty()) return py_strip(g);
    return py_strip(f.fallback);
}

}  // namespace

std::string remove_matches(const std::string& pattern, const std::string& text) {
    const Pcre re(pattern);
    std::string out;
    PCRE2_SIZE copied = 0;
    each_match(re, text, [&](const PCRE2_SIZE* ov) {
        out.append(text, copied, ov[0] - copied);
        copied = ov[1];
    });
    out.append(text, copied, std::string::npos);
    return out;
}

std::string apply_response_filters(const Suite& suite, const std::vector<std::string>& responses) {
    std::vector<std::string> r = responses;
    for (const auto& f : suite.response_filters) {
        if (f.function == "take_first" || f.function == "take_first_k") {
            const std::size_t k = f.function == "take_first" ? 1 : static_cast<std::size_t>(std::max(f.k, 1));
            if (r.size() < k) throw SuiteError(f.function + ": " + std::to_string(k) + " of " + std::to_string(r.size()) + " responses");
            r.resize(k);
        } else if (f.function == "majority_vote") {  // Counter(r).most_common(1): the first seen of the most frequent
            std::size_t best = 0, best_count = 0;
            for (std::size_t i = 0; i < r.size(); ++i) {
                const auto count = static_cast<std::size_t>(std::count(r.begin(), r.end(), r[i]));
                if (count > best_count) best = i, best_count = count;
            }
            if (r.empty()) throw SuiteError("majority_vote: no responses");
            r = {r[best]};
        } else {
            std::optional<Pcre> re;
            if (f.function == "regex") re.emplace(f.pattern);
            for (auto& x : r) x = filter_one(f, re ? &*re : nullptr, x);
        }
    }
    if (suite.response_filters.empty() && !r.empty()) return r.front();  // lm-eval's default pipeline: take_first
    if (r.size() != 1) throw SuiteError("the response filters leave " + std::to_string(r.size()) + " responses, not one");
    return r.front();
}

}  // namespace lmwb::datasets
