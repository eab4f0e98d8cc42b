#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QTreeWidget>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>

#include "open_model_dialog.h"
#include "compare_view.h"
#include "lmwb/installation.h"
#include "lmwb/model_source.h"
#include "history_view.h"
#include "html_report.h"
#include "plots.h"
#include "inspector.h"
#include "lmwb/methods.h"
#include "item_models.h"
#include "model_view.h"
#include "rating_view.h"
#include "run_view.h"
#include "session.h"

namespace lmwb::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), session_(new Session(this)) {
    setWindowTitle(tr("LM Workbench"));
    setAcceptDrops(true);
    setObjectName(QStringLiteral("MainWindow"));
    QString workspace_error;
    try {
        session_->setWorkspace(std::make_unique<Workspace>(QSettings().value(QStringLiteral("workspace/folder"), Workspace::defaultFolder()).toString(),
                                                           Workspace::Sync::Later));  // indexed below, off this thread
    } catch (const std::exception& e) {
        workspace_error = QString::fromUtf8(e.what());
    }
    tabs_ = new QTabWidget;
    model_view_ = new ModelView(*session_);
    run_view_ = new RunView(*session_);
    inspector_ = new InspectorView(*session_);
    compare_view_ = new CompareView(*session_);
    history_view_ = new HistoryView(*session_);
    rating_view_ = new RatingView(*session_);
    tabs_->addTab(model_view_, tr("Model"));
    tabs_->addTab(run_view_, tr("Run"));
    tabs_->addTab(inspector_, tr("Inspector"));
    tabs_->addTab(compare_view_, tr("Compare"));
    tabs_->addTab(history_view_, tr("History"));
    tabs_->addTab(rating_view_, tr("Rate"));
    setCentralWidget(tabs_);
    connect(history_view_, &HistoryView::resumeRequested, this, [this](const QString& dir) {
        tabs_->setCurrentWidget(run_view_);
        run_view_->resume(dir);
    });
    connect(session_, &Session::comparedChanged, this, [this] {
        if (session_->compared().size() >= 2) tabs_->setCurrentWidget(compare_view_);
    });

