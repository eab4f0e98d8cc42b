#include "regex.h"

#include <pcre2.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "unicode.h"

namespace lmwb {

namespace {

struct Code {
    pcre2_code* code = nullptr;
    // Match-data blocks reused across calls: creating one per call costs more than a short match.
    std::mutex mutex;
    std::vector<pcre2_match_data*> pool;
    ~Code() {
        for (auto* md : pool) pcre2_match_data_free(md);
        if (code) pcre2_code_free(code);
    }
};

std::unique_ptr<Code> compile(const std::string& utf8_pattern, const std::string& original) {
    std::u32string pat = uni::decode_lossy(utf8_pattern);
    int err = 0;
    PCRE2_SIZE err_off = 0;
    auto c = std::make_unique<Code>();
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(), PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK,
                            &err, &err_off, nullptr);
    if (!c->code) {
        PCRE2_UCHAR32 msg[256];
        pcre2_get_error_message(err, msg, 256);
        std::string m;
        for (int i = 0; i < 256 && msg[i]; ++i) uni::append_utf8(m, msg[i]);
        throw std::invalid_argument("invalid regex '" + original + "' at " + std::to_string(err_off) + ": " + m);
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is absent
    return c;
}

std::string class_body(const uni::OnigClass& k, const std::string& pcre_name) {
    std::string out = k.replace ? std::string() : pcre_name;
    char buf[40];
    for (std::size_t i = 0; i < k.count; ++i) {
        const uni::CpRange& r = k.ranges[i];
        if (r.lo == r.hi) std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(r.lo));
        else std::snprintf(buf, sizeof buf, "\\x{%X}-\\x{%X}", static_cast<unsigned>(r.lo), static_cast<unsigned>(r.hi));
        out += buf;
    }
    return out;
}

struct Translation {
    std::string exact;                  // Oniguruma's classes spelled out for PCRE2
    bool fast_ok = true;                // the pattern as written gives the same matches on most text...
    std::vector<uni::CpRange> differ;   // ...namely on text without these code points
};

Translation translate(std::string_view p) {
    Translation t;
    t.exact.reserve(p.size() + 16);
    bool in_class = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            char n = p[i + 1];
            std::string name, pcre;
            bool negated = n == 'P' || n == 'S' || n == 'W';
            std::size_t consumed = 2;
            if ((n == 'p' || n == 'P') && i + 2 < p.size() && p[i + 2] == '{') {
                std::size_t close = p.find('}', i + 3);
                if (close != std::string_view::npos) {
                    name = std::string(p.substr(i + 3, close - i - 3));
                    pcre = "\\p{" + name + "}";
                    consumed = close - i + 1;
                }
            } else if (n == 's' || n == 'S') {
                name = "s";
            } else if (n == 'w' || n == 'W') {
                name = "w";
            }
            const uni::OnigClass* k = name.empty() ? nullptr : uni::onig_class(name);
            if (k && !(negated && in_class)) {
                std::string body = class_body(*k, pcre);
                t.exact += in_class ? body : (negated ? "[^" : "[") + body + "]";
                if (name == "s") {
                    t.differ.push_back({0x180E, 0x180E});  // the one space PCRE2 has and Oniguruma has not
                } else if (k->replace) {
                    t.fast_ok = false;
                } else {
                    t.differ.insert(t.differ.end(), k->ranges, k->ranges + k->count);
                }
            } else {
                t.exact.append(p.substr(i, consumed));
            }
            i += consumed - 1;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            t.exact.push_back(c);
            if (i + 1 < p.size() && p[i + 1] == '^') { t.exact.push_back('^'); ++i; }
            if (i + 1 < p.size() && p[i + 1] == ']') { t.exact.push_back(']'); ++i; }
            continue;
        }
        if (c == ']' && in_class) in_class = false;
        t.exact.push_back(c);
    }
    std::sort(t.differ.begin(), t.differ.end(), [](auto& a, auto& b) { return a.lo < b.lo; });
    return t;
}

}  // namespace

std::string regex_escape(std::string_view literal) {
    std::string out;
    for (char c : literal) {
        if (std::string_view("\\^$.|?*+()[]{}-/#&~ ").find(c) != std::string_view::npos) {
            if (c == ' ') { out += "\\x20"; continue; }
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

// Two compiled forms: the exact translation, and (where possible) the pattern with PCRE2's own classes, which
// is several times faster and matches identically unless the text holds a code point the engines disagree on.
struct Regex::Compiled {
    std::unique_ptr<Code> exact, fast;
    std::vector<uni::CpRange> differ;
    bool needs_exact(std::u32string_view text) const {
        if (!fast) return true;
        for (char32_t c : text) {
            if (c < 0x800) continue;
            auto it = std::upper_bound(differ.begin(), differ.end(), c, [](char32_t v, const uni::CpRange& r) { return v < r.lo; });
            if (it != differ.begin() && c <= (it - 1)->hi) return true;
        }
        return false;
    }
};

Regex::Regex(const std::string& utf8_pattern, bool translate_classes)
    : pattern_(utf8_pattern), compiled_(std::make_unique<Compiled>()) {
    if (!translate_classes) {
        compiled_->fast = compile(utf8_pattern, utf8_pattern);
        return;
    }
    Translation t = translate(utf8_pattern);
    compiled_->exact = compile(t.exact, utf8_pattern);
    if (t.fast_ok && t.exact != utf8_pattern) {
        compiled_->fast = compile(utf8_pattern, utf8_pattern);
        compiled_->differ = std::move(t.differ);
    }
}

Regex::~Regex() = default;

void Regex::find_all(std::u32string_view text, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) const {
    out.clear();
    Code& code = compiled_->exact && compiled_->needs_exact(text) ? *compiled_->exact : *compiled_->fast;
    pcre2_match_data* md = nullptr;
    {
        std::lock_guard<std::mutex> lock(code.mutex);
        if (!code.pool.empty()) {
            md = code.pool.back();
            code.pool.pop_back();
        }
    }
    if (!md) md = pcre2_match_data_create_from_pattern(code.code, nullptr);
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t pos = 0, n = text.size();
    while (pos <= n) {
        int rc = pcre2_match(code.code, subject, n, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            {
                std::lock_guard<std::mutex> lock(code.mutex);
                code.pool.push_back(md);
            }
            PCRE2_UCHAR32 msg[256];
            pcre2_get_error_message(rc, msg, 256);
            std::string m;
            for (int i = 0; i < 256 && msg[i]; ++i) uni::append_utf8(m, msg[i]);
            throw std::runtime_error("regex '" + pattern_ + "' failed on the text: " + m);
        }
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        std::size_t b = ov[0], e = ov[1];
        if (e == b) {
            // Empty match: Oniguruma's iterator skips it and moves on by one character.
            pos = e + 1;
            continue;
        }
        out.emplace_back(static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e));
        pos = e;
    }
    std::lock_guard<std::mutex> lock(code.mutex);
    code.pool.push_back(md);
}

}  // namespace lmwb
