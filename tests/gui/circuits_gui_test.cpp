// The Circuits and Generated text tabs: Ctrl+6 fills the patching maps, Ctrl+7 the direct logit bars and head map,
// Ctrl+8 the [generated × prompt + generated] matrix whose rows shade the tokens; edits mark results stale.
#include <catch2/catch.hpp>

#include <QHelpEvent>
#include <QToolTip>
#include <cmath>

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QTabWidget>
#include <QTest>
#include <QTextBrowser>

#include "circuits_view.h"
#include "head_grid.h"
#include "side_by_side_view.h"
#include "gui_support.h"
#include "inspector.h"
#include "main_window.h"
#include "plots.h"
#include "session.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::waitFor;

TEST_CASE("circuits tab: patching maps per site, direct logit bars and heads, staleness", "[gui][circuits]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* in = w.inspector();
    auto* c = in->circuitsView();
    CHECK(c->patchingMap()->isEmpty());
    in->setPrompt(QStringLiteral("The capital of France is"), QStringLiteral(" Paris"));
    c->setCorrupted(QStringLiteral("The capital of Italy is"));
    in->runPatching();
    REQUIRE(waitFor([&] { return c->patching() != nullptr; }, 60000));
    CHECK(in->tabs()->currentWidget() == in->pageFor("patching"));  // the page that holds the view
    const auto* p = c->patching();
    CHECK_FALSE(c->patchingMap()->isEmpty());
    CHECK(c->patchingMap()->rows() == p->layers);
    CHECK(c->patchingMap()->cols() == static_cast<int>(p->positions.size()));
    // Restoring the last layer at the last position recovers the clean output.
    CHECK(c->patchingMap()->value(p->layers - 1, static_cast<int>(p->positions.size()) - 1) == Approx(1.0).margin(1e-4));
    c->selectSite(Site::Heads);
    CHECK(c->patchingMap()->cols() == p->heads);
    CHECK(c->summary()->text().contains(QStringLiteral("clean")));
    // Colours span the meaningful range of a recovered fraction, whatever the cells hold; a small clean − corrupted
    // difference is called out.
    CHECK(c->patchingMap()->colourRange() == QCPRange(-1, 1));
    CHECK(c->summary()->text().contains(QStringLiteral("differ by only")) == (std::fabs(p->clean - p->corrupted) < CircuitsView::kSmallGap));
    // The hover tooltip after the delay is the cell's, with its position, not the map's own tooltip.
    c->patchingMap()->setToolTip(QStringLiteral("generic"));
    {
        w.resize(1400, 900);
        w.show();
        w.tabs()->setCurrentWidget(in);
        QApplication::processEvents();
        Heatmap* m = c->patchingMap();
        m->replot();
        const QPoint at(static_cast<int>(m->xAxis->coordToPixel(0)), static_cast<int>(m->yAxis->coordToPixel(0)));
        QHelpEvent help(QEvent::ToolTip, at, m->mapToGlobal(at));
        QApplication::sendEvent(m, &help);
        CHECK(QToolTip::text() == m->cellText(0, 0));
        QToolTip::hideText();
    }
    c->setCorrupted(QStringLiteral("The capital of Spain is"));
    CHECK(in->isStale(InspectorView::View::Patching));
    CHECK(c->patchingMap()->staleText().contains(QStringLiteral("Ctrl+6")));
    c->selectSite(Site::Mlp);  // another site of the same stale result stays stale
    CHECK(c->patchingMap()->staleText().contains(QStringLiteral("Ctrl+6")));

    in->setContrast(QStringLiteral(" Rome"));
    in->runDirectLogit();
    REQUIRE(waitFor([&] { return !c->directLogitBars()->isEmpty(); }, 60000));
    CHECK(c->directLogitHeads()->rows() == static_cast<int>(w.session().model()->info().layers));
    CHECK(c->directLogitSummary()->text().contains(QStringLiteral("gap")));
    CHECK(c->summary()->text().contains(QStringLiteral("Recovered fraction")));  // patching's caption stays
    CHECK(c->directLogitBars()->staleText().isEmpty());  // the patching map is stale, the direct logit views are not
    CHECK_FALSE(c->patchingMap()->staleText().isEmpty());
}

TEST_CASE("generated text tab: the matrix over prompt and generated tokens, rows shade the tokens", "[gui][generation]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* in = w.inspector();
    auto* g = in->generationView();
    in->setPrompt(QStringLiteral("On Monday, Ana went to the park with Ben."), QStringLiteral(" Ana read a book."));
    in->runGeneration();
    REQUIRE(waitFor([&] { return g->result() != nullptr; }, 120000));
    const auto* r = g->result();
    CHECK(g->matrix()->rows() == static_cast<int>(r->generated_tokens.size()));
    CHECK(g->matrix()->cols() == static_cast<int>(r->columns()));
    // Causal: a row has nothing at or after its own token.
    const int P = static_cast<int>(r->prompt_tokens.size());
    CHECK(g->matrix()->value(0, P) == 0.0);
    g->shadeRow(1);
    CHECK(g->tokens()->toHtml().contains(QStringLiteral("background-color")));
    CHECK(g->tokens()->toPlainText().contains(QStringLiteral("Row 1")));
    CHECK(g->summary()->text().contains(QStringLiteral("largest delta")));
}

