// Renders each main view with the bundled models to PNG files in the build folder (label `screenshots`), so that a
// person can look at what a user sees: build/screenshots/*.png.
#include <catch2/catch.hpp>

#include <QDir>
#include <QFile>
#include <QTabWidget>

#include "compare_view.h"
#include "item_models.h"
#include "model_view.h"
#include <QTableView>
#include "gui_support.h"
#include "inspector.h"
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
    REQUIRE(waitFor([&] { return static_cast<bool>(s.model); }, 20000));
    for (const char* n : {"world-facts-mc", "world-facts-qa", "world-stories-ppl"})
        REQUIRE(w.openSuite(suites + QStringLiteral("/") + QLatin1String(n) + QStringLiteral(".json")));
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
    REQUIRE(waitFor([&] { return static_cast<bool>(s.report); }, 120000));
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

    // Compare tiny-a with tiny-b on the same items.
    auto b = s.report;
    w.openModel(models + QStringLiteral("/tiny-a"));
    REQUIRE(waitFor([&] { return s.model_path.endsWith(QStringLiteral("tiny-a")); }, 20000));
    w.runView()->run();
    REQUIRE(waitFor([&] { return s.report != b; }, 120000));
    s.addCompared(s.report, QStringLiteral("tiny-a"));
    s.addCompared(b, QStringLiteral("tiny-b"));
    shot(w.compareView(), "compare");
    CHECK(w.compareView()->items()->rowCount() > 0);
    CHECK(w.compareView()->barsPlot()->exportTo(out + QStringLiteral("/compare-bars.svg")));
    CHECK(w.compareView()->barsPlot()->exportTo(out + QStringLiteral("/compare-bars.pdf")));
    REQUIRE(w.exportTable(out + QStringLiteral("/compare-items.csv"), w.compareView()->statusFilter()));
    QFile csv(out + QStringLiteral("/compare-items.csv"));
    REQUIRE(csv.open(QIODevice::ReadOnly));
    CHECK(csv.readLine().startsWith("suite,id,metric,baseline,other,status"));
}
