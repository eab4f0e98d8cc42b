// Helpers for the GUI tests: waiting on the event loop, and an event-loop stall probe.
#pragma once

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>
#include <QTimer>

#include <functional>

#include "jobs.h"

namespace lmwb::test {

inline bool waitFor(const std::function<bool()>& pred, int timeout_ms) { return lmwb::gui::waitUntil(pred, timeout_ms); }

// Measures the longest gap between ticks of a 5 ms timer: how long the GUI thread was blocked.
class StallProbe {
public:
    StallProbe() {
        timer_.setInterval(5);
        QObject::connect(&timer_, &QTimer::timeout, [this] {
            qint64 now = clock_.elapsed();
            if (last_ >= 0) worst_ = std::max(worst_, now - last_);
            last_ = now;
        });
        clock_.start();
        timer_.start();
    }
    qint64 worstMs() const { return worst_; }

private:
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 last_ = -1, worst_ = 0;
};

}  // namespace lmwb::test
