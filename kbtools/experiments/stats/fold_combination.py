"""Combining per-fold estimates (e.g. AUC differences with DeLong variances) into one test.

Each outer fold gives an estimate ``d_k`` of a difference with a within-fold variance ``v_k``
(conditional on the models fitted in that fold). Pooling the folds' predictions into one
DeLong test treats five different fitted models as one and is anti-conservative under
site-grouped CV; combining the folds' own tests is not.

* :func:`fixed_effect`: inverse-variance weighted mean, z-test. Exact when every fold's
  models have the same true difference (e.g. the complete null, where every fitted model has
  AUC 0.5), but it ignores the variability between refits.
* :func:`hartung_knapp`: random-effects mean (DerSimonian–Laird between-fold variance tau^2)
  with the Hartung–Knapp–Sidik–Jonkman variance and a t reference on k - 1 degrees of freedom,
  which holds its level with few folds when fold differences vary more than their DeLong
  variances say. ``truncate=True`` uses the modified variant whose scale factor is at least 1
  (never narrower than the fixed-effect interval).

Formulas as in statsmodels' ``combine_effects`` (the tests' oracle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class Combined:
    estimate: float
    se: float
    statistic: float
    p_value: float
    df: float
    """Degrees of freedom of the t reference (inf: normal)."""
    tau2: float
    n_folds: int
    method: str

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Two-sided ``confidence`` interval of the combined estimate (t on ``df``, or normal);
        its ends are the one-sided tests at (1 - confidence) / 2."""
        dist = stats.norm if not np.isfinite(self.df) else stats.t(self.df)
        half = float(dist.ppf(0.5 + confidence / 2)) * self.se
        return self.estimate - half, self.estimate + half


def _p(stat: float, df: float, alternative: Alternative) -> float:
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    if alternative == "greater":
        return float(dist.sf(stat))
    if alternative == "less":
        return float(dist.cdf(stat))
    if alternative == "two-sided":
        return float(2 * dist.sf(abs(stat)))
    raise ValueError(f"unknown alternative {alternative!r}")


def _inputs(d: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(d, dtype=float)
    var = np.asarray(var, dtype=float)
    if d.shape != var.shape or d.ndim != 1:
        raise ValueError("need one estimate and one variance per fold")
    ok = np.isfinite(d) & np.isfinite(var)
    d, var = d[ok], var[ok]
    if d.size == 0:
        raise ValueError("no fold has a finite estimate")
    # a fold whose two score vectors rank subjects identically has variance 0 and estimate 0;
    # give it the smallest positive variance seen so it counts without dominating
    positive = var[var > 0]
    floor = positive.min() if positive.size else 1e-12
    return d, np.where(var > 0, var, floor)


def _ratio(num: float, se: float) -> float:
    if se > 0:
        return num / se
    return 0.0 if num == 0 else float(np.sign(num) * np.inf)


def fixed_effect(d: np.ndarray, var: np.ndarray,
                 alternative: Alternative = "two-sided") -> Combined:
    """Inverse-variance weighted mean of per-fold estimates and its z-test."""
    d, var = _inputs(d, var)
    w = 1.0 / var
    est = float((w * d).sum() / w.sum())
    se = float(np.sqrt(1.0 / w.sum()))
    z = _ratio(est, se)
    return Combined(est, se, z, _p(z, np.inf, alternative), np.inf, 0.0, d.size, "fixed_effect")


def dersimonian_laird_tau2(d: np.ndarray, var: np.ndarray) -> float:
    """Method-of-moments between-fold variance, truncated at 0."""
    w = 1.0 / var
    mean = (w * d).sum() / w.sum()
    q = float((w * (d - mean) ** 2).sum())
    c = w.sum() - (w**2).sum() / w.sum()
    return max(0.0, (q - (d.size - 1)) / c) if c > 0 else 0.0


def hartung_knapp(d: np.ndarray, var: np.ndarray, alternative: Alternative = "two-sided",
                  *, truncate: bool = True) -> Combined:
    """Random-effects mean with the Hartung–Knapp–Sidik–Jonkman variance, t on k - 1 df."""
    d, var = _inputs(d, var)
    k = d.size
    if k < 2:
        raise ValueError("the Hartung-Knapp test needs at least two folds")
    tau2 = dersimonian_laird_tau2(d, var)
    w = 1.0 / (var + tau2)
    est = float((w * d).sum() / w.sum())
    scale = float((w * (d - est) ** 2).sum() / (k - 1))
    if truncate:
        scale = max(scale, 1.0)
    se = float(np.sqrt(scale / w.sum()))
    t = _ratio(est, se)
    return Combined(est, se, t, _p(t, k - 1, alternative), float(k - 1), tau2, k,
                    "hartung_knapp" + ("_truncated" if truncate else ""))
