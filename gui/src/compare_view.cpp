#include "compare_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>
#include <map>

#include "item_models.h"
#include "plots.h"
#include "session.h"

namespace lmwb::gui {

namespace {

const QColor kSeries[] = {QColor(0, 114, 178), QColor(230, 159, 0), QColor(0, 158, 115), QColor(204, 121, 167), QColor(86, 180, 233)};

}  // namespace

CompareView::CompareView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* v = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    reports_ = new QListWidget;
    reports_->setMaximumHeight(80);
    suite_ = new QComboBox;
    status_ = new QComboBox;
    status_->addItems({tr("all items"), tr("regressions"), tr("improvements"), tr("unchanged")});
    top->addWidget(reports_, 1);
    auto* side = new QVBoxLayout;
    side->addWidget(suite_);
    side->addWidget(status_);
    top->addLayout(side);
    v->addLayout(top);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    v->addWidget(summary_);
    auto* split = new QSplitter(Qt::Horizontal);
    bars_ = new Plot;
    scatter_ = new Plot;
    split->addWidget(bars_);
    split->addWidget(scatter_);
    auto* vsplit = new QSplitter(Qt::Vertical);
    vsplit->addWidget(split);
    items_ = new CompareItemsModel(this);
    status_filter_ = new StatusFilter(this);
    status_filter_->setSourceModel(items_);
    status_filter_->setSortRole(SortRole);
    table_ = new QTableView;
    table_->setModel(status_filter_);
    table_->setSortingEnabled(true);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    vsplit->addWidget(table_);
    v->addWidget(vsplit, 1);
    connect(&session_, &Session::comparedChanged, this, &CompareView::refresh);
    connect(suite_, &QComboBox::currentIndexChanged, this, &CompareView::showSuite);
    connect(status_, &QComboBox::currentIndexChanged, this, [this](int i) {
        status_filter_->setStatus(i == 0 ? std::nullopt : std::optional<CompareItemsModel::Status>(static_cast<CompareItemsModel::Status>(i - 1)));
    });
    refresh();
}

void CompareView::refresh() {
    reports_->clear();
    for (std::size_t i = 0; i < session_.compared.size(); ++i)
        reports_->addItem((i == 0 ? tr("baseline: ") : QString()) + session_.compared[i].name);
    comparisons_.clear();
    suite_->blockSignals(true);
    suite_->clear();
    if (session_.compared.size() >= 2) {
        std::vector<eval::Report> reports;
        std::vector<std::string> names;
        for (const auto& c : session_.compared) reports.push_back(*c.report), names.push_back(c.name.toStdString());
        try {
            comparisons_ = eval::compare_reports(reports, names, 1000, 0);
            for (const auto& s : reports.front().suites) suite_->addItem(QString::fromStdString(s.name));
        } catch (const std::exception& e) {
            summary_->setText(tr("These reports cannot be compared: %1").arg(QString::fromStdString(e.what())));
            emit session_.errorOccurred(tr("Compare"), QString::fromStdString(e.what()));
        }
    } else {
        summary_->setText(tr("Add two or more reports (File ▸ Add report to comparison…); the first is the baseline."));
    }
    suite_->blockSignals(false);
    showSuite();
}