    auto* ws = new QDockWidget(tr("Workspace"), this);
    ws->setObjectName(QStringLiteral("Workspace"));
    workspace_ = new QTreeWidget;
    workspace_->setHeaderHidden(true);
    ws->setWidget(workspace_);
    addDockWidget(Qt::LeftDockWidgetArea, ws);
    // The linked item panel: the item under the Run view's or Compare's current row, shown on the first selection.
    auto* item_dock = new QDockWidget(tr("Item"), this);
    item_dock->setObjectName(QStringLiteral("Item"));
    item_panel_ = new ItemPanel(*session_);
    item_dock->setWidget(item_panel_);
    splitDockWidget(ws, item_dock, Qt::Vertical);
    item_dock->hide();
    auto show_item = [this, item_dock, ws](std::vector<ItemPanel::Run> runs) {
        item_panel_->setRuns(std::move(runs));
        if (!item_panel_->runs().empty() && item_dock->isHidden()) {
            item_dock->show();
            // Below the Workspace dock, which needs little height: the tabs keep their width.
            if (dockWidgetArea(item_dock) == Qt::LeftDockWidgetArea && ws->isVisible() && !ws->isFloating())
                QMetaObject::invokeMethod(this, [this, item_dock, ws] {
                    resizeDocks({ws, item_dock}, {kWorkspaceDockHeight, std::max(kWorkspaceDockHeight, height() - kWorkspaceDockHeight)}, Qt::Vertical);
                }, Qt::QueuedConnection);
        }
    };
    connect(run_view_->table()->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this, show_item](const QModelIndex& current) {
        const auto& report = session_->report();
        const eval::ItemRecord* it = current.isValid() ? run_view_->results()->item(run_view_->filter()->mapToSource(current).row()) : nullptr;
        if (report && it) show_item({{runLabel(*report), report, run_view_->results()->suite(), it}});
    });
    connect(compare_view_->itemsTable()->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this, show_item](const QModelIndex& current) {
        if (current.isValid()) show_item(compare_view_->itemRuns(current.row()));
    });
    // A run's items are gone with the report they came from.
    connect(session_, &Session::reportChanged, this, [this] {
        if (!item_panel_->runs().empty() && item_panel_->runs().front().report != session_->report() && item_panel_->runs().size() == 1) item_panel_->setRuns({});
    });
    connect(item_panel_, &ItemPanel::explainRequested, this, [this](const ItemExplanation& e) {
        tabs_->setCurrentWidget(inspector_);
        inspector_->explainItem(e);
    });
    auto* jobs = new QDockWidget(tr("Jobs"), this);
    jobs->setObjectName(QStringLiteral("Jobs"));
    auto* jw = new QWidget;
    auto* jl = new QHBoxLayout(jw);
    job_text_ = new QLabel(tr("idle"));
    job_progress_ = new QProgressBar;
    job_progress_->setRange(0, 1000);
    job_cancel_ = new QPushButton(tr("Cancel"));
    job_cancel_->setEnabled(false);
    jl->addWidget(job_text_, 1);
    jl->addWidget(job_progress_, 1);
    jl->addWidget(job_cancel_);
    jobs->setWidget(jw);
    addDockWidget(Qt::BottomDockWidgetArea, jobs);
    model_label_ = new QLabel;
    statusBar()->addPermanentWidget(model_label_);
    buildMenus();

    auto& runner = session_->jobs;
    connect(&runner, &JobRunner::started, this, [this](int, const QString&, const QString& title) {
        job_text_->setText(title);
        job_progress_->setValue(0);
        job_cancel_->setEnabled(true);
    });
    connect(&runner, &JobRunner::progress, this, [this](int, const QString&, double f, const QString& text) {
        job_progress_->setValue(static_cast<int>(f * 1000));
        job_text_->setText(text);
    });
    connect(&runner, &JobRunner::cancelling, this, [this](int, const QString& kind) {
        job_text_->setText(kind + tr(": cancelling…"));
    });
    auto idle = [this](const QString& text) {
        if (session_->jobs.runningCount() == 0) job_cancel_->setEnabled(false);
        job_text_->setText(text);
    };
    // A model that did not open leaves the label on the model that is open (or none), not on "loading…".
    auto model_job_ended = [this](int id) {
        if (id == model_job_) model_label_->setText(session_->model() ? model_view_->summary() : tr("no model"));
    };
    connect(&runner, &JobRunner::finished, this, [this, idle](int, const QString& kind) {
        job_progress_->setValue(1000);
        idle(kind + QObject::tr(": done"));
    });
    connect(&runner, &JobRunner::cancelled, this, [idle, model_job_ended](int id, const QString& kind) {
        model_job_ended(id);
        idle(kind + QObject::tr(": cancelled"));
    });
    connect(&runner, &JobRunner::failed, this, [this, idle, model_job_ended](int id, const QString& kind, const QString& error) {
        model_job_ended(id);
        idle(kind + tr(": failed"));
        showError(tr("%1 failed").arg(kind), error);
    });
    connect(job_cancel_, &QPushButton::clicked, &runner, &JobRunner::cancelAll);
    connect(session_, &Session::errorOccurred, this, &MainWindow::showError);
    connect(session_, &Session::modelChanged, this, [this] {
        model_label_->setText(model_view_->summary());
        refreshWorkspace();
    });
    connect(session_, &Session::suitesChanged, this, &MainWindow::refreshWorkspace);
    connect(session_, &Session::reportChanged, this, [this] {
        refreshWorkspace();
        tabs_->setCurrentWidget(run_view_);
    });
    connect(session_, &Session::inspectRequested, this, [this] { tabs_->setCurrentWidget(inspector_); });

    session_->syncHistory();
    if (!workspace_error.isEmpty())
        QMetaObject::invokeMethod(this, [this, workspace_error] { showError(tr("The run history is off"), workspace_error); }, Qt::QueuedConnection);
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (!settings.contains(QStringLiteral("window/geometry"))) resize(1400, 900);
    // A dock squeezed to nothing in a small window and saved so would stay so: at startup each shown one gets back
    // at least a usable size.
    QMetaObject::invokeMethod(this, [this] { ensureDocksUsable(); }, Qt::QueuedConnection);
}

