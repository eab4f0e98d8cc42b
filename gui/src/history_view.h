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

class Session;

class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Started, Model, Suites, Status, Items, Error, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setRuns(std::vector<RunRecord> runs);
    const RunRecord& run(int row) const { return runs_.at(static_cast<std::size_t>(row)); }
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<RunRecord> runs_;
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
    QPushButton *open_, *compare_, *resume_, *delete_;
    std::function<bool(const QString&)> confirm_;
    QElapsedTimer since_refresh_;
};

}  // namespace lmwb::gui
