// The attribution methods run on one prompt, side by side: each one's objective, its delta (IG's convergence, SHAP's
// efficiency gap) against the change it explains, its evaluations and warnings, and how far their per-token scores
// agree (Spearman's rank correlation over the prompt's tokens).
#pragma once

#include <QTableWidget>

#include <memory>
#include <vector>

#include "lmwb/attribution.h"

namespace lmwb::gui {

class MethodAgreementTable : public QTableWidget {
    Q_OBJECT
public:
    enum Column { Method, Objective, Delta, DeltaShare, Evaluations, Agreement, Warnings, ColumnCount };
    explicit MethodAgreementTable(QWidget* parent = nullptr);
    // Results of different methods for the same prompt, target and contrast (the caller keeps only those).
    void setResults(const std::vector<std::shared_ptr<const attr::Result>>& results);
    // Spearman's rho of two results' per-token scores (NaN when either is constant or they differ in tokens).
    static double agreement(const attr::Result& a, const attr::Result& b);
    // |delta| / |F(x) − F(baseline)|: above this share the scores do not add up to what they explain.
    static constexpr double kLargeDelta = 0.05;
};

}  // namespace lmwb::gui