void MainWindow::ensureDocksUsable() {
    for (auto* dock : findChildren<QDockWidget*>()) {
        if (dock->isHidden() || dock->isFloating()) continue;
        const bool side = dockWidgetArea(dock) == Qt::LeftDockWidgetArea || dockWidgetArea(dock) == Qt::RightDockWidgetArea;
        const int usable = side ? std::max(dock->minimumSizeHint().width(), kDockWidth) : std::max(dock->minimumSizeHint().height(), kDockHeight);
        if ((side ? dock->width() : dock->height()) < usable) resizeDocks({dock}, {usable}, side ? Qt::Horizontal : Qt::Vertical);
    }
}

void MainWindow::resetLayout() {
    for (auto* dock : findChildren<QDockWidget*>()) {
        dock->setFloating(false);
        const QString name = dock->objectName();
        addDockWidget(name == QStringLiteral("Workspace") || name == QStringLiteral("Item") ? Qt::LeftDockWidgetArea : Qt::BottomDockWidgetArea, dock);
        dock->setVisible(name != QStringLiteral("Item"));  // as at first start: it comes with the first selected item
    }
    ensureDocksUsable();
}

MainWindow::~MainWindow() {
    session_->jobs.cancelAll();
    session_->jobs.waitIdle(5000);
}

