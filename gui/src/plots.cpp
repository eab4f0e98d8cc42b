#include "plots.h"

#include <QBuffer>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QSvgGenerator>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lmwb::gui {

namespace {

QCPColorGradient diverging() {
    QCPColorGradient g;
    g.setColorStopAt(0.0, QColor(33, 102, 172));
    g.setColorStopAt(0.25, QColor(146, 197, 222));
    g.setColorStopAt(0.5, QColor(255, 255, 255));
    g.setColorStopAt(0.75, QColor(253, 184, 99));
    g.setColorStopAt(1.0, QColor(179, 88, 6));
    return g;
}

QCPColorGradient sequential() {  // viridis-like
    QCPColorGradient g;
    g.setColorStopAt(0.0, QColor(68, 1, 84));
    g.setColorStopAt(0.25, QColor(59, 82, 139));
    g.setColorStopAt(0.5, QColor(33, 145, 140));
    g.setColorStopAt(0.75, QColor(94, 201, 98));
    g.setColorStopAt(1.0, QColor(253, 231, 37));
    return g;
}

QString shortLabel(QString l, int limit = 12) {
    l.replace(QLatin1Char('\n'), QStringLiteral("⏎"));
    if (l.size() > limit) l = l.left(limit - 1) + QChar(0x2026);
    return l;
}

}  // namespace

// Ticks on whole cells, one label every `step` cells where step (1, 2, 5, 10, 20, …) is the smallest that keeps
// labels `spacing` pixels apart at the axis's current length and range: re-thinned on every zoom and resize.
class CellTicker : public QCPAxisTicker {
public:
    CellTicker(QCPAxis* axis, QStringList labels, double spacing, int limit, CellPositions positions = {})
        : axis_(axis), labels_(std::move(labels)), spacing_(spacing), limit_(limit), positions_(positions) {}
    int lastStep() const { return last_step_; }
    int stepFor(const QCPRange& range) const {
        const double px = axis_->orientation() == Qt::Horizontal ? axis_->axisRect()->width() : axis_->axisRect()->height();
        const double per_cell = px / std::max(1e-9, range.size());
        const int need = static_cast<int>(std::ceil(spacing_ / std::max(1e-9, per_cell)));
        int step = 1;
        for (int base = 1;; base *= 10) {
            for (int m : {1, 2, 5})
                if (base * m >= need) return base * m;
            if (base > 1000000) return step;
        }
    }

protected:
    void generate(const QCPRange& range, const QLocale&, QChar, int, QVector<double>& ticks, QVector<double>* subTicks,
                  QVector<QString>* tickLabels) override {
        ticks.clear();
        if (subTicks) subTicks->clear();
        if (tickLabels) tickLabels->clear();
        const int n = static_cast<int>(labels_.size());
        const int step = stepFor(range);
        last_step_ = step;
        const int first = std::max(0, static_cast<int>(std::ceil(range.lower)));
        const int last = std::min(n - 1, static_cast<int>(std::floor(range.upper)));
        // Thinned labels carry their position, so that a reader knows where in a long input a label sits.
        for (int i = (first + step - 1) / step * step; i <= last; i += step) {
            ticks << i;
            if (tickLabels)
                *tickLabels << (step > 1 && positions_.in_labels ? QStringLiteral("%1 %2").arg(positions_.first + i).arg(shortLabel(labels_[i], limit_))
                                                                 : shortLabel(labels_[i], limit_));
        }
    }

private:
    QCPAxis* axis_;
    QStringList labels_;
    double spacing_;
    int limit_;  // characters per label
    CellPositions positions_;
    int last_step_ = 0;
};

namespace {

// Labels rotated by r need their height / sin(r) of axis length each; upright ones their height.
void setCellLabels(QCPAxis* axis, const QStringList& labels, int limit = 12, CellPositions positions = {}) {
    const QFontMetrics fm(axis->tickLabelFont());
    const double rot = std::fabs(axis->tickLabelRotation()) * M_PI / 180.0;
    const double spacing = rot > 0.01 ? fm.height() / std::sin(rot) + 2 : fm.height() + 2;
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new CellTicker(axis, labels, spacing, limit, positions)));
}


}  // namespace

