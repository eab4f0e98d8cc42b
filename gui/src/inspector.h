// The item inspector and playground: a prompt and target (from a result row or typed), the tokens shaded by the
// active attribution, the attention heatmap with layer / head / mean / max / rollout, integrated gradients and SHAP
// as bars and as the [target × prompt] matrix with their delta, sampled uncertainty, and the suite's calibration.
#pragma once

#include <QWidget>

#include <map>
#include <memory>

#include "jobs.h"
#include "lmwb/attribution.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableView;
class QTextBrowser;

namespace lmwb::gui {

class Session;
class Heatmap;
class BarChart;
class Plot;
class AnswersModel;
class LensView;
class CircuitsView;
class GenerationView;
class HeadGridView;
class SideBySideView;
class AlternativesModel;

class InspectorView : public QWidget {
    Q_OBJECT
public:
    explicit InspectorView(Session& session, QWidget* parent = nullptr);
    void setPrompt(const QString& prompt, const QString& target);
    void setContrast(const QString& foil);
    QString prompt() const;
    QString target() const;
    void inspectItem(int suite, int row);  // from the current report
    void runAttention();
    void runAttribution(attr::Method method);
    void runUncertainty();
    void runLens();  // the logit lens of the prompt, the target's first token at the last position
    // inspector_circuits.cpp: activation patching against the Circuits tab's corrupted prompt (or noise), direct
    // logit attribution, and IG over generated text (the target, or the greedy output)
    void runPatching();
    void runDirectLogit();
    void runGeneration();
    void runHeadSummaries();
    void openOtherModel(const QString& path);  // model B of Side by side
    void runSideBySide();
    SideBySideView* sideBySideView() const { return side_by_side_; }
    HeadGridView* headGrid() const { return head_grid_; }
    CircuitsView* circuitsView() const { return circuits_; }
    GenerationView* generationView() const { return generation_; }
    void selectLayer(int layer);
    void selectHead(int index);  // 0 mean, 1 max, 2 rollout, 3 + k: head k

    Heatmap* attentionMap() const { return attention_; }
    Heatmap* attributionMatrix() const { return matrix_; }
    BarChart* attributionBars() const { return bars_; }
    BarChart* entropyPlot() const { return entropy_; }
    AlternativesModel* alternatives() const { return alternatives_; }
    Plot* reliabilityPlot() const { return reliability_; }
    QTabWidget* tabs() const { return tabs_; }
    LensView* lensView() const { return lens_; }
    const attr::Result* attribution() const { return attribution_.get(); }
    const attr::AttentionMaps* attentionMaps() const { return maps_.get(); }
    const attr::UncertaintyResult* uncertainty() const { return uncertainty_.get(); }
    QString tokenHtml() const;
    QLabel* deltaLabel() const { return delta_; }

    QLabel* statusLabel() const { return status_; }

    // What a result was computed from; a view whose inputs no longer match the window's is marked stale.
    struct Inputs {
        QString model, prompt, target, settings;
        bool operator==(const Inputs& o) const {
            return model == o.model && prompt == o.prompt && target == o.target && settings == o.settings;
        }
        bool operator!=(const Inputs& o) const { return !(*this == o); }
    };
    enum class View { Attention, Attribution, Uncertainty, Patching, DirectLogit, Generation };
    Inputs currentInputs(View view) const;
    bool isStale(View view) const;

signals:
    void attentionShown();

private:
    // Starts a job whose status line ends in done / failed / cancelled, on the tab that shows its result.
    void startJob(const QString& kind, const QString& title, int tab, JobRunner::Work work);
    void updateStaleness();
    void clearResults();
    void showAttention();
    int attentionBlock() const;  // tokens per cell of the attention map on screen
    void showAttribution();
    void showUncertainty();
    void showCalibration();
    void refreshControls();
    std::int32_t baselineToken() const;  // IG's baseline: the end-of-text token's id when chosen, else -1 (zero)
    Session& session_;
    QPlainTextEdit* prompt_;
    QLineEdit* target_;
    QLineEdit* contrast_;  // a foil: attribution of log p(target) − log p(foil)
    QPushButton *attention_button_, *ig_button_, *shap_button_, *sample_button_, *lens_button_;
    LensView* lens_;
    CircuitsView* circuits_;
    GenerationView* generation_;
    HeadGridView* head_grid_;
    SideBySideView* side_by_side_;
    QSpinBox *steps_, *samples_;
    QComboBox *baseline_, *shap_algorithm_;
    QTextBrowser* tokens_;
    QTabWidget* tabs_;
    QComboBox *layer_, *head_;
    QSpinBox *view_first_, *view_last_;  // the token range on screen
    QLabel* block_note_;
    Heatmap* attention_;
    Heatmap* matrix_;
    BarChart* bars_;
    QLabel* delta_;
    BarChart* entropy_;
    AlternativesModel* alternatives_;
    QTableView* alternatives_table_;
    BarChart* mass_;
    QTableView* answers_table_;
    AnswersModel* answers_;
    QLabel* uncertainty_numbers_;
    BarChart* confidence_;
    Plot* reliability_;
    QLabel* status_;
    std::shared_ptr<const attr::AttentionMaps> maps_;
    std::shared_ptr<const attr::Result> attribution_;
    std::shared_ptr<const attr::UncertaintyResult> uncertainty_;
    Inputs maps_for_, attribution_for_, uncertainty_for_, patching_for_, dla_for_, generation_for_;
    bool has_patching_ = false, has_dla_ = false, has_generation_ = false;
    std::map<int, QString> jobs_;  // running job id -> its title, for the status line
    QString done_detail_;          // what the last finished job produced, for its status line
};

}  // namespace lmwb::gui
