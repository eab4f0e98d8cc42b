// What to open a model with: the compute dtype and threads, chosen with the model's description and the memory its
// weights will take in each dtype in view (read from the config and the safetensors headers: no weight is read).
#pragma once

#include <QDialog>

#include "lmwb/model.h"

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace lmwb::gui {

class OpenModelDialog : public QDialog {
    Q_OBJECT
public:
    // `initial`: the dtype and threads offered first (the last choice). A model that cannot be described shows why and
    // cannot be opened from here.
    OpenModelDialog(const QString& source, const ModelOptions& initial, QWidget* parent = nullptr);
    ModelOptions options() const;  // dtype and threads as chosen
    QString description() const;   // the model's line, or why it cannot be opened
    // The weights' memory in the chosen dtype, what a pass over a full window adds, and what the machine has.
    QString estimate() const;

private:
    void update();
    ModelInfo info_;
    bool described_ = false, fits_ = true;
    QPushButton* open_;
    QComboBox* dtype_;
    QSpinBox* threads_;
    QLabel* description_;
    QLabel* estimate_;
};

}  // namespace lmwb::gui
