// What activation patching and direct logit attribution both read: the prompt, the target (empty: the model's greedy
// next token) and an optional foil, tokenized apart; errors name the command line's option.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmwb/attribution.h"
#include "lmwb/circuits.h"
#include "lmwb/model.h"

namespace lmwb::attr {

struct CircuitInputs {
    std::string target;  // as given, or the greedy next token
    std::vector<Token> prompt_tokens, target_tokens, foil_tokens;
    std::vector<std::int32_t> pid, tid, fid;  // their ids; fid empty without a foil
};
CircuitInputs circuit_inputs(const LanguageModel& model, std::string_view prompt, std::string_view target, std::string_view foil);

// The corrupted run of activation patching: another prompt of the prompt's length in place of it, or the prompt's
// embeddings with seeded noise; what it is goes into r (corrupted_prompt and tokens, or noise positions and std).
struct CorruptedRun {
    std::vector<std::int32_t> seq;
    std::vector<float> noisy;  // [T][hidden], empty for a text corruption
    const std::vector<float>* input() const { return noisy.empty() ? nullptr : &noisy; }
};
CorruptedRun corrupted_run(const LanguageModel& model, const PatchingOptions& options, const std::vector<std::int32_t>& seq, int prompt_length,
                           PatchingResult& r);
// The metric's terms: Σ log p(target_k) at P − 1 + k, or logit(target₀) − logit(foil₀) at P − 1.
std::vector<MetricTerm> metric_terms(const CircuitInputs& in);

}  // namespace lmwb::attr
