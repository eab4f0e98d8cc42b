// Code point helpers for the text metrics (utf8proc underneath); decoding and whitespace are the shared ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmwb/text.h"

namespace lmwb::metrics::text {

using lmwb::text::decode;    // invalid bytes become U+FFFD
using lmwb::text::encode;
using lmwb::text::is_space;  // Python str.isspace()
bool is_punctuation(char32_t c);  // general category P*, or ASCII string.punctuation
bool is_word_char(char32_t c);    // letters, marks, digits (categories L*, M*, N*)
// Python 3.11's re \w (str.isalnum() or '_'): no marks, nothing Unicode 14 leaves unassigned. What \b sees.
bool is_python_word_char(char32_t c);
bool is_cjk(char32_t c);          // ideographs, kana and Hangul syllables: one word each
char32_t lower(char32_t c);
// Python 3.11's str.lower(): its mapping of each code point, U+0130 -> "i" + U+0307, and a word-final capital sigma
// to U+03C2 (tables read off the interpreter: scripts/make_python_text_tables.py).
std::u32string lower_full(std::u32string_view s);
// Python's " ".join(s.split()) and "".join(s.split()).
std::u32string collapse_spaces(std::u32string_view s, bool keep_single_space);
std::u32string strip(std::u32string_view s);  // Python's str.strip()
std::vector<std::u32string> split(std::u32string_view s);  // Python's str.split()
// Unicode general category groups (the regex module's \p{N}, \p{P}, \p{S}).
enum class Category { Letter, Mark, Number, Punctuation, Symbol, Separator, Other };
Category category(char32_t c);

}  // namespace lmwb::metrics::text
