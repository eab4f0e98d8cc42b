#include "history_view.h"

#include <QComboBox>
#include <QInputDialog>
#include <QMenu>
#include <QSettings>
#include <QSplitter>
#include <QDateEdit>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QTableView>
#include <QTimeZone>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "compare_view.h"
#include "item_models.h"
#include "plots.h"
#include "session.h"

namespace lmwb::gui {

void RunsModel::setRuns(std::vector<RunRecord> runs) {
    beginResetModel();
    runs_ = std::move(runs);
    endResetModel();
}

const QStringList RunsModel::kSettingColumns = {QStringLiteral("seed"),  QStringLiteral("dtype"), QStringLiteral("batch"), QStringLiteral("limit"),
                                                QStringLiteral("chat template"), QStringLiteral("n-shot"), QStringLiteral("tags"), QStringLiteral("note")};

void RunsModel::setExtraColumns(const QStringList& keys) {
    beginResetModel();
    extra_ = keys;
    endResetModel();
}

void RunsModel::setBaseline(const QString& dir) {
    baseline_ = dir;
    if (!runs_.empty()) emit dataChanged(index(0, Started), index(rowCount() - 1, Started));
}

QVariant RunsModel::extra(const RunRecord& r, const QString& key) const {
    if (key == QLatin1String("seed")) return r.seed;
    if (key == QLatin1String("dtype")) return r.dtype;
    if (key == QLatin1String("batch")) return r.batch > 0 ? QVariant(r.batch) : QVariant();
    if (key == QLatin1String("limit")) return r.limit > 0 ? QVariant(r.limit) : QVariant(tr("all"));
    if (key == QLatin1String("chat template")) return r.chat.isEmpty() ? tr("off") : r.chat.left(12);
    if (key == QLatin1String("n-shot")) return r.nshot >= 0 ? QVariant(r.nshot) : QVariant();
    if (key == QLatin1String("tags")) return r.tags.join(QStringLiteral(", "));
    if (key == QLatin1String("note")) return r.note;
    auto it = r.metrics.find(key);
    return it == r.metrics.end() ? QVariant() : QVariant(QString::number(it->second, 'g', 5));
}

int RunsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(runs_.size()); }
int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount + static_cast<int>(extra_.size()); }

QVariant RunsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(runs_.size())) return {};
    const RunRecord& r = runs_[static_cast<std::size_t>(index.row())];
    if (index.column() >= ColumnCount) {
        const QString& key = extra_[index.column() - ColumnCount];
        if (role == Qt::DisplayRole) return extra(r, key);
        if (role == Qt::ToolTipRole && key == QLatin1String("chat template") && !r.chat.isEmpty()) return tr("SHA-256 %1").arg(r.chat);
        if (role == Qt::ToolTipRole && key == QLatin1String("note")) return r.note;
        return {};
    }
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Started:
            return (!baseline_.isEmpty() && r.dir == baseline_ ? QStringLiteral("★ ") : QString()) +
                   QString(r.started).replace(QLatin1Char('T'), QLatin1Char(' ')).remove(QLatin1Char('Z'));
        case Model: return r.model;
        case Suites: return r.suites;
        case Status: return r.status;
        case Items: return r.items_total > 0 ? QStringLiteral("%1 / %2").arg(r.items).arg(r.items_total) : QString::number(r.items);
        case Error: return r.error;
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Error && !r.error.isEmpty()) return r.error;
    if (role == Qt::ToolTipRole && index.column() == Started && r.dir == baseline_) return tr("the pinned baseline");
    if (role == Qt::ToolTipRole && index.column() == Model) return r.model_path + QLatin1Char('\n') + r.dir;
    return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"started (UTC)", "model", "suites", "status", "items", "error"};
    if (section >= ColumnCount && section < columnCount()) return extra_[section - ColumnCount];
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

namespace {
constexpr double kOpen = -1e12;  // a range end at this value is open
}

