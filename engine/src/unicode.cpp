#include "unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>

namespace lmwb::uni {

#include "unicode_tables.inc"

namespace {
template <std::size_t N>
bool in(const CpRange (&table)[N], char32_t c) {
    auto it = std::upper_bound(table, table + N, c, [](char32_t v, const CpRange& r) { return v < r.lo; });
    return it != table && c <= (it - 1)->hi;
}
template <std::size_t N>
const CpMap* find_map(const CpMap (&table)[N], char32_t c) {
    auto it = std::lower_bound(table, table + N, c, [](const CpMap& m, char32_t v) { return m.cp < v; });
    return it != table + N && it->cp == c ? it : nullptr;
}
}  // namespace

const OnigClass* onig_class(std::string_view name) {
    for (const OnigClass& k : kOnigClasses)
        if (name == k.name) return &k;
    return nullptr;
}
bool is_reference_punctuation(char32_t c) { return in(kPunctuation, c); }
bool is_bert_removed(char32_t c) { return in(kBertRemoved, c); }
bool is_combining_mark(char32_t c) { return c >= 0x300 && in(kCombiningMark, c); }
bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && in(kNonspacingMark, c); }
bool is_rust_word(char32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
    return in(kRustWord, c);
}

// Canonical combining class as the reference's (older) normalization tables have it: marks added since are
// starters there.
int ccc(char32_t c) {
    if (c < 0x300) return 0;
    int k = utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
    if (k > 0 && k < 240 && !in(kReorderable, c)) return 0;
    return k;
}

namespace {
// Length of a valid sequence starting at p (0 when invalid), following the Unicode table of well-formed
// byte sequences; `prefix` receives how many bytes form a valid prefix, for maximal-subpart replacement.
std::size_t sequence_length(const unsigned char* p, std::size_t avail, std::size_t& prefix, char32_t& cp) {
    unsigned char b0 = p[0];
    prefix = 1;
    if (b0 < 0x80) { cp = b0; return 1; }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1F; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3; cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4; cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (std::size_t i = 1; i < len; ++i) {
        if (i >= avail) return 0;
        unsigned char b = p[i];
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) return 0;
        cp = (cp << 6) | (b & 0x3F);
        prefix = i + 1;
    }
    return len;
}
}  // namespace

void decode_lossy(std::string_view text, std::u32string& chars, std::vector<std::uint32_t>& starts) {
    chars.clear();
    starts.clear();
    chars.reserve(text.size());
    starts.reserve(text.size() + 1);
    auto* p = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0, n = text.size();
    while (i < n) {
        if (p[i] < 0x80) {
            starts.push_back(static_cast<std::uint32_t>(i));
            chars.push_back(p[i]);
            ++i;
            continue;
        }
        std::size_t prefix = 1;
        char32_t cp = 0;
        std::size_t len = sequence_length(p + i, n - i, prefix, cp);
        starts.push_back(static_cast<std::uint32_t>(i));
        if (len == 0) {
            chars.push_back(U'\uFFFD');
            i += prefix;
        } else {
            chars.push_back(cp);
            i += len;
        }
    }
    starts.push_back(static_cast<std::uint32_t>(n));
}

std::u32string decode_lossy(std::string_view text) {
    std::u32string chars;
    std::vector<std::uint32_t> starts;
    decode_lossy(text, chars, starts);
    return chars;
}

std::size_t utf8_length(char32_t c) {
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::string to_utf8(std::u32string_view chars) {
    std::string out;
    out.reserve(chars.size());
    for (char32_t c : chars) append_utf8(out, c);
    return out;
}

bool is_whitespace(char32_t c) { return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x80 && in(kWhitespace, c)); }

bool is_numeric(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return in(kNumeric, c);
}

