// Suites whose prompts go through the model's chat template (chat_prompts.cpp).
#pragma once

#include <vector>

#include "lmwb/evaluation.h"

namespace lmwb::eval {

// When settings.apply_chat_template or a suite's "chat": the suites again with the prompts of multiple-choice and
// generation suites rendered as lm-evaluation-harness renders them (api/task.py fewshot_context and
// construct_requests): an optional system message, the few-shot examples and the item's prompt as one user message
// (api/utils.py multiturn_to_singleturn) or as alternating turns, then the generation prompt; a choice follows it
// without target_delimiter. A template that refuses the system message is tried again without it (models/
// huggingface.py apply_chat_template). Sets settings.chat_template and each such suite report's `chat`.
// Returns false (and leaves everything as it was) when no suite uses a template.
bool apply_chat_templates(const LanguageModel& model, std::vector<datasets::Suite>& suites, RunSettings& settings,
                          std::vector<SuiteReport>& reports);

}  // namespace lmwb::eval
