#include "item_models.h"

#include <QColor>

#include <QHeaderView>
#include <QTableView>

#include <cmath>

namespace lmwb::gui {

namespace {

QString elide(const std::string& s, int n = 80) {
    QString q = QString::fromStdString(s).simplified();
    return q.size() > n ? q.left(n - 1) + QChar(0x2026) : q;
}

QString number(double v) { return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("–"); }

}  // namespace

void ResultsModel::setSuite(const eval::SuiteReport* suite) {
    beginResetModel();
    suite_ = suite;
    metrics_.clear();
    if (suite_ && !suite_->items.empty()) {
        for (const auto& m : suite_->metrics)
            if (suite_->items.front().metrics.count(m)) metrics_ << QString::fromStdString(m);
        if (suite_->items.front().metrics.count("confidence")) metrics_ << QStringLiteral("confidence");
    }
    endResetModel();
}

const eval::ItemRecord* ResultsModel::item(int row) const {
    if (!suite_ || row < 0 || row >= static_cast<int>(suite_->items.size())) return nullptr;
    return &suite_->items[static_cast<std::size_t>(row)];
}

int ResultsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() || !suite_ ? 0 : static_cast<int>(suite_->items.size());
}

int ResultsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : FirstMetric + static_cast<int>(metrics_.size()); }

