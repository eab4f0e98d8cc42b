// Helpers for the GUI tests: waiting on the event loop, and an event-loop stall probe.
#pragma once

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>
#include <QTimer>

#include <cmath>
#include <functional>
#include <string>

#include <qcustomplot.h>

#include "jobs.h"
#include "main_window.h"

namespace lmwb::test {

inline bool waitFor(const std::function<bool()>& pred, int timeout_ms) { return lmwb::gui::waitUntil(pred, timeout_ms); }

// A window as a user sees it; errors go to lastError() instead of dialogs.
inline void show(lmwb::gui::MainWindow& w) {
    w.setQuiet(true);
    w.resize(1400, 900);
    w.show();
}

#if defined(LMWB_MODELS) && defined(LMWB_SUITES)
// The bundled models and suites by name.
inline std::string model_path(const char* name) { return std::string(LMWB_MODELS) + "/" + name; }
inline std::string suite_path(const char* name) { return std::string(LMWB_SUITES) + "/" + name + ".json"; }
#endif

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

// Why the tick labels of an axis overlap each other or leave the widget, or "" when they do not. Labels rotated by
// `rotation` degrees are parallel boxes: neighbours need their distance along the axis times sin(rotation) to be at
// least the font's height.
inline QString tickLabelProblem(QCPAxis* axis, QWidget* widget) {
    const QFontMetrics fm(axis->tickLabelFont());
    const auto ticks = axis->tickVector();
    const auto labels = axis->tickVectorLabels();
    const bool horizontal = axis->orientation() == Qt::Horizontal;
    const double rot = std::fabs(axis->tickLabelRotation()) * M_PI / 180.0;
    for (int i = 0; i < ticks.size(); ++i) {
        const double px = axis->coordToPixel(ticks[i]);
        if (px < -0.5 || px > (horizontal ? widget->width() : widget->height()) + 0.5)
            return QStringLiteral("label '%1' at %2 px lies outside the widget").arg(labels.value(i)).arg(px);
        if (horizontal && rot > 0) {  // clockwise labels run right of their tick
            const double end = px + std::cos(rot) * fm.horizontalAdvance(labels.value(i));
            if (end > widget->width() + 0.5) return QStringLiteral("label '%1' ends at %2 px, past the widget's %3").arg(labels.value(i)).arg(end).arg(widget->width());
        }
        if (i == 0) continue;
        const double gap = std::fabs(px - axis->coordToPixel(ticks[i - 1]));
        const double need = horizontal && rot > 0 ? fm.height() / std::sin(rot) : (horizontal ? (fm.horizontalAdvance(labels.value(i)) + fm.horizontalAdvance(labels.value(i - 1))) / 2.0 : fm.height());
        if (gap + 0.5 < need)
            return QStringLiteral("labels '%1' and '%2' are %3 px apart, need %4").arg(labels.value(i - 1), labels.value(i)).arg(gap).arg(need);
    }
    // The axis title fits along the axis rectangle.
    const QFontMetrics title(axis->labelFont());
    const int room = horizontal ? axis->axisRect()->width() : axis->axisRect()->height();
    if (!axis->label().isEmpty() && title.horizontalAdvance(axis->label()) > room)
        return QStringLiteral("axis title '%1' is %2 px, the axis %3").arg(axis->label()).arg(title.horizontalAdvance(axis->label())).arg(room);
    return {};
}

}  // namespace lmwb::test
