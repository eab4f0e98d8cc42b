// Renders each main view with the bundled models to PNG files in the build folder (label `screenshots`), so that a
// person can look at what a user sees: build/screenshots/*.png.
#include <catch2/catch.hpp>

#include <cmath>

#include <QDir>
#include <QFile>
#include <QTabWidget>
#include <QTemporaryDir>

#include "circuits_view.h"
#include "head_grid.h"
#include "side_by_side_view.h"
#include "compare_view.h"
#include "history_view.h"
#include "item_models.h"
#include "model_view.h"
#include <QTableView>
#include "gui_support.h"
#include "inspector.h"
#include "inspector_pages.h"
#include "main_window.h"
#include "plots.h"
#include "run_view.h"
#include "session.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::waitFor;

TEST_CASE("screenshots of the main views", "[screenshots]") {
    const QString out = QStringLiteral(LMWB_SCREENSHOTS);
    QDir().mkpath(out);
    MainWindow w;
    w.setQuiet(true);
    w.resize(1500, 950);
    w.show();
    Session& s = w.session();
    const QString models = QStringLiteral(LMWB_MODELS), suites = QStringLiteral(LMWB_SUITES);
    w.openModel(models + QStringLiteral("/tiny-b"));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model()); }, 20000));
    QStringList suite_files;
    for (const char* n : {"world-facts-mc", "world-facts-qa", "world-stories-ppl"}) suite_files << suites + QStringLiteral("/") + QLatin1String(n) + QStringLiteral(".json");
    REQUIRE(w.openSuites(suite_files));
    REQUIRE(waitFor([&] { return s.suites().size() == 3; }, 20000));
    auto shot = [&](QWidget* view, const char* name) {
        w.tabs()->setCurrentWidget(view);
        waitFor([] { return false; }, 300);  // let queued replots run
        QString path = out + QStringLiteral("/") + QLatin1String(name) + QStringLiteral(".png");
        CHECK(w.grab().save(path));
        CHECK(QFileInfo(path).size() > 10000);
    };
    shot(w.modelView(), "model");
    w.runView()->setLimit(0);
    w.runView()->run();
    REQUIRE(waitFor([&] { return static_cast<bool>(s.report()); }, 120000));
    w.runView()->table()->selectRow(2);
    shot(w.runView(), "run");

    emit s.inspectRequested(0, 4);
    REQUIRE(waitFor([&] { return w.inspector()->attentionMaps() != nullptr; }, 20000));
    w.inspector()->tabs()->setCurrentIndex(0);
    shot(w.inspector(), "inspector-attention");
    w.inspector()->runAttribution(attr::Method::IntegratedGradients);
    REQUIRE(waitFor([&] { return w.inspector()->attribution() != nullptr; }, 60000));
    shot(w.inspector(), "inspector-attribution");
    w.inspector()->runUncertainty();
    REQUIRE(waitFor([&] { return w.inspector()->uncertainty() != nullptr; }, 60000));
    shot(w.inspector(), "inspector-uncertainty");
    w.inspector()->tabs()->setCurrentIndex(3);
    shot(w.inspector(), "inspector-calibration");
    // Circuits: patching (France vs Italy) and direct logit attribution (Paris vs Rome); generated text.
    w.inspector()->setPrompt(QStringLiteral("The capital of France is"), QStringLiteral(" Paris"));
    w.inspector()->circuitsView()->setCorrupted(QStringLiteral("The capital of Italy is"));
    w.inspector()->runPatching();
    REQUIRE(waitFor([&] { return w.inspector()->circuitsView()->patching() != nullptr; }, 60000));
    w.inspector()->setContrast(QStringLiteral(" Rome"));
    w.inspector()->runDirectLogit();
    REQUIRE(waitFor([&] { return !w.inspector()->circuitsView()->directLogitBars()->isEmpty(); }, 60000));
    shot(w.inspector(), "inspector-circuits");
    w.inspector()->circuitsView()->selectSite(Site::Heads);
    shot(w.inspector(), "inspector-circuits-heads");
    w.inspector()->setContrast(QString());
    w.inspector()->setPrompt(QStringLiteral("On Monday, Ana went to the park with Ben."), QStringLiteral(" Ana read a book."));
    w.inspector()->runGeneration();
    REQUIRE(waitFor([&] { return w.inspector()->generationView()->result() != nullptr; }, 120000));
    w.inspector()->generationView()->shadeRow(2);
    shot(w.inspector(), "inspector-generation");
    w.inspector()->setPrompt(QStringLiteral("On Monday, Ana went to the park with Ben. On Monday, Ana went to the park"), QString());
    w.inspector()->runAttention();
    REQUIRE(waitFor([&] { return w.inspector()->attentionMaps() && w.inspector()->attentionMaps()->length > 15; }, 20000));
    w.inspector()->runHeadSummaries();
    REQUIRE(waitFor([&] { return w.inspector()->headGrid()->thumbnails()->describe(0, 0).contains(QStringLiteral("induction")); }, 30000));
    shot(w.inspector(), "inspector-heads");
    w.inspector()->openOtherModel(models + QStringLiteral("/tiny-a"));
    REQUIRE(waitFor([&] { return static_cast<bool>(s.other_model()); }, 20000));
    w.inspector()->setPrompt(QStringLiteral("Question: What is the capital of France?\nAnswer:"), QStringLiteral(" Paris"));
    w.inspector()->runSideBySide();
    REQUIRE(waitFor([&] { return w.inspector()->sideBySideView()->result() != nullptr; }, 60000));
    shot(w.inspector(), "inspector-side-by-side");

    // A 1,024-token attention map (a fixture Llama with its context raised: RoPE has no learned positions): cells
    // full size, labels thinned to what fits, then zoomed to 40 tokens where every token is labelled.
    {
        QTemporaryDir dir;
        const QString model = dir.filePath(QStringLiteral("llama-1k"));
        QDir().mkpath(model);
        const QString src = QStringLiteral(LMWB_FIXTURES "/models/llama/");
        for (const char* f : {"model.safetensors", "tokenizer.json"}) REQUIRE(QFile::copy(src + QLatin1String(f), model + QStringLiteral("/") + QLatin1String(f)));
        QFile in(src + QStringLiteral("config.json")), out_cfg(model + QStringLiteral("/config.json"));
        REQUIRE(in.open(QIODevice::ReadOnly));
        REQUIRE(out_cfg.open(QIODevice::WriteOnly));
        out_cfg.write(in.readAll().replace("\"max_position_embeddings\": 64", "\"max_position_embeddings\": 2048"));
        out_cfg.close();
        auto b_report = s.report();
        w.openModel(model);
        REQUIRE(waitFor([&] { return s.model_path() == model && s.model(); }, 20000));
        QString text;
        const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "looked", "at", "stars", "under", "blue", "sky"};
        for (unsigned k = 1; static_cast<int>(s.model()->tokenizer().encode(text.toStdString(), false).ids.size()) < 1024; k = k * 7 % 101)
            text += QLatin1String(words[k % 13]) + QStringLiteral(" ");
        auto ids = s.model()->tokenizer().encode(text.toStdString(), false).ids;
        while (ids.size() > 1024) {
            text.chop(1);
            ids = s.model()->tokenizer().encode(text.toStdString(), false).ids;
        }
        w.inspector()->setPrompt(text, QString());
        w.inspector()->runAttention();
        REQUIRE(waitFor([&] { return w.inspector()->attentionMaps() != nullptr && w.inspector()->attentionMaps()->length >= 1000; }, 60000));
        // Head 0 of the last layer: cells of 4 tokens (means over the unmasked positions only; the future is blank).
        const attr::AttentionMaps* maps = w.inspector()->attentionMaps();
        AttentionPage* page = w.inspector()->attentionPage();
        w.inspector()->selectHead(3);
        shot(w.inspector(), "inspector-attention-1024");
        Heatmap* map = w.inspector()->attentionMap();
        CHECK(maps->block == 4);
        CHECK(map->rows() == maps->display);
        CHECK(std::isnan(map->value(0, 1)));
        CHECK(map->labelStep(Qt::Horizontal) > 1);
        CHECK(lmwb::test::tickLabelProblem(map->xAxis, map) == QString());
        CHECK(lmwb::test::tickLabelProblem(map->yAxis, map) == QString());
        // Zoomed to 40 tokens: that part of the layer is computed at token resolution, every token labelled, the
        // values those of the whole-map computation.
        page->showTokens(500, 539);
        REQUIRE(waitFor([&] { return page->window() != nullptr; }, 60000));
        shot(w.inspector(), "inspector-attention-1024-zoomed");
        CHECK(page->visibleTokens() == std::make_pair(500, 539));
        CHECK(map->labelStep(Qt::Horizontal) == 1);
        CHECK(lmwb::test::tickLabelProblem(map->xAxis, map) == QString());
        CHECK(lmwb::test::tickLabelProblem(map->yAxis, map) == QString());
        const attr::AttentionWindow* window = page->window();
        CHECK(window->layer == maps->layers - 1);
        const auto [c0, c1] = map->visibleColumns();
        CHECK(c1 - c0 == 39);
        const auto whole = attr::attention_maps(*s.model(), text.toStdString(), window->layer, 0);
        const auto T = static_cast<std::size_t>(whole.length);
        for (int q = 500; q <= 539; q += 13)
            for (int k = 480; k <= q; k += 7)
                CHECK(map->value(q - window->first, k - window->first) ==
                      Approx(whole.selected[static_cast<std::size_t>(q) * T + static_cast<std::size_t>(k)]).margin(1e-6));
        CHECK(map->cellText(539 - window->first, 500 - window->first).startsWith(QStringLiteral("query 539 ")));
        CHECK(map->cellText(539 - window->first, 500 - window->first).contains(QStringLiteral("→ key 500 ")));
        // Another layer keeps the tokens and computes them again; Reset view returns to the cells.
        w.inspector()->selectLayer(0);
        REQUIRE(waitFor([&] { return page->window() != nullptr && page->window()->layer == 0; }, 60000));
        CHECK(page->visibleTokens() == std::make_pair(500, 539));
        page->showTokens(0, 1023);
        CHECK(page->window() == nullptr);
        CHECK(map->rows() == maps->display);
        w.openModel(models + QStringLiteral("/tiny-b"));
        REQUIRE(waitFor([&] { return s.model_path().endsWith(QStringLiteral("tiny-b")) && s.model(); }, 20000));
        s.setReport(b_report, QStringLiteral("tiny-b"));
    }

    // Compare tiny-a with tiny-b on the same items.
    auto b = s.report();
    w.openModel(models + QStringLiteral("/tiny-a"));
    REQUIRE(waitFor([&] { return s.model_path().endsWith(QStringLiteral("tiny-a")); }, 20000));
    w.runView()->run();
    REQUIRE(waitFor([&] { return s.report() != b; }, 120000));
    s.addCompared(s.report(), QStringLiteral("tiny-a"));
    s.addCompared(b, QStringLiteral("tiny-b"));
    REQUIRE(waitFor([&] { return !w.compareView()->comparisons().empty(); }, 60000));
    shot(w.compareView(), "compare");
    w.historyView()->refresh();
    shot(w.historyView(), "history");
    CHECK(w.compareView()->items()->rowCount() > 0);
    CHECK(w.compareView()->barsPlot()->exportTo(out + QStringLiteral("/compare-bars.svg")));
    CHECK(w.compareView()->barsPlot()->exportTo(out + QStringLiteral("/compare-bars.pdf")));
    REQUIRE(w.exportTable(out + QStringLiteral("/compare-items.csv"), w.compareView()->statusFilter()));
    QFile csv(out + QStringLiteral("/compare-items.csv"));
    REQUIRE(csv.open(QIODevice::ReadOnly));
    CHECK(csv.readLine().startsWith("run,suite,id,metric,baseline,run value,status"));
}
