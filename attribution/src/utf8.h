// Token texts cut from their text by code-point offsets, and the tokens of a text with those texts. The decoding is
// the shared one (lmwb/text.h), so offsets count code points as the tokenizer does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmwb/attribution.h"
#include "lmwb/text.h"

namespace lmwb {
class Tokenizer;
class LanguageModel;
}

namespace lmwb::attr {

inline std::u32string to_u32(std::string_view s) { return text::decode(s); }
inline std::string to_utf8(std::u32string_view s) { return text::encode(s); }

// The text's tokens (no special tokens added), each with its code-point span and the text it covers (its decoding
// where it covers none); ids receives the token ids.
std::vector<Token> tokens_of(const Tokenizer& tok, std::string_view text, std::vector<std::int32_t>& ids);

// The model's greedy next token after prompt, as text (the target when none is given). Throws AttributionError
// when it decodes to nothing (an end-of-text token).
std::string greedy_next_token(const LanguageModel& model, std::string_view prompt);

}  // namespace lmwb::attr
