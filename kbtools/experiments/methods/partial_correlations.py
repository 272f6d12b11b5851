"""Partial correlations of canonical scores or PCs with outcomes, controlling covariates.

Axes: with ``axes: cca`` the first k canonical variates of two roles (CCA fit on each
training fold, scores computed for the held-out fold); with ``axes: pca`` the first k
principal components of each listed role. Preprocessing and the CCA/PCA are fit on the
training fold only. The sign of an axis is fixed per fold from training data only (its loadings
on the raw features agree with the first fold's) and scores are scaled by their training SD,
so held-out scores of the folds can be pooled (first CV repeat: each subject once).

Estimand: the association of an axis with an outcome *within sites*, adjusted for the
covariates, in subjects the axis was not fit on. Under site-grouped CV every held-out site is
new, so the training fold cannot say where a held-out site's scores or outcomes sit; the
held-out model therefore contains the covariates and one indicator per held-out site (per fold
when ``site_onehot`` is false, so the folds' different fitted axes are not mixed), estimated on
the pooled held-out data with the degrees of freedom they cost. Continuous outcomes: partial
Pearson and Spearman correlations (t-test on n - 2 - k df, Fisher-z CI; Spearman with the
rank-based SE); binary outcomes: logistic regression on the axis (per SD) and the same terms,
odds ratio with Wald CI and p. Benjamini–Hochberg runs across axes within each outcome and
statistic; a call is q <= alpha.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError
from kbtools.experiments.cv import outer_folds, resolve_columns, site_column
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods._common import (
    RoleFeaturizer,
    new_figure,
    params_of,
    preflight_folds,
    r6,
    require_roles,
)

DEFAULTS: dict[str, Any] = {
    "axes": "cca",
    "roles": ["gene", "brain"],
    "n_components": 3,
    "outcomes": [{"column": "phq9", "type": "continuous"}, {"column": "mdd", "type": "binary"}],
    "confidence": 0.95,
    "alpha": 0.05,
}


#: What the headline calls each statistic (run.yaml ``headline`` keys).
HEADLINE_NAMES = {"pearson": "partial_r_pearson", "spearman": "partial_rho_spearman",
                  "odds_ratio_per_sd": "odds_ratio_per_sd"}


def _raw_loadings(block: pd.DataFrame, ids: pd.Index, scores: np.ndarray) -> np.ndarray:
    x = block.loc[ids].to_numpy(dtype=np.float64)
    x = np.nan_to_num(x - np.nanmean(x, axis=0))  # features left missing for the imputer
    s = scores - scores.mean(axis=0)
    den = np.sqrt((x**2).sum(axis=0))[:, None] * np.sqrt((s**2).sum(axis=0))[None, :]
    return (x.T @ s) / np.where(den > 0, den, 1.0)


def heldout_design(subjects: pd.DataFrame, ids: pd.Index, covariates: tuple[str, ...],
                   groups: pd.Series) -> np.ndarray:
    """Covariates and one indicator per group but the first (held-out model terms)."""
    parts = [subjects.loc[ids, list(covariates)].to_numpy(dtype=np.float64)]
    labels = groups.loc[ids].astype(str).to_numpy()
    levels = sorted(set(labels))
    parts.append(np.column_stack([(labels == lv).astype(float) for lv in levels[1:]])
                 if len(levels) > 1 else np.zeros((len(ids), 0)))
    return np.hstack(parts)


def subject_columns(config: dict[str, Any]) -> dict[str, str]:
    """The outcome columns of ``params.outcomes`` (checked when the cohort is loaded)."""
    p = params_of(config, DEFAULTS)
    out = {}
    for o in p["outcomes"]:
        if isinstance(o, dict) and o.get("column"):
            out[str(o["column"])] = f"{o.get('type', 'continuous')} outcome"
    return out


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """What :func:`run` would refuse on this cohort, raised before anything is fit."""
    p = params_of(config, DEFAULTS)
    roles = list(p["roles"])
    require_roles(cohort, roles, "partial_correlations")
    if p["axes"] not in ("cca", "pca"):
        raise DataError(f"unknown axes {p['axes']!r}", hint="use cca or pca")
    if p["axes"] == "cca" and len(roles) != 2:
        raise DataError("axes: cca needs exactly two roles", hint="set params.roles: [gene, brain]")
    for o in p["outcomes"]:
        col, kind = o["column"], o.get("type", "continuous")
        if col not in cohort.subjects.columns:
            raise DataError(f"subjects table has no outcome column {col!r} (columns: "
                            f"{', '.join(map(str, cohort.subjects.columns[:12]))})",
                            hint="fix params.outcomes, e.g. --set "
                                 "'params.outcomes=[{column: phq9_total, type: continuous}]'")
        if cohort.subjects[col].isna().any():
            raise DataError(f"outcome column {col!r} has missing values",
                            hint="set preprocessing.incomplete_subjects: drop, or fill them")
        if kind not in ("continuous", "binary"):
            raise DataError(f"outcome type {kind!r} unknown", hint="use continuous or binary")
        values = cohort.subjects[col]
        if kind == "binary" and not set(pd.unique(values)) <= {0, 1}:
            raise DataError(f"binary outcome {col!r} must be coded 0/1 (found "
                            f"{sorted(map(str, pd.unique(values)))[:5]})",
                            hint="code it as 0/1 or declare it continuous")
        if kind == "continuous" and not pd.api.types.is_numeric_dtype(values):
            raise DataError(f"continuous outcome {col!r} is not numeric",
                            hint="code it as numbers")
    ids = cohort.complete_ids(roles)
    preflight_folds(cohort, config, {"subjects with every role": ids}, inner=False)
    return []


def _fold_scores(job: tuple, f: int, rng: np.random.Generator) -> tuple[
        dict[str, Any], pd.DataFrame, pd.DataFrame, dict[str, np.ndarray], list[str]]:
    """Outer fold ``f``: axes (CCA or PCA) fit on its training subjects; the fold's row,
    training and held-out scores, each axis's raw loadings (for sign alignment) and notes."""
    from kbtools.experiments.cca import columnwise_corr, fit_cca
    from kbtools.experiments.preprocessing import centre_by_group

    cohort, roles, pre, p, k, site_onehot, site_col, ids_all, folds = job
    tr_pos, te_pos = folds[f]
    tr = cohort.subjects.index[tr_pos]
    te = cohort.subjects.index[te_pos]
    tr, te = tr[tr.isin(ids_all)], te[te.isin(ids_all)]
    feats = {r: RoleFeaturizer(cohort, r, pre).fit(tr) for r in roles}
    notes = [w for feat in feats.values() for w in feat.warnings_]
    row: dict[str, Any] = {"fold": f + 1, "n_train": len(tr), "n_test": len(te)}
    train_scores, test_scores = {}, {}
    if p["axes"] == "cca":
        a, b = roles
        fit = fit_cca(feats[a].transform(tr), feats[b].transform(tr), k)
        kk = len(fit.rho)
        ua, ub = fit.transform(feats[a].transform(tr), feats[b].transform(tr))
        va, vb = fit.transform(feats[a].transform(te), feats[b].transform(te))
        if site_onehot:  # within-site estimand: each held-out site centred on its own mean
            test_sites = cohort.subjects.loc[te, site_col].to_numpy()
            held = columnwise_corr(centre_by_group(va, test_sites),
                                   centre_by_group(vb, test_sites))
        else:
            held = columnwise_corr(va, vb)
        for j in range(kk):
            row[f"cca{j + 1}_rho_train"] = r6(fit.rho[j])
            row[f"cca{j + 1}_rho_test"] = r6(held[j])
            train_scores[f"cca{j + 1}_{a}"], test_scores[f"cca{j + 1}_{a}"] = ua[:, j], va[:, j]
            train_scores[f"cca{j + 1}_{b}"], test_scores[f"cca{j + 1}_{b}"] = ub[:, j], vb[:, j]
        anchor = {f"cca{j + 1}_{a}": a for j in range(kk)} | {
            f"cca{j + 1}_{b}": b for j in range(kk)}
    elif p["axes"] == "pca":
        anchor = {}
        for r in roles:
            xtr, xte = feats[r].transform(tr), feats[r].transform(te)
            if "pca" not in feats[r].pipeline_.named_steps:
                from kbtools.experiments.preprocessing import CappedPCA

                pca = CappedPCA(k).fit(pd.DataFrame(xtr, index=tr))
                xtr = pca.transform(pd.DataFrame(xtr, index=tr)).to_numpy()
                xte = pca.transform(pd.DataFrame(xte, index=te)).to_numpy()
            for j in range(min(k, xtr.shape[1])):
                name = f"{r}_pc{j + 1}"
                train_scores[name], test_scores[name] = xtr[:, j], xte[:, j]
                anchor[name] = r
    else:
        raise DataError(f"unknown axes {p['axes']!r}", hint="use cca or pca")
    tr_df, te_df = pd.DataFrame(train_scores, index=tr), pd.DataFrame(test_scores, index=te)
    loads = {name: _raw_loadings(cohort.blocks[anchor[name]], tr, tr_df[[name]].to_numpy())[:, 0]
             for name in tr_df.columns}
    return row, tr_df, te_df, loads, notes


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    from kbtools.experiments.stats.fdr import bh_qvalues
    from kbtools.experiments.stats.partial import logistic_odds_ratio, partial_correlation

    config = resolve_columns(config)
    preflight(cohort, config)
    p = params_of(config, DEFAULTS)
    roles = list(p["roles"])
    k = int(p["n_components"])
    outcomes = list(p["outcomes"])
    pre = config.get("preprocessing") or {}
    covs = tuple(pre.get("covariates") or ())
    site_onehot = bool(pre.get("site_onehot"))
    site_col = site_column(config)
    ids_all = cohort.complete_ids(roles)
    n_splits = int((config.get("cv") or {}).get("n_splits", 5))
    # first CV repeat only: every subject is held out once, so pooled rows are subjects
    folds = outer_folds(cohort, config.get("cv"), config.get("outcome"), ctx.seed)[:n_splits]
    axis_names: list[str] = []
    pooled = []  # held-out scores of each fold
    fold_of = pd.Series(0, index=cohort.subjects.index)
    ref_loadings: dict[str, np.ndarray] = {}
    fold_rows = []
    notes: set[str] = set()
    # each fold's decomposition runs through the parallel layer; signs are aligned here
    job = (cohort, roles, pre, p, k, site_onehot, site_col, ids_all, folds)
    for f, fit in enumerate(ctx.map(_fold_scores, range(len(folds)), shared=job,
                                    desc="outer folds", unit="fold")):
        row, tr_df, te_df, loads, fold_notes = fit
        notes.update(fold_notes)
        # fix signs from training data, standardise by the training SD
        for name in tr_df.columns:
            load = loads[name]
            if name not in ref_loadings:
                ref_loadings[name] = load
            sign = -1.0 if float(load @ ref_loadings[name]) < 0 else 1.0
            sd = tr_df[name].std() or 1.0
            tr_df[name] *= sign / sd
            te_df[name] *= sign / sd
        if not axis_names:
            axis_names = list(tr_df.columns)
        fold_of.loc[te_df.index] = f + 1
        pooled.append(te_df[axis_names])
        fold_rows.append(row)
    scores = pd.concat(pooled)
    groups = cohort.subjects[site_col] if site_onehot else fold_of
    z = heldout_design(cohort.subjects, scores.index, covs, groups)
    n_terms = int(np.linalg.matrix_rank(np.column_stack([np.ones(len(z)), z]))) - 1
    results: list[dict[str, Any]] = []
    for o in outcomes:
        col, kind = o["column"], o.get("type", "continuous")
        if kind == "continuous":
            yv = cohort.subjects.loc[scores.index, col].to_numpy(dtype=np.float64)
            for stat in ("pearson", "spearman"):
                family = []
                for axis in axis_names:
                    c = partial_correlation(scores[axis].to_numpy(), yv, z if z.size else None,
                                            method=stat, confidence=p["confidence"])
                    family.append({"outcome": col, "axis": axis, "statistic": stat,
                                   "estimate": r6(c.r), "ci": [r6(c.ci_low), r6(c.ci_high)],
                                   "p": c.p_value, "n_subjects": c.n, "df": c.df})
                _add_q(family, bh_qvalues, p["alpha"])
                results += family
        elif kind == "binary":
            yv = cohort.subjects.loc[scores.index, col].astype(int).to_numpy()
            family = []
            for axis in axis_names:
                lr = logistic_odds_ratio(yv, scores[axis].to_numpy(), z if z.size else None,
                                         confidence=p["confidence"])
                if not lr.converged:
                    notes.add(f"logistic model of {col} on {axis} did not converge")
                if lr.n_separated:
                    notes.add(f"{col}: {lr.n_separated} subjects left out of the logistic "
                              f"models, in sites where every subject has the same {col} "
                              f"(a site term cannot be estimated there; the odds ratio is "
                              f"the model's estimate without them)")
                family.append({"outcome": col, "axis": axis, "statistic": "odds_ratio_per_sd",
                               "estimate": r6(lr.odds_ratio),
                               "ci": [r6(lr.ci_low), r6(lr.ci_high)], "p": lr.p_value,
                               "n_subjects": lr.n, "n_cases": lr.n_cases,
                               "n_controls": lr.n_controls})
            _add_q(family, bh_qvalues, p["alpha"])
            results += family
        else:
            raise DataError(f"outcome type {kind!r} unknown", hint="use continuous or binary")
    summary: dict[str, Any] = {"inference": INFERENCE, "axes": p["axes"], "roles": roles,
                               "axis_names": axis_names,
                               "covariates": list(covs), "site_adjusted": site_onehot,
                               "heldout_model": {
                                   "terms": list(covs) + [f"{'site' if site_onehot else 'fold'}"
                                                          " indicators"],
                                   "n_terms": n_terms,
                                   "groups": int(groups.loc[scores.index].nunique())},
                               "confidence": p["confidence"], "fdr": "benjamini-hochberg",
                               "results": results}
    if p["axes"] == "cca":
        summary["rho_test_mean"] = {
            f"cca{j + 1}": r6(np.mean([r[f"cca{j + 1}_rho_test"] for r in fold_rows
                                       if f"cca{j + 1}_rho_test" in r] or [np.nan]))
            for j in range(k)}
    best = min(results, key=lambda r: r["q"]) if results else None
    headline = {} if best is None else {
        "strongest": f"{best['axis']} ~ {best['outcome']}",
        # say what the number is (an odds ratio or a partial correlation) and give its interval
        HEADLINE_NAMES[best["statistic"]]: {
            "estimate": best["estimate"], f"ci{round(100 * p['confidence'])}": best["ci"]},
        "q": best["q"]}
    figures = {}
    if (config.get("outputs") or {}).get("plots", True) and results:
        figures["partial_correlations.png"] = lambda shown: _figure(results, shown,
                                                                     p["confidence"])
    counts = {"n_subjects": len(scores)}
    return MethodResult(summary=summary, per_fold=fold_rows, headline=headline, counts=counts,
                        warnings=sorted(notes), figures=figures)


