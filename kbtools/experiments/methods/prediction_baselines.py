"""Prediction baselines: Gene-only, Brain-only and Fusion arms for a binary phenotype.

Every arm sees the same outer folds (:func:`kbtools.experiments.cv.outer_folds`) and is
restricted to the subjects that have what it needs: a single-modality arm uses the subjects
with that modality; early fusion (per-role preprocessed features side by side) uses subjects
with every modality (``missing: drop``) or with any, imputing a missing block by the training
mean plus a has-block indicator (``missing: impute``); late fusion combines the single-modality
probabilities a subject has (``late: average``) or feeds them to a logistic regression fit on
the inner-fold out-of-fold predictions (``late: stacked``; a subject with one modality gets
that modality's probability). Each arm is fit with L2 logistic regression (C tuned by inner
CV; unweighted, or ``class_weight: balanced`` with probabilities moved back to the training
odds) and with gradient boosting.

What a run prints, and which numbers are calibrated (``summary.inference`` says the same):

* **Each arm's AUROC** is combined across outer folds: the mean of the folds' AUROCs with a 95%
  interval from the corrected resampled t (``auroc.fold_combined``), whose variance allows for
  the positive correlation of folds whose models share most of their training subjects (a
  random-effects combination of the folds' DeLong AUROCs ignores it and put 0.5 outside its
  interval in 12% of null cohorts). This is what the legends and the run page lead with.
* **Fusion against each single modality:** within every fold, DeLong's test on the fold's test
  subjects that every arm scored; the folds' AUROC differences are combined the same way, by
  the corrected resampled t (``comparison_test``, one-sided, ``fold_test``), with a 1 - 2
  alpha interval whose lower end is the one-sided test's bound. Hartung-Knapp over the folds'
  DeLong differences, the earlier default, treats folds as independent and its interval
  missed 0 too often on null cohorts; chosen by hand, it is labelled descriptive.
* **The escalation verdict** requires the primary fusion to beat every single modality at
  ``alpha`` (intersection-union test: the largest p decides), so its false-positive rate is at
  most alpha; its statement quotes the fold-combined gains and p-values it tested.
* **Descriptive only:** metrics of the predictions pooled over the folds (``pooled``,
  ``pooled_ci95``, the pooled DeLong test and the paired bootstrap of the pooled difference).
  Pooling the out-of-fold predictions of differently fitted models biases the pooled AUROC
  below 0.5 under the null and makes its DeLong interval and test anti-conservative
  (calibration suite); no decision uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from sklearn.metrics import precision_recall_curve, roc_curve

from kbtools.errors import DataError
from kbtools.experiments.cv import first_repeat, repeat_note, resolve_columns
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods._common import (
    DEFAULT_C_GRID,
    ConcatFeaturizer,
    RoleFeaturizer,
    binary_outcome,
    class_counts,
    featurize_fold,
    fit_quiet,
    fold_auc,
    fold_combined,
    fold_corrected_t,
    fold_seed,
    hgb,
    hgb_inner_oof,
    inner_splits,
    logistic,
    mean_sd,
    new_figure,
    params_of,
    preflight_folds,
    r6,
    require_roles,
    tune_c,
)
from kbtools.experiments.stats.bootstrap import paired_bootstrap_auc_difference
from kbtools.experiments.stats.calibration import (
    binary_metrics,
    calibration_bins,
    ece_if_calibrated,
    prior_shift,
)
from kbtools.experiments.stats.delong import delong_covariance, delong_test
from kbtools.experiments.stats.fold_combination import fixed_effect

DEFAULTS: dict[str, Any] = {
    "modalities": {"gene": "gene", "brain": "brain"},
    "models": ["logistic", "hgb"],
    "C_grid": list(DEFAULT_C_GRID),
    "hgb": {"max_iter": 50, "learning_rate": 0.1, "max_leaf_nodes": 15},
    "fusion": {"early": True, "late": "average", "missing": "drop", "primary": "late"},
    "primary_model": "logistic",
    "n_boot": 1000,
    "alpha": 0.05,
    "calibration_bins": 10,
    "comparison_test": "corrected_t",
    "class_weight": "none",
}
METRICS = ("auroc", "auprc", "brier", "ece")
FUSION_ARMS = ("fusion_late", "fusion_early")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class _Arms:
    """Pooled out-of-fold predictions and per-fold metrics of every (arm, model)."""

    def __init__(self, ids: pd.Index) -> None:
        self.oof: dict[tuple[str, str], pd.Series] = {}
        self.ids = ids
        self.fold_rows: list[dict[str, Any]] = []
        self.chosen_c: dict[tuple[str, str], list[float]] = {}
        #: (model, fusion arm, single arm) -> per fold (AUC difference, DeLong variance, n)
        self.fold_comparisons: dict[tuple[str, str, str], list[tuple[float, float, int]]] = {}
        #: (arm, model) -> per fold (AUROC, DeLong variance) on the fold's scored subjects
        self.fold_aucs: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def add(self, arm: str, model: str, ids: pd.Index, prob: np.ndarray) -> None:
        key = (arm, model)
        s = self.oof.setdefault(key, pd.Series(np.nan, index=self.ids))
        s.loc[ids] = prob

    def compare_fold(self, test_ids: pd.Index, y: pd.Series, models: list[str],
                     singles: list[str]) -> None:
        """DeLong of each fusion arm against each single arm within one outer fold.

        Compared on the fold's test subjects that the fusion arm and every single arm scored
        (the same subjects for both comparisons). A fold without both classes among them is
        skipped.
        """
        for model in models:
            for farm in FUSION_ARMS:
                if (farm, model) not in self.oof:
                    continue
                common = self.oof[(farm, model)].loc[test_ids].dropna().index
                for other in singles:
                    common = common.intersection(
                        self.oof[(other, model)].loc[test_ids].dropna().index)
                yy = y.loc[common].to_numpy()
                for single in singles:
                    rows = self.fold_comparisons.setdefault((model, farm, single), [])
                    if np.unique(yy).size < 2:
                        continue
                    dl = delong_test(yy, self.oof[(farm, model)].loc[common].to_numpy(),
                                     self.oof[(single, model)].loc[common].to_numpy())
                    rows.append((dl.difference, dl.se**2, len(common)))


def _arm_subjects(cohort: Any, p: dict[str, Any]) -> dict[str, pd.Index]:
    """Subjects each arm can use (single modalities, early fusion)."""
    modalities: dict[str, str] = dict(p["modalities"])
    ids = {arm: cohort.blocks[role].index for arm, role in modalities.items()}
    if p["fusion"].get("early", True):
        present = [cohort.blocks[r].index for r in modalities.values()]
        early = present[0]
        for other in present[1:]:
            early = (early.union(other, sort=False) if p["fusion"].get("missing") == "impute"
                     else early.intersection(other, sort=False))
        ids["fusion_early"] = cohort.subjects.index[cohort.subjects.index.isin(early)]
    return ids


@dataclass
class _ArmJob:
    """What every (fold, arm) fit reads (sent to each worker once)."""

    cohort: Any
    modalities: dict[str, str]
    pre: Any
    cv: Any
    outcome: Any
    y: pd.Series
    grid: list[float]
    models: list[str]
    stacked: bool
    class_weight: str | None
    fusion: dict[str, Any]
    hgb: dict[str, Any]
    folds: list[Any]
    seed: int


@dataclass
class _ArmFit:
    """One arm fit on one outer fold: per model (test probabilities, inner out-of-fold
    probabilities for stacking or None, chosen C or None)."""

    tr: pd.Index
    te: pd.Index
    by_model: dict[str, tuple[np.ndarray, np.ndarray | None, float | None]]
    warnings: list[str]


def _fit_arm(job: _ArmJob, chunk: tuple[int, str], rng: np.random.Generator) -> _ArmFit:
    """Fold ``k``'s training subjects -> arm's models -> held-out probabilities."""

    k, arm = chunk
    cohort, y = job.cohort, job.y
    fits: dict[Any, Any] = {}  # fitted pipelines by (role, subjects): inner and outer reuse

    if arm in job.modalities:
        def make() -> Any:
            return RoleFeaturizer(cohort, job.modalities[arm], job.pre, cache=fits)
    else:
        def make() -> Any:
            return ConcatFeaturizer([RoleFeaturizer(cohort, r, job.pre, cache=fits)
                                     for r in job.modalities.values()],
                                    impute=job.fusion.get("missing") == "impute")
    ids = make().ids()
    tr_pos, te_pos = job.folds[k]
    tr_all, te_all = cohort.subjects.index[tr_pos], cohort.subjects.index[te_pos]
    tr, te = tr_all[tr_all.isin(ids)], te_all[te_all.isin(ids)]
    seed_k = fold_seed(job.seed, k)
    splits = inner_splits(cohort, tr, job.cv, job.outcome, seed_k)
    fa = featurize_fold(make, tr, te, y, splits)
    want_oof = job.stacked and arm in job.modalities
    by_model: dict[str, tuple[np.ndarray, np.ndarray | None, float | None]] = {}
    for model in job.models:
        c = None
        if model == "logistic":
            c, _, oof = tune_c(fa.inner, job.grid, n_train=len(tr) if want_oof else None,
                               class_weight=job.class_weight)
            fitted = fit_quiet(logistic(c, class_weight=job.class_weight), fa.xtr, fa.ytr)
        else:
            fitted = hgb(job.hgb, seed_k).fit(fa.xtr, fa.ytr)
            oof = hgb_inner_oof(fa.inner, job.hgb, seed_k, len(tr)) if want_oof else None
        prob = fitted.predict_proba(fa.xte)[:, 1]
        if model == "logistic" and job.class_weight == "balanced":
            # probabilities that mean what they say: back to the training odds
            prob = prior_shift(prob, fa.ytr.mean() / (1 - fa.ytr.mean()))
        by_model[model] = (prob, oof, c)
    return _ArmFit(tr, te, by_model, list(fa.warnings))


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """What :func:`run` would refuse on this cohort, raised before anything is fit."""
    p = params_of(config, DEFAULTS)
    require_roles(cohort, list(dict(p["modalities"]).values()), "prediction_baselines")
    unknown = sorted(set(p["models"]) - {"logistic", "hgb"})
    if unknown:
        raise DataError(f"unknown model(s) {unknown}", hint="use logistic and/or hgb")
    if p["primary_model"] not in p["models"]:
        raise DataError(f"params.primary_model {p['primary_model']!r} is not among "
                        f"params.models {list(p['models'])}",
                        hint="set primary_model to one of the models")
    y = binary_outcome(cohort, config)
    preflight_folds(cohort, config, _arm_subjects(cohort, p), y)
    return []


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    config = resolve_columns(config)
    preflight(cohort, config)
    p = params_of(config, DEFAULTS)
    modalities: dict[str, str] = dict(p["modalities"])
    outcome = config.get("outcome")
    y = binary_outcome(cohort, config)
    pre = config.get("preprocessing")
    cv_cfg = config.get("cv")
    fusion = p["fusion"]
    grid = [float(c) for c in p["C_grid"]]
    models = list(p["models"])
    stacked = fusion.get("late") == "stacked"
    class_weight = None if p["class_weight"] == "none" else p["class_weight"]
    notes: set[str] = set()
    arm_ids = {arm: cohort.blocks[role].index for arm, role in modalities.items()}
    if fusion.get("early", True):
        arm_ids["fusion_early"] = ConcatFeaturizer(
            [RoleFeaturizer(cohort, r, pre) for r in modalities.values()],
            impute=fusion.get("missing") == "impute").ids()
    arms = _Arms(cohort.subjects.index)
    folds = first_repeat(cohort, cv_cfg, outcome, ctx.seed)
    notes.update(repeat_note(cv_cfg))
    # every (fold, arm) is fit on its own, through the parallel layer; the cohort and folds
    # travel to each worker once, the chunks only name a fold and an arm
    job = _ArmJob(cohort, modalities, pre, cv_cfg, outcome, y, grid, models, stacked,
                  class_weight, fusion, dict(p["hgb"]), folds, ctx.seed)
    work = [(k, arm) for k in range(len(folds)) for arm in arm_ids]
    fitted_arms = dict(zip(work, ctx.map(_fit_arm, work, shared=job, desc="fold x arm fits",
                                         unit="fit"), strict=True))
    for k, (tr_pos, te_pos) in enumerate(folds):
        te_all = cohort.subjects.index[te_pos]
        single_prob: dict[str, dict[str, pd.Series]] = {m: {} for m in models}
        single_oof: dict[str, dict[str, pd.Series]] = {m: {} for m in models}
        for arm in arm_ids:
            fit = fitted_arms[(k, arm)]
            notes.update(fit.warnings)
            for model, (prob, oof, c) in fit.by_model.items():
                if c is not None:
                    arms.chosen_c.setdefault((arm, model), []).append(c)
                arms.add(arm, model, fit.te, prob)
                if arm in modalities:
                    single_prob[model][arm] = pd.Series(prob, index=fit.te)
                    if oof is not None:
                        single_oof[model][arm] = pd.Series(oof, index=fit.tr)
        if fusion.get("late"):
            for model in models:
                te_ids, prob = _late(single_prob[model], single_oof[model], y, stacked)
                arms.add("fusion_late", model, te_ids, prob)
        arms.compare_fold(te_all, y, models, list(modalities))
        row: dict[str, Any] = {"fold": k + 1, "n_train": len(tr_pos), "n_test": len(te_pos),
                               **class_counts(y.loc[te_all])}
        for arm in dict.fromkeys(a for a, _ in arms.oof):
            scored = arms.oof[(arm, models[0])].loc[te_all].dropna().index
            row.update(class_counts(y.loc[scored], cell=arm))
        for (arm, model), series in arms.oof.items():
            te = series.loc[te_all].dropna()
            row[f"n_test__{arm}__{model}"] = len(te)
            scored = fold_auc(y.loc[te.index].to_numpy(), te.to_numpy())
            if scored is not None:
                arms.fold_aucs.setdefault((arm, model), []).append(scored)
            m = binary_metrics(y.loc[te.index].to_numpy(), te.to_numpy(),
                               p["calibration_bins"])
            for name in METRICS:
                row[f"{arm}__{model}__{name}"] = r6(m[name])
        arms.fold_rows.append(row)

    summary, headline, counts, extra = _summarise(arms, y, p, ctx, modalities)
    summary["outcome"] = outcome
    summary["n_folds"] = len(folds)
    summary["calibration"] = {
        "probabilities": ("logistic: unweighted fit (class_weight none), probabilities as fitted"
                          if class_weight is None else
                          "logistic: balanced class weights, probabilities moved back to the "
                          "training class odds (prior correction) before fusion and metrics"),
        "hgb": "unweighted", "ece_bins": p["calibration_bins"],
        "ece_reference": "pooled_if_calibrated: mean ECE of the same probabilities with labels "
                         "drawn from them (the floor a perfectly calibrated model would show)"}
    summary["missing_modality"] = {"inventory": {r: cohort.inventory.get("roles", {}).get(r, {})
                                                 for r in modalities.values()},
                                   "early_fusion": fusion.get("missing", "drop"),
                                   "late_fusion": "uses the modalities each subject has"}
    figures = (_figures(arms, y, p, summary) if (config.get("outputs") or {}).get("plots", True)
               else {})
    return MethodResult(summary=summary, per_fold=arms.fold_rows, headline=headline,
                        counts=counts, warnings=sorted(notes) + extra, figures=figures)


def _late(prob: dict[str, pd.Series], oof: dict[str, pd.Series], y: pd.Series,
          stacked: bool) -> tuple[pd.Index, np.ndarray]:
    """Late fusion of the single-modality test probabilities each subject has."""
    frame = pd.concat(prob, axis=1)
    avg = frame.mean(axis=1, skipna=True)
    if not stacked:
        return avg.index, avg.to_numpy()
    train = pd.concat(oof, axis=1).dropna()
    out = avg.copy()
    both = frame.dropna().index
    if len(train) and np.unique(y.loc[train.index]).size == 2 and len(both):
        meta = fit_quiet(logistic(1.0, class_weight=None),
                         _logit(train.to_numpy()), y.loc[train.index].to_numpy())
        out.loc[both] = meta.predict_proba(_logit(frame.loc[both, train.columns].to_numpy()))[:, 1]
    return out.index, out.to_numpy()


def _summarise(arms: _Arms, y: pd.Series, p: dict[str, Any], ctx: Any,
               modalities: dict[str, str]) -> tuple[dict, dict, dict, list[str]]:
    summary: dict[str, Any] = {"inference": inference(p["comparison_test"]), "arms": {},
                               "comparisons": []}
    counts: dict[str, int] = {}
    ci_rng = np.random.default_rng(np.random.SeedSequence(ctx.seed).spawn(1)[0])
    ratio = float(np.mean([r["n_test"] / r["n_train"] for r in arms.fold_rows]))
    for (arm, model), series in arms.oof.items():
        s = series.dropna()
        ys = y.loc[s.index].to_numpy()
        pooled = binary_metrics(ys, s.to_numpy(), p["calibration_bins"])
        entry = summary["arms"].setdefault(arm, {"n_subjects": len(s),
                                                 "n_cases": int(ys.sum()),
                                                 "n_controls": int((1 - ys).sum()),
                                                 "models": {}})
        entry["n_subjects"] = max(entry["n_subjects"], len(s))
        counts[f"{arm}_subjects"] = entry["n_subjects"]
        counts[f"{arm}_cases"] = max(counts.get(f"{arm}_cases", 0), int(ys.sum()))
        aucs = arms.fold_aucs.get((arm, model), [])
        stats: dict[str, Any] = {"auroc": {"fold_combined": fold_corrected_t(
            [a for a, _ in aucs], ratio, null=0.5)}}
        intervals = {"auroc": auroc_interval(ys, s.to_numpy()),
                     "auprc": auprc_interval(ys, s.to_numpy(), ci_rng)}
        for name in METRICS:
            folds = [r[f"{arm}__{model}__{name}"] for r in arms.fold_rows
                     if f"{arm}__{model}__{name}" in r]
            stats.setdefault(name, {}).update({**mean_sd(folds), "pooled": r6(pooled[name])})
            if name in intervals:
                stats[name]["pooled_ci95"] = [r6(v) for v in intervals[name]]
        stats["ece"]["pooled_if_calibrated"] = r6(ece_if_calibrated(
            s.to_numpy(), p["calibration_bins"], rng=fold_seed(ctx.seed, 99)))
        if (arm, model) in arms.chosen_c:
            stats["chosen_C"] = arms.chosen_c[(arm, model)]
        entry["models"][model] = stats
    singles = list(modalities)
    rng = ctx.rng()
    verdict: dict[str, Any] | None = None
    fusion_arms = [a for a in FUSION_ARMS if any(k[0] == a for k in arms.oof)]
    for model in p["models"]:
        for farm in fusion_arms:
            f = arms.oof[(farm, model)]
            common = f.dropna().index  # subjects scored by fusion and every single arm
            for other in singles:
                common = common.intersection(arms.oof[(other, model)].dropna().index)
            yy = y.loc[common].to_numpy()
            for single in singles:
                s = arms.oof[(single, model)]
                dl = delong_test(yy, f.loc[common].to_numpy(), s.loc[common].to_numpy())
                bs = paired_bootstrap_auc_difference(yy, f.loc[common].to_numpy(),
                                                     s.loc[common].to_numpy(),
                                                     n_boot=int(p["n_boot"]), rng=rng)
                folds = arms.fold_comparisons.get((model, farm, single), [])
                d = np.array([r[0] for r in folds])
                v = np.array([r[1] for r in folds])
                summary["comparisons"].append({
                    "model": model, "fusion": farm, "single": single, "n_subjects": len(common),
                    "n_cases": int(yy.sum()), "n_controls": int((1 - yy).sum()),
                    "fold_test": _fold_test(d, v, ratio, p["comparison_test"],
                                            float(p["alpha"])),
                    "fold_differences": [r6(x) for x in d],
                    "fold_delong_se": [r6(np.sqrt(x)) for x in v],
                    # descriptive only (summary.inference): one DeLong test and a bootstrap
                    # on the predictions pooled over the folds' different models
                    "auroc_fusion_pooled": r6(dl.auc_a), "auroc_single_pooled": r6(dl.auc_b),
                    "difference_pooled": r6(dl.difference),
                    "pooled_delong_z": r6(dl.z),
                    "pooled_delong_p": float(f"{dl.p_value:.4g}"),
                    "pooled_bootstrap_ci": [r6(bs.ci_low), r6(bs.ci_high)],
                    "bootstrap_confidence": bs.confidence, "n_boot": bs.n_boot})
                counts[f"compared_subjects_{model}"] = len(common)
    primary = f"fusion_{p['fusion'].get('primary', 'late')}"
    model = p["primary_model"]
    rows = [c for c in summary["comparisons"] if c["fusion"] == primary and c["model"] == model]
    extra: list[str] = []
    if rows:
        verdict = _verdict(rows, primary, model, p)
        summary["escalation"] = verdict
        extra.append(verdict["statement"])
    headline = {}
    if verdict:
        decisive = verdict["gains"][verdict["decided_by"]]
        headline = {"escalate": verdict["escalate"], "escalation_p": verdict["p"],
                    "fusion_gain": decisive.get("estimate")}
    return summary, headline, counts, extra


FOLD_TESTS = ("hartung_knapp", "fixed_effect", "corrected_t")


def _fold_test(d: np.ndarray, var: np.ndarray, ratio: float, method: str,
               alpha: float) -> dict[str, Any]:
    """One-sided test (fusion better) combining the per-fold AUC differences, with the
    two-sided 1 - 2 alpha interval whose lower end is the test's one-sided bound."""
    level = 1 - 2 * alpha
    if len(d) < 2:
        return {"method": method, "p": float("nan"), "n_folds": len(d)}
    if method == "hartung_knapp":
        return fold_combined(d, var, confidence=level, alternative="greater")
    if method == "corrected_t":
        return {**fold_corrected_t(d, ratio, confidence=level, alternative="greater"),
                "method": method}
    res = fixed_effect(d, var, "greater")
    lo, hi = res.interval(level)
    return {"method": method, "estimate": r6(res.estimate), "ci": [r6(lo), r6(hi)],
            "ci_level": level, "se": r6(res.se), "statistic": r6(res.statistic), "df": None,
            "alternative": "greater", "p": float(f"{res.p_value:.4g}"),
            "n_folds": res.n_folds}


