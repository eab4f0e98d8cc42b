#include "run_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QFileInfo>
#include <QListWidget>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTime>
#include <QVBoxLayout>

#include <cmath>

#include "compare_view.h"
#include "item_models.h"
#include "lmwb/evaluation.h"
#include "lmwb/installation.h"
#include "session.h"

namespace lmwb::gui {

QString evalProgressText(const eval::Progress& p) {
    QString suite = QString::fromStdString(p.suite);
    if (p.suites > 1) suite += QObject::tr(" (%1 of %2)").arg(p.suite_index + 1).arg(p.suites);
    const double rate = p.elapsed > 0 ? static_cast<double>(p.tokens) / p.elapsed : 0;
    QString text = QObject::tr("%1: %2 / %3 items, %4 tokens/s").arg(suite).arg(p.suite_done).arg(p.suite_total).arg(rate, 0, 'f', 0);
    const double eta = eval::suite_eta(p);
    if (eta >= 0 && p.suite_done < p.suite_total) text += QObject::tr(", this suite's ETA %1 s").arg(eta, 0, 'f', eta < 10 ? 1 : 0);
    if (p.suites > 1) text += QObject::tr(" — %1 / %2 items in all").arg(p.items_done).arg(p.items_total);
    return text;
}

double evalProgressFraction(const eval::Progress& p) {
    return p.items_total ? static_cast<double>(p.items_done) / static_cast<double>(p.items_total) : 0.0;
}

RunView::RunView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* outer = new QHBoxLayout(this);
    auto* split = new QSplitter(Qt::Horizontal);
    outer->addWidget(split);

