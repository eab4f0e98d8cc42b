// The run history: runs kept as files, the SQLite index built from them, filters, and the index following the folder
// (runs added, changed, damaged or removed outside the program; a fresh process re-reads nothing).
#include <catch2/catch.hpp>

#include <QDir>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "gui_support.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"
#include "workspace.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::model_path;
using lmwb::test::suite_path;

namespace {

eval::EvalOutcome run(const char* model, std::size_t limit, const std::string& journal = {}, std::size_t stop_after = 0) {
    auto m = LanguageModel::open(model_path(model));
    std::vector<datasets::Suite> s{datasets::load_suite(suite_path("world-facts-mc")), datasets::load_suite(suite_path("world-facts-qa"))};
    eval::EvalOptions o;
    o.settings.limit = limit;
    o.journal_path = journal;
    if (stop_after)
        o.progress = [&o, stop_after](const eval::Progress& p) {
            if (p.items_done >= stop_after) o.cancel.request();
        };
    return eval::evaluate(*m, nullptr, s, o);
}

RunSetup setup(const char* model, std::size_t limit) {
    RunSetup s;
    s.model_path = QString::fromStdString(model_path(model));
    s.suite_paths = {QString::fromStdString(suite_path("world-facts-mc")), QString::fromStdString(suite_path("world-facts-qa"))};
    s.limit = limit;
    s.items_total = 2 * limit;
    return s;
}

}  // namespace

TEST_CASE("the workspace keeps every run and its index lists, filters and follows the folder", "[gui][workspace]") {
    QTemporaryDir tmp;
    const QString folder = tmp.filePath(QStringLiteral("ws"));
    QString finished_a, finished_b, stopped;
    {
        Workspace ws(folder);
        CHECK(ws.runs().empty());
        finished_a = ws.createRun(setup("tiny-a", 6));
        CHECK(ws.run(finished_a)->status == QStringLiteral("running"));
        Workspace::finishRun(finished_a, run("tiny-a", 6).report);
        ws.indexRun(finished_a);
        finished_b = ws.createRun(setup("tiny-b", 6));
        CHECK(finished_b != finished_a);
        Workspace::finishRun(finished_b, run("tiny-b", 6).report);
        ws.indexRun(finished_b);
        // A run cancelled after 4 items: its finished items as a report, the journal kept for resuming.
        stopped = ws.createRun(setup("tiny-b", 6));
        auto part = run("tiny-b", 6, (stopped + QStringLiteral("/report.json.journal.jsonl")).toStdString(), 4);
        REQUIRE_FALSE(part.complete);
        Workspace::stopRun(stopped, part.report, QStringLiteral("cancelled"), {});
        ws.indexRun(stopped);

        auto all = ws.runs();
        REQUIRE(all.size() == 3);
        auto s = *ws.run(stopped);
        CHECK(s.status == QStringLiteral("cancelled"));
        CHECK(s.resumable());
        CHECK(s.items >= 4);
        CHECK(s.items < 12);
        CHECK(s.items_total == 12);
        CHECK(QFile::exists(s.journalPath()));
        CHECK(ws.run(finished_a)->items == 12);
        CHECK_FALSE(QFile::exists(ws.run(finished_a)->journalPath()));
        CHECK(ws.setupOf(stopped).suite_paths.size() == 2);

        // Filters: model, status, suite, metric range on the aggregates, item ids, dates.
        RunFilter f;
        f.model = QStringLiteral("tiny-a");
        CHECK(ws.runs(f).size() == 1);
        f = {};
        f.status = QStringLiteral("finished");
        CHECK(ws.runs(f).size() == 2);
        f = {};
        f.metric = QStringLiteral("acc");
        f.suite = QStringLiteral("world-facts-mc");
        const auto report_a = eval::read_report(ws.run(finished_a)->reportPath().toStdString());
        double acc_a = 0;
        for (const auto& a : report_a.suites[0].aggregates)
            if (a.metric == "acc") acc_a = a.value;
        f.low = acc_a - 1e-9;
        f.high = acc_a + 1e-9;
        auto hits = ws.runs(f);
        REQUIRE(hits.size() >= 1);
        CHECK(hits.front().model == QStringLiteral("tiny-a"));
        f = {};
        f.search = QString::fromStdString(report_a.suites[0].items[0].id);
        CHECK(ws.runs(f).size() == 3);  // every run holds that item, the cancelled one too
    f.search = QString::fromStdString(report_a.suites[1].items[2].id);
    CHECK(ws.runs(f).size() == 2);  // the cancelled run stopped before the second suite
        f = {};
        f.from = QDateTime::currentDateTimeUtc().addDays(1);
        CHECK(ws.runs(f).empty());
        CHECK(ws.metrics().contains(QStringLiteral("exact_match")));
        CHECK(ws.suites() == QStringList{QStringLiteral("world-facts-mc"), QStringLiteral("world-facts-qa")});
        CHECK(ws.itemMetrics(finished_a, QStringLiteral("world-facts-mc"), QStringLiteral("acc")).size() == 6);
    }
    // A new process: the index is current, nothing is re-read.
    {
        Workspace ws(folder);
        CHECK(ws.sync() == 0);
        CHECK(ws.runs().size() == 3);
        // Outside the program: one run removed, one damaged, one copied in.
        REQUIRE(QDir(finished_b).removeRecursively());
        QFile f(finished_a + QStringLiteral("/report.json"));
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("{\"schema\": \"lmwb.report\", ");
        f.close();
        const QString copy = folder + QStringLiteral("/runs/copied");
        QDir().mkpath(copy);
        for (const char* n : {"run.json", "report.json", "report.json.journal.jsonl"})
            QFile::copy(stopped + QStringLiteral("/") + QLatin1String(n), copy + QStringLiteral("/") + QLatin1String(n));
        CHECK(ws.sync() == 2);
        auto all = ws.runs();
        CHECK(all.size() == 3);
        auto damaged = *ws.run(finished_a);
        CHECK(damaged.status == QStringLiteral("damaged"));
        CHECK(damaged.error.contains(QStringLiteral("report.json")));
        CHECK(ws.run(copy)->status == QStringLiteral("cancelled"));
        // Removing a run deletes its folder; folders outside the workspace are refused.
        CHECK(ws.removeRun(copy));
        CHECK_FALSE(QFileInfo::exists(copy));
        CHECK_FALSE(ws.removeRun(tmp.path()));
        CHECK(ws.runs().size() == 2);
        // The index is rebuilt from the files when it is lost.
    }
    QFile::remove(folder + QStringLiteral("/index.sqlite"));
    Workspace ws(folder);
    CHECK(ws.runs().size() == 2);
    CHECK(ws.run(stopped)->status == QStringLiteral("cancelled"));
}

