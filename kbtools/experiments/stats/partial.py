"""Partial correlations and logistic odds ratios controlling for covariates.

Pearson: correlation of the residuals of x and y after OLS on [1, Z]; with k covariate
columns the t-test has n - 2 - k degrees of freedom (equal to the OLS t-test of x in
y ~ 1 + x + Z) and the CI uses Fisher's z with standard error 1 / sqrt(n - 3 - k).
Spearman: the same on ranks, with the rank-correlation standard error of Psychometrika 65:23 (2000),
sqrt((1 + r^2 / 2) / (n - 3 - k)). Logistic: Newton–Raphson maximum likelihood, Wald CI and
p-value for the odds ratio of x (per unit of x) adjusted for Z.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class CorrelationResult:
    r: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    method: str
    df: int
    """Degrees of freedom of the t-test: n - 2 - (number of covariate terms)."""


@dataclass(frozen=True)
class OddsRatioResult:
    odds_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    coef: float
    se: float
    n: int
    converged: bool
    n_cases: int = 0
    n_controls: int = 0
    #: subjects left out because an indicator covariate separates them (see
    #: :func:`separated_strata`)
    n_separated: int = 0


def _design(z: np.ndarray | None, n: int) -> np.ndarray:
    one = np.ones((n, 1))
    if z is None:
        return one
    z = np.asarray(z, dtype=float).reshape(n, -1)
    return np.hstack([one, z])


def residualize(v: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    """Residuals of ``v`` after least squares on an intercept and ``z``."""
    v = np.asarray(v, dtype=float)
    d = _design(z, v.shape[0])
    beta, *_ = np.linalg.lstsq(d, v, rcond=None)
    return v - d @ beta


def _result(r: float, n: int, k: int, method: str, confidence: float) -> CorrelationResult:
    df = n - 2 - k
    if df < 2:
        raise ValueError(f"too few subjects ({n}) for {k} covariates")
    r = float(np.clip(r, -1.0, 1.0))
    t = r * np.sqrt(df / max(1e-300, 1 - r * r))
    se = 1 / np.sqrt(n - 3 - k)
    if method == "spearman":
        se *= np.sqrt(1 + r * r / 2)
    zc = stats.norm.ppf(0.5 + confidence / 2)
    fz = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return CorrelationResult(r=r, ci_low=float(np.tanh(fz - zc * se)),
                             ci_high=float(np.tanh(fz + zc * se)),
                             p_value=float(2 * stats.t.sf(abs(t), df)), n=n, method=method,
                             df=int(df))


def _check_method(method: str) -> None:
    if method not in {"pearson", "spearman"}:
        raise ValueError(f"method must be pearson or spearman, not {method!r}")


def correlation_with_ci(x: np.ndarray, y: np.ndarray, *, n_covariates: int,
                        method: Literal["pearson", "spearman"] = "pearson",
                        confidence: float = 0.95) -> CorrelationResult:
    """Correlation of ``x`` and ``y`` (already adjusted for ``n_covariates`` columns) with a
    Fisher-z CI and a t-test p-value on n - 2 - n_covariates degrees of freedom.

    ``n_covariates`` has no default: residuals of a regression on k terms have k fewer degrees
    of freedom, and forgetting them makes the test anti-conservative. Pass 0 for raw values."""
    if n_covariates < 0:
        raise ValueError("n_covariates must be >= 0")
    _check_method(method)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if method == "spearman":
        x, y = stats.rankdata(x), stats.rankdata(y)
    r = float(np.corrcoef(x, y)[0, 1])
    return _result(r, x.shape[0], n_covariates, method, confidence)


def partial_correlation(x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, *,
                        method: Literal["pearson", "spearman"] = "pearson",
                        confidence: float = 0.95) -> CorrelationResult:
    """In-sample partial correlation of x and y given covariates z (Spearman: all ranked)."""
    _check_method(method)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    zz = None if z is None else np.asarray(z, dtype=float).reshape(n, -1)
    if method == "spearman":
        x, y = stats.rankdata(x), stats.rankdata(y)
        if zz is not None:
            zz = stats.rankdata(zz, axis=0)
    # covariate terms = rank of [1, z] minus the intercept (collinear columns cost nothing)
    k = int(np.linalg.matrix_rank(_design(zz, n))) - 1
    r = float(np.corrcoef(residualize(x, zz), residualize(y, zz))[0, 1])
    return _result(r, n, k, method, confidence)


def _exclusive_indicators(z: np.ndarray, rows: np.ndarray, cols: list[int]) -> list[int]:
    """Columns of ``z`` that are 0/1 indicators never on together among ``rows`` (site
    dummies); chosen greedily, fewest co-occurring indicators first, so a binary covariate
    such as sex, on together with every site, is left out."""
    binary = [j for j in cols if np.isin(z[rows, j], (0.0, 1.0)).all()]
    if not binary:
        return []
    b = z[np.ix_(rows, binary)]
    together = (b.T @ b) > 0
    np.fill_diagonal(together, False)
    group: list[int] = []
    for i in np.argsort(together.sum(axis=1), kind="stable"):
        if not any(together[i, g] for g in group):
            group.append(int(i))
    return [binary[i] for i in sorted(group)]


def separated_strata(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns that stay in a logistic model of ``y`` on covariates ``z``.

    A 0/1 indicator column (a site) whose subjects all have the same outcome separates them:
    its coefficient's maximum-likelihood estimate is infinite and those subjects carry no
    information on the other coefficients, whose estimates are those of the model without
    them. So does the reference stratum of a set of site indicators (the subjects with every
    indicator off, whose level the intercept carries): the intercept and every site term then
    run to infinity together. Such subjects are dropped (repeatedly, as dropping can separate
    another stratum; when the reference stratum goes, one site becomes the new reference),
    together with columns left constant. Returns (row mask, kept column indices).
    """
    n, k = z.shape
    rows = np.ones(n, dtype=bool)
    cols = list(range(k))
    changed = True
    while changed:
        changed = False
        for j in list(cols):
            c = z[rows, j]
            if not np.isin(c, (0.0, 1.0)).all():
                continue
            on = c == 1.0
            if on.any() and np.unique(y[rows][on]).size == 1:
                rows[np.flatnonzero(rows)[on]] = False
                cols.remove(j)
                changed = True
        group = _exclusive_indicators(z, rows, cols) if rows.any() else []
        if group:
            off = (z[np.ix_(rows, group)] == 0).all(axis=1)
            if off.any() and np.unique(y[rows][off]).size == 1:
                rows[np.flatnonzero(rows)[off]] = False
                sizes = z[np.ix_(rows, group)].sum(axis=0)
                cols.remove(group[int(np.argmax(sizes))])  # the largest site: new reference
                changed = True
    cols = [j for j in cols if np.ptp(z[rows, j]) > 0] if rows.any() else []
    return rows, np.array(cols, dtype=int)


