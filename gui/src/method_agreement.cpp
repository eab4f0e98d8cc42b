#include "method_agreement.h"

#include <QHeaderView>

#include <cmath>

#include "lmwb/agreement.h"

namespace lmwb::gui {

MethodAgreementTable::MethodAgreementTable(QWidget* parent) : QTableWidget(0, ColumnCount, parent) {
    setHorizontalHeaderLabels({tr("method"), tr("F(x)"), tr("delta"), tr("of F(x) − F(baseline)"), tr("evaluations"), tr("agreement (Spearman ρ)"),
                               tr("warnings")});
    verticalHeader()->hide();
    horizontalHeader()->setStretchLastSection(true);
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setMinimumHeight(60);
    setMaximumHeight(110);
}

double MethodAgreementTable::agreement(const attr::Result& a, const attr::Result& b) {
    if (a.scores.size() != b.scores.size() || a.scores.size() < 3) return std::nan("");
    return metrics::spearman(a.scores, b.scores);
}

void MethodAgreementTable::setResults(const std::vector<std::shared_ptr<const attr::Result>>& results) {
    setRowCount(static_cast<int>(results.size()));
    for (int i = 0; i < static_cast<int>(results.size()); ++i) {
        const attr::Result& r = *results[static_cast<std::size_t>(i)];
        const double gap = r.target_logprob - r.baseline_logprob;
        const double share = std::isfinite(r.delta) && std::fabs(gap) > 0 ? std::fabs(r.delta) / std::fabs(gap) : std::nan("");
        QStringList others;
        for (int j = 0; j < static_cast<int>(results.size()); ++j) {
            if (j == i) continue;
            const attr::Result& o = *results[static_cast<std::size_t>(j)];
            const double rho = agreement(r, o);
            others << (std::isfinite(rho) ? tr("%1 with %2").arg(rho, 0, 'f', 2).arg(QString::fromStdString(o.method))
                                          : tr("— with %1").arg(QString::fromStdString(o.method)));
        }
        QStringList warnings;
        for (const auto& w : r.warnings) warnings << QString::fromStdString(w);
        if (std::isfinite(share) && share > kLargeDelta && r.warnings.empty())
            warnings << tr("the delta is %1% of the change it explains: the scores do not add up").arg(100 * share, 0, 'f', 1);
        const QStringList cells{QString::fromStdString(r.method),
                                QString::number(r.target_logprob, 'g', 5),
                                std::isfinite(r.delta) ? QString::number(r.delta, 'g', 3) : tr("—"),
                                std::isfinite(share) ? QStringLiteral("%1%").arg(100 * share, 0, 'f', 2) : tr("—"),
                                QString::number(r.evaluations),
                                others.isEmpty() ? tr("run another method to compare") : others.join(QStringLiteral(", ")),
                                warnings.join(QStringLiteral("; "))};
        for (int c = 0; c < ColumnCount; ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (c == Warnings && !warnings.isEmpty()) item->setBackground(QColor(0xff, 0xec, 0xb3)), item->setForeground(QColor(0x3c, 0x28, 0x00));
            if (c == Warnings) item->setToolTip(cells[c]);
            setItem(i, c, item);
        }
    }
}

}  // namespace lmwb::gui