TEST_CASE("the index heals itself: a foreign table, random bytes or a locked file never end the program or the history",
          "[gui][workspace]") {
    QTemporaryDir tmp;
    const QString folder = tmp.filePath(QStringLiteral("ws")), index = folder + QStringLiteral("/index.sqlite");
    QString dir;
    {
        Workspace ws(folder);
        dir = ws.createRun(setup("tiny-a", 2));
        Workspace::finishRun(dir, run("tiny-a", 2).report);
        ws.indexRun(dir);
    }
    auto damage = [&](const QString& sql) {
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("damage"));
            db.setDatabaseName(index);
            REQUIRE(db.open());
            QSqlQuery q(db);
            for (const QString& s : sql.split(QLatin1Char(';'))) REQUIRE(q.exec(s));
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("damage"));
    };
    // The right schema number, another table: rebuilt from the runs' files.
    damage(QStringLiteral("DROP TABLE items;CREATE TABLE items(x TEXT)"));
    {
        Workspace ws(folder);
        REQUIRE(ws.runs().size() == 1);
        CHECK(ws.suites().contains(QStringLiteral("world-facts-mc")));
    }
    // Damaged after opening (another program's doing): the next query rebuilds and answers.
    {
        Workspace ws(folder);
        damage(QStringLiteral("DROP TABLE aggregates"));
        CHECK(ws.metrics().contains(QStringLiteral("acc")));
        CHECK(ws.runs().size() == 1);
    }
    // Random bytes, or a file cut short.
    for (const QByteArray& bytes : {QByteArray(4096, '\x5a'), QByteArray("SQLite format 3\0", 16)}) {
        QFile f(index);
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(bytes);
        f.close();
        Workspace ws(folder);
        CHECK(ws.runs().size() == 1);
    }
    // Written by a second program past the wait: the workspace opens, says why, still reads what the index holds
    // (write-ahead log: readers never wait for a writer), and syncs once the lock is gone.
    {
        QSqlDatabase other = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("other"));
        other.setDatabaseName(index);
        REQUIRE(other.open());
        QSqlQuery q(other);
        REQUIRE(q.exec(QStringLiteral("BEGIN EXCLUSIVE")));
        {
            Workspace ws(folder);
            INFO(ws.lastError().toStdString());
            auto locked_runs = ws.runs();
            INFO(ws.lastError().toStdString());
            CHECK(locked_runs.size() == 1);
            CHECK(ws.lastError().contains(QStringLiteral("locked")));
            REQUIRE(q.exec(QStringLiteral("COMMIT")));
            ws.sync();
            CHECK(ws.runs().size() == 1);
        }
        other.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("other"));
}

TEST_CASE("deleting a run never follows a link out of the workspace", "[gui][workspace][security]") {
    QTemporaryDir tmp;
    const QString folder = tmp.filePath(QStringLiteral("ws"));
    Workspace ws(folder);
    // runs/evil -> a folder of someone else's, and a run holding a link to another.
    const QString precious = tmp.filePath(QStringLiteral("precious"));
    REQUIRE(QDir().mkpath(precious));
    QFile thesis(precious + QStringLiteral("/thesis.tex"));
    REQUIRE(thesis.open(QIODevice::WriteOnly));
    thesis.write("\\documentclass{article}\n");
    thesis.close();
    const QString evil = folder + QStringLiteral("/runs/evil");
    REQUIRE(QFile::link(precious, evil));
    CHECK(ws.removeRun(evil));
    CHECK_FALSE(QFileInfo::exists(evil));
    CHECK(QFileInfo::exists(precious + QStringLiteral("/thesis.tex")));
    const QString dir = ws.createRun(setup("tiny-a", 2));
    REQUIRE(QFile::link(precious, dir + QStringLiteral("/linked")));
    CHECK(ws.removeRun(dir));
    CHECK_FALSE(QFileInfo::exists(dir));
    CHECK(QFileInfo::exists(precious + QStringLiteral("/thesis.tex")));
    CHECK_FALSE(ws.removeRun(folder + QStringLiteral("/runs/../../precious")));
    CHECK(QFileInfo::exists(precious + QStringLiteral("/thesis.tex")));
}

