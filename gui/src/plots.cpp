#include "plots.h"

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

QSharedPointer<QCPAxisTickerText> labelTicker(const QStringList& labels) {
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    const int step = std::max(1, static_cast<int>(labels.size()) / 40);  // thin out long token lists
    for (int i = 0; i < labels.size(); i += step) {
        QString l = labels[i];
        l.replace(QLatin1Char('\n'), QStringLiteral("⏎"));
        if (l.size() > 12) l = l.left(11) + QChar(0x2026);
        t->addTick(i, l);
    }
    return t;
}

}  // namespace

QColor divergingColor(double t) {
    t = std::clamp(t, -1.0, 1.0);
    return diverging().color(t, QCPRange(-1, 1));
}

Plot::Plot(QWidget* parent) : QCustomPlot(parent) {
    setMinimumSize(200, 150);
    setNoAntialiasingOnDrag(true);
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

bool Plot::exportTo(const QString& path, QString* error) {
    bool ok = false;
    const int w = std::max(width(), 640), h = std::max(height(), 480);
    if (path.endsWith(QLatin1String(".png"), Qt::CaseInsensitive)) {
        ok = savePng(path, w, h);
    } else if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
        ok = savePdf(path, w, h);
    } else if (path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive)) {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(QSize(w, h));
        svg.setViewBox(QRect(0, 0, w, h));
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
    map_->setTightBoundary(true);
    scale_ = new QCPColorScale(this);
    plotLayout()->addElement(0, 1, scale_);
    map_->setColorScale(scale_);
    auto* group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    yAxis->setRangeReversed(true);
    xAxis->setTickLabelRotation(60);
    setMouseTracking(true);
}

void Heatmap::setMatrix(int rows, int cols, const std::vector<double>& values, const QStringList& row_labels,
                        const QStringList& col_labels, bool diverging_palette, const QString& row_title, const QString& col_title) {
    markFilled();
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
    double lo = 0, hi = 0;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            double v = values[static_cast<std::size_t>(r * cols + c)];
            map_->data()->setCell(c, r, v);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (diverging_palette) {
        double m = std::max({std::fabs(lo), std::fabs(hi), 1e-12});
        auto g = diverging();
        g.setNanHandling(QCPColorGradient::nhTransparent);
        map_->setGradient(g);
        map_->setDataRange(QCPRange(-m, m));
    } else {
        auto g = sequential();
        g.setNanHandling(QCPColorGradient::nhTransparent);
        map_->setGradient(g);
        map_->setDataRange(QCPRange(0, std::max(hi, 1e-12)));
    }
    xAxis->setTicker(labelTicker(col_labels));
    yAxis->setTicker(labelTicker(row_labels));
    xAxis->setLabel(col_title);
    yAxis->setLabel(row_title);
    xAxis->setRange(-0.5, cols - 0.5);
    yAxis->setRange(-0.5, rows - 0.5);
    replot(QCustomPlot::rpQueuedReplot);
}

QString Heatmap::cellText(int r, int c) const {
    if (r < 0 || c < 0 || r >= rows_ || c >= cols_) return {};
    auto label = [](const QStringList& l, int i) { return i < l.size() ? l[i] : QString::number(i); };
    return QStringLiteral("%1 %2 → %3 %4: %5")
        .arg(row_title_, label(row_labels_, r).toHtmlEscaped(), col_title_, label(col_labels_, c).toHtmlEscaped())
        .arg(value(r, c), 0, 'g', 4);
}

void Heatmap::mouseMoveEvent(QMouseEvent* event) {
    Plot::mouseMoveEvent(event);
    double x = xAxis->pixelToCoord(event->position().x()), y = yAxis->pixelToCoord(event->position().y());
    int c = static_cast<int>(std::lround(x)), r = static_cast<int>(std::lround(y));
    QString text = cellText(r, c);
    if (!text.isEmpty()) QToolTip::showText(event->globalPosition().toPoint(), text, this);
    else QToolTip::hideText();
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

void BarChart::setBars(const QStringList& labels, const std::vector<double>& values, const QString& value_title) {
    markFilled();
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
    xAxis->setTicker(labelTicker(labels));
    xAxis->setRange(-0.5, static_cast<double>(values.size()) - 0.5);
    double pad = std::max(1e-9, (hi - lo) * 0.05);
    yAxis->setRange(lo - pad, hi + pad);
    yAxis->setLabel(value_title);
    replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace lmwb::gui