QVariant ResultsModel::data(const QModelIndex& index, int role) const {
    const eval::ItemRecord* it = index.isValid() ? item(index.row()) : nullptr;
    if (!it) return {};
    const int c = index.column();
    if (c >= FirstMetric) {
        auto m = it->metrics.find(metrics_.at(c - FirstMetric).toStdString());
        double v = m == it->metrics.end() ? NAN : m->second;
        if (role == Qt::DisplayRole) return number(v);
        if (role == SortRole) return v;
        if (role == Qt::TextAlignmentRole) return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    if (role == Qt::DisplayRole || role == SortRole) {
        switch (c) {
        case Index: return role == SortRole ? QVariant(static_cast<qulonglong>(it->index)) : QVariant(QString::number(it->index));
        case Id: return QString::fromStdString(it->id);
        case Prompt: return elide(it->prompt);
        case Target: return elide(it->target, 40);
        case Response: return elide(it->response, 60);
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (c) {
        case Prompt: return QString::fromStdString(it->prompt);
        case Target: return QString::fromStdString(it->target);
        case Response: return QString::fromStdString(it->response);
        }
    }
    return {};
}

QVariant ResultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* fixed[FirstMetric] = {"#", "id", "prompt", "target", "response"};
    if (section < FirstMetric) return QString::fromLatin1(fixed[section]);
    if (section - FirstMetric < metrics_.size()) return metrics_.at(section - FirstMetric);
    return {};
}

void ResultsFilter::setFailuresOnly(bool on) {
    failures_ = on;
    invalidateFilter();
}

void ResultsFilter::setSearch(const QString& text) {
    search_ = text;
    invalidateFilter();
}

void ResultsFilter::setMetricRange(const QString& metric, double low, double high) {
    metric_ = metric;
    low_ = low;
    high_ = high;
    invalidateFilter();
}

bool ResultsFilter::filterAcceptsRow(int row, const QModelIndex& parent) const {
    auto* src = qobject_cast<ResultsModel*>(sourceModel());
    if (!src || parent.isValid()) return true;
    const eval::ItemRecord* it = src->item(row);
    if (!it) return false;
    if (failures_) {
        auto m = it->metrics.find(src->primaryMetric().toStdString());
        if (m == it->metrics.end() || m->second >= 0.5) return false;
    }
    if (!metric_.isEmpty()) {
        auto m = it->metrics.find(metric_.toStdString());
        if (m == it->metrics.end() || m->second < low_ || m->second > high_) return false;
    }
    if (!search_.isEmpty()) {
        for (const std::string* s : {&it->id, &it->prompt, &it->target, &it->response})
            if (QString::fromStdString(*s).contains(search_, Qt::CaseInsensitive)) return true;
        return false;
    }
    return true;
}

bool ResultsFilter::lessThan(const QModelIndex& a, const QModelIndex& b) const {
    QVariant x = sourceModel()->data(a, SortRole), y = sourceModel()->data(b, SortRole);
    if (x.typeId() == QMetaType::Double || x.typeId() == QMetaType::ULongLong) {
        double u = x.toDouble(), v = y.toDouble();
        if (std::isnan(u)) return false;
        if (std::isnan(v)) return true;
        return u < v;
    }
    return QString::localeAwareCompare(x.toString(), y.toString()) < 0;
}

void AggregateModel::setAggregates(const std::vector<eval::Aggregate>& aggregates, const std::vector<eval::SliceReport>& slices,
                                   const eval::SuiteReport* suite) {
    auto doubts = [suite](const eval::Aggregate& a) {
        QStringList out;
        for (const auto& d : eval::aggregate_doubts(a, suite ? eval::find_metric(*suite, a.metric) : nullptr)) out << QString::fromStdString(d);
        return out;
    };
    beginResetModel();
    rows_.clear();
    for (const auto& a : aggregates) rows_.push_back({tr("all"), a, doubts(a)});
    for (const auto& s : slices)
        for (const auto& a : s.aggregates)
            rows_.push_back({QStringLiteral("%1 = %2 (%3)").arg(QString::fromStdString(s.field), QString::fromStdString(s.value)).arg(s.n), a, doubts(a)});
    endResetModel();
}

int AggregateModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int AggregateModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant AggregateModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
    const Row& row = rows_[static_cast<std::size_t>(index.row())];
    const auto& a = row.a;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Items: return row.items;
        case Metric: return QString::fromStdString(a.metric) + (a.higher_is_better ? QStringLiteral(" ↑") : QStringLiteral(" ↓"));
        case Value: return number(a.value) + (row.doubts.isEmpty() ? QString() : QStringLiteral(" ⚠"));
        case Stderr: return a.has_interval ? QStringLiteral("± ") + number(a.stderr_) : QStringLiteral("—");
        case Interval: return a.has_interval ? QStringLiteral("[%1, %2]").arg(number(a.low), number(a.high)) : tr("one item: none");
        case Method: return QString::fromStdString(a.method);
        }
    }
    const bool flagged = !row.doubts.isEmpty() && (index.column() == Value || index.column() == Interval);
    if (role == Qt::BackgroundRole && flagged) return QColor(0xff, 0xec, 0xb3);
    if (role == Qt::ForegroundRole && flagged) return QColor(0x3c, 0x28, 0x00);
    if (role == Qt::ToolTipRole && flagged) return tr("Doubtful: %1").arg(row.doubts.join(QStringLiteral("; ")));
    if (role == Qt::ToolTipRole && !a.signature.empty()) return QString::fromStdString(a.signature);
    if (role == SortRole && index.column() == Value) return a.value;
    return {};
}

QVariant AggregateModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"items", "metric", "value", "stderr", "95% interval", "method"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

void MetricComparisonModel::setComparisons(std::vector<eval::RunComparison> comparisons, QStringList run_labels) {
    beginResetModel();
    rows_.clear();
    for (std::size_t k = 0; k < comparisons.size(); ++k)
        for (auto& m : comparisons[k].metrics)
            rows_.push_back({k < static_cast<std::size_t>(run_labels.size()) ? run_labels[static_cast<int>(k)] : QString::fromStdString(comparisons[k].other), m});
    endResetModel();
}

int MetricComparisonModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int MetricComparisonModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant MetricComparisonModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
    const Row& r = rows_[static_cast<std::size_t>(index.row())];
    const auto& m = r.m;
    const double p = m.mcnemar ? m.mcnemar->p_value : m.test.p_value;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Run: return r.run;
        case Suite: return QString::fromStdString(m.slice.empty() ? m.suite : m.suite + " [" + m.slice + "]");
        case Metric: return QString::fromStdString(m.metric);
        case Better: return m.higher_is_better ? QStringLiteral("↑ higher") : QStringLiteral("↓ lower");
        case Baseline: return number(m.baseline);
        case RunValue: return number(m.other);
        case Delta: return number(m.delta.delta);
        case DeltaInterval: return QStringLiteral("[%1, %2]").arg(number(m.delta.low), number(m.delta.high));
        case PairedTest: return QString::fromStdString(eval::describe_test(m));
        case Verdict: return QString::fromStdString(eval::verdict(m));
        }
    }

    if (role == SortRole) {
        switch (index.column()) {
        case Baseline: return m.baseline;
        case RunValue: return m.other;
        case Delta: return m.delta.delta;
        case DeltaInterval: return m.delta.low;
        case PairedTest: return p;
        }
        return data(index, Qt::DisplayRole);
    }
    return {};
}

QVariant MetricComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"run", "suite", "metric", "better", "baseline", "run value", "delta", "delta 95% interval", "paired test", "verdict"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

void CompareItemsModel::setRows(std::vector<Row> rows) {
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
}

int CompareItemsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int CompareItemsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant CompareItemsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
    const Row& r = rows_[static_cast<std::size_t>(index.row())];
    auto value = [](const std::optional<double>& v) { return v ? number(*v) : QStringLiteral("—"); };
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Run: return r.run;
        case Suite: return r.suite;
        case Id: return QString::fromStdString(r.pair.id);
        case Metric: return r.metric;
        case Baseline: return value(r.pair.baseline);
        case RunValue: return value(r.pair.other);
        case ItemStatus: return QString::fromLatin1(eval::to_string(r.pair.status));
        }
    }
    if (role == SortRole) {
        switch (index.column()) {
        case Baseline: return r.pair.baseline ? QVariant(*r.pair.baseline) : QVariant();
        case RunValue: return r.pair.other ? QVariant(*r.pair.other) : QVariant();
        case ItemStatus: return static_cast<int>(r.pair.status);
        }
        return data(index, Qt::DisplayRole);
    }
    return {};
}

QVariant CompareItemsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"run", "suite", "id", "metric", "baseline", "run value", "status"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

void StatusFilter::setStatus(std::optional<CompareItemsModel::Status> status) {
    status_ = status;
    invalidateFilter();
}

bool StatusFilter::filterAcceptsRow(int row, const QModelIndex& parent) const {
    auto* src = qobject_cast<CompareItemsModel*>(sourceModel());
    if (!src || parent.isValid() || !status_) return true;
    return src->row(row).pair.status == *status_;
}

void AlternativesModel::setSteps(std::vector<attr::GreedyStep> steps) {
    beginResetModel();
    steps_ = std::move(steps);
    ranks_ = 0;
    for (const auto& s : steps_) ranks_ = std::max(ranks_, static_cast<int>(s.alternatives.size()));
    endResetModel();
}

int AlternativesModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(steps_.size()); }
int AlternativesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : FirstAlternative + ranks_; }

QVariant AlternativesModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(steps_.size()) || role != Qt::DisplayRole) return {};
    const auto& s = steps_[static_cast<std::size_t>(index.row())];
    auto token = [](const std::string& t) { return QString::fromStdString(t).replace(QLatin1Char('\n'), QStringLiteral("⏎")); };
    switch (index.column()) {
    case Step: return index.row();
    case Token: return token(s.text);
    case Probability: return QString::number(std::exp(s.logprob), 'f', 3);
    case Entropy: return QString::number(s.entropy, 'f', 3);
    }
    const auto k = static_cast<std::size_t>(index.column() - FirstAlternative);
    if (k >= s.alternatives.size()) return {};
    return QStringLiteral("%1  %2").arg(token(s.alternatives[k].first)).arg(std::exp(s.alternatives[k].second), 0, 'f', 3);
}

QVariant AlternativesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[FirstAlternative] = {"#", "token", "p", "entropy (nats)"};
    if (section < FirstAlternative) return QString::fromLatin1(names[section]);
    return section < FirstAlternative + ranks_ ? tr("alternative %1").arg(section - FirstAlternative + 1) : QVariant();
}

