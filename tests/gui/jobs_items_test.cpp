// Honest jobs (cancelling until the work has stopped, progress within passes, the weights hash as its own job) and the
// linked item panel (an item across runs, per-token differences, explaining it in the Inspector).
#include <catch2/catch.hpp>

#include <QComboBox>
#include <QDockWidget>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QFileInfo>
#include <QTextBrowser>
#include <QThread>

#include <atomic>
#include <cmath>
#include <filesystem>

#include "compare_view.h"
#include "gui_support.h"
#include "inspector.h"
#include "inspector_pages.h"
#include "item_models.h"
#include "item_panel.h"
#include "jobs.h"
#include "lmwb/attribution.h"
#include "lmwb/evaluation.h"
#include "main_window.h"
#include "run_view.h"
#include "side_by_side_view.h"
#include "session.h"
#include "test_support.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::model_path;
using lmwb::test::suite_path;
using lmwb::test::show;
using lmwb::test::waitFor;

namespace {


std::shared_ptr<const eval::Report> report_of(const char* model, const char* suite, std::size_t limit) {
    auto m = LanguageModel::open(model_path(model));
    eval::EvalOptions o;
    o.settings.limit = limit;
    return std::make_shared<const eval::Report>(eval::evaluate(*m, nullptr, {datasets::load_suite(suite_path(suite))}, o).report);
}

}  // namespace

TEST_CASE("pass progress: layer steps move the bar within a pass, with an ETA from the first pass on", "[gui][jobs]") {
    PassProgress p;
    auto shown = p.library({0, 8, "points", "IG"}, 0.0);
    CHECK(shown.fraction == 0);
    // First pass (2 points): 4 layers forward, 4 backward. No rate is known yet: layers, no ETA.
    for (int l = 0; l < 4; ++l) shown = p.step({l, 4, false}, 1.0 + l);
    CHECK(shown.text == QStringLiteral("IG: 0 / 8 points · pass 1, layer 4 / 4"));
    CHECK(shown.fraction == 0);
    for (int l = 3; l >= 0; --l) shown = p.step({l, 4, true}, 5.0 + (3 - l));
    CHECK(shown.text.contains(QStringLiteral("layer 4 / 4 backward")));
    CHECK_FALSE(shown.text.contains(QStringLiteral("ETA")));
    shown = p.library({2, 8, "points", "IG"}, 8.0);
    CHECK(shown.fraction == Approx(0.25));
    // Second pass: 8 steps per 2 points are known; half a pass done is 3 of 8 points, 12 s in: 28 s left.
    for (int l = 0; l < 4; ++l) shown = p.step({l, 4, false}, 9.0 + l);
    CHECK(shown.fraction == Approx(3.0 / 8.0));
    CHECK(shown.text == QStringLiteral("IG: 2 / 8 points · pass 2, layer 4 / 4, ETA 20 s"));
    // Never past the next report's count.
    for (int k = 0; k < 20; ++k) shown = p.step({0, 4, true}, 13.0);
    CHECK(shown.fraction <= 0.999);
}

TEST_CASE("jobs: cancelling until the work has really stopped, then cancelled, and no progress in between", "[gui][jobs]") {
    JobRunner runner;
    QSignalSpy cancelling(&runner, &JobRunner::cancelling), cancelled(&runner, &JobRunner::cancelled), progress(&runner, &JobRunner::progress);
    std::atomic<bool> stopped{false};
    const int id = runner.start(QStringLiteral("k"), QStringLiteral("slow to stop"), [&stopped](JobContext& ctx) -> JobRunner::Apply {
        while (!ctx.cancelled()) {
            ctx.report(0.5, QStringLiteral("working"));
            QThread::msleep(2);
        }
        for (int i = 0; i < 30; ++i) {  // 300 ms of work after the request, still reporting
            ctx.report(0.6, QStringLiteral("still working"));
            QThread::msleep(10);
        }
        stopped = true;
        return {};
    });
    REQUIRE(waitFor([&] { return progress.count() > 2; }, 5000));
    runner.cancel(id);
    CHECK(cancelling.count() == 1);  // at once
    const auto before = progress.count();
    REQUIRE(waitFor([&] { return cancelled.count() == 1; }, 5000));
    CHECK(stopped);  // "cancelled" only after the work returned
    CHECK(progress.count() == before);  // "still working" never replaced "cancelling…"
    runner.cancel(id);  // an ended job: nothing more
    CHECK(cancelling.count() == 1);

    // The window says so meanwhile.
    MainWindow w;
    show(w);
    auto& jobs = w.session().jobs;
    REQUIRE(jobs.waitIdle(20000));  // the history's indexing
    std::atomic<bool> release{false};
    jobs.start(QStringLiteral("test"), QStringLiteral("held"), [&release](JobContext& ctx) -> JobRunner::Apply {
        while (!ctx.cancelled()) QThread::msleep(1);
        while (!release) QThread::msleep(1);
        return {};
    });
    jobs.cancelAll();
    auto* label = w.findChild<QDockWidget*>(QStringLiteral("Jobs"))->findChild<QLabel*>();
    REQUIRE(label);
    CHECK(label->text() == QStringLiteral("test: cancelling…"));
    release = true;
    REQUIRE(jobs.waitIdle(5000));
    CHECK(label->text() == QStringLiteral("test: cancelled"));
}

