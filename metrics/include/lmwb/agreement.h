// Inter-rater agreement for human evaluation, with the definitions the usual libraries implement: Cohen's kappa as
// scikit-learn's cohen_kappa_score, Fleiss' kappa as statsmodels' fleiss_kappa, Krippendorff's alpha from his
// coincidence-matrix definition (any number of raters, missing ratings), Spearman's rho as scipy's spearmanr.
#pragma once

#include <optional>
#include <vector>

namespace lmwb::metrics {

enum class Scale { Nominal, Ordinal, Interval, Ratio };
enum class KappaWeights { None, Linear, Quadratic };  // over the sorted categories' positions, as scikit-learn

// Two raters' labels of the same items (numbers stand for categories).
double cohen_kappa(const std::vector<double>& a, const std::vector<double>& b, KappaWeights weights = KappaWeights::None);
// counts[item][category]: how many raters put the item in the category; every item has the same number of raters.
double fleiss_kappa(const std::vector<std::vector<double>>& counts);
// data[rater][unit], nullopt where the rater gave no value; units with fewer than two values do not count.
double krippendorff_alpha(const std::vector<std::vector<std::optional<double>>>& data, Scale scale);
// Spearman's rank correlation (ties get average ranks); NaN when a side is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace lmwb::metrics
