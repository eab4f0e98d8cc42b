#include "side_by_side_view.h"

#include <algorithm>

#include <QBrush>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

#include "plots.h"

namespace lmwb::gui {

void SegmentsModel::setResult(std::shared_ptr<const attr::SideBySide> r) {
    beginResetModel();
    r_ = std::move(r);
    scale_ = 0;
    if (r_)
        for (const auto& s : r_->segments) scale_ = std::max(scale_, std::fabs(s.b_logprob - s.a_logprob));
    endResetModel();
}

int SegmentsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() || !r_ ? 0 : static_cast<int>(r_->segments.size()); }
int SegmentsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant SegmentsModel::data(const QModelIndex& index, int role) const {
    if (!r_ || !index.isValid()) return {};
    const auto& s = r_->segments[static_cast<std::size_t>(index.row())];
    const double diff = s.b_logprob - s.a_logprob;
    auto pieces = [](const std::vector<attr::Token>& all, const std::vector<int>& which) {
        QStringList p;
        for (int i : which) p << QStringLiteral("[%1]").arg(tokenText(all[static_cast<std::size_t>(i)].text));
        return p.join(QString());
    };
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Segment: return tokenText(s.text);
        case ATokens: return pieces(r_->a_tokens, s.a_tokens);
        case ALogProb: return QString::number(s.a_logprob, 'f', 4);
        case BTokens: return pieces(r_->b_tokens, s.b_tokens);
        case BLogProb: return QString::number(s.b_logprob, 'f', 4);
        case Difference: return QString::number(diff, 'f', 4);
        default: return {};
        }
    }
    if (role == Qt::BackgroundRole && index.column() == Difference) return QBrush(divergingColor(scale_ > 0 ? diff / scale_ : 0));
    if (role == Qt::ForegroundRole && index.column() == Difference) return QBrush(scale_ > 0 && std::fabs(diff / scale_) > 0.6 ? Qt::white : Qt::black);
    if (role == Qt::TextAlignmentRole && (index.column() == ALogProb || index.column() >= BLogProb)) return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole)
        return tr("“%1”: log p %2 under A (%3 tokens), %4 under B (%5 tokens)").arg(tokenText(s.text)).arg(s.a_logprob, 0, 'f', 4)
            .arg(s.a_tokens.size()).arg(s.b_logprob, 0, 'f', 4).arg(s.b_tokens.size());
    return {};
}

QVariant SegmentsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[ColumnCount] = {"segment", "A tokens", "A log p", "B tokens", "B log p", "B − A"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

SideBySideView::SideBySideView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    auto* row = new QHBoxLayout;
    path_ = new QLineEdit;
    path_->setPlaceholderText(tr("Model B: a checkpoint folder (the window's model is A)"));
    open_button_ = new QPushButton(tr("Open B"));
    compare_button_ = new QPushButton(tr("Compare"));
    compare_button_->setToolTip(tr("Both responses, the target (else A's response) scored by both, and its attribution in both"));
    b_name_ = new QLabel;
    method_ = new QComboBox;
    for (attr::Method m : {attr::Method::IntegratedGradients, attr::Method::GradientXInput, attr::Method::Saliency, attr::Method::Shap})
        method_->addItem(QString::fromStdString(attr::to_string(m)), static_cast<int>(m));
    method_->setToolTip(tr("The attribution of the continuation both models compute (IG uses the inspector's steps)"));
    row->addWidget(path_, 1);
    row->addWidget(open_button_);
    row->addWidget(b_name_);
    row->addWidget(method_);
    row->addWidget(compare_button_);
    v->addLayout(row);
    responses_ = new QLabel;
    responses_->setWordWrap(true);
    responses_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(responses_);
    auto* split = new QSplitter(Qt::Horizontal);
    segments_ = new SegmentsModel(this);
    table_ = new QTableView;
    table_->setModel(segments_);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    bars_a_ = new BarChart;
    bars_b_ = new BarChart;
    auto* charts = new QSplitter(Qt::Vertical);
    charts->addWidget(bars_a_);
    charts->addWidget(bars_b_);
    split->addWidget(table_);
    split->addWidget(charts);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    split->setSizes({450, 650});
    v->addWidget(split, 1);
    connect(open_button_, &QPushButton::clicked, this, &SideBySideView::openRequested);
    connect(path_, &QLineEdit::returnPressed, this, &SideBySideView::openRequested);
    connect(compare_button_, &QPushButton::clicked, this, &SideBySideView::compareRequested);
    clear();
}

