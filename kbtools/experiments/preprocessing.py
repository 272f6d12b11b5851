"""Fold-safe preprocessing: scikit-learn transformers fit on the training fold only.

Every transformer takes and returns a ``pandas.DataFrame`` indexed by subject id, so steps
that need subject-level covariates (:class:`Residualizer`) look them up by index and no step
ever sees the held-out fold while fitting.

Sites in a held-out fold that the training fold never saw (every test site under
site-grouped CV): the site design uses sum-to-zero (effect) coding, so an unseen site's row is
all zeros and it is corrected by the *average* of the training sites' effects, while the
covariate slopes learnt on the training fold still apply. ``unseen_sites="error"`` refuses
them instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from kbtools.errors import DataError
from kbtools.experiments.linalg import leading_components, thin_svd


class DesignWarning(UserWarning):
    """A step had to change what the config asked for (e.g. fewer PCA components)."""


def _frame(values: np.ndarray, index: pd.Index, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(values, index=index, columns=columns)


class ZScore(TransformerMixin, BaseEstimator):
    """Centre and scale each column with the training fold's mean and SD (ddof=0)."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> ZScore:
        values = np.asarray(X, dtype=np.float64)
        self.mean_ = values.mean(axis=0)
        sd = values.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        values = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return _frame(values, X.index, list(X.columns))


def site_effect_coding(sites: pd.Series | np.ndarray, levels: list[Any],
                       unseen_sites: str = "average") -> np.ndarray:
    """Sum-to-zero coding of ``sites`` with training ``levels`` (K levels -> K-1 columns).

    Rows of unseen levels are zero (the average training site) or raise, per ``unseen_sites``.
    """
    values = np.asarray(sites, dtype=object)
    codes = pd.Index(list(levels), dtype=object).get_indexer(values) if len(values) else \
        np.zeros(0, dtype=int)
    return _effect_columns(codes, len(levels), values, unseen_sites)


def _effect_columns(codes: np.ndarray, k: int, values: np.ndarray,
                    unseen_sites: str) -> np.ndarray:
    """Effect-coding columns from level positions (-1: unseen)."""
    out = np.zeros((len(codes), max(k - 1, 0)))
    inside = (codes >= 0) & (codes < k - 1)
    out[np.flatnonzero(inside), codes[inside]] = 1.0
    out[codes == k - 1, :] = -1.0
    unseen = codes < 0
    if unseen.any() and unseen_sites == "error":
        names = sorted(map(str, pd.unique(values[unseen])))
        raise DataError(f"{len(names)} site(s) not seen in the training fold: {', '.join(names)}",
                        hint="use unseen_sites='average' or site-stratified folds")
    return out


class Residualizer(TransformerMixin, BaseEstimator):
    """Regress features on covariates (+ site effects) fit on the training fold.

    ``subjects`` is the cohort's subjects table; rows are looked up by the index of ``X``.
    The design is ``[1, covariates, site effect coding]``, with ``interactions`` also the
    products of the site coding with each covariate (centre x covariate terms: each training
    site its own slopes; an unseen site, coded zero, gets the average slopes);
    :meth:`design` returns it for any index (used by the Huh-Jhun projection of the
    permutation test). The covariate and site columns are read into arrays once per fit, so
    building designs for many folds stays cheap.
    """

    def __init__(self, subjects: pd.DataFrame | None = None, covariates: tuple[str, ...] = (),
                 site_onehot: bool = True, site_column: str = "site",
                 unseen_sites: str = "average", interactions: bool = False):
        self.subjects = subjects
        self.covariates = covariates
        self.site_onehot = site_onehot
        self.site_column = site_column
        self.unseen_sites = unseen_sites
        self.interactions = interactions

    def _positions(self, index: pd.Index) -> np.ndarray:
        pos = self.subjects.index.get_indexer(index)
        if (pos < 0).any():
            missing = list(index[pos < 0][:3])
            raise KeyError(f"subjects not in the subjects table: {missing}")
        return pos

    def design(self, index: pd.Index) -> np.ndarray:
        """Design matrix (intercept, covariates, site coding) of the subjects in ``index``."""
        pos = self._positions(index)
        parts = [np.ones((len(pos), 1))]
        if self.covariates:
            parts.append(self.cov_all_[pos] - self.cov_mean_)
        if self.site_onehot:
            coding = _effect_columns(self.site_level_of_[self.site_codes_[pos]],
                                     len(self.site_levels_), self.site_values_[pos],
                                     self.unseen_sites)
            parts.append(coding)
            if self.interactions and self.covariates:
                centred = self.cov_all_[pos] - self.cov_mean_
                parts += [coding * centred[:, [j]] for j in range(centred.shape[1])]
        return np.hstack(parts)

    def fit(self, X: pd.DataFrame, y: Any = None) -> Residualizer:
        if self.subjects is None:
            raise ValueError("Residualizer needs the subjects table")
        pos = self._positions(X.index)
        self.cov_all_ = (self.subjects[list(self.covariates)].to_numpy(dtype=np.float64)
                         if self.covariates else np.zeros((len(self.subjects), 0)))
        self.cov_mean_ = self.cov_all_[pos].mean(axis=0) if self.covariates else np.zeros(0)
        if self.site_onehot:
            self.site_values_ = self.subjects[self.site_column].to_numpy(dtype=object)
            self.site_codes_, uniques = pd.factorize(self.site_values_)
            train_codes = np.unique(self.site_codes_[pos])
            self.site_levels_ = sorted((uniques[c] for c in train_codes), key=str)
            rank = {level: i for i, level in enumerate(self.site_levels_)}
            self.site_level_of_ = np.array([rank.get(u, -1) for u in uniques], dtype=int)
        else:
            self.site_levels_ = []
        design = self.design(X.index)
        self.coef_, *_ = np.linalg.lstsq(design, np.asarray(X, dtype=np.float64), rcond=None)
        self.rank_ = int(np.linalg.matrix_rank(design))
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        values = np.asarray(X, dtype=np.float64) - self.design(X.index) @ self.coef_
        return _frame(values, X.index, list(X.columns))


