"""Shared pieces of the prediction-style methods (part 2 of the analysis core).

Featurizers turn subject ids into a fold-safe feature matrix: ``fit(train_ids)`` learns every
preprocessing step on training subjects only, ``transform(ids)`` applies it. Classifiers are
tuned by inner cross-validation on the training fold (folds from :mod:`kbtools.experiments.cv`,
so they are site-grouped like the outer loop).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from kbtools.errors import DataError
from kbtools.experiments.cv import inner as inner_folds
from kbtools.experiments.cv import outer_folds
from kbtools.experiments.figures import new_figure  # noqa: F401 - the methods' figures
from kbtools.experiments.preprocessing import build_pipeline
from kbtools.experiments.stats.delong import delong_covariance
from kbtools.experiments.stats.fold_combination import Alternative, hartung_knapp
from kbtools.experiments.stats.resampled_t import corrected_resampled_se, corrected_resampled_t

DEFAULT_C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def params_of(config: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``config['params']`` over ``defaults`` (one level of dict merging)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in defaults.items()}
    for k, v in (config.get("params") or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def binary_outcome(cohort: Any, config: dict[str, Any], column: str | None = None) -> pd.Series:
    """The 0/1 outcome column of the subjects table, or a clear error."""
    col = column or config.get("outcome")
    if not col:
        raise DataError("this method needs `outcome` (a binary phenotype column, e.g. mdd)",
                        hint="set outcome: mdd in the experiment config")
    if col not in cohort.subjects.columns:
        raise DataError(f"subjects table has no outcome column {col!r}",
                        hint="fix `outcome` in the config")
    y = cohort.subjects[col]
    values = set(pd.unique(y.dropna()))
    if y.isna().any() or not values <= {0, 1} or len(values) < 2:
        raise DataError(f"outcome column {col!r} must be binary 0/1 with both classes and no "
                        f"missing values (found values {sorted(map(str, values))[:5]})",
                        hint="code the phenotype as 0/1")
    return y.astype(int)


def class_counts(y: pd.Series | np.ndarray, prefix: str = "n_test", cell: str = "") \
        -> dict[str, int]:
    """``{prefix}_cases`` and ``{prefix}_controls`` (``__cell`` appended) of a 0/1 outcome:
    the disclosure guard withholds a row or arm whose smallest class is below 10."""
    arr = np.asarray(y)
    tail = f"__{cell}" if cell else ""
    return {f"{prefix}_cases{tail}": int((arr == 1).sum()),
            f"{prefix}_controls{tail}": int((arr == 0).sum())}


def preflight_folds(cohort: Any, config: dict[str, Any], arms: dict[str, pd.Index],
                    y: pd.Series | None = None, inner: bool = True) -> list[Any]:
    """Build every fold the run will build (outer, and inner within each arm's training
    subjects, with the run's seeds) and refuse what the run would refuse, naming fold and arm.

    ``arms`` maps an arm name to the subjects it can use. Returns the outer folds.
    """
    folds = outer_folds(cohort, config.get("cv"), config.get("outcome"), int(config.get("seed",
                                                                                         0)))
    seed = int(config.get("seed", 0))
    for k, (tr_pos, te_pos) in enumerate(folds):
        for arm, ids in arms.items():
            tr = cohort.subjects.index[tr_pos]
            te = cohort.subjects.index[te_pos]
            tr, te = tr[tr.isin(ids)], te[te.isin(ids)]
            where = f"outer fold {k + 1}, {arm}"
            if len(te) == 0 or len(tr) < 2:
                raise DataError(f"{where}: {len(tr)} training and {len(te)} test subjects have "
                                "this arm's data", hint="use fewer folds, or check missing "
                                                        "modalities (the plan lists them)")
            if y is not None and y.loc[tr].nunique() < 2:
                raise DataError(f"{where}: the training subjects have one outcome class only",
                                hint="use fewer folds or more subjects")
            if inner:
                try:
                    inner_splits(cohort, tr, config.get("cv"), config.get("outcome"),
                                 fold_seed(seed, k))
                except DataError as exc:
                    raise DataError(f"{where}: {exc.message}", hint=exc.hint) from None
    return folds


def require_roles(cohort: Any, roles: list[str], method: str) -> None:
    missing = [r for r in roles if r not in cohort.blocks]
    if missing:
        raise DataError(f"{method} needs data role(s) {', '.join(missing)} "
                        f"(config has: {', '.join(cohort.blocks) or 'none'})",
                        hint="add them under `data:` in the experiment config")


# ---------------------------------------------------------------------------------------------
# featurizers


class RoleFeaturizer:
    """One modality through the config's preprocessing pipeline (impute, z-score, residualize,
    PCA). Site effects use ``site_column`` (default: ``preprocessing.site_column``, which the
    runner always fills in; see :func:`kbtools.experiments.cv.site_column`)."""

    def __init__(self, cohort: Any, role: str, preprocessing: dict[str, Any] | None,
                 columns: list[str] | None = None, pca: bool = True,
                 site_column: str | None = None, cache: dict[Any, Any] | None = None) -> None:
        self.cohort, self.role, self.preprocessing = cohort, role, preprocessing
        self.columns, self.pca = columns, pca
        self.site_column = site_column or (preprocessing or {}).get("site_column") or "site"
        self.cache = cache

    def ids(self) -> pd.Index:
        return self.cohort.blocks[self.role].index

    def _block(self, ids: pd.Index) -> pd.DataFrame:
        block = self.cohort.blocks[self.role].loc[ids]
        return block if self.columns is None else block[self.columns]

    def fit(self, train_ids: pd.Index) -> RoleFeaturizer:
        """Fit the pipeline on ``train_ids``; with a ``cache`` (a dict shared by the
        featurizers of one run), a fit of the same role, settings and subjects is reused:
        early fusion then costs no preprocessing beyond the single-modality arms'."""
        key = None
        if self.cache is not None:
            key = (self.role, None if self.columns is None else tuple(self.columns), self.pca,
                   self.site_column, len(train_ids), hash(tuple(train_ids)))
            if key in self.cache:
                self.pipeline_, self.warnings_ = self.cache[key]
                return self
        self.pipeline_ = build_pipeline(self.role, self.preprocessing, self.cohort.subjects,
                                       site_column=self.site_column, pca=self.pca)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.pipeline_.fit(self._block(train_ids))
        self.warnings_ = sorted({str(w.message) for w in caught
                                 if not issubclass(w.category, DeprecationWarning)})
        if key is not None:
            self.cache[key] = (self.pipeline_, self.warnings_)
        return self

    def transform(self, ids: pd.Index) -> np.ndarray:
        return np.asarray(self.pipeline_.transform(self._block(ids)), dtype=np.float64)


