// Human rating of the open report's items on the suite's rubric, or pairwise preference between the first two
// compared runs: one item and dimension at a time, keys 1-9 pick a value (A / B / T for preference), S or Right skips,
// Ctrl+Z or Backspace undoes. Each rating is written at once to the rater's own file next to the report
// (REPORT.ratings.RATER.jsonl, atomically); reopening continues where the rater stopped. `lmwb ratings merge` reads them.
#pragma once

#include <QWidget>

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "lmwb/ratings.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QHBoxLayout;

namespace lmwb::gui {

class Session;

class RatingView : public QWidget {
    Q_OBJECT
public:
    explicit RatingView(Session& session, QWidget* parent = nullptr);

    enum class Mode { Rubric, Pairwise };
    void setRater(const QString& name);
    QString raterName() const;
    void setMode(Mode mode);
    // Records the current task's value (a rubric value, or "A", "B", "tie" as the rater saw them) and moves on.
    bool rate(const QString& value);
    void skip();
    void undo();

    QString ratingsPath() const;  // empty when there is nothing to rate (no saved report, no rater)
    const eval::RatingsFile& ratings() const { return file_; }
    QLabel* progressLabel() const { return progress_; }
    QLabel* taskLabel() const { return task_; }
    QString shownResponse(int side) const;  // pairwise: the text shown on side 0 (A) or 1 (B)

protected:
    void keyPressEvent(QKeyEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    struct Task {
        std::size_t suite = 0, item = 0;
        std::string dimension;  // a rubric dimension, or "preference"
    };
    void rebuild();  // tasks from the report (or compared runs) and the rater's file
    void show();
    void save();
    bool done(const Task& t) const;
    const eval::Report* rated() const;  // the report whose items are rated (the baseline in pairwise mode)
    const eval::ItemRecord* otherItem(const Task& t) const;
    bool bFirst(const Task& t) const;  // pairwise: the other run shown on the left

    Session& session_;
    Mode mode_ = Mode::Rubric;
    QLineEdit* rater_;
    QComboBox* mode_box_;
    QLabel *progress_, *task_, *prompt_, *reference_;
    QPlainTextEdit *response_, *response_b_;
    QHBoxLayout* buttons_;
    std::vector<Task> tasks_;
    std::size_t current_ = 0;
    std::set<std::size_t> skipped_;
    std::vector<std::pair<bool, std::size_t>> history_;  // (was a rating, task index) for undo
    eval::RatingsFile file_;
    std::set<std::tuple<std::string, std::string, std::string>> rated_;  // (suite, item, dimension) of file_'s ratings
};

}  // namespace lmwb::gui
