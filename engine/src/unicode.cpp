#include "unicode.h"

#include <utf8proc.h>

#include <cstdlib>

namespace lmwb::uni {

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

namespace {
utf8proc_category_t category(char32_t c) {
    return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(c)));
}
}  // namespace

bool is_whitespace(char32_t c) {
    switch (c) {
        case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0: case 0x1680:
        case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
            return true;
        default:
            return c >= 0x2000 && c <= 0x200A;
    }
}

bool is_alphabetic(char32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    auto cat = category(c);
    switch (cat) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
            return true;
        default:
            return false;
    }
}

bool is_numeric(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    auto cat = category(c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool is_control(char32_t c) { return category(c) == UTF8PROC_CATEGORY_CC; }

bool is_punctuation(char32_t c) {
    auto cat = category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_mark_nonspacing(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }

bool is_mark(char32_t c) {
    auto cat = category(c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

bool is_ascii_punctuation(char32_t c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

bool is_category_c(char32_t c) {
    auto cat = category(c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CN ||
           cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS;
}

bool is_unassigned(char32_t c) { return category(c) == UTF8PROC_CATEGORY_CN; }

std::u32string to_lower(char32_t c) {
    if (c < 0x80) return std::u32string(1, (c >= 'A' && c <= 'Z') ? c + 32 : c);
    if (c == 0x130) return U"i\u0307";
    return std::u32string(1, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

bool is_starter(char32_t c) {
    if (c < 0x300) return true;
    const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
    return p->combining_class == 0;
}

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

std::u32string normalize(std::u32string_view chars, Form form) {
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
int ccc(char32_t c) { return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class; }

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
    return out == normalize(chars, form);
}

}  // namespace lmwb::uni
