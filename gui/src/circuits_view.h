// Inspector tabs for circuit analysis and generated text: activation patching as layer × position (or layer × head)
// heatmaps of the recovered fraction, direct logit attribution as bars and a layer × head map, and the
// [generated × (prompt + generated)] attribution matrix whose rows shade the tokens when hovered.
#pragma once

#include <QWidget>

#include <memory>

#include "lmwb/attribution.h"
#include "lmwb/circuits.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTextBrowser;

namespace lmwb::gui {

class Heatmap;
class BarChart;

class CircuitsView : public QWidget {
    Q_OBJECT
public:
    explicit CircuitsView(QWidget* parent = nullptr);
    QString corrupted() const;
    void setCorrupted(const QString& text);
    void setPatching(std::shared_ptr<const attr::PatchingResult> r);
    void setDirectLogit(std::shared_ptr<const attr::DirectLogitAttribution> r);
    void clear();
    void setStale(const QString& patching, const QString& direct_logit);  // why each result is stale; empty: fresh
    void selectSite(Site site);
    void setButtonsEnabled(bool on);
    Heatmap* patchingMap() const { return grid_; }
    BarChart* directLogitBars() const { return bars_; }
    Heatmap* directLogitHeads() const { return heads_; }
    QLabel* summary() const { return summary_; }  // patching's caption
    QLabel* directLogitSummary() const { return dla_summary_; }
    const attr::PatchingResult* patching() const { return patching_.get(); }
    // Recovered fractions are coloured over [-1, 1] (1: the clean output restored): beyond, they saturate. A clean −
    // corrupted difference below this makes them noise amplified, and the caption says so.
    static constexpr double kSmallGap = 1.0;

signals:
    void settingsChanged();  // the corrupted prompt was edited
    void patchRequested();
    void directLogitRequested();

private:
    void showGrid();
    QLineEdit* corrupted_;
    QComboBox* site_;
    QPushButton *patch_button_, *dla_button_;
    Heatmap* grid_;
    BarChart* bars_;
    Heatmap* heads_;
    QLabel *summary_, *dla_summary_;
    std::shared_ptr<const attr::PatchingResult> patching_;
    std::shared_ptr<const attr::DirectLogitAttribution> dla_;
};

class GenerationView : public QWidget {
    Q_OBJECT
public:
    explicit GenerationView(QWidget* parent = nullptr);
    void setResult(std::shared_ptr<const attr::GenerationAttribution> r);
    void clear();
    void setStale(const QString& why);
    void setButtonEnabled(bool on);
    void shadeRow(int row);  // the tokens coloured by what generated token `row` owes them
    Heatmap* matrix() const { return matrix_; }
    QTextBrowser* tokens() const { return tokens_; }
    QLabel* summary() const { return summary_; }
    const attr::GenerationAttribution* result() const { return result_.get(); }

signals:
    void attributeRequested();

private:
    QPushButton* button_;
    Heatmap* matrix_;
    QTextBrowser* tokens_;
    QLabel* summary_;
    std::shared_ptr<const attr::GenerationAttribution> result_;
    int shaded_ = -1;
};

}  // namespace lmwb::gui
