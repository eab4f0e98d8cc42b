#include "open_model_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>

#include <algorithm>

#include "lmwb/memory_estimate.h"

namespace lmwb::gui {

OpenModelDialog::OpenModelDialog(const QString& source, const ModelOptions& initial, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Open model"));
    auto* form = new QFormLayout(this);
    form->setSizeConstraint(QLayout::SetFixedSize);  // exactly its contents, as the estimate's lines come and go
    description_ = new QLabel(this);
    description_->setWordWrap(true);
    description_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(tr("Model"), description_);
    dtype_ = new QComboBox(this);
    dtype_->addItem(tr("auto: float32 compute, 16-bit weights kept as stored"), QStringLiteral("auto"));
    dtype_->addItem(tr("float32: a float32 copy of the weights"), QStringLiteral("float32"));
    dtype_->addItem(tr("bfloat16 compute (fast to open, slow on the CPU)"), QStringLiteral("bfloat16"));
    dtype_->setCurrentIndex(std::max(0, dtype_->findData(QString::fromStdString(initial.dtype))));
    form->addRow(tr("&Dtype"), dtype_);
    threads_ = new QSpinBox(this);
    threads_->setRange(0, 1024);
    threads_->setSpecialValueText(tr("all cores (%1)").arg(QThread::idealThreadCount()));
    threads_->setValue(initial.threads);
    form->addRow(tr("&Threads"), threads_);
    estimate_ = new QLabel(this);
    estimate_->setWordWrap(true);
    form->addRow(tr("Memory"), estimate_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    open_ = buttons->button(QDialogButtonBox::Open);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
    try {
        ModelOptions describe;
        describe.load_weights = false;  // config, tokenizer and headers only
        info_ = LanguageModel::open(source.toStdString(), describe)->info();
        described_ = true;
        description_->setText(tr("%1: %2, %3 parameters, %4 layers, stored %5, context %6 tokens")
                                  .arg(QString::fromStdString(info_.path), QString::fromStdString(info_.architecture))
                                  .arg(QLocale().toString(static_cast<qlonglong>(info_.parameters)))
                                  .arg(info_.layers)
                                  .arg(QString::fromStdString(info_.stored_dtype))
                                  .arg(QLocale().toString(static_cast<qlonglong>(info_.context_length))));
    } catch (const std::exception& e) {
        description_->setText(QString::fromStdString(e.what()));
        buttons->button(QDialogButtonBox::Open)->setEnabled(false);
    }
    connect(dtype_, &QComboBox::currentIndexChanged, this, &OpenModelDialog::update);
    update();
}

void OpenModelDialog::update() {
    if (!described_) {
        estimate_->clear();
        return;
    }
    const std::string dtype = dtype_->currentData().toString().toStdString();
    const auto size = [](std::size_t bytes) { return QLocale().formattedDataSize(static_cast<qint64>(bytes), 1, QLocale::DataSizeSIFormat); };
    const std::size_t weights = held_weight_bytes(info_, dtype), available = available_memory_bytes();
    // What a typical job adds: one pass over a full window (at most 2,048 tokens), as scoring and the inspector run.
    PassShape pass;
    pass.tokens = std::min<std::int64_t>(std::max<std::int64_t>(1, info_.context_length), 2048);
    const std::size_t activations = estimate_activation_bytes(info_, pass);
    QString text = tr("weights %1 in memory (%2 stored); a pass over %3 tokens adds about %4; %5 available now")
                       .arg(size(weights), size(info_.weight_bytes), QLocale().toString(static_cast<qlonglong>(pass.tokens)), size(activations),
                            available ? size(available) : tr("unknown"));
    fits_ = available == 0 || weights <= available;
    if (!fits_) text += tr(" — the weights do not fit: a 16-bit dtype, or a machine with more memory");
    else if (weights + activations > available) text += tr(" — long inputs will be refused: a 16-bit dtype leaves more room");
    estimate_->setText(text);
    open_->setEnabled(described_ && fits_);
}

ModelOptions OpenModelDialog::options() const {
    ModelOptions o;
    o.dtype = dtype_->currentData().toString().toStdString();
    o.threads = threads_->value();
    return o;
}

QString OpenModelDialog::description() const { return description_->text(); }
QString OpenModelDialog::estimate() const { return estimate_->text(); }

}  // namespace lmwb::gui
