// Ctrl-C and SIGTERM as cancellation, and progress on the terminal, for the commands that run long work.
#pragma once

#include <string>

#include "lmwb/control.h"

namespace lmwb::cli {

// While a guard lives, the first SIGINT or SIGTERM cancels interrupt_token(): the work stops at its next check
// (between layers of a pass) and the command exits 130. A second signal ends the process at once.
const CancelToken& interrupt_token();
class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// A Control that stops on interrupt_token() and, on a terminal and unless quiet, redraws "label: done/total unit" on
// stderr (at most ten times a second).
Control terminal_control(const std::string& label, bool quiet = false);

}  // namespace lmwb::cli