TEST_CASE("a run is running only while the very process that started it lives: a reused pid is not enough", "[gui][workspace]") {
    QTemporaryDir tmp;
    Workspace ws(tmp.filePath(QStringLiteral("ws")));
    const QString dir = ws.createRun(setup("tiny-a", 2));
    CHECK(ws.run(dir)->status == QStringLiteral("running"));  // this process, its start time recorded
    // The same pid, another process's start time (the pid reused after the run's process died).
    QFile f(dir + QStringLiteral("/run.json"));
    REQUIRE(f.open(QIODevice::ReadOnly));
    auto j = nlohmann::json::parse(f.readAll().toStdString());
    f.close();
    REQUIRE(j.contains("pid_started"));
    j["pid_started"] = j["pid_started"].get<long long>() + 12345;
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(QByteArray::fromStdString(j.dump()));
    f.close();
    ws.rebuild();
    CHECK(ws.run(dir)->status == QStringLiteral("interrupted"));
}

TEST_CASE("History names a model of the Hugging Face cache by its repository, not its snapshot hash", "[gui][workspace]") {
    QTemporaryDir tmp;
    Workspace ws(tmp.filePath(QStringLiteral("ws")));
    const QString dir = ws.createRun(setup("tiny-a", 2));
    auto out = run("tiny-a", 2);
    out.report.model.path = "/cache/models--acme--tiny/snapshots/0123456789abcdef0123456789abcdef01234567";
    out.report.model.repository = "acme/tiny";
    out.report.model.revision = "v1";
    Workspace::finishRun(dir, out.report);
    ws.indexRun(dir);
    CHECK(ws.run(dir)->model == QStringLiteral("acme/tiny@v1"));
}

TEST_CASE("the first index of many runs is built off the thread that asks, in commits it can read as they land", "[gui][workspace]") {
    QTemporaryDir tmp;
    const QString folder = tmp.filePath(QStringLiteral("ws"));
    constexpr int kRuns = 260;  // three commits of Workspace::kCommitRuns
    {
        Workspace ws(folder);
        const auto report = run("tiny-a", 1).report;
        for (int i = 0; i < kRuns; ++i) Workspace::finishRun(ws.createRun(setup("tiny-a", 1)), report);
    }
    for (const char* f : {"/index.sqlite", "/index.sqlite-journal"}) QFile::remove(folder + QLatin1String(f));

    // Sync::Later opens at once with the (empty) index; another thread reads the folders.
    Workspace gui(folder, Workspace::Sync::Later);
    CHECK(gui.runCount() == 0);
    std::mutex m;
    std::condition_variable cv;
    bool seen = false;
    std::size_t last_done = 0, last_total = 0;
    lmwb::Control control;
    control.progress = [&](const lmwb::Progress& p) {
        last_done = p.done;
        last_total = p.total;
        if (p.done == 150) {  // past the first commit: wait until the asking thread has read it (or gave up)
            std::unique_lock<std::mutex> lock(m);
            cv.wait_for(lock, std::chrono::seconds(60), [&] { return seen; });
        }
    };
    int read = -1;
    std::thread worker([&] { read = Workspace::syncFolder(folder, control); });
    std::size_t count = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (count < static_cast<std::size_t>(Workspace::kCommitRuns) && std::chrono::steady_clock::now() < deadline)
        count = gui.runCount();  // answers while the other writes
    CHECK(count >= static_cast<std::size_t>(Workspace::kCommitRuns));
    CHECK(count < static_cast<std::size_t>(kRuns));
    {
        std::lock_guard<std::mutex> lock(m);
        seen = true;
    }
    cv.notify_all();
    worker.join();
    CHECK(read == kRuns);
    CHECK(last_total == static_cast<std::size_t>(kRuns));
    CHECK(last_done == static_cast<std::size_t>(kRuns));
    CHECK(gui.runCount() == static_cast<std::size_t>(kRuns));
    CHECK(gui.lastError().isEmpty());

    // A cancel stops between runs and keeps what was read; the next sync reads only the rest.
    lmwb::Control stop;
    stop.progress = [&](const lmwb::Progress& p) {
        if (p.done == 40) stop.cancel.request();
    };
    CHECK(Workspace::syncFolder(folder, stop, true) == 40);
    CHECK(gui.runCount() == 40);
    CHECK(Workspace::syncFolder(folder, lmwb::Control{}) == kRuns - 40);
    CHECK(gui.runCount() == static_cast<std::size_t>(kRuns));
}
