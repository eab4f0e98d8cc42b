// GUI tests under the offscreen platform: item models under QAbstractItemModelTester, the job runner's cancel and
// supersede, and one end-to-end run through the main window checked against the CLI's report.
#include <catch2/catch.hpp>

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDropEvent>
#include <QMimeData>
#include <QUrl>
#include <QLabel>
#include <QAction>
#include <QKeySequence>
#include <QSignalSpy>
#include <QTableView>
#include <QDockWidget>
#include <QImage>
#include <QProcess>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QXmlStreamReader>

#include <atomic>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QPushButton>

#include "compare_view.h"
#include "open_model_dialog.h"
#include "history_view.h"
#include "lmwb/evaluation.h"
#include "lmwb/memory_estimate.h"
#include "lmwb/methods.h"
#include "lmwb/prompt_encoding.h"
#include "html_report.h"
#include "gui_support.h"
#include "inspector.h"
#include "inspector_pages.h"
#include "lmwb/agreement.h"
#include "method_agreement.h"
#include "inspector_page.h"
#include "item_models.h"
#include "jobs.h"
#include "json_compare.h"
#include "main_window.h"
#include "plots.h"
#include "run_view.h"
#include "session.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::model_path;
using lmwb::test::suite_path;
using lmwb::test::show;
using lmwb::test::waitFor;

namespace {


eval::Report small_report(const char* model, std::initializer_list<const char*> suites, std::size_t limit) {
    auto m = LanguageModel::open(model_path(model));
    std::vector<datasets::Suite> s;
    for (auto n : suites) s.push_back(datasets::load_suite(suite_path(n)));
    eval::EvalOptions o;
    o.settings.limit = limit;
    return eval::evaluate(*m, nullptr, s, o).report;
}

// The window's Inspector, in front, with the bundled tiny-b open.
InspectorView* inspectorWithModel(MainWindow& w) {
    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    w.tabs()->setCurrentWidget(w.inspector());
    return w.inspector();
}

}  // namespace

TEST_CASE("item models pass QAbstractItemModelTester", "[gui][models]") {
    auto report = small_report("tiny-a", {"world-facts-mc", "world-facts-qa"}, 12);
    using Mode = QAbstractItemModelTester::FailureReportingMode;
    ResultsModel results;
    QAbstractItemModelTester t1(&results, Mode::Fatal);
    ResultsFilter filter;
    filter.setSourceModel(&results);
    QAbstractItemModelTester t2(&filter, Mode::Fatal);
    results.setSuite(&report.suites[0]);
    CHECK(results.rowCount() == 12);
    CHECK(results.metricColumns().contains(QStringLiteral("acc")));
    filter.setFailuresOnly(true);
    int failures = 0;
    for (const auto& it : report.suites[0].items) failures += it.metrics.at("acc") < 0.5;
    CHECK(filter.rowCount() == failures);
    filter.setFailuresOnly(false);
    filter.setSearch(QStringLiteral("sky"));
    CHECK(filter.rowCount() >= 1);
    filter.setSearch({});
    filter.setMetricRange(QStringLiteral("confidence"), 0.5, 1.0);
    for (int r = 0; r < filter.rowCount(); ++r) CHECK(filter.data(filter.index(r, 0), SortRole).isValid());
    filter.setMetricRange({}, 0, 0);
    filter.sort(results.firstMetricColumn(), Qt::DescendingOrder);
    results.setSuite(&report.suites[1]);
    CHECK(results.rowCount() == 12);
    results.setSuite(nullptr);
    CHECK(results.rowCount() == 0);

    AggregateModel aggregates;
    QAbstractItemModelTester t3(&aggregates, Mode::Fatal);
    aggregates.setAggregates(report.suites[0].aggregates);
    CHECK(aggregates.rowCount() == static_cast<int>(report.suites[0].aggregates.size()));
    // Slices follow the whole suite's rows, named by field and value; a slice of one item shows no interval.
    eval::SliceReport one{"topic", "day", 1, report.suites[0].aggregates};
    for (auto& a : one.aggregates) a.has_interval = false;
    aggregates.setAggregates(report.suites[0].aggregates, {one});
    const int n = static_cast<int>(report.suites[0].aggregates.size());
    CHECK(aggregates.rowCount() == 2 * n);
    CHECK(aggregates.data(aggregates.index(n, 0), Qt::DisplayRole).toString() == QStringLiteral("topic = day (1)"));
    CHECK(aggregates.data(aggregates.index(n, 3), Qt::DisplayRole).toString() == QStringLiteral("—"));

    CompareItemsModel items;
    QAbstractItemModelTester t4(&items, Mode::Fatal);
    StatusFilter status;
    status.setSourceModel(&items);
    QAbstractItemModelTester t5(&status, Mode::Fatal);
    using S = eval::ItemStatus;
    items.setRows({{"run", "s", "acc", {"a", 1.0, 0.0, S::Regression}}, {"run", "s", "acc", {"b", 0.0, 1.0, S::Improvement}},
                   {"run", "s", "acc", {"c", 1.0, 1.0, S::Unchanged}}, {"run", "s", "acc", {"d", 1.0, std::nullopt, S::NotComparable}}});
    status.setStatus(S::Regression);
    CHECK(status.rowCount() == 1);
    status.setStatus(S::NotComparable);
    CHECK(status.rowCount() == 1);
    CHECK(status.data(status.index(0, 5)).toString() == QStringLiteral("—"));
    status.setStatus(std::nullopt);
    CHECK(status.rowCount() == 4);

    MetricComparisonModel metric_rows;
    QAbstractItemModelTester t7(&metric_rows, Mode::Fatal);
    auto other = report;
    auto cmp = eval::compare_reports({report, other}, {"a", "b"}, 100, 1);
    metric_rows.setComparisons(cmp, {QStringLiteral("b")});
    CHECK(metric_rows.rowCount() == static_cast<int>(cmp[0].metrics.size()));

    AlternativesModel alternatives;
    QAbstractItemModelTester t8(&alternatives, Mode::Fatal);
    alternatives.setSteps({{" blue", std::log(0.7), 0.9, {{" blue", std::log(0.7)}, {" red", std::log(0.2)}}}, {"\n", std::log(0.9), 0.3, {{"\n", std::log(0.9)}}}});
    CHECK(alternatives.rowCount() == 2);
    CHECK(alternatives.columnCount() == 6);  // #, token, p, entropy and two ranks
    CHECK(alternatives.data(alternatives.index(0, 5), Qt::DisplayRole).toString() == QStringLiteral(" red  0.200"));
    CHECK(alternatives.data(alternatives.index(1, 1), Qt::DisplayRole).toString() == QStringLiteral("⏎"));
    alternatives.setSteps({});
    CHECK(alternatives.rowCount() == 0);

    AnswersModel answers;
    QAbstractItemModelTester t6(&answers, Mode::Fatal);
    answers.setAnswers({{"blue", 3, 0.7}, {"red", 1, 0.3}});
    CHECK(answers.rowCount() == 2);
    CHECK(tableText(answers, QLatin1Char(',')).startsWith(QStringLiteral("answer,samples")));
}

