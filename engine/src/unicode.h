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

// Character classes as the reference library answers them (its Rust tables are of other Unicode versions than
// utf8proc and PCRE2: unicode_tables.inc holds its answers where they differ).
struct CpRange {
    char32_t lo, hi;
};
struct CpMap {
    char32_t cp;
    char32_t out[4];
    unsigned char n;
};
struct OnigClass {
    const char* name;  // "L", "Lu", ..., "s", "w"
    bool replace;      // ranges are the whole class (else: added to PCRE2's own)
    const CpRange* ranges;
    std::size_t count;
};
const OnigClass* onig_class(std::string_view name);
bool is_reference_punctuation(char32_t c);  // Punctuation and BertPreTokenizer
bool is_bert_removed(char32_t c);           // dropped by BertNormalizer's clean_text
bool is_combining_mark(char32_t c);         // dropped by StripAccents
bool is_nonspacing_mark(char32_t c);        // dropped by BertNormalizer's strip_accents
bool is_rust_word(char32_t c);              // Rust regex \w (Whitespace pre-tokenizer, added tokens)

// Rust's char predicates, which the reference library uses.
bool is_whitespace(char32_t c);   // Unicode White_Space
bool is_numeric(char32_t c);      // Rust: general categories Nd, Nl, No
std::u32string to_lower(char32_t c);  // full lowercase mapping (U+0130 gives two code points)
std::u32string to_lower_utf8proc(char32_t c);

enum class Form { NFC, NFD, NFKC, NFKD };
std::u32string normalize(std::u32string_view chars, Form form);  // as the reference does
std::u32string normalize_utf8proc(std::u32string_view chars, Form form);  // utf8proc's own answer
bool is_starter(char32_t c);  // canonical combining class 0 (as the reference's normalizer knows it)
// Whether normalization can never reorder or compose c with what precedes it: c is a starter and so is the
// first code point of its decomposition, and it is no Hangul vowel or trailing jamo.
bool starts_segment(char32_t c, bool compat);

// Normalizes like `normalize` and tells, for each output code point, how many input code points it stands for
// (0 for code points a decomposition added, 2+ for compositions), in input order: the alignment bookkeeping of
// the reference library's normalizer. Returns false when a code point cannot be decomposed.
bool normalize_tracked(std::u32string_view chars, Form form, std::u32string& out, std::vector<std::uint32_t>& consumed);

}  // namespace lmwb::uni
