// GUI speed and memory (offscreen): start-up to a usable window with the bundled model; the attention view for a
// 512-token prompt on the GPT-2-small-sized checkpoint (bench_model writes it): layer and head switches, redrawn;
// the process's peak memory; Esc during integrated gradients on a 278-word prompt, and closing the window while it runs,
// each until "cancelled" shows (the job has returned) and until the process's CPU is idle. --llama-1b: the 1.24 B
// checkpoint bench_cancel --llama-1b writes, instead of GPT-2 small.
//   bench_gui [--dir DIR | --llama-1b]
#include <QAction>
#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QThread>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include <unistd.h>

#include "bench_support.h"
#include "inspector.h"
#include "main_window.h"
#include "plots.h"
#include "session.h"

using lmwb::bench::median;
using lmwb::bench::now;
using lmwb::bench::status_kb;

namespace {

using lmwb::gui::waitUntil;
constexpr auto waitFor = [](const std::function<bool()>& p, int ms) { return waitUntil(p, ms); };

// Seconds since the process started (exec, dynamic loading of Qt and LibTorch included).
double process_age() {
    std::ifstream stat("/proc/self/stat"), uptime("/proc/uptime");
    std::string s((std::istreambuf_iterator<char>(stat)), {});
    auto close = s.rfind(')');
    std::istringstream fields(s.substr(close + 2));
    std::string f;
    for (int i = 3; i <= 22; ++i) fields >> f;  // field 22: start time in clock ticks after boot
    double up = 0;
    uptime >> up;
    return up - std::stod(f) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    std::string dir = (std::filesystem::temp_directory_path() / "lmwb-bench-gpt2-small").string();
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--dir" && i + 1 < argc) dir = argv[++i];
        if (std::string(argv[i]) == "--llama-1b") dir = (std::filesystem::temp_directory_path() / "lmwb-bench-llama-1b").string();
    }
    QElapsedTimer start;
    start.start();
    QApplication app(argc, argv);
    auto* window = new lmwb::gui::MainWindow;
    auto& w = *window;
    w.setQuiet(true);
    w.resize(1500, 950);
    w.openModel(QStringLiteral(LMWB_SOURCE_DIR "/models/tiny-b"));
    w.show();
    if (!waitFor([&] { return static_cast<bool>(w.session().model()); }, 30000)) return 1;
    QCoreApplication::processEvents();
    double startup = static_cast<double>(start.elapsed()) / 1000.0, from_exec = process_age();

