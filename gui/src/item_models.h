// Item models over plain result structs: a suite's per-item results (with a filter proxy), its aggregates, a
// comparison's per-item changes and sampled answers. Each is checked with QAbstractItemModelTester in the tests.
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include <optional>

#include "lmwb/attribution.h"
#include "lmwb/report_analysis.h"

class QTableView;

namespace lmwb::gui {

inline constexpr int SortRole = Qt::UserRole + 1;  // raw numbers for sorting and filters

class ResultsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Index, Id, Prompt, Target, Response, FirstMetric };  // then one column per metric
    using QAbstractTableModel::QAbstractTableModel;
    void setSuite(const eval::SuiteReport* suite);  // not owned; nullptr clears
    const eval::SuiteReport* suite() const { return suite_; }
    const eval::ItemRecord* item(int row) const;
    QStringList metricColumns() const { return metrics_; }
    int firstMetricColumn() const { return FirstMetric; }
    // The suite's primary per-item metric (the first that has values), e.g. acc or exact_match.
    QString primaryMetric() const { return metrics_.isEmpty() ? QString() : metrics_.front(); }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    const eval::SuiteReport* suite_ = nullptr;
    QStringList metrics_;
};

// Failures only (primary metric below 0.5 for binary metrics), a metric range, and text search.
class ResultsFilter : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setFailuresOnly(bool on);
    void setSearch(const QString& text);
    void setMetricRange(const QString& metric, double low, double high);  // empty metric: no range
    bool failuresOnly() const { return failures_; }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override;
    bool lessThan(const QModelIndex& a, const QModelIndex& b) const override;

private:
    bool failures_ = false;
    QString search_, metric_;
    double low_ = 0, high_ = 0;
};

// A suite's aggregates, then the same per slice (one row per slice and metric).
class AggregateModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Items, Metric, Value, Stderr, Interval, Method, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    // `suite` (its kind) for the flags of doubtful numbers (eval::aggregate_doubts): amber cells, the reasons in the tooltip.
    void setAggregates(const std::vector<eval::Aggregate>& aggregates, const std::vector<eval::SliceReport>& slices = {},
                       const eval::SuiteReport* suite = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    struct Row {
        QString items;  // "all", or "topic = sum (21)"
        eval::Aggregate a;
        QStringList doubts;
    };
    std::vector<Row> rows_;
};

// Every metric's paired result of a comparison (the library's eval::compare_reports), one row per run and metric.
class MetricComparisonModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Run, Suite, Metric, Better, Baseline, RunValue, Delta, DeltaInterval, PairedTest, Verdict, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setComparisons(std::vector<eval::RunComparison> comparisons, QStringList run_labels);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    struct Row {
        QString run;
        eval::MetricComparison m;
    };
    std::vector<Row> rows_;
};

// Per-item pairs of a comparison on one metric (eval::pair_items), for every run against the baseline.
class CompareItemsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Run, Suite, Id, Metric, Baseline, RunValue, ItemStatus, ColumnCount };
    using Status = eval::ItemStatus;
    struct Row {
        QString run, suite, metric;
        eval::ItemPair pair;
    };
    using QAbstractTableModel::QAbstractTableModel;
    void setRows(std::vector<Row> rows);
    const Row& row(int r) const { return rows_.at(static_cast<std::size_t>(r)); }
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<Row> rows_;
};

class StatusFilter : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setStatus(std::optional<CompareItemsModel::Status> status);

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

private:
    std::optional<CompareItemsModel::Status> status_;
};

// The greedy answer token by token (Ecco's view): probability, entropy and the top alternatives with theirs.
class AlternativesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Step, Token, Probability, Entropy, FirstAlternative };  // then one column per alternative
    using QAbstractTableModel::QAbstractTableModel;
    void setSteps(std::vector<attr::GreedyStep> steps);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<attr::GreedyStep> steps_;
    int ranks_ = 0;  // alternatives shown: the most any step has
};

class AnswersModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Answer, Samples, Mass, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setAnswers(std::vector<attr::AnswerMass> answers);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<attr::AnswerMass> rows_;
};

// Tab-separated text of a model (header and all rows), for the clipboard and CSV export.
QString tableText(const QAbstractItemModel& model, QChar separator);
// Every item of every suite of a report as CSV, numbers at full precision (round-trip), one column per metric.
QString resultsCsv(const eval::Report& report);
// A CSV cell: quoted when needed, and a leading = + - @ (or tab, CR) made inert with a ' so that spreadsheets never
// run it as a formula (OWASP's CSV injection advice).
QString csvCell(QString text);
// Column widths from the model's data (first rows), so that they do not depend on the view being visible.
void fitColumns(QTableView* view, int max_px = 360);

}  // namespace lmwb::gui
