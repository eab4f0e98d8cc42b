#include "lens_view.h"

#include "inspector_page.h"

#include "plots.h"

#include <QBrush>
#include <QColor>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QVBoxLayout>

namespace lmwb::gui {


void LensModel::setLens(std::shared_ptr<const attr::LogitLens> lens) {
    beginResetModel();
    lens_ = std::move(lens);
    endResetModel();
}

int LensModel::rowCount(const QModelIndex& parent) const { return parent.isValid() || !lens_ ? 0 : lens_->rows; }
int LensModel::columnCount(const QModelIndex& parent) const { return parent.isValid() || !lens_ ? 0 : lens_->length; }

QString LensModel::describe(int row, int column) const {
    if (!lens_ || row < 0 || column < 0 || row >= lens_->rows || column >= lens_->length) return {};
    const auto& c = lens_->at(row, column);
    QStringList top;
    for (std::size_t i = 0; i < c.top_ids.size(); ++i) top << QStringLiteral("%1 %2").arg(tokenText(c.top_tokens[i])).arg(c.top_probs[i], 0, 'f', 3);
    QString s = tr("%1, position %2: %3").arg(row == 0 ? tr("embeddings") : tr("after layer %1").arg(row - 1)).arg(column).arg(top.join(QStringLiteral(" · ")));
    if (c.target_rank > 0)
        s += tr("; target rank %1, log p %2").arg(c.target_rank).arg(c.target_logprob, 0, 'f', 3);
    return s + tr("; KL to the output %1 nats").arg(c.kl_to_final, 0, 'f', 3);
}

QVariant LensModel::data(const QModelIndex& index, int role) const {
    if (!lens_ || !index.isValid()) return {};
    const auto& c = lens_->at(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole: return tokenText(c.top_tokens.front());
    case Qt::ToolTipRole: return describe(index.row(), index.column());
    case Qt::BackgroundRole: {  // white at probability 0 to deep blue at 1
        const double p = c.top_probs.front();
        return QBrush(QColor::fromRgbF(static_cast<float>(1 - 0.75 * p), static_cast<float>(1 - 0.55 * p), 1.0f));
    }
    case Qt::ForegroundRole: return QBrush(c.top_probs.front() > 0.7 ? Qt::white : Qt::black);
    default: return {};
    }
}

QVariant LensModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (!lens_ || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    if (orientation == Qt::Horizontal) {
        if (section < 0 || section >= lens_->length) return {};
        return QStringLiteral("%1 %2").arg(section).arg(tokenText(lens_->tokens[static_cast<std::size_t>(section)].text));
    }
    return section == 0 ? tr("embeddings") : tr("layer %1").arg(section - 1);
}

LensView::LensView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    model_ = new LensModel(this);
    table_ = new QTableView;
    table_->setModel(model_);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    detail_ = new QLabel;
    detail_->setWordWrap(true);
    detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(table_, 1);
    v->addWidget(detail_);
    connect(table_, &QTableView::clicked, this, [this](const QModelIndex& i) { detail_->setText(model_->describe(i.row(), i.column())); });
    clear(tr("The logit lens appears here: press Logit lens (%1) to read every layer through the final norm and the unembedding.").arg(shortcutOf("logit-lens")));
}

void LensView::setLens(std::shared_ptr<const attr::LogitLens> lens) {
    model_->setLens(std::move(lens));
    detail_->setText(tr("Each cell: the top next token after that layer, shaded by its probability. Click a cell for its top tokens, "
                        "the target's rank and the divergence from the output."));
}

void LensView::clear(const QString& hint) {
    model_->setLens(nullptr);
    detail_->setText(hint);
}

}  // namespace lmwb::gui