class ConcatFeaturizer:
    """Early fusion: per-role featurizers side by side.

    ``impute=False`` uses subjects with every role. ``impute=True`` uses subjects with any role:
    each role's pipeline is fit on the training subjects that have it, a missing role's
    (centred) features are set to 0, the training mean, and a ``has_<role>`` indicator is added.
    """

    def __init__(self, parts: list[RoleFeaturizer], impute: bool) -> None:
        self.parts, self.impute = parts, impute

    def ids(self) -> pd.Index:
        idx = [p.ids() for p in self.parts]
        out = idx[0]
        for other in idx[1:]:
            out = out.union(other, sort=False) if self.impute else out.intersection(other,
                                                                                    sort=False)
        subjects = self.parts[0].cohort.subjects.index
        return subjects[subjects.isin(out)]

    def fit(self, train_ids: pd.Index) -> ConcatFeaturizer:
        for p in self.parts:
            p.fit(train_ids[train_ids.isin(p.ids())])
        self.warnings_ = sorted({w for p in self.parts for w in p.warnings_})
        return self

    def transform(self, ids: pd.Index) -> np.ndarray:
        cols = []
        for p in self.parts:
            has = ids.isin(p.ids())
            if has.all():
                cols.append(p.transform(ids))
                if self.impute:
                    cols.append(np.ones((len(ids), 1)))
                continue
            part = None
            if has.any():
                values = p.transform(ids[has])
                part = np.zeros((len(ids), values.shape[1]))
                part[has] = values
            else:
                width = p.transform(p.ids()[:1]).shape[1]
                part = np.zeros((len(ids), width))
            cols += [part, has.astype(float)[:, None]]
        return np.hstack(cols)


# ---------------------------------------------------------------------------------------------
# models


def logistic(c: float, max_iter: int = 500,
             class_weight: str | None = "balanced") -> LogisticRegression:
    """L2 logistic regression (lbfgs), by default with balanced class weights.

    Balanced weights change the intercept (and, through the penalty, the slopes) so that the
    probabilities describe a 50:50 population: fine for ranking (AUROC), wrong for calibration.
    Methods that report calibration pass ``class_weight=None``.
    """
    return LogisticRegression(C=c, class_weight=class_weight, max_iter=max_iter)


def hgb(params: dict[str, Any], seed: int) -> Any:
    """Gradient boosting without class weights: with sample weights scikit-learn 1.9 bins
    every feature by a weighted percentile in Python, which made each fit ~100x slower; AUROC
    does not depend on the class balance of the training loss."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(early_stopping=False, random_state=seed, **params)


def fit_quiet(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def safe_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC (NaN for a one-class fold), by midranks: the same value as scikit-learn's."""
    from kbtools.experiments.stats.delong import midrank_auc

    return midrank_auc(y, p)