void AnswersModel::setAnswers(std::vector<attr::AnswerMass> answers) {
    beginResetModel();
    rows_ = std::move(answers);
    endResetModel();
}

int AnswersModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int AnswersModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant AnswersModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size()) || role != Qt::DisplayRole) return {};
    const auto& a = rows_[static_cast<std::size_t>(index.row())];
    switch (index.column()) {
    case Answer: return QString::fromStdString(a.answer);
    case Samples: return static_cast<qulonglong>(a.count);
    case Mass: return QString::number(100 * a.probability, 'f', 1) + QStringLiteral("%");
    }
    return {};
}

QVariant AnswersModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"answer", "samples", "probability mass"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

QString csvCell(QString s) {
    static const QString active = QStringLiteral("=+-@\t\r");
    bool number = false;
    s.toDouble(&number);  // a plain number (e.g. -0.5) stays a number
    if (!s.isEmpty() && active.contains(s.front()) && !number) s.prepend(QLatin1Char('\''));
    if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n')) || s.contains(QLatin1Char('\r')))
        s = QLatin1Char('"') + s.replace(QLatin1String("\""), QLatin1String("\"\"")) + QLatin1Char('"');
    return s;
}

QString resultsCsv(const eval::Report& report) {
    QStringList metrics;
    for (const auto& s : report.suites)
        for (const auto& it : s.items)
            for (const auto& [m, v] : it.metrics)
                if (!metrics.contains(QString::fromStdString(m))) metrics << QString::fromStdString(m);
    QString out = QStringLiteral("suite,index,id,prompt,target,response");
    for (const auto& m : metrics) out += QLatin1Char(',') + csvCell(m);
    out += QLatin1Char('\n');
    for (const auto& s : report.suites)
        for (const auto& it : s.items) {
            out += csvCell(QString::fromStdString(s.name)) + QLatin1Char(',') + QString::number(it.index);
            for (const auto* f : {&it.id, &it.prompt, &it.target, &it.response}) out += QLatin1Char(',') + csvCell(QString::fromStdString(*f));
            for (const auto& m : metrics) {
                auto v = it.metrics.find(m.toStdString());
                out += QLatin1Char(',');
                if (v != it.metrics.end() && std::isfinite(v->second)) out += QString::number(v->second, 'g', 17);
            }
            out += QLatin1Char('\n');
        }
    return out;
}

void fitColumns(QTableView* view, int max_px) {
    const QAbstractItemModel* m = view->model();
    if (!m) return;
    const QFontMetrics fm(view->font()), hm(view->horizontalHeader()->font());
    const int rows = std::min(m->rowCount(), 200);
    for (int c = 0; c < m->columnCount(); ++c) {
        int w = hm.horizontalAdvance(m->headerData(c, Qt::Horizontal).toString()) + 24;
        for (int r = 0; r < rows; ++r) w = std::max(w, fm.horizontalAdvance(m->index(r, c).data().toString().left(80)) + 16);
        view->setColumnWidth(c, std::min(w, max_px));
    }
}

QString tableText(const QAbstractItemModel& model, QChar sep) {
    auto cell = [&](QString s) {
        if (sep == QLatin1Char(',')) return csvCell(s);
        s.replace(QLatin1Char('\t'), QLatin1Char(' ')).replace(QLatin1Char('\n'), QLatin1Char(' '));
        return s;
    };
    QString out;
    for (int c = 0; c < model.columnCount(); ++c) out += (c ? QString(sep) : QString()) + cell(model.headerData(c, Qt::Horizontal).toString());
    out += QLatin1Char('\n');
    for (int r = 0; r < model.rowCount(); ++r) {
        for (int c = 0; c < model.columnCount(); ++c) {
            QVariant tip = model.data(model.index(r, c), Qt::ToolTipRole);
            QString text = tip.isValid() ? tip.toString() : model.data(model.index(r, c)).toString();
            out += (c ? QString(sep) : QString()) + cell(text);
        }
        out += QLatin1Char('\n');
    }
    return out;
}

}  // namespace lmwb::gui
