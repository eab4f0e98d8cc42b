#include "open_model_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>

namespace lmwb::gui {

double held_weight_bytes(const ModelInfo& info, const std::string& dtype) {
    const auto stored = static_cast<double>(info.weight_bytes);
    const bool sixteen = info.stored_dtype.rfind("BF16", 0) == 0 || info.stored_dtype.rfind("F16", 0) == 0;
    if (dtype == "float32") return sixteen ? 2 * stored : stored;
    if (dtype == "bfloat16") return sixteen ? stored : stored / 2;
    return stored;  // auto on the CPU: as stored
}

OpenModelDialog::OpenModelDialog(const QString& source, const ModelOptions& initial, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Open model"));
    auto* form = new QFormLayout(this);
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
                                  .arg(info_.context_length));
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
    estimate_->setText(tr("weights %1 in memory (%2 stored), plus the activations of what runs")
                           .arg(QLocale().formattedDataSize(static_cast<qint64>(held_weight_bytes(info_, dtype)), 1, QLocale::DataSizeSIFormat),
                                QLocale().formattedDataSize(static_cast<qint64>(info_.weight_bytes), 1, QLocale::DataSizeSIFormat)));
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
