#include "compare_view.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPointer>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

#include "item_models.h"
#include "plots.h"
#include "session.h"

namespace lmwb::gui {

namespace {

const QColor kSeries[] = {QColor(0, 114, 178), QColor(230, 159, 0), QColor(0, 158, 115), QColor(204, 121, 167), QColor(86, 180, 233)};

}  // namespace

QString runLabel(const eval::Report& report) {
    QString when = QString::fromStdString(report.execution.started);  // 2026-11-29T18:13:01Z
    if (when.size() >= 19) when = when.mid(5, 5) + QLatin1Char(' ') + when.mid(11, 8);
    return QFileInfo(QString::fromStdString(report.model.path)).fileName() + QStringLiteral(" · ") + when;
}

CompareView::CompareView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* v = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    reports_ = new QListWidget;
    reports_->setMaximumHeight(90);
    suite_ = new QComboBox;
    metric_ = new QComboBox;
    metric_->setToolTip(tr("The metric of the scatter and of the per-item table"));
    status_ = new QComboBox;
    status_->addItems({tr("all items"), tr("regressions"), tr("improvements"), tr("unchanged"), tr("not comparable")});
    top->addWidget(reports_, 1);
    auto* side = new QVBoxLayout;
    side->addWidget(suite_);
    side->addWidget(metric_);
    side->addWidget(status_);
    top->addLayout(side);
    v->addLayout(top);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    v->addWidget(summary_);
    auto* split = new QSplitter(Qt::Horizontal);
    bars_ = new Plot;
    scatter_ = new Plot;
    for (auto* p : {bars_, scatter_}) p->setLegendAbove();
    split->addWidget(bars_);
    split->addWidget(scatter_);
    auto* vsplit = new QSplitter(Qt::Vertical);
    auto* plots = new QWidget;
    auto* pv = new QVBoxLayout(plots);
    pv->setContentsMargins(0, 0, 0, 0);
    pv->addWidget(split, 1);
    caption_ = new QLabel(tr("Bars: each metric's value per run with its 95% interval; metrics above 1 (BLEU, chrF, perplexities) "
                             "are drawn relative to the baseline's value."));
    caption_->setWordWrap(true);
    pv->addWidget(caption_);
    vsplit->addWidget(plots);
    auto* tables = new QTabWidget;
    metric_rows_ = new MetricComparisonModel(this);
    auto* metric_sort = new QSortFilterProxyModel(this);
    metric_sort->setSourceModel(metric_rows_);
    metric_sort->setSortRole(SortRole);
    auto sortable = [](QAbstractItemModel* model) {
        auto* t = new QTableView;
        t->setModel(model);
        t->setSortingEnabled(true);
        t->verticalHeader()->hide();
        t->horizontalHeader()->setStretchLastSection(true);
        return t;
    };
    metric_table_ = sortable(metric_sort);
    tables->addTab(metric_table_, tr("Paired tests (every metric)"));
    items_ = new CompareItemsModel(this);
    status_filter_ = new StatusFilter(this);
    status_filter_->setSourceModel(items_);
    status_filter_->setSortRole(SortRole);
    table_ = sortable(status_filter_);
    tables->addTab(table_, tr("Items"));
    vsplit->addWidget(tables);
    v->addWidget(vsplit, 1);
    connect(&session_, &Session::comparedChanged, this, &CompareView::refresh);
    connect(&session_.jobs, &JobRunner::failed, this, [this](int id, const QString&, const QString& error) {
        if (id == job_) summary_->setText(tr("These runs cannot be compared: %1").arg(error));
    });
    connect(suite_, &QComboBox::currentIndexChanged, this, &CompareView::showSuite);
    connect(metric_, &QComboBox::currentIndexChanged, this, &CompareView::showMetric);
    connect(status_, &QComboBox::currentIndexChanged, this, [this](int i) {
        status_filter_->setStatus(i == 0 ? std::nullopt : std::optional<CompareItemsModel::Status>(static_cast<CompareItemsModel::Status>(i - 1)));
    });
    refresh();
}

QStringList CompareView::runLabels() const {
    QStringList labels;
    for (const auto& c : session_.compared()) labels << runLabel(*c.report);
    // Two runs of one model started in the same second: tell them apart by their names.
    for (int i = 0; i < labels.size(); ++i)
        if (labels.count(labels[i]) > 1) labels[i] += QStringLiteral(" (%1)").arg(session_.compared()[static_cast<std::size_t>(i)].name);
    return labels;
}

const eval::SuiteReport* CompareView::suiteOf(std::size_t run, const std::string& suite) const {
    for (const auto& s : session_.compared()[run].report->suites)
        if (s.name == suite) return &s;
    return nullptr;
}

