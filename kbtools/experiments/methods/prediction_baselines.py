"""Prediction baselines: Gene-only, Brain-only and Fusion arms for a binary phenotype.

Every arm sees the same outer folds (:func:`kbtools.experiments.cv.outer_folds`) and is
restricted to the subjects that have what it needs: a single-modality arm uses the subjects
with that modality; early fusion (per-role preprocessed features side by side) uses subjects
with every modality (``missing: drop``) or with any, imputing a missing block by the training
mean plus a has-block indicator (``missing: impute``); late fusion combines the single-modality
probabilities a subject has (``late: average``) or feeds them to a logistic regression fit on
the inner-fold out-of-fold predictions (``late: stacked``; a subject with one modality gets
that modality's probability). Each arm is fit with L2 logistic regression (C tuned by inner
CV, balanced class weights) and with gradient boosting. Fusion is compared with each single
modality by DeLong's test on pooled out-of-fold predictions of the subjects both arms scored,
with a paired bootstrap CI; the escalation verdict asks whether the primary fusion beats the
better single modality with p < alpha.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods._common import (
    DEFAULT_C_GRID,
    ConcatFeaturizer,
    RoleFeaturizer,
    binary_outcome,
    featurize_fold,
    fit_quiet,
    fold_seed,
    hgb,
    hgb_inner_oof,
    inner_splits,
    logistic,
    mean_sd,
    new_figure,
    params_of,
    r6,
    require_roles,
    tune_c,
)

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
}
METRICS = ("auroc", "auprc", "brier", "ece")


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

    def add(self, arm: str, model: str, ids: pd.Index, prob: np.ndarray) -> None:
        key = (arm, model)
        s = self.oof.setdefault(key, pd.Series(np.nan, index=self.ids))
        s.loc[ids] = prob


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    from kbtools.experiments.cv import outer_folds
    from kbtools.experiments.stats.calibration import binary_metrics

    p = params_of(config, DEFAULTS)
    modalities: dict[str, str] = dict(p["modalities"])
    require_roles(cohort, list(modalities.values()), "prediction_baselines")
    outcome = config.get("outcome")
    y = binary_outcome(cohort, config)
    pre = config.get("preprocessing")
    cv_cfg = config.get("cv")
    fusion = p["fusion"]
    grid = [float(c) for c in p["C_grid"]]
    models = list(p["models"])
    unknown = sorted(set(models) - {"logistic", "hgb"})
    if unknown:
        raise DataError(f"unknown model(s) {unknown}", hint="use logistic and/or hgb")
    stacked = fusion.get("late") == "stacked"
    notes: set[str] = set()

    def role_feat(role: str) -> Any:
        return lambda: RoleFeaturizer(cohort, role, pre)

    def early_feat() -> ConcatFeaturizer:
        return ConcatFeaturizer([RoleFeaturizer(cohort, r, pre) for r in modalities.values()],
                                impute=fusion.get("missing") == "impute")

    arm_ids = {arm: cohort.blocks[role].index for arm, role in modalities.items()}
    makers = {arm: role_feat(role) for arm, role in modalities.items()}
    if fusion.get("early", True):
        arm_ids["fusion_early"] = early_feat().ids()
        makers["fusion_early"] = early_feat
    arms = _Arms(cohort.subjects.index)
    folds = outer_folds(cohort, cv_cfg, outcome, ctx.seed)
    for k, (tr_pos, te_pos) in enumerate(ctx.progress_bar(folds, desc="outer folds",
                                                          unit="fold")):
        tr_all = cohort.subjects.index[tr_pos]
        te_all = cohort.subjects.index[te_pos]
        seed_k = fold_seed(ctx.seed, k)
        single_prob: dict[str, dict[str, pd.Series]] = {m: {} for m in models}
        single_oof: dict[str, dict[str, pd.Series]] = {m: {} for m in models}
        for arm, make in makers.items():
            tr, te = tr_all[tr_all.isin(arm_ids[arm])], te_all[te_all.isin(arm_ids[arm])]
            splits = inner_splits(cohort, tr, cv_cfg, outcome, seed_k)
            fa = featurize_fold(make, tr, te, y, splits)
            notes.update(fa.warnings)
            want_oof = stacked and arm in modalities
            for model in models:
                if model == "logistic":
                    c, _, oof = tune_c(fa.inner, grid, n_train=len(tr) if want_oof else None)
                    fitted = fit_quiet(logistic(c), fa.xtr, fa.ytr)
                    arms.chosen_c.setdefault((arm, model), []).append(c)
                else:
                    fitted = hgb(p["hgb"], seed_k).fit(fa.xtr, fa.ytr)
                    oof = (hgb_inner_oof(fa.inner, p["hgb"], seed_k, len(tr))
                           if want_oof else None)
                prob = fitted.predict_proba(fa.xte)[:, 1]
                arms.add(arm, model, te, prob)
                if arm in modalities:
                    single_prob[model][arm] = pd.Series(prob, index=te)
                    if oof is not None:
                        single_oof[model][arm] = pd.Series(oof, index=tr)
        if fusion.get("late"):
            for model in models:
                te_ids, prob = _late(single_prob[model], single_oof[model], y, stacked)
                arms.add("fusion_late", model, te_ids, prob)
        row: dict[str, Any] = {"fold": k + 1, "n_train": len(tr_pos), "n_test": len(te_pos)}
        for (arm, model), series in arms.oof.items():
            te = series.loc[te_all].dropna()
            row[f"n_test__{arm}__{model}"] = len(te)
            m = binary_metrics(y.loc[te.index].to_numpy(), te.to_numpy(),
                               p["calibration_bins"])
            for name in METRICS:
                row[f"{arm}__{model}__{name}"] = r6(m[name])
        arms.fold_rows.append(row)

    summary, headline, counts, extra = _summarise(arms, y, p, ctx, modalities)
    summary["outcome"] = outcome
    summary["n_folds"] = len(folds)
    summary["missing_modality"] = {"inventory": {r: cohort.inventory.get("roles", {}).get(r, {})
                                                 for r in modalities.values()},
                                   "early_fusion": fusion.get("missing", "drop"),
                                   "late_fusion": "uses the modalities each subject has"}
    figures = _figures(arms, y, p) if (config.get("outputs") or {}).get("plots", True) else {}
    return MethodResult(summary=summary, per_fold=arms.fold_rows, headline=headline,
                        counts=counts, warnings=sorted(notes) + extra, figures=figures)


def _late(prob: dict[str, pd.Series], oof: dict[str, pd.Series], y: pd.Series,
          stacked: bool) -> tuple[pd.Index, np.ndarray]:
    """Late fusion of the single-modality test probabilities each subject has."""
    frame = pd.concat(prob, axis=1)
    avg = frame.mean(axis=1, skipna=True)
    if not stacked:
        return avg.index, avg.to_numpy()
    from sklearn.linear_model import LogisticRegression

    train = pd.concat(oof, axis=1).dropna()
    out = avg.copy()
    both = frame.dropna().index
    if len(train) and np.unique(y.loc[train.index]).size == 2 and len(both):
        meta = fit_quiet(LogisticRegression(C=1.0, max_iter=500),
                         _logit(train.to_numpy()), y.loc[train.index].to_numpy())
        out.loc[both] = meta.predict_proba(_logit(frame.loc[both, train.columns].to_numpy()))[:, 1]
    return out.index, out.to_numpy()


def _summarise(arms: _Arms, y: pd.Series, p: dict[str, Any], ctx: Any,
               modalities: dict[str, str]) -> tuple[dict, dict, dict, list[str]]:
    from kbtools.experiments.stats.bootstrap import paired_bootstrap_auc_difference
    from kbtools.experiments.stats.calibration import binary_metrics
    from kbtools.experiments.stats.delong import delong_test

    summary: dict[str, Any] = {"arms": {}, "comparisons": []}
    counts: dict[str, int] = {}
    for (arm, model), series in arms.oof.items():
        s = series.dropna()
        pooled = binary_metrics(y.loc[s.index].to_numpy(), s.to_numpy(), p["calibration_bins"])
        entry = summary["arms"].setdefault(arm, {"n_subjects": len(s), "models": {}})
        entry["n_subjects"] = max(entry["n_subjects"], len(s))
        counts[f"{arm}_subjects"] = entry["n_subjects"]
        counts[f"{arm}_cases"] = max(counts.get(f"{arm}_cases", 0), int(y.loc[s.index].sum()))
        stats = {}
        for name in METRICS:
            folds = [r[f"{arm}__{model}__{name}"] for r in arms.fold_rows
                     if f"{arm}__{model}__{name}" in r]
            stats[name] = {**mean_sd(folds), "pooled": r6(pooled[name])}
        if (arm, model) in arms.chosen_c:
            stats["chosen_C"] = arms.chosen_c[(arm, model)]
        entry["models"][model] = stats
    singles = list(modalities)
    rng = ctx.rng()
    verdict: dict[str, Any] | None = None
    fusion_arms = [a for a in ("fusion_late", "fusion_early") if any(k[0] == a for k in arms.oof)]
    for model in p["models"]:
        for farm in fusion_arms:
            f = arms.oof[(farm, model)]
            for single in singles:
                s = arms.oof[(single, model)]
                common = f.dropna().index  # subjects scored by fusion and every single arm
                for other in singles:
                    common = common.intersection(arms.oof[(other, model)].dropna().index)
                yy = y.loc[common].to_numpy()
                dl = delong_test(yy, f.loc[common].to_numpy(), s.loc[common].to_numpy())
                bs = paired_bootstrap_auc_difference(yy, f.loc[common].to_numpy(),
                                                     s.loc[common].to_numpy(),
                                                     n_boot=int(p["n_boot"]), rng=rng)
                summary["comparisons"].append({
                    "model": model, "fusion": farm, "single": single, "n_subjects": len(common),
                    "auroc_fusion": r6(dl.auc_a), "auroc_single": r6(dl.auc_b),
                    "difference": r6(dl.difference), "delong_z": r6(dl.z),
                    "delong_p": float(f"{dl.p_value:.4g}"),
                    "bootstrap_ci": [r6(bs.ci_low), r6(bs.ci_high)],
                    "bootstrap_confidence": bs.confidence, "n_boot": bs.n_boot})
                counts[f"compared_subjects_{model}"] = len(common)
    primary = f"fusion_{p['fusion'].get('primary', 'late')}"
    model = p["primary_model"]
    rows = [c for c in summary["comparisons"] if c["fusion"] == primary and c["model"] == model]
    extra: list[str] = []
    if rows:
        best = max(rows, key=lambda c: c["auroc_single"])
        win = best["difference"] > 0 and best["delong_p"] < p["alpha"]
        verdict = {
            "fusion": primary, "model": model, "best_single": best["single"],
            "auroc_fusion": best["auroc_fusion"], "auroc_best_single": best["auroc_single"],
            "difference": best["difference"], "delong_p": best["delong_p"],
            "bootstrap_ci": best["bootstrap_ci"], "alpha": p["alpha"], "escalate": bool(win),
            "statement": (
                f"{primary} ({model}) {'beats' if win else 'does not beat'} the better single "
                f"modality ({best['single']}): AUROC {best['auroc_fusion']:.3f} vs "
                f"{best['auroc_single']:.3f}, DeLong p = {best['delong_p']:.3g} "
                f"({'<' if best['delong_p'] < p['alpha'] else '>='} {p['alpha']}); "
                + ("escalate beyond late fusion." if win else "stay with the simpler design."))}
        summary["escalation"] = verdict
        extra.append(verdict["statement"])
    headline = {}
    if verdict:
        headline = {"fusion_auroc": verdict["auroc_fusion"],
                    "best_single_auroc": verdict["auroc_best_single"],
                    "escalate": verdict["escalate"]}
    return summary, headline, counts, extra


def _figures(arms: _Arms, y: pd.Series, p: dict[str, Any]) -> dict[str, Any]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    from kbtools.experiments.stats.calibration import calibration_bins

    figs: dict[str, Any] = {}
    for model in p["models"]:
        roc, pr, cal = new_figure(), new_figure(), new_figure()
        ax_roc, ax_pr, ax_cal = roc.subplots(), pr.subplots(), cal.subplots()
        for (arm, m), series in arms.oof.items():
            if m != model:
                continue
            s = series.dropna()
            yy = y.loc[s.index].to_numpy()
            fpr, tpr, _ = roc_curve(yy, s.to_numpy())
            ax_roc.plot(fpr, tpr, label=arm)
            prec, rec, _ = precision_recall_curve(yy, s.to_numpy())
            ax_pr.step(rec, prec, where="post", label=arm)
            bins = calibration_bins(yy, s.to_numpy(), p["calibration_bins"])
            ok = bins.count >= 10  # no point drawn from fewer than 10 subjects
            ax_cal.plot(bins.mean_predicted[ok], bins.fraction_positive[ok], "o-", label=arm)
        ax_roc.plot([0, 1], [0, 1], ":", color="grey")
        ax_roc.set(xlabel="false positive rate", ylabel="true positive rate",
                   title=f"ROC ({model}, pooled out-of-fold)")
        ax_pr.set(xlabel="recall", ylabel="precision", title=f"Precision-recall ({model})")
        ax_cal.plot([0, 1], [0, 1], ":", color="grey")
        ax_cal.set(xlabel="mean predicted probability", ylabel="observed fraction",
                   title=f"Calibration ({model}; bins with >= 10 subjects)")
        for ax in (ax_roc, ax_pr, ax_cal):
            ax.legend(loc="best", fontsize=8)
        figs[f"roc_{model}.png"], figs[f"pr_{model}.png"] = roc, pr
        figs[f"calibration_{model}.png"] = cal
    return figs
