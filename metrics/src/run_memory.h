// The evaluator's memory check of a whole run (run_memory.cpp).
#pragma once

#include <vector>

#include "lmwb/evaluation.h"

namespace lmwb::eval {

using datasets::Suite;
using datasets::SuiteItem;

// Refuses (ModelError, from LanguageModel::check_memory) a run whose largest pass — over the pending items, in the
// evaluator's blocks — would not fit in the memory there is now, before any item is evaluated.
void check_run_memory(const LanguageModel& model, const LanguageModel& scorer, const std::vector<Suite>& suites,
                      const std::vector<std::vector<const SuiteItem*>>& pending, const RunSettings& settings);

}  // namespace lmwb::eval