def select_c(mean_auc: np.ndarray, grid: tuple[float, ...] | list[float]) -> float:
    """Grid value with the best mean inner AUC (ties: the smaller C, the stronger penalty)."""
    best = np.nanmax(mean_auc)
    return float(min(c for c, a in zip(grid, mean_auc, strict=True) if a >= best - 1e-12))


def inner_splits(cohort: Any, train_ids: pd.Index, cv_config: dict[str, Any] | None,
                 outcome: str | None, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner folds as positions into ``train_ids`` (via :func:`kbtools.experiments.cv.inner`)."""
    pos = cohort.positions(train_ids)
    lookup = pd.Series(np.arange(len(pos)), index=pos)
    return [(lookup.loc[tr].to_numpy(), lookup.loc[te].to_numpy())
            for tr, te in inner_folds(cohort, pos, cv_config, outcome, seed)]


@dataclass
class InnerFold:
    xa: np.ndarray
    ya: np.ndarray
    xb: np.ndarray
    yb: np.ndarray
    rows_b: np.ndarray
    """Positions of the validation rows within the outer training fold."""


@dataclass
class FoldArrays:
    """Featurized arrays of one outer fold and of its inner folds (each fit on its own train)."""

    xtr: np.ndarray
    ytr: np.ndarray
    xte: np.ndarray
    yte: np.ndarray
    inner: list[InnerFold] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def featurize_fold(make_featurizer: Any, tr: pd.Index, te: pd.Index, y: pd.Series,
                   splits: list[tuple[np.ndarray, np.ndarray]]) -> FoldArrays:
    """Fit the featurizer on each (inner and outer) training set and transform its pair."""
    inner = []
    notes: set[str] = set()
    for a, b in splits:
        feat = make_featurizer().fit(tr[a])
        notes.update(getattr(feat, "warnings_", []))
        inner.append(InnerFold(feat.transform(tr[a]), y.loc[tr[a]].to_numpy(),
                               feat.transform(tr[b]), y.loc[tr[b]].to_numpy(), np.asarray(b)))
    feat = make_featurizer().fit(tr)
    notes.update(getattr(feat, "warnings_", []))
    return FoldArrays(feat.transform(tr), y.loc[tr].to_numpy(), feat.transform(te),
                      y.loc[te].to_numpy(), inner, sorted(notes))


#: Fitted (coef, intercept) of one model per inner fold and C, for warm starts.
Coefs = list[list[tuple[np.ndarray, np.ndarray]]]


def tune_c(inner: list[InnerFold], grid: list[float], cols: np.ndarray | None = None,
           n_train: int | None = None, *, record: Coefs | None = None,
           start: Coefs | None = None, class_weight: str | None = "balanced"
           ) -> tuple[float, list[float], np.ndarray | None]:
    """C with the best mean inner AUC; also the inner out-of-fold probabilities at that C
    (over ``n_train`` outer-training rows) when ``n_train`` is given.

    ``record`` (an empty list) receives each inner fit's coefficients; ``start`` (recorded on a
    model with more columns, restricted to ``cols``) warm-starts each fit near its optimum, which
    changes the iterations lbfgs needs, not the optimum it converges to.
    """
    aucs = np.full((len(inner), len(grid)), np.nan)
    oof = None if n_train is None else np.full((len(grid), n_train), np.nan)
    path = sorted(range(len(grid)), key=lambda j: grid[j])
    for i, f in enumerate(inner):
        a = f.xa if cols is None else f.xa[:, cols]
        b = f.xb if cols is None else f.xb[:, cols]
        model = logistic(grid[path[0]], class_weight=class_weight)
        model.warm_start = True  # walk the C path from strong to weak penalty, warm-started
        fitted: list[tuple[np.ndarray, np.ndarray]] = [None] * len(grid)  # type: ignore[list-item]
        for j in path:
            model.C = grid[j]
            if start is not None:
                warm_start_from(model, start[i][j], cols)
            prob = fit_quiet(model, a, f.ya).predict_proba(b)[:, 1]
            aucs[i, j] = safe_auc(f.yb, prob)
            fitted[j] = (model.coef_.copy(), model.intercept_.copy())
            if oof is not None:
                oof[j, f.rows_b] = prob
        if record is not None:
            record.append(fitted)
    mean = np.nanmean(aucs, axis=0)
    c = select_c(mean, grid)
    return c, [round(float(v), 6) for v in mean], (None if oof is None
                                                     else oof[list(grid).index(c)])


def warm_start_from(model: LogisticRegression, coefs: tuple[np.ndarray, np.ndarray],
                    cols: np.ndarray | None = None) -> LogisticRegression:
    """Start ``model``'s next fit from ``coefs`` (restricted to ``cols``)."""
    coef, intercept = coefs
    model.warm_start = True
    model.coef_ = (coef if cols is None else coef[:, cols]).copy()
    model.intercept_ = intercept.copy()
    return model