def logistic_odds_ratio(y: np.ndarray, x: np.ndarray, z: np.ndarray | None = None, *,
                        confidence: float = 0.95, max_iter: int = 100,
                        tol: float = 1e-10) -> OddsRatioResult:
    """Odds ratio of binary ``y`` per unit of ``x`` adjusted for ``z`` (unpenalised ML).

    Subjects in strata of an indicator covariate where the outcome never varies are left out
    (:func:`separated_strata`); ``n`` and the class counts are those of the subjects used.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float).reshape(-1)
    if set(np.unique(y)) - {0.0, 1.0} or np.unique(y).size < 2:
        raise ValueError("y must be binary 0/1 with both classes present")
    n_all = y.shape[0]
    if z is not None:
        z = np.asarray(z, dtype=float).reshape(n_all, -1)
        rows, cols = separated_strata(y, z)
        y, x, z = y[rows], x[rows], z[rows][:, cols]
        if np.unique(y).size < 2:
            raise ValueError("every subject is in a stratum whose outcome never varies")
    n = y.shape[0]
    d = np.hstack([_design(z, n), x.reshape(n, 1)])
    if np.linalg.matrix_rank(d) < d.shape[1]:
        raise ValueError("the axis and covariates are collinear among the subjects with "
                         "outcome variation; the odds ratio is not identified")
    beta = np.zeros(d.shape[1])
    converged = False
    for _ in range(max_iter):
        eta = d @ beta
        mu = 1 / (1 + np.exp(-eta))
        w = mu * (1 - mu)
        hess = d.T @ (d * w[:, None])
        step = np.linalg.solve(hess, d.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    mu = 1 / (1 + np.exp(-(d @ beta)))
    cov = np.linalg.inv(d.T @ (d * (mu * (1 - mu))[:, None]))
    coef, se = float(beta[-1]), float(np.sqrt(cov[-1, -1]))
    zc = stats.norm.ppf(0.5 + confidence / 2)
    return OddsRatioResult(odds_ratio=float(np.exp(coef)), ci_low=float(np.exp(coef - zc * se)),
                           ci_high=float(np.exp(coef + zc * se)),
                           p_value=float(2 * stats.norm.sf(abs(coef / se))), coef=coef, se=se,
                           n=n, converged=converged, n_cases=int(y.sum()),
                           n_controls=int(n - y.sum()), n_separated=n_all - n)