TEST_CASE("jobs: integrated gradients reports passes and layers between its counts of points", "[gui][jobs]") {
    auto model = std::shared_ptr<const LanguageModel>(LanguageModel::open(model_path("tiny-b")));
    JobRunner runner;
    QStringList texts;
    QObject::connect(&runner, &JobRunner::progress, [&texts](int, const QString&, double, const QString& text) { texts << text; });
    runner.start(QStringLiteral("attribution"), QStringLiteral("IG"), [model](JobContext& ctx) -> JobRunner::Apply {
        attr::Options o;
        o.steps = 8;
        o.internal_batch = 2;
        o.control = ctx.control;
        attr::explain(*model, "The capital of France is", " Paris", o);
        return {};
    });
    REQUIRE(runner.waitIdle(60000));
    // The first layer step is shown at once; its count comes from the library's first report (none yet).
    REQUIRE_FALSE(texts.isEmpty());
    bool layers = false;
    for (const auto& t : texts) layers = layers || (t.contains(QStringLiteral("pass 1, layer 1 / ")));
    CHECK(layers);
}

TEST_CASE("a run waits for the weights hash, a job of its own, once per opened model", "[gui][jobs][history]") {
    MainWindow w;
    show(w);
    Session& s = w.session();
    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-b"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    REQUIRE(w.openSuite(QString::fromStdString(suite_path("world-facts-mc"))));
    REQUIRE(waitFor([&] { return s.suites().size() == 1; }, 20000));
    w.runView()->setLimit(4);
    QStringList kinds;
    QObject::connect(&s.jobs, &JobRunner::started, [&kinds](int, const QString& kind, const QString&) { kinds << kind; });
    w.runView()->run();
    REQUIRE(waitFor([&] { return static_cast<bool>(s.report()); }, 60000));
    REQUIRE(kinds.size() >= 2);
    CHECK(kinds.mid(0, 2) == QStringList{QStringLiteral("weights"), QStringLiteral("eval")});
    CHECK(s.report()->model.weights_sha256 == datasets::file_sha256(model_path("tiny-b") + "/model.safetensors"));
    // The same model again: no second hash.
    kinds.clear();
    const auto first = s.report();
    w.runView()->run();
    REQUIRE(waitFor([&] { return s.report() != first; }, 60000));
    CHECK(kinds == QStringList{QStringLiteral("eval")});
    CHECK(s.report()->model.weights_sha256 == first->model.weights_sha256);
}

TEST_CASE("identify reports the weights hashed in bytes and stops on a cancel", "[gui][jobs]") {
    auto model = LanguageModel::open(model_path("tiny-b"));
    QTemporaryDir cache;  // never a cached digest
    const QByteArray before = qgetenv("XDG_CACHE_HOME");
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    Control c;
    std::vector<Progress> seen;
    c.progress = [&seen](const Progress& p) { seen.push_back(p); };
    const auto id = eval::identify(*model, c);
    REQUIRE(seen.size() >= 2);
    CHECK(seen.front().unit == "bytes");
    CHECK(seen.front().stage == "weights");
    CHECK(seen.back().done == seen.back().total);
    CHECK(seen.back().total == std::filesystem::file_size(model_path("tiny-b") + "/model.safetensors"));
    CHECK(id.weights_sha256.size() == 64);
    Control cancelled;
    cancelled.cancel.request();
    CHECK_THROWS_AS(eval::identify(*model, cancelled), Cancelled);
    qputenv("XDG_CACHE_HOME", before);
}

