"""Leave-one-gene-out (LOGO) attribution: how much does each gene's embedding block add?

For every outer fold the full model (all genes) and one drop-gene model per gene are fit on
the training fold; dAUC_g = AUC(full) - AUC(without g) on the held-out fold. Preprocessing of
the gene block (z-score, residualization) acts column by column, so it is fit once per
(inner or outer) training fold and a gene is dropped by removing its columns: exactly what
refitting it without the gene would give, at a fraction of the cost. PCA would mix genes and
is not applied here.

Inference. The source protocol (exact Wilcoxon signed-rank over the outer-fold dAUCs) cannot
reach significance with 5 folds: its smallest two-sided p is 2/2**5 = 0.0625 and even the
one-sided 1/32 becomes q >= 0.3 after Benjamini–Hochberg over 38 genes. The default test is the
corrected resampled t-test over the fold dAUCs (``test: corrected_t``): it has no p floor and,
because fold scores vary with the training set, it accounts for refitting variability. It
counts each distinct test fold once (:func:`kbtools.experiments.cv.distinct_folds`):
site-grouped repeats over a dozen centres usually repeat the first partition, and a copied
fold counted again halves the variance of the mean (it made 8.3% false calls in CI).
``test: delong`` (one-sided DeLong on the pooled out-of-fold predictions of the first repeat)
is available, but it conditions on the fitted models: with thousands of held-out subjects it
detects the tiny differences that refitting without a null gene causes, and at N = 5000 it
called null genes (see docs/analysis/logo_gene_attribution.md). The Wilcoxon and DeLong
p-values are reported for every gene; BH controls the FDR across genes for the chosen test.

Cost: the folds' preparation and then, fold by fold, chunks of drop-one models run through the
parallel layer (:mod:`kbtools.experiments.parallel`: in-process, a process pool or Dask; BLAS
pinned to one thread per worker). A fold's arrays travel to each worker once; chunks name
the genes they drop.
``tune: retune`` re-tunes C by inner CV for every drop-gene model; ``tune: fixed_from_full``
reuses the C the full model chose in that fold.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError
from kbtools.experiments.cv import distinct_folds, outer_folds, resolve_columns
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods._common import (
    DEFAULT_C_GRID,
    Coefs,
    FoldArrays,
    RoleFeaturizer,
    binary_outcome,
    class_counts,
    featurize_fold,
    fit_quiet,
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
    warm_start_from,
)

DEFAULTS: dict[str, Any] = {
    "role": "gene",
    "gene_pattern": r"^(?P<gene>[^_]+)__",
    "C_grid": list(DEFAULT_C_GRID),
    "tune": "retune",
    "test": "corrected_t",
    "alternative": "greater",
    "alpha": 0.05,
    "top_n": 10,
}


def gene_groups(columns: list[str], pattern: str) -> dict[str, np.ndarray]:
    """Gene -> column positions, from a regex with a named group ``gene`` (or group 1)."""
    rx = re.compile(pattern)
    groups: dict[str, list[int]] = {}
    unmatched = []
    for j, col in enumerate(columns):
        m = rx.search(col)
        if not m:
            unmatched.append(col)
            continue
        gene = m.group("gene") if "gene" in rx.groupindex else m.group(1)
        groups.setdefault(gene, []).append(j)
    if unmatched:
        raise DataError(f"gene_pattern {pattern!r} matches no gene in {len(unmatched)} "
                        f"column(s), first {unmatched[0]!r}",
                        hint="fix params.gene_pattern (a regex with a named group 'gene')")
    if len(groups) < 2:
        raise DataError(f"gene_pattern {pattern!r} found {len(groups)} gene(s); LOGO needs 2+",
                        hint="fix params.gene_pattern")
    return {g: np.asarray(ix) for g, ix in groups.items()}


def _drop_gene_task(fold: tuple[FoldArrays, float, list[float], bool, Coefs,
                                 tuple[np.ndarray, np.ndarray]],
                    keep_cols: list[np.ndarray],
                    rng: np.random.Generator) -> list[tuple[float, np.ndarray]]:
    """(C, held-out probabilities) of each drop-gene model in ``keep_cols`` (the columns each
    model keeps), on one outer fold's arrays (``fold``, scattered once per fold).

    Every fit starts from the full model's coefficients on the kept columns (same inner fold,
    same C): dropping one gene moves the optimum little, so lbfgs needs far fewer iterations.
    """
    fa, c_full, grid, retune, inner_full, outer_full = fold
    out = []
    for cols in keep_cols:
        c = tune_c(fa.inner, grid, cols, start=inner_full)[0] if retune else c_full
        model = warm_start_from(logistic(c), outer_full, cols)
        model = fit_quiet(model, fa.xtr[:, cols], fa.ytr)
        out.append((c, model.predict_proba(fa.xte[:, cols])[:, 1]))
    return out


def _prepare_fold(shared: tuple, k: int, rng: np.random.Generator) -> tuple:
    """Outer fold ``k``: featurize (fit on its training part), tune C and fit the full model.

    ``shared`` (the cohort, settings and folds) travels to each worker once. Returns the fold's
    training and test ids, arrays, C, the full model's inner and outer coefficients (warm
    starts for the drop-gene fits) and its held-out probabilities.
    """
    cohort, role, pre, cv, outcome, y, grid, seed, folds = shared
    tr_pos, te_pos = folds[k]
    has = cohort.blocks[role].index
    tr = cohort.subjects.index[tr_pos]
    te = cohort.subjects.index[te_pos]
    tr, te = tr[tr.isin(has)], te[te.isin(has)]
    splits = inner_splits(cohort, tr, cv, outcome, fold_seed(seed, k))
    fd = featurize_fold(lambda: RoleFeaturizer(cohort, role, pre, pca=False), tr, te, y, splits)
    inner_full: Coefs = []
    c_full = tune_c(fd.inner, grid, record=inner_full)[0]
    full = fit_quiet(logistic(c_full), fd.xtr, fd.ytr)
    outer_full = (full.coef_.copy(), full.intercept_.copy())
    return tr, te, fd, c_full, inner_full, outer_full, full.predict_proba(fd.xte)[:, 1]


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """What :func:`run` would refuse on this cohort, raised before anything is fit."""
    p = params_of(config, DEFAULTS)
    require_roles(cohort, [p["role"]], "logo_gene_attribution")
    y = binary_outcome(cohort, config)
    gene_groups(list(cohort.blocks[p["role"]].columns), p["gene_pattern"])
    preflight_folds(cohort, config, {f"role {p['role']}": cohort.blocks[p["role"]].index}, y)
    return []


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    from scipy.stats import wilcoxon

    from kbtools.config_rules.attainable import min_p_signed_rank, min_q_bh
    from kbtools.experiments.stats.delong import delong_many_vs_one
    from kbtools.experiments.stats.fdr import bh_qvalues
    from kbtools.experiments.stats.resampled_t import corrected_resampled_t

    config = resolve_columns(config)
    preflight(cohort, config)
    p = params_of(config, DEFAULTS)
    role = p["role"]
    y = binary_outcome(cohort, config)
    groups = gene_groups(list(cohort.blocks[role].columns), p["gene_pattern"])
    genes = list(groups)
    n_cols = cohort.blocks[role].shape[1]
    keep = [np.setdiff1d(np.arange(n_cols), groups[g]) for g in genes]
    grid = [float(c) for c in p["C_grid"]]
    retune = p["tune"] == "retune"
    alpha = float(p["alpha"])
    pre = config.get("preprocessing")
    warnings_out: list[str] = []
    if (config.get("preprocessing") or {}).get("pca", {}).get(role):
        warnings_out.append(f"preprocessing.pca.{role} is ignored by LOGO: PCA mixes genes, "
                            "so dropping one gene's columns needs the raw block")

    has = cohort.blocks[role].index
    folds = outer_folds(cohort, config.get("cv"), config.get("outcome"), ctx.seed)
    n_folds = len(folds)
    n_splits = int((config.get("cv") or {}).get("n_splits", 5))
    oof_full = pd.Series(np.nan, index=has)
    oof_drop = pd.DataFrame(np.nan, index=has, columns=genes)
    delta = np.full((n_folds, len(genes)), np.nan)
    fold_rows: list[dict[str, Any]] = []
    # chunking never depends on the workers (results do not either): a few chunks per fold
    per_fold_chunks = min(len(genes), 8)
    prepared: list[tuple[pd.Index, FoldArrays]] = []
    # each outer fold's preprocessing and full model are independent: prepare them in parallel
    shared = (cohort, role, pre, config.get("cv"), config.get("outcome"), y, grid, ctx.seed,
              folds)
    fold_results = ctx.map(_prepare_fold, range(n_folds), shared=shared,
                           desc="LOGO: preprocess folds", unit="fold")
    results: list[tuple[int, np.ndarray, list[tuple[float, np.ndarray]]]] = []
    for k, (tr, te, fd, c_full, inner_full, outer_full, p_full) in enumerate(fold_results):
        if k < n_splits:  # pooled predictions: first repeat (each subject once)
            oof_full.loc[te] = p_full
        prepared.append((te, fd))
        fold_rows.append({"fold": k + 1, "repeat": k // n_splits + 1, "n_train": len(tr),
                          "n_test": len(te), **class_counts(fd.yte),
                          "C_full": c_full, "auroc_full": r6(safe_auc(fd.yte, p_full))})
        # one call per fold: its arrays go to each worker once; chunks name genes only
        parts = [idx for idx in np.array_split(np.arange(len(genes)), per_fold_chunks)
                 if len(idx)]
        fold = (fd, c_full, grid, retune, inner_full, outer_full)
        done = ctx.map(_drop_gene_task, [[keep[i] for i in idx] for idx in parts],
                       shared=fold, desc=f"LOGO fold {k + 1}/{n_folds} drop-one models")
        results += [(k, idx, res) for idx, res in zip(parts, done, strict=True)]
    chosen_c = np.full((n_folds, len(genes)), np.nan)
    for k, idx, res in results:
        te, fd = prepared[k]
        auc_full = fold_rows[k]["auroc_full"]
        for i, (c, prob) in zip(idx, res, strict=True):
            if k < n_splits:
                oof_drop.loc[te, genes[i]] = prob
            delta[k, i] = auc_full - safe_auc(fd.yte, prob)
            chosen_c[k, i] = c
    scored = oof_full.dropna().index
    yy = y.loc[scored].to_numpy()
    pooled_delta, p_delong = delong_many_vs_one(yy, oof_full.loc[scored].to_numpy(),
                                                oof_drop.loc[scored].to_numpy().T,
                                                alternative=p["alternative"])
    # the corrected t counts each distinct test fold once (a repeat may copy a partition)
    tested = distinct_folds(folds)
    if len(tested) < n_folds:
        warnings_out.append(
            f"{n_folds - len(tested)} of the {n_folds} outer folds repeat the test set of an "
            "earlier fold (site-grouped repeats over few sites often give the same partition): "
            f"the corrected t counts each distinct fold once ({len(tested)} folds, "
            f"{len(tested) - 1} df)")
    ratio = float(np.mean([fold_rows[k]["n_test"] / fold_rows[k]["n_train"] for k in tested]))
    p_corrected = np.array([corrected_resampled_t(delta[tested, i], ratio, p["alternative"])[1]
                            for i in range(len(genes))])
    p_wilcoxon = np.array([_wilcoxon(delta[tested, i], p["alternative"], wilcoxon)
                           for i in range(len(genes))])
    p_used = {"delong": p_delong, "wilcoxon": p_wilcoxon,
              "corrected_t": p_corrected}[p["test"]]
    q = bh_qvalues(p_used)
    floor = min_p_signed_rank(len(tested), p["alternative"])
    attainable = {"wilcoxon_min_p": floor, "wilcoxon_min_q_bh_one_gene": min_q_bh(floor,
                                                                                 len(genes)),
                  "wilcoxon_can_reach_alpha": floor <= alpha, "delong_min_p": 0.0,
                  "corrected_t_min_p": 0.0}
    if p["test"] == "wilcoxon" and floor > alpha:
        warnings_out.append(
            f"test wilcoxon over {len(tested)} distinct outer folds can never reach alpha = "
            f"{alpha}: its smallest attainable p is {floor:.4g}, so no gene can be called; "
            "use test: corrected_t")
    elif p["test"] == "wilcoxon" and min_q_bh(floor, len(genes)) > alpha:
        warnings_out.append(
            f"test wilcoxon over {len(tested)} distinct outer folds: p floor {floor:.4g}; after "
            f"BH over {len(genes)} genes a lone true gene reaches at best q = "
            f"{min_q_bh(floor, len(genes)):.3g} > alpha = {alpha}; use test: corrected_t")
    order = np.argsort(-np.nanmean(delta, axis=0))
    table = []
    for rank, i in enumerate(order, start=1):
        table.append({"gene": genes[i], "rank": rank, "n_columns": int(groups[genes[i]].size),
                      "delta_auc_pooled": r6(pooled_delta[i]),
                      "delta_auc_folds": {**mean_sd(delta[:, i].tolist()), "ci95": [
                          r6(v) for v in corrected_t_interval(delta[:, i], ratio)]},
                      "p_corrected_t": float(f"{p_corrected[i]:.4g}"),
                      "p_delong": float(f"{p_delong[i]:.4g}"),
                      "p_wilcoxon": float(f"{p_wilcoxon[i]:.4g}"),
                      "q": float(f"{q[i]:.4g}"), "significant": bool(q[i] <= alpha)})
    called = [r["gene"] for r in table if r["significant"]]
    auc_full_pooled = safe_auc(yy, oof_full.loc[scored].to_numpy())
    for k, row in enumerate(fold_rows):
        for i, g in enumerate(genes):
            row[f"delta_auc__{g}"] = r6(delta[k, i])
    summary = {
        "inference": inference(p["test"]),
        "outcome": config.get("outcome"), "role": role, "n_genes": len(genes),
        "n_folds": n_folds, "n_folds_tested": len(tested), "test": p["test"],
        "alternative": p["alternative"],
        "fdr": "benjamini-hochberg", "alpha": alpha, "tune": p["tune"],
        "auroc_full_pooled": r6(auc_full_pooled),
        "auroc_full_folds": mean_sd([r["auroc_full"] for r in fold_rows]),
        "C_full": [r["C_full"] for r in fold_rows],
        "C_drop_one_range": [float(np.nanmin(chosen_c)), float(np.nanmax(chosen_c))],
        "attainable": attainable, "genes": table, "significant_genes": called,
    }
    headline = {"auroc_full": r6(auc_full_pooled), "n_significant_genes": len(called),
                "top_gene": table[0]["gene"]}
    figures = {}
    if (config.get("outputs") or {}).get("plots", True):
        shown_genes = table[: max(int(p["top_n"]), len(called))]
        figures["logo_delta_auc.png"] = lambda shown: _figure(
            shown_genes, delta, genes, ratio, alpha, p["test"], shown, tested)
    counts = {"subjects": len(scored), "cases": int(yy.sum()), "controls": int((1 - yy).sum())}
    return MethodResult(summary=summary, per_fold=fold_rows, headline=headline, counts=counts,
                        warnings=warnings_out, figures=figures)


def inference(test: str) -> dict[str, Any]:
    """What the numbers of ``metrics.yaml`` are (see prediction_baselines.INFERENCE): the
    calls (BH q-values) are calibrated for the default corrected resampled t-test only."""
    per_gene = {"corrected_t": "p_corrected_t", "delong": "p_delong",
                "wilcoxon": "p_wilcoxon"}[test]
    out: dict[str, Any] = {"calibrated": {}, "descriptive": {
        "auroc_full_pooled|genes.*.delta_auc_pooled":
            "predictions pooled over the folds' different models",
        "genes.*.delta_auc_folds|auroc_full_folds": "mean and SD of the per-fold values",
        "attainable": "the smallest p each test can reach with these folds (a design fact)"}}
    others = [k for k in ("p_corrected_t", "p_delong", "p_wilcoxon") if k != per_gene]
    out["descriptive"][f"genes.*.{'|'.join(others)}"] = (
        "tests not used for the calls: DeLong on pooled predictions conditions on the fitted "
        "models; the exact signed-rank test over few folds has a p floor")
    chosen = f"genes.*.{per_gene}|q|significant"
    if test == "corrected_t":
        out["calibrated"][chosen] = ("per-gene corrected resampled t over folds, BH across "
                                     "genes (calibration suite: no null gene called at more "
                                     "than alpha)")
    else:
        out["descriptive"][chosen] = f"calls from test {test}, not calibrated by the suite"
    return out


def _wilcoxon(d: np.ndarray, alternative: str, wilcoxon: Any) -> float:
    d = d[np.isfinite(d)]
    if d.size == 0 or np.all(d == 0):
        return 1.0
    return float(wilcoxon(d, alternative=alternative, method="exact").pvalue)


def corrected_t_interval(d: np.ndarray, ratio: float, confidence: float = 0.95) \
        -> tuple[float, float]:
    """Two-sided interval for the mean fold difference with the resampled-t variance
    correction (the test's own standard error, so a bar clear of 0 matches a small p)."""
    from kbtools.experiments.stats.resampled_t import corrected_resampled_interval

    return corrected_resampled_interval(d, ratio, confidence)


def _figure(rows: list[dict[str, Any]], delta: np.ndarray, genes: list[str], ratio: float,
            alpha: float, test: str, shown: Any, tested: list[int]) -> Any:
    """The top genes in the run's ranking (``rows``: by mean ΔAUC over folds, as the results
    table), the first on top, each with its corrected-t 95% interval over the distinct folds
    the test used (``tested``)."""
    folds = [k for k in tested if shown.fold(k + 1)]
    if len(folds) < 2:
        return None
    col = {g: i for i, g in enumerate(genes)}
    items = []
    for r in rows:
        d = delta[folds, col[r["gene"]]]
        lo, hi = corrected_t_interval(d, ratio)
        items.append((r["gene"], float(np.nanmean(d)), lo, hi, bool(r["significant"]),
                      r["q"]))
    items.reverse()  # barh draws bottom-up: the first-ranked gene ends on top
    fig = new_figure(7.5, 0.36 * len(items) + 2.0)
    ax = fig.subplots()
    ypos = np.arange(len(items))
    means = np.array([it[1] for it in items])
    err = np.array([[it[1] - it[2] for it in items], [it[3] - it[1] for it in items]])
    colors = ["tab:red" if it[4] else "0.6" for it in items]
    ax.barh(ypos, means, color=colors, xerr=err, capsize=3, error_kw={"lw": 0.8})
    ax.set_yticks(ypos, [f"{it[0]}  (q={it[5]:.2g})" for it in items], fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("ΔAUC = AUROC(all genes) − AUROC(without the gene): mean over "
                  f"{len(folds)} distinct folds;\nbars: 95% CI (corrected resampled t)", fontsize=9)
    ax.set_title(f"Leave-one-gene-out attribution: the top {len(items)} genes ranked by\n"
                 "mean ΔAUC over folds (the results table's order)\n"
                 f"red: q ≤ {alpha} (BH over all genes, {test.replace('_', ' ')} test)",
                 fontsize=10)
    return fig
