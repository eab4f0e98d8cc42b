#include "head_grid.h"

#include "inspector_page.h"

#include <QHBoxLayout>
#include <QHelpEvent>
#include <QImage>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace lmwb::gui {

namespace {
}

HeadThumbnails::HeadThumbnails(QWidget* parent) : QWidget(parent) { setMouseTracking(true); }

void HeadThumbnails::setMaps(std::shared_ptr<const attr::AttentionMaps> maps) {
    maps_ = std::move(maps);
    updateGeometry();
    adjustSize();
    update();
}

void HeadThumbnails::setSummaries(std::shared_ptr<const attr::HeadSummaries> summaries) {
    summaries_ = std::move(summaries);
    update();
}

QSize HeadThumbnails::sizeHint() const {
    if (!maps_) return {400, 200};
    return {kMargin + maps_->heads * (kThumb + kGap), 24 + maps_->layers * (kThumb + kCaption + kGap)};
}

QRect HeadThumbnails::cellRect(int layer, int head) const { return {kMargin + head * (kThumb + kGap), 24 + layer * (kThumb + kCaption + kGap), kThumb, kThumb}; }

std::pair<int, int> HeadThumbnails::headAt(QPoint p) const {
    if (!maps_) return {-1, -1};
    for (int l = 0; l < maps_->layers; ++l)
        for (int h = 0; h < maps_->heads; ++h)
            if (cellRect(l, h).contains(p)) return {l, h};
    return {-1, -1};
}

QString HeadThumbnails::describe(int layer, int head) const {
    QString s = tr("layer %1, head %2").arg(layer).arg(head);
    if (summaries_ && layer < summaries_->layers && head < summaries_->heads_per_layer) {
        const auto& h = summaries_->heads[static_cast<std::size_t>(layer * summaries_->heads_per_layer + head)];
        s += tr("\nentropy %1 nats · first token %2 · previous token %3 · induction %4").arg(h.entropy, 0, 'f', 2)
                 .arg(h.first_token, 0, 'f', 2).arg(h.previous_token, 0, 'f', 2).arg(h.induction, 0, 'f', 2);
        if (h.likely_induction()) s += tr("\nlikely an induction head");
        else if (h.likely_previous_token()) s += tr("\nlikely a previous-token head");
    }
    return s + tr("\nclick: open it in the attention view");
}

void HeadThumbnails::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    if (!maps_ || maps_->heads_display.empty()) {
        p.drawText(rect().adjusted(10, 10, -10, -10), Qt::AlignLeft | Qt::TextWordWrap,
                   tr("Every head's attention map appears here after Attention (%1); Head summaries adds each head's scores.").arg(shortcutOf("attention")));
        return;
    }
    const int n = maps_->display;
    const std::size_t nn = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
    for (int h = 0; h < maps_->heads; ++h)
        p.drawText(QRect(kMargin + h * (kThumb + kGap), 4, kThumb, 18), Qt::AlignCenter, tr("head %1").arg(h));
    for (int l = 0; l < maps_->layers; ++l) {
        p.drawText(QRect(0, 24 + l * (kThumb + kCaption + kGap), kMargin - 6, kThumb), Qt::AlignRight | Qt::AlignVCenter, tr("L%1").arg(l));
        for (int h = 0; h < maps_->heads; ++h) {
            const float* m = maps_->heads_display.data() + (static_cast<std::size_t>(l) * static_cast<std::size_t>(maps_->heads) + static_cast<std::size_t>(h)) * nn;
            // Each row scaled by its own maximum, as bertviz does: rows with diffuse attention stay visible.
            QImage img(n, n, QImage::Format_RGB32);
            for (int r = 0; r < n; ++r) {
                float mx = 0;
                for (int c = 0; c < n; ++c)
                    if (m[r * n + c] > mx) mx = m[r * n + c];  // masked cells are NaN
                for (int c = 0; c < n; ++c) {
                    const float x = m[r * n + c];
                    if (std::isnan(x)) {
                        img.setPixel(c, r, qRgb(238, 238, 238));
                        continue;
                    }
                    const double v = mx > 0 ? x / mx : 0;
                    img.setPixel(c, r, qRgb(static_cast<int>(255 - 200 * v), static_cast<int>(255 - 150 * v), 255 - static_cast<int>(60 * v)));
                }
            }
            const QRect cell = cellRect(l, h);
            p.drawImage(cell, img);
            QColor frame = Qt::gray;
            QString caption;
            if (summaries_ && l < summaries_->layers && h < summaries_->heads_per_layer) {
                const auto& s = summaries_->heads[static_cast<std::size_t>(l * summaries_->heads_per_layer + h)];
                caption = tr("induction %1\nprevious %2").arg(s.induction, 0, 'f', 2).arg(s.previous_token, 0, 'f', 2);
                if (s.likely_induction()) frame = QColor(0, 140, 60);
                else if (s.likely_previous_token()) frame = QColor(140, 60, 170);
            }
            p.setPen(QPen(frame, frame == Qt::gray ? 1 : 3));
            p.drawRect(cell.adjusted(-1, -1, 0, 0));
            p.setPen(palette().windowText().color());
            if (!caption.isEmpty()) {
                QFont f = p.font();
                f.setPointSizeF(f.pointSizeF() * 0.8);
                p.setFont(f);
                p.drawText(QRect(cell.left() - kGap / 2, cell.bottom() + 2, kThumb + kGap, kCaption - 4), Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap, caption);
                p.setFont(font());
            }
        }
    }
}

