// Developer tool: prints how our Unicode helpers classify every code point, in the JSON shape of
// scripts/unicode_reference_sets.mjs, so scripts/make_unicode_compat.py can list where we differ.
#include <nlohmann/json.hpp>

#include <iostream>

#include "regex.h"
#include "unicode.h"

using namespace lmwb;

namespace {

nlohmann::json ranges(const std::vector<char32_t>& cps) {
    nlohmann::json out = nlohmann::json::array();
    for (char32_t c : cps) {
        if (!out.empty() && out.back()[1].get<std::uint32_t>() + 1 == c) out.back()[1] = c;
        else out.push_back({c, c});
    }
    return out;
}

}  // namespace

int main() {
    std::u32string all;
    for (char32_t c = 0; c <= 0x10FFFF; ++c)
        if (c < 0xD800 || c > 0xDFFF) all.push_back(c);
    nlohmann::json result;
    std::vector<std::pair<std::string, std::string>> classes{{"onig_s", "\\s"}, {"onig_w", "[\\p{L}\\p{M}\\p{N}\\p{Pc}]"}};
    for (const char* cat : {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "S", "Z"})
        classes.emplace_back(std::string("onig_") + cat, std::string("\\p{") + cat + "}");
    for (auto& [name, pattern] : classes) {
        Regex re(pattern, false);  // PCRE2's own tables
        std::vector<std::pair<std::uint32_t, std::uint32_t>> m;
        re.find_all(all, m);
        std::vector<char32_t> cps;
        for (auto [b, e] : m)
            for (auto i = b; i < e; ++i) cps.push_back(all[i]);
        result[name] = ranges(cps);
    }
    auto changes = [&](auto f, char32_t skip) {
        nlohmann::json out = nlohmann::json::object();
        for (char32_t c : all) {
            if (c == skip) continue;
            std::u32string r = f(c);
            if (r != std::u32string(1, c)) {
                std::vector<std::uint32_t> v(r.begin(), r.end());
                out[std::to_string(c)] = v;
            }
        }
        return out;
    };
    result["lowercase"] = changes([](char32_t c) { return uni::to_lower_utf8proc(c); }, 1);
    result["nfd"] = changes([](char32_t c) { return uni::normalize_utf8proc(std::u32string(1, c), uni::Form::NFD); }, 1);
    result["nfkd"] = changes([](char32_t c) { return uni::normalize_utf8proc(std::u32string(1, c), uni::Form::NFKD); }, 1);
    std::cout << result.dump();
}