HistoryView::HistoryView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* v = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    model_ = new QLineEdit;
    model_->setPlaceholderText(tr("model"));
    suite_ = new QComboBox;
    status_ = new QComboBox;
    status_->addItems({tr("any status"), QStringLiteral("finished"), QStringLiteral("cancelled"), QStringLiteral("failed"),
                       QStringLiteral("interrupted"), QStringLiteral("running"), QStringLiteral("damaged")});
    from_ = new QDateEdit;
    to_ = new QDateEdit;
    for (auto* d : {from_, to_}) {
        d->setCalendarPopup(true);
        d->setMinimumDate(QDate(2000, 1, 1));
        d->setSpecialValueText(tr("any date"));
        d->setDate(d->minimumDate());
    }
    metric_ = new QComboBox;
    low_ = new QDoubleSpinBox;
    high_ = new QDoubleSpinBox;
    for (auto* s : {low_, high_}) {
        s->setRange(kOpen, 1e12);
        s->setDecimals(4);
        s->setSpecialValueText(tr("open"));
        s->setValue(kOpen);
    }
    search_ = new QLineEdit;
    search_->setPlaceholderText(tr("search: model, suite, folder, error, item id"));
    model_->setMaximumWidth(180);
    for (auto* sb : {low_, high_}) sb->setMaximumWidth(120);
    bar->addWidget(model_);
    bar->addWidget(suite_);
    bar->addWidget(status_);
    bar->addWidget(new QLabel(tr("started from")));
    bar->addWidget(from_);
    bar->addWidget(new QLabel(tr("to")));
    bar->addWidget(to_);
    bar->addStretch();
    v->addLayout(bar);
    auto* bar2 = new QHBoxLayout;
    bar2->addWidget(metric_);
    bar2->addWidget(new QLabel(tr("between")));
    bar2->addWidget(low_);
    bar2->addWidget(new QLabel(tr("and")));
    bar2->addWidget(high_);
    bar2->addWidget(search_, 1);
    v->addLayout(bar2);
    runs_ = new RunsModel(this);
    table_ = new QTableView;
    table_->setModel(runs_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->setContextMenuPolicy(Qt::CustomContextMenu);
    table_->horizontalHeader()->setToolTip(tr("Right-click: choose columns (settings, metrics)"));
    connect(table_->horizontalHeader(), &QWidget::customContextMenuRequested, this, &HistoryView::columnMenu);
    // A metric across the listed runs, oldest first, beside the pinned baseline's value.
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(table_);
    auto* plot_box = new QWidget;
    auto* pv = new QVBoxLayout(plot_box);
    pv->setContentsMargins(0, 0, 0, 0);
    auto* prow = new QHBoxLayout;
    plot_metric_ = new QComboBox;
    plot_metric_->setToolTip(tr("Plot a suite's metric across the runs listed, oldest first"));
    prow->addWidget(new QLabel(tr("Plot across runs:")));
    prow->addWidget(plot_metric_, 1);
    pv->addLayout(prow);
    plot_ = new Plot;
    plot_->setMinimumHeight(170);
    pv->addWidget(plot_, 1);
    split->addWidget(plot_box);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    v->addWidget(split, 1);
    auto* buttons = new QHBoxLayout;
    count_ = new QLabel;
    open_ = new QPushButton(tr("Open"));
    compare_ = new QPushButton(tr("Compare selected"));
    compare_->setToolTip(tr("The first selected run is the baseline"));
    resume_ = new QPushButton(tr("Resume"));
    resume_->setToolTip(tr("Continue a cancelled, failed or interrupted run from its journal, as lmwb eval --resume"));
    delete_ = new QPushButton(tr("Delete…"));
    annotate_ = new QPushButton(tr("Tags and note…"));
    pin_ = new QPushButton(tr("Pin baseline"));
    pin_->setToolTip(tr("Pin the selected run as the baseline (★); again to unpin"));
    compare_baseline_ = new QPushButton(tr("Compare with baseline"));
    compare_baseline_->setToolTip(tr("The pinned baseline against the selected runs"));
    auto* rebuild = new QPushButton(tr("Rebuild index"));
    rebuild->setToolTip(tr("Read every run's files again (the JSON reports are the source of truth)"));
    buttons->addWidget(count_, 1);
    for (auto* b : {open_, compare_, compare_baseline_, pin_, annotate_, resume_, delete_, rebuild}) buttons->addWidget(b);
    v->addLayout(buttons);

    connect(model_, &QLineEdit::textChanged, this, &HistoryView::applyFilter);
    connect(search_, &QLineEdit::textChanged, this, &HistoryView::applyFilter);
    for (auto* c : {suite_, status_, metric_}) connect(c, &QComboBox::currentIndexChanged, this, &HistoryView::applyFilter);
    for (auto* d : {from_, to_}) connect(d, &QDateEdit::dateChanged, this, &HistoryView::applyFilter);
    for (auto* s : {low_, high_}) connect(s, &QDoubleSpinBox::valueChanged, this, &HistoryView::applyFilter);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &HistoryView::updateButtons);
    connect(table_, &QTableView::activated, this, [this](const QModelIndex& i) { openRun(runs_->run(i.row())); });
    connect(open_, &QPushButton::clicked, this, [this] {
        auto sel = selectedRuns();
        if (!sel.empty()) openRun(sel.front());
    });
    connect(compare_, &QPushButton::clicked, this, [this] { compareRuns(selectedRuns()); });
    connect(resume_, &QPushButton::clicked, this, [this] {
        auto sel = selectedRuns();
        if (!sel.empty()) emit resumeRequested(sel.front().dir);
    });
    connect(delete_, &QPushButton::clicked, this, [this] {
        for (const auto& r : selectedRuns())
            if (!deleteRun(r)) break;
    });
    connect(rebuild, &QPushButton::clicked, this, [this] { session_.syncHistory(true); });
    connect(pin_, &QPushButton::clicked, this, [this] {
        auto sel = selectedRuns();
        if (sel.size() == 1) pinBaseline(sel.front());
    });
    connect(compare_baseline_, &QPushButton::clicked, this, [this] { compareWithBaseline(selectedRuns()); });
    connect(annotate_, &QPushButton::clicked, this, [this] {
        auto sel = selectedRuns();
        if (sel.size() != 1) return;
        bool ok = false;
        const QString tags = QInputDialog::getText(this, tr("Tags"), tr("Tags, separated by commas:"), QLineEdit::Normal,
                                                   sel.front().tags.join(QStringLiteral(", ")), &ok);
        if (!ok) return;
        const QString note = QInputDialog::getMultiLineText(this, tr("Note"), tr("A note on this run:"), sel.front().note, &ok);
        if (ok) annotate(sel.front(), tags.split(QLatin1Char(','), Qt::SkipEmptyParts), note);
    });
    connect(plot_metric_, &QComboBox::currentIndexChanged, this, &HistoryView::applyFilter);  // reads its values, then plots
    setColumns(QSettings().value(QStringLiteral("history/columns")).toStringList());
    connect(&session_, &Session::historyChanged, this, &HistoryView::refresh);
    // While the index is built in the background: what it holds so far, once a second at most.
    connect(&session_.jobs, &JobRunner::progress, this, [this](int, const QString& kind) {
        if (kind != QLatin1String("history") || (since_refresh_.isValid() && since_refresh_.elapsed() < 1000)) return;
        since_refresh_.start();
        refresh();
    });
    // The count says whether it is still reading.
    connect(&session_.jobs, &JobRunner::started, this, [this](int, const QString& kind) {
        if (kind == QLatin1String("history")) applyFilter();
    });
    connect(&session_.jobs, &JobRunner::cancelled, this, [this](int, const QString& kind) {
        if (kind == QLatin1String("history")) applyFilter();
    });
    connect(&session_.jobs, &JobRunner::failed, this, [this](int, const QString& kind) {
        if (kind == QLatin1String("history")) applyFilter();
    });
    refresh();
}