void CompareView::showSuite() {
    bars_->clearPlottables();
    scatter_->clearPlottables();
    items_->setRows({});
    if (comparisons_.empty() || suite_->currentIndex() < 0) {
        bars_->replot();
        scatter_->replot();
        return;
    }
    const std::string suite = suite_->currentText().toStdString();
    // Grouped bars: one series per report, one group per metric, with 95% intervals.
    std::vector<std::string> metrics;
    for (const auto& m : comparisons_.front().metrics)
        if (m.suite == suite) metrics.push_back(m.metric);
    auto* group = new QCPBarsGroup(bars_);
    QSharedPointer<QCPAxisTickerText> ticks(new QCPAxisTickerText);
    for (std::size_t k = 0; k < metrics.size(); ++k) ticks->addTick(static_cast<double>(k), QString::fromStdString(metrics[k]));
    double hi = 0;
    for (std::size_t r = 0; r < session_.compared.size(); ++r) {
        const auto& rep = *session_.compared[r].report;
        const eval::SuiteReport* s = nullptr;
        for (const auto& x : rep.suites)
            if (x.name == suite) s = &x;
        if (!s) continue;
        auto* bars = new QCPBars(bars_->xAxis, bars_->yAxis);
        bars->setName(session_.compared[r].name);
        bars->setBrush(kSeries[r % 5]);
        bars->setPen(Qt::NoPen);
        bars->setWidth(0.8 / static_cast<double>(session_.compared.size()));
        bars->setBarsGroup(group);
        auto* err = new QCPErrorBars(bars_->xAxis, bars_->yAxis);
        err->removeFromLegend();
        err->setDataPlottable(bars);
        QVector<double> keys, values, lo, up;
        for (std::size_t k = 0; k < metrics.size(); ++k)
            for (const auto& a : s->aggregates)
                if (a.metric == metrics[k]) {
                    // Metrics on other scales (BLEU, perplexity) are shown relative to the baseline's value.
                    double base = 1;
                    for (const auto& b : session_.compared.front().report->suites)
                        if (b.name == suite)
                            for (const auto& ba : b.aggregates)
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
    bars_->xAxis->setTicker(ticks);
    bars_->xAxis->setTickLabelRotation(45);
    bars_->xAxis->setRange(-0.6, static_cast<double>(metrics.size()) - 0.4);
    bars_->yAxis->setRange(0, std::max(1.0, hi * 1.1));
    bars_->yAxis->setLabel(tr("value (metrics above 1 relative to the baseline)"));
    bars_->legend->setVisible(true);
    bars_->replot();

    // Per-item rows and scatter on the suite's first per-item metric, for each comparison against the baseline.
    std::vector<CompareItemsModel::Row> rows;
    QString summary;
    for (std::size_t c = 0; c < comparisons_.size(); ++c) {
        const auto& rc = comparisons_[c];
        for (const auto& m : rc.metrics)
            if (m.suite == suite) {
                summary += QStringLiteral("%1 %2: %3 → %4 (Δ %5 [%6, %7]%8). ")
                               .arg(QString::fromStdString(rc.other), QString::fromStdString(m.metric))
                               .arg(m.baseline, 0, 'g', 4).arg(m.other, 0, 'g', 4).arg(m.delta.delta, 0, 'g', 3)
                               .arg(m.delta.low, 0, 'g', 3).arg(m.delta.high, 0, 'g', 3)
                               .arg(m.mcnemar ? tr(", McNemar p = %1").arg(m.mcnemar->p_value, 0, 'g', 3) : QString());
                break;
            }
        const eval::SuiteReport *a = nullptr, *b = nullptr;
        for (const auto& x : session_.compared.front().report->suites)
            if (x.name == suite) a = &x;
        for (const auto& x : session_.compared[c + 1].report->suites)
            if (x.name == suite) b = &x;
        if (!a || !b || a->items.empty()) continue;
        std::string metric;
        for (const auto& m : a->metrics)
            if (a->items.front().metrics.count(m)) {
                metric = m;
                break;
            }
        if (metric.empty()) continue;
        const eval::MetricInfo* info = eval::find_metric(metric);
        std::map<std::string, const eval::ItemRecord*> by_id;
        for (const auto& it : b->items) by_id[it.id] = &it;
        QVector<double> x, y;
        for (const auto& it : a->items) {
            auto f = by_id.find(it.id);
            if (f == by_id.end()) continue;
            double u = it.metrics.count(metric) ? it.metrics.at(metric) : NAN, w = f->second->metrics.count(metric) ? f->second->metrics.at(metric) : NAN;
            CompareItemsModel::Row row{QString::fromStdString(suite), QString::fromStdString(it.id), QString::fromStdString(metric), u, w,
                                       CompareItemsModel::Unchanged};
            if (std::fabs(w - u) > 1e-9 * std::max(1.0, std::fabs(u)))
                row.status = ((w > u) == (!info || info->higher_is_better)) ? CompareItemsModel::Improvement : CompareItemsModel::Regression;
            rows.push_back(row);
            // Binary metrics jitter a little so that equal points stay visible.
            double jx = info && info->binary ? 0.08 * std::sin(static_cast<double>(x.size()) * 12.9898) : 0;
            double jy = info && info->binary ? 0.08 * std::cos(static_cast<double>(x.size()) * 78.233) : 0;
            x << u + jx;
            y << w + jy;
        }
        auto* g = scatter_->addGraph();
        g->setName(session_.compared[c + 1].name);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kSeries[(c + 1) % 5], 6));
        g->setData(x, y, true);
        scatter_->xAxis->setLabel(tr("%1, baseline").arg(QString::fromStdString(metric)));
        scatter_->yAxis->setLabel(tr("%1, other").arg(QString::fromStdString(metric)));
    }
    scatter_->rescaleAxes();
    scatter_->xAxis->scaleRange(1.15);
    scatter_->yAxis->scaleRange(1.15);
    for (auto* axis : {scatter_->xAxis, scatter_->yAxis}) {  // scores in [0, 1] keep the whole square in view
        QCPRange r = axis->range();
        if (r.lower > -0.5 && r.upper < 1.5) axis->setRange(std::min(r.lower, -0.15), std::max(r.upper, 1.15));
    }
    scatter_->legend->setVisible(comparisons_.size() > 1);
    scatter_->replot();
    items_->setRows(std::move(rows));
    summary_->setText(summary);
}

}  // namespace lmwb::gui