std::vector<ItemPanel::Run> CompareView::itemRuns(int row) const {
    std::vector<ItemPanel::Run> out;
    if (row < 0 || row >= status_filter_->rowCount()) return out;
    const auto& r = items_->row(status_filter_->mapToSource(status_filter_->index(row, 0)).row());
    const QStringList labels = runLabels();
    const int other = static_cast<int>(labels.indexOf(r.run));
    for (int run : {0, other}) {
        if (run < 0 || static_cast<std::size_t>(run) >= session_.compared().size()) continue;
        const eval::SuiteReport* s = suiteOf(static_cast<std::size_t>(run), r.suite.toStdString());
        if (!s) continue;
        for (const auto& it : s->items)
            if (it.id == r.pair.id) {
                out.push_back({(run == 0 ? tr("baseline: ") : QString()) + labels[run], session_.compared()[static_cast<std::size_t>(run)].report, s, &it});
                break;
            }
    }
    return out;
}

void CompareView::refresh() {
    reports_->clear();
    const QStringList labels = runLabels();
    for (int i = 0; i < labels.size(); ++i) {
        reports_->addItem((i == 0 ? tr("baseline: ") : QString()) + labels[i]);
        reports_->item(i)->setToolTip(session_.compared()[static_cast<std::size_t>(i)].name);
    }
    comparisons_.clear();
    metric_rows_->setComparisons({}, {});
    {
        const QSignalBlocker block(suite_);
        suite_->clear();
    }
    showSuite();
    if (session_.compared().size() < 2) {
        summary_->setText(tr("Add two or more runs (from Workspace ▸ Reports, or File ▸ Add report to comparison…); the first is the baseline."));
        return;
    }
    std::vector<eval::Report> reports;
    std::vector<std::string> names;
    for (const auto& c : session_.compared()) reports.push_back(*c.report), names.push_back(c.name.toStdString());
    summary_->setText(tr("Comparing…"));
    QPointer<CompareView> self(this);
    job_ = session_.jobs.start(QStringLiteral("compare"), tr("Comparison"), [reports = std::move(reports), names, self](JobContext& ctx) -> JobRunner::Apply {
        auto result = std::make_shared<std::vector<eval::RunComparison>>(eval::compare_reports(reports, names, 1000, 0, ctx.control));
        std::vector<std::string> suites;
        for (const auto& s : reports.front().suites) suites.push_back(s.name);
        return [self, result, suites] {
            if (!self) return;
            self->comparisons_ = *result;
            const QStringList run_labels = self->runLabels();
            self->metric_rows_->setComparisons(*result, run_labels.mid(1));
            fitColumns(self->metric_table_);
            const QSignalBlocker block(self->suite_);
            for (const auto& s : suites) self->suite_->addItem(QString::fromStdString(s));
            self->showSuite();
        };
    });
}

void CompareView::showSuite() {
    bars_->clearPlottables();
    const std::string suite = suite_->currentText().toStdString();
    {
        const QSignalBlocker block(metric_);
        metric_->clear();
        if (!comparisons_.empty() && suiteOf(0, suite))
            for (const auto& m : suiteOf(0, suite)->metrics)
                for (const auto& it : suiteOf(0, suite)->items)
                    if (it.metrics.count(m)) {
                        metric_->addItem(QString::fromStdString(m));
                        break;
                    }
    }
    if (comparisons_.empty() || !suiteOf(0, suite)) {
        bars_->setEmpty(tr("Per-metric bars with 95% intervals appear here once two or more runs are compared."));
        showMetric();
        return;
    }
    // Grouped bars: one series per run, one group per metric, with 95% intervals.
    std::vector<std::string> metrics;
    for (const auto& m : comparisons_.front().metrics)
        if (m.suite == suite && m.slice.empty()) metrics.push_back(m.metric);  // the whole suite; slices are in the table
    QStringList names;
    for (const auto& m : metrics) names << QString::fromStdString(m);
    auto* group = new QCPBarsGroup(bars_);
    const QStringList labels = runLabels();
    double hi = 0;
    for (std::size_t r = 0; r < session_.compared().size(); ++r) {
        const eval::SuiteReport* s = suiteOf(r, suite);
        if (!s) continue;
        auto* bars = new QCPBars(bars_->xAxis, bars_->yAxis);
        bars->setName(labels[static_cast<int>(r)]);
        bars->setBrush(kSeries[r % 5]);
        bars->setPen(Qt::NoPen);
        bars->setWidth(0.8 / static_cast<double>(session_.compared().size()));
        bars->setBarsGroup(group);
        auto* err = new QCPErrorBars(bars_->xAxis, bars_->yAxis);
        err->removeFromLegend();
        err->setDataPlottable(bars);
        QVector<double> keys, values, lo, up;
        for (std::size_t k = 0; k < metrics.size(); ++k)
            for (const auto& a : s->aggregates)
                if (a.metric == metrics[k]) {
                    double base = 1;
                    for (const auto& ba : suiteOf(0, suite)->aggregates)
                        if (ba.metric == a.metric && std::fabs(ba.value) > 1) base = std::fabs(ba.value);
                    keys << static_cast<double>(k);
                    values << a.value / base;
                    lo << (a.value - a.low) / base;
                    up << (a.high - a.value) / base;
                    hi = std::max(hi, a.high / base);
                }
        bars->setData(keys, values);
        err->setData(lo, up);
    }
    bars_->setTitle(tr("%1 · %2 runs against %3").arg(QString::fromStdString(suite), QString::number(session_.compared().size() - 1), labels[0]));
    bars_->setCategoryAxis(names);
    bars_->xAxis->setRange(-0.6, static_cast<double>(metrics.size()) - 0.4);
    bars_->yAxis->setRange(0, std::max(1.0, hi * 1.1));
    bars_->yAxis->setLabel(tr("value"));
    bars_->legend->setVisible(true);
    bars_->markFilled();
    bars_->replot();
    if (metric_->count()) metric_->setCurrentIndex(0);
    showMetric();
}