TEST_CASE("heads tab: every layer x head as a thumbnail, summaries as captions, a click opens the head", "[gui][heads]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* in = w.inspector();
    auto* grid = in->headGrid()->thumbnails();
    CHECK(grid->headAt(grid->cellRect(0, 0).center()) == std::make_pair(-1, -1));  // nothing before Attention
    in->setPrompt(QStringLiteral("On Monday, Ana went to the park with Ben. On Monday, Ana went to the park"), QString());
    in->runAttention();
    REQUIRE(waitFor([&] { return in->attentionMaps() != nullptr; }, 20000));
    const auto& info = w.session().model()->info();
    const int L = static_cast<int>(info.layers), H = static_cast<int>(info.heads);
    CHECK(grid->headAt(grid->cellRect(L - 1, H - 1).center()) == std::make_pair(L - 1, H - 1));
    CHECK(grid->sizeHint().width() >= grid->cellRect(0, H - 1).right());
    in->runHeadSummaries();
    REQUIRE(waitFor([&] { return grid->describe(0, 0).contains(QStringLiteral("induction")); }, 30000));
    // A click on a thumbnail opens that head in the attention view.
    QTest::mouseClick(grid, Qt::LeftButton, {}, grid->cellRect(1, 2).center());
    CHECK(in->tabs()->currentIndex() == 0);
    CHECK(in->attentionMap()->title().contains(QStringLiteral("head 2")));
}

TEST_CASE("side by side tab: model B beside A, aligned segments shaded by B - A, attributions by word", "[gui][side-by-side]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* in = w.inspector();
    auto* v = in->sideBySideView();
    QAbstractItemModelTester tester(v->segments(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    in->openOtherModel(QStringLiteral(LMWB_MODELS "/tiny-a"));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().other_model()); }, 20000));
    in->setPrompt(QStringLiteral("Question: What is the capital of France?\nAnswer:"), QStringLiteral(" Paris"));
    in->runSideBySide();
    REQUIRE(waitFor([&] { return v->result() != nullptr; }, 60000));
    const auto* r = v->result();
    CHECK(r->same_tokens);
    CHECK(v->segments()->rowCount() == static_cast<int>(r->segments.size()));
    CHECK(v->segments()->data(v->segments()->index(0, 5), Qt::BackgroundRole).isValid());
    CHECK(v->responses()->text().contains(QStringLiteral("token by token")));
    CHECK_FALSE(v->barsA()->isEmpty());
    CHECK_FALSE(v->barsB()->isEmpty());
    CHECK(v->barsA()->yAxis->range() == v->barsB()->yAxis->range());  // one scale for A and B
    CHECK(r->a_total > r->b_total);  // tiny-b knows Paris; tiny-a does not
    v->setMethod(attr::Method::GradientXInput);  // any method, in both
    in->runSideBySide();
    REQUIRE(waitFor([&] { return v->result() != r && v->result()->a_attribution.method == "grad-x-input"; }, 60000));
    CHECK(v->result()->b_attribution.method == "grad-x-input");
}

TEST_CASE("patching with a corruption that changes nothing says its fractions are noise", "[gui][circuits]") {
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openModel(QStringLiteral(LMWB_MODELS "/tiny-b")));
    REQUIRE(waitFor([&] { return static_cast<bool>(w.session().model()); }, 20000));
    auto* in = w.inspector();
    auto* c = in->circuitsView();
    in->setPrompt(QStringLiteral("The capital of France is"), QStringLiteral(" Paris"));
    c->setCorrupted(QStringLiteral("The capital of France is"));  // the same prompt: no difference to recover
    in->runPatching();
    REQUIRE(waitFor([&] { return c->patching() != nullptr; }, 60000));
    CHECK(c->summary()->text().contains(QStringLiteral("differ by only 0")));
    CHECK(c->patchingMap()->colourRange() == QCPRange(-1, 1));
}

TEST_CASE("heads tab: a 32-layer, 32-head model fits on screen as thumbnails, and full size scrolls", "[gui][heads]") {
    auto maps = std::make_shared<attr::AttentionMaps>();
    maps->layers = 32, maps->heads = 32, maps->length = 16, maps->display = 16;
    maps->heads_display.assign(static_cast<std::size_t>(32 * 32 * 16 * 16), 0.0f);
    for (std::size_t k = 0; k < 32 * 32; ++k)
        for (std::size_t r = 0; r < 16; ++r)
            for (std::size_t c = 0; c < 16; ++c)
                maps->heads_display[(k * 16 + r) * 16 + c] = c > r ? std::nanf("") : static_cast<float>((k + c) % 5) + 1.0f;
    HeadGridView v;
    v.resize(1000, 700);
    v.show();
    v.setMaps(maps);
    QApplication::processEvents();
    HeadThumbnails* t = v.thumbnails();
    const QSize room = v.scrollArea()->viewport()->size();
    INFO("thumbnails " << t->thumbSize() << " px, grid " << t->sizeHint().width() << "x" << t->sizeHint().height() << " in " << room.width() << "x" << room.height());
    CHECK(t->thumbSize() >= 12);
    CHECK(t->sizeHint().width() <= room.width());
    CHECK(t->sizeHint().height() <= room.height());
    const QRect last = t->cellRect(31, 31);
    CHECK(t->headAt(last.center()) == std::pair<int, int>(31, 31));
    CHECK_FALSE(v.grab().isNull());  // paints every thumbnail
    v.setFit(false);
    CHECK(t->thumbSize() == HeadThumbnails::kThumb);
    CHECK(t->sizeHint().width() > room.width());
}
