// The rating view as a rater uses it: keys rate, skip and undo; every rating is in the rater's file at once;
// reopening continues; pairwise preferences name runs, not screen sides.
#include <catch2/catch.hpp>

#include <QKeyEvent>
#include <QLabel>
#include <QTemporaryDir>
#include <QTest>

#include "gui_support.h"
#include "lmwb/evaluation.h"
#include "main_window.h"
#include "rating_view.h"
#include "session.h"

using namespace lmwb;
using namespace lmwb::gui;
using lmwb::test::waitFor;

namespace {

eval::Report qa_report(const char* model, std::size_t limit) {
    auto m = LanguageModel::open(std::string(LMWB_MODELS) + "/" + model);
    eval::EvalOptions o;
    o.settings.limit = limit;
    return eval::evaluate(*m, nullptr, {datasets::load_suite(std::string(LMWB_SUITES) + "/world-facts-qa.json")}, o).report;
}

void key(QWidget* w, int k, Qt::KeyboardModifiers mods = Qt::NoModifier) { QTest::keyClick(w, static_cast<Qt::Key>(k), mods); }

}  // namespace

TEST_CASE("rating view: keys rate the rubric, skip and undo, the rater's file holds every rating, reopening continues", "[gui][rating]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("qa.json"));
    eval::write_report(path.toStdString(), qa_report("tiny-b", 3));
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openReport(path, false));
    REQUIRE(waitFor([&] { return w.session().report() != nullptr; }, 20000));
    RatingView* v = w.ratingView();
    v->setRater(QStringLiteral("ana"));
    const QString file = dir.filePath(QStringLiteral("qa.ratings.ana.jsonl"));
    CHECK(v->ratingsPath() == file);
    CHECK(v->progressLabel()->text().startsWith(QStringLiteral("0 of 9 ratings done")));  // 3 items x fluency, relevance, correct
    CHECK(v->taskLabel()->text().startsWith(QStringLiteral("fluency")));
    key(v, Qt::Key_4);       // fluency 4
    key(v, Qt::Key_5);       // relevance 5
    key(v, Qt::Key_2);       // correct: the second value, "no"
    auto saved = eval::read_ratings(file.toStdString());
    REQUIRE(saved.ratings.size() == 3);
    CHECK(saved.rater == "ana");
    CHECK(saved.ratings[0].dimension == "fluency");
    CHECK(saved.ratings[0].value == "4");
    CHECK(saved.ratings[2].value == "no");
    key(v, Qt::Key_Backspace);  // undo "no": the file follows
    CHECK(eval::read_ratings(file.toStdString()).ratings.size() == 2);
    CHECK(v->taskLabel()->text().startsWith(QStringLiteral("correct")));
    key(v, Qt::Key_1);  // yes
    key(v, Qt::Key_S);  // skip item 2's fluency
    CHECK(v->taskLabel()->text().startsWith(QStringLiteral("relevance")));
    key(v, Qt::Key_Z, Qt::ControlModifier);  // undo the skip
    CHECK(v->taskLabel()->text().startsWith(QStringLiteral("fluency")));
    key(v, Qt::Key_9);  // not a value of a 1-5 scale: nothing happens
    CHECK(eval::read_ratings(file.toStdString()).ratings.size() == 3);
    key(v, Qt::Key_3);
    CHECK(eval::read_ratings(file.toStdString()).ratings.size() == 4);
    // Another window on the same report and rater continues after the four ratings.
    MainWindow w2;
    w2.setQuiet(true);
    REQUIRE(w2.openReport(path, false));
    REQUIRE(waitFor([&] { return w2.session().report() != nullptr; }, 20000));
    w2.ratingView()->setRater(QStringLiteral("ana"));
    CHECK(w2.ratingView()->progressLabel()->text().startsWith(QStringLiteral("4 of 9 ratings done")));
    CHECK(w2.ratingView()->taskLabel()->text().startsWith(QStringLiteral("relevance")));
    // The file merges with another rater's through the library (what lmwb ratings merge does).
    auto report = eval::read_report(path.toStdString());
    eval::check_ratings(report, eval::read_ratings(file.toStdString()), file.toStdString());
}