void CompareView::showMetric() {
    scatter_->clearPlottables();
    items_->setRows({});
    const std::string suite = suite_->currentText().toStdString(), metric = metric_->currentText().toStdString();
    const eval::SuiteReport* base = comparisons_.empty() ? nullptr : suiteOf(0, suite);
    if (!base || metric.empty()) {
        scatter_->setEmpty(tr("Per-item scores (baseline against each run) appear here."));
        emit comparisonShown();
        return;
    }
    const eval::MetricInfo* info = eval::find_metric(*base, metric);
    const QStringList labels = runLabels();
    std::vector<CompareItemsModel::Row> rows;
    QStringList summary;
    for (std::size_t r = 1; r < session_.compared().size(); ++r) {
        const eval::SuiteReport* other = suiteOf(r, suite);
        if (!other) continue;
        auto pairs = eval::pair_items(*base, *other, metric);
        std::size_t counts[4] = {0, 0, 0, 0};
        QVector<double> x, y;
        for (auto& p : pairs) {
            ++counts[static_cast<int>(p.status)];
            if (p.baseline && p.other) {
                // Binary metrics jitter a little so that equal points stay visible.
                const double jx = info && info->binary ? 0.08 * std::sin(static_cast<double>(x.size()) * 12.9898) : 0;
                const double jy = info && info->binary ? 0.08 * std::cos(static_cast<double>(x.size()) * 78.233) : 0;
                x << *p.baseline + jx;
                y << *p.other + jy;
            }
            rows.push_back({labels[static_cast<int>(r)], QString::fromStdString(suite), QString::fromStdString(metric), std::move(p)});
        }
        summary << tr("%1: %2 regressions, %3 improvements, %4 unchanged%5")
                       .arg(labels[static_cast<int>(r)])
                       .arg(counts[0]).arg(counts[1]).arg(counts[2])
                       .arg(counts[3] ? tr(", %1 not comparable (no value in one run)").arg(counts[3]) : QString());
        auto* g = scatter_->addGraph();
        g->setName(labels[static_cast<int>(r)]);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kSeries[r % 5], 6));
        g->setData(x, y, true);
    }
    scatter_->setTitle(tr("%1 per item · %2").arg(QString::fromStdString(metric), QString::fromStdString(suite)));
    scatter_->markFilled();
    scatter_->xAxis->setLabel(tr("%1, baseline").arg(QString::fromStdString(metric)));
    scatter_->yAxis->setLabel(tr("%1, run").arg(QString::fromStdString(metric)));
    scatter_->rescaleAxes();
    scatter_->xAxis->scaleRange(1.15);
    scatter_->yAxis->scaleRange(1.15);
    for (auto* axis : {scatter_->xAxis, scatter_->yAxis}) {  // scores in [0, 1] keep the whole square in view
        QCPRange r = axis->range();
        if (r.lower > -0.5 && r.upper < 1.5) axis->setRange(std::min(r.lower, -0.15), std::max(r.upper, 1.15));
    }
    scatter_->legend->setVisible(true);
    scatter_->replot();
    items_->setRows(std::move(rows));
    fitColumns(table_);
    summary_->setText(tr("%1 on %2 — %3.").arg(QString::fromStdString(metric), QString::fromStdString(suite), summary.join(QStringLiteral("; "))));
    emit comparisonShown();
}

}  // namespace lmwb::gui