void HistoryView::refresh() {
    if (!session_.workspace()) {
        runs_->setRuns({});
        count_->setText(tr("No workspace: choose its folder in File ▸ Workspace folder…"));
        return;
    }
    auto refill = [](QComboBox* box, const QString& any, const QStringList& items) {
        const QString current = box->currentText();
        const QSignalBlocker block(box);
        box->clear();
        box->addItem(any);
        box->addItems(items);
        box->setCurrentIndex(std::max(0, box->findText(current)));
    };
    refill(suite_, tr("any suite"), session_.workspace()->suites());
    refill(metric_, tr("any metric"), session_.workspace()->metrics());
    refill(plot_metric_, tr("none"), session_.workspace()->aggregateKeys());
    runs_->setBaseline(session_.workspace()->baseline());
    applyFilter();
}

RunFilter HistoryView::filter() const {
    RunFilter f;
    f.model = model_->text();
    f.search = search_->text();
    if (suite_->currentIndex() > 0) f.suite = suite_->currentText();
    if (status_->currentIndex() > 0) f.status = status_->currentText();
    if (from_->date() != from_->minimumDate()) f.from = QDateTime(from_->date(), QTime(0, 0), Qt::UTC);
    if (to_->date() != to_->minimumDate()) f.to = QDateTime(to_->date(), QTime(23, 59, 59), Qt::UTC);
    if (metric_->currentIndex() > 0) {
        f.metric = metric_->currentText();
        if (low_->value() > kOpen) f.low = low_->value();
        if (high_->value() > kOpen) f.high = high_->value();
    }
    for (const auto& key : runs_->extraColumns())
        if (!RunsModel::kSettingColumns.contains(key)) f.metric_columns << key;
    if (plot_metric_->currentIndex() > 0 && !f.metric_columns.contains(plot_metric_->currentText())) f.metric_columns << plot_metric_->currentText();
    return f;
}

