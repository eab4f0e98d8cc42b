// What to open a model with: the compute dtype and threads, chosen with the model's description and the memory its
// weights will take in each dtype in view (read from the config and the safetensors headers: no weight is read).
#pragma once

#include <QDialog>

#include "lmwb/model.h"

class QComboBox;
class QLabel;
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
    QString estimate() const;      // the weights' memory in the chosen dtype

private:
    void update();
    ModelInfo info_;
    bool described_ = false;
    QComboBox* dtype_;
    QSpinBox* threads_;
    QLabel* description_;
    QLabel* estimate_;
};

// Bytes the weights take in memory when a model of `info` is opened with `dtype` on the CPU: a 16-bit checkpoint under
// "auto" or "bfloat16" keeps its bytes, "float32" doubles them; a float32 checkpoint stays float32 under "auto".
double held_weight_bytes(const ModelInfo& info, const std::string& dtype);

}  // namespace lmwb::gui
