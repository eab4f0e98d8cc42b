// bertviz's model view: every layer × head as a thumbnail of its attention map for the current input, with the head
// summaries (entropy, first-token, previous-token and induction scores) as captions and a coloured frame for likely
// previous-token and induction heads; clicking a thumbnail asks for that head in the attention view.
#pragma once

#include <QWidget>

#include <memory>

#include "lmwb/attribution.h"

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

signals:
    void headClicked(int layer, int head);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;  // tooltips

private:
    static constexpr int kThumb = 72, kCaption = 32, kGap = 14, kMargin = 46;
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

signals:
    void summariesRequested();

private:
    QPushButton* button_;
    QLabel* note_;
    QScrollArea* scroll_;
    HeadThumbnails* thumbs_;
};

}  // namespace lmwb::gui
