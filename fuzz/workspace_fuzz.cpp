// The run history's index on hostile bytes: index.sqlite and a second run's run.json come from the input (separated
// as fuzz_support.h says), beside one real finished run. Whatever the bytes, the workspace opens, answers every
// query without throwing, and after a rebuild lists exactly the two run folders on disk (the index is a cache).
#include <QCoreApplication>
#include <QString>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "fuzz_support.h"
#include "workspace.h"

namespace fs = std::filesystem;

namespace {

const std::string& report_text() {
    static const std::string text = [] {
        std::ifstream in(LMWB_REPORT_SEED, std::ios::binary);
        std::string t((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (t.empty()) std::abort();
        return t;
    }();
    return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static int argc = 1;
    static char name[] = "fuzz_workspace";
    static char* argv[] = {name, nullptr};
    static QCoreApplication app(argc, argv);  // the SQLite driver is a plugin
    const auto parts = lmwb::fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size), 2);
    std::error_code ec;
    fs::remove_all(lmwb::fuzz::scratch() / "ws", ec);
    lmwb::fuzz::write_file("ws/runs/20260101-000000-a/run.json",
                           R"({"schema": "lmwb.run", "status": "finished", "model_path": "/m/a", "created": "2026-01-01T00:00:00Z"})");
    lmwb::fuzz::write_file("ws/runs/20260101-000000-a/report.json", report_text());
    lmwb::fuzz::write_file("ws/runs/20260102-000000-b/run.json", parts.size() > 1 ? parts[1] : "");
    lmwb::fuzz::write_file("ws/index.sqlite", parts[0]);
    const QString folder = QString::fromStdString((lmwb::fuzz::scratch() / "ws").string());
    try {
        lmwb::gui::Workspace ws(folder);
        lmwb::gui::RunFilter filter;
        filter.metric = QStringLiteral("acc");
        filter.low = 0.5;
        filter.search = QStringLiteral("sky");
        ws.runs();
        ws.runs(filter);
        ws.models();
        ws.suites();
        ws.metrics();
        ws.runCount();
        ws.itemMetrics(folder + QStringLiteral("/runs/20260101-000000-a"), QStringLiteral("world-facts-mc"), QStringLiteral("acc"));
        ws.run(folder + QStringLiteral("/runs/20260102-000000-b"));
        ws.sync();
        ws.rebuild();
        lmwb::fuzz::check(ws.runs().size() == 2, "a rebuilt index lists every run folder");
        lmwb::fuzz::check(ws.runCount() == 2, "a rebuilt index counts every run folder");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "the workspace threw: %s\n", e.what());
        std::abort();
    }
    return 0;
}
