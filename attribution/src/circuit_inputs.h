// What activation patching and direct logit attribution both read: the prompt, the target (empty: the model's greedy
// next token) and an optional foil, tokenized apart; errors name the command line's option.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmwb/attribution.h"

namespace lmwb::attr {

struct CircuitInputs {
    std::string target;  // as given, or the greedy next token
    std::vector<Token> prompt_tokens, target_tokens, foil_tokens;
    std::vector<std::int32_t> pid, tid, fid;  // their ids; fid empty without a foil
};
CircuitInputs circuit_inputs(const LanguageModel& model, std::string_view prompt, std::string_view target, std::string_view foil);

}  // namespace lmwb::attr