    bool big = std::filesystem::exists(dir + "/model.safetensors");
    std::vector<double> layer_ms, head_ms;
    double attention_s = 0;
    int tokens = 0;
    if (big) {
        w.openModel(QString::fromStdString(dir));
        const QString wanted = QFileInfo(QString::fromStdString(dir)).canonicalFilePath();
        if (!waitFor([&] { return w.session().model() && QFileInfo(w.session().model_path()).canonicalFilePath() == wanted; }, 120000)) return 1;
        std::mt19937 rng(1);
        QString prompt;
        for (int i = 0; i < 511; ++i) prompt += (i ? QStringLiteral(" w") : QStringLiteral("w")) + QString::number(rng() % 50000);
        auto* insp = w.inspector();
        insp->setPrompt(prompt, QStringLiteral(" w7"));
        QElapsedTimer t;
        t.start();
        insp->runAttention();
        if (!waitFor([&] { return insp->attentionMaps() != nullptr; }, 120000)) return 1;
        attention_s = static_cast<double>(t.elapsed()) / 1000.0;
        tokens = insp->attentionMaps()->length;
        auto* map = insp->attentionMap();
        for (int round = 0; round < 2; ++round) {
            for (int l = 0; l < static_cast<int>(w.session().model()->info().layers); ++l) {
                t.restart();
                insp->selectLayer(l);
                map->replot(QCustomPlot::rpImmediateRefresh);
                layer_ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
            }
            for (int h = 0; h < 15; ++h) {  // mean, max, rollout, heads 0..11
                t.restart();
                insp->selectHead(h);
                map->replot(QCustomPlot::rpImmediateRefresh);
                head_ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
            }
        }
    }
    // Esc, then closing the window, each two seconds into integrated gradients on a 278-token prompt.
    double esc_s = -1, close_s = -1, esc_idle_s = -1, close_idle_s = -1;
    if (big) {
        std::mt19937 rng(2);
        QString prompt;
        for (int i = 0; i < 278; ++i) prompt += (i ? QStringLiteral(" w") : QStringLiteral("w")) + QString::number(rng() % 50000);
        w.inspector()->setPrompt(prompt, QStringLiteral(" w7 w8"));
        QAction* esc = nullptr;
        for (auto* a : w.findChildren<QAction*>())
            if (a->shortcut() == QKeySequence(Qt::Key_Escape)) esc = a;
        auto& jobs = w.session().jobs;
        w.inspector()->runAttribution(lmwb::attr::Method::IntegratedGradients);
        waitFor([] { return false; }, 2000);
        if (esc && jobs.runningCount() == 1) {
            const double t0 = now();
            auto idle = std::async(std::launch::async, [t0] { return lmwb::bench::until_cpu_idle(t0, 10.0); });
            esc->trigger();
            if (waitFor([&] { return jobs.runningCount() == 0; }, 30000)) esc_s = now() - t0;
            esc_idle_s = idle.get();
        }
        w.inspector()->runAttribution(lmwb::attr::Method::IntegratedGradients);
        waitFor([] { return false; }, 2000);
        if (jobs.runningCount() == 1) {
            const double t0 = now();
            auto idle = std::async(std::launch::async, [t0] { return lmwb::bench::until_cpu_idle(t0, 10.0); });
            w.close();
            delete window;
            window = nullptr;
            close_s = now() - t0;
            close_idle_s = idle.get();
        }
    }
    double peak_mb = static_cast<double>(status_kb("VmHWM:")) / 1024.0;
    std::printf("\n%-64s %10s %10s\n", "measure", "value", "target");
    std::printf("%-64s %10.2f %10s\n", "start-up to a usable window with the bundled model (from exec), s", from_exec, "< 2");
    std::printf("%-64s %10.2f\n", "  of which after main(): window, model load, first paint, s", startup);
    if (big) {
        std::printf("%-64s %10.2f\n", ("attention maps computed for " + std::to_string(tokens) + " tokens, every layer and head, s").c_str(), attention_s);
        std::printf("%-64s %10.1f %10s\n", "layer switch + redraw, ms (median)", median(layer_ms), "< 50");
        std::printf("%-64s %10.1f %10s\n", "layer switch + redraw, ms (worst)", *std::max_element(layer_ms.begin(), layer_ms.end()), "");
        std::printf("%-64s %10.1f %10s\n", "head switch + redraw, ms (median)", median(head_ms), "< 50");
        std::printf("%-64s %10.1f %10s\n", "head switch + redraw, ms (worst)", *std::max_element(head_ms.begin(), head_ms.end()), "");
        std::printf("%-64s %10.2f %10s\n", "Esc 2 s into IG (278 words) until \"cancelled\" shows, s", esc_s, "< 1");
        std::printf("%-64s %10.2f %10s\n", "Esc 2 s into IG until the CPU is idle, s", esc_idle_s, "< 1");
        std::printf("%-64s %10.2f %10s\n", "closing the window 2 s into IG until it is gone, s", close_s, "< 1");
        std::printf("%-64s %10.2f %10s\n", "closing the window 2 s into IG until the CPU is idle, s", close_idle_s, "< 1");
    } else {
        std::printf("(no %s: run build/bench/bench_model once for the attention measurements)\n", dir.c_str());
    }
    std::printf("%-64s %10.0f %10s\n", "GUI process peak resident memory, MB", peak_mb, "< 1536");
    delete window;
    return 0;
}
