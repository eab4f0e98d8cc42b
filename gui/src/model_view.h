// The open model: architecture, size, vocabulary, context, dtype and capabilities.
#pragma once

#include <QWidget>

class QLabel;
class QFormLayout;

namespace lmwb::gui {

class Session;

class ModelView : public QWidget {
    Q_OBJECT
public:
    explicit ModelView(Session& session, QWidget* parent = nullptr);
    QString summary() const;  // one line for the toolbar: "tiny-b (llama, 0.84M params, ctx 256)"

private:
    void refresh();
    Session& session_;
    QFormLayout* form_;
};

}  // namespace lmwb::gui