TEST_CASE("jobs report progress, cancel within a second and supersede older jobs of their kind", "[gui][jobs]") {
    JobRunner runner;
    QSignalSpy progress(&runner, &JobRunner::progress), cancelled(&runner, &JobRunner::cancelled), finished(&runner, &JobRunner::finished);
    bool applied = false;
    int id = runner.start(QStringLiteral("k"), QStringLiteral("long"), [&applied](JobContext& ctx) -> JobRunner::Apply {
        for (int i = 0; i < 100000 && !ctx.cancelled(); ++i) {
            ctx.report(i / 100000.0, QStringLiteral("step"));
            QThread::msleep(1);
        }
        return [&applied] { applied = true; };
    });
    REQUIRE(waitFor([&] { return progress.count() > 3; }, 5000));
    QElapsedTimer t;
    t.start();
    runner.cancel(id);
    REQUIRE(waitFor([&] { return cancelled.count() == 1; }, 2000));
    CHECK(t.elapsed() < 1000);
    CHECK_FALSE(applied);

    // A newer job of the same kind supersedes the older: only the newer result is applied.
    int value = 0;
    runner.start(QStringLiteral("k"), QStringLiteral("old"), [&value](JobContext& ctx) -> JobRunner::Apply {
        while (!ctx.cancelled()) QThread::msleep(1);
        return [&value] { value = 1; };
    });
    runner.start(QStringLiteral("k"), QStringLiteral("new"), [&value](JobContext&) -> JobRunner::Apply { return [&value] { value = 2; }; });
    REQUIRE(runner.waitIdle(3000));
    CHECK(value == 2);
    CHECK(cancelled.count() == 2);
    CHECK(finished.count() == 1);

    QSignalSpy failed(&runner, &JobRunner::failed);
    runner.start(QStringLiteral("x"), QStringLiteral("bad"), [](JobContext&) -> JobRunner::Apply { throw std::runtime_error("suite.json:3: broken"); });
    REQUIRE(runner.waitIdle(3000));
    REQUIRE(failed.count() == 1);
    CHECK(failed.at(0).at(2).toString() == QStringLiteral("suite.json:3: broken"));
}

TEST_CASE("end to end: open, run, inspect, switch layer and head, IG, export equals the CLI report", "[gui][e2e]") {
    QTemporaryDir dir;
    MainWindow w;
    show(w);
    Session& s = w.session();
    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    lmwb::test::StallProbe probe;  // loading the suite, the run, the inspector: the window never blocks
    REQUIRE(w.openSuite(QString::fromStdString(suite_path("world-facts-mc"))));
    REQUIRE(waitFor([&] { return s.suites().size() == 1; }, 20000));
    w.runView()->setLimit(24);

    w.runView()->run();
    REQUIRE(waitFor([&] { return static_cast<bool>(s.report()); }, 60000));
    qint64 worst = probe.worstMs();
    WARN("worst event-loop stall during the run: " << worst << " ms");
    // A run on the GUI thread would stall it for the whole run (seconds). Not tighter: with other tests' matrix
    // products on both cores, the scheduler alone has kept the event loop waiting past 100 ms.
    CHECK(worst < 500);
    CHECK(w.runView()->results()->rowCount() == 24);
    CHECK(w.runView()->aggregates()->rowCount() >= 4);

    // Open an item: the attention map appears; layer and head switches redraw it.
    QSignalSpy shown(w.inspector(), &InspectorView::attentionShown);
    emit s.inspectRequested(0, 3);
    REQUIRE(waitFor([&] { return shown.count() >= 1; }, 20000));
    Heatmap* map = w.inspector()->attentionMap();
    REQUIRE(map->rows() > 5);
    double before = map->value(map->rows() - 1, 0);
    w.inspector()->selectLayer(0);
    w.inspector()->selectHead(3);  // head 0
    CHECK(shown.count() >= 3);
    CHECK(map->value(map->rows() - 1, 0) != before);
    CHECK(map->cellText(map->rows() - 1, 0).contains(QStringLiteral("→")));

    w.inspector()->runAttribution(attr::Method::IntegratedGradients);
    REQUIRE(waitFor([&] { return w.inspector()->attribution() != nullptr; }, 60000));
    const attr::Result* ig = w.inspector()->attribution();
    CHECK(ig->method == "ig");
    CHECK(ig->scores.size() == ig->prompt_tokens.size());
    CHECK(w.inspector()->deltaLabel()->text().contains(QStringLiteral("delta")));
    CHECK(w.inspector()->tokenHtml().contains(QStringLiteral("background-color")));

    // Export, and the same run through the CLI.
    QString gui_report = dir.filePath(QStringLiteral("gui.json")), cli_report = dir.filePath(QStringLiteral("cli.json"));
    REQUIRE(w.exportReport(gui_report));
    REQUIRE(w.exportTable(dir.filePath(QStringLiteral("results.csv"))));
    auto cli = lmwb::test::run_command(std::string(LMWB_CLI) + " eval " + model_path("tiny-b") + " world-facts-mc --limit 24 -q --out " +
                                       cli_report.toStdString() + " 2>&1");
    REQUIRE(cli.exit_code == 0);
    auto a = nlohmann::json::parse(std::ifstream(gui_report.toStdString())), b = nlohmann::json::parse(std::ifstream(cli_report.toStdString()));
    a.erase("execution");
    b.erase("execution");
    a.erase("software_version");
    b.erase("software_version");
    CHECK(lmwb::test::json_difference(a, b) == "");

    // Dropping a report on the window opens it (into the comparison, as a report is already open).
    {
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(cli_report)});
        CHECK(w.openDropped(mime) == 1);
        CHECK(waitFor([&] { return s.compared().size() == 1; }, 20000));
    }

    // Bad input is a dialog's message naming the file and line, never a crash.
    std::ofstream(dir.filePath(QStringLiteral("bad.json")).toStdString()) << R"({"name": "x", "kind": "multiple_choice", "items": "bad.jsonl"})";
    std::ofstream(dir.filePath(QStringLiteral("bad.jsonl")).toStdString()) << "{\"question\": 1,}\n";
    w.openSuite(dir.filePath(QStringLiteral("bad.json")));
    CHECK(waitFor([&] { return w.lastError().contains(QStringLiteral("bad.jsonl:1")); }, 20000));
    QString previous = w.lastError();
    w.openReport(dir.filePath(QStringLiteral("bad.jsonl")), false);
    CHECK(waitFor([&] { return w.lastError() != previous; }, 20000));
    CHECK(w.lastError().contains(QStringLiteral("bad.jsonl")));
    previous = w.lastError();
    w.openModel(dir.path());
    REQUIRE(waitFor([&] { return w.lastError() != previous; }, 10000));
    INFO(w.lastError().toStdString());
    CHECK(w.lastError().contains(QStringLiteral("tokenizer")));
}

