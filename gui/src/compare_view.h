// Two or more reports: grouped bars per metric with 95% interval error bars, the paired tests, a per-item table of
// regressions / improvements / unchanged, and a scatter of per-item scores (baseline x, other y).
#pragma once

#include <QWidget>

#include "lmwb/evaluation.h"

class QComboBox;
class QLabel;
class QListWidget;
class QTableView;

namespace lmwb::gui {

class Session;
class Plot;
class CompareItemsModel;
class StatusFilter;

class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(Session& session, QWidget* parent = nullptr);
    void refresh();
    Plot* barsPlot() const { return bars_; }
    Plot* scatterPlot() const { return scatter_; }
    CompareItemsModel* items() const { return items_; }
    StatusFilter* statusFilter() const { return status_filter_; }
    QLabel* summary() const { return summary_; }
    const std::vector<eval::RunComparison>& comparisons() const { return comparisons_; }

private:
    void showSuite();
    Session& session_;
    QListWidget* reports_;
    QComboBox *suite_, *status_;
    Plot *bars_, *scatter_;
    QLabel* summary_;
    QTableView* table_;
    CompareItemsModel* items_;
    StatusFilter* status_filter_;
    std::vector<eval::RunComparison> comparisons_;
};

}  // namespace lmwb::gui
