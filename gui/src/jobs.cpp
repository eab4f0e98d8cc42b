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
            if (self && self->jobs_.count(id) && !self->jobs_[id].superseded) emit self->progress(id, kind, fraction, text);
        }, Qt::QueuedConnection);
    };
    auto clock = std::make_shared<QElapsedTimer>();
    clock->start();
    context->control.progress = [report = context->report, clock](const lmwb::Progress& p) {
        const double f = p.total ? std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total)) : 0.0;
        report(f, progressText(p, static_cast<double>(clock->elapsed()) / 1000.0));
    };
    jobs_[id] = Job{kind, title, context, false};
    QThread* thread = QThread::create([self, id, context, work = std::move(work)] {
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

void JobRunner::cancel(int id) {
    auto it = jobs_.find(id);
    if (it != jobs_.end()) it->second.context->control.cancel.request();
}

void JobRunner::cancelAll() {
    for (auto& [id, job] : jobs_) job.context->control.cancel.request();
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