void HistoryView::applyFilter() {
    if (!session_.workspace()) return;
    auto rows = session_.workspace()->runs(filter());
    const std::size_t shown = rows.size();
    runs_->setRuns(std::move(rows));
    const std::size_t total = session_.workspace()->runCount();
    QString count = shown == total ? (total == 1 ? tr("1 run") : tr("%1 runs").arg(total)) : tr("%1 of %2 runs").arg(shown).arg(total);
    if (session_.jobs.running(QStringLiteral("history"))) count += tr(" so far: reading the run folders…");
    count_->setText(count);
    fitColumns(table_);
    updateButtons();
    showPlot();
}

std::vector<RunRecord> HistoryView::selectedRuns() const {
    std::vector<RunRecord> out;
    for (const auto& i : table_->selectionModel()->selectedRows()) out.push_back(runs_->run(i.row()));
    return out;
}

void HistoryView::updateButtons() {
    const auto sel = selectedRuns();
    open_->setEnabled(sel.size() == 1 && sel.front().status != QLatin1String("damaged"));
    compare_->setEnabled(sel.size() >= 2);
    resume_->setEnabled(sel.size() == 1 && sel.front().resumable() && !session_.jobs.running(QStringLiteral("eval")));
    delete_->setEnabled(!sel.empty());
    annotate_->setEnabled(sel.size() == 1);
    pin_->setEnabled(sel.size() == 1);
    compare_baseline_->setEnabled(!sel.empty() && !runs_->baseline().isEmpty());
}

void HistoryView::setColumns(const QStringList& keys) {
    runs_->setExtraColumns(keys);
    QSettings().setValue(QStringLiteral("history/columns"), keys);
    applyFilter();
}

void HistoryView::columnMenu(const QPoint& at) {
    QMenu menu(this);
    const QStringList current = runs_->extraColumns();
    auto toggle = [this](const QString& key, bool on) {
        QStringList keys = runs_->extraColumns();
        keys.removeAll(key);
        if (on) keys << key;
        setColumns(keys);
    };
    for (const auto& key : RunsModel::kSettingColumns) {
        QAction* a = menu.addAction(key);
        a->setCheckable(true);
        a->setChecked(current.contains(key));
        connect(a, &QAction::toggled, this, [toggle, key](bool on) { toggle(key, on); });
    }
    QMenu* metrics = menu.addMenu(tr("Metrics"));
    if (session_.workspace())
        for (const auto& key : session_.workspace()->aggregateKeys()) {
            QAction* a = metrics->addAction(key);
            a->setCheckable(true);
            a->setChecked(current.contains(key));
            connect(a, &QAction::toggled, this, [toggle, key](bool on) { toggle(key, on); });
        }
    menu.exec(table_->horizontalHeader()->mapToGlobal(at));
}

bool HistoryView::annotate(const RunRecord& run, const QStringList& tags, const QString& note) {
    if (!session_.workspace()) return false;
    try {
        session_.workspace()->setAnnotations(run.dir, tags, note);
    } catch (const std::exception& e) {
        emit session_.errorOccurred(tr("Cannot save the tags and note"), QString::fromUtf8(e.what()));
        return false;
    }
    applyFilter();
    return true;
}

bool HistoryView::pinBaseline(const RunRecord& run) {
    if (!session_.workspace()) return false;
    const bool unpin = runs_->baseline() == run.dir;
    session_.workspace()->setBaseline(unpin ? QString() : run.dir);
    runs_->setBaseline(unpin ? QString() : run.dir);
    updateButtons();
    showPlot();
    return true;
}

bool HistoryView::compareWithBaseline(const std::vector<RunRecord>& runs) {
    if (runs_->baseline().isEmpty() || runs.empty()) return false;
    RunRecord base;  // Compare reads its report, by its folder
    base.dir = runs_->baseline();
    std::vector<RunRecord> all{base};
    for (const auto& r : runs)
        if (r.dir != base.dir) all.push_back(r);
    return compareRuns(all);
}

void HistoryView::setPlotMetric(const QString& key) { plot_metric_->setCurrentIndex(std::max(0, plot_metric_->findText(key))); }

