// Two or more runs against one baseline, all computed by the library (eval::compare_reports, eval::pair_items): a
// table of every metric's paired result, grouped bars per metric with 95% intervals, and, on a chosen metric, the
// per-item table (regressions / improvements / unchanged / not comparable) and a scatter (baseline x, run y).
#pragma once

#include <QWidget>

#include "item_panel.h"
#include "lmwb/report_analysis.h"

class QComboBox;
class QLabel;
class QListWidget;
class QTableView;

namespace lmwb::gui {

class Session;
class Plot;
class CompareItemsModel;
class MetricComparisonModel;
class StatusFilter;

// "tiny-b · 11-29 18:13:01": the model folder's name and the run's start (UTC), how runs are named in comparisons.
QString runLabel(const eval::Report& report);

class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(Session& session, QWidget* parent = nullptr);
    void refresh();  // recomputes the comparison (a job) from the session's compared runs
    Plot* barsPlot() const { return bars_; }
    Plot* scatterPlot() const { return scatter_; }
    CompareItemsModel* items() const { return items_; }
    MetricComparisonModel* metricTable() const { return metric_rows_; }
    StatusFilter* statusFilter() const { return status_filter_; }
    QLabel* summary() const { return summary_; }
    QComboBox* metricPicker() const { return metric_; }
    const std::vector<eval::RunComparison>& comparisons() const { return comparisons_; }
    QStringList runLabels() const;  // the baseline first
    QTableView* itemsTable() const { return table_; }
    // The item of a row of the per-item table (a row of itemsTable()'s model) in the baseline and in that row's run.
    std::vector<ItemPanel::Run> itemRuns(int row) const;

signals:
    void comparisonShown();

private:
    void showSuite();
    void showMetric();
    const eval::SuiteReport* suiteOf(std::size_t run, const std::string& suite) const;
    Session& session_;
    QListWidget* reports_;
    QComboBox *suite_, *metric_, *status_;
    Plot *bars_, *scatter_;
    QLabel *summary_, *caption_;
    QTableView *metric_table_, *table_;
    MetricComparisonModel* metric_rows_;
    CompareItemsModel* items_;
    StatusFilter* status_filter_;
    std::vector<eval::RunComparison> comparisons_;
    int job_ = 0;
};

}  // namespace lmwb::gui