def centre_by_group(values: np.ndarray, groups: np.ndarray,
                    covariates: np.ndarray | None = None) -> np.ndarray:
    """``values`` (n or n x k) minus the mean of their group (e.g. each held-out site).

    Under site-grouped CV a held-out site is new, so the training fold cannot tell where its
    features or scores sit; centring each held-out site on its own mean uses only that site's
    (unlabelled) values and leaves the within-site variation that the estimand is about.
    With ``covariates`` (n x c) each group's values are instead residuals of a least-squares
    fit on ``[1, covariates]`` within the group (its own covariate slopes: a held-out site's
    centre x covariate terms, which no training fold can know); a group with no more rows than
    those columns is absorbed whole (zeros).
    """
    if covariates is not None and np.size(covariates):
        return _residualize_by_group(values, groups, covariates)
    values = np.asarray(values, dtype=np.float64)
    codes, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    flat = values.reshape(len(values), -1)
    sums = np.zeros((len(codes), flat.shape[1]))
    np.add.at(sums, inverse, flat)
    means = sums / np.bincount(inverse, minlength=len(codes))[:, None]
    return (flat - means[inverse]).reshape(values.shape)


def _residualize_by_group(values: np.ndarray, groups: np.ndarray,
                          covariates: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(len(values), -1)
    cov = np.asarray(covariates, dtype=np.float64).reshape(len(values), -1)
    labels = np.asarray(groups).astype(str)
    out = np.zeros_like(flat)
    for g in np.unique(labels):
        rows = labels == g
        design = np.column_stack([np.ones(int(rows.sum())), cov[rows]])
        beta, *_ = np.linalg.lstsq(design, flat[rows], rcond=None)
        out[rows] = flat[rows] - design @ beta
    return out.reshape(values.shape)


def numerical_rank(singular_values: np.ndarray, shape: tuple[int, int],
                   tol: float | None = None) -> int:
    """Rank from singular values with the LAPACK-style default tolerance."""
    if singular_values.size == 0 or singular_values[0] == 0:
        return 0
    if tol is None:
        tol = max(shape) * np.finfo(np.float64).eps
    return int(np.sum(singular_values > singular_values[0] * tol))


#: ``pca: auto`` keeps one component per this many training subjects, split over two blocks.
N_PER_COMPONENT = 10


def auto_components(n_train: int, n_blocks: int = 2) -> int:
    """Components per block for ``pca: auto``: ``n_train / (N_PER_COMPONENT * n_blocks)``.

    CCA of p + q dimensions on N subjects has in-sample canonical correlations near 1 once
    (p + q) approaches N, whatever the coupling; with N / (p + q) >= 10 the held-out
    correlation of a planted mode stays close to its population value (calibration suite).
    """
    return max(1, int(n_train) // (N_PER_COMPONENT * n_blocks))


class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA to ``n_components``, capped at the training data's rank with a :class:`DesignWarning`.

    The rank is that of the centred training fold (at most ``n_train - 1``).
    ``n_components="auto"`` takes :func:`auto_components` of the training size.
    ``n_components_`` holds the number kept and ``capped_`` whether it was lowered; ``rank_``
    the training rank when it was computed (an exact SVD; None when k components were taken
    from the Gram matrix, which happens when k is at most half the smaller dimension and all k
    are clearly nonzero).
    """

    def __init__(self, n_components: int | str = 10, prefix: str = "pc"):
        self.n_components = n_components
        self.prefix = prefix

    def fit(self, X: pd.DataFrame, y: Any = None) -> CappedPCA:
        values = np.asarray(X, dtype=np.float64)
        self.mean_ = values.mean(axis=0)
        xc = values - self.mean_
        auto = self.n_components == "auto"
        wanted = auto_components(len(values)) if auto else int(self.n_components)
        fast = leading_components(xc, wanted)
        if fast is not None:  # k well inside the rank: the Gram route gives the same subspace
            s, vt = fast
            rank = wanted  # every one of the k is clearly nonzero: the rank is at least k
            total = float((xc**2).sum()) / max(len(values) - 1, 1)
        else:
            _, s, vt = thin_svd(xc)
            rank = numerical_rank(s, values.shape)
            total = float((s**2).sum()) / max(len(values) - 1, 1)
        self.rank_ = None if fast is not None else rank
        self.n_components_ = min(wanted, rank)
        self.capped_ = not auto and self.n_components_ < wanted
        if self.capped_:
            warnings.warn(f"PCA asked for {self.n_components} components but the training data "
                          f"have rank {rank}: using {self.n_components_}", DesignWarning,
                          stacklevel=2)
        self.components_ = vt[: self.n_components_]
        var = s**2 / max(len(values) - 1, 1)
        self.explained_variance_ = var[: self.n_components_]
        self.explained_variance_ratio_ = self.explained_variance_ / total if total else var[:0]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        values = (np.asarray(X, dtype=np.float64) - self.mean_) @ self.components_.T
        width = max(2, len(str(self.n_components_)))
        cols = [f"{self.prefix}{i + 1:0{width}d}" for i in range(self.n_components_)]
        return _frame(values, X.index, cols)


def fold_imputer(strategy: str) -> Any:
    """Missing values -> the training fold's column mean or median (scikit-learn's
    SimpleImputer, DataFrames in and out so later steps keep subject ids)."""
    from sklearn.impute import SimpleImputer

    return SimpleImputer(strategy=strategy, keep_empty_features=True).set_output(
        transform="pandas")


def build_pipeline(role: str, preprocessing: dict[str, Any] | None, subjects: pd.DataFrame,
                   *, site_column: str = "site", pca: bool = True,
                   default_pca: int | str | None = None) -> Pipeline:
    """The per-role pipeline from a config's ``preprocessing`` section.

    Steps, in order, each only if configured: ``impute`` (``preprocessing.impute: mean|median``;
    missing features replaced by the training fold's mean/median); ``zscore`` (default on);
    ``residualize`` on ``covariates`` and site effects (``site_onehot``; with
    ``site_covariate_interactions`` also centre x covariate terms) unless
    ``covariate_method`` is ``none`` (``huh_jhun`` residualizes too; the permutation test then
    projects, see permutation.py);
    ``pca`` to ``preprocessing.pca[role]`` components (a number or ``auto``; ``default_pca``
    when the config names none), capped at the training rank.
    An empty pipeline passes data through.
    """
    pre = preprocessing or {}
    steps: list[tuple[str, Any]] = []
    if pre.get("impute", "none") not in (None, "none"):
        steps.append(("impute", fold_imputer(str(pre["impute"]))))
    if pre.get("zscore", True):
        steps.append(("zscore", ZScore()))
    covariates = tuple(pre.get("covariates") or ())
    site = bool(pre.get("site_onehot", False))
    if pre.get("covariate_method", "residualize") != "none" and (covariates or site):
        steps.append(("residualize", Residualizer(
            subjects, covariates, site, site_column,
            interactions=bool(pre.get("site_covariate_interactions", False)))))
    n_pc = (pre.get("pca") or {}).get(role, default_pca)
    if pca and n_pc:
        steps.append(("pca", CappedPCA(n_pc if n_pc == "auto" else int(n_pc),
                                       prefix=f"{role}_pc")))
    if not steps:
        steps.append(("identity", "passthrough"))
    return Pipeline(steps)


def nuisance_design(pipeline: Pipeline, index: pd.Index) -> np.ndarray | None:
    """The fitted residualizer's design for ``index`` (None if the pipeline has none)."""
    step = pipeline.named_steps.get("residualize")
    return None if step is None else step.design(index)