QColor divergingColor(double t) {
    t = std::clamp(t, -1.0, 1.0);
    return diverging().color(t, QCPRange(-1, 1));
}

QString tokenText(const std::string& text) {
    QString q = QString::fromStdString(text);
    q.replace(QLatin1Char('\n'), QStringLiteral("⏎"));
    return q.isEmpty() ? QStringLiteral("∅") : q;
}

QString shadedToken(const QString& text, double score, const QString& title) {
    const QColor bg = divergingColor(score);
    const double luminance = 0.2126 * bg.redF() + 0.7152 * bg.greenF() + 0.0722 * bg.blueF();
    return QStringLiteral("<span style=\"background-color:%1;color:%2\" title=\"%3\">%4</span>")
        .arg(bg.name(), luminance < 0.45 ? QStringLiteral("#ffffff") : QStringLiteral("#000000"), title.toHtmlEscaped(), text.toHtmlEscaped());
}

Plot::Plot(QWidget* parent) : QCustomPlot(parent) {
    setMinimumSize(160, 100);
    setNoAntialiasingOnDrag(true);
    // A replot thins cell labels for the axis's length before its layout settles it: on a first display (or any
    // change of size) the labels were thinned for the old length. Once laid out, thin them again if that changes them.
    connect(this, &QCustomPlot::afterLayout, this, [this] {
        for (QCPAxis* axis : {xAxis, yAxis})
            if (auto t = axis->ticker().dynamicCast<CellTicker>(); t && t->lastStep() != t->stepFor(axis->range())) {
                replot(rpQueuedReplot);
                return;
            }
    });
}

void Plot::setCategoryAxis(const QStringList& labels, double rotation) {
    xAxis->setTickLabelRotation(rotation);
    constexpr int kLimit = 24;  // metric names and words: longer than tokens
    setCellLabels(xAxis, labels, kLimit);
    // A label rotated clockwise runs right of its tick: keep room for the last one, or QCustomPlot drops it.
    const QFontMetrics fm(xAxis->tickLabelFont());
    int widest_end = 0;
    for (int i = std::max(0, static_cast<int>(labels.size()) - 3); i < labels.size(); ++i)
        widest_end = std::max(widest_end, fm.horizontalAdvance(shortLabel(labels[i], kLimit)));
    const double rot = rotation * M_PI / 180.0;
    axisRect()->setMinimumMargins(QMargins(0, 0, static_cast<int>(widest_end * std::cos(rot) + fm.height()), 0));
}

void Plot::setLegendAbove() {
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, legend);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setBorderPen(Qt::NoPen);
    plotLayout()->setRowStretchFactor(0, 0.001);
}

void Plot::setEmpty(const QString& hint) {
    hint_ = hint;
    stale_.clear();
    update();
}

void Plot::markFilled() {
    hint_.clear();
    stale_.clear();
    update();
}

void Plot::setStale(const QString& why) {
    stale_ = why;
    update();
}

void Plot::paintEvent(QPaintEvent* event) {
    if (!hint_.isEmpty()) {
        QPainter p(this);
        p.fillRect(rect(), palette().base());
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap, hint_);
        return;
    }
    QCustomPlot::paintEvent(event);
    if (stale_.isEmpty()) return;
    QPainter p(this);
    const QFontMetrics fm(font());
    const QRect band(0, 0, width(), fm.height() + 10);
    p.fillRect(band, QColor(255, 236, 179, 235));  // amber: readable in light and dark palettes
    p.setPen(QColor(60, 40, 0));
    p.drawText(band.adjusted(8, 0, -8, 0), Qt::AlignVCenter | Qt::AlignLeft, fm.elidedText(stale_, Qt::ElideRight, width() - 16));
}

