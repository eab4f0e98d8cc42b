// Background jobs: work runs on its own thread, reports progress through queued signals, can be cancelled, and a
// newer job of the same kind supersedes an older one. Results reach the GUI thread as a closure that applies them.
#pragma once

#include <QObject>
#include <QString>

#include <functional>
#include <map>
#include <memory>

#include "lmwb/control.h"

namespace lmwb::gui {

struct JobContext {
    // Hand `control` to the libraries: its token is the job's cancel flag, and its progress arrives at the GUI as
    // "stage: done / total unit, ETA" with the fraction done.
    lmwb::Control control;
    bool cancelled() const { return control.cancel.requested(); }
    // For work that words its own progress (evaluation: suites, tokens/s).
    std::function<void(double fraction, const QString& text)> report;  // thread-safe: queued to the GUI thread
    // The engine's layer steps refine the library's count between two of its reports ("pass 2, layer 7 / 16
    // backward") and give an ETA from the first pass on. Work that words its own progress turns it off.
    bool layer_progress = true;
};

// "12 / 52 points", "3.1 / 24.0 MB of weights" and an ETA from the time since `elapsed_s` started counting.
QString progressText(const lmwb::Progress& p, double elapsed_s);

// Progress within the passes of a job whose library reports once per pass (IG: a batch of points): every forward
// layer and every layer the gradient leaves is a step; after the first report the steps per unit are known, so the
// fraction moves and an ETA shows between reports. Fed on the working thread; not thread-safe on its own.
class PassProgress {
public:
    struct Shown {
        double fraction = 0;
        QString text;
    };
    Shown library(const lmwb::Progress& p, double elapsed_s);  // the library's own report
    Shown step(const lmwb::LayerStep& s, double elapsed_s);   // an engine layer step

private:
    QString where(double fraction, double elapsed_s) const;
    lmwb::Progress last_;
    std::size_t steps_ = 0, steps_at_report_ = 0, passes_ = 0;
    double steps_per_unit_ = 0;
    lmwb::LayerStep at_;
};

// Processes events until pred() holds or the timeout passes (tests, benchmarks, shutdown).
bool waitUntil(const std::function<bool()>& pred, int timeout_ms);

class JobRunner : public QObject {
    Q_OBJECT
public:
    using Apply = std::function<void()>;                 // runs on the GUI thread when the work succeeded
    using Work = std::function<Apply(JobContext& context)>;

    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;

    // Starts work of `kind`; unless told otherwise, a running job of the same kind is cancelled and its result dropped.
    enum class Older { Supersede, Keep };
    int start(const QString& kind, const QString& title, Work work, Older older = Older::Supersede);
    void cancel(int id);
    void cancelAll();
    bool running(const QString& kind) const;
    int runningCount() const { return static_cast<int>(jobs_.size()); }
    // Waits (processing events) until no job runs or the timeout passes; for tests and shutdown.
    bool waitIdle(int timeout_ms);

signals:
    void started(int id, const QString& kind, const QString& title);
    // A cancel was requested; `cancelled` follows once the work has really stopped (its thread has returned).
    void cancelling(int id, const QString& kind);
    void progress(int id, const QString& kind, double fraction, const QString& text);
    void finished(int id, const QString& kind);
    void failed(int id, const QString& kind, const QString& error);
    void cancelled(int id, const QString& kind);

private:
    struct Job {
        QString kind, title;
        std::shared_ptr<JobContext> context;
        bool superseded = false, cancelling = false;
    };
    void requestCancel(int id, Job& job);
    void done(int id, Apply apply, const QString& error, bool was_cancelled);
    std::map<int, Job> jobs_;
    int next_id_ = 1;
};

}  // namespace lmwb::gui
