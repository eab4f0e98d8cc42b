#include "model_view.h"

#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>

#include "session.h"

namespace lmwb::gui {

ModelView::ModelView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    form_ = new QFormLayout(this);
    form_->setLabelAlignment(Qt::AlignRight);
    connect(&session_, &Session::modelChanged, this, &ModelView::refresh);
    refresh();
}

QString ModelView::summary() const {
    if (!session_.model()) return tr("no model");
    const auto& i = session_.model()->info();
    const double p = static_cast<double>(i.parameters);
    return QStringLiteral("%1 (%2, %3 params, ctx %4)")
        .arg(QFileInfo(session_.model_path()).fileName(), QString::fromStdString(i.architecture),
             p >= 1e9 ? QStringLiteral("%1B").arg(p / 1e9, 0, 'f', 2) : QStringLiteral("%1M").arg(p / 1e6, 0, 'f', 2),
             QLocale().toString(static_cast<qlonglong>(i.context_length)));
}

void ModelView::refresh() {
    while (form_->rowCount()) form_->removeRow(0);
    if (!session_.model()) {
        form_->addRow(new QLabel(tr("Open a model folder (File ▸ Open model…, or drop it on the window).")));
        return;
    }
    const auto& i = session_.model()->info();
    auto row = [&](const QString& k, const QString& v) {
        auto* l = new QLabel(v);
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        form_->addRow(k, l);
    };
    QStringList caps;
    for (const auto& c : i.capabilities) caps << QString::fromStdString(c);
    row(tr("Path"), session_.model_path());
    for (const auto& w : i.warnings) row(tr("Warning"), QString::fromStdString(w));
    row(tr("Format"), QString::fromStdString(i.format));
    row(tr("Architecture"), QString::fromStdString(i.architecture));
    row(tr("Parameters"), QLocale().toString(static_cast<qlonglong>(i.parameters)));
    row(tr("Weights"), tr("%1, stored %2, held %3")
                           .arg(QLocale().formattedDataSize(static_cast<qint64>(i.weight_bytes), 1, QLocale::DataSizeSIFormat),
                                QString::fromStdString(i.stored_dtype), QString::fromStdString(i.held_dtype)));
    row(tr("Compute"), QStringLiteral("%1 on %2").arg(QString::fromStdString(i.compute_dtype), QString::fromStdString(i.device)));
    row(tr("Vocabulary"), QLocale().toString(static_cast<qlonglong>(i.vocab_size)));
    row(tr("Context"), tr("%1 tokens").arg(QLocale().toString(static_cast<qlonglong>(i.context_length))));
    row(tr("Shape"), tr("%1 layers, hidden %2, %3 heads (%4 key/value)").arg(i.layers).arg(i.hidden_size).arg(i.heads).arg(i.kv_heads));
    row(tr("Capabilities"), caps.join(QStringLiteral(", ")));
}

}  // namespace lmwb::gui
