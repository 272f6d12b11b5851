"""DeLong's test for correlated ROC AUCs, in O(n log n) by the midrank method.

References: the test, *Biometrics* 44:837 (1988); the fast algorithm,
"Fast implementation of DeLong's algorithm for comparing the areas under correlated receiver
operating characteristic curves", *IEEE Signal Processing Letters* 21:1389 (2014). The AUC is the
Mann–Whitney statistic with ties given half credit, as in ``sklearn.metrics.roc_auc_score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import norm, rankdata

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class DeLongResult:
    auc: np.ndarray
    """AUC of each score vector (k,)."""
    cov: np.ndarray
    """DeLong covariance of the AUCs (k, k)."""


@dataclass(frozen=True)
class DeLongComparison:
    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    alternative: str
    n_positive: int
    n_negative: int


def midrank_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC from midranks (ties count half), equal to ``sklearn.metrics.roc_auc_score``.

    No input validation beyond what the formula needs, so it costs one sort: model selection
    calls it thousands of times on small folds. NaN when ``y_true`` holds one class only.
    """
    y = np.asarray(y_true) == 1
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _split(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if s.shape[1] != y.shape[0]:
        raise ValueError(f"scores have {s.shape[1]} columns but y_true has {y.shape[0]} labels")
    labels = np.unique(y)
    if labels.size != 2 or not np.isin(labels, [0, 1]).all():
        raise ValueError("y_true must contain both classes, coded 0/1")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    pos = y == 1
    return s[:, pos], s[:, ~pos]


def delong_covariance(y_true: np.ndarray, scores: np.ndarray) -> DeLongResult:
    """AUCs and their DeLong covariance for ``scores`` (k, n) sharing the labels ``y_true``.

    Midranks: for positives X and negatives Y, with T_Z the midranks in the pooled sample,
    T_X within the positives and T_Y within the negatives, the structural components are
    V10 = (T_Z[X] - T_X) / n and V01 = 1 - (T_Z[Y] - T_Y) / m (fast-algorithm paper, eq. 9-11).
    """
    x, yneg = _split(y_true, scores)
    m, n = x.shape[1], yneg.shape[1]
    tx = rankdata(x, axis=1)
    ty = rankdata(yneg, axis=1)
    tz = rankdata(np.concatenate([x, yneg], axis=1), axis=1)
    auc = tz[:, :m].sum(axis=1) / (m * n) - (m + 1.0) / (2.0 * n)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((x.shape[0],) * 2)
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((x.shape[0],) * 2)
    return DeLongResult(auc=auc, cov=s10 / m + s01 / n)


def _p_value(z: float, alternative: Alternative) -> float:
    if alternative == "two-sided":
        return float(2 * norm.sf(abs(z)))
    if alternative == "greater":
        return float(norm.sf(z))
    if alternative == "less":
        return float(norm.cdf(z))
    raise ValueError(f"alternative must be two-sided, greater or less, not {alternative!r}")


def delong_test(y_true: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                alternative: Alternative = "two-sided") -> DeLongComparison:
    """Compare AUC(a) with AUC(b) on the same subjects; ``greater`` tests AUC(a) > AUC(b)."""
    res = delong_covariance(y_true, np.vstack([scores_a, scores_b]))
    diff = float(res.auc[0] - res.auc[1])
    var = float(res.cov[0, 0] + res.cov[1, 1] - 2 * res.cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    # se == 0: identical rankings, no evidence either way
    z = diff / se if se > 0 else (0.0 if diff == 0 else float(np.sign(diff) * np.inf))
    y = np.asarray(y_true)
    return DeLongComparison(
        auc_a=float(res.auc[0]), auc_b=float(res.auc[1]), difference=diff, se=se, z=z,
        p_value=_p_value(z, alternative), alternative=alternative,
        n_positive=int((y == 1).sum()), n_negative=int((y != 1).sum()))


def delong_many_vs_one(y_true: np.ndarray, reference: np.ndarray, others: np.ndarray,
                       alternative: Alternative = "greater") -> tuple[np.ndarray, np.ndarray]:
    """Differences AUC(reference) - AUC(others[j]) and their p-values, one ranking pass.

    Used by LOGO: the full model against every drop-one-gene model on the same subjects.
    """
    others = np.atleast_2d(others)
    res = delong_covariance(y_true, np.vstack([reference, others]))
    diff = res.auc[0] - res.auc[1:]
    var = res.cov[0, 0] + np.diag(res.cov)[1:] - 2 * res.cov[0, 1:]
    se = np.sqrt(np.clip(var, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0),
                     np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    p = np.array([_p_value(float(zi), alternative) for zi in z])
    return diff, p