def hgb_inner_oof(inner: list[InnerFold], params: dict[str, Any], seed: int,
                  n_train: int) -> np.ndarray:
    """Inner out-of-fold probabilities of gradient boosting (for stacking)."""
    oof = np.full(n_train, np.nan)
    for f in inner:
        oof[f.rows_b] = hgb(params, seed).fit(f.xa, f.ya).predict_proba(f.xb)[:, 1]
    return oof


def mean_sd(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"mean": float("nan"), "sd": float("nan")}
    return {"mean": round(float(arr.mean()), 6),
            "sd": round(float(arr.std(ddof=1)) if arr.size > 1 else 0.0, 6)}


def r6(x: float) -> float:
    return round(float(x), 6)


def fold_auc(y: np.ndarray, p: np.ndarray) -> tuple[float, float] | None:
    """One outer fold's AUROC and its DeLong variance (None without both classes)."""
    y = np.asarray(y)
    if np.unique(y).size < 2:
        return None
    res = delong_covariance(y, np.asarray(p, dtype=float)[None, :])
    return float(res.auc[0]), float(res.cov[0, 0])


def fold_corrected_t(estimates: list[float] | np.ndarray, test_train_ratio: float, *,
                     null: float = 0.0, confidence: float = 0.95,
                     alternative: Alternative = "two-sided") -> dict[str, Any]:
    """Per-fold estimates (e.g. each fold's AUROC) combined across outer folds by the
    corrected resampled t (Machine Learning 52:239, 2003): their mean, with the variance of the
    mean inflated from var/J to (1/J + n_test/n_train) var because folds whose models share
    most of their training subjects give positively correlated estimates; two-sided
    ``confidence`` interval and the p-value of ``alternative`` against ``null`` (t on J - 1
    df). On the calibration suite's null cohorts the uncorrected combination (Hartung-Knapp
    over the folds' DeLong AUROCs) put 0.5 outside its 95% interval in 12% of cohorts."""
    d = np.asarray(estimates, dtype=float) - null
    d = d[np.isfinite(d)]
    if d.size < 2:
        return {"method": "corrected_resampled_t", "estimate": float("nan"),
                "p": float("nan"), "n_folds": int(d.size)}
    t, p = corrected_resampled_t(d, test_train_ratio, alternative)
    se = corrected_resampled_se(d, test_train_ratio)
    half = float(stats.t.ppf(0.5 + confidence / 2, d.size - 1)) * se
    mean = float(d.mean())
    return {"method": "corrected_resampled_t", "estimate": r6(mean + null),
            "ci": [r6(mean - half + null), r6(mean + half + null)], "ci_level": confidence,
            "se": r6(se), "statistic": r6(t), "df": int(d.size - 1),
            "alternative": alternative, "p": float(f"{p:.4g}"), "n_folds": int(d.size),
            "test_train_ratio": r6(test_train_ratio)}


def fold_combined(estimates: list[float] | np.ndarray, variances: list[float] | np.ndarray,
                  *, null: float = 0.0, confidence: float = 0.95,
                  alternative: Alternative = "two-sided") -> dict[str, Any]:
    """Per-fold estimates (e.g. AUROCs or AUROC differences, each with its DeLong variance)
    combined across outer folds: truncated Hartung-Knapp random-effects mean, its two-sided
    ``confidence`` interval and the p-value of ``alternative`` against ``null`` (t on
    folds - 1 df). Each fold's model is fixed and its test subjects independent of it, so
    this holds its level where one test on predictions pooled over the folds' models does
    not (calibration suite)."""
    d = np.asarray(estimates, dtype=float) - null
    v = np.asarray(variances, dtype=float)
    ok = np.isfinite(d) & np.isfinite(v)
    if ok.sum() < 2:
        return {"method": "hartung_knapp", "estimate": float("nan"), "p": float("nan"),
                "n_folds": int(ok.sum())}
    res = hartung_knapp(d[ok], v[ok], alternative)
    lo, hi = res.interval(confidence)
    return {"method": "hartung_knapp", "estimate": r6(res.estimate + null),
            "ci": [r6(lo + null), r6(hi + null)], "ci_level": confidence, "se": r6(res.se),
            "statistic": r6(res.statistic), "df": res.df, "tau2": r6(res.tau2),
            "alternative": alternative, "p": float(f"{res.p_value:.4g}"),
            "n_folds": res.n_folds}


def fold_seed(seed: int, fold: int) -> int:
    """A 32-bit seed for fold ``fold`` of a run with seed ``seed`` (inner CV, boosting)."""
    return int(np.random.SeedSequence([int(seed), int(fold)]).generate_state(1)[0])
