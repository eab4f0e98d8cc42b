// Two models on one prompt (LIT's comparison mode): model B opened beside the window's model (A), both responses,
// the continuation's log-probabilities aligned by token or by character span with B − A shaded, and an attribution
// of the continuation from each, by word.
#pragma once

#include <QAbstractTableModel>
#include <QWidget>

#include <memory>

#include "lmwb/side_by_side.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace lmwb::gui {

class BarChart;

class SegmentsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Segment, ATokens, ALogProb, BTokens, BLogProb, Difference, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setResult(std::shared_ptr<const attr::SideBySide> r);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;  // segment, A tokens, A, B tokens, B, B − A
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::shared_ptr<const attr::SideBySide> r_;
    double scale_ = 0;  // the largest |B − A|, for the shading
};

class SideBySideView : public QWidget {
    Q_OBJECT
public:
    explicit SideBySideView(QWidget* parent = nullptr);
    QString otherModelPath() const;
    void setOtherModelPath(const QString& path);
    void setOtherModelName(const QString& name);  // shown once B is open
    void setResult(std::shared_ptr<const attr::SideBySide> r);
    void clear();
    void setButtonsEnabled(bool model_a_open, bool model_b_open);
    attr::Method method() const;  // the attribution both models explain the continuation with
    void setMethod(attr::Method m);
    const attr::SideBySide* result() const { return result_.get(); }
    SegmentsModel* segments() const { return segments_; }
    QLabel* responses() const { return responses_; }
    BarChart* barsA() const { return bars_a_; }
    BarChart* barsB() const { return bars_b_; }

signals:
    void openRequested();     // open the model in the path field as B
    void compareRequested();

private:
    QLineEdit* path_;
    QPushButton *open_button_, *compare_button_;
    QComboBox* method_;
    QLabel *responses_, *b_name_;
    SegmentsModel* segments_;
    QTableView* table_;
    BarChart *bars_a_, *bars_b_;
    std::shared_ptr<const attr::SideBySide> result_;
};

}  // namespace lmwb::gui
