// lm-eval's response filters (lm_eval/filters: extraction.py RegexFilter, transformation.py, selection.py).
#include <cstdint>

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

// re.findall: every non-overlapping match; without groups the whole match, with one its text, with several a tuple.
std::vector<std::vector<std::string>> findall(const Pcre& re, const std::string& text, std::uint32_t& groups) {
    pcre2_pattern_info(re.code, PCRE2_INFO_CAPTURECOUNT, &groups);
    std::vector<std::vector<std::string>> out;
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(re.code, nullptr);
    PCRE2_SIZE start = 0;
    while (start <= text.size()) {
        const int rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, 0, md, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        std::vector<std::string> m;
        for (std::uint32_t g = groups ? 1 : 0; g <= groups; ++g)
            m.push_back(ov[2 * g] == PCRE2_UNSET ? std::string() : text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        out.push_back(std::move(m));
        if (ov[1] == ov[0]) {  // an empty match: step one character on
            if (ov[1] >= text.size()) break;
            start = ov[1] + 1;
            while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
        } else {
            start = ov[1];
        }
    }
    pcre2_match_data_free(md);
    return out;
}

std::string py_strip(const std::string& s) {  // str.strip()
    const auto chars = text::decode(s);
    std::size_t a = 0, z = chars.size();
    while (a < z && text::is_space(chars[a])) ++a;
    while (z > a && text::is_space(chars[z - 1])) --z;
    return text::encode(std::u32string_view(chars).substr(a, z - a));
}

}  // namespace

std::string apply_response_filters(const Suite& suite, const std::string& response) {
    std::string r = response;
    for (const auto& f : suite.response_filters) {
        if (f.function == "lowercase" || f.function == "uppercase") {
            std::u32string out;
            for (char32_t c : text::decode(r))
                out += static_cast<char32_t>(f.function == "lowercase" ? utf8proc_tolower(static_cast<utf8proc_int32_t>(c))
                                                                       : utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
            r = text::encode(out);
        } else if (f.function == "regex") {
            const Pcre re(f.pattern);
            std::uint32_t groups = 0;
            const auto matches = findall(re, r, groups);
            if (matches.empty()) {
                r = f.fallback;
                continue;
            }
            const auto n = static_cast<long long>(matches.size());
            const long long k = f.group_select < 0 ? n + f.group_select : f.group_select;
            if (k < 0 || k >= n) {  // Python's IndexError; lm-eval would stop the run
                throw SuiteError("regex filter: group_select " + std::to_string(f.group_select) + " of " + std::to_string(n) + " matches");
            }
            const auto& m = matches[static_cast<std::size_t>(k)];
            std::string picked;
            if (groups <= 1) {
                picked = m.front();
            } else {  // a tuple: its first non-empty group, else the fallback
                picked = f.fallback;
                for (const auto& g : m)
                    if (!g.empty()) {
                        picked = g;
                        break;
                    }
            }
            r = py_strip(picked);
        }
    }
    return r;
}

}  // namespace lmwb::datasets
