// The inspector's pages (inspector_page.h): attention, attribution, uncertainty and calibration
// (inspector_pages.cpp); logit lens, circuits, generated text, heads and side by side (inspector_circuits.cpp).
#pragma once

#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "inspector_page.h"
#include "lmwb/attribution.h"
#include "lmwb/circuits.h"

class QComboBox;
class QLabel;
class QSpinBox;
class QTextBrowser;
class QTableView;
class QTimer;

namespace lmwb::gui {

class MethodAgreementTable;

class Heatmap;
class BarChart;
class Plot;
class AlternativesModel;
class AnswersModel;
class LensView;
class CircuitsView;
class GenerationView;
class HeadGridView;
class SideBySideView;

class AttentionPage : public InspectorPage {
    Q_OBJECT
public:
    explicit AttentionPage(InspectorView& inspector);
    QString title() const override { return tr("Attention"); }
    std::vector<std::string> methods() const override { return {"attention"}; }
    void run(const std::string& method) override;
    void clear() override;
    void updateStale() override;
    PageInputs currentInputs() const { return inputs({}); }
    bool isStale() const { return maps_ && maps_for_ != currentInputs(); }
    void selectLayer(int layer);
    void selectHead(int index);
    Heatmap* map() const { return map_; }
    const attr::AttentionMaps* maps() const { return maps_.get(); }
    // Shows tokens [first, last] (queries and keys): at token resolution when they are few enough (computed for the
    // layer on screen, a job), else the map's cells that cover them.
    void showTokens(int first, int last);
    std::pair<int, int> visibleTokens() const;
    const attr::AttentionWindow* window() const { return showing_window_ ? window_.get() : nullptr; }  // on screen
    // bertviz's view: a query row of the map on screen as shading of its keys over the text (hover a row; a click
    // pins it, a second click on it frees it). -1: none.
    void showKeys(int row);
    int keysRow() const { return keys_row_; }
    QString keysHtml() const { return keys_html_; }

private:
    void show();
    void viewMoved();
    void requestWindow();  // the token-resolution window around want_first_..want_last_ of the layer on screen
    int block() const;     // tokens per cell of the overview
    QComboBox *layer_, *head_;
    QSpinBox *view_first_, *view_last_;  // the token range on screen
    QLabel* block_note_;
    Heatmap* map_;
    QTextBrowser* keys_;
    QString keys_html_;
    int keys_row_ = -1;
    bool keys_pinned_ = false;
    QTimer* zoom_timer_;  // a pause in zooming asks for token resolution
    std::shared_ptr<const attr::AttentionMaps> maps_;
    std::string maps_text_;
    PageInputs maps_for_;
    std::shared_ptr<const attr::AttentionWindow> window_;
    bool want_window_ = false, showing_window_ = false, redrawing_ = false;
    int want_first_ = 0, want_last_ = 0;
    std::tuple<int, int, int> pending_{-1, -1, -1};  // (layer, first, last) of the window job running
};

class AttributionPage : public InspectorPage {
    Q_OBJECT
public:
    explicit AttributionPage(InspectorView& inspector);
    QString title() const override { return tr("Attribution"); }
    std::vector<std::string> methods() const override { return {"ig", "shap"}; }
    void run(const std::string& method) override;
    void clear() override;
    void updateStale() override;
    PageInputs currentInputs() const;
    bool isStale() const { return result_ && result_for_ != currentInputs(); }
    QString staleNote() const;  // empty unless stale
    QString tokenHtml() const;  // the prompt's tokens shaded by their scores
    BarChart* bars() const { return bars_; }
    Heatmap* matrix() const { return matrix_; }
    QLabel* deltaLabel() const { return delta_; }
    const attr::Result* result() const { return result_.get(); }
    // IG and SHAP on the same prompt, target and contrast side by side, with their agreement; the bars and matrix show
    // the last one run.
    MethodAgreementTable* agreementTable() const { return agreement_; }

private:
    void show();
    QString settingsOf(bool shap) const;
    QLabel* delta_;
    MethodAgreementTable* agreement_;
    BarChart* bars_;
    Heatmap* matrix_;
    std::shared_ptr<const attr::Result> result_;
    PageInputs result_for_;
    std::map<std::string, std::shared_ptr<const attr::Result>> by_method_;  // the last result of each method
};

class UncertaintyPage : public InspectorPage {
    Q_OBJECT
public:
    explicit UncertaintyPage(InspectorView& inspector);
    QString title() const override { return tr("Uncertainty"); }
    std::vector<std::string> methods() const override { return {"sample"}; }
    void run(const std::string& method) override;
    void clear() override;
    void updateStale() override;
    PageInputs currentInputs() const;
    bool isStale() const { return result_ && result_for_ != currentInputs(); }
    BarChart* entropy() const { return entropy_; }
    AlternativesModel* alternatives() const { return alternatives_; }
    const attr::UncertaintyResult* result() const { return result_.get(); }

private:
    void show();
    QLabel* numbers_;
    BarChart* entropy_;
    AlternativesModel* alternatives_;
    QTableView* alternatives_table_;
    BarChart* mass_;
    QTableView* answers_table_;
    AnswersModel* answers_;
    std::shared_ptr<const attr::UncertaintyResult> result_;
    PageInputs result_for_;
};

// The open report's multiple-choice calibration: nothing to run, it follows the session's report.
class CalibrationPage : public InspectorPage {
    Q_OBJECT
public:
    explicit CalibrationPage(InspectorView& inspector);
    QString title() const override { return tr("Calibration"); }
    void clear() override;
    Plot* reliability() const { return reliability_; }

private:
    BarChart* confidence_;
    Plot* reliability_;
};

class LensPage : public InspectorPage {
    Q_OBJECT
public:
    explicit LensPage(InspectorView& inspector);
    QString title() const override { return tr("Logit lens"); }
    std::vector<std::string> methods() const override { return {"logit-lens"}; }
    void run(const std::string& method) override;
    void clear() override;
    LensView* view() const { return view_; }

private:
    LensView* view_;
};

class CircuitsPage : public InspectorPage {
    Q_OBJECT
public:
    explicit CircuitsPage(InspectorView& inspector);
    QString title() const override { return tr("Circuits"); }
    std::vector<std::string> methods() const override { return {"patching", "dla"}; }
    void run(const std::string& method) override;
    void clear() override;
    void setModelOpen(bool open) override;
    void updateStale() override;
    PageInputs currentInputs(const std::string& method) const;
    bool isStale(const std::string& method) const;
    CircuitsView* view() const { return view_; }
    // Patching of the same inputs in model B (the item panel's two-model request): shown with a switch between A and B.
    void runPatchingOnOther();
    QComboBox* patchedModel() const { return which_; }

private:
    void showPatching();
    CircuitsView* view_;
    QComboBox* which_;  // which model's patching is shown, once B has one
    std::shared_ptr<const attr::PatchingResult> patching_a_, patching_b_;
    bool has_patching_ = false, has_dla_ = false;
    PageInputs patching_for_, dla_for_;
};

class GenerationPage : public InspectorPage {
    Q_OBJECT
public:
    explicit GenerationPage(InspectorView& inspector);
    QString title() const override { return tr("Generated text"); }
    std::vector<std::string> methods() const override { return {"generation"}; }
    void run(const std::string& method) override;
    void clear() override;
    void setModelOpen(bool open) override;
    void updateStale() override;
    PageInputs currentInputs() const;
    bool isStale() const { return has_result_ && result_for_ != currentInputs(); }
    GenerationView* view() const { return view_; }

private:
    GenerationView* view_;
    bool has_result_ = false;
    PageInputs result_for_;
};

class HeadsPage : public InspectorPage {
    Q_OBJECT
public:
    explicit HeadsPage(InspectorView& inspector);
    QString title() const override { return tr("Heads"); }
    std::vector<std::string> methods() const override { return {"heads"}; }
    void run(const std::string& method) override;
    void clear() override;
    void setModelOpen(bool open) override;
    HeadGridView* view() const { return view_; }

private:
    HeadGridView* view_;
};

class SideBySidePage : public InspectorPage {
    Q_OBJECT
public:
    explicit SideBySidePage(InspectorView& inspector);
    QString title() const override { return tr("Side by side"); }
    std::vector<std::string> methods() const override { return {"side-by-side"}; }
    void run(const std::string& method) override;
    void clear() override;
    void setModelOpen(bool open) override;
    void openOtherModel(const QString& path);
    SideBySideView* view() const { return view_; }

private:
    SideBySideView* view_;
};

}  // namespace lmwb::gui
