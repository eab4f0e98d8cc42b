#include "regex.h"

#include <pcre2.h>

#include <mutex>
#include <stdexcept>
#include <vector>

#include "unicode.h"

namespace lmwb {

struct Regex::Compiled {
    pcre2_code* code = nullptr;
    // One match-data block per thread that uses this regex: creating one per call costs more than a short match.
    mutable std::mutex mutex;
    mutable std::vector<pcre2_match_data*> pool;
    ~Compiled() {
        for (auto* md : pool) pcre2_match_data_free(md);
        if (code) pcre2_code_free(code);
    }
};

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

std::string translate_onig_pattern(std::string_view p) {
    // Oniguruma (Unicode): \w = Letter | Mark | Decimal_Number | Connector_Punctuation; PCRE2 10.42 with UCP
    // uses \p{L} | \p{N} | '_' instead.
    static const std::string word = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
    std::string out;
    out.reserve(p.size() + 16);
    bool in_class = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            char n = p[i + 1];
            if (n == 'w') {
                out += in_class ? word : "[" + word + "]";
            } else if (n == 'W') {
                if (in_class) {
                    // Rare; PCRE2 has no class subtraction, fall back to its own \W inside a class.
                    out += "\\W";
                } else {
                    out += "[^" + word + "]";
                }
            } else {
                out.push_back(c);
                out.push_back(n);
            }
            ++i;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            out.push_back(c);
            if (i + 1 < p.size() && p[i + 1] == '^') { out.push_back('^'); ++i; }
            if (i + 1 < p.size() && p[i + 1] == ']') { out.push_back(']'); ++i; }
            continue;
        }
        if (c == ']' && in_class) in_class = false;
        out.push_back(c);
    }
    return out;
}

Regex::Regex(const std::string& utf8_pattern) : pattern_(utf8_pattern), compiled_(std::make_unique<Compiled>()) {
    std::u32string pat = uni::decode_lossy(translate_onig_pattern(utf8_pattern));
    int err = 0;
    PCRE2_SIZE err_off = 0;
    compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                                    PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &err_off, nullptr);
    if (!compiled_->code) {
        PCRE2_UCHAR32 msg[256];
        pcre2_get_error_message(err, msg, 256);
        std::string m;
        for (int i = 0; i < 256 && msg[i]; ++i) uni::append_utf8(m, msg[i]);
        throw std::invalid_argument("invalid regex '" + utf8_pattern + "' at " + std::to_string(err_off) + ": " + m);
    }
    pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is absent
}

Regex::~Regex() = default;

void Regex::find_all(std::u32string_view text, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) const {
    out.clear();
    pcre2_match_data* md = nullptr;
    {
        std::lock_guard<std::mutex> lock(compiled_->mutex);
        if (!compiled_->pool.empty()) {
            md = compiled_->pool.back();
            compiled_->pool.pop_back();
        }
    }
    if (!md) md = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t pos = 0, n = text.size();
    while (pos <= n) {
        int rc = pcre2_match(compiled_->code, subject, n, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc < 0) break;
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
    std::lock_guard<std::mutex> lock(compiled_->mutex);
    compiled_->pool.push_back(md);
}

}  // namespace lmwb
