#include "jobs.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QPointer>
#include <QThread>

#include "lmwb/attribution.h"

namespace lmwb::gui {

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
    cancelAll();
    waitIdle(10000);
}

int JobRunner::start(const QString& kind, const QString& title, Work work) {
    for (auto& [id, job] : jobs_)
        if (job.kind == kind && !job.superseded) {
            job.superseded = true;
            job.context->cancel = true;
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
    jobs_[id] = Job{kind, title, context, false};
    QThread* thread = QThread::create([self, id, context, work = std::move(work)] {
        Apply apply;
        QString error;
        bool was_cancelled = false;
        try {
            apply = work(*context);
            was_cancelled = context->cancel.load();
        } catch (const lmwb::attr::Cancelled&) {
            was_cancelled = true;
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
            was_cancelled = context->cancel.load();
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
    if (it != jobs_.end()) it->second.context->cancel = true;
}

void JobRunner::cancelAll() {
    for (auto& [id, job] : jobs_) job.context->cancel = true;
}

bool JobRunner::running(const QString& kind) const {
    for (const auto& [id, job] : jobs_)
        if (job.kind == kind && !job.superseded) return true;
    return false;
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