def _gain_text(single: str, test: dict[str, Any]) -> str:
    """``over gene +0.067 (90% CI +0.041 to +0.093, p = 0.0005461)``: p as the run file holds
    it, so a p just above alpha never reads as alpha."""
    if not np.isfinite(test.get("p", np.nan)):
        return f"over {single}: not tested ({test.get('n_folds', 0)} fold(s) with both classes)"
    lo, hi = test["ci"]
    return (f"over {single} {test['estimate']:+.3f} ({test['ci_level']:.0%} CI {lo:+.3f} to "
            f"{hi:+.3f}, p = {test['p']:.4g})")


def _verdict(rows: list[dict[str, Any]], primary: str, model: str,
             p: dict[str, Any]) -> dict[str, Any]:
    """Escalate only if fusion beats every single modality (intersection-union test).

    Each comparison is the one-sided fold-combined test; the verdict's p-value is the largest
    of them, so its false-positive rate is at most alpha whichever single modality is better.
    The statement quotes exactly those tests: each fold-combined AUROC gain, its interval
    (whose lower end is the one-sided bound at alpha) and its p.
    """
    alpha = float(p["alpha"])
    p_of = {c["single"]: float(np.nan_to_num(c["fold_test"]["p"], nan=1.0)) for c in rows}
    decided_by = max(p_of, key=lambda single: p_of[single])
    p_verdict = p_of[decided_by]
    win = p_verdict <= alpha
    test = rows[0]["fold_test"]["method"]
    gains = {c["single"]: {k: c["fold_test"][k] for k in ("estimate", "ci", "ci_level", "p")
                           if k in c["fold_test"]} for c in rows}
    n_folds = max(c["fold_test"].get("n_folds", 0) for c in rows)
    return {
        "fusion": primary, "model": model, "test": test, "alternative": "greater",
        "rule": "intersection-union: escalate only if the one-sided fold-combined test against "
                "every single modality has p <= alpha; the verdict's p is the largest",
        "gains": gains, "decided_by": decided_by, "p": p_verdict, "alpha": alpha,
        "escalate": bool(win),
        "statement": (
            f"{primary} ({model}) {'beats' if win else 'does not beat'} every single modality "
            f"(intersection-union of one-sided {test} tests over {n_folds} folds): AUROC gain "
            + "; ".join(_gain_text(c["single"], c["fold_test"]) for c in rows)
            + f"; the verdict's p is the largest, {p_verdict:.4g} "
            f"({'<=' if win else '>'} {alpha}): "
            + ("escalate beyond late fusion." if win else "stay with the simpler design."))}


