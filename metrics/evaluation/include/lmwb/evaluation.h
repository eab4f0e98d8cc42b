// Running suites on a model: per-item metrics, a journal for resuming, progress and cancellation. The CLI and the
// GUI share it; the report it produces is read with lmwb/report_analysis.h.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lmwb/control.h"
#include "lmwb/report_analysis.h"

namespace lmwb {
class LanguageModel;
}

namespace lmwb::eval {

struct Progress {
    std::size_t items_done = 0, items_total = 0;  // over the whole run, resumed items included
    std::size_t tokens = 0;
    double elapsed = 0;
    // The suite being run (suite_index of suites) and its items still to do when it started: suites differ in cost per
    // item, so only the current suite's own rate predicts its remaining time.
    std::string suite;
    std::size_t suite_index = 0, suites = 0, suite_done = 0, suite_total = 0;
    double suite_elapsed = 0;
};
// Seconds left in the current suite at its own rate; negative while nothing is known.
double suite_eta(const Progress& p);

struct EvalOptions {
    RunSettings settings;  // settings.batch_size: items per block and per batch
    int threads = 0;
    std::string journal_path;  // empty: no journal
    bool resume = false;       // continue from journal_path
    CancelToken cancel;  // checked between items and inside every pass; a cancelled run keeps its finished items
    std::function<void(const Progress&)> progress;
    std::string software_version;
    // The model's identity when it was hashed beforehand (identify(), a job of its own in the GUI); otherwise the run
    // hashes the weights first.
    std::optional<ModelIdentity> model_identity;
};

struct EvalOutcome {
    Report report;
    bool complete = false;  // false when cancelled: the report holds only finished items and must not be saved
    std::size_t resumed_items = 0;
};

// Hashes the weight and tokenizer files (each weight file's digest cached per path, size and time): progress in bytes of
// the stage "weights", cancelled between MiB.
ModelIdentity identify(const LanguageModel& model, const Control& control = {});

// Runs the suites. `judge` (may be null) scores fluency and relevance; otherwise the model itself does.
// With a journal, each finished item is appended and flushed as it completes.
EvalOutcome evaluate(const LanguageModel& model, const LanguageModel* judge, const std::vector<datasets::Suite>& suites,
                     const EvalOptions& options);

}  // namespace lmwb::eval