TEST_CASE("inspector views know their inputs: empty hints, stale marks, cleared on a new model, status lines end", "[gui][stale]") {
    MainWindow w;
    show(w);
    Session& s = w.session();
    InspectorView* in = w.inspector();
    // Before anything is computed the views say what to do; nothing is drawn.
    CHECK(in->attentionMap()->isEmpty());
    CHECK(in->attentionMap()->emptyHint().contains(QStringLiteral("Ctrl+1")));
    CHECK(in->attributionBars()->isEmpty());
    CHECK(in->entropyPlot()->isEmpty());
    CHECK(in->reliabilityPlot()->isEmpty());

    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    in->setPrompt(QStringLiteral("Question: What color is the sky?\nAnswer:"), QStringLiteral(" blue"));
    in->tabs()->setCurrentIndex(3);
    in->runAttribution(attr::Method::Shap);
    CHECK(in->tabs()->currentIndex() == 1);  // the tab that shows the result
    REQUIRE(waitFor([&] { return in->attribution() != nullptr && in->statusLabel()->text().contains(QStringLiteral("done")); }, 60000));
    CHECK_FALSE(in->isStale(InspectorView::View::Attribution));
    CHECK(in->attributionBars()->staleText().isEmpty());

    // A new prompt marks the attribution stale (bars, matrix and the token shading), naming what changed.
    in->setPrompt(QStringLiteral("Question: What color is coal?\nAnswer:"), QStringLiteral(" blue"));
    CHECK(in->isStale(InspectorView::View::Attribution));
    CHECK(in->attributionBars()->staleText().contains(QStringLiteral("prompt")));
    CHECK(in->attributionMatrix()->staleText().contains(QStringLiteral("Ctrl+3")));
    // Back to the inputs it was computed for: fresh again.
    in->setPrompt(QStringLiteral("Question: What color is the sky?\nAnswer:"), QStringLiteral(" blue"));
    CHECK_FALSE(in->isStale(InspectorView::View::Attribution));

    // Attention, cancelled at once: the status line says so, and no result appears.
    in->runAttention();
    s.jobs.cancelAll();
    REQUIRE(waitFor([&] { return s.jobs.runningCount() == 0; }, 5000));
    CHECK(in->statusLabel()->text().endsWith(QStringLiteral("cancelled.")));
    in->runAttention();
    REQUIRE(waitFor([&] { return in->attentionMaps() != nullptr; }, 20000));
    REQUIRE(waitFor([&] { return s.jobs.runningCount() == 0; }, 5000));
    CHECK(in->statusLabel()->text().contains(QStringLiteral("Attention: done")));
    CHECK_FALSE(in->attentionMap()->isEmpty());

    // Another model: every result of the old one is cleared.
    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-a"))));
    REQUIRE(waitFor([&] { return s.model_path().endsWith(QStringLiteral("tiny-a")); }, 20000));
    CHECK(in->attentionMaps() == nullptr);
    CHECK(in->attribution() == nullptr);
    CHECK(in->attentionMap()->isEmpty());
    CHECK(in->attributionBars()->isEmpty());

    // A failing job ends its status line with the error.
    in->setPrompt(QString(), QString());
    in->runAttribution(attr::Method::IntegratedGradients);
    REQUIRE(waitFor([&] { return s.jobs.runningCount() == 0; }, 10000));
    CHECK(in->statusLabel()->text().contains(QStringLiteral("failed")));
}

TEST_CASE("compare: three runs against one baseline, every metric's paired test, a metric picker, no clipped labels", "[gui][compare]") {
    MainWindow w;
    show(w);
    Session& s = w.session();
    auto a = std::make_shared<const eval::Report>(small_report("tiny-a", {"world-stories-continue", "world-facts-mc"}, 4));
    auto b = std::make_shared<const eval::Report>(small_report("tiny-b", {"world-stories-continue", "world-facts-mc"}, 4));
    auto c = std::make_shared<const eval::Report>(small_report("tiny-b", {"world-stories-continue", "world-facts-mc"}, 4));
    s.addCompared(a, QStringLiteral("a.json"));
    s.addCompared(b, QStringLiteral("b.json"));
    s.addCompared(c, QStringLiteral("c.json"));
    w.tabs()->setCurrentWidget(w.compareView());
    CompareView* v = w.compareView();
    REQUIRE(waitFor([&] { return v->comparisons().size() == 2; }, 60000));
    waitFor([] { return false; }, 200);
    // Series are named by model and start time; the same model twice is told apart by its file.
    const QStringList labels = v->runLabels();
    REQUIRE(labels.size() == 3);
    CHECK(labels[0].startsWith(QStringLiteral("tiny-a · ")));
    CHECK(labels[1] != labels[2]);
    // Every metric of both suites, for both runs: exactly the library's comparison.
    std::size_t metrics = 0;
    for (const auto& rc : v->comparisons()) metrics += rc.metrics.size();
    CHECK(v->metricTable()->rowCount() == static_cast<int>(metrics));
    CHECK(metrics >= 2 * 12);
    auto lib = eval::compare_reports({*a, *b, *c}, {"a.json", "b.json", "c.json"}, 1000, 0);
    for (int r = 0; r < v->metricTable()->rowCount(); ++r) {
        const auto& m = lib[static_cast<std::size_t>(r) / lib[0].metrics.size()].metrics[static_cast<std::size_t>(r) % lib[0].metrics.size()];
        CHECK(v->metricTable()->data(v->metricTable()->index(r, 2), Qt::DisplayRole).toString() == QString::fromStdString(m.metric));
        CHECK(v->metricTable()->data(v->metricTable()->index(r, 8), Qt::DisplayRole).toString() == QString::fromStdString(eval::describe_test(m)));
    }
    // The generation suite has the most metrics: its bars keep every label on first display, none clipped or
    // overlapping (as drawn; no replot here but the window's own).
    INFO(v->barsPlot()->xAxis->tickVectorLabels().join(QStringLiteral("|")).toStdString() << " width " << v->barsPlot()->axisRect()->width());
    CHECK(v->barsPlot()->xAxis->tickVectorLabels().size() == 9);  // every metric of world-stories-continue
    CHECK(lmwb::test::tickLabelProblem(v->barsPlot()->xAxis, v->barsPlot()) == QString());
    CHECK(lmwb::test::tickLabelProblem(v->barsPlot()->yAxis, v->barsPlot()) == QString());
    CHECK(v->barsPlot()->xAxis->tickVectorLabels().last().startsWith(QStringLiteral("relevance")));
    // The metric picker drives the item table and the scatter.
    REQUIRE(v->metricPicker()->count() >= 2);
    v->metricPicker()->setCurrentIndex(1);
    const QString picked = v->metricPicker()->currentText();
    REQUIRE(v->items()->rowCount() == 2 * 4);
    for (int r = 0; r < v->items()->rowCount(); ++r) CHECK(v->items()->row(r).metric == picked);
    CHECK(v->scatterPlot()->graphCount() == 2);
    CHECK(v->scatterPlot()->xAxis->label().startsWith(picked));
}