#: What every number in the run's ``metrics.yaml`` is (paths with * for arms, models and
#: comparisons): ``calibrated`` numbers hold their level on the null cohorts of the
#: calibration suite (docs/analysis/calibration.md names the rows); ``descriptive`` ones
#: describe these data and no decision uses them.
INFERENCE: dict[str, Any] = {
    "calibrated": {
        "arms.*.models.*.auroc.fold_combined":
            "AUROC combined over outer folds (mean of the folds' AUROCs, corrected resampled t "
            "for folds whose models share training subjects), 95% CI",
        "comparisons.*.fold_test":
            "fold-combined AUROC gain of fusion over a single modality: one-sided p and the "
            "1 - 2 alpha interval (its lower end is the one-sided bound)",
        "escalation": "intersection-union verdict over the fold-combined tests (p = the largest)",
    },
    "descriptive": {
        "arms.*.models.*.*.mean|sd": "mean and SD of the per-fold values",
        "arms.*.models.*.*.pooled|pooled_ci95":
            "predictions pooled over the folds' different models: the pooled AUROC is biased "
            "below 0.5 under the null and its DeLong interval excludes 0.5 too often",
        "comparisons.*.*_pooled|pooled_delong_*|pooled_bootstrap_ci":
            "DeLong test and paired bootstrap on the pooled predictions: anti-conservative",
        "arms.*.models.*.ece.pooled_if_calibrated": "the ECE floor of perfectly calibrated "
                                                     "probabilities (a reference, not a test)",
    },
}


