#include "history_view.h"

#include <QComboBox>
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

#include "compare_view.h"
#include "item_models.h"
#include "session.h"

namespace lmwb::gui {

void RunsModel::setRuns(std::vector<RunRecord> runs) {
    beginResetModel();
    runs_ = std::move(runs);
    endResetModel();
}

int RunsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(runs_.size()); }
int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RunsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(runs_.size())) return {};
    const RunRecord& r = runs_[static_cast<std::size_t>(index.row())];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Started: return QString(r.started).replace(QLatin1Char('T'), QLatin1Char(' ')).remove(QLatin1Char('Z'));
        case Model: return r.model;
        case Suites: return r.suites;
        case Status: return r.status;
        case Items: return r.items_total > 0 ? QStringLiteral("%1 / %2").arg(r.items).arg(r.items_total) : QString::number(r.items);
        case Error: return r.error;
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Error && !r.error.isEmpty()) return r.error;
    if (role == Qt::ToolTipRole && index.column() == Model) return r.model_path + QLatin1Char('\n') + r.dir;
    return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"started (UTC)", "model", "suites", "status", "items", "error"};
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
    v->addWidget(table_, 1);
    auto* buttons = new QHBoxLayout;
    count_ = new QLabel;
    open_ = new QPushButton(tr("Open"));
    compare_ = new QPushButton(tr("Compare selected"));
    compare_->setToolTip(tr("The first selected run is the baseline"));
    resume_ = new QPushButton(tr("Resume"));
    resume_->setToolTip(tr("Continue a cancelled, failed or interrupted run from its journal, as lmwb eval --resume"));
    delete_ = new QPushButton(tr("Delete…"));
    auto* rebuild = new QPushButton(tr("Rebuild index"));
    rebuild->setToolTip(tr("Read every run's files again (the JSON reports are the source of truth)"));
    buttons->addWidget(count_, 1);
    for (auto* b : {open_, compare_, resume_, delete_, rebuild}) buttons->addWidget(b);
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
