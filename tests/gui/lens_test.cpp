// The logit lens in the window: Ctrl+5 fills the layer x position table; the model passes the item-model tester;
// the last row shows the model's own top tokens.
#include <catch2/catch.hpp>

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QTableView>

#include "gui_support.h"
#include "inspector.h"
#include "lens_view.h"
#include "main_window.h"
#include "session.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::waitFor;

TEST_CASE("logit lens view: layers by positions, shaded top tokens, details on click", "[gui][lens]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* lens = w.inspector()->lensView();
    QAbstractItemModelTester tester(lens->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    CHECK(lens->model()->rowCount() == 0);
    CHECK_FALSE(lens->detail()->text().isEmpty());  // says what to do
    w.inspector()->setPrompt(QStringLiteral("Question: What color is the sky?\nAnswer:"), QStringLiteral(" blue"));
    w.inspector()->runLens();
    REQUIRE(waitFor([&] { return lens->model()->rowCount() > 0; }, 20000));
    const auto* l = lens->model()->lens();
    CHECK(lens->model()->rowCount() == static_cast<int>(w.session().model()->info().layers) + 1);
    CHECK(lens->model()->columnCount() == l->length);
    CHECK(lens->model()->headerData(0, Qt::Vertical, Qt::DisplayRole).toString() == QStringLiteral("embeddings"));
    // The last row: the model's own prediction, " blue" at the last position.
    const int last = lens->model()->rowCount() - 1, end = l->length - 1;
    CHECK(lens->model()->data(lens->model()->index(last, end), Qt::DisplayRole).toString() == QStringLiteral(" blue"));
    CHECK(lens->model()->describe(last, end).contains(QStringLiteral("target rank 1")));
    CHECK(lens->model()->data(lens->model()->index(0, 0), Qt::BackgroundRole).isValid());
    CHECK(w.inspector()->tabs()->currentWidget() == w.inspector()->pageFor("logit-lens"));  // the page that holds the lens
}

TEST_CASE("inspector: a contrast foil gives the target's rows and the foil's, and marks older results stale", "[gui][contrast]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* in = w.inspector();
    in->setPrompt(QStringLiteral("Question: What is the capital of France?\nAnswer:"), QStringLiteral(" Paris"));
    in->setContrast(QStringLiteral(" Rome"));
    in->runAttribution(attr::Method::GradientXInput);
    REQUIRE(waitFor([&] { return in->attribution() != nullptr; }, 30000));
    const auto* r = in->attribution();
    CHECK(r->contrast == " Rome");
    CHECK(r->matrix.size() == (r->target_tokens.size() + r->contrast_tokens.size()) * r->prompt_tokens.size());
    CHECK(in->deltaLabel()->text().contains(QStringLiteral("log p(target) − log p(foil)")));
    CHECK_FALSE(in->isStale(InspectorView::View::Attribution));
    in->setContrast(QStringLiteral(" Berlin"));
    CHECK(in->isStale(InspectorView::View::Attribution));
}