void MainWindow::buildMenus() {
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* open_model = file->addAction(tr("Open &model…"), this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Open a model folder"));
        if (d.isEmpty()) return;
        QSettings s;
        ModelOptions last;
        last.dtype = s.value(QStringLiteral("model/dtype"), QStringLiteral("auto")).toString().toStdString();
        last.threads = s.value(QStringLiteral("model/threads"), 0).toInt();
        OpenModelDialog dialog(d, last, this);
        if (dialog.exec() != QDialog::Accepted) return;
        const ModelOptions chosen = dialog.options();
        s.setValue(QStringLiteral("model/dtype"), QString::fromStdString(chosen.dtype));
        s.setValue(QStringLiteral("model/threads"), chosen.threads);
        openModel(d, chosen);
    });
    open_model->setShortcut(QKeySequence::Open);
    file->addAction(tr("Open &suite…"), this, [this] {
        QString f = QFileDialog::getOpenFileName(this, tr("Open a suite definition"), QString(), tr("Suites (*.json)"));
        if (!f.isEmpty()) openSuite(f);
    })->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+O")));
    file->addAction(tr("Open &report…"), this, [this] {
        QString f = QFileDialog::getOpenFileName(this, tr("Open a report"), QString(), tr("Reports (*.json)"));
        if (!f.isEmpty()) openReport(f, false);
    });
    file->addAction(tr("&Add report to comparison…"), this, [this] {
        openReports(QFileDialog::getOpenFileNames(this, tr("Add reports"), QString(), tr("Reports (*.json)")), true);
        tabs_->setCurrentWidget(compare_view_);
    });
    // Models in the local Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub), read when shown.
    auto* cached = file->addMenu(tr("Open from the Hugging Face &cache"));
    connect(cached, &QMenu::aboutToShow, this, [this, cached] {
        cached->clear();
        const auto models = cached_models();
        if (models.empty()) cached->addAction(tr("No models in %1").arg(QString::fromStdString(hf_cache_dir())))->setEnabled(false);
        for (const auto& m : models) {
            const QString path = QString::fromStdString(m.path);
            cached->addAction(QStringLiteral("%1  (%2)").arg(QString::fromStdString(m.name), QString::fromStdString(m.revision.substr(0, 10))), this,
                              [this, path] { openModel(path); });
        }
    });
    auto* recent = file->addMenu(tr("Recent"));
    connect(recent, &QMenu::aboutToShow, this, [this, recent] {
        recent->clear();
        QSettings s;
        for (const char* key : {"recent/models", "recent/suites", "recent/reports"})
            for (const auto& p : s.value(QLatin1String(key)).toStringList()) recent->addAction(p, this, [this, p] { openPath(p); });
    });
    file->addSeparator();
    auto* export_report = file->addAction(tr("&Export report…"), this, [this] {
        QString f = QFileDialog::getSaveFileName(this, tr("Export the report"), QStringLiteral("report.json"), tr("Reports (*.json)"));
        if (!f.isEmpty()) exportReport(f);
    });
    export_report->setShortcut(QKeySequence(QStringLiteral("Ctrl+E")));
    export_report->setEnabled(false);  // until a report is open
    connect(session_, &Session::reportChanged, export_report, [this, export_report] { export_report->setEnabled(session_->report() != nullptr); });
    auto* export_html = file->addAction(tr("Export &HTML report…"), this, [this] {
        QString f = QFileDialog::getSaveFileName(this, tr("Export a shareable report"), QStringLiteral("report.html"), tr("HTML (*.html)"));
        if (!f.isEmpty()) exportHtml(f);
    });
    export_html->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+E")));
    export_html->setEnabled(false);
    auto html_ready = [this, export_html] { export_html->setEnabled(session_->report() != nullptr || session_->compared().size() >= 2); };
    connect(session_, &Session::reportChanged, export_html, html_ready);
    connect(session_, &Session::comparedChanged, export_html, html_ready);
    file->addAction(tr("Export results as &CSV…"), this, [this] {
        QString f = QFileDialog::getSaveFileName(this, tr("Export every item of every suite"), QStringLiteral("results.csv"), tr("CSV (*.csv)"));
        if (!f.isEmpty()) exportResults(f);
    });
    file->addAction(tr("Export comparison table as CS&V…"), this, [this] {
        QString f = QFileDialog::getSaveFileName(this, tr("Export the table"), QStringLiteral("comparison.csv"), tr("CSV (*.csv)"));
        if (!f.isEmpty()) exportTable(f, compare_view_->statusFilter());
    });
    file->addAction(tr("Copy results table"), this, [this] {
        QApplication::clipboard()->setText(tableText(*run_view_->filter(), QLatin1Char('\t')));
    })->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+C")));
    file->addSeparator();
    file->addAction(tr("&Workspace folder…"), this, [this] {
        const QString current = session_->workspace() ? session_->workspace()->folder() : Workspace::defaultFolder();
        QString d = QFileDialog::getExistingDirectory(this, tr("Keep the run history in"), current);
        if (!d.isEmpty()) setWorkspaceFolder(d);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)->setShortcut(QKeySequence::Quit);

    auto* run = menuBar()->addMenu(tr("&Run"));
    auto* run_action = run->addAction(tr("&Run suites"), this, [this] {
        tabs_->setCurrentWidget(run_view_);
        run_view_->run();
    });
    run_action->setShortcut(QKeySequence(QStringLiteral("Ctrl+R")));
    auto* cancel_action = run->addAction(tr("&Cancel jobs"), &session_->jobs, &JobRunner::cancelAll);
    cancel_action->setShortcut(QKeySequence(Qt::Key_Escape));
    // Each computes in the inspector and brings it forward on the tab that shows the result: the methods of the
    // registry (attribution/include/lmwb/methods.h) that carry a shortcut, in shortcut order.
    for (const attr::MethodInfo* m : attr::menu_methods()) {
        if (!inspector_->pageFor(m->name)) continue;  // a method without an inspector page yet
        auto* action = run->addAction(QString::fromStdString(m->title), this, [this, name = m->name] {
            tabs_->setCurrentWidget(inspector_);
            inspector_->runMethod(name);
        });
        action->setShortcut(QKeySequence(QString::fromStdString(m->shortcut)));
        action->setToolTip(QString::fromStdString(m->summary));
        action->setObjectName(QStringLiteral("run-") + QString::fromStdString(m->name));
    }

    auto* view = menuBar()->addMenu(tr("&View"));
    for (auto* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
    view->addSeparator();
    auto* reset = view->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);
    reset->setObjectName(QStringLiteral("reset-layout"));
    reset->setToolTip(tr("Every dock back in its place, shown, at a usable size"));
    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Guide to this view"), this, [this] {
        QMessageBox box(QMessageBox::Information, tabs_->tabText(tabs_->currentIndex()), viewGuide(tabs_->currentIndex()), QMessageBox::Ok, this);
        box.setTextFormat(Qt::RichText);
        box.exec();
    })->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("LM Workbench"), tr("LM Workbench %1: evaluate and interpret language models, offline.").arg(QString::fromUtf8(lmwb::version())));
    });

    auto* tb = addToolBar(tr("Main"));
    tb->setObjectName(QStringLiteral("MainToolbar"));
    tb->addAction(open_model);
    tb->addAction(run_action);
    tb->addAction(cancel_action);
}

