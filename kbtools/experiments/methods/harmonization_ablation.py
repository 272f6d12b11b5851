"""Harmonization ablation: does ComBat change gene-brain coupling and prediction?

Arms: ``none`` (features as measured) and ``combat`` (ComBat, kbtools' own implementation
checked against neuroHarmonize in the tests). In every arm each step is fit on the training
fold only: ComBat's site effects and preserved covariate effects, then the config's
preprocessing (z-score, residualization, PCA), then the CCA (out-of-sample first canonical
correlation rho1 between the two roles) and an L2 logistic regression for the outcome (C tuned
by inner CV, with ComBat refit inside every inner training fold).

Unseen sites: under site-grouped CV every test site is new to the training fold, and the
maintained ComBat implementations refuse such sites. Rule used here (``new_sites: estimate``):
the new site's location and scale are estimated from that site's own held-out features
(never its labels) after removing the training fold's grand mean, covariate effects and pooled
variance, with the usual empirical Bayes shrinkage across features. Alternatively run with
``cv.scheme: stratified_kfold`` so every test site was seen in training, or set
``new_sites: error`` to refuse. ComBat covariates must not include the outcome: preserving it
would use test labels to harmonise test subjects.

What the run prints (``summary.inference``): the change in AUROC with ComBat is tested by
combining the folds' DeLong differences (truncated Hartung-Knapp, two-sided, with its 95%
interval: ``delta.auroc_test``; calibration suite). The per-arm means and SDs over folds, the
held-out rho1 changes, and the pooled AUROC difference with its bootstrap interval (predictions
pooled over the folds' models) are descriptive.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError
from kbtools.experiments.cca import columnwise_corr, fit_cca
from kbtools.experiments.cv import outer_folds, resolve_columns, site_column
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods._common import (
    DEFAULT_C_GRID,
    RoleFeaturizer,
    binary_outcome,
    class_counts,
    featurize_fold,
    fit_quiet,
    fold_combined,
    fold_seed,
    inner_splits,
    logistic,
    mean_sd,
    new_figure,
    params_of,
    preflight_folds,
    r6,
    require_roles,
    safe_auc,
    tune_c,
)
from kbtools.experiments.preprocessing import build_pipeline, centre_by_group, fold_imputer
from kbtools.experiments.stats.bootstrap import paired_bootstrap_auc_difference
from kbtools.experiments.stats.combat import ComBat
from kbtools.experiments.stats.delong import delong_test

DEFAULTS: dict[str, Any] = {
    "harmonize": ["brain"],
    "arms": ["none", "combat"],
    "combat": {"eb": True, "covariates": None, "new_sites": "estimate"},
    "cca_roles": ["gene", "brain"],
    "predict_role": "brain",
    "C_grid": list(DEFAULT_C_GRID),
    "n_boot": 1000,
}


class HarmonizedFeaturizer(RoleFeaturizer):
    """ComBat (fit on the training subjects) before the role's preprocessing pipeline."""

    def __init__(self, cohort: Any, role: str, preprocessing: dict[str, Any] | None,
                 combat: dict[str, Any], site_column: str, covariates: list[str]) -> None:
        super().__init__(cohort, role, preprocessing, site_column=site_column)
        self.combat, self.covariates = combat, covariates

    def _parts(self, ids: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self.cohort.subjects.loc[ids]
        block = self.cohort.blocks[self.role].loc[ids]
        if self.imputer_ is not None:  # ComBat needs complete features: impute first
            block = self.imputer_.transform(block)
        return (np.asarray(block, dtype=np.float64),
                rows[self.site_column].astype(str).to_numpy(),
                rows[self.covariates].to_numpy(dtype=np.float64))

    def _harmonized(self, ids: pd.Index) -> pd.DataFrame:
        x, sites, cov = self._parts(ids)
        return pd.DataFrame(self.combat_.transform(x, sites, cov), index=ids,
                            columns=self.cohort.blocks[self.role].columns)

    def fit(self, train_ids: pd.Index) -> HarmonizedFeaturizer:
        strategy = (self.preprocessing or {}).get("impute", "none")
        self.imputer_ = None
        if strategy not in (None, "none"):
            self.imputer_ = fold_imputer(str(strategy)).fit(
                self.cohort.blocks[self.role].loc[train_ids])
        self.combat_ = ComBat(eb=bool(self.combat.get("eb", True)),
                              new_sites=self.combat.get("new_sites", "estimate"))
        self.combat_.fit(*self._parts(train_ids))
        self.pipeline_ = build_pipeline(self.role, self.preprocessing, self.cohort.subjects,
                                        site_column=self.site_column)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.pipeline_.fit(self._harmonized(train_ids))
        self.warnings_ = sorted({str(w.message) for w in caught
                                 if not issubclass(w.category, DeprecationWarning)})
        return self

    def transform(self, ids: pd.Index) -> np.ndarray:
        return np.asarray(self.pipeline_.transform(self._harmonized(ids)), dtype=np.float64)


def _combat_covariates(config: dict[str, Any]) -> list[str]:
    p = params_of(config, DEFAULTS)
    pre = config.get("preprocessing") or {}
    return [str(c) for c in (p["combat"].get("covariates") or pre.get("covariates") or [])]


def subject_columns(config: dict[str, Any]) -> dict[str, str]:
    """ComBat's batches (the site column) and the covariate effects it preserves."""
    out = {site_column(config): "site (ComBat batches)"}
    out.update({c: "ComBat covariate" for c in _combat_covariates(config)})
    return out


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """What :func:`run` would refuse on this cohort, raised before anything is fit."""
    p = params_of(config, DEFAULTS)
    outcome = config.get("outcome")
    if outcome in _combat_covariates(config):
        raise DataError(f"ComBat covariates include the outcome {outcome!r}: harmonising test "
                        "subjects would use their labels",
                        hint="remove it from params.combat.covariates")
    roles = sorted(set(p["cca_roles"]) | {p["predict_role"]},
                   key=lambda r: list(cohort.blocks).index(r) if r in cohort.blocks else 99)
    require_roles(cohort, roles, "harmonization_ablation")
    if set(p["arms"]) - {"none", "combat"}:
        raise DataError(f"unknown arm(s) {sorted(set(p['arms']) - {'none', 'combat'})}",
                        hint="arms: [none, combat]")
    y = binary_outcome(cohort, config)
    preflight_folds(cohort, config, {"subjects with every role": cohort.complete_ids(roles)}, y)
    return []


@dataclass
class _ArmJob:
    """What every (fold, arm) fit reads (sent to each worker once)."""

    cohort: Any
    p: dict[str, Any]
    pre: dict[str, Any]
    combat: dict[str, Any]
    site_col: str
    covariates: list[str]
    site_adjusted: bool
    cv: dict[str, Any]
    outcome: Any
    y: pd.Series
    grid: list[float]
    ids_all: pd.Index
    folds: list[Any]
    seed: int

    def maker(self, role: str, arm: str) -> Any:
        if arm == "combat" and role in self.p["harmonize"]:
            return lambda: HarmonizedFeaturizer(self.cohort, role, self.pre, self.combat,
                                                self.site_col, self.covariates)
        return lambda: RoleFeaturizer(self.cohort, role, self.pre)


def _fit_arm(job: _ArmJob, chunk: tuple[int, str], rng: np.random.Generator) -> dict[str, Any]:
    """One arm on one outer fold: CCA mode-1 correlations (train, held out) and the held-out
    probabilities of the tuned classifier."""
    k, arm = chunk
    cohort, p = job.cohort, job.p
    tr_pos, te_pos = job.folds[k]
    tr, te = cohort.subjects.index[tr_pos], cohort.subjects.index[te_pos]
    tr, te = tr[tr.isin(job.ids_all)], te[te.isin(job.ids_all)]
    splits = inner_splits(cohort, tr, job.cv, job.outcome, fold_seed(job.seed, k))
    a, b = p["cca_roles"]
    fa, fb = job.maker(a, arm)().fit(tr), job.maker(b, arm)().fit(tr)
    notes = set(fa.warnings_ + fb.warnings_)
    cca = fit_cca(fa.transform(tr), fb.transform(tr), 1)
    row = {"rho1_train": r6(cca.rho[0])}
    u_te, v_te = cca.transform(fa.transform(te), fb.transform(te))
    if job.site_adjusted:  # within-site estimand, as in cca_permutation
        sites_te = cohort.subjects.loc[te, job.site_col].to_numpy()
        u_te, v_te = centre_by_group(u_te, sites_te), centre_by_group(v_te, sites_te)
    row["rho1_test"] = r6(columnwise_corr(u_te, v_te)[0])
    arrays = featurize_fold(job.maker(p["predict_role"], arm), tr, te, job.y, splits)
    notes.update(arrays.warnings)
    c, _, _ = tune_c(arrays.inner, job.grid)
    prob = fit_quiet(logistic(c), arrays.xtr, arrays.ytr).predict_proba(arrays.xte)[:, 1]
    row["auroc"] = r6(safe_auc(arrays.yte, prob))
    row["C"] = c
    return {"row": row, "prob": prob, "warnings": sorted(notes)}


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    config = resolve_columns(config)
    preflight(cohort, config)
    p = params_of(config, DEFAULTS)
    pre = config.get("preprocessing") or {}
    cv_cfg = config.get("cv") or {}
    site_col = site_column(config)
    site_adjusted = bool(pre.get("site_onehot", False))
    combat = dict(p["combat"])
    covariates = _combat_covariates(config)
    outcome = config.get("outcome")
    roles = sorted(set(p["cca_roles"]) | {p["predict_role"]}, key=list(cohort.blocks).index)
    y = binary_outcome(cohort, config)
    arms = list(p["arms"])
    grid = [float(c) for c in p["C_grid"]]
    ids_all = cohort.complete_ids(roles)

    # first CV repeat: each subject held out once, so per-fold tests are independent
    folds = outer_folds(cohort, cv_cfg, outcome, ctx.seed)[:int(cv_cfg.get("n_splits", 5))]
    # every (fold, arm) runs through the parallel layer; the cohort travels to each worker once
    job = _ArmJob(cohort, p, pre, combat, site_col, covariates, site_adjusted, cv_cfg, outcome,
                  y, grid, ids_all, folds, ctx.seed)
    work = [(k, arm) for k in range(len(folds)) for arm in arms]
    done = dict(zip(work, ctx.map(_fit_arm, work, shared=job, desc="fold x arm fits",
                                  unit="fit"), strict=True))
    rows: list[dict[str, Any]] = []
    fold_delta: list[tuple[float, float]] = []  # per fold: AUROC(combat) - AUROC(none), var
    oof = {arm: pd.Series(np.nan, index=ids_all) for arm in arms}
    notes: set[str] = set()
    for k, (tr_pos, te_pos) in enumerate(folds):
        tr = cohort.subjects.index[tr_pos]
        te = cohort.subjects.index[te_pos]
        tr, te = tr[tr.isin(ids_all)], te[te.isin(ids_all)]
        seen = set(cohort.subjects.loc[tr, site_col])
        unseen = int((~cohort.subjects.loc[te, site_col].isin(seen)).sum())
        row: dict[str, Any] = {"fold": k + 1, "n_train": len(tr), "n_test": len(te),
                               **class_counts(y.loc[te]), "n_test_unseen_site": unseen}
        for arm in arms:
            fit = done[(k, arm)]
            notes.update(fit["warnings"])
            oof[arm].loc[te] = fit["prob"]
            row.update({f"{name}__{arm}": value for name, value in fit["row"].items()})
        if set(arms) == {"none", "combat"} and np.unique(y.loc[te]).size == 2:
            dl = delong_test(y.loc[te].to_numpy(), oof["combat"].loc[te].to_numpy(),
                             oof["none"].loc[te].to_numpy())
            fold_delta.append((dl.difference, dl.se**2))
        if unseen and "combat" in arms:
            notes.add("test folds hold sites unseen in training: ComBat estimated their "
                      "location/scale from their own held-out features (labels unused)")
        rows.append(row)
    summary: dict[str, Any] = {"inference": INFERENCE, "harmonized_roles": list(p["harmonize"]),
                               "arms": {}, "combat": {**combat, "covariates": covariates},
                               "cv_scheme": cv_cfg.get("scheme", "stratified_group_kfold")}
    for arm in arms:
        summary["arms"][arm] = {
            "rho1_test": mean_sd([r[f"rho1_test__{arm}"] for r in rows]),
            "rho1_train": mean_sd([r[f"rho1_train__{arm}"] for r in rows]),
            "auroc": mean_sd([r[f"auroc__{arm}"] for r in rows]),
        }
    headline: dict[str, Any] = {}
    if set(arms) == {"none", "combat"}:
        d_rho = [r["rho1_test__combat"] - r["rho1_test__none"] for r in rows]
        d_auc = [r["auroc__combat"] - r["auroc__none"] for r in rows]
        scored = oof["combat"].dropna().index.intersection(oof["none"].dropna().index)
        yy = y.loc[scored].to_numpy()
        pooled_diff = (safe_auc(yy, oof["combat"].loc[scored].to_numpy())
                       - safe_auc(yy, oof["none"].loc[scored].to_numpy()))
        bs = paired_bootstrap_auc_difference(yy, oof["combat"].loc[scored].to_numpy(),
                                             oof["none"].loc[scored].to_numpy(),
                                             n_boot=int(p["n_boot"]), rng=ctx.rng())
        test = fold_combined([d for d, _ in fold_delta], [v for _, v in fold_delta])
        test.update({"method": "hartung_knapp over per-fold DeLong differences",
                     "fold_differences": [r6(d) for d, _ in fold_delta],
                     "fold_delong_se": [r6(np.sqrt(v)) for _, v in fold_delta]})
        summary["delta"] = {
            "auroc_test": test,
            "rho1_test_folds": mean_sd(d_rho), "auroc_folds": mean_sd(d_auc),
            "auroc_pooled": r6(pooled_diff),
            "pooled_bootstrap_ci": [r6(bs.ci_low), r6(bs.ci_high)],
            "n_subjects": len(scored)}
        headline = {"delta_auroc": test["estimate"], "delta_auroc_p": test["p"],
                    "delta_rho1": summary["delta"]["rho1_test_folds"]["mean"]}
    figures = {}
    if (config.get("outputs") or {}).get("plots", True):
        figures["harmonization_ablation.png"] = lambda shown: _figure(rows, arms, shown)
    return MethodResult(summary=summary, per_fold=rows, headline=headline,
                        counts={"n_subjects": len(ids_all)}, warnings=sorted(notes),
                        figures=figures)


#: What the numbers of ``metrics.yaml`` are (see prediction_baselines.INFERENCE).
INFERENCE: dict[str, Any] = {
    "calibrated": {
        "delta.auroc_test": "AUROC(combat) - AUROC(none) combined over outer folds (Hartung-"
                            "Knapp over per-fold DeLong differences): two-sided p and 95% CI",
    },
    "descriptive": {
        "arms.*": "mean and SD of the per-fold held-out values",
        "delta.rho1_test_folds|auroc_folds": "mean and SD of the per-fold changes",
        "delta.auroc_pooled|pooled_bootstrap_ci":
            "predictions pooled over the folds' different models (a bootstrap of the pooled "
            "difference ignores refitting)",
    },
}


def _figure(rows: list[dict[str, Any]], arms: list[str], shown: Any) -> Any:
    """Per-fold held-out rho1 and AUROC in each arm (grey lines join one fold's arms), with
    the mean over the folds shown and its 95% interval as error bars (corrected resampled t:
    folds share training subjects, so the naive t interval would be too narrow)."""
    from kbtools.experiments.stats.resampled_t import corrected_resampled_interval

    visible = [r for r in rows if shown.fold(int(r["fold"]))]
    if not visible:
        return None
    ratio = float(np.mean([r["n_test"] / r["n_train"] for r in visible
                           if r.get("n_train")] or [0.0]))
    fig = new_figure(8, 4.6)
    ax1, ax2 = fig.subplots(1, 2)
    for ax, key, label in ((ax1, "rho1_test", "held-out first canonical correlation"),
                           (ax2, "auroc", "held-out AUROC")):
        values = [np.array([r[f"{key}__{arm}"] for r in visible], dtype=float)
                  for arm in arms]
        for fold in range(len(visible)):
            ax.plot(arms, [v[fold] for v in values], "o-", color="grey", alpha=0.5, ms=4,
                    label="one outer fold" if fold == 0 else None)
        means = np.array([np.nanmean(v) for v in values])
        bounds = np.array([corrected_resampled_interval(v, ratio) for v in values])
        err = np.nan_to_num(np.abs(bounds.T - means))
        ax.errorbar(arms, means, yerr=err, fmt="s-", color="tab:red", lw=2, capsize=5,
                    label="mean over folds, 95% CI")
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(label, fontsize=9)
        ax.set_xlabel("harmonization arm", fontsize=9)
        ax.tick_params(labelsize=9)
    ax1.legend(fontsize=9)
    hidden = len(rows) - len(visible)
    fig.suptitle("Harmonization ablation" + (f" ({hidden} fold(s) withheld: too few subjects)"
                                             if hidden else "")
                 + "\nerror bars: 95% CI of the fold mean (corrected resampled t)",
                 fontsize=10)
    return fig