// While alive, the plot carries its title in a row above everything else: exports are self-explaining, the window
// keeps its space.
class Plot::TitleRow {
public:
    explicit TitleRow(Plot* p) : plot_(p) {
        if (p->title_.isEmpty()) return;
        p->plotLayout()->insertRow(0);
        element_ = new QCPTextElement(p, p->title_, QFont(p->font().family(), p->font().pointSize() + 2, QFont::Bold));
        p->plotLayout()->addElement(0, 0, element_);
    }
    ~TitleRow() {
        if (!element_) return;
        plot_->plotLayout()->remove(element_);
        plot_->plotLayout()->simplify();
    }

private:
    Plot* plot_;
    QCPTextElement* element_ = nullptr;
};

QSize Plot::exportSize() const {
    // The size on screen when the plot has been laid out, else a readable default; never the old fixed 640 x 480.
    return isVisible() && width() > 100 ? size() : QSize(960, 640);
}

QByteArray Plot::svg(QSize size) {
    if (size.isEmpty()) size = exportSize();
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator gen;
    gen.setOutputDevice(&buffer);
    gen.setSize(size);
    gen.setViewBox(QRect(QPoint(0, 0), size));
    gen.setTitle(title_);
    TitleRow title(this);
    QCPPainter painter;
    if (!painter.begin(&gen)) return {};
    toPainter(&painter, size.width(), size.height());
    painter.end();
    return buffer.data();
}

bool Plot::exportTo(const QString& path, QString* error) {
    bool ok = false;
    const QSize sz = exportSize();
    const int w = sz.width(), h = sz.height();
    TitleRow title(this);
    if (path.endsWith(QLatin1String(".png"), Qt::CaseInsensitive)) {
        ok = savePng(path, w, h, 2.0);  // twice the pixels: sharp on high-density screens and in print
    } else if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
        ok = savePdf(path, w, h);
    } else if (path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive)) {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(QSize(w, h));
        svg.setViewBox(QRect(0, 0, w, h));
        svg.setTitle(title_);
        QCPPainter painter;
        ok = painter.begin(&svg);
        if (ok) {
            toPainter(&painter, w, h);
            ok = painter.end();
        }
    } else {
        if (error) *error = path + QStringLiteral(": choose .png, .pdf or .svg");
        return false;
    }
    if (!ok && error) *error = path + QStringLiteral(": could not be written");
    return ok;
}

void Plot::contextMenuEvent(QContextMenuEvent* event) {
    QMenu menu(this);
    if (auto* map = qobject_cast<Heatmap*>(this)) menu.addAction(tr("Reset view"), map, &Heatmap::resetView);
    menu.addAction(tr("Export…"), this, [this] {
        QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), QString(), tr("PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"));
        QString error;
        if (!path.isEmpty() && !exportTo(path, &error)) QMessageBox::critical(this, tr("Export failed"), error);
    });
    menu.exec(event->globalPos());
}

Heatmap::Heatmap(QWidget* parent) : Plot(parent) {
    map_ = new QCPColorMap(xAxis, yAxis);
    map_->setInterpolate(false);
    map_->setTightBoundary(false);  // cells centred on their ticks, the first and last full size
    scale_ = new QCPColorScale(this);
    plotLayout()->addElement(0, 1, scale_);
    map_->setColorScale(scale_);
    auto* group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    yAxis->setRangeReversed(true);
    xAxis->setTickLabelRotation(60);
    setMouseTracking(true);
    // Wheel zoom and drag pan, kept inside the matrix and at least a few cells wide.
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    auto clamp = [this](QCPAxis* axis, int cells) {
        QCPRange r = axis->range();
        const double lo = -0.5, hi = cells - 0.5, min_size = std::min(4.0, static_cast<double>(cells));
        if (cells <= 0) return;
        if (r.size() > hi - lo) r = QCPRange(lo, hi);
        if (r.size() < min_size) r = QCPRange(r.center() - min_size / 2, r.center() + min_size / 2);
        if (r.lower < lo) r = QCPRange(lo, lo + r.size());
        if (r.upper > hi) r = QCPRange(hi - r.size(), hi);
        if (r != axis->range()) axis->setRange(r);
    };
    connect(xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, clamp] {
        clamp(xAxis, cols_);
        fitColours();
        emit viewChanged();
    });
    connect(yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, clamp] {
        clamp(yAxis, rows_);
        fitColours();
        emit viewChanged();
    });
}