void MainWindow::showError(const QString& title, const QString& message) {
    last_error_ = message;
    statusBar()->showMessage(title + QStringLiteral(": ") + message, 10000);
    if (!quiet_) QMessageBox::critical(this, title, message);
}

bool MainWindow::writablePath(const QString& path, const QString& title) {
    try {
        eval::output_path(path.toStdString(), /*through_symlink=*/true);
        return true;
    } catch (const std::exception& e) {
        showError(title, QString::fromStdString(e.what()));
        return false;
    }
}

void MainWindow::addRecent(const QString& key, const QString& path) {
    QSettings s;
    QStringList l = s.value(key).toStringList();
    l.removeAll(path);
    l.prepend(path);
    while (l.size() > 8) l.removeLast();
    s.setValue(key, l);
}

bool MainWindow::openModel(const QString& path, const ModelOptions& chosen) {
    // A folder, or a repository name of the Hugging Face cache (the engine resolves it to its snapshot folder).
    const QString source = QFileInfo(path).isDir() ? QFileInfo(path).absoluteFilePath() : path;
    model_label_->setText(tr("loading %1…").arg(QFileInfo(source).fileName()));
    Session* session = session_;
    QPointer<MainWindow> self(this);
    model_job_ = session_->jobs.start(QStringLiteral("model"), tr("Opening %1").arg(source), [source, session, self, chosen](JobContext& ctx) -> JobRunner::Apply {
        ModelOptions options = chosen;
        options.control = ctx.control;
        std::shared_ptr<const LanguageModel> m = LanguageModel::open(source.toStdString(), options);
        const QString dir = QString::fromStdString(m->info().path);
        return [session, self, m, dir] {
            session->setModel(m, dir);
            if (self) self->addRecent(QStringLiteral("recent/models"), dir);
        };
    });
    return true;
}

bool MainWindow::openSuite(const QString& path) { return openSuites({path}); }

bool MainWindow::openReport(const QString& path, bool add_to_comparison) { return openReports({path}, add_to_comparison); }

// Files load on a job (a suite of 100k items or a large report takes seconds), in order, and arrive together.
bool MainWindow::openSuites(const QStringList& paths) {
    if (paths.isEmpty()) return false;
    QPointer<MainWindow> self(this);
    session_->jobs.start(QStringLiteral("suites"), tr("Loading %1 suites").arg(paths.size()), [paths, self](JobContext& ctx) -> JobRunner::Apply {
        auto loaded = std::make_shared<std::vector<datasets::Suite>>();
        for (int i = 0; i < paths.size(); ++i) {
            ctx.control.check();
            ctx.control.report(static_cast<std::size_t>(i), static_cast<std::size_t>(paths.size()), "suites");
            auto suite = datasets::load_suite(paths[i].toStdString());
            eval::resolve_metrics(suite);  // unknown metrics or a BLEU tokenizer fail when the suite opens
            eval::resolve_metrics(suite);
            loaded->push_back(std::move(suite));
        }
        return [self, loaded, paths] {
            if (!self) return;
            for (auto& s : *loaded) self->session_->addSuite(std::move(s));
            for (const auto& p : paths) self->addRecent(QStringLiteral("recent/suites"), QFileInfo(p).absoluteFilePath());
        };
    }, JobRunner::Older::Keep);
    return true;
}