TEST_CASE("history: a cancelled run keeps its items and resumes from the GUI into the uninterrupted report", "[gui][history]") {
    QTemporaryDir dir;
    MainWindow w;
    show(w);
    Session& s = w.session();
    REQUIRE(w.setWorkspaceFolder(dir.filePath(QStringLiteral("ws"))));
    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    REQUIRE(w.openSuites({QString::fromStdString(suite_path("world-facts-mc")), QString::fromStdString(suite_path("world-facts-qa"))}));
    REQUIRE(waitFor([&] { return s.suites().size() == 2; }, 20000));

    // Cancel once a fifth of the items are done.
    QSignalSpy cancelled(&s.jobs, &JobRunner::cancelled);
    auto cancel_early = QObject::connect(&s.jobs, &JobRunner::progress, [&](int, const QString& kind, double f, const QString&) {
        if (kind == QStringLiteral("eval") && f > 0.2) w.runView()->cancel();
    });
    w.runView()->run();
    REQUIRE(waitFor([&] { return cancelled.count() == 1; }, 60000));
    QObject::disconnect(cancel_early);
    CHECK(s.report() == nullptr);
    HistoryView* h = w.historyView();
    REQUIRE(h->runs()->rowCount() == 1);
    const RunRecord stopped = h->runs()->run(0);
    CHECK(stopped.status == QStringLiteral("cancelled"));
    CHECK(stopped.items > 0);
    CHECK(stopped.items < 150);
    CHECK(stopped.items_total == 150);
    CHECK(w.runView()->progressText()->text().contains(QStringLiteral("kept")));

    // Resume from the history: the finished report equals an uninterrupted run of the same settings.
    h->table()->selectRow(0);
    emit h->resumeRequested(stopped.dir);
    REQUIRE(waitFor([&] { return s.report() != nullptr; }, 60000));
    REQUIRE(waitFor([&] { return s.jobs.runningCount() == 0; }, 10000));
    REQUIRE(h->runs()->rowCount() == 1);
    CHECK(h->runs()->run(0).status == QStringLiteral("finished"));
    CHECK(h->runs()->run(0).items == 150);
    CHECK_FALSE(QFile::exists(stopped.journalPath()));
    CHECK(s.report_path() == stopped.reportPath());
    const QString cli_report = dir.filePath(QStringLiteral("cli.json"));
    auto cli = lmwb::test::run_command(std::string(LMWB_CLI) + " eval " + model_path("tiny-b") + " world-facts-mc world-facts-qa -q --out " +
                                       cli_report.toStdString() + " 2>&1");
    REQUIRE(cli.exit_code == 0);
    auto a = nlohmann::json::parse(std::ifstream(stopped.reportPath().toStdString())), b = nlohmann::json::parse(std::ifstream(cli_report.toStdString()));
    for (auto* j : {&a, &b}) j->erase("execution"), j->erase("software_version");
    CHECK(lmwb::test::json_difference(a, b) == "");

    // A second run: both are kept; the history filters and searches them.
    w.runView()->setLimit(5);
    w.runView()->run();
    REQUIRE(waitFor([&] { return h->runs()->rowCount() == 2 && s.jobs.runningCount() == 0; }, 60000));
    CHECK(h->countLabel()->text() == QStringLiteral("2 runs"));
    h->metricField()->setCurrentIndex(h->metricField()->findText(QStringLiteral("exact_match")));
    h->lowField()->setValue(0.5);
    CHECK(h->runs()->rowCount() >= 1);
    CHECK(h->countLabel()->text().contains(QStringLiteral("of 2 runs")) == (h->runs()->rowCount() < 2));
    h->metricField()->setCurrentIndex(0);
    h->searchField()->setText(QStringLiteral("no-such-item-anywhere"));
    CHECK(h->runs()->rowCount() == 0);
    CHECK(h->countLabel()->text() == QStringLiteral("0 of 2 runs"));
    h->searchField()->clear();

    // Compare the two straight from the history; delete one only when the user confirms.
    REQUIRE(h->compareRuns({h->runs()->run(0), h->runs()->run(1)}));
    REQUIRE(waitFor([&] { return s.compared().size() == 2; }, 20000));
    CHECK(w.tabs()->currentWidget() == w.compareView());
    h->setConfirm([](const QString&) { return false; });
    CHECK_FALSE(h->deleteRun(h->runs()->run(0)));
    CHECK(h->runs()->rowCount() == 2);
    h->setConfirm([](const QString&) { return true; });
    const QString gone = h->runs()->run(0).dir;
    CHECK(h->deleteRun(h->runs()->run(0)));
    CHECK(h->runs()->rowCount() == 1);
    CHECK_FALSE(QFileInfo::exists(gone));
}

TEST_CASE("the Run menu holds the registry's methods with their shortcuts", "[gui][registry]") {
    MainWindow w;
    int found = 0;
    for (const auto& m : attr::methods()) {
        if (m.shortcut.empty()) continue;
        INFO(m.name);
        auto* action = w.findChild<QAction*>(QStringLiteral("run-") + QString::fromStdString(m.name));
        REQUIRE(action);
        CHECK(action->shortcut() == QKeySequence(QString::fromStdString(m.shortcut)));
        CHECK(action->text() == QString::fromStdString(m.title));
        ++found;
    }
    CHECK(found == 8);
    // F1 on the inspector lists the same shortcuts with the registry's titles.
    const QString guide = w.viewGuide(w.tabs()->indexOf(w.inspector()));
    for (const auto& m : attr::methods())
        if (!m.shortcut.empty()) CHECK(guide.contains(QStringLiteral("<b>%1</b> %2").arg(QString::fromStdString(m.shortcut), QString::fromStdString(m.title))));
}

// One table of pages drives the inspector's tabs; the menu's methods each land on the page that runs them, and the
// pages' empty texts name the registry's shortcuts.
TEST_CASE("the inspector's tabs are its page table, and each Run menu method has a page", "[gui][registry]") {
    MainWindow w;
    auto* in = w.inspector();
    const auto& table = inspectorPages();
    REQUIRE(in->tabs()->count() == static_cast<int>(table.size()));
    for (int i = 0; i < in->tabs()->count(); ++i) {
        auto* page = qobject_cast<InspectorPage*>(in->tabs()->widget(i));
        REQUIRE(page);
        CHECK(page->objectName() == QStringLiteral("page-") + QLatin1String(table[static_cast<std::size_t>(i)].key));
        CHECK(in->tabs()->tabText(i) == page->title());
    }
    for (const auto* m : attr::menu_methods()) {
        INFO(m->name);
        InspectorPage* page = in->pageFor(m->name);
        REQUIRE(page);
        const auto names = page->methods();
        CHECK(std::find(names.begin(), names.end(), m->name) != names.end());
    }
    CHECK_FALSE(in->runMethod("no-such-method"));
    // Empty texts carry the registry's shortcut, not a copy of it.
    CHECK(in->attentionMap()->emptyHint().contains(QString::fromStdString(attr::find_method("attention")->shortcut)));
    CHECK(in->entropyPlot()->emptyHint().contains(QString::fromStdString(attr::find_method("sample")->shortcut)));
}

