#include "jobs.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QPointer>
#include <QThread>


namespace lmwb::gui {

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
    cancelAll();
    waitIdle(10000);
}

int JobRunner::start(const QString& kind, const QString& title, Work work, Older older) {
    for (auto& [id, job] : jobs_)
        if (older == Older::Supersede && job.kind == kind && !job.superseded) {
            job.superseded = true;
            job.context->control.cancel.request();
        }
    const int id = next_id_++;
    auto context = std::make_shared<JobContext>();
    QPointer<JobRunner> self(this);
    context->report = [self, id, kind](double fraction, const QString& text) {
        if (!self) return;
        QMetaObject::invokeMethod(self, [self, id, kind, fraction, text] {
            // A job being cancelled keeps saying so until it has stopped.
            if (self && self->jobs_.count(id) && !self->jobs_[id].superseded && !self->jobs_[id].cancelling)
                emit self->progress(id, kind, fraction, text);
        }, Qt::QueuedConnection);
    };
    auto clock = std::make_shared<QElapsedTimer>();
    clock->start();
    auto passes = std::make_shared<PassProgress>();
    context->control.progress = [report = context->report, clock, passes](const lmwb::Progress& p) {
        const auto shown = passes->library(p, static_cast<double>(clock->elapsed()) / 1000.0);
        report(shown.fraction, shown.text);
    };
    jobs_[id] = Job{kind, title, context, false};
    QThread* thread = QThread::create([self, id, context, clock, passes, work = std::move(work)] {
        // Layer steps come many per second on a small model: shown at most every 100 ms.
        auto last_shown = std::make_shared<qint64>(-1000);
        const lmwb::LayerScope layers([context, clock, passes, last_shown](const lmwb::LayerStep& s) {
            if (!context->layer_progress) return;
            const qint64 now = clock->elapsed();
            const auto shown = passes->step(s, static_cast<double>(now) / 1000.0);
            if (now - *last_shown < 100) return;
            *last_shown = now;
            context->report(shown.fraction, shown.text);
        });
        Apply apply;
        QString error;
        bool was_cancelled = false;
        try {
            apply = work(*context);
            was_cancelled = context->cancelled();
        } catch (const lmwb::Cancelled&) {
            was_cancelled = true;
        } catch (const std::exception& e) {
            const std::string what = e.what();
            error = QString::fromStdString(what.substr(0, what.find("\nException raised from")));  // no LibTorch backtrace
            was_cancelled = context->cancelled();
        }
        if (self)
            QMetaObject::invokeMethod(self, [self, id, apply, error, was_cancelled] {
                if (self) self->done(id, apply, error, was_cancelled);
            }, Qt::QueuedConnection);
    });
    connect(thread, &QThread::finished, thread, &QObject::deleteLater);
    emit started(id, kind, title);
    thread->start();
    return id;
}

void JobRunner::done(int id, Apply apply, const QString& error, bool was_cancelled) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job job = it->second;
    jobs_.erase(it);
    if (job.superseded || was_cancelled) {
        emit cancelled(id, job.kind);
    } else if (!error.isEmpty()) {
        emit failed(id, job.kind, error);
    } else {
        if (apply) apply();
        emit finished(id, job.kind);
    }
}

void JobRunner::requestCancel(int id, Job& job) {
    job.context->control.cancel.request();
    if (job.cancelling || job.superseded) return;
    job.cancelling = true;
    emit cancelling(id, job.kind);
}

void JobRunner::cancel(int id) {
    auto it = jobs_.find(id);
    if (it != jobs_.end()) requestCancel(id, it->second);
}

void JobRunner::cancelAll() {
    for (auto& [id, job] : jobs_) requestCancel(id, job);
}

bool JobRunner::running(const QString& kind) const {
    for (const auto& [id, job] : jobs_)
        if (job.kind == kind && !job.superseded) return true;
    return false;
}

QString progressText(const lmwb::Progress& p, double elapsed_s) {
    QString count;
    if (p.unit == "bytes") {
        count = QObject::tr("%1 / %2 MB").arg(static_cast<double>(p.done) / 1e6, 0, 'f', 1).arg(static_cast<double>(p.total) / 1e6, 0, 'f', 1);
    } else if (p.total) {
        count = QObject::tr("%1 / %2 %3").arg(p.done).arg(p.total).arg(QString::fromStdString(p.unit));
    } else {
        count = QObject::tr("%1 %2").arg(p.done).arg(QString::fromStdString(p.unit));
    }
    QString text = p.stage.empty() ? count : QString::fromStdString(p.stage) + QStringLiteral(": ") + count;
    // An estimate only once something is done and the work is not over; units are alike within one count.
    if (p.total && p.done > 0 && p.done < p.total && elapsed_s > 0.5) {
        const double left = elapsed_s / static_cast<double>(p.done) * static_cast<double>(p.total - p.done);
        text += QObject::tr(", ETA %1 s").arg(left, 0, 'f', left < 10 ? 1 : 0);
    }
    return text;
}

PassProgress::Shown PassProgress::library(const lmwb::Progress& p, double elapsed_s) {
    last_ = p;
    steps_at_report_ = steps_;
    if (p.done > 0 && steps_ > 0) steps_per_unit_ = static_cast<double>(steps_) / static_cast<double>(p.done);
    const double f = p.total ? std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total)) : 0.0;
    return {f, progressText(p, elapsed_s)};
}

PassProgress::Shown PassProgress::step(const lmwb::LayerStep& s, double elapsed_s) {
    ++steps_;
    if (!s.backward && s.layer == 0) ++passes_;
    at_ = s;
    double f = last_.total ? static_cast<double>(last_.done) / static_cast<double>(last_.total) : 0.0;
    if (last_.total && steps_per_unit_ > 0) {
        // Steps since the last report at the rate of the passes before, never beyond the end.
        const double units = std::min(static_cast<double>(steps_ - steps_at_report_) / steps_per_unit_, static_cast<double>(last_.total - last_.done));
        f = std::min(0.999, (static_cast<double>(last_.done) + units) / static_cast<double>(last_.total));
    }
    return {f, where(f, elapsed_s)};
}

QString PassProgress::where(double fraction, double elapsed_s) const {
    QString text = progressText(last_, 0);  // the library's count, without its own (coarser) estimate
    if (last_.unit.empty()) text = QString::fromStdString(last_.stage);
    const QString layer = at_.backward ? QObject::tr("layer %1 / %2 backward").arg(at_.layers - at_.layer).arg(at_.layers)
                                       : QObject::tr("layer %1 / %2").arg(at_.layer + 1).arg(at_.layers);
    text += (text.isEmpty() ? QString() : QStringLiteral(" · ")) + QObject::tr("pass %1, %2").arg(passes_).arg(layer);
    if (steps_per_unit_ > 0 && fraction > 0 && fraction < 1 && elapsed_s > 0.5) {
        const double left = elapsed_s / fraction * (1 - fraction);
        text += QObject::tr(", ETA %1 s").arg(left, 0, 'f', left < 10 ? 1 : 0);
    }
    return text;
}

bool waitUntil(const std::function<bool()>& pred, int timeout_ms) {
    QElapsedTimer t;
    t.start();
    while (!pred()) {
        if (t.elapsed() > timeout_ms) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::msleep(1);
    }
    return true;
}

bool JobRunner::waitIdle(int timeout_ms) {
    return waitUntil([this] { return jobs_.empty(); }, timeout_ms);
}

}  // namespace lmwb::gui
