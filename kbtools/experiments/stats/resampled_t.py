"""Corrected resampled t-test for differences measured on (repeated) cross-validation folds.

Fold scores share training subjects, so the naive t-test over folds underestimates the
variance. The correction (Machine Learning 52:239, 2003; for repeated k-fold, PAKDD 2004)
inflates the variance of the mean by the test/train size ratio:
t = mean(d) / sqrt((1/J + n_test/n_train) * var(d)), with J - 1 degrees of freedom over the J
fold differences. Unlike the exact signed-rank test over 5 folds it has no p-value floor, and
unlike a DeLong test on pooled predictions it accounts for the variability of refitting the
models on different training sets.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats


def corrected_resampled_se(differences: np.ndarray, test_train_ratio: float) -> float:
    """Standard error of the mean fold difference with the (1/J + n_test/n_train) correction."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        raise ValueError("need at least two fold differences")
    return float(np.sqrt((1.0 / d.size + test_train_ratio) * d.var(ddof=1)))


def corrected_resampled_t(differences: np.ndarray, test_train_ratio: float,
                          alternative: Literal["greater", "two-sided", "less"] = "greater"
                          ) -> tuple[float, float]:
    """(t, p) for the mean of ``differences`` (J folds) being above 0 (``greater``)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    j = d.size
    if j < 2:
        raise ValueError("need at least two fold differences")
    var = d.var(ddof=1)
    mean = d.mean()
    if var == 0:
        t = 0.0 if mean == 0 else float(np.sign(mean) * np.inf)
    else:
        t = float(mean / np.sqrt((1.0 / j + test_train_ratio) * var))
    if alternative == "greater":
        p = stats.t.sf(t, j - 1)
    elif alternative == "less":
        p = stats.t.cdf(t, j - 1)
    elif alternative == "two-sided":
        p = 2 * stats.t.sf(abs(t), j - 1)
    else:
        raise ValueError(f"unknown alternative {alternative!r}")
    return t, float(p)


def corrected_resampled_interval(differences: np.ndarray, test_train_ratio: float,
                                 confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for the mean of ``differences`` (J folds) with the same corrected
    variance as :func:`corrected_resampled_t`, so an interval clear of 0 matches a small p;
    (nan, nan) with fewer than two finite values."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return float("nan"), float("nan")
    se = float(np.sqrt((1.0 / d.size + test_train_ratio) * d.var(ddof=1)))
    half = float(stats.t.ppf(0.5 + confidence / 2, d.size - 1)) * se
    return float(d.mean() - half), float(d.mean() + half)
