// The item inspector and playground: a prompt, target and contrast (from a result row or typed), the shared method
// settings, the tokens shaded by the active attribution, a status line, and one tab per InspectorPage, built in order
// from inspectorPages(): attention, attribution, uncertainty, calibration, logit lens, circuits, generated text,
// heads, side by side.
#pragma once

#include <QWidget>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inspector_page.h"
#include "item_panel.h"
#include "jobs.h"
#include "lmwb/attribution.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTextBrowser;

namespace lmwb::gui {

class Session;
class Heatmap;
class BarChart;
class Plot;
class AlternativesModel;
class LensView;
class CircuitsView;
class GenerationView;
class HeadGridView;
class SideBySideView;
class AttentionPage;
class AttributionPage;
class UncertaintyPage;
class CalibrationPage;
class LensPage;
class CircuitsPage;
class GenerationPage;
class HeadsPage;
class SideBySidePage;

// The tabs in order: a key and how to make the page.
struct PageEntry {
    const char* key;
    std::function<InspectorPage*(InspectorView&)> make;
};
const std::vector<PageEntry>& inspectorPages();

class InspectorView : public QWidget {
    Q_OBJECT
public:
    explicit InspectorView(Session& session, QWidget* parent = nullptr);
    Session& session() const { return session_; }

    // The window's inputs and the settings the methods share.
    void setPrompt(const QString& prompt, const QString& target);
    void setContrast(const QString& foil);
    // What the methods see: the prompt through the model's chat template when Chat is on (after the system message),
    // else promptText(), the text as typed.
    QString prompt() const;
    QString promptText() const;
    // Why the chat template cannot render the prompt (it raised, as for a system message it refuses), or empty.
    QString chatProblem() const;
    QCheckBox* chatBox() const { return chat_; }
    QLineEdit* systemEdit() const { return system_; }
    QString target() const;
    QString contrast() const;
    int steps() const;            // IG steps
    int baselineIndex() const;    // 0: the zero embedding, 1: the end-of-text token
    std::int32_t baselineToken() const;  // IG's baseline: the end-of-text token's id when chosen, else -1 (zero)
    int shapAlgorithm() const;    // attr::Options::ShapAlgorithm
    bool shapWords() const;       // words are SHAP's features (else tokens, grouped past 63)
    int shapBudget() const;       // model evaluations at most
    int samples() const;

    // Runs a registry method (attention, ig, shap, sample, logit-lens, patching, dla, generation, heads, side-by-side)
    // on the page that shows it. false: no page runs it.
    bool runMethod(const std::string& name);
    InspectorPage* pageFor(const std::string& method) const;
    const std::vector<InspectorPage*>& pages() const { return pages_; }

    // Jobs of the pages: the status line follows them; the page comes forward.
    void startJob(InspectorPage* page, const QString& kind, const QString& title, JobRunner::Work work);
    void setDoneDetail(const QString& detail) { done_detail_ = detail; }
    void updateStaleness();  // every page against the current inputs, and the shaded tokens
    void refreshControls();

    void inspectItem(int suite, int row);  // from the current report
    // The item panel's request: prompt, reference as target, the answer as contrast, then the method on the open model
    // and, when another run's model is named, IG or SHAP on both models side by side (model B opened first if needed).
    void explainItem(const ItemExplanation& what);
    CircuitsPage* circuitsPage() const { return circuits_; }
    // Shortcuts to the pages (tests, the window).
    void runAttention() { runMethod("attention"); }
    void runAttribution(attr::Method method) { runMethod(method == attr::Method::Shap ? "shap" : "ig"); }
    void runUncertainty() { runMethod("sample"); }
    void runLens() { runMethod("logit-lens"); }
    void runPatching() { runMethod("patching"); }
    void runDirectLogit() { runMethod("dla"); }
    void runGeneration() { runMethod("generation"); }
    void runHeadSummaries() { runMethod("heads"); }
    void runSideBySide() { runMethod("side-by-side"); }
    void openOtherModel(const QString& path);  // model B of Side by side
    void selectLayer(int layer);
    void selectHead(int index);  // 0 mean, 1 max, 2 rollout, 3 + k: head k

    AttentionPage* attentionPage() const { return attention_; }
    AttributionPage* attributionPage() const { return attribution_; }
    UncertaintyPage* uncertaintyPage() const { return uncertainty_; }
    SideBySideView* sideBySideView() const;
    HeadGridView* headGrid() const;
    CircuitsView* circuitsView() const;
    GenerationView* generationView() const;
    LensView* lensView() const;
    Heatmap* attentionMap() const;
    Heatmap* attributionMatrix() const;
    BarChart* attributionBars() const;
    BarChart* entropyPlot() const;
    AlternativesModel* alternatives() const;
    Plot* reliabilityPlot() const;
    QTabWidget* tabs() const { return tabs_; }
    const attr::Result* attribution() const;
    const attr::AttentionMaps* attentionMaps() const;
    const attr::UncertaintyResult* uncertainty() const;
    QString tokenHtml() const;
    QLabel* deltaLabel() const;
    QLabel* statusLabel() const { return status_; }

    using Inputs = PageInputs;
    enum class View { Attention, Attribution, Uncertainty, Patching, DirectLogit, Generation };
    Inputs currentInputs(View view) const;
    bool isStale(View view) const;

signals:
    void attentionShown();

private:
    void clearResults();
    void runOnOtherModel();
    Session& session_;
    QPlainTextEdit* prompt_;
    QLineEdit* target_;
    QLineEdit* contrast_;  // a foil: attribution of log p(target) − log p(foil)
    std::vector<QPushButton*> buttons_;
    QSpinBox *steps_, *samples_;
    QCheckBox* chat_;
    QLineEdit* system_;
    QComboBox *baseline_, *shap_algorithm_, *shap_features_;
    QSpinBox* shap_budget_;
    QTextBrowser* tokens_;
    QTabWidget* tabs_;
    QLabel* status_;
    std::vector<InspectorPage*> pages_;
    AttentionPage* attention_ = nullptr;
    AttributionPage* attribution_ = nullptr;
    UncertaintyPage* uncertainty_ = nullptr;
    CircuitsPage* circuits_ = nullptr;
    GenerationPage* generation_ = nullptr;
    HeadsPage* heads_ = nullptr;
    SideBySidePage* side_by_side_ = nullptr;
    LensPage* lens_ = nullptr;
    CalibrationPage* calibration_ = nullptr;
    std::map<int, QString> jobs_;  // running job id -> its title, for the status line
    QString done_detail_;          // what the last finished job produced, for its status line
    QString pending_pair_;         // model B to run side by side on once it is open (explainItem)
    QString pending_method_;  // "ig", "shap" or "patching"
};

}  // namespace lmwb::gui
