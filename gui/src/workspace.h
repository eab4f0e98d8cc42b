// The run history: a folder that keeps every run (runs/<start>-<model>/ with run.json, report.json and, for runs that
// stopped early, the journal they resume from) and an SQLite index of runs, suite aggregates and per-item metrics that
// lists and filters hundreds of runs at once. The JSON files are the source of truth: the index is rebuilt from them
// whenever it is missing, of another schema, or older than a run's files. Qt Core + Qt SQL, no widgets; use a
// Workspace on the thread that made it (an SQLite connection is per thread).
#pragma once

#include <QDateTime>
#include <QString>
#include <QStringList>

#include <exception>
#include <map>
#include <optional>
#include <vector>

#include "lmwb/control.h"

namespace lmwb::eval {
struct Report;
}

namespace lmwb::gui {

// What starts a run, kept in run.json so that a stopped run can resume with the same suites and settings.
struct RunSetup {
    QString model_path;
    QStringList suite_paths;
    std::size_t limit = 0;
    std::uint64_t seed = 0;
    int batch_size = 8;
    std::size_t items_total = 0;  // items the run will score
    bool chat = false;     // prompts through the model's chat template (eval --apply-chat-template)
    QString system;        // its system message
};

struct RunRecord {  // a row of the index
    QString dir, status;  // "running", "finished", "cancelled", "failed", "interrupted" (its process died) or "damaged"
    QString model, model_path, suites, started, error;
    int items = 0, items_total = 0;
    // Its settings, from the report: seed, compute dtype, batch size, item limit (0: all), the chat template's
    // SHA-256 (empty: none), the largest lm-eval few-shot count (-1: no lm-eval task).
    qint64 seed = 0;
    QString dtype, chat;
    int batch = 0, limit = 0, nshot = -1;
    // The user's own: tags and a note (annotations.json in the run's folder).
    QStringList tags;
    QString note;
    std::map<QString, double> metrics;  // "suite/metric" -> aggregate, for the columns RunFilter::metric_columns names
    QString reportPath() const { return dir + QStringLiteral("/report.json"); }
    QString journalPath() const { return dir + QStringLiteral("/report.json.journal.jsonl"); }
    bool resumable() const {
        return status == QLatin1String("cancelled") || status == QLatin1String("failed") || status == QLatin1String("interrupted");
    }
};

struct RunFilter {
    QString model, suite, status, search;  // substrings (model, search) or exact names (suite, status); empty: any
    QDateTime from, to;                    // start time, UTC; invalid: open
    QString metric;                        // with low/high: runs where a suite's aggregate of it lies in [low, high]
    std::optional<double> low, high;
    QStringList metric_columns;            // "suite/metric" aggregates to read into RunRecord::metrics
};

class Workspace {
public:
    // Creates the folder if needed, opens (or builds) the index and, with Sync::Now, brings it up to date with the
    // folder. Sync::Later opens at once with what the index holds (empty the first time): the GUI then runs
    // syncFolder as a background job, since reading thousands of reports takes tens of seconds. Throws
    // std::runtime_error naming the folder when it cannot be written or the index cannot be opened.
    // Sync::Job (syncFolder's): opens only, and throws instead of rebuilding a damaged file another connection holds.
    enum class Sync { Now, Later, Job };
    explicit Workspace(const QString& folder, Sync sync = Sync::Now);
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    static QString defaultFolder();  // the platform's application-data location + /workspace

    const QString& folder() const { return folder_; }
    // Re-reads the runs whose files changed since they were indexed, adds new ones and drops removed ones; returns
    // how many runs were (re)read. A damaged run is indexed with status "damaged" and the reason as its error.
    int sync();
    void rebuild();  // forgets the index and reads every run again
    // sync() (or rebuild()) of the folder's index on the calling thread, through a connection of its own, for a
    // background job while another Workspace of the folder answers the GUI. Progress in runs; commits every
    // kCommitRuns runs, so other connections see the history fill; a cancel stops between runs and keeps what was read.
    static int syncFolder(const QString& folder, const lmwb::Control& control, bool rebuild = false);
    static constexpr int kCommitRuns = 100;

    std::vector<RunRecord> runs(const RunFilter& filter = {}) const;
    std::optional<RunRecord> run(const QString& dir) const;
    std::size_t runCount() const;
    QStringList models() const;
    QStringList suites() const;
    QStringList metrics() const;
    // Per-item values of one metric in one run's suite, by item id (what the index holds of every item).
    std::vector<std::pair<QString, double>> itemMetrics(const QString& dir, const QString& suite, const QString& metric) const;

    // A new run: its folder with run.json (status "running"); returns the folder. The run's journal goes to
    // RunRecord::journalPath().
    QString createRun(const RunSetup& setup);
    RunSetup setupOf(const QString& dir) const;  // from run.json
    // These write files only (safe on a job thread); call indexRun afterwards on the workspace's thread.
    static void finishRun(const QString& dir, const eval::Report& report);  // report.json; the journal is removed
    // A run that stopped: its finished items as a report without aggregates, the journal kept for resuming.
    static void stopRun(const QString& dir, const eval::Report& partial, const QString& status, const QString& error);
    // run.json's status ("running" again when a run resumes, "failed" with the error when it had no report to keep).
    static void setRunStatus(const QString& dir, const QString& status, const QString& error);
    void indexRun(const QString& dir);
    bool removeRun(const QString& dir);  // deletes the folder and its rows
    // Tags and a note on a run, kept in its folder (annotations.json, written atomically) and indexed; the search
    // filter finds them.
    void setAnnotations(const QString& dir, const QStringList& tags, const QString& note);
    // The pinned baseline run (its folder; empty: none), kept in the index's metadata.
    QString baseline() const;
    void setBaseline(const QString& dir);
    QStringList aggregateKeys() const;  // every "suite/metric" the index holds

    // The last index error the workspace got over (it rebuilds a damaged index from the runs' files and waits for a
    // busy one), for the History view to show; empty when none.
    const QString& lastError() const { return last_error_; }

private:
    void index(const QString& dir);  // inside a transaction
    void openIndex();
    void closeIndex();
    void rebuildIndexFile();
    static bool isBusy(const std::exception& e);
    // f's result; on an SQL error the index file is built again and f asked once more; T{} when that fails too.
    template <class T, class F>
    T guarded(F f) const;
    std::vector<RunRecord> queryRuns(const RunFilter& filter) const;
    int syncIndex(const lmwb::Control* control = nullptr);
    QString folder_, connection_;
    mutable QString last_error_;
};

}  // namespace lmwb::gui
