// Plots on QCustomPlot: a base with an Export… context menu (PNG, PDF, SVG), a token heatmap with labels on both
// axes, a colour scale and a hover tooltip, and a signed bar chart.
#pragma once

#include <qcustomplot.h>

#include <vector>

namespace lmwb::gui {

class Plot : public QCustomPlot {
    Q_OBJECT
public:
    explicit Plot(QWidget* parent = nullptr);
    // Format from the extension: .png, .pdf or .svg. Returns false (and sets error) when writing fails.
    bool exportTo(const QString& path, QString* error = nullptr);
    // What the plot shows, in words ("Attention · layer 3 · head mean · tiny-b"): drawn above it in exports.
    void setTitle(const QString& title) { title_ = title; }
    QString title() const { return title_; }
    QByteArray svg(QSize size = {});  // the plot as an SVG document, title included (for reports)
    QSize exportSize() const;
    // Category labels on the x axis at 0, 1, 2, …, rotated clockwise and thinned to what fits, with room kept for
    // the last label.
    void setCategoryAxis(const QStringList& labels, double rotation = 45);
    // The legend in a row of its own above the plot, entries side by side: it never covers data.
    void setLegendAbove();

    // With nothing to show the plot draws no axes, only `hint` (what to do to fill it). setEmpty is undone by the
    // next setMatrix / setBars / markFilled.
    void setEmpty(const QString& hint);
    bool isEmpty() const { return !hint_.isEmpty(); }
    QString emptyHint() const { return hint_; }
    void markFilled();
    // A result computed for inputs that have since changed stays readable under a banner that says so.
    void setStale(const QString& why);  // empty: fresh
    QString staleText() const { return stale_; }

protected:
    void contextMenuEvent(QContextMenuEvent* event) override;
    void paintEvent(QPaintEvent* event) override;

private:
    class TitleRow;
    QString hint_, stale_, title_;
};

// Where a heatmap's cells sit in a longer sequence: thinned tick labels carry first + index when in_labels, the
// hover text names the position when in_tooltip (cells that are tokens).
struct CellPositions {
    int first = 0;
    bool in_labels = true, in_tooltip = false;
};

class Heatmap : public Plot {
    Q_OBJECT
public:
    explicit Heatmap(QWidget* parent = nullptr);
    // values: rows x cols, row-major. Labels per row and column (shown thinned when many). Diverging: a symmetric
    // range around 0 with a blue-white-orange palette; else 0..max with a sequential palette.
    void setMatrix(int rows, int cols, const std::vector<double>& values, const QStringList& row_labels,
                   const QStringList& col_labels, bool diverging, const QString& row_title, const QString& col_title,
                   CellPositions positions = {});
    QString cellText(int row, int col) const;  // what the hover tooltip shows
    std::pair<int, int> cellAt(QPointF pixel) const;  // (row, column) under a point, maybe outside the map
    // Colours span [-limit, limit] (diverging) or [0, limit], values beyond saturating; 0 (the default): the cells on
    // screen set the range. Kept across setMatrix.
    void setColourLimit(double limit) { colour_limit_ = limit; }
    QCPRange colourRange() const;
    int rows() const { return rows_; }
    int cols() const { return cols_; }
    double value(int row, int col) const { return values_.at(static_cast<std::size_t>(row * cols_ + col)); }

    // Zoom: show columns [first, last] (and the same rows when the map is square); the wheel and dragging do the same.
    void setView(int first, int last);
    void resetView();
    std::pair<int, int> visibleColumns() const;
    int labelStep(Qt::Orientation orientation) const;  // one label every this many cells at the current zoom

signals:
    void viewChanged();
    void cellHovered(int row, int col);  // the pointer is over a cell

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    // The tooltip event (after the hover delay) shows the cell's or bar's own text, never the widget's generic one
    // in its place.
    bool event(QEvent* event) override;

private:
    void fitColours();
    QCPColorMap* map_;
    QCPColorScale* scale_;
    bool diverging_ = false;
    double colour_limit_ = 0;
    int rows_ = 0, cols_ = 0;
    std::vector<double> values_;
    QStringList row_labels_, col_labels_;
    QString row_title_, col_title_;
    CellPositions positions_;
};

class BarChart : public Plot {
    Q_OBJECT
public:
    explicit BarChart(QWidget* parent = nullptr);
    void setBars(const QStringList& labels, const std::vector<double>& values, const QString& value_title);
    // The value axis's range (padded as setBars pads its own): charts to be compared side by side share one.
    void setValueRange(double lo, double hi);
    // Tooltip text per bar (e.g. a token's alternatives), shown when the mouse is over that bar.
    void setBarTips(const QStringList& tips) { tips_ = tips; }
    QString barTip(int index) const { return index >= 0 && index < tips_.size() ? tips_[index] : QString(); }
    int barAt(QPointF pixel) const;  // the bar under a point, maybe outside the chart

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    // The tooltip event (after the hover delay) shows the cell's or bar's own text, never the widget's generic one
    // in its place.
    bool event(QEvent* event) override;

private:
    QCPBars* positive_;
    QCPBars* negative_;
    QStringList tips_;
};

// Colour for a signed score in [-1, 1] (blue for negative, orange for positive, white at 0): readable for the
// common colour-vision deficiencies.
QColor divergingColor(double t);
// A token's text for labels: a newline as ⏎, an empty token as ∅.
QString tokenText(const std::string& text);
// The token as HTML on the colour of a signed score in [-1, 1], its text white or black by contrast, `title` on hover.
QString shadedToken(const QString& text, double score, const QString& title);

}  // namespace lmwb::gui