def _add_q(family: list[dict[str, Any]], bh: Any, alpha: float) -> None:
    q = bh(np.array([r["p"] for r in family]))
    for r, qq in zip(family, q, strict=True):
        r["p"] = float(f"{r['p']:.4g}")
        r["q"] = float(f"{qq:.4g}")
        r["significant"] = bool(qq <= alpha)


#: What the numbers of ``metrics.yaml`` are (see prediction_baselines.INFERENCE).
INFERENCE: dict[str, Any] = {
    "calibrated": {
        "results.*.p|ci": "one held-out test per axis and outcome (partial r: t-test and "
                          "Fisher-z interval; odds ratio: Wald), raw",
        "results.*.q|significant": "Benjamini-Hochberg over the axes of one outcome",
    },
    "descriptive": {
        "rho_test_mean": "mean held-out canonical correlation of the axes over folds",
    },
}


def _figure(results: list[dict[str, Any]], shown: Any, confidence: float) -> Any:
    """Forest plots, one panel per kind of estimate, each with its own null line:
    correlations (Pearson, Spearman; null 0) and odds ratios per SD (log axis; null 1).

    The intervals are per test (not adjusted for multiplicity) while "significant" is the
    Benjamini–Hochberg q of each family (one outcome and statistic), so a point whose interval
    excludes the null can be not significant: the figure says so under the panels.
    """
    visible = [(i, r) for i, r in enumerate(results)
               if shown.summary(f"summary.results[{i}]")]
    panels = [("correlation", "partial correlation with the outcome (null: 0)", 0.0, False,
               [(i, r) for i, r in visible if r["statistic"] in ("pearson", "spearman")]),
              ("odds ratio", "odds ratio per SD of the axis (log scale; null: 1)", 1.0, True,
               [(i, r) for i, r in visible if r["statistic"] == "odds_ratio_per_sd"])]
    panels = [pn for pn in panels if pn[4]]
    if not panels:
        return None
    heights = [max(len(pn[4]), 2) for pn in panels]
    fig = new_figure(8.0, 0.32 * sum(heights) + 1.4 * len(panels) + 1.6)
    axes = fig.subplots(len(panels), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (_, xlabel, null, log, rows) in zip(axes, panels, strict=True):
        rows = rows[::-1]
        est = np.array([r["estimate"] for _, r in rows], dtype=float)
        lo = np.array([r["ci"][0] for _, r in rows], dtype=float)
        hi = np.array([r["ci"][1] for _, r in rows], dtype=float)
        sig = np.array([bool(r.get("significant")) for _, r in rows])
        ypos = np.arange(len(rows))
        for flag, color, label in ((False, "0.45", "not significant after BH correction"),
                                   (True, "tab:red", "significant: BH q ≤ alpha")):
            m = sig == flag
            if m.any():
                ax.errorbar(est[m], ypos[m], xerr=[est[m] - lo[m], hi[m] - est[m]], fmt="o",
                            color=color, capsize=3, ms=4, label=label)
        ax.axvline(null, color="black", lw=0.8, ls="--")
        if log:
            from matplotlib.ticker import FuncFormatter

            ax.set_xscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:.3g}")
            ax.xaxis.set_major_formatter(plain)
            ax.xaxis.set_minor_formatter(plain)
        ax.set_yticks(ypos, [f"{r['axis']} ~ {r['outcome']}"
                             + (f" ({r['statistic']})" if not log else "")
                             for _, r in rows], fontsize=9)
        ax.set_xlabel(f"{xlabel}; bars: {confidence:.0%} CI, unadjusted", fontsize=9)
        ax.tick_params(axis="x", which="both", labelsize=9)
        ax.legend(fontsize=9, loc="best")
    withheld = len(results) - len(visible)
    fig.suptitle("Partial associations of held-out axes with outcomes (covariates removed)"
                 + (f"; {withheld} withheld (too few subjects)" if withheld else ""),
                 fontsize=10)
    families = len({(r["outcome"], r["statistic"]) for _, r in visible})
    note = (f"Each interval is a single test's {confidence:.0%} CI. Significance is the "
            f"Benjamini–Hochberg q within each of the {families} families (one outcome and "
            "statistic), so a point whose interval excludes the null can still be not "
            "significant once the family's multiple tests are counted.")
    fig.supxlabel("\n".join(textwrap.wrap(note, 90)), fontsize=9)
    return fig
