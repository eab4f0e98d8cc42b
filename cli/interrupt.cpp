#include "interrupt.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

#include <unistd.h>

namespace lmwb::cli {

namespace {

// Made before any handler is installed, so the handler only touches a lock-free atomic.
const CancelToken g_interrupt;

extern "C" void on_interrupt(int) {
    g_interrupt.request();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

const CancelToken& interrupt_token() { return g_interrupt; }

InterruptGuard::InterruptGuard() {
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
}

InterruptGuard::~InterruptGuard() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

Control terminal_control(const std::string& label, bool quiet) {
    Control c;
    c.cancel = g_interrupt;
    if (quiet || !::isatty(2)) return c;
    struct State {
        std::chrono::steady_clock::time_point last{};
        bool open = false;
    };
    auto st = std::make_shared<State>();
    c.progress = [st, label](const Progress& p) {
        const bool end = p.total && p.done >= p.total;
        auto now = std::chrono::steady_clock::now();
        if (!end && now - st->last < std::chrono::milliseconds(100)) return;
        st->last = now;
        if (p.total) std::fprintf(stderr, "\r%s: %zu/%zu %s   ", label.c_str(), p.done, p.total, p.unit.c_str());
        else std::fprintf(stderr, "\r%s: %zu %s   ", label.c_str(), p.done, p.unit.c_str());
        st->open = !end;
        if (end) std::fprintf(stderr, "\r%*s\r", static_cast<int>(label.size() + 40), "");
    };
    return c;
}

}  // namespace lmwb::cli
