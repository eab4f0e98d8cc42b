#!/usr/bin/python3
"""Reference values for the agreement statistics of human evaluation, computed by the libraries researchers use
(Debian's python3-sklearn, python3-statsmodels, python3-scipy) and, for Krippendorff's alpha, which none of them has,
from Krippendorff's own definition (coincidence matrix; "Computing Krippendorff's Alpha-Reliability", 2011), written
here in Python independently of the C++ code. Writes tests/fixtures/metrics/agreement_reference.json.
Usage: /usr/bin/python3 scripts/reference/agreement_reference.py OUT.json"""
import json
import math
import sys

import numpy as np
import scipy
import scipy.stats
import sklearn
import statsmodels
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

# The worked example of Wikipedia's "Fleiss' kappa" article (not Fleiss's own data): 10 subjects, 14 raters each,
# counts per category (5 categories); kappa 0.210 there. statsmodels tests fleiss_kappa on it.
WIKIPEDIA_FLEISS_TABLE = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                          [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]

# Fleiss (1971), "Measuring nominal scale agreement among many raters", Psychological Bulletin 76(5), Table 1:
# psychiatric diagnoses of 30 patients by 6 raters each, counts per category (depression, personality disorder,
# schizophrenia, neurosis, other); kappa 0.430 there. The R package irr ships it as `diagnoses`. Taken from, and
# identical in:
# - JonasMoss/quadagree, commit 62042a897845427f1bc212dcdfee03340784e8b7, data_raw/fleiss1971.csv (counts, R data
#   dat.fleiss1971, "scraped by hand from Fleiss (1971)");
# - sophiedkk/pyirr, commit 86945b64dd813acd25b13a699e019ff4c2872cb4, pyrr/tests/diagnoses.csv (irr's `diagnoses`,
#   one label per rater, counted here per category; its tests/test_kappam_fleiss.py expects 0.430).
FLEISS_1971_TABLE = [[0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
                     [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
                     [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
                     [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
                     [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
                     [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6]]

# Two raters on 12 items, a 1-5 scale.
COHEN_A = [1, 2, 3, 3, 2, 1, 4, 1, 2, 5, 4, 3]
COHEN_B = [1, 2, 3, 4, 2, 2, 4, 1, 3, 5, 5, 3]

# Krippendorff (2011), section C: 4 observers, 12 units, missing values as None.
KRIPPENDORFF = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
                [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
                [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
                [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]

# Judge scores against mean human ratings (Spearman, ties averaged).
JUDGE = [0.91, 0.35, 0.62, 0.62, 0.10, 0.77, 0.55, 0.40]
HUMAN = [4.5, 2.0, 3.5, 4.0, 1.0, 4.5, 3.0, 3.0]


def krippendorff_alpha(data, level):
    units = list(zip(*data))
    values = sorted({v for u in units for v in u if v is not None})
    o = {(c, k): 0.0 for c in values for k in values}
    for u in units:
        present = [v for v in u if v is not None]
        m = len(present)
        if m < 2:
            continue
        for i, a in enumerate(present):
            for j, b in enumerate(present):
                if i != j:
                    o[(a, b)] += 1.0 / (m - 1)
    n_c = {c: sum(o[(c, k)] for k in values) for c in values}
    n = sum(n_c.values())

    def delta2(c, k):
        if level == "nominal":
            return 0.0 if c == k else 1.0
        if level == "interval":
            return float(c - k) ** 2
        if level == "ratio":
            return ((c - k) / (c + k)) ** 2 if c + k else 0.0
        lo, hi = min(c, k), max(c, k)  # ordinal
        between = sum(n_c[g] for g in values if lo <= g <= hi)
        return (between - (n_c[c] + n_c[k]) / 2.0) ** 2

    d_o = sum(o[(c, k)] * delta2(c, k) for c in values for k in values) / n
    d_e = sum(n_c[c] * n_c[k] * delta2(c, k) for c in values for k in values) / (n * (n - 1))
    return 1.0 - d_o / d_e


def main():
    out = {
        "about": __doc__.split("\n")[0],
        "versions": {"sklearn": sklearn.__version__, "statsmodels": statsmodels.__version__, "scipy": scipy.__version__},
        "fleiss_wikipedia": {"table": WIKIPEDIA_FLEISS_TABLE,
                             "kappa": fleiss_kappa(np.array(WIKIPEDIA_FLEISS_TABLE), method="fleiss"),
                             "published": 0.210},
        "fleiss_1971": {"table": FLEISS_1971_TABLE, "kappa": fleiss_kappa(np.array(FLEISS_1971_TABLE), method="fleiss"),
                        "published": 0.430},
        "cohen": {"a": COHEN_A, "b": COHEN_B,
                  "kappa": cohen_kappa_score(COHEN_A, COHEN_B),
                  "linear": cohen_kappa_score(COHEN_A, COHEN_B, weights="linear"),
                  "quadratic": cohen_kappa_score(COHEN_A, COHEN_B, weights="quadratic")},
        "krippendorff": {"data": KRIPPENDORFF,
                         "published": {"nominal": 0.743, "interval": 0.849},
                         "alpha": {lv: krippendorff_alpha(KRIPPENDORFF, lv) for lv in ("nominal", "ordinal", "interval", "ratio")}},
        "spearman": {"judge": JUDGE, "human": HUMAN, "rho": scipy.stats.spearmanr(JUDGE, HUMAN).correlation},
    }
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({k: out[k].get("kappa", out[k].get("alpha", out[k].get("rho")))
                      for k in ("fleiss_wikipedia", "fleiss_1971", "cohen", "krippendorff", "spearman")}))


if __name__ == "__main__":
    main()