TEST_CASE("rating view: pairwise preference between two compared runs records runs and the order shown", "[gui][rating]") {
    QTemporaryDir dir;
    const QString a = dir.filePath(QStringLiteral("a.json")), b = dir.filePath(QStringLiteral("b.json"));
    eval::write_report(a.toStdString(), qa_report("tiny-a", 4));
    eval::write_report(b.toStdString(), qa_report("tiny-b", 4));
    MainWindow w;
    w.setQuiet(true);
    REQUIRE(w.openReports({a, b}, true));
    REQUIRE(waitFor([&] { return w.session().compared().size() == 2; }, 20000));
    RatingView* v = w.ratingView();
    v->setMode(RatingView::Mode::Pairwise);
    v->setRater(QStringLiteral("ben"));
    const auto& ra = *w.session().compared()[0].report;
    const auto& rb = *w.session().compared()[1].report;
    for (int i = 0; i < 4; ++i) {
        // Which run is on the left: find the baseline's response among the two sides.
        const QString left = v->shownResponse(0);
        const bool baseline_left = left.endsWith(QString::fromStdString(ra.suites[0].items[static_cast<std::size_t>(i)].response)) &&
                                   !(ra.suites[0].items[static_cast<std::size_t>(i)].response == rb.suites[0].items[static_cast<std::size_t>(i)].response);
        key(v, i == 3 ? Qt::Key_T : Qt::Key_A);  // the left one is better, then a tie
        auto r = eval::read_ratings(dir.filePath(QStringLiteral("a.ratings.ben.jsonl")).toStdString()).ratings.back();
        CHECK(r.dimension == "preference");
        CHECK(r.a == w.session().compared()[0].name.toStdString());
        if (i == 3) {
            CHECK(r.value == "tie");
        } else if (baseline_left) {
            CHECK(r.value == "A");
            CHECK(r.first == "A");
        }
        CHECK((r.first == "A" || r.first == "B"));
    }
    auto ratings = eval::read_ratings(dir.filePath(QStringLiteral("a.ratings.ben.jsonl")).toStdString());
    auto summary = eval::summarize_ratings(ra, {ratings});
    REQUIRE(summary.pairwise.size() == 1);
    CHECK(summary.pairwise[0].a_wins + summary.pairwise[0].b_wins + summary.pairwise[0].ties == 4);
    CHECK(summary.pairwise[0].ties == 1);
}

TEST_CASE("rating view: switching to the Rate tab, the first key rates, not the rater name field", "[gui][rating]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("qa.json"));
    eval::write_report(path.toStdString(), qa_report("tiny-b", 2));
    MainWindow w;
    w.setQuiet(true);
    w.resize(1400, 900);
    w.show();
    w.activateWindow();
    REQUIRE(QTest::qWaitForWindowActive(&w));
    REQUIRE(w.openReport(path, false));
    REQUIRE(waitFor([&] { return w.session().report() != nullptr; }, 20000));
    RatingView* v = w.ratingView();
    v->setRater(QStringLiteral("ana"));
    // Focus elsewhere first, as a user coming from another tab.
    w.tabs()->setCurrentIndex(0);
    w.tabs()->currentWidget()->setFocus();
    w.tabs()->setCurrentWidget(v);
    waitFor([] { return false; }, 100);  // the tab's own focus moves, then the view's
    REQUIRE(QApplication::focusWidget() != nullptr);
    QTest::keyClick(QApplication::focusWidget(), Qt::Key_4);
    CHECK(v->raterName() == QStringLiteral("ana"));
    CHECK(eval::read_ratings(dir.filePath(QStringLiteral("qa.ratings.ana.jsonl")).toStdString()).ratings.size() == 1);
}
