// The linked item panel (LIT's idea): one item across the runs that hold it — prompt, references, each run's answer and
// metrics, and the per-token log-prob differences between the first two — fed by the Run view's result rows and
// Compare's per-item rows. Its buttons explain the reference against a run's answer in the Inspector, in both runs'
// models when they differ.
#pragma once

#include <QWidget>

#include <memory>
#include <vector>

#include "lmwb/report.h"

class QLabel;
class QPushButton;
class QTextBrowser;

namespace lmwb::gui {

class Session;

// What the explain buttons ask the Inspector for: the item's prompt, the reference as the target, the run's answer as
// the contrast (empty when it equals the reference), a method ("ig", "shap", "patching"), and model B's folder when
// the second run's model is not the open one.
struct ItemExplanation {
    QString prompt, target, contrast, method, other_model;
};

class ItemPanel : public QWidget {
    Q_OBJECT
public:
    struct Run {
        QString label;
        std::shared_ptr<const eval::Report> report;  // keeps the item alive
        const eval::SuiteReport* suite = nullptr;
        const eval::ItemRecord* item = nullptr;
    };
    explicit ItemPanel(Session& session, QWidget* parent = nullptr);
    // The item in each run, the baseline (or only run) first; an empty list clears the panel.
    void setRuns(std::vector<Run> runs);
    const std::vector<Run>& runs() const { return runs_; }

    // The per-token difference (second run − first) over the tokens both runs scored, or empty when they scored
    // different texts or hold no per-token log-probs (multiple choice: one entry per choice, over its log-prob).
    struct TokenDelta {
        QString token;  // the token's text when the open model made a run, else "#k"
        double first = 0, second = 0;
    };
    const std::vector<TokenDelta>& deltas() const { return deltas_; }
    QString deltaProblem() const { return delta_problem_; }  // why there are no deltas
    ItemExplanation explanation(const QString& method) const;
    QTextBrowser* text() const { return text_; }
    QPushButton* button(const QString& method) const;  // "ig", "shap", "patching"

signals:
    void explainRequested(const ItemExplanation& what);

private:
    void computeDeltas();
    void render();
    void refreshButtons();
    Session& session_;
    QLabel* hint_;
    QTextBrowser* text_;
    QPushButton *ig_, *shap_, *patching_;
    std::vector<Run> runs_;
    std::vector<TokenDelta> deltas_;
    QString delta_problem_;
};

}  // namespace lmwb::gui
