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

// Every method encodes as the model's own paths do (lmwb/prompt_encoding.h), so what it explains is what the model
// computed. A prompt's tokens: the tokenizer's special tokens included (a BOS covers no text: span [0, 0)), each with
// its code-point span and the text it covers (its decoding where it covers none); ids receives the token ids.
std::vector<Token> prompt_tokens(const Tokenizer& tok, std::string_view prompt, std::vector<std::int32_t>& ids);
// A continuation's tokens (a target, a foil, a given continuation): split from the joint encoding of prompt +
// continuation (lm-eval's rule, as scoring); spans are into the continuation.
std::vector<Token> continuation_tokens(const Tokenizer& tok, std::string_view prompt, std::string_view continuation,
                                       std::vector<std::int32_t>& ids);

// The model's greedy next token after prompt (the target when none is given), as generated: its id, its text and
// its span in that text. Throws AttributionError when it decodes to nothing (an end-of-text token).
Token greedy_next_token(const LanguageModel& model, std::string_view prompt);

}  // namespace lmwb::attr
