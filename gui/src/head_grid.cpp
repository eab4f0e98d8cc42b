#include "head_grid.h"

#include "inspector_page.h"

#include <QCheckBox>
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
    images_.clear();
    if (maps_ && !maps_->heads_display.empty()) {
        const int n = maps_->display;
        const std::size_t nn = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
        for (std::size_t k = 0; k < static_cast<std::size_t>(maps_->layers) * static_cast<std::size_t>(maps_->heads); ++k) {
            const float* m = maps_->heads_display.data() + k * nn;
            // Each row scaled by its own maximum, as bertviz does: rows with diffuse attention stay visible.
            QImage img(n, n, QImage::Format_RGB32);
            for (int r = 0; r < n; ++r) {
                float mx = 0;
                for (int c = 0; c < n; ++c)
                    if (m[r * n + c] > mx) mx = m[r * n + c];  // masked cells are NaN
                auto* line = reinterpret_cast<QRgb*>(img.scanLine(r));
                for (int c = 0; c < n; ++c) {
                    const float x = m[r * n + c];
                    const double v = std::isnan(x) || mx <= 0 ? 0 : x / mx;
                    line[c] = std::isnan(x) ? qRgb(238, 238, 238)
                                            : qRgb(static_cast<int>(255 - 200 * v), static_cast<int>(255 - 150 * v), 255 - static_cast<int>(60 * v));
                }
            }
            images_.push_back(n > kThumb ? img.scaled(kThumb, kThumb, Qt::IgnoreAspectRatio, Qt::SmoothTransformation) : img);
        }
    }
    updateGeometry();
    adjustSize();
    update();
}

void HeadThumbnails::setThumbSize(int px) {
    thumb_ = std::clamp(px, 8, kThumb);
    updateGeometry();
    adjustSize();
    update();
}

int HeadThumbnails::fitThumbSize(QSize room) const {
    if (!maps_ || maps_->heads <= 0 || maps_->layers <= 0) return kThumb;
    for (int t = kThumb; t > 8; --t) {
        const int gap = t >= kCaptionAt ? 14 : 2, cap = t >= kCaptionAt ? 32 : 0;
        if (kMargin + maps_->heads * (t + gap) <= room.width() && kTop + maps_->layers * (t + cap + gap) <= room.height()) return t;
    }
    return 8;
}

void HeadThumbnails::setSummaries(std::shared_ptr<const attr::HeadSummaries> summaries) {
    summaries_ = std::move(summaries);
    update();
}

QSize HeadThumbnails::sizeHint() const {
    if (!maps_) return {400, 200};
    return {kMargin + maps_->heads * (thumb_ + gap()), kTop + maps_->layers * (thumb_ + caption() + gap())};
}

QRect HeadThumbnails::cellRect(int layer, int head) const {
    return {kMargin + head * (thumb_ + gap()), kTop + layer * (thumb_ + caption() + gap()), thumb_, thumb_};
}

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
    // Head names over the columns, every one when they fit, else every k-th.
    const int every = std::max(1, (QFontMetrics(font()).horizontalAdvance(tr("head %1").arg(maps_->heads)) + 4) / (thumb_ + gap()) + 1);
    for (int h = 0; h < maps_->heads; h += every)
        p.drawText(QRect(kMargin + h * (thumb_ + gap()) - 20, 4, thumb_ + 40, 18), Qt::AlignCenter,
                   every == 1 && thumb_ >= kCaptionAt ? tr("head %1").arg(h) : QString::number(h));
    const int row_every = std::max(1, QFontMetrics(font()).height() / (thumb_ + caption() + gap()) + 1);
    for (int l = 0; l < maps_->layers; ++l) {
        if (l % row_every == 0)
            p.drawText(QRect(0, kTop + l * (thumb_ + caption() + gap()), kMargin - 6, thumb_), Qt::AlignRight | Qt::AlignVCenter, tr("L%1").arg(l));
        for (int h = 0; h < maps_->heads; ++h) {
            const QRect cell = cellRect(l, h);
            p.drawImage(cell, images_[static_cast<std::size_t>(l) * static_cast<std::size_t>(maps_->heads) + static_cast<std::size_t>(h)]);
            QColor frame = Qt::gray;
            QString scores;
            if (summaries_ && l < summaries_->layers && h < summaries_->heads_per_layer) {
                const auto& s = summaries_->heads[static_cast<std::size_t>(l * summaries_->heads_per_layer + h)];
                scores = tr("induction %1\nprevious %2").arg(s.induction, 0, 'f', 2).arg(s.previous_token, 0, 'f', 2);
                if (s.likely_induction()) frame = QColor(0, 140, 60);
                else if (s.likely_previous_token()) frame = QColor(140, 60, 170);
            }
            p.setPen(QPen(frame, frame == Qt::gray ? 1 : thumb_ >= kCaptionAt ? 3 : 2));
            p.drawRect(cell.adjusted(-1, -1, 0, 0));
            p.setPen(palette().windowText().color());
            if (!scores.isEmpty() && thumb_ >= kCaptionAt) {
                QFont f = p.font();
                f.setPointSizeF(f.pointSizeF() * 0.8);
                p.setFont(f);
                p.drawText(QRect(cell.left() - gap() / 2, cell.bottom() + 2, thumb_ + gap(), caption() - 4), Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap, scores);
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
    fit_ = new QCheckBox(tr("Fit"));
    fit_->setChecked(true);
    fit_->setToolTip(tr("Every layer × head on screen (captions in the tooltips when small); off: full-size thumbnails with captions"));
    row->addWidget(button_);
    row->addWidget(fit_);
    row->addWidget(note_, 1);
    v->addLayout(row);
    scroll_ = new QScrollArea;
    thumbs_ = new HeadThumbnails;
    scroll_->setWidget(thumbs_);
    scroll_->setWidgetResizable(false);
    v->addWidget(scroll_, 1);
    connect(button_, &QPushButton::clicked, this, &HeadGridView::summariesRequested);
    connect(fit_, &QCheckBox::toggled, this, &HeadGridView::refit);
    clear();
}

void HeadGridView::setFit(bool fit) { fit_->setChecked(fit); }

void HeadGridView::refit() {
    thumbs_->setThumbSize(fit_->isChecked() ? thumbs_->fitThumbSize(scroll_->viewport()->size()) : HeadThumbnails::kThumb);
}

void HeadGridView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    refit();
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
    refit();
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