def auroc_interval(y: np.ndarray, p: np.ndarray, confidence: float = 0.95) \
        -> tuple[float, float]:
    """DeLong confidence interval of one AUROC (clipped to [0, 1]); on predictions pooled
    over the folds' models it is descriptive only (module docstring)."""
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")
    res = delong_covariance(y, p[None, :])
    half = scipy_stats.norm.ppf(0.5 + confidence / 2) * float(np.sqrt(max(res.cov[0, 0], 0.0)))
    auc = float(res.auc[0])
    return max(0.0, auc - half), min(1.0, auc + half)


def average_precision_weighted(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average precision (step-wise, as scikit-learn's) under each row of subject weights
    ``weights`` (B, n); ties in ``p`` form one threshold. One sort serves every row."""
    order = np.argsort(-p, kind="stable")
    ys, ps, w = y[order], p[order], weights[:, order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])  # first row of each tie group
    tp = np.add.reduceat(w * (ys == 1), starts, axis=1).cumsum(axis=1)
    fp = np.add.reduceat(w * (ys == 0), starts, axis=1).cumsum(axis=1)
    gain = np.diff(tp, axis=1, prepend=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        return (gain * precision).sum(axis=1) / tp[:, -1]


def auprc_interval(y: np.ndarray, p: np.ndarray, rng: np.random.Generator,
                   n_boot: int = 500, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of average precision over a class-stratified bootstrap
    (resampling cases and controls separately, as for the AUROC comparisons)."""
    y = np.asarray(y)
    p = np.asarray(p, dtype=float)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if pos.size == 0 or neg.size == 0:
        return float("nan"), float("nan")
    weights = np.zeros((n_boot, y.size))
    weights[:, pos] = rng.multinomial(pos.size, np.full(pos.size, 1 / pos.size), n_boot)
    weights[:, neg] = rng.multinomial(neg.size, np.full(neg.size, 1 / neg.size), n_boot)
    values = average_precision_weighted(y, p, weights)
    lo, hi = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def merged_bins(y: np.ndarray, p: np.ndarray, n_bins: int, min_cell: int) \
        -> list[tuple[float, float, int]]:
    """Reliability points (mean predicted, observed fraction, subjects) from equal-width bins
    merged left to right until each holds at least ``min_cell`` cases and controls, so no
    point is built from a small class count (a short tail joins the last point)."""
    bins = calibration_bins(y, p, n_bins)
    idx = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    groups: list[list[int]] = []
    current: list[int] = []
    for b in range(len(bins.count)):
        current.append(b)
        inside = np.isin(idx, current)
        if (y[inside] == 1).sum() >= min_cell and (y[inside] == 0).sum() >= min_cell:
            groups.append(current)
            current = []
    if current and groups:
        groups[-1] += current
    points = []
    for g in groups:
        inside = np.isin(idx, g)
        points.append((float(p[inside].mean()), float(y[inside].mean()), int(inside.sum())))
    return points


def wilson_interval(cases: np.ndarray, n: np.ndarray, confidence: float = 0.95) \
        -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the fractions ``cases / n`` (statsmodels)."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(cases, n, alpha=1 - confidence, method="wilson")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def _cells_ok(tp: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int,
              min_cell: int) -> np.ndarray:
    """Curve points whose confusion matrix (TP, FP, FN, TN) has no cell below ``min_cell``."""
    tp, fp = np.rint(tp), np.rint(fp)
    return (tp >= min_cell) & (fp >= min_cell) & (n_pos - tp >= min_cell) \
        & (n_neg - fp >= min_cell)


def _join_ends(ax: Any, x: np.ndarray, y: np.ndarray, start: tuple[float, float],
               end: tuple[float, float], color: str) -> None:
    """Thin dotted joins from a curve's corner to its first and last drawn point."""
    if x.size:
        ax.plot([start[0], x[0]], [start[1], y[0]], ":", color=color, lw=0.8)
        ax.plot([x[-1], end[0]], [y[-1], end[1]], ":", color=color, lw=0.8)


ARM_LABELS = {"gene": "Gene", "brain": "Brain", "fusion_early": "Fusion (early)",
              "fusion_late": "Fusion (late)"}


def _label(arm: str) -> str:
    return ARM_LABELS.get(arm, arm)


def _auroc_legend(auroc: dict[str, Any]) -> str:
    """``AUROC 0.695 (0.661-0.729)``: the fold-combined estimate and its 95% interval."""
    combined = auroc.get("fold_combined") or {}
    if not np.isfinite(combined.get("estimate", np.nan)):
        return f"AUROC {auroc.get('pooled', np.nan):.3f} (pooled; too few folds to combine)"
    lo, hi = combined["ci"]
    return f"AUROC {combined['estimate']:.3f} ({lo:.3f}-{hi:.3f})"


def _figures(arms: _Arms, y: pd.Series, p: dict[str, Any], summary: dict[str, Any]) \
        -> dict[str, Any]:
    """One ROC, precision-recall and calibration figure per model, drawn after the guard."""
    figs: dict[str, Any] = {}
    for model in p["models"]:
        figs[f"roc_{model}.png"] = _plot(arms, y, p, summary, model, "roc")
        figs[f"pr_{model}.png"] = _plot(arms, y, p, summary, model, "pr")
        figs[f"calibration_{model}.png"] = _plot(arms, y, p, summary, model, "calibration")
    return figs


def _plot(arms: _Arms, y: pd.Series, p: dict[str, Any], summary: dict[str, Any], model: str,
          kind: str) -> Any:
    def draw(shown: Any) -> Any:
        fig = new_figure(6.4, 5.0)
        ax = fig.subplots()
        withheld: list[str] = []
        undrawn: list[str] = []  # arms whose classes are too small for two drawable points
        prevalences: list[float] = []
        for (arm, m), series in arms.oof.items():
            if m != model:
                continue
            s = series.dropna()
            yy = y.loc[s.index].to_numpy()
            stats = summary["arms"][arm]["models"][model]
            if not shown.summary(f"summary.arms.{arm}") or not shown.enough(
                    int(yy.sum()), int((1 - yy).sum())):
                withheld.append(_label(arm))
                continue
            n_pos, n_neg = int(yy.sum()), int((1 - yy).sum())
            if kind == "roc":
                fpr, tpr, _ = roc_curve(yy, s.to_numpy())
                ok = _cells_ok(tpr * n_pos, fpr * n_neg, n_pos, n_neg, shown.min_cell)
                label = f"{_label(arm)}: {_auroc_legend(stats['auroc'])}"
                if ok.sum() < 2:
                    undrawn.append(label)
                    continue
                (line,) = ax.plot(fpr[ok], tpr[ok], label=label)
                _join_ends(ax, fpr[ok], tpr[ok], (0.0, 0.0), (1.0, 1.0), line.get_color())
            elif kind == "pr":
                prec, rec, _ = precision_recall_curve(yy, s.to_numpy())
                tp = rec * n_pos
                with np.errstate(invalid="ignore", divide="ignore"):
                    fp = np.where(prec > 0, tp / prec - tp, n_neg)
                ok = _cells_ok(tp, fp, n_pos, n_neg, shown.min_cell)
                label = f"{_label(arm)}: AP {stats['auprc']['pooled']:.3f}"
                prevalences.append(float(yy.mean()))
                if ok.sum() < 2:
                    undrawn.append(label)
                    continue
                ax.step(rec[ok], prec[ok], where="post", label=label)
            else:
                pts = merged_bins(yy, s.to_numpy(), int(p["calibration_bins"]), shown.min_cell)
                label = f"{_label(arm)}: ECE {stats['ece']['pooled']:.3f}"
                if len(pts) < 2:
                    undrawn.append(label)
                    continue
                xs, fr, ns = (np.array(v) for v in zip(*pts, strict=True))
                low, high = wilson_interval(np.rint(fr * ns), ns)
                ax.errorbar(xs, fr, yerr=[fr - low, high - fr], fmt="o-", capsize=3,
                            label=label)
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ":", color="grey", label="chance (AUC 0.5)")
            ax.set(xlabel="false positive rate (1 - specificity)",
                   ylabel="true positive rate (sensitivity)", xlim=(0, 1), ylim=(0, 1.01),
                   title=f"ROC, {model}: pooled out-of-fold curves (descriptive)\n"
                         "legend: AUROC over folds, 95% CI (corrected resampled t)")
        elif kind == "pr":
            for prev in sorted({round(v, 3) for v in prevalences}):
                ax.axhline(prev, color="grey", ls=":", label=f"prevalence {prev:.3f} "
                                                            "(no-skill AP)")
            ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", xlim=(0, 1),
                   ylim=(0, 1.01), title=f"Precision-recall, {model}: pooled out-of-fold curves\n"
                                         "legend: average precision (descriptive, no intervals)")
        else:
            ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
            ax.set(xlabel="mean predicted probability", ylabel="observed fraction of cases",
                   xlim=(0, 1), ylim=(0, 1),
                   title=f"Calibration, {model}: pooled out-of-fold\nbins merged until each "
                         f"holds >= {shown.min_cell} cases and controls\nbars: 95% Wilson "
                         "interval of each bin's observed fraction")
        notes = []
        if kind in ("roc", "pr"):
            notes.append(f"thresholds leaving fewer than {shown.min_cell} subjects in a cell of "
                         "the confusion matrix are not drawn")
        if undrawn:
            why = (f"fewer than two bins with >= {shown.min_cell} cases and controls"
                   if kind == "calibration" else
                   f"too few subjects per class for points with >= {shown.min_cell} in "
                   "each cell")
            notes.append(f"not drawn ({why}):\n  " + "\n  ".join(undrawn))
        if withheld:
            notes.append("withheld (too few subjects): " + ", ".join(withheld))
        if notes:  # in a corner the curves leave empty
            tx, ty, ha, va = {"roc": (0.01, 0.99, "left", "top"),
                              "pr": (0.01, 0.01, "left", "bottom"),
                              "calibration": (0.99, 0.01, "right", "bottom")}[kind]
            ax.text(tx, ty, "\n".join(notes), transform=ax.transAxes, ha=ha, va=va,
                    fontsize=8, color="0.3")
        ax.legend(loc="lower right" if kind == "roc" else "best", fontsize=9)
        return fig

    return draw


def inference(comparison_test: str) -> dict[str, Any]:
    """:data:`INFERENCE` for a run whose comparisons use ``comparison_test``: only the default
    (corrected resampled t) has calibration rows, so with another test the comparisons and the
    verdict are labelled descriptive."""
    if comparison_test == DEFAULTS["comparison_test"]:
        return INFERENCE
    moved = ("comparisons.*.fold_test", "escalation")
    return {"calibrated": {k: v for k, v in INFERENCE["calibrated"].items() if k not in moved},
            "descriptive": {**INFERENCE["descriptive"], **{
                k: f"{INFERENCE['calibrated'][k]}, by comparison_test {comparison_test}: not "
                   "calibrated by the suite" for k in moved}}}
