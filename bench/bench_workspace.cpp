// The run history at scale: a workspace of 500 reports (the bundled evaluation of tiny-b, 194 items, written 500 times
// with other models, start times and values). Measured in one run: building the SQLite index from nothing (and how long
// the GUI thread waits for it: Sync::Later); opening
// the workspace when the index is current (what a start of the GUI costs); five filters; and, as the reference, a
// plain re-read of the 500 JSON reports. Targets: open < 1 s, filters < 100 ms.
//   bench_workspace [--runs N] [--rounds R]
#include <QCoreApplication>
#include <QDir>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"
#include "workspace.h"

using lmwb::bench::median;
using lmwb::bench::now;
using namespace lmwb;

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    QCoreApplication app(argc, argv);
    int runs = 500, rounds = 5;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::stoi(argv[++i]));
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
    }
    const std::string root = LMWB_SOURCE_DIR;
    auto model = LanguageModel::open(root + "/models/tiny-b");
    std::vector<datasets::Suite> suites;
    for (const char* s : {"world-facts-mc", "world-facts-qa", "world-stories-continue", "world-stories-ppl"})
        suites.push_back(datasets::load_suite(root + "/datasets/suites/" + s + ".json"));
    const eval::Report base = eval::evaluate(*model, nullptr, suites, {}).report;

    QTemporaryDir tmp;
    const QString folder = tmp.filePath(QStringLiteral("ws"));
    QDir().mkpath(folder + QStringLiteral("/runs"));
    double t0 = now();
    for (int i = 0; i < runs; ++i) {
        eval::Report r = base;
        r.model.path = "/models/model-" + std::to_string(i % 7);
        char when[32];
        std::snprintf(when, sizeof when, "2026-%02d-%02dT%02d:%02d:00Z", 1 + i % 11, 1 + i % 28, i % 24, i % 60);
        r.execution.started = when;
        for (auto& s : r.suites)
            for (auto& a : s.aggregates) a.value *= 0.5 + (i % 100) / 100.0;
        const QString dir = folder + QStringLiteral("/runs/run-%1").arg(i, 4, 10, QLatin1Char('0'));
        QDir().mkpath(dir);
        eval::write_report((dir + QStringLiteral("/report.json")).toStdString(), r);
        std::ofstream((dir + QStringLiteral("/run.json")).toStdString())
            << nlohmann::json{{"schema", "lmwb.run"}, {"status", "finished"}, {"model_path", r.model.path}, {"created", when}}.dump();
    }
    const double write_s = now() - t0;

    // The GUI's start on a folder never indexed: Sync::Later returns at once, a job builds the index.
    t0 = now();
    double later_s = 0;
    {
        gui::Workspace ws(folder, gui::Workspace::Sync::Later);
        later_s = now() - t0;
        gui::Workspace::syncFolder(folder, lmwb::Control{});
    }
    const double build_s = now() - t0;
    std::vector<double> open_s, reread_s;
    std::vector<std::vector<double>> filter_ms(5);
    const std::string item = base.suites[1].items[7].id;
    std::size_t listed = 0;
    for (int round = 0; round < rounds; ++round) {
        t0 = now();
        gui::Workspace ws(folder);
        listed = ws.runs().size();
        open_s.push_back(now() - t0);
        std::vector<gui::RunFilter> filters(5);
        filters[0].model = QStringLiteral("model-3");
        filters[1].suite = QStringLiteral("world-facts-mc");
        filters[1].metric = QStringLiteral("acc");
        filters[1].low = 0.6;
        filters[1].high = 0.9;
        filters[2].from = QDateTime::fromString(QStringLiteral("2026-03-01T00:00:00Z"), Qt::ISODate);
        filters[2].to = QDateTime::fromString(QStringLiteral("2026-06-30T00:00:00Z"), Qt::ISODate);
        filters[3].search = QString::fromStdString(item);
        filters[4].metric = QStringLiteral("bleu");
        filters[4].low = 10;
        for (std::size_t k = 0; k < filters.size(); ++k) {
            t0 = now();
            auto hits = ws.runs(filters[k]);
            filter_ms[k].push_back((now() - t0) * 1000);
        }
        // The reference: every report parsed again, as a program without an index would on each start.
        t0 = now();
        std::size_t n = 0;
        for (const auto& d : QDir(folder + QStringLiteral("/runs")).entryList(QDir::Dirs | QDir::NoDotAndDotDot))
            n += eval::read_report((folder + QStringLiteral("/runs/") + d + QStringLiteral("/report.json")).toStdString()).suites.size() > 0;
        reread_s.push_back(now() - t0);
    }
    std::printf("workspace of %d reports (%zu listed), %zu items each; written in %.1f s; medians of %d rounds\n", runs, listed,
                static_cast<std::size_t>(194), write_s, rounds);
    std::printf("%-58s %10s %10s\n", "measure", "value", "target");
    std::printf("%-58s %10.2f\n", "index built from the files (first open, off the GUI thread), s", build_s);
    std::printf("%-58s %10.3f %10s\n", "GUI thread blocked by that first open, s", later_s, "< 0.1");
    std::printf("%-58s %10.3f %10s\n", "open with a current index + list every run, s", median(open_s), "< 1");
    std::printf("%-58s %10.3f\n", ("reference: re-read the " + std::to_string(runs) + " JSON reports, s").c_str(), median(reread_s));
    std::printf("%-58s %10.1f\n", "  ratio (re-read / open)", median(reread_s) / std::max(1e-9, median(open_s)));
    const char* names[] = {"filter: model name", "filter: suite + acc in [0.6, 0.9]", "filter: start date range", "filter: item id search",
                           "filter: bleu >= 10"};
    double worst = 0;
    for (std::size_t k = 0; k < 5; ++k) {
        std::printf("%-58s %10.1f %10s\n", (std::string(names[k]) + ", ms").c_str(), median(filter_ms[k]), "< 100");
        worst = std::max(worst, median(filter_ms[k]));
    }
    return median(open_s) < 1 && worst < 100 && later_s < 0.1 ? 0 : 2;
}