bool MainWindow::openReports(const QStringList& paths, bool add_to_comparison) {
    if (paths.isEmpty()) return false;
    QPointer<MainWindow> self(this);
    session_->jobs.start(QStringLiteral("reports"), tr("Loading %1 reports").arg(paths.size()), [paths, self, add_to_comparison](JobContext& ctx) -> JobRunner::Apply {
        std::vector<Session::Named> loaded;
        for (int i = 0; i < paths.size(); ++i) {
            ctx.control.check();
            ctx.control.report(static_cast<std::size_t>(i), static_cast<std::size_t>(paths.size()), "reports");
            auto r = std::make_shared<const eval::Report>(eval::read_report(paths[i].toStdString()));
            loaded.push_back({runLabel(*r), r, QFileInfo(paths[i]).absoluteFilePath()});
        }
        return [self, loaded, add_to_comparison] {
            if (!self) return;
            for (std::size_t i = 0; i < loaded.size(); ++i) {
                const auto& n = loaded[i];
                if (add_to_comparison || i > 0) self->session_->addCompared(n.report, n.name, n.path);
                else self->session_->setReport(n.report, n.name, n.path);
                self->addRecent(QStringLiteral("recent/reports"), n.path);
            }
        };
    }, JobRunner::Older::Keep);
    return true;
}

bool MainWindow::exportReport(const QString& path) {
    if (!session_->report()) {
        showError(tr("Nothing to export"), tr("Run suites or open a report first."));
        return false;
    }
    try {
        eval::write_report(path.toStdString(), *session_->report());
        statusBar()->showMessage(tr("Report written to %1").arg(path), 5000);
        return true;
    } catch (const std::exception& e) {
        showError(tr("Cannot write the report"), QString::fromStdString(e.what()));
        return false;
    }
}

bool MainWindow::exportHtml(const QString& path) {
    if (!session_->report() && compare_view_->comparisons().empty()) {
        showError(tr("Nothing to export"), tr("Open a run, or compare two or more runs, first."));
        return false;
    }
    HtmlReportInput in;
    in.report = session_->report().get();
    in.report_label = session_->report() ? runLabel(*session_->report()) : QString();
    in.comparisons = compare_view_->comparisons();
    in.run_labels = compare_view_->runLabels();
    in.software_version = QString::fromUtf8(lmwb::version());
    auto add = [&in](Plot* p) {
        if (!p->isEmpty()) in.plots.emplace_back(p->title(), p->svg(QSize(900, 560)));
    };
    if (!in.comparisons.empty()) add(compare_view_->barsPlot()), add(compare_view_->scatterPlot());
    if (session_->report()) add(inspector_->reliabilityPlot());
    if (!writablePath(path, tr("Cannot write the HTML report"))) return false;
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text) || f.write(htmlReport(in).toUtf8()) < 0 || !f.commit()) {
        showError(tr("Cannot write the HTML report"), path + QStringLiteral(": ") + f.errorString());
        return false;
    }
    statusBar()->showMessage(tr("HTML report written to %1").arg(path), 5000);
    return true;
}

bool MainWindow::exportResults(const QString& path) {
    if (!session_->report()) {
        showError(tr("Nothing to export"), tr("Run suites or open a report first."));
        return false;
    }
    if (!writablePath(path, tr("Cannot write the results"))) return false;
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text) || f.write(resultsCsv(*session_->report()).toUtf8()) < 0 || !f.commit()) {
        showError(tr("Cannot write the results"), path + QStringLiteral(": ") + f.errorString());
        return false;
    }
    return true;
}