    auto* left = new QWidget;
    auto* lv = new QVBoxLayout(left);
    lv->addWidget(new QLabel(tr("Suites")));
    suites_ = new QListWidget;
    lv->addWidget(suites_);
    auto* form = new QFormLayout;
    limit_ = new QSpinBox;
    limit_->setRange(0, 1000000);
    limit_->setSpecialValueText(tr("all items"));
    seed_ = new QSpinBox;
    seed_->setRange(0, 1 << 30);
    batch_ = new QSpinBox;
    batch_->setRange(1, 256);
    batch_->setValue(8);
    form->addRow(tr("Limit"), limit_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(tr("Batch size"), batch_);
    chat_ = new QCheckBox(tr("through the model's chat template"));
    chat_->setToolTip(tr("lm-evaluation-harness's --apply_chat_template: each prompt (few-shot examples included) as a user message, then the generation prompt"));
    system_ = new QLineEdit;
    system_->setPlaceholderText(tr("system message (optional)"));
    system_->setEnabled(false);
    connect(chat_, &QCheckBox::toggled, system_, &QWidget::setEnabled);
    // Offered when the open model has a chat template (the run would be refused otherwise).
    auto offer_chat = [this] {
        const bool has = static_cast<bool>(session_.chat_template());
        chat_->setEnabled(has);
        if (!has) chat_->setChecked(false);
        chat_->setToolTip(has ? tr("lm-evaluation-harness's --apply_chat_template: each prompt (few-shot examples included) as a user message, then the generation prompt")
                              : session_.chat_template_problem());
    };
    connect(&session_, &Session::modelChanged, this, offer_chat);
    offer_chat();
    form->addRow(tr("Chat"), chat_);
    form->addRow(tr("System"), system_);
    lv->addLayout(form);
    auto* buttons = new QHBoxLayout;
    run_ = new QPushButton(tr("Run"));
    cancel_ = new QPushButton(tr("Cancel"));
    cancel_->setEnabled(false);
    buttons->addWidget(run_);
    buttons->addWidget(cancel_);
    lv->addLayout(buttons);
    progress_ = new QProgressBar;
    progress_->setRange(0, 1000);
    progress_text_ = new QLabel;
    progress_text_->setWordWrap(true);
    lv->addWidget(progress_);
    lv->addWidget(progress_text_);
    split->addWidget(left);

    auto* right = new QWidget;
    auto* rv = new QVBoxLayout(right);
    auto* filters = new QHBoxLayout;
    suite_select_ = new QComboBox;
    suite_select_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    failures_ = new QCheckBox(tr("Failures only"));
    search_ = new QLineEdit;
    search_->setPlaceholderText(tr("Search id, prompt, target, response…"));
    search_->setClearButtonEnabled(true);
    range_metric_ = new QComboBox;
    range_low_ = new QDoubleSpinBox;
    range_high_ = new QDoubleSpinBox;
    for (auto* s : {range_low_, range_high_}) {
        s->setRange(-1e9, 1e9);
        s->setDecimals(3);
    }
    range_high_->setValue(1e9);
    filters->addWidget(suite_select_);
    filters->addWidget(failures_);
    filters->addWidget(search_, 1);
    filters->addWidget(new QLabel(tr("range")));
    filters->addWidget(range_metric_);
    filters->addWidget(range_low_);
    filters->addWidget(range_high_);
    rv->addLayout(filters);
    results_ = new ResultsModel(this);
    filter_ = new ResultsFilter(this);
    filter_->setSourceModel(results_);
    table_ = new QTableView;
    table_->setModel(filter_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(ResultsModel::Index, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->horizontalHeader()->setStretchLastSection(false);
    table_->verticalHeader()->hide();
    aggregates_ = new AggregateModel(this);
    aggregate_table_ = new QTableView;
    aggregate_table_->setModel(aggregates_);
    aggregate_table_->verticalHeader()->hide();
    aggregate_table_->horizontalHeader()->setStretchLastSection(true);
    filtered_ = new QLabel;
    auto* aggregates_box = new QWidget;
    auto* abox = new QVBoxLayout(aggregates_box);
    abox->setContentsMargins(0, 0, 0, 0);
    abox->addWidget(filtered_);
    abox->addWidget(aggregate_table_, 1);
    auto* vsplit = new QSplitter(Qt::Vertical);
    vsplit->addWidget(table_);
    vsplit->addWidget(aggregates_box);
    vsplit->setStretchFactor(0, 3);
    vsplit->setStretchFactor(1, 1);
    rv->addWidget(vsplit);
    split->addWidget(right);
    split->setStretchFactor(1, 4);

    connect(run_, &QPushButton::clicked, this, &RunView::run);
    connect(cancel_, &QPushButton::clicked, this, &RunView::cancel);
    // The row count and the aggregates follow the filter (coalesced: one update per burst of proxy signals).
    auto schedule = [this] {
        if (filtered_pending_) return;
        filtered_pending_ = true;
        QMetaObject::invokeMethod(this, &RunView::updateFiltered, Qt::QueuedConnection);
    };
    connect(filter_, &QAbstractItemModel::rowsInserted, this, schedule);
    connect(filter_, &QAbstractItemModel::rowsRemoved, this, schedule);
    connect(filter_, &QAbstractItemModel::modelReset, this, schedule);
    connect(filter_, &QAbstractItemModel::layoutChanged, this, schedule);
    connect(failures_, &QCheckBox::toggled, filter_, &ResultsFilter::setFailuresOnly);
    connect(search_, &QLineEdit::textChanged, filter_, &ResultsFilter::setSearch);
    connect(range_metric_, &QComboBox::currentIndexChanged, this, &RunView::applyMetricRange);
    connect(range_low_, &QDoubleSpinBox::valueChanged, this, &RunView::applyMetricRange);
    connect(range_high_, &QDoubleSpinBox::valueChanged, this, &RunView::applyMetricRange);
    connect(suite_select_, &QComboBox::currentIndexChanged, this, &RunView::showSuite);
    connect(table_, &QTableView::activated, this, [this](const QModelIndex& idx) {
        emit session_.inspectRequested(suite_select_->currentIndex(), filter_->mapToSource(idx).row());
    });
    connect(&session_, &Session::suitesChanged, this, &RunView::refreshSuites);
    connect(&session_, &Session::reportChanged, this, &RunView::refreshReport);
    connect(&session_.jobs, &JobRunner::progress, this, [this](int id, const QString&, double f, const QString& text) {
        if (id != job_ && id != hash_job_) return;
        progress_->setValue(static_cast<int>(f * 1000));
        progress_text_->setText(text);
    });
    auto ended = [this](int id) {
        if (id != job_) return;
        run_->setEnabled(true);
        cancel_->setEnabled(false);
        if (session_.workspace() && !run_dir_.isEmpty()) {
            try {
                session_.workspace()->indexRun(run_dir_);
            } catch (const std::exception& e) {
                emit session_.errorOccurred(tr("Run index"), QString::fromStdString(e.what()));
            }
            emit session_.historyChanged();
        }
    };
    connect(&session_.jobs, &JobRunner::finished, this, [this, ended](int id, const QString&) {
        ended(id);
        if (id == job_) progress_->setValue(1000);
    });
    connect(&session_.jobs, &JobRunner::cancelling, this, [this](int id, const QString&) {
        if (id == job_ || id == hash_job_) progress_text_->setText(tr("Cancelling…"));
    });
    // Hashing ends in a run (started by its result), or in nothing run.
    auto hash_ended = [this](int id, const QString& text) {
        if (id != hash_job_) return;
        hash_job_ = 0;
        run_->setEnabled(true);
        cancel_->setEnabled(false);
        progress_text_->setText(text);
    };
    connect(&session_.jobs, &JobRunner::cancelled, this, [this, hash_ended](int id, const QString&) {
        hash_ended(id, tr("Cancelled while hashing the weights: nothing was run."));
    });
    connect(&session_.jobs, &JobRunner::failed, this, [this, hash_ended](int id, const QString&, const QString& error) {
        hash_ended(id, tr("Failed to hash the weights: %1").arg(error));
    });
    connect(&session_.jobs, &JobRunner::cancelled, this, [this, ended](int id, const QString&) {
        if (id == job_)
            progress_text_->setText(session_.workspace() ? tr("Cancelled: the finished items are kept in the history (History ▸ Resume continues the run).")
                                                       : tr("Cancelled."));
        ended(id);
    });
    connect(&session_.jobs, &JobRunner::failed, this, [this, ended](int id, const QString&, const QString& error) {
        if (id == job_) progress_text_->setText(tr("Failed: %1").arg(error));
        ended(id);
    });
    refreshSuites();
    refreshReport();
}

void RunView::setLimit(int n) { limit_->setValue(n); }

void RunView::refreshSuites() {
    suites_->clear();
    for (const auto& s : session_.suites()) {
        auto* it = new QListWidgetItem(QStringLiteral("%1  (%2, %3 items)").arg(QString::fromStdString(s.name), QString::fromStdString(datasets::to_string(s.kind))).arg(s.items.size()));
        it->setFlags(it->flags() | Qt::ItemIsUserCheckable);
        it->setCheckState(Qt::Checked);
        it->setToolTip(QString::fromStdString(s.description + "\n" + s.path));
        suites_->addItem(it);
    }
}

void RunView::run() {
    if (!session_.model()) {
        emit session_.errorOccurred(tr("No model"), tr("Open a model before running suites."));
        return;
    }
    std::vector<datasets::Suite> chosen;
    for (int i = 0; i < suites_->count() && i < static_cast<int>(session_.suites().size()); ++i)
        if (suites_->item(i)->checkState() == Qt::Checked) chosen.push_back(session_.suites()[static_cast<std::size_t>(i)]);
    if (chosen.empty()) {
        emit session_.errorOccurred(tr("No suite"), tr("Check at least one suite to run."));
        return;
    }
    RunSetup setup;
    setup.model_path = session_.model_path();
    for (const auto& s : chosen) {
        setup.suite_paths << QString::fromStdString(s.path);
        setup.items_total += limit_->value() > 0 ? std::min<std::size_t>(s.items.size(), static_cast<std::size_t>(limit_->value())) : s.items.size();
    }
    setup.limit = static_cast<std::size_t>(limit_->value());
    setup.seed = static_cast<std::uint64_t>(seed_->value());
    setup.batch_size = batch_->value();
    setup.chat = chat_->isChecked();
    setup.system = setup.chat ? system_->text() : QString();
    startRun(setup, std::move(chosen), {}, false);
}

void RunView::resume(const QString& dir) {
    if (!session_.workspace()) return;
    RunSetup setup;
    try {
        setup = session_.workspace()->setupOf(dir);
    } catch (const std::exception& e) {
        emit session_.errorOccurred(tr("Cannot resume the run"), QString::fromStdString(e.what()));
        return;
    }
    startRun(setup, {}, dir, true);
}

// One path for new and resumed runs: the workspace keeps the run's folder and journal; a finished run leaves its report
// there, a cancelled or failed one its finished items and journal (resumable), and the index follows each ending.
void RunView::startRun(const RunSetup& setup, std::vector<datasets::Suite> suites, QString dir, bool resume) {
    if (session_.jobs.running(QStringLiteral("eval")) || hash_job_) {
        emit session_.errorOccurred(tr("A run is in progress"), tr("Cancel it (Esc) or wait for it before starting another."));
        return;
    }
    // The open model serves a resumed run when it is the run's model; otherwise the job opens that one (and the run
    // hashes its weights itself).
    std::shared_ptr<const LanguageModel> model = session_.model_path() == setup.model_path ? session_.model() : nullptr;
    if (model && identity_model_.lock() != model) {
        hashThenRun(model, setup, std::move(suites), dir, resume);
        return;
    }
    eval::EvalOptions opt;
    opt.settings.limit = setup.limit;
    opt.settings.seed = setup.seed;
    opt.settings.batch_size = setup.batch_size;
    opt.settings.apply_chat_template = setup.chat;
    opt.settings.system_instruction = setup.system.toStdString();
    opt.threads = 0;
    opt.software_version = lmwb::version();
    opt.resume = resume;
    if (session_.workspace()) {
        try {
            if (dir.isEmpty()) dir = session_.workspace()->createRun(setup);
            else Workspace::setRunStatus(dir, QStringLiteral("running"), {});
            session_.workspace()->indexRun(dir);
        } catch (const std::exception& e) {
            emit session_.errorOccurred(tr("The workspace cannot keep this run"), QString::fromStdString(e.what()));
            return;
        }
        opt.journal_path = (dir + QStringLiteral("/report.json.journal.jsonl")).toStdString();
        emit session_.historyChanged();
    }
    run_dir_ = dir;
    if (model) opt.model_identity = identity_;
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setValue(0);
    progress_text_->setText(resume ? tr("Resuming…") : tr("Starting…"));
    Session* session = &session_;
    const int n = static_cast<int>(std::max<qsizetype>(setup.suite_paths.size(), static_cast<qsizetype>(suites.size())));
    job_ = session_.jobs.start(QStringLiteral("eval"), (resume ? tr("Resuming %1 suites") : tr("Evaluating %1 suites")).arg(n),
                               [model, suites = std::move(suites), setup, opt, session, dir](JobContext& ctx) mutable -> JobRunner::Apply {
        try {
            if (suites.empty())
                for (const auto& p : setup.suite_paths) suites.push_back(datasets::load_suite(p.toStdString()));
            if (!model) {
                ModelOptions mo;
                mo.control = ctx.control;
                model = LanguageModel::open(setup.model_path.toStdString(), mo);
            }
            ctx.layer_progress = false;  // items, suites and tokens/s say more than layers
            opt.cancel = ctx.control.cancel;
            opt.progress = [&ctx](const eval::Progress& p) { ctx.report(evalProgressFraction(p), evalProgressText(p)); };
            auto outcome = eval::evaluate(*model, nullptr, suites, opt);
            if (!outcome.complete) {
                if (!dir.isEmpty()) Workspace::stopRun(dir, outcome.report, QStringLiteral("cancelled"), {});
                return {};
            }
            if (!dir.isEmpty()) Workspace::finishRun(dir, outcome.report);
            auto report = std::make_shared<const eval::Report>(std::move(outcome.report));
            const QString path = dir.isEmpty() ? QString() : dir + QStringLiteral("/report.json");
            return [session, report, path] { session->setReport(report, runLabel(*report), path); };
        } catch (const Cancelled&) {
            if (!dir.isEmpty()) Workspace::setRunStatus(dir, QStringLiteral("cancelled"), {});
            throw;
        } catch (const std::exception& e) {
            if (!dir.isEmpty()) Workspace::setRunStatus(dir, QStringLiteral("failed"), QString::fromUtf8(e.what()));
            throw;
        }
    });
}

void RunView::hashThenRun(std::shared_ptr<const LanguageModel> model, const RunSetup& setup, std::vector<datasets::Suite> suites,
                          const QString& dir, bool resume) {
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setValue(0);
    progress_text_->setText(tr("Hashing the weights…"));
    QPointer<RunView> self(this);
    auto given = std::make_shared<std::vector<datasets::Suite>>(std::move(suites));
    hash_job_ = session_.jobs.start(QStringLiteral("weights"), tr("Hashing the weights of %1").arg(QFileInfo(setup.model_path).fileName()),
                                    [self, model, setup, given, dir, resume](JobContext& ctx) -> JobRunner::Apply {
        auto identity = std::make_shared<const eval::ModelIdentity>(eval::identify(*model, ctx.control));
        return [self, model, identity, setup, given, dir, resume] {
            if (!self) return;
            self->identity_ = *identity;
            self->identity_model_ = model;
            self->hash_job_ = 0;
            if (self->session_.model() == model) self->startRun(setup, std::move(*given), dir, resume);
        };
    });
}

void RunView::cancel() {
    session_.jobs.cancel(job_);
    if (hash_job_) session_.jobs.cancel(hash_job_);
}

void RunView::refreshReport() {
    suite_select_->blockSignals(true);
    suite_select_->clear();
    if (session_.report())
        for (const auto& s : session_.report()->suites) suite_select_->addItem(QString::fromStdString(s.name));
    suite_select_->blockSignals(false);
    showSuite(session_.report() && !session_.report()->suites.empty() ? 0 : -1);
}

void RunView::showSuite(int index) {
    const eval::SuiteReport* s = nullptr;
    if (session_.report() && index >= 0 && index < static_cast<int>(session_.report()->suites.size()))
        s = &session_.report()->suites[static_cast<std::size_t>(index)];
    results_->setSuite(s);
    if (s) aggregates_->setAggregates(s->aggregates, s->slices, s);
    else aggregates_->setAggregates({});
    range_metric_->blockSignals(true);
    range_metric_->clear();
    range_metric_->addItem(tr("(none)"));
    range_metric_->addItems(results_->metricColumns());
    range_metric_->blockSignals(false);
    fitColumns(table_);
    applyMetricRange();
    updateFiltered();
}

void RunView::updateFiltered() {
    filtered_pending_ = false;
    const eval::SuiteReport* s = results_->suite();
    if (!s) {
        filtered_->setText(session_.report() ? QString() : tr("No results yet: check suites on the left and press Run (Ctrl+R), or open a run from History."));
        aggregates_->setAggregates({});
        return;
    }
    const int shown = filter_->rowCount(), total = results_->rowCount();
    if (shown == total) {
        filtered_->setText(tr("%1 items; aggregates of the suite").arg(total));
        aggregates_->setAggregates(s->aggregates, s->slices, s);
        fitColumns(aggregate_table_);
        return;
    }
    // The library's aggregation over the rows the filter keeps: the same statistics and intervals as the report's.
    eval::SuiteReport subset = *s;
    subset.items.clear();
    for (int r = 0; r < shown; ++r)
        if (const eval::ItemRecord* it = results_->item(filter_->mapToSource(filter_->index(r, ResultsModel::Index)).row())) subset.items.push_back(*it);
    filtered_->setText(tr("%1 of %2 items; aggregates over the filtered items").arg(shown).arg(total));
    if (subset.items.empty()) {
        aggregates_->setAggregates({});
    } else {
        const auto& st = session_.report()->settings;
        aggregates_->setAggregates(eval::aggregate(subset, st.bootstrap_iterations, st.seed),
                                   eval::slice_aggregates(subset, st.bootstrap_iterations, st.seed), &subset);
    }
    fitColumns(aggregate_table_);
}

void RunView::applyMetricRange() {
    QString m = range_metric_->currentIndex() > 0 ? range_metric_->currentText() : QString();
    filter_->setMetricRange(m, range_low_->value(), range_high_->value());
}

}  // namespace lmwb::gui