// The colour range spans the cells on screen: zoomed into a long map, the colours resolve what is visible.
void Heatmap::fitColours() {
    if (rows_ <= 0 || cols_ <= 0) return;
    if (colour_limit_ > 0) {
        map_->setDataRange(diverging_ ? QCPRange(-colour_limit_, colour_limit_) : QCPRange(0, colour_limit_));
        return;
    }
    const QCPRange xr = xAxis->range(), yr = yAxis->range();
    const int c0 = std::max(0, static_cast<int>(std::ceil(xr.lower - 0.5))), c1 = std::min(cols_ - 1, static_cast<int>(std::floor(xr.upper + 0.5)));
    const int r0 = std::max(0, static_cast<int>(std::ceil(yr.lower - 0.5))), r1 = std::min(rows_ - 1, static_cast<int>(std::floor(yr.upper + 0.5)));
    double hi = 0;
    for (int r = r0; r <= r1; ++r)
        for (int c = c0; c <= c1; ++c) {
            const double v = values_[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols_) + static_cast<std::size_t>(c)];
            if (std::isfinite(v)) hi = std::max(hi, diverging_ ? std::fabs(v) : v);
        }
    hi = std::max(hi, 1e-12);
    map_->setDataRange(diverging_ ? QCPRange(-hi, hi) : QCPRange(0, hi));
}

void Heatmap::setView(int first, int last) {
    if (cols_ <= 0) return;
    first = std::clamp(first, 0, cols_ - 1);
    last = std::clamp(last, first, cols_ - 1);
    xAxis->setRange(first - 0.5, last + 0.5);
    if (rows_ == cols_) yAxis->setRange(first - 0.5, last + 0.5);  // square maps (attention): the same tokens both ways
    replot(QCustomPlot::rpQueuedReplot);
}

void Heatmap::resetView() {
    xAxis->setRange(-0.5, cols_ - 0.5);
    yAxis->setRange(-0.5, rows_ - 0.5);
    replot(QCustomPlot::rpQueuedReplot);
}

std::pair<int, int> Heatmap::visibleColumns() const {
    const QCPRange r = xAxis->range();
    return {std::max(0, static_cast<int>(std::ceil(r.lower))), std::min(cols_ - 1, static_cast<int>(std::floor(r.upper)))};
}

int Heatmap::labelStep(Qt::Orientation o) const {
    QCPAxis* axis = o == Qt::Horizontal ? xAxis : yAxis;
    auto t = axis->ticker().dynamicCast<CellTicker>();
    return t ? t->stepFor(axis->range()) : 1;
}

void Heatmap::setMatrix(int rows, int cols, const std::vector<double>& values, const QStringList& row_labels,
                        const QStringList& col_labels, bool diverging_palette, const QString& row_title, const QString& col_title,
                        CellPositions positions) {
    markFilled();
    positions_ = positions;
    rows_ = rows;
    cols_ = cols;
    values_ = values;
    row_labels_ = row_labels;
    col_labels_ = col_labels;
    row_title_ = row_title;
    col_title_ = col_title;
    // QCPColorMap needs two cells per direction to size them; a single row or column gets a blank (NaN) neighbour
    // outside the visible range.
    const int mcols = std::max(2, cols), mrows = std::max(2, rows);
    map_->data()->setSize(mcols, mrows);
    map_->data()->setRange(QCPRange(0, mcols - 1), QCPRange(0, mrows - 1));
    map_->data()->fill(std::numeric_limits<double>::quiet_NaN());
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) map_->data()->setCell(c, r, values[static_cast<std::size_t>(r * cols + c)]);
    diverging_ = diverging_palette;
    auto g = diverging_palette ? diverging() : sequential();  // signed scores centred on 0; attention from 0
    g.setNanHandling(QCPColorGradient::nhTransparent);
    map_->setGradient(g);
    setCellLabels(xAxis, col_labels, 12, positions);
    setCellLabels(yAxis, row_labels, 12, positions);
    xAxis->setLabel(col_title);
    yAxis->setLabel(row_title);
    resetView();
    fitColours();
}

