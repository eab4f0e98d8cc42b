// Regular expressions for tokenizer patterns, written for Oniguruma (the reference library's engine) and run
// with PCRE2 on UTF-32 text. Patterns are translated where the two engines' Unicode classes differ.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmwb {

class Regex {
public:
    // Throws std::invalid_argument with PCRE2's message and position when the pattern does not compile.
    // translate = false compiles the pattern for PCRE2 as written (tools that compare the two engines).
    explicit Regex(const std::string& utf8_pattern, bool translate_classes = true);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Non-overlapping matches, left to right, as [begin, end) code point ranges; empty matches advance by one.
    void find_all(std::u32string_view text, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) const;

private:
    struct Compiled;
    std::string pattern_;
    std::unique_ptr<Compiled> compiled_;
};

// Escapes a literal so that it matches itself.
std::string regex_escape(std::string_view literal);

}  // namespace lmwb