void HeadThumbnails::mousePressEvent(QMouseEvent* event) {
    const auto [l, h] = headAt(event->position().toPoint());
    if (l >= 0) emit headClicked(l, h);
}

bool HeadThumbnails::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const auto [l, h] = headAt(help->pos());
        if (l >= 0) QToolTip::showText(help->globalPos(), describe(l, h), this);
        else QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

HeadGridView::HeadGridView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    auto* row = new QHBoxLayout;
    button_ = new QPushButton(tr("Head summaries"));
    button_->setToolTip(tr("Entropy, first-token and previous-token attention on the prompt, and the induction score on a repeated random sequence"));
    note_ = new QLabel;
    note_->setWordWrap(true);
    row->addWidget(button_);
    row->addWidget(note_, 1);
    v->addLayout(row);
    scroll_ = new QScrollArea;
    thumbs_ = new HeadThumbnails;
    scroll_->setWidget(thumbs_);
    scroll_->setWidgetResizable(false);
    v->addWidget(scroll_, 1);
    connect(button_, &QPushButton::clicked, this, &HeadGridView::summariesRequested);
    clear();
}

void HeadGridView::setButtonEnabled(bool on) { button_->setEnabled(on); }

void HeadGridView::clear() {
    thumbs_->setMaps(nullptr);
    thumbs_->setSummaries(nullptr);
    note_->setText(tr("Every layer × head for the current input; click one to open it in the attention view. "
                      "Green frame: induction score > %1; purple: previous-token score > %2.").arg(attr::HeadSummary::kInductionThreshold).arg(attr::HeadSummary::kPreviousTokenThreshold));
}

void HeadGridView::setMaps(std::shared_ptr<const attr::AttentionMaps> maps) {
    thumbs_->setMaps(std::move(maps));
}

void HeadGridView::setSummaries(std::shared_ptr<const attr::HeadSummaries> summaries) {
    int induction = 0, previous = 0;
    for (const auto& h : summaries->heads) {
        if (h.likely_induction()) ++induction;
        else if (h.likely_previous_token()) ++previous;
    }
    note_->setText(tr("%1 likely induction heads (green), %2 likely previous-token heads (purple); entropy and positions on the "
                      "prompt's %3 tokens, induction on 32 random tokens repeated. Hover a head for its scores, click it to open it.")
                       .arg(induction).arg(previous).arg(summaries->length));
    thumbs_->setSummaries(std::move(summaries));
}

}  // namespace lmwb::gui
