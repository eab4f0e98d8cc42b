// How a prompt, and a continuation after it, become tokens: one rule for scoring, generation, traces and every
// attribution method, so that what a method explains is what the model computed.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "lmwb/tokenizer.h"

namespace lmwb {

// A prompt as transformers' tokenizer(prompt) and lm-evaluation-harness (>= 0.4.9, add_bos_token unset) encode it:
// with the tokenizer's special tokens (BOS for Llama-, Mistral-, Gemma- or Phi-3-style tokenizers; none for GPT-2's),
// except when the text already starts with the text of the token the tokenizer would put first (lm-eval's
// has_bos_prefix), so a prompt carrying its own BOS does not get a second.
Encoding encode_prompt(const Tokenizer& tok, std::string_view prompt);

// A continuation (a target, a foil, a choice) after a non-empty prompt, as lm-evaluation-harness's _encode_pair: the
// prompt's trailing whitespace moves to the start of the continuation, prompt + continuation is encoded whole (as
// encode_prompt), and the continuation is the tokens after the prompt's own encoding. Offsets of the continuation's
// tokens count from the start of the continuation as given; those of moved whitespace are clamped to 0.
// lm-eval's first step there: the prompt's trailing whitespace (Python's rstrip()) moved to the continuation.
std::pair<std::string, std::string> move_trailing_space(std::string_view prompt, std::string_view continuation);
struct PromptAndContinuation {
    Encoding prompt, continuation;
};
PromptAndContinuation encode_with_continuation(const Tokenizer& tok, std::string_view prompt, std::string_view continuation);

}  // namespace lmwb
