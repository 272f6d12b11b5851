"""Binary classification metrics: AUROC, AUPRC, Brier score and expected calibration error.

ECE binning (documented choice): ``n_bins`` equal-width bins on [0, 1]; bin b holds
probabilities in [b/K, (b+1)/K), the last bin also holds 1.0. ECE = sum_b (n_b / N) *
|mean(y in b) - mean(p in b)|, i.e. weighted by bin counts; empty bins contribute nothing and
are reported with count 0 (scikit-learn's ``calibration_curve`` silently drops them).

ECE is biased upwards in finite samples: even perfectly calibrated probabilities give a
positive ECE. :func:`ece_if_calibrated` measures that floor for the same probabilities (labels
drawn from them), so a run can say how far an observed ECE is above it.

Class-weighted (e.g. ``balanced``) models estimate probabilities for a reweighted population;
:func:`prior_shift` maps them back to the training class balance (the prior correction of
weighted logistic regression: add log(n1/n0) - log(w1 n1 / (w0 n0)) to the logit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CalibrationBins:
    edges: np.ndarray
    count: np.ndarray
    mean_predicted: np.ndarray
    """NaN for empty bins."""
    fraction_positive: np.ndarray
    """NaN for empty bins."""


def calibration_bins(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> CalibrationBins:
    """Equal-width reliability bins with their counts (empty bins kept, values NaN)."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(prob, dtype=float)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    if p.shape != y.shape:
        raise ValueError("y_true and prob differ in length")
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or not np.isfinite(p).all()):
        raise ValueError("probabilities must be finite and within [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(int)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / np.maximum(count, 1), np.nan)
        frac = np.where(count > 0, sum_y / np.maximum(count, 1), np.nan)
    return CalibrationBins(edges=edges, count=count, mean_predicted=mean_p,
                           fraction_positive=frac)


def expected_calibration_error(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> float:
    """Count-weighted ECE over equal-width bins (see module docstring)."""
    bins = calibration_bins(y_true, prob, n_bins)
    total = bins.count.sum()
    if total == 0:
        raise ValueError("no predictions")
    full = bins.count > 0
    gap = np.abs(bins.fraction_positive[full] - bins.mean_predicted[full])
    return float((bins.count[full] / total * gap).sum())


def binary_metrics(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> dict[str, float]:
    """AUROC (ties half credit), AUPRC (average precision: step-wise, not trapezoidal),
    Brier score and ECE of predicted probabilities ``prob`` for labels ``y_true`` (0/1)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y_true)
    p = np.asarray(prob, dtype=float)
    return {
        "auroc": float(roc_auc_score(y, p)),
        "auprc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, n_bins),
    }


def ece_if_calibrated(prob: np.ndarray, n_bins: int = 10, n_draws: int = 200,
                      rng: np.random.Generator | int | None = 0) -> float:
    """Mean ECE of ``prob`` when labels are drawn from ``prob`` itself (perfect calibration)."""
    p = np.asarray(prob, dtype=float)
    calibration_bins(np.zeros_like(p), p, n_bins)  # validates p
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    draws = (gen.uniform(size=(n_draws, p.size)) < p).astype(float)
    idx = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    onehot = np.zeros((p.size, n_bins))
    onehot[np.arange(p.size), idx] = 1.0
    count = onehot.sum(axis=0)
    full = count > 0
    mean_p = (p @ onehot)[full] / count[full]
    frac = (draws @ onehot)[:, full] / count[full]  # (n_draws, filled bins)
    ece = (count[full] / p.size * np.abs(frac - mean_p)).sum(axis=1)
    return float(ece.mean())


def prior_shift(prob: np.ndarray, train_odds: float, weighted_odds: float = 1.0) -> np.ndarray:
    """Probabilities of a model trained with class weights, moved back to the training odds.

    ``train_odds`` is n_positive / n_negative of the training data and ``weighted_odds`` the
    same ratio after weighting (1 for ``balanced``). The logit moves by their log ratio; the
    ranking (hence AUROC) is unchanged.
    """
    p = np.clip(np.asarray(prob, dtype=float), 1e-12, 1 - 1e-12)
    logit = np.log(p / (1 - p)) + np.log(train_odds / weighted_odds)
    return 1.0 / (1.0 + np.exp(-logit))