bool MainWindow::exportTable(const QString& path, const QAbstractItemModel* table) {
    if (!writablePath(path, tr("Cannot write the table"))) return false;
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
        showError(tr("Cannot write the table"), path + QStringLiteral(": ") + f.errorString());
        return false;
    }
    f.write(tableText(table ? *table : *run_view_->filter(), QLatin1Char(',')).toUtf8());
    if (!f.commit()) {
        showError(tr("Cannot write the table"), path + QStringLiteral(": ") + f.errorString());
        return false;
    }
    return true;
}

void MainWindow::openPath(const QString& path) { openPaths({path}); }

void MainWindow::openPaths(const QStringList& paths) {
    QStringList suites, reports;
    for (const auto& path : paths) {
        // A folder is a model; so is a name that is no file (a bundled model, a Hugging Face cache name): the engine
        // resolves it or says where it looked.
        if (QFileInfo(path).isDir() || !QFileInfo::exists(path)) {
            openModel(path);
            continue;
        }
        std::ifstream in(path.toStdString());
        std::string head(4096, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        (head.find("\"lmwb.report\"") != std::string::npos ? reports : suites) << path;
    }
    if (!suites.isEmpty()) openSuites(suites);
    if (!reports.isEmpty()) openReports(reports, session_->report() != nullptr);
}

void MainWindow::refreshWorkspace() {
    workspace_->clear();
    auto* models = new QTreeWidgetItem(workspace_, {tr("Models")});
    if (session_->model()) new QTreeWidgetItem(models, {QFileInfo(session_->model_path()).fileName()});
    auto* suites = new QTreeWidgetItem(workspace_, {tr("Suites")});
    for (const auto& s : session_->suites()) new QTreeWidgetItem(suites, {QString::fromStdString(s.name)});
    auto* runs = new QTreeWidgetItem(workspace_, {tr("Reports")});
    if (session_->report()) new QTreeWidgetItem(runs, {session_->report_name()});
    for (const auto& c : session_->compared()) new QTreeWidgetItem(runs, {c.name + tr(" (compared)")});
    workspace_->expandAll();
}

QString MainWindow::viewGuide(int tab) const {
    const QWidget* w = tabs_->widget(tab);
    if (w == model_view_)
        return tr("<p><b>Model</b> shows the open model: architecture, parameters, context, vocabulary, dtype and what it can do "
                  "(attentions, embedding gradients).</p><p>Open a Hugging Face folder with <b>Ctrl+O</b> or drop it on the window; "
                  "loading runs in the background with its progress in the Jobs dock.</p>");
    if (w == run_view_)
        return tr("<p><b>Run</b> evaluates the open model on the checked suites. Set a limit (items per suite), seed and batch "
                  "size, press <b>Run (Ctrl+R)</b>; <b>Esc</b> cancels. Every run is kept in the History, a cancelled one with "
                  "its finished items, so it can be resumed.</p><p>The table lists every item; filter by failures, text or a "
                  "metric's range: the count and the aggregates (with 95% intervals) follow the filter. Double-click a row to "
                  "inspect it.</p>");
    if (w == inspector_) {
        // The Run menu's methods as the registry describes them (attribution/include/lmwb/methods.h).
        QString methods;
        for (const auto* m : attr::menu_methods())
            methods += tr("<li><b>%1</b> %2: %3</li>")
                           .arg(QString::fromStdString(m->shortcut), QString::fromStdString(m->title), QString::fromStdString(m->summary).toHtmlEscaped());
        return tr("<p><b>Inspector</b> looks inside the model for a prompt and a target (a result row or typed):</p><ul>%1</ul>"
                  "<p>The attention view zooms with the wheel, drags, and picks a layer, head (mean, max) or rollout and a token "
                  "range; a logit-lens cell lists its top tokens; patching maps are layer × position per site and layer × head. "
                  "<b>Heads</b> shows every layer × head (after Attention; Head summaries finds induction and previous-token "
                  "heads; click a head to open it); <b>Side by side</b> opens a second model as B and compares responses, "
                  "per-token log-probabilities and IG by word. A result computed before the prompt, target or settings changed "
                  "carries an amber <i>Stale</i> banner. Check IG's convergence delta: a large one asks for more steps.</p>")
            .arg(methods);
    }
    if (w == compare_view_)
        return tr("<p><b>Compare</b> sets two or more runs against the first (the baseline): every metric's delta with its "
                  "95% paired-bootstrap interval and test (McNemar for 0/1 metrics), bars per metric, and on the picked metric "
                  "the per-item table (regressions, improvements, unchanged, not comparable) and scatter. Pick runs in the "
                  "History and press <i>Compare selected</i>.</p>");
    if (w == rating_view_)
        return tr("<p><b>Rate</b> collects your ratings of the open report's items on the suite's rubric (fluency, relevance, "
                  "correct…), or your preference between the first two compared runs' responses. Keys <b>1</b>–<b>9</b> pick a "
                  "value, <b>A</b> / <b>B</b> / <b>T</b> the left, the right or a tie; <b>S</b> skips, <b>Backspace</b> undoes. "
                  "Each rating is saved at once to your own file next to the report; <i>lmwb ratings merge</i> summarises the "
                  "raters' files with agreement statistics.</p>");
    return tr("<p><b>History</b> lists every run kept in the workspace folder (File ▸ Workspace folder…), from an index that "
              "is rebuilt from the JSON reports. Filter by model, suite, status, date, a metric's range, or search names and "
              "item ids. Open a run, compare several, resume a cancelled or interrupted one, or delete one (asked first).</p>");
}

bool MainWindow::setWorkspaceFolder(const QString& folder) {
    try {
        auto ws = std::make_unique<Workspace>(folder, Workspace::Sync::Later);
        session_->setWorkspace(std::move(ws));
        QSettings().setValue(QStringLiteral("workspace/folder"), session_->workspace()->folder());
        session_->syncHistory();
        return true;
    } catch (const std::exception& e) {
        showError(tr("Cannot use that workspace folder"), QString::fromUtf8(e.what()));
        return false;
    }
}

void MainWindow::saveSession() const {
    QSettings s;
    s.beginGroup(QStringLiteral("session"));
    s.setValue(QStringLiteral("saved"), true);
    s.setValue(QStringLiteral("model"), session_->model_path());
    QStringList suites;
    for (const auto& x : session_->suites()) suites << QString::fromStdString(x.path);
    s.setValue(QStringLiteral("suites"), suites);
    s.setValue(QStringLiteral("prompt"), inspector_->promptText());
    s.setValue(QStringLiteral("target"), inspector_->target());
    s.setValue(QStringLiteral("report"), session_->report_path());
    QStringList compared;
    for (const auto& c : session_->compared())
        if (!c.path.isEmpty()) compared << c.path;
    s.setValue(QStringLiteral("compared"), compared);
    s.setValue(QStringLiteral("tab"), tabs_->currentIndex());
    s.endGroup();
}

bool MainWindow::restoreSession() {
    QSettings s;
    s.beginGroup(QStringLiteral("session"));
    if (!s.value(QStringLiteral("saved")).toBool()) return false;
    const QString model = s.value(QStringLiteral("model")).toString();
    if (!model.isEmpty()) openModel(model);
    openSuites(s.value(QStringLiteral("suites")).toStringList());
    inspector_->setPrompt(s.value(QStringLiteral("prompt")).toString(), s.value(QStringLiteral("target")).toString());
    const QString report = s.value(QStringLiteral("report")).toString();
    if (!report.isEmpty()) openReport(report, false);
    openReports(s.value(QStringLiteral("compared")).toStringList(), true);
    tabs_->setCurrentIndex(s.value(QStringLiteral("tab"), 0).toInt());
    return true;
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSession();
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    session_->jobs.cancelAll();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    if (openDropped(*event->mimeData())) event->acceptProposedAction();
}

int MainWindow::openDropped(const QMimeData& mime) {
    QStringList paths;
    for (const auto& url : mime.urls())
        if (url.isLocalFile()) paths << url.toLocalFile();
    openPaths(paths);
    return static_cast<int>(paths.size());
}

}  // namespace lmwb::gui
