// Shared between the evaluator, merge and compare.
#pragma once

#include "lmwb/report_analysis.h"

namespace lmwb::eval {

// Aggregates and, for multiple choice, the reliability diagram of a suite whose items are complete.
void finalize_suite(SuiteReport& suite, const RunSettings& settings);
std::string utc_now();

}  // namespace lmwb::eval