void HistoryView::showPlot() {
    const QString key = plot_metric_->currentIndex() > 0 ? plot_metric_->currentText() : QString();
    if (key.isEmpty()) {
        plot_->setEmpty(tr("Choose a metric above to plot it across the runs listed (oldest first)."));
        return;
    }
    // Oldest first; runs without the metric are left out.
    std::vector<std::pair<QString, double>> points;
    std::optional<double> pinned;
    const QString baseline = runs_->baseline();
    for (int i = runs_->rowCount() - 1; i >= 0; --i) {
        const RunRecord& r = runs_->run(i);
        auto it = r.metrics.find(key);
        if (it == r.metrics.end()) continue;
        points.emplace_back(r.started.mid(5, 11).replace(QLatin1Char('T'), QLatin1Char(' ')), it->second);  // MM-DD HH:MM
        if (r.dir == baseline) pinned = it->second;
    }
    if (points.empty()) {
        plot_->setEmpty(tr("No run listed has %1.").arg(key));
        return;
    }
    plot_->markFilled();
    plot_->clearGraphs();
    plot_->clearItems();
    QVector<double> x, y;
    QStringList labels;
    for (std::size_t i = 0; i < points.size(); ++i) x << static_cast<double>(i), y << points[i].second, labels << points[i].first;
    QCPGraph* g = plot_->addGraph();
    g->setData(x, y);
    g->setPen(QPen(QColor(230, 97, 1), 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 7));
    plot_->setCategoryAxis(labels, 30);
    plot_->xAxis->setRange(-0.5, static_cast<double>(points.size()) - 0.5);
    double lo = *std::min_element(y.begin(), y.end()), hi = *std::max_element(y.begin(), y.end());
    if (pinned) {
        auto* line = new QCPItemStraightLine(plot_);
        line->point1->setCoords(0, *pinned);
        line->point2->setCoords(1, *pinned);
        line->setPen(QPen(QColor(33, 102, 172), 1, Qt::DashLine));
        lo = std::min(lo, *pinned), hi = std::max(hi, *pinned);
    }
    // Equal values (the same run twice) still get a readable axis: a margin of 5% of their size.
    const double pad = std::max({(hi - lo) * 0.1, std::fabs(hi) * 0.05, 1e-9});
    plot_->yAxis->setRange(lo - pad, hi + pad);
    plot_->yAxis->setLabel(key.section(QLatin1Char('/'), -1));
    plot_->setTitle(tr("%1 across %2 runs").arg(key).arg(points.size()));
    plot_->setToolTip(tr("%1 of each run listed, oldest first (start time, UTC)%2").arg(key, pinned ? tr("; dashed: the pinned baseline") : QString()));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool HistoryView::openRun(const RunRecord& run) {
    const QString path = run.reportPath();
    Session* session = &session_;
    session_.jobs.start(QStringLiteral("report"), tr("Opening %1").arg(run.dir), [path, session](JobContext&) -> JobRunner::Apply {
        auto r = std::make_shared<const eval::Report>(eval::read_report(path.toStdString()));
        return [session, r, path] { session->setReport(r, runLabel(*r), path); };
    });
    return true;
}

bool HistoryView::compareRuns(const std::vector<RunRecord>& runs) {
    if (runs.size() < 2) return false;
    QStringList paths;
    for (const auto& r : runs) paths << r.reportPath();
    Session* session = &session_;
    session_.jobs.start(QStringLiteral("report"), tr("Opening %1 runs").arg(runs.size()), [paths, session](JobContext& ctx) -> JobRunner::Apply {
        std::vector<Session::Named> named;
        for (int i = 0; i < paths.size(); ++i) {
            ctx.control.check();
            ctx.control.report(static_cast<std::size_t>(i), static_cast<std::size_t>(paths.size()), "reports");
            auto r = std::make_shared<const eval::Report>(eval::read_report(paths[i].toStdString()));
            named.push_back({runLabel(*r), r, paths[i]});
        }
        return [session, named] { session->setCompared(named); };
    });
    return true;
}

bool HistoryView::deleteRun(const RunRecord& run) {
    if (!session_.workspace()) return false;
    const QString question = tr("Delete the run of %1 started %2 (%3)? Its folder and report are removed for good.")
                                 .arg(run.model, run.started, run.status);
    const bool yes = confirm_ ? confirm_(question)
                              : QMessageBox::question(this, tr("Delete run"), question, QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
    if (!yes) return false;
    if (!session_.workspace()->removeRun(run.dir)) {
        emit session_.errorOccurred(tr("Cannot delete the run"), run.dir);
        return false;
    }
    emit session_.historyChanged();
    return true;
}

}  // namespace lmwb::gui