QString SideBySideView::otherModelPath() const { return path_->text(); }
void SideBySideView::setOtherModelPath(const QString& path) { path_->setText(path); }
void SideBySideView::setOtherModelName(const QString& name) { b_name_->setText(name.isEmpty() ? QString() : tr("B: %1").arg(name)); }

attr::Method SideBySideView::method() const { return static_cast<attr::Method>(method_->currentData().toInt()); }
void SideBySideView::setMethod(attr::Method m) { method_->setCurrentIndex(method_->findData(static_cast<int>(m))); }

void SideBySideView::setButtonsEnabled(bool model_a_open, bool model_b_open) {
    compare_button_->setEnabled(model_a_open && model_b_open);
}

void SideBySideView::clear() {
    result_.reset();
    segments_->setResult(nullptr);
    responses_->setText(tr("Open a second model as B, type a prompt (and a target, or compare A's own response) and press Compare."));
    bars_a_->setEmpty(tr("Model A's attribution of the continuation, by word."));
    bars_b_->setEmpty(tr("Model B's attribution of the continuation, by word."));
}

void SideBySideView::setResult(std::shared_ptr<const attr::SideBySide> r) {
    result_ = std::move(r);
    const auto& s = *result_;
    segments_->setResult(result_);
    responses_->setText(tr("<b>A</b> “%1” &nbsp; <b>B</b> “%2”<br>log p(“%3” | prompt): A %4, B %5 — %6")
                            .arg(tokenText(s.a_response).toHtmlEscaped(), tokenText(s.b_response).toHtmlEscaped(), tokenText(s.continuation).toHtmlEscaped())
                            .arg(s.a_total, 0, 'f', 4).arg(s.b_total, 0, 'f', 4)
                            .arg(s.same_tokens ? tr("the same tokens, aligned token by token") : tr("different tokenizations, aligned by character spans")));
    if (!s.attributed) return;
    if (!s.a_attribution.contrast.empty())  // contrastive: the bars explain the difference, not the target alone
        responses_->setText(responses_->text() + tr("<br>attributed: log p(“%1”) − log p(“%2”) in each model")
                                                     .arg(tokenText(s.continuation).toHtmlEscaped(), tokenText(s.a_attribution.contrast).toHtmlEscaped()));
    double lo = 0, hi = 0;  // one value scale for A and B: bars of equal height mean equal scores
    for (const auto* words_of : {&s.a_attribution, &s.b_attribution})
        for (const auto& w : words_of->words) lo = std::min(lo, w.score), hi = std::max(hi, w.score);
    for (auto [chart, words_of, name] : {std::tuple{bars_a_, &s.a_attribution, "A"}, std::tuple{bars_b_, &s.b_attribution, "B"}}) {
        QStringList labels;
        std::vector<double> values;
        for (const auto& w : words_of->words) {
            labels << tokenText(w.text);
            values.push_back(w.score);
        }
        chart->setTitle(tr("%1 · %2 by word").arg(QLatin1String(name), QString::fromStdString(words_of->method)));
        chart->setBars(labels, values, tr("%1: %2").arg(QLatin1String(name), QString::fromStdString(words_of->method)));
        chart->setValueRange(lo, hi);
    }
}

}  // namespace lmwb::gui
