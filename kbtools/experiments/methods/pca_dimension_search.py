"""PCA dimension search: which number of components should a modality be reduced to?

Nested cross-validation. In each outer training fold the role is preprocessed (z-score,
residualization; fit on that fold) and reduced by PCA; each candidate dimension d feeds the
first d components to an L2 logistic regression. Inner folds pick d by the one-standard-error
rule: the smallest d whose mean inner AUROC is within one SE (SD over inner folds / sqrt(k)) of
the best mean. The chosen d's held-out AUROC estimates the performance of the whole selection
procedure. The recommended dimension for the run is the same rule applied to the outer-fold
AUROC curve (mean and SE over outer folds), recorded as ``chosen_dim``. Components are nested
(the first d of a larger PCA), so one SVD per fold serves every candidate.

What the run prints (``summary.inference``): the nested AUROC is combined over the outer folds
(the mean of each fold's AUROC of the dimension its inner folds chose, with the corrected
resampled t interval that allows for folds sharing training subjects), a 95% interval the
calibration suite checks on null cohorts. The outer-fold curve, the best dimension's mean
AUROC and its SE are descriptive: choosing the best of several dimensions on the same folds
makes the best mean optimistic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbtools.errors import DataError
from kbtools.experiments.cv import first_repeat, repeat_note, resolve_columns
from kbtools.experiments.linalg import thin_svd
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods._common import (
    RoleFeaturizer,
    binary_outcome,
    class_counts,
    fit_quiet,
    fold_corrected_t,
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
)

DEFAULTS: dict[str, Any] = {"role": "brain", "dims": [2, 4, 8, 16, 32, 64, 128], "C": 1.0}


def one_se_choice(dims: list[int], scores: np.ndarray) -> tuple[int, float, float]:
    """Smallest dim whose mean score is within one SE of the best mean.

    ``scores`` is (folds, dims). Returns (dim, best mean, SE of the best dim).
    """
    mean = np.nanmean(scores, axis=0)
    k = np.sum(np.isfinite(scores), axis=0)
    se = np.nanstd(scores, axis=0, ddof=1) / np.sqrt(np.maximum(k, 1))
    best = int(np.nanargmax(mean))
    threshold = mean[best] - (se[best] if np.isfinite(se[best]) else 0.0)
    order = np.argsort(dims)
    for j in order:
        if mean[j] >= threshold:
            return int(dims[j]), float(mean[best]), float(se[best])
    return int(dims[best]), float(mean[best]), float(se[best])


def _pcs(feat_train: np.ndarray, feat_other: list[np.ndarray], dmax: int) -> list[np.ndarray]:
    mean = feat_train.mean(axis=0)
    _, s, vt = thin_svd(feat_train - mean)
    v = vt[:dmax].T
    return [(feat_train - mean) @ v] + [(x - mean) @ v for x in feat_other]


def _curve(ztr: np.ndarray, ytr: np.ndarray, zte: np.ndarray, yte: np.ndarray,
           dims: list[int], c: float) -> np.ndarray:
    out = np.full(len(dims), np.nan)
    for j, d in enumerate(dims):
        if d <= ztr.shape[1]:
            model = fit_quiet(logistic(c), ztr[:, :d], ytr)
            out[j] = safe_auc(yte, model.predict_proba(zte[:, :d])[:, 1])
    return out


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """What :func:`run` would refuse on this cohort, raised before anything is fit."""
    p = params_of(config, DEFAULTS)
    require_roles(cohort, [p["role"]], "pca_dimension_search")
    dims = sorted({int(d) for d in p["dims"]})
    if not dims or dims[0] < 1:
        raise DataError("params.dims must list positive numbers of components",
                        hint="e.g. dims: [8, 16, 32, 64]")
    y = binary_outcome(cohort, config)
    preflight_folds(cohort, config, {f"role {p['role']}": cohort.blocks[p["role"]].index}, y)
    width = cohort.blocks[p["role"]].shape[1]
    return ([f"params.dims above the {width} features of role {p['role']} are skipped: "
             f"{[d for d in dims if d > width]}"] if dims[-1] > width else [])


def _fit_curve(job: tuple, chunk: tuple[int, int | None], rng: np.random.Generator
               ) -> tuple[np.ndarray, list[str], np.ndarray, int] | None:
    """AUROC per dimension of fold ``k``: on its inner split ``j``, or (``j`` None) on the
    outer fold. None for an inner split the fold does not have."""
    cohort, role, pre, cv, outcome, y, dims, c, folds, seed = job
    k, j = chunk
    has = cohort.blocks[role].index
    tr_pos, te_pos = folds[k]
    tr, te = cohort.subjects.index[tr_pos], cohort.subjects.index[te_pos]
    tr, te = tr[tr.isin(has)], te[te.isin(has)]
    ytr, yte = y.loc[tr].to_numpy(), y.loc[te].to_numpy()
    notes = []
    if j is not None:
        splits = inner_splits(cohort, tr, cv, outcome, fold_seed(seed, k))
        if j >= len(splits):
            return None
        a, b = splits[j]
        feat = RoleFeaturizer(cohort, role, pre, pca=False).fit(tr[a])
        za, zb = _pcs(feat.transform(tr[a]), [feat.transform(tr[b])], max(dims))
        return _curve(za, ytr[a], zb, ytr[b], dims, c), [], ytr[b], len(a)
    feat = RoleFeaturizer(cohort, role, pre, pca=False).fit(tr)
    notes += feat.warnings_
    ztr, zte = _pcs(feat.transform(tr), [feat.transform(te)], max(dims))
    if ztr.shape[1] < max(dims):
        notes.append(f"fold {k + 1}: the training data have rank {ztr.shape[1]}; larger "
                     "dims were skipped")
    return _curve(ztr, ytr, zte, yte, dims, c), notes, yte, len(tr)


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    config = resolve_columns(config)
    preflight(cohort, config)
    p = params_of(config, DEFAULTS)
    role = p["role"]
    width = cohort.blocks[role].shape[1]
    dims = [d for d in sorted({int(d) for d in p["dims"]}) if d <= width] or [width]
    y = binary_outcome(cohort, config)
    pre = config.get("preprocessing")
    c = float(p["C"])
    has = cohort.blocks[role].index
    folds = first_repeat(cohort, config.get("cv"), config.get("outcome"), ctx.seed)
    n_inner = int((config.get("cv") or {}).get("inner_splits", 3))
    # each fold's inner splits and its outer fit are separate chunks of the parallel layer
    job = (cohort, role, pre, config.get("cv"), config.get("outcome"), y, dims, c, folds,
           ctx.seed)
    work = [(k, j) for k in range(len(folds)) for j in [*range(n_inner), None]]
    done = dict(zip(work, ctx.map(_fit_curve, work, shared=job, desc="fold x split fits",
                                  unit="fit"), strict=True))
    outer = np.full((len(folds), len(dims)), np.nan)
    rows, notes = [], set(repeat_note(config.get("cv")))
    nested_auc, ratios, chosen_inner = [], [], []
    for k in range(len(folds)):
        inner_scores = [done[(k, j)][0] for j in range(n_inner) if done[(k, j)] is not None]
        d_inner, _, _ = one_se_choice(dims, np.array(inner_scores))
        outer[k], fold_notes, yte, n_train = done[(k, None)]
        notes.update(fold_notes)
        j = dims.index(d_inner)
        nested_auc.append(outer[k, j])
        ratios.append(len(yte) / n_train)
        chosen_inner.append(d_inner)
        row = {"fold": k + 1, "n_train": n_train, "n_test": len(yte),
               **class_counts(yte), "chosen_dim_inner": d_inner,
               "auroc_nested": r6(outer[k, j])}
        row.update({f"auroc_dim_{d}": r6(v) for d, v in zip(dims, outer[k], strict=True)})
        rows.append(row)
    chosen, best_mean, best_se = one_se_choice(dims, outer)
    curve = [{"dim": d, **mean_sd(outer[:, j].tolist()),
              "se": r6(np.nanstd(outer[:, j], ddof=1) / np.sqrt(np.isfinite(outer[:, j]).sum()))}
             for j, d in enumerate(dims)]
    nested = {"fold_combined": fold_corrected_t(nested_auc, float(np.mean(ratios)), null=0.5),
              **mean_sd(nested_auc)}
    summary = {"inference": INFERENCE, "role": role, "outcome": config.get("outcome"),
               "dims": dims, "C": c,
               "rule": "smallest dim within one SE of the best mean AUROC",
               "curve": curve, "chosen_dim": chosen, "best_dim": int(dims[int(np.nanargmax(
                   np.nanmean(outer, axis=0)))]), "best_mean_auroc": r6(best_mean),
               "best_se": r6(best_se), "nested_auroc": nested,
               "inner_choices": chosen_inner}
    headline = {"chosen_dim": chosen, "nested_auroc": nested["fold_combined"]["estimate"]}
    figures = {}
    if (config.get("outputs") or {}).get("plots", True):
        figures["pca_dimension_curve.png"] = lambda shown: _figure(dims, outer, chosen, shown,
                                                                    nested_auc)
    counts = {"n_subjects": int(len(has.intersection(cohort.subjects.index)))}
    return MethodResult(summary=summary, per_fold=rows, headline=headline, counts=counts,
                        warnings=sorted(notes), figures=figures)


#: What the numbers of ``metrics.yaml`` are (see prediction_baselines.INFERENCE).
INFERENCE: dict[str, Any] = {
    "calibrated": {
        "nested_auroc.fold_combined": "AUROC of the whole selection procedure, combined over "
                                      "outer folds (corrected resampled t), 95% CI",
    },
    "descriptive": {
        "nested_auroc.mean|sd": "mean and SD of the per-fold nested AUROCs",
        "curve|best_mean_auroc|best_se": "outer-fold AUROC per dimension: the best of them is "
                                         "chosen on the same folds, so optimistic",
        "chosen_dim|inner_choices": "one-SE choices, not tests",
    },
}


def _figure(dims: list[int], outer: np.ndarray, chosen: int, shown: Any,
            nested: list[float]) -> Any:
    """Mean held-out AUROC per dimension (SE bars over the folds shown), the one-SE band of
    the best dimension and the chosen one."""
    keep = [k for k in range(outer.shape[0]) if shown.fold(k + 1)]
    if len(keep) < 2:
        return None
    sub = outer[keep]
    fig = new_figure(6.4, 4.6)
    ax = fig.subplots()
    mean = np.nanmean(sub, axis=0)
    se = np.nanstd(sub, axis=0, ddof=1) / np.sqrt(np.isfinite(sub).sum(axis=0))
    ok = np.isfinite(mean)
    d = np.asarray(dims)[ok]
    ax.errorbar(d, mean[ok], yerr=se[ok], fmt="o-", capsize=3, label="mean over folds ± SE")
    best = int(np.nanargmax(mean))
    ax.axhspan(mean[best] - se[best], mean[best], color="tab:blue", alpha=0.12,
               label="within one SE of the best")
    ax.axvline(chosen, color="tab:red", ls="--", label=f"chosen: {chosen} components")
    ax.axhline(float(np.nanmean(np.asarray(nested)[keep])), color="0.4", ls=":",
               label="nested AUROC (mean over folds)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(d, [str(v) for v in d])
    ax.set(xlabel="PCA components", ylabel="held-out AUROC",
           title=f"PCA dimension search ({len(keep)} outer folds, one-SE rule)\n"
                 "bars: ± 1 standard error of the fold mean")
    ax.legend(fontsize=9, loc="lower right")
    return fig


__all__ = ["one_se_choice", "run"]
