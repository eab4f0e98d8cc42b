// UTF-8 and Unicode property helpers shared by the tokenizer components.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmwb::uni {

// Decodes UTF-8, replacing each maximal invalid subsequence with U+FFFD (Rust's from_utf8_lossy).
// starts receives the byte offset of every decoded code point plus one final entry for the end.
void decode_lossy(std::string_view text, std::u32string& chars, std::vector<std::uint32_t>& starts);
std::u32string decode_lossy(std::string_view text);
void append_utf8(std::string& out, char32_t c);
std::string to_utf8(std::u32string_view chars);
std::size_t utf8_length(char32_t c);

// Rust's char predicates, which the reference library uses.
bool is_whitespace(char32_t c);   // Unicode White_Space
bool is_alphabetic(char32_t c);   // Unicode Alphabetic (approximated by letters, Nl and Other_Alphabetic marks)
bool is_numeric(char32_t c);      // general categories Nd, Nl, No
bool is_control(char32_t c);      // general category Cc
bool is_punctuation(char32_t c);  // general categories P*
bool is_mark_nonspacing(char32_t c);  // Mn
bool is_mark(char32_t c);             // Mn, Mc, Me
bool is_ascii_punctuation(char32_t c);
bool is_category_c(char32_t c);   // Cc, Cf, Cn, Co, Cs
bool is_unassigned(char32_t c);   // Cn
std::u32string to_lower(char32_t c);  // full lowercase mapping (U+0130 gives two code points)

enum class Form { NFC, NFD, NFKC, NFKD };
std::u32string normalize(std::u32string_view chars, Form form);
bool is_starter(char32_t c);  // canonical combining class 0
// Whether normalization can never reorder or compose c with what precedes it: c is a starter and so is the
// first code point of its decomposition, and it is no Hangul vowel or trailing jamo.
bool starts_segment(char32_t c, bool compat);

// Normalizes like `normalize` and tells, for each output code point, how many input code points it stands for
// (0 for code points a decomposition added, 2+ for compositions), in input order: the alignment bookkeeping of
// the reference library's normalizer. Returns false if that bookkeeping cannot be reproduced.
bool normalize_tracked(std::u32string_view chars, Form form, std::u32string& out, std::vector<std::uint32_t>& consumed);

}  // namespace lmwb::uni