TEST_CASE("item panel: a result row, a compared item with per-token differences, and explain in the Inspector", "[gui][items]") {
    MainWindow w;
    show(w);
    Session& s = w.session();
    auto* dock = w.findChild<QDockWidget*>(QStringLiteral("Item"));
    REQUIRE(dock);
    CHECK(dock->isHidden());
    ItemPanel* panel = w.itemPanel();

    // A result row of the Run view.
    auto a = report_of("tiny-a", "world-facts-qa", 6);
    s.setReport(a, QStringLiteral("a"));
    QTableView* table = w.runView()->table();
    table->setCurrentIndex(table->model()->index(2, 0));
    REQUIRE(panel->runs().size() == 1);
    CHECK_FALSE(dock->isHidden());
    const auto& item = *panel->runs().front().item;
    const QString text = panel->text()->toPlainText();
    CHECK(text.contains(QString::fromStdString(item.prompt).trimmed().left(20)));
    CHECK(text.contains(QString::fromStdString(item.target).trimmed()));
    CHECK(text.contains(QString::fromStdString(item.response).trimmed().left(10)));
    CHECK(panel->deltas().empty());
    CHECK(panel->button(QStringLiteral("ig"))->isEnabled() == false);  // no model open: which would explain it?

    // Compared perplexity runs of two models: the same document, token by token.
    auto pa = report_of("tiny-a", "world-stories-ppl", 3), pb = report_of("tiny-b", "world-stories-ppl", 3);
    s.setCompared({{QStringLiteral("a"), pa, {}}, {QStringLiteral("b"), pb, {}}});
    REQUIRE(waitFor([&] { return !w.compareView()->comparisons().empty(); }, 20000));
    QTableView* items = w.compareView()->itemsTable();
    REQUIRE(items->model()->rowCount() >= 1);
    items->setCurrentIndex(items->model()->index(0, 0));
    REQUIRE(panel->runs().size() == 2);
    const auto& ia = *panel->runs()[0].item;
    const auto& ib = *panel->runs()[1].item;
    CHECK(ia.id == ib.id);
    REQUIRE(panel->deltas().size() == ia.token_logprobs.size());
    double sum = 0;
    for (std::size_t k = 0; k < ia.token_logprobs.size(); ++k) {
        CHECK(panel->deltas()[k].first == Approx(ia.token_logprobs[k]));
        CHECK(panel->deltas()[k].second == Approx(ib.token_logprobs[k]));
        sum += panel->deltas()[k].second - panel->deltas()[k].first;
    }
    CHECK(sum == Approx(ib.logprob - ia.logprob).margin(1e-3));
    CHECK(panel->text()->toPlainText().contains(QStringLiteral("sum of Δ")));

    // Compared multiple-choice runs: each choice's log-prob; explain the reference against the answer that differs.
    auto ma = report_of("tiny-a", "world-facts-mc", 12), mb = report_of("tiny-b", "world-facts-mc", 12);
    s.setCompared({{QStringLiteral("a"), ma, {}}, {QStringLiteral("b"), mb, {}}});
    REQUIRE(waitFor([&] { return !w.compareView()->comparisons().empty() && items->model()->rowCount() > 0; }, 20000));
    int wrong = -1;  // a row where tiny-a (the baseline) answered another choice than the reference
    for (int r = 0; r < items->model()->rowCount() && wrong < 0; ++r) {
        auto runs = w.compareView()->itemRuns(r);
        if (runs.size() == 2 && runs[0].item->predicted != runs[0].item->answer) wrong = r;
    }
    REQUIRE(wrong >= 0);
    items->setCurrentIndex(items->model()->index(wrong, 0));
    REQUIRE(panel->runs().size() == 2);
    const auto& mc = *panel->runs()[0].item;
    REQUIRE(panel->deltas().size() == mc.choices.size());
    CHECK(panel->deltas()[0].first == Approx(mc.choices[0].logprob));
    CHECK(panel->deltas()[0].second == Approx(panel->runs()[1].item->choices[0].logprob));

    REQUIRE(w.openModel(QString::fromStdString(model_path("tiny-a"))));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    REQUIRE(panel->button(QStringLiteral("ig"))->isEnabled());
    const ItemExplanation e = panel->explanation(QStringLiteral("ig"));
    CHECK(e.target == QStringLiteral(" ") + QString::fromStdString(mc.choices[static_cast<std::size_t>(mc.answer)].text));
    CHECK(e.contrast == QStringLiteral(" ") + QString::fromStdString(mc.choices[static_cast<std::size_t>(mc.predicted)].text));
    CHECK(e.contrast != e.target);
    CHECK(QFileInfo(e.other_model).fileName() == QStringLiteral("tiny-b"));
    panel->button(QStringLiteral("ig"))->click();
    InspectorView* in = w.inspector();
    CHECK(w.tabs()->currentWidget() == in);
    CHECK(in->promptText() == QString::fromStdString(mc.prompt));
    CHECK(in->target() == e.target);
    CHECK(in->contrast() == e.contrast);
    // IG on model A, then model B opened and both explained side by side with the same contrast.
    REQUIRE(waitFor([&] { return in->attribution() != nullptr; }, 60000));
    CHECK(in->attribution()->contrast == e.contrast.toStdString());
    REQUIRE(waitFor([&] { return static_cast<bool>(s.other_model()) && s.jobs.runningCount() == 0; }, 60000));
    CHECK(QFileInfo(s.other_model_path()).fileName() == QStringLiteral("tiny-b"));
    REQUIRE(in->sideBySideView()->result());
    CHECK(in->sideBySideView()->result()->attributed);
    CHECK(in->sideBySideView()->result()->b_attribution.contrast == e.contrast.toStdString());

    // Patching: in model A, then in model B (already open), with a switch between their grids.
    panel->button(QStringLiteral("patching"))->click();
    REQUIRE(waitFor([&] { return s.jobs.runningCount() == 0 && in->circuitsPage()->patchedModel()->isVisibleTo(in); }, 60000));
    QComboBox* which = in->circuitsPage()->patchedModel();
    REQUIRE(which->count() == 2);
    CHECK(which->currentText().contains(QStringLiteral("tiny-b")));
    CHECK(which->itemText(0).contains(QStringLiteral("tiny-a")));
}
