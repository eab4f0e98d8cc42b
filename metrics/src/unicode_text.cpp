#include "unicode_text.h"

#include <utf8proc.h>

#include <algorithm>

namespace lmwb::metrics::text {

namespace {

struct CodePointRange {
    char32_t lo, hi;
};
struct CodePointPair {
    char32_t from, to;
};
#include "python_text_tables.inc"

template <std::size_t N>
bool in_ranges(const CodePointRange (&table)[N], char32_t c) {
    auto it = std::upper_bound(std::begin(table), std::end(table), c, [](char32_t x, const CodePointRange& r) { return x < r.lo; });
    return it != std::begin(table) && c <= std::prev(it)->hi;
}

char32_t python_lower(char32_t c) {
    auto it = std::lower_bound(std::begin(kPythonLower), std::end(kPythonLower), c, [](const CodePointPair& p, char32_t x) { return p.from < x; });
    return it != std::end(kPythonLower) && it->from == c ? it->to : c;
}

// Python's handle_capital_sigma: final when a cased letter precedes (skipping case-ignorable ones) and none follows.
bool final_sigma(std::u32string_view s, std::size_t i) {
    std::size_t j = i;
    while (j > 0 && in_ranges(kPythonCaseIgnorable, s[j - 1])) --j;
    if (j == 0 || !in_ranges(kPythonCased, s[j - 1])) return false;
    j = i + 1;
    while (j < s.size() && in_ranges(kPythonCaseIgnorable, s[j])) ++j;
    return j == s.size() || !in_ranges(kPythonCased, s[j]);
}

}  // namespace

bool is_python_word_char(char32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return in_ranges(kPythonWordChars, c);
}

bool is_punctuation(char32_t c) {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_word_char(char32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO;  // L*, M*, N*
}

bool is_cjk(char32_t c) {
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F);
}

char32_t lower(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }

std::u32string lower_full(std::u32string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char32_t c = s[i];
        if (c == 0x130) out.append(U"i\u0307");
        else if (c == 0x3A3) out.push_back(final_sigma(s, i) ? 0x3C2 : 0x3C3);
        else out.push_back(python_lower(c));
    }
    return out;
}

std::u32string collapse_spaces(std::u32string_view s, bool keep_single_space) {
    std::u32string out;
    bool pending = false;
    for (char32_t c : s) {
        if (is_space(c)) {
            pending = !out.empty();
            continue;
        }
        if (pending && keep_single_space) out.push_back(U' ');
        pending = false;
        out.push_back(c);
    }
    return out;
}

std::vector<std::u32string> split(std::u32string_view s) {
    std::vector<std::u32string> out;
    std::u32string cur;
    for (char32_t c : s) {
        if (is_space(c)) {
            if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

Category category(char32_t c) {
    switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO: return Category::Letter;
        case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: return Category::Mark;
        case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO: return Category::Number;
        case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
        case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO: return Category::Punctuation;
        case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO: return Category::Symbol;
        case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: return Category::Separator;
        default: return Category::Other;
    }
}

std::u32string strip(std::u32string_view s) {
    std::size_t a = 0, b = s.size();
    while (a < b && is_space(s[a])) ++a;
    while (b > a && is_space(s[b - 1])) --b;
    return std::u32string(s.substr(a, b - a));
}

}  // namespace lmwb::metrics::text
