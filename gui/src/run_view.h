// Pick suites and settings, run them with live progress and cancel; the results table (sort, failures only,
// metric range, text search) and the aggregates with their intervals.
#pragma once

#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

#include "lmwb/report.h"
#include "lmwb/suite.h"
#include "workspace.h"

class QComboBox;
class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;

namespace lmwb {
class LanguageModel;
}
namespace lmwb::eval {
struct Progress;
}

namespace lmwb::gui {

// The run's progress in words: the suite counted ("name (2 of 4)"), its items, tokens/s and the ETA of that suite at
// its own rate (suites differ in cost per item, so a run-wide estimate would mislead), then the whole run's items.
QString evalProgressText(const eval::Progress& p);
double evalProgressFraction(const eval::Progress& p);  // items done of all items

class Session;
class ResultsModel;
class ResultsFilter;
class AggregateModel;

class RunView : public QWidget {
    Q_OBJECT
public:
    explicit RunView(Session& session, QWidget* parent = nullptr);
    void run();     // the checked suites with the current settings
    QCheckBox* chatBox() const { return chat_; }
    QLineEdit* systemEdit() const { return system_; }
    void resume(const QString& run_dir);  // a cancelled, failed or interrupted run of the workspace, as `lmwb eval --resume`
    void cancel();
    void setLimit(int n);
    void showSuite(int index);

    // For tests and export.
    ResultsModel* results() const { return results_; }
    ResultsFilter* filter() const { return filter_; }
    AggregateModel* aggregates() const { return aggregates_; }
    QTableView* table() const { return table_; }
    QLabel* progressText() const { return progress_text_; }
    QLabel* filteredText() const { return filtered_; }

private:
    void startRun(const RunSetup& setup, std::vector<datasets::Suite> suites, QString dir, bool resume);
    void hashThenRun(std::shared_ptr<const LanguageModel> model, const RunSetup& setup, std::vector<datasets::Suite> suites,
                     const QString& dir, bool resume);
    void refreshSuites();
    void refreshReport();
    void applyMetricRange();
    void updateFiltered();  // row count and aggregates of the rows the filter keeps
    Session& session_;
    QListWidget* suites_;
    QSpinBox *limit_, *seed_, *batch_;
    QCheckBox* chat_;   // eval --apply-chat-template
    QLineEdit* system_;  // its --system
    QPushButton *run_, *cancel_;
    QProgressBar* progress_;
    QLabel* progress_text_;
    QLabel* filtered_;
    bool filtered_pending_ = false;
    QComboBox* suite_select_;
    QCheckBox* failures_;
    QLineEdit* search_;
    QComboBox* range_metric_;
    QDoubleSpinBox *range_low_, *range_high_;
    QTableView *table_, *aggregate_table_;
    ResultsModel* results_;
    ResultsFilter* filter_;
    AggregateModel* aggregates_;
    int job_ = 0;
    QString run_dir_;  // the workspace folder of the run in progress or last run
    // The open model's weights are hashed once, as a job of their own that a run waits for (seconds for gigabytes).
    int hash_job_ = 0;
    std::optional<eval::ModelIdentity> identity_;
    std::weak_ptr<const LanguageModel> identity_model_;
};

}  // namespace lmwb::gui