TEST_CASE("a large run history fills in the background: the window answers at once and shows how far the index got", "[gui][history]") {
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("ws"));
    constexpr int kRuns = 150;
    {
        Workspace ws(folder);
        const auto report = small_report("tiny-a", {"world-facts-mc"}, 2);
        RunSetup setup;
        setup.model_path = QString::fromStdString(model_path("tiny-a"));
        setup.suite_paths = {QString::fromStdString(suite_path("world-facts-mc"))};
        setup.limit = 2;
        for (int i = 0; i < kRuns; ++i) Workspace::finishRun(ws.createRun(setup), report);
    }
    QFile::remove(folder + QStringLiteral("/index.sqlite"));  // never indexed: every run is read again
    MainWindow w;
    show(w);
    HistoryView* h = w.historyView();
    REQUIRE(w.setWorkspaceFolder(folder));  // returns before any report is read
    CHECK(h->runs()->rowCount() == 0);
    CHECK(w.session().jobs.running(QStringLiteral("history")));
    CHECK(h->countLabel()->text().contains(QStringLiteral("reading the run folders")));
    REQUIRE(waitFor([&] { return !w.session().jobs.running(QStringLiteral("history")); }, 60000));
    CHECK(h->runs()->rowCount() == kRuns);
    CHECK(h->countLabel()->text() == QStringLiteral("150 runs"));
}

TEST_CASE("restarting restores the model, suites, prompt and target, the open report and the comparison", "[gui][restore]") {
    QTemporaryDir dir;
    const auto report = small_report("tiny-a", {"world-facts-mc"}, 4);
    const QString a = dir.filePath(QStringLiteral("a.json")), b = dir.filePath(QStringLiteral("b.json"));
    eval::write_report(a.toStdString(), report);
    eval::write_report(b.toStdString(), report);
    {
        MainWindow w;
        w.setQuiet(true);
        REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
        REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
        REQUIRE(w.openSuite(QString::fromStdString(suite_path("world-facts-qa"))));
        w.inspector()->setPrompt(QStringLiteral("Question: What color is snow?\nAnswer:"), QStringLiteral(" white"));
        REQUIRE(w.openReport(a, false));
        REQUIRE(waitFor([&] { return w.session().report() != nullptr; }, 20000));
        REQUIRE(w.openReports({a, b}, true));
        REQUIRE(waitFor([&] { return w.session().compared().size() == 2 && w.session().suites().size() == 1; }, 20000));
        w.close();  // saves the session
    }
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.restoreSession());
    Session& s = w.session();
    REQUIRE(waitFor([&] { return s.model() && s.suites().size() == 1 && s.report() && s.compared().size() == 2; }, 20000));
    CHECK(s.model_path().endsWith(QStringLiteral("tiny-b")));
    CHECK(s.suites()[0].name == "world-facts-qa");
    CHECK(w.inspector()->prompt() == QStringLiteral("Question: What color is snow?\nAnswer:"));
    CHECK(w.inspector()->target() == QStringLiteral(" white"));
    CHECK(s.report_path() == QFileInfo(a).absoluteFilePath());
    REQUIRE(s.compared().size() == 2);
    CHECK(s.compared()[1].path == QFileInfo(b).absoluteFilePath());
}

TEST_CASE("run view: filters count their rows and recompute the aggregates, CSV keeps every suite at full precision", "[gui][run]") {
    QTemporaryDir dir;
    MainWindow w;
    show(w);
    Session& s = w.session();
    auto report = std::make_shared<const eval::Report>(small_report("tiny-a", {"world-facts-mc", "world-facts-qa"}, 20));
    // Opened while another tab is in front: the id and prompt columns still get their width from the data.
    w.tabs()->setCurrentWidget(w.compareView());
    s.setReport(report, QStringLiteral("r"));
    w.tabs()->setCurrentWidget(w.runView());
    QTableView* t = w.runView()->table();
    CHECK(t->columnWidth(1) > 60);   // id
    CHECK(t->columnWidth(2) > 120);  // prompt
    CHECK(w.runView()->filteredText()->text() == QStringLiteral("20 items; aggregates of the suite"));

    // Failures only: the count and the aggregates follow (acc over the failures is 0, with n = the failures).
    w.runView()->filter()->setFailuresOnly(true);
    waitFor([] { return false; }, 50);
    int failures = 0;
    for (const auto& it : report->suites[0].items) failures += it.metrics.at("acc") < 0.5;
    REQUIRE(failures > 0);
    CHECK(w.runView()->filteredText()->text() == QStringLiteral("%1 of 20 items; aggregates over the filtered items").arg(failures));
    auto* agg = w.runView()->aggregates();
    bool saw_acc = false;
    for (int r = 0; r < agg->rowCount(); ++r)
        if (agg->data(agg->index(r, 1), Qt::DisplayRole).toString() == QStringLiteral("acc ↑")) {
            saw_acc = true;
            CHECK(agg->data(agg->index(r, 2), SortRole).toDouble() == 0.0);  // the failures, and each slice of them
        }
    CHECK(saw_acc);
    w.runView()->filter()->setFailuresOnly(false);
    waitFor([] { return false; }, 50);
    CHECK(w.runView()->filteredText()->text().startsWith(QStringLiteral("20 items")));

    // CSV: both suites, numbers that read back exactly, formula-like text made inert.
    const QString csv = dir.filePath(QStringLiteral("all.csv"));
    REQUIRE(w.exportResults(csv));
    QFile f(csv);
    REQUIRE(f.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(f.readAll());
    CHECK(text.count(QStringLiteral("\nworld-facts-mc,")) == 20);  // records start with their suite (prompts hold newlines)
    CHECK(text.count(QStringLiteral("\nworld-facts-qa,")) == 20);
    const double conf = report->suites[0].items[0].metrics.at("confidence");
    CHECK(text.contains(QString::number(conf, 'g', 17)));
    CHECK(csvCell(QStringLiteral("=HYPERLINK(\"x\")")) == QStringLiteral("\"'=HYPERLINK(\"\"x\"\")\""));
    CHECK(csvCell(QStringLiteral("-0.25")) == QStringLiteral("-0.25"));
    CHECK(csvCell(QStringLiteral("@SUM(A1)")) == QStringLiteral("'@SUM(A1)"));
}

TEST_CASE("HTML export: one self-contained file that parses and names every aggregate of the report", "[gui][html]") {
    QTemporaryDir dir;
    MainWindow w;
    show(w);
    Session& s = w.session();
    auto a = std::make_shared<const eval::Report>(small_report("tiny-a", {"world-facts-mc", "world-stories-continue"}, 6));
    auto b = std::make_shared<const eval::Report>(small_report("tiny-b", {"world-facts-mc", "world-stories-continue"}, 6));
    s.setReport(b, QStringLiteral("b"));
    s.setCompared({{QStringLiteral("a"), a, {}}, {QStringLiteral("b"), b, {}}});
    REQUIRE(waitFor([&] { return !w.compareView()->comparisons().empty(); }, 60000));
    const QString path = dir.filePath(QStringLiteral("report.html"));
    REQUIRE(w.exportHtml(path));
    QFile f(path);
    REQUIRE(f.open(QIODevice::ReadOnly));
    const QByteArray html = f.readAll();
    // Well-formed (XHTML): any HTML or XML parser reads it.
    QXmlStreamReader xml(html);
    int tables = 0, images = 0;
    QStringList aggregates;
    while (!xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement) continue;
        if (xml.name() == QLatin1String("table")) ++tables;
        if (xml.name() == QLatin1String("img")) {
            ++images;
            CHECK(xml.attributes().value(QLatin1String("src")).startsWith(QLatin1String("data:image/svg+xml;base64,")));
        }
        if (xml.attributes().hasAttribute(QLatin1String("data-aggregate"))) aggregates << xml.attributes().value(QLatin1String("data-aggregate")).toString();
    }
    INFO(xml.errorString().toStdString());
    CHECK_FALSE(xml.hasError());
    // Every aggregate the JSON report holds, suite by suite, and slice by slice.
    std::size_t expected = 0, slices = 0;
    for (const auto& suite : b->suites) {
        for (const auto& agg : suite.aggregates) {
            ++expected;
            CHECK(aggregates.contains(QString::fromStdString(suite.name + "/" + agg.metric)));
        }
        for (const auto& sl : suite.slices)
            for (const auto& agg : sl.aggregates) {
                ++expected, ++slices;
                CHECK(aggregates.contains(QString::fromStdString(suite.name + "[" + sl.field + "=" + sl.value + "]/" + agg.metric)));
            }
    }
    CHECK(slices > 0);
    CHECK_FALSE(html.contains("holds no slices"));
    CHECK(aggregates.size() == static_cast<int>(expected));
    // Six items: every number is flagged as rough, with its reason.
    CHECK(html.contains("class=\"doubt\""));
    CHECK(html.contains("only 6 items: the interval is rough"));
    CHECK(tables >= 4);   // two suites' aggregates, calibration, the comparison
    CHECK(images >= 2);   // the comparison's bars and scatter
    CHECK_FALSE(html.contains("<script"));
    CHECK_FALSE(html.contains("src=\"http"));
    CHECK(html.contains("Items that changed"));
    CHECK(html.contains("McNemar"));
}

