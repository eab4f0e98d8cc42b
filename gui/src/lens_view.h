// The logit lens picture: layers down, positions across, each cell the top next token at that layer coloured by its
// probability; a cell's tooltip and the line below the table give its top-k, the target's rank and log-probability
// and the divergence from the final layer.
#pragma once

#include <QAbstractTableModel>
#include <QWidget>

#include <memory>

#include "lmwb/attribution.h"

class QLabel;
class QTableView;

namespace lmwb::gui {

class LensModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    void setLens(std::shared_ptr<const attr::LogitLens> lens);
    const attr::LogitLens* lens() const { return lens_.get(); }
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    QString describe(int row, int column) const;  // the cell's top-k, target and divergence, one line

private:
    std::shared_ptr<const attr::LogitLens> lens_;
};

class LensView : public QWidget {
    Q_OBJECT
public:
    explicit LensView(QWidget* parent = nullptr);
    void setLens(std::shared_ptr<const attr::LogitLens> lens);
    void clear(const QString& hint);
    LensModel* model() const { return model_; }
    QTableView* table() const { return table_; }
    QLabel* detail() const { return detail_; }

private:
    LensModel* model_;
    QTableView* table_;
    QLabel* detail_;
};

}  // namespace lmwb::gui
