// bertviz's model view: every layer × head as a thumbnail of its attention map for the current input, with the head
// summaries (entropy, first-token, previous-token and induction scores) as captions and a coloured frame for likely
// previous-token and induction heads; clicking a thumbnail asks for that head in the attention view.
#pragma once

#include <QImage>
#include <QWidget>

#include <memory>
#include <vector>

#include "lmwb/attribution.h"

class QCheckBox;
class QLabel;
class QPushButton;
class QScrollArea;

namespace lmwb::gui {

class HeadThumbnails : public QWidget {
    Q_OBJECT
public:
    explicit HeadThumbnails(QWidget* parent = nullptr);
    void setMaps(std::shared_ptr<const attr::AttentionMaps> maps);
    void setSummaries(std::shared_ptr<const attr::HeadSummaries> summaries);
    std::pair<int, int> headAt(QPoint p) const;  // (layer, head), or (-1, -1)
    QRect cellRect(int layer, int head) const;
    QString describe(int layer, int head) const;  // the tooltip
    QSize sizeHint() const override;
    // Thumbnail side in pixels (8 to kThumb); below kCaptionAt the captions give way and the gaps narrow, so that a
    // 32 × 32 model fits on screen.
    void setThumbSize(int px);
    int thumbSize() const { return thumb_; }
    // The largest thumbnail side at which every layer × head fits in `room`.
    int fitThumbSize(QSize room) const;
    static constexpr int kThumb = 72, kCaptionAt = 48;

signals:
    void headClicked(int layer, int head);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;  // tooltips

private:
    static constexpr int kMargin = 46, kTop = 24;
    int caption() const { return thumb_ >= kCaptionAt ? 32 : 0; }
    int gap() const { return thumb_ >= kCaptionAt ? 14 : 2; }
    int thumb_ = kThumb;
    std::vector<QImage> images_;  // one per head, [layer][head], at most kThumb square: painted scaled, computed once
    std::shared_ptr<const attr::AttentionMaps> maps_;
    std::shared_ptr<const attr::HeadSummaries> summaries_;
};

class HeadGridView : public QWidget {
    Q_OBJECT
public:
    explicit HeadGridView(QWidget* parent = nullptr);
    HeadThumbnails* thumbnails() const { return thumbs_; }
    QLabel* note() const { return note_; }
    void setMaps(std::shared_ptr<const attr::AttentionMaps> maps);
    void setSummaries(std::shared_ptr<const attr::HeadSummaries> summaries);
    void clear();
    void setButtonEnabled(bool on);
    // Fit (the default): thumbnails sized so that every layer × head is on screen; off: full-size thumbnails with
    // captions, scrolled.
    void setFit(bool fit);
    QScrollArea* scrollArea() const { return scroll_; }

signals:
    void summariesRequested();

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void refit();
    QPushButton* button_;
    QCheckBox* fit_;
    QLabel* note_;
    QScrollArea* scroll_;
    HeadThumbnails* thumbs_;
};

}  // namespace lmwb::gui
