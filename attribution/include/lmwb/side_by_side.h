// Two models on one prompt (LIT's comparison mode): each one's greedy response, the log-probability of one
// continuation under both, aligned token by token when they tokenize it alike and by character spans otherwise,
// and an attribution of that continuation from each (their word scores compare across tokenizers).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmwb/attribution.h"

namespace lmwb::attr {

struct SideBySideOptions {
    int max_new_tokens = 32;                 // the responses
    std::vector<std::string> stop = {"\n"};
    bool attribute = true;                   // also explain the continuation with `attribution` in both models
    Options attribution;                     // method, steps, … (its control is replaced by `control`)
    Control control;                         // progress in steps: responses, scores, attributions
};

// A stretch of the continuation that both tokenizations cover whole: the tokens of each that end inside it.
struct AlignedSegment {
    std::string text;
    int start = 0, end = 0;                  // code points into the continuation
    std::vector<int> a_tokens, b_tokens;     // indices into SideBySide::a_tokens / b_tokens
    double a_logprob = 0, b_logprob = 0;     // sums over those tokens
};

struct SideBySide {
    std::string prompt, continuation;        // the continuation: the given target, else model A's response
    std::string a_response, b_response;
    std::vector<Token> a_tokens, b_tokens;   // the continuation in each tokenizer
    std::vector<double> a_logprobs, b_logprobs;  // per token: log p(token | prompt, tokens before it)
    double a_total = 0, b_total = 0;
    bool same_tokens = false;                // both tokenize the prompt and the continuation to the same ids
    std::vector<AlignedSegment> segments;    // in order, covering the continuation
    bool attributed = false;
    Result a_attribution, b_attribution;
};

SideBySide side_by_side(const LanguageModel& a, const LanguageModel& b, std::string_view prompt, std::string_view target,
                        const SideBySideOptions& options);
// Segments from two tokenizations' code-point spans of one text of `length` code points: cut wherever both have a
// token boundary; a token belongs to the segment its end falls in.
std::vector<AlignedSegment> align_tokens(const std::vector<Token>& a, const std::vector<Token>& b, int length);
std::string to_json_text(const SideBySide& s, int indent = 2);

}  // namespace lmwb::attr
