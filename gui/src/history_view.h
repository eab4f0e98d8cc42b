// Every run the workspace keeps, from its SQLite index: filters by model, suite, status, date, a metric's range and
// a search over names and item ids; open a run, add runs to the comparison, resume a stopped run, delete one (asked).
#pragma once

#include <QAbstractTableModel>
#include <QElapsedTimer>
#include <QWidget>

#include <functional>
#include <vector>

#include "workspace.h"

class QComboBox;
class QDateEdit;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace lmwb::gui {

class Plot;

class Session;

class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Started, Model, Suites, Status, Items, Error, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setRuns(std::vector<RunRecord> runs);
    // Columns the user adds after the fixed ones: settings (kSettingColumns) and "suite/metric" aggregates.
    static const QStringList kSettingColumns;
    void setExtraColumns(const QStringList& keys);
    QStringList extraColumns() const { return extra_; }
    void setBaseline(const QString& dir);  // the pinned run: ★ before its start time
    QString baseline() const { return baseline_; }
    const RunRecord& run(int row) const { return runs_.at(static_cast<std::size_t>(row)); }
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QVariant extra(const RunRecord& r, const QString& key) const;
    std::vector<RunRecord> runs_;
    QStringList extra_;
    QString baseline_;
};

class HistoryView : public QWidget {
    Q_OBJECT
public:
    explicit HistoryView(Session& session, QWidget* parent = nullptr);
    void refresh();          // re-reads the filters' choices and applies the filter
    void applyFilter();      // queries the index with the current filter
    RunFilter filter() const;
    RunsModel* runs() const { return runs_; }
    QTableView* table() const { return table_; }
    QLabel* countLabel() const { return count_; }
    QLineEdit* searchField() const { return search_; }
    QComboBox* metricField() const { return metric_; }
    QDoubleSpinBox* lowField() const { return low_; }
    QDoubleSpinBox* highField() const { return high_; }
    std::vector<RunRecord> selectedRuns() const;

    // Actions on runs (the buttons; public for tests and the window's menus).
    bool openRun(const RunRecord& run);
    bool compareRuns(const std::vector<RunRecord>& runs);  // the first is the baseline
    void setConfirm(std::function<bool(const QString&)> confirm) { confirm_ = std::move(confirm); }  // tests
    bool deleteRun(const RunRecord& run);
    // W&B-style tracking: the columns shown beyond the fixed ones (kept in the settings), tags and a note on a run,
    // a pinned baseline that Compare with baseline measures the selection against, a metric across the listed runs.
    void setColumns(const QStringList& keys);
    bool annotate(const RunRecord& run, const QStringList& tags, const QString& note);
    bool pinBaseline(const RunRecord& run);  // pins, or unpins the pinned one
    bool compareWithBaseline(const std::vector<RunRecord>& runs);
    void setPlotMetric(const QString& key);  // "suite/metric"; empty: no plot
    Plot* metricPlot() const { return plot_; }

signals:
    void resumeRequested(const QString& dir);

private:
    void updateButtons();
    Session& session_;
    QLineEdit *model_, *search_;
    QComboBox *suite_, *status_, *metric_;
    QDoubleSpinBox *low_, *high_;
    QDateEdit *from_, *to_;
    QLabel* count_;
    QTableView* table_;
    RunsModel* runs_;
    QPushButton *open_, *compare_, *resume_, *delete_, *annotate_, *pin_, *compare_baseline_;
    QComboBox* plot_metric_;
    Plot* plot_;
    void showPlot();
    void columnMenu(const QPoint& at);
    std::function<bool(const QString&)> confirm_;
    QElapsedTimer since_refresh_;
};

}  // namespace lmwb::gui