TEST_CASE("the window opens a model by its Hugging Face cache name", "[gui][cache]") {
    QTemporaryDir dir;
    const QString snap = dir.filePath(QStringLiteral("hub/models--acme--tiny/snapshots/0123456789abcdef0123456789abcdef01234567"));
    QDir().mkpath(snap);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
        REQUIRE(QFile::copy(QString::fromStdString(model_path("tiny-a")) + QStringLiteral("/") + QLatin1String(f), snap + QStringLiteral("/") + QLatin1String(f)));
    qputenv("HF_HUB_CACHE", dir.filePath(QStringLiteral("hub")).toUtf8());
    MainWindow w;
    show(w);
    REQUIRE(w.openModel(QStringLiteral("acme/tiny")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    CHECK(w.session().model_path() == snap);  // the snapshot folder: what runs and reports record
    qunsetenv("HF_HUB_CACHE");
}

TEST_CASE("HTML export: names with %N and control characters come out as written, in well-formed XML", "[gui][html]") {
    eval::Report a = small_report("tiny-a", {"world-facts-mc"}, 4), b = small_report("tiny-b", {"world-facts-mc"}, 4);
    const std::string evil = "evil %1%2%3 \x01\x1b[31m<b>&\x7f";
    for (auto* r : {&a, &b}) {
        r->suites[0].name = evil;
        r->suites[0].version = "%4";
        r->model.compute_dtype = "float32 %1 \x02";
    }
    HtmlReportInput in;
    in.report = &b;
    in.report_label = QStringLiteral("b %1 \x03");
    in.comparisons = eval::compare_reports({a, b}, {"a %2", "b %1"}, 100, 1);
    in.run_labels = {QStringLiteral("a %2"), QStringLiteral("b %1")};
    in.software_version = QStringLiteral("test");
    const QString html = htmlReport(in);
    QXmlStreamReader xml(html);
    while (!xml.atEnd()) xml.readNext();
    INFO(xml.errorString().toStdString());
    CHECK_FALSE(xml.hasError());
    // The suite's name as written (controls shown as Control Pictures), its version "%4" untouched by the count.
    const QString shown = QStringLiteral("evil %1%2%3 \u2401\u241b[31m&lt;b&gt;&amp;\u2421");
    CHECK(html.contains(shown + QStringLiteral(" <span class=\"note\">(multiple_choice, 4 items, version %4)</span>")));
    CHECK(html.contains(QStringLiteral("float32 %1 \u2402")));
    CHECK_FALSE(html.contains(QChar(0x1b)));
}

TEST_CASE("the open-model dialog describes the model and offers dtype and threads with the weights' memory", "[gui][open]") {
    const QString bf16 = QStringLiteral(LMWB_FIXTURES "/models/llama3-bf16");
    ModelOptions last;
    last.dtype = "float32";
    last.threads = 3;
    gui::OpenModelDialog dialog(bf16, last);
    CHECK(dialog.description().contains(QStringLiteral("llama")));
    CHECK(dialog.description().contains(QStringLiteral("BF16")));
    CHECK(dialog.options().dtype == "float32");  // the last choice comes back
    CHECK(dialog.options().threads == 3);
    auto* dtype = dialog.findChild<QComboBox*>();
    REQUIRE(dtype);
    const QString as_float32 = dialog.estimate();
    dtype->setCurrentIndex(dtype->findData(QStringLiteral("auto")));
    CHECK(dialog.options().dtype == "auto");
    CHECK(dialog.estimate() != as_float32);  // 16-bit weights held as stored take half
    auto info = LanguageModel::open(bf16.toStdString(), {})->info();
    CHECK(held_weight_bytes(info, "auto") == info.weight_bytes);
    CHECK(held_weight_bytes(info, "float32") == 2 * info.weight_bytes);
    CHECK(dialog.estimate().contains(QStringLiteral("available now")));  // the machine's memory beside the need
    CHECK(dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Open)->isEnabled());
    // A folder that is no model: why, and no Open button.
    QTemporaryDir empty;
    gui::OpenModelDialog bad(empty.path(), {});
    CHECK(bad.description().contains(QStringLiteral("tokenizer.json")));
    auto* box = bad.findChild<QDialogButtonBox*>();
    REQUIRE(box);
    CHECK_FALSE(box->button(QDialogButtonBox::Open)->isEnabled());
}

TEST_CASE("chat templates in the inspector and the run view: offered with a template, prompts go through it", "[gui][chat]") {
    QTemporaryDir dir;
    const QString chatty = dir.filePath(QStringLiteral("chatty"));
    QDir().mkpath(chatty);
    for (const auto& f : QDir(QString::fromStdString(model_path("tiny-b"))).entryInfoList(QDir::Files))
        REQUIRE(QFile::copy(f.filePath(), chatty + QStringLiteral("/") + f.fileName()));
    QFile config(chatty + QStringLiteral("/tokenizer_config.json"));
    REQUIRE(config.open(QIODevice::WriteOnly));
    config.write(R"({"chat_template": "{% for m in messages %}{% if m.content == 'No.' %}{{ raise_exception('the system says no') }}{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"})");
    config.close();
    MainWindow w;
    show(w);
    Session& s = w.session();
    InspectorView* in = w.inspector();
    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    CHECK_FALSE(in->chatBox()->isEnabled());  // no template: not offered, and the tooltip says why
    CHECK_FALSE(w.runView()->chatBox()->isEnabled());
    CHECK(in->chatBox()->toolTip().contains(QStringLiteral("no chat template")));
    REQUIRE(w.openModel(chatty));
    REQUIRE(waitFor([&] { return s.model() && s.model_path() == chatty; }, 20000));
    REQUIRE(in->chatBox()->isEnabled());
    CHECK(w.runView()->chatBox()->isEnabled());
    in->setPrompt(QStringLiteral("The sky is"), QStringLiteral(" blue"));
    CHECK(in->prompt() == QStringLiteral("The sky is"));
    in->chatBox()->setChecked(true);
    in->systemEdit()->setText(QStringLiteral("Be brief."));
    const QString wrapped = QStringLiteral("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nThe sky is<|im_end|>\n<|im_start|>assistant\n");
    CHECK(in->prompt() == wrapped);
    CHECK(in->promptText() == QStringLiteral("The sky is"));
    in->runAttention();
    REQUIRE(waitFor([&] { return in->attentionMaps() != nullptr; }, 20000));
    CHECK(in->attentionMaps()->length == static_cast<int>(encode_prompt(s.model()->tokenizer(), (wrapped + QStringLiteral(" blue")).toStdString()).ids.size()));
    in->systemEdit()->setText(QStringLiteral("Be long."));
    CHECK(in->isStale(InspectorView::View::Attention));
    // A template that raises: nothing runs on the text as typed, and the status line says why.
    in->systemEdit()->setText(QStringLiteral("No."));
    CHECK(in->chatProblem().contains(QStringLiteral("the system says no")));
    int started = 0;
    const auto counting = QObject::connect(&s.jobs, &JobRunner::started, [&started] { ++started; });
    in->runAttention();
    QObject::disconnect(counting);
    CHECK(started == 0);
    CHECK(in->statusLabel()->text().contains(QStringLiteral("the system says no")));
    in->systemEdit()->setText(QStringLiteral("Be brief."));
    CHECK(in->chatProblem().isEmpty());

    // The run view: the suite's prompts through the template, the report saying so.
    REQUIRE(w.openSuite(QString::fromStdString(suite_path("world-facts-mc"))));
    REQUIRE(waitFor([&] { return s.suites().size() == 1; }, 20000));
    w.runView()->setLimit(3);
    w.runView()->chatBox()->setChecked(true);
    w.runView()->systemEdit()->setText(QStringLiteral("Answer briefly."));
    w.runView()->run();
    REQUIRE(waitFor([&] { return static_cast<bool>(s.report()); }, 60000));
    CHECK(s.report()->settings.apply_chat_template);
    CHECK(s.report()->settings.system_instruction == "Answer briefly.");
    CHECK(s.report()->suites[0].chat);
    CHECK(QString::fromStdString(s.report()->suites[0].items[0].prompt).startsWith(QStringLiteral("<|im_start|>system\nAnswer briefly.<|im_end|>\n")));
}

TEST_CASE("the window fits 1280 x 720: every tab and inspector page gets its minimum size, and docks come back", "[gui][layout]") {
    MainWindow w;
    show(w);
    w.resize(1280, 720);
    QApplication::processEvents();
    CHECK(w.width() == 1280);
    CHECK(w.height() == 720);
    auto fits = [](QWidget* page) {
        INFO(page->objectName().toStdString() << " " << page->width() << "x" << page->height() << " needs " << page->minimumSizeHint().width() << "x"
                                              << page->minimumSizeHint().height());
        CHECK(page->width() >= page->minimumSizeHint().width());
        CHECK(page->height() >= page->minimumSizeHint().height());
    };
    for (int i = 0; i < w.tabs()->count(); ++i) {
        w.tabs()->setCurrentIndex(i);
        QApplication::processEvents();
        fits(w.tabs()->currentWidget());
    }
    w.tabs()->setCurrentWidget(w.inspector());
    for (int i = 0; i < w.inspector()->tabs()->count(); ++i) {
        w.inspector()->tabs()->setCurrentIndex(i);
        QApplication::processEvents();
        fits(w.inspector()->tabs()->currentWidget());
    }
    // A dock squeezed to its minimum, or hidden: View > Reset layout brings it back at a usable size.
    auto* dock = w.findChild<QDockWidget*>(QStringLiteral("Workspace"));
    REQUIRE(dock);
    w.resizeDocks({dock}, {1}, Qt::Horizontal);
    QApplication::processEvents();
    CHECK(dock->width() < MainWindow::kDockWidth);
    auto* jobs = w.findChild<QDockWidget*>(QStringLiteral("Jobs"));
    jobs->hide();
    auto* reset = w.findChild<QAction*>(QStringLiteral("reset-layout"));
    REQUIRE(reset);
    reset->trigger();
    QApplication::processEvents();
    CHECK(dock->width() >= MainWindow::kDockWidth);
    CHECK(jobs->isVisible());
}

TEST_CASE("lmwb-gui --screenshot FILE --size 1280x720 renders the window at that size", "[gui][layout]") {
    QTemporaryDir dir;
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("HOME"), dir.path());  // settings of its own
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("config")));
    env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath(QStringLiteral("cache")));
    p.setProcessEnvironment(env);
    const QString png = dir.filePath(QStringLiteral("w.png"));
    p.start(QStringLiteral(LMWB_GUI), {QString::fromStdString(model_path("tiny-b")), QString::fromStdString(suite_path("world-facts-mc")),
                                       QStringLiteral("--screenshot"), png, QStringLiteral("--size"), QStringLiteral("1280x720")});
    REQUIRE(p.waitForFinished(120000));
    INFO(p.readAllStandardError().toStdString());
    REQUIRE(p.exitCode() == 0);
    const QImage image(png);
    CHECK(image.size() == QSize(1280, 720));
    p.start(QStringLiteral(LMWB_GUI), {QStringLiteral("--screenshot"), png, QStringLiteral("--size"), QStringLiteral("1280by720")});
    REQUIRE(p.waitForFinished(60000));
    CHECK(p.exitCode() == 1);
    CHECK(p.readAllStandardError().contains("--size 1280by720: expected WIDTHxHEIGHT"));
}