QString Heatmap::cellText(int r, int c) const {
    if (r < 0 || c < 0 || r >= rows_ || c >= cols_) return {};
    auto label = [this](const QStringList& l, int i) {
        const QString text = i < l.size() ? l[i] : QString::number(i);
        return positions_.in_tooltip ? QStringLiteral("%1 %2").arg(positions_.first + i).arg(text) : text;
    };
    return QStringLiteral("%1 %2 → %3 %4: %5")
        .arg(row_title_, label(row_labels_, r).toHtmlEscaped(), col_title_, label(col_labels_, c).toHtmlEscaped())
        .arg(value(r, c), 0, 'g', 4);
}

std::pair<int, int> Heatmap::cellAt(QPointF p) const {
    return {static_cast<int>(std::lround(yAxis->pixelToCoord(p.y()))), static_cast<int>(std::lround(xAxis->pixelToCoord(p.x())))};
}

void Heatmap::mouseMoveEvent(QMouseEvent* event) {
    Plot::mouseMoveEvent(event);
    const auto [r, c] = cellAt(event->position());
    QString text = cellText(r, c);
    if (!text.isEmpty()) emit cellHovered(r, c);
    if (!text.isEmpty()) QToolTip::showText(event->globalPosition().toPoint(), text, this);
    else QToolTip::hideText();
}

QCPRange Heatmap::colourRange() const { return map_->dataRange(); }

bool Heatmap::event(QEvent* e) {
    if (e->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(e);
        const auto [r, c] = cellAt(help->pos());
        if (const QString text = cellText(r, c); !text.isEmpty() && axisRect()->rect().contains(help->pos())) {
            QToolTip::showText(help->globalPos(), text, this);
            return true;
        }
    }
    return Plot::event(e);
}

BarChart::BarChart(QWidget* parent) : Plot(parent) {
    positive_ = new QCPBars(xAxis, yAxis);
    negative_ = new QCPBars(xAxis, yAxis);
    positive_->setBrush(QColor(230, 97, 1));
    positive_->setPen(Qt::NoPen);
    negative_->setBrush(QColor(33, 102, 172));
    negative_->setPen(Qt::NoPen);
    xAxis->setTickLabelRotation(60);
}

void BarChart::mouseMoveEvent(QMouseEvent* event) {
    Plot::mouseMoveEvent(event);
    const QString tip = barTip(barAt(event->position()));
    if (!tip.isEmpty() && axisRect()->rect().contains(event->position().toPoint())) QToolTip::showText(event->globalPosition().toPoint(), tip, this);
    else QToolTip::hideText();
}

int BarChart::barAt(QPointF p) const { return static_cast<int>(std::lround(xAxis->pixelToCoord(p.x()))); }

bool BarChart::event(QEvent* e) {
    if (e->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(e);
        const QString tip = barTip(barAt(help->pos()));
        if (!tip.isEmpty() && axisRect()->rect().contains(help->pos())) {
            QToolTip::showText(help->globalPos(), tip, this);
            return true;
        }
    }
    return Plot::event(e);
}

void BarChart::setBars(const QStringList& labels, const std::vector<double>& values, const QString& value_title) {
    markFilled();
    tips_.clear();
    QVector<double> keys, pos, neg;
    double lo = 0, hi = 0;
    for (int i = 0; i < static_cast<int>(values.size()); ++i) {
        keys << i;
        pos << std::max(0.0, values[static_cast<std::size_t>(i)]);
        neg << std::min(0.0, values[static_cast<std::size_t>(i)]);
        lo = std::min(lo, values[static_cast<std::size_t>(i)]);
        hi = std::max(hi, values[static_cast<std::size_t>(i)]);
    }
    positive_->setData(keys, pos);
    negative_->setData(keys, neg);
    setCategoryAxis(labels, 60);
    xAxis->setRange(-0.5, static_cast<double>(values.size()) - 0.5);
    setValueRange(lo, hi);
    yAxis->setLabel(value_title);
}

void BarChart::setValueRange(double lo, double hi) {
    const double pad = std::max(1e-9, (hi - lo) * 0.05);
    yAxis->setRange(lo - pad, hi + pad);
    replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace lmwb::gui