std::u32string to_lower_utf8proc(char32_t c) {
    if (c < 0x80) return std::u32string(1, (c >= 'A' && c <= 'Z') ? c + 32 : c);
    if (c == 0x130) return U"i\u0307";
    return std::u32string(1, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

std::u32string to_lower(char32_t c) {
    if (c >= 0x80)
        if (const CpMap* m = find_map(kLowercase, c)) return std::u32string(m->out, m->n);
    return to_lower_utf8proc(c);
}

bool is_starter(char32_t c) { return ccc(c) == 0; }

bool starts_segment(char32_t c, bool compat) {
    if (c < 0x300) return true;
    if (c >= 0x1161 && c <= 0x11C2) return false;
    if (!is_starter(c)) return false;
    utf8proc_int32_t buf[32];
    int boundclass = 0;
    int options = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32,
                                                static_cast<utf8proc_option_t>(options), &boundclass);
    if (n <= 0 || n > 32) return true;
    auto first = static_cast<char32_t>(buf[0]);
    return is_starter(first) && !(first >= 0x1161 && first <= 0x11C2);
}

namespace {
const CpMap* decomposition_override(char32_t c, Form form) {
    if (c < 0x300) return nullptr;
    return form == Form::NFKC || form == Form::NFKD ? find_map(kNfkd, c) : find_map(kNfd, c);
}
}  // namespace

// Decomposition (with the reference's overrides), canonical ordering by the reference's combining classes,
// then composition for the C forms: utf8proc supplies only per-code-point decompositions and pair compositions.
std::u32string normalize(std::u32string_view chars, Form form) {
    std::u32string out;
    std::vector<std::uint32_t> consumed;
    if (!normalize_tracked(chars, form, out, consumed)) return normalize_utf8proc(chars, form);
    return out;
}

std::u32string normalize_utf8proc(std::u32string_view chars, Form form) {
    int options = UTF8PROC_STABLE;
    switch (form) {
        case Form::NFC: options |= UTF8PROC_COMPOSE; break;
        case Form::NFD: options |= UTF8PROC_DECOMPOSE; break;
        case Form::NFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
        case Form::NFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    std::string utf8 = to_utf8(chars);
    utf8proc_uint8_t* mapped = nullptr;
    utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                        static_cast<utf8proc_ssize_t>(utf8.size()), &mapped,
                                        static_cast<utf8proc_option_t>(options));
    if (len < 0) return std::u32string(chars);
    std::u32string out = decode_lossy(std::string_view(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(len)));
    std::free(mapped);
    return out;
}

namespace {
bool compose_pair(char32_t a, char32_t b, char32_t& out) {
    utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
    utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
    if (n != 1) return false;
    out = static_cast<char32_t>(buf[0]);
    return true;
}
}  // namespace

bool normalize_tracked(std::u32string_view chars, Form form, std::u32string& out, std::vector<std::uint32_t>& consumed) {
    bool compat = form == Form::NFKC || form == Form::NFKD;
    bool compose = form == Form::NFC || form == Form::NFKC;
    int options = UTF8PROC_DECOMPOSE | UTF8PROC_STABLE | (compat ? UTF8PROC_COMPAT : 0);
    struct Entry { char32_t c; std::uint32_t consumed; };
    std::vector<Entry> e;
    for (char32_t c : chars) {
        if (const CpMap* m = decomposition_override(c, form)) {
            for (unsigned k = 0; k < m->n; ++k) e.push_back({m->out[k], k == 0 ? 1u : 0u});
            continue;
        }
        utf8proc_int32_t buf[32];
        int boundclass = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32,
                                                    static_cast<utf8proc_option_t>(options), &boundclass);
        if (n <= 0 || n > 32) return false;
        for (utf8proc_ssize_t k = 0; k < n; ++k) e.push_back({static_cast<char32_t>(buf[k]), k == 0 ? 1u : 0u});
    }
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (std::size_t i = 1; i < e.size(); ++i)
        for (std::size_t j = i; j > 0 && ccc(e[j].c) != 0 && ccc(e[j - 1].c) > ccc(e[j].c); --j) std::swap(e[j], e[j - 1]);
    std::vector<Entry> r;
    if (compose) {
        std::ptrdiff_t starter = -1;
        int last = 0;
        for (const Entry& x : e) {
            int cl = ccc(x.c);
            char32_t composite = 0;
            if (starter >= 0) {
                bool adjacent = static_cast<std::ptrdiff_t>(r.size()) - 1 == starter;
                if ((adjacent || (last != 0 && last < cl)) && compose_pair(r[static_cast<std::size_t>(starter)].c, x.c, composite)) {
                    r[static_cast<std::size_t>(starter)].c = composite;
                    r[static_cast<std::size_t>(starter)].consumed += x.consumed;
                    continue;
                }
            }
            if (cl == 0) starter = static_cast<std::ptrdiff_t>(r.size());
            last = cl;
            r.push_back(x);
        }
    } else {
        r = std::move(e);
    }
    out.clear();
    consumed.clear();
    for (const Entry& x : r) {
        out.push_back(x.c);
        consumed.push_back(x.consumed);
    }
    return true;
}

}  // namespace lmwb::uni