TEST_CASE("the uncertainty page at 1280 x 720: the entropy chart has room for its bars and every token label", "[gui][layout]") {
    MainWindow w;
    show(w);
    w.resize(1280, 720);
    InspectorView* in = inspectorWithModel(w);
    in->setPrompt(QStringLiteral("Question: What color is coal?\nAnswer:"), QString());
    in->runUncertainty();
    REQUIRE(waitFor([&] { return in->uncertainty() != nullptr; }, 60000));
    waitFor([] { return false; }, 300);
    BarChart* e = in->uncertaintyPage()->entropy();
    INFO("entropy chart " << e->width() << "x" << e->height() << ", plot area " << e->axisRect()->height());
    CHECK(e->axisRect()->height() >= 60);
    CHECK(lmwb::test::tickLabelProblem(e->xAxis, e).toStdString() == "");
    CHECK(lmwb::test::tickLabelProblem(e->yAxis, e).toStdString() == "");
}

TEST_CASE("attention, bertviz's view: a hovered query row shades its keys over the text, a click pins it", "[gui][attention]") {
    MainWindow w;
    show(w);
    InspectorView* in = inspectorWithModel(w);
    in->setPrompt(QStringLiteral("The capital of France is"), QString());
    in->runAttention();
    REQUIRE(waitFor([&] { return in->attentionMaps() != nullptr; }, 20000));
    AttentionPage* page = in->attentionPage();
    Heatmap* map = page->map();
    const int T = in->attentionMaps()->length;
    REQUIRE(T >= 5);
    CHECK(page->keysRow() == -1);
    emit map->cellHovered(3, 0);
    CHECK(page->keysRow() == 3);
    const QString html = page->keysHtml();
    CHECK(html.contains(QStringLiteral("<b>Query 3</b>")));
    CHECK(html.count(QStringLiteral("title=\"key ")) == 3);        // keys 0, 1, 2 shaded with their weights
    CHECK(html.count(QStringLiteral("color:#888888")) == T - 4);  // the keys after it, masked
    CHECK(html.count(QStringLiteral("text-decoration:underline")) == 1);
    // A click pins row 2: hovering elsewhere leaves it; a second click frees it.
    map->replot();
    const QPointF at(map->xAxis->coordToPixel(0), map->yAxis->coordToPixel(2));
    QMouseEvent click(QEvent::MouseButtonPress, at, map->mapToGlobal(at), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    emit map->plottableClick(nullptr, 0, &click);
    CHECK(page->keysRow() == 2);
    emit map->cellHovered(4, 0);
    CHECK(page->keysRow() == 2);
    emit map->plottableClick(nullptr, 0, &click);
    emit map->cellHovered(4, 0);
    CHECK(page->keysRow() == 4);
}

TEST_CASE("attribution: IG and SHAP side by side with their agreement and deltas, SHAP on a prompt past 63 tokens", "[gui][attribution]") {
    MainWindow w;
    show(w);
    InspectorView* in = inspectorWithModel(w);
    QString prompt;
    for (int i = 0; i < 8; ++i) prompt += QStringLiteral("Constantinople ");
    in->setPrompt(prompt, QStringLiteral(" blue"));
    in->findChild<QSpinBox*>(QStringLiteral("ig-steps"))->setValue(2);  // a coarse IG: its delta is large
    in->runAttribution(attr::Method::IntegratedGradients);
    REQUIRE(waitFor([&] { return in->attribution() && in->attribution()->method == "ig"; }, 60000));
    const auto ig = *in->attribution();
    REQUIRE(ig.prompt_tokens.size() > 63);
    in->runAttribution(attr::Method::Shap);  // auto-grouped into words: no refusal
    REQUIRE(waitFor([&] { return in->attribution() && in->attribution()->method == "shap"; }, 120000));
    const auto shap = *in->attribution();
    CHECK(shap.details.find("grouped") != std::string::npos);
    MethodAgreementTable* t = in->attributionPage()->agreementTable();
    REQUIRE(t->rowCount() == 2);
    CHECK(t->item(0, MethodAgreementTable::Method)->text() == QStringLiteral("shap"));
    CHECK(t->item(1, MethodAgreementTable::Method)->text() == QStringLiteral("ig"));
    const double rho = metrics::spearman(shap.scores, ig.scores);
    CHECK(t->item(0, MethodAgreementTable::Agreement)->text() == QStringLiteral("%1 with ig").arg(rho, 0, 'f', 2));
    CHECK_FALSE(t->item(1, MethodAgreementTable::Warnings)->text().isEmpty());  // two IG steps do not add up
    CHECK(t->item(0, MethodAgreementTable::Warnings)->text().isEmpty());        // Owen values are efficient
}

TEST_CASE("history tracks runs as W&B users expect: chosen columns, tags and notes, a pinned baseline, a metric across runs", "[gui][history]") {
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("ws"));
    std::vector<QString> dirs;
    std::vector<eval::Report> reports;
    {
        Workspace ws(folder);
        for (const char* m : {"tiny-a", "tiny-b", "tiny-b"}) {
            RunSetup setup;
            setup.model_path = QString::fromStdString(model_path(m));
            setup.suite_paths = {QString::fromStdString(suite_path("world-facts-mc"))};
            setup.limit = 4;
            setup.seed = dirs.size() + 7;
            const QString d = ws.createRun(setup);
            auto report = small_report(m, {"world-facts-mc"}, 4);
            report.settings.seed = setup.seed;
            report.execution.started = "2026-12-0" + std::to_string(dirs.size() + 1) + "T10:00:00Z";
            Workspace::finishRun(d, report);
            ws.indexRun(d);
            dirs.push_back(d);
            reports.push_back(report);
        }
    }
    MainWindow w;
    show(w);
    Session& s = w.session();
    REQUIRE(w.setWorkspaceFolder(folder));
    HistoryView* h = w.historyView();
    REQUIRE(waitFor([&] { h->refresh(); return h->runs()->rowCount() == 3; }, 20000));
    // Columns from the settings and the metrics, the newest run first.
    h->setColumns({QStringLiteral("seed"), QStringLiteral("dtype"), QStringLiteral("world-facts-mc/acc")});
    REQUIRE(h->runs()->columnCount() == RunsModel::ColumnCount + 3);
    auto cell = [&](int row, int extra) { return h->runs()->data(h->runs()->index(row, RunsModel::ColumnCount + extra), Qt::DisplayRole).toString(); };
    CHECK(cell(0, 0) == QStringLiteral("9"));
    CHECK(cell(0, 1) == QStringLiteral("float32"));
    double acc = 0;
    for (const auto& a : reports[2].suites[0].aggregates)
        if (a.metric == "acc") acc = a.value;
    CHECK(cell(0, 2) == QString::number(acc, 'g', 5));
    CHECK(QSettings().value(QStringLiteral("history/columns")).toStringList().size() == 3);
    // Tags and a note: in the run's folder, shown, searchable, kept when the index is rebuilt.
    REQUIRE(h->annotate(h->runs()->run(2), {QStringLiteral("first"), QStringLiteral(" fp32 ")}, QStringLiteral("the first try")));
    CHECK(QFileInfo::exists(dirs[0] + QStringLiteral("/annotations.json")));
    h->setColumns({QStringLiteral("tags"), QStringLiteral("note")});
    CHECK(cell(2, 0) == QStringLiteral("first, fp32"));
    CHECK(cell(2, 1) == QStringLiteral("the first try"));
    h->searchField()->setText(QStringLiteral("first try"));
    CHECK(h->runs()->rowCount() == 1);
    h->searchField()->clear();
    s.workspace()->rebuild();
    h->refresh();
    CHECK(cell(2, 0) == QStringLiteral("first, fp32"));
    // A pinned baseline: marked, compared against.
    REQUIRE(h->pinBaseline(h->runs()->run(2)));
    CHECK(h->runs()->data(h->runs()->index(2, RunsModel::Started), Qt::DisplayRole).toString().startsWith(QStringLiteral("★ ")));
    REQUIRE(h->compareWithBaseline({h->runs()->run(0)}));
    REQUIRE(waitFor([&] { return s.compared().size() == 2; }, 20000));
    CHECK(s.compared()[0].path == dirs[0] + QStringLiteral("/report.json"));
    // A metric across the runs, oldest first, with the baseline's value as a line.
    h->setPlotMetric(QStringLiteral("world-facts-mc/acc"));
    REQUIRE_FALSE(h->metricPlot()->isEmpty());
    REQUIRE(h->metricPlot()->graphCount() == 1);
    CHECK(h->metricPlot()->graph(0)->dataCount() == 3);
    CHECK(h->metricPlot()->itemCount() == 1);


}
