"""CCA between two modalities with stepwise permutation inference in every outer fold.

Per outer fold: fit each role's preprocessing (z-score, residualize, PCA) and the CCA on the
training subjects that have both modalities; report in-sample canonical correlations, the
out-of-sample ones (correlation of the held-out fold's canonical scores), the top loadings of
both modalities, and stepwise permutation p-values computed within the training
fold (see :mod:`kbtools.experiments.permutation`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from kbtools.experiments import cv
from kbtools.experiments.cca import fit_cca
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.permutation import stepwise_permutation_test
from kbtools.experiments.preprocessing import DesignWarning, build_pipeline, nuisance_design

DEFAULTS: dict[str, Any] = {
    "n_permutations": 1000,
    "n_components": 5,
    "alpha": 0.05,
    "permute_within": "none",
    "top_loadings": 10,
    "chunk_size": 50,
    "group_separator": "__",
}


def _roles(cohort: Any, params: dict[str, Any]) -> tuple[str, str]:
    from kbtools.errors import DataError

    roles = params.get("modalities") or cohort.roles[:2]
    if len(roles) != 2 or any(r not in cohort.blocks for r in roles):
        raise DataError(f"cca_permutation needs two modality roles, got {list(roles)} "
                        f"(data roles: {', '.join(cohort.roles) or 'none'})",
                        hint="set params.modalities to two of the config's data roles")
    return roles[0], roles[1]


def subject_columns(config: dict[str, Any]) -> dict[str, str]:
    """The site column when permutations are restricted to site blocks."""
    from kbtools.experiments.cv import site_column

    params = config.get("params") or {}
    if params.get("permute_within") == "site":
        return {site_column(config): "site (permutation blocks)"}
    return {}


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """Refuse a CCA that cannot tell anything on this cohort: in some training fold the two
    blocks (after PCA, capped at the data's rank) have more dimensions together than the
    subjects left after removing covariates, so every canonical correlation is exactly 1."""
    from kbtools.errors import DataError

    params = {**DEFAULTS, **(config.get("params") or {})}
    pre = config.get("preprocessing") or {}
    xr, yr = _roles(cohort, params)
    complete = cohort.complete_ids([xr, yr])
    folds = cv.outer_folds(cohort, config.get("cv"), config.get("outcome"),
                           int(config.get("seed", 0)))
    site_col = cv.site_column(config)
    n_cov = len(pre.get("covariates") or [])
    for k, (train_pos, _) in enumerate(folds):
        train = cohort.subjects.index[train_pos]
        train = train[train.isin(complete)]
        n_sites = cohort.subjects.loc[train, site_col].nunique() \
            if pre.get("site_onehot") and site_col in cohort.subjects.columns else 1
        r = 1 + n_cov + (n_sites - 1 if pre.get("site_onehot") else 0) \
            if pre.get("covariate_method", "residualize") != "none" else 1
        n_eff = len(train) - r
        dims = {}
        for role in (xr, yr):
            n_pc = (pre.get("pca") or {}).get(role)
            width = cohort.blocks[role].shape[1]
            dims[role] = min(int(n_pc) if n_pc else width, width, max(n_eff, 0))
        if n_eff < 3 or dims[xr] + dims[yr] > n_eff:
            raise DataError(
                f"CCA cannot be estimated in outer fold {k + 1}: {dims[xr]} {xr} + {dims[yr]} "
                f"{yr} dimensions for {len(train)} training subjects with every modality "
                f"({n_eff} after removing {r} covariate and site terms); with more dimensions "
                "than subjects every canonical correlation is 1",
                hint=f"reduce the blocks (e.g. --set preprocessing.pca.{xr}="
                     f"{max(1, n_eff // 4)} --set preprocessing.pca.{yr}={max(1, n_eff // 4)}) "
                     "or use more subjects")
    return []


def _pre_pca(pipe: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Features after every step but PCA (for loadings on the original features)."""
    if "pca" in pipe.named_steps and len(pipe.steps) > 1:
        return pipe[:-1].transform(frame)
    if "pca" in pipe.named_steps:
        return frame
    return pipe.transform(frame)


def _structure(features: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
    """Correlation of each feature with each canonical score."""
    xc = features.to_numpy() - features.to_numpy().mean(axis=0)
    sc = scores - scores.mean(axis=0)
    den = np.sqrt((xc**2).sum(axis=0))[:, None] * np.sqrt((sc**2).sum(axis=0))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(den > 0, xc.T @ sc / den, 0.0)
    return pd.DataFrame(corr, index=features.columns,
                        columns=[f"mode{k + 1}" for k in range(scores.shape[1])])


def _group_of(feature: str, sep: str) -> str | None:
    return feature.split(sep, 1)[0] if sep and sep in feature else None


def _top(loadings: pd.DataFrame, n: int, sep: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in loadings.columns:
        s = loadings[col]
        top = s.reindex(s.abs().sort_values(ascending=False).index[:n])
        entry: dict[str, Any] = {"features": [{"feature": str(f), "loading": round(float(v), 4)}
                                              for f, v in top.items()]}
        groups = pd.Series([_group_of(str(f), sep) for f in s.index], index=s.index)
        if groups.notna().all() and groups.nunique() < len(s):
            rms = (s**2).groupby(groups).mean().pow(0.5).sort_values(ascending=False)
            entry["groups"] = [{"group": str(g), "rms_loading": round(float(v), 4)}
                               for g, v in rms.iloc[:n].items()]
        out[col] = entry
    return out


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    config = cv.resolve_columns(config)
    preflight(cohort, config)
    params = {**DEFAULTS, **(config.get("params") or {})}
    pre = config.get("preprocessing") or {}
    cov_method = pre.get("covariate_method", "residualize")
    xr, yr = _roles(cohort, params)
    cv_cfg = config.get("cv") or {}
    site_col = cv.site_column(config)
    outcome = config.get("outcome")
    folds = cv.outer_folds(cohort, cv_cfg, outcome, ctx.seed)
    complete = set(cohort.complete_ids([xr, yr]))
    n_modes = int(params["n_components"])
    alpha = float(params["alpha"])
    sep = str(params["group_separator"])
    per_fold: list[dict[str, Any]] = []
    fold_details: list[dict[str, Any]] = []
    nulls: list[tuple[np.ndarray, np.ndarray]] = []
    loads: dict[str, list[pd.DataFrame]] = {xr: [], yr: []}
    notes: dict[str, list[int]] = {}
    seeds = ctx.child_seeds(len(folds))
    for i, (train_pos, test_pos) in enumerate(folds):
        ids = cohort.subjects.index
        train = pd.Index([s for s in ids[train_pos] if s in complete], name=ids.name)
        test = pd.Index([s for s in ids[test_pos] if s in complete], name=ids.name)
        frames = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DesignWarning)
            pipes = {r: build_pipeline(r, pre, cohort.subjects, site_column=site_col)
                     for r in (xr, yr)}
            for r, pipe in pipes.items():
                block = cohort.blocks[r]
                tr = pipe.fit_transform(block.loc[train])
                frames[r] = (tr, pipe.transform(block.loc[test]))
        for w in caught:
            if issubclass(w.category, DesignWarning):
                notes.setdefault(str(w.message), []).append(i + 1)
        (x_tr, x_te), (y_tr, y_te) = frames[xr], frames[yr]
        fit = fit_cca(x_tr.to_numpy(), y_tr.to_numpy(), n_modes)
        k = len(fit.rho)
        rho_out = fit.score_correlations(x_te.to_numpy(), y_te.to_numpy())
        nuisance = nuisance_design(pipes[xr], train) if cov_method != "none" else None
        blocks = (cohort.subjects.loc[train, site_col].to_numpy()
                  if params["permute_within"] == "site" else None)
        test_res = stepwise_permutation_test(
            x_tr.to_numpy(), y_tr.to_numpy(), int(params["n_permutations"]), n_modes=k,
            nuisance=nuisance, covariate_method=cov_method, blocks=blocks, n_jobs=ctx.n_jobs,
            seed=seeds[i], chunk_size=int(params["chunk_size"]), progress=ctx.progress)
        u, v = fit.transform(x_tr.to_numpy(), y_tr.to_numpy())
        lx = _structure(_pre_pca(pipes[xr], cohort.blocks[xr].loc[train]), u)
        ly = _structure(_pre_pca(pipes[yr], cohort.blocks[yr].loc[train]), v)
        loads[xr].append(lx)
        loads[yr].append(ly)
        nulls.append((test_res.null_first, test_res.rho))
        row: dict[str, Any] = {"fold": i + 1, "n_train": len(train), "n_test": len(test),
                               f"dim_{xr}": x_tr.shape[1], f"dim_{yr}": y_tr.shape[1],
                               "n_rows_permuted": test_res.n_rows}
        for m in range(k):
            row[f"rho_in_{m + 1}"] = round(float(fit.rho[m]), 4)
            row[f"rho_out_{m + 1}"] = round(float(rho_out[m]), 4)
            row[f"p_fwer_{m + 1}"] = round(float(test_res.p_fwer[m]), 5)
            row[f"p_uncorrected_{m + 1}"] = round(float(test_res.p_uncorrected[m]), 5)
        row["null_rho1_q95"] = round(float(np.quantile(test_res.null_first, 0.95)), 4)
        per_fold.append(row)
        fold_details.append({"fold": i + 1,
                             "top_loadings": {xr: _top(lx, int(params["top_loadings"]), sep),
                                              yr: _top(ly, int(params["top_loadings"]), sep)}})
    k = min(sum(1 for key in row if key.startswith("rho_in_")) for row in per_fold)
    df = pd.DataFrame(per_fold)
    modes = []
    for m in range(1, k + 1):
        p = df[f"p_fwer_{m}"]
        modes.append({
            "mode": m,
            "rho_in_sample": {"mean": round(float(df[f"rho_in_{m}"].mean()), 4),
                              "sd": round(float(df[f"rho_in_{m}"].std(ddof=1)), 4)},
            "rho_out_of_sample": {"mean": round(float(df[f"rho_out_{m}"].mean()), 4),
                                  "sd": round(float(df[f"rho_out_{m}"].std(ddof=1)), 4)},
            "p_fwer": {"median": round(float(p.median()), 5), "max": round(float(p.max()), 5)},
            "folds_significant": int((p <= alpha).sum()),
        })
    n_sig_all = next((m for m in range(k) if modes[m]["folds_significant"] < len(folds)), k)
    n_perm = int(params["n_permutations"])
    min_p = 1 / (n_perm + 1)
    summary = {
        "modalities": {"x": xr, "y": yr},
        "n_folds": len(folds),
        "n_permutations": n_perm,
        "min_attainable_p": round(min_p, 6),
        "alpha": alpha,
        "statistic": "roy_largest_root",
        "covariate_method": cov_method,
        "permute_within": params["permute_within"],
        "modes": modes,
        "n_modes_significant_all_folds": n_sig_all,
        "top_loadings": _mean_top(loads, int(params["top_loadings"]), sep),
        "per_fold_top_loadings": fold_details,
    }
    result_warnings = [f"fold(s) {', '.join(map(str, sorted(set(f))))}: {msg}"
                       for msg, f in notes.items()]
    if min_p > alpha:
        result_warnings.append(f"{n_perm} permutations cannot reach alpha={alpha} "
                               f"(smallest p is {min_p:.4g})")
    headline = {"rho1_out_of_sample": modes[0]["rho_out_of_sample"]["mean"],
                "p1_fwer_max": modes[0]["p_fwer"]["max"],
                "n_modes_significant": n_sig_all}
    counts = {"n_subjects": int(cohort.inventory.get("n_subjects", len(cohort.subjects))),
              "n_complete": len(complete),
              "n_train_min": int(df["n_train"].min()), "n_test_min": int(df["n_test"].min())}
    figures = {}
    if (config.get("outputs") or {}).get("plots", True):
        figures = _figures(nulls, loads, alpha, sep)
    return MethodResult(summary=summary, per_fold=per_fold, headline=headline, counts=counts,
                        warnings=result_warnings, figures=figures)


def _aligned_mean(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Mean loadings across folds, each fold's mode sign aligned to the first fold."""
    ref = frames[0]
    acc = ref.copy()
    for f in frames[1:]:
        f = f.reindex(columns=ref.columns)
        signs = np.sign((ref.fillna(0) * f.fillna(0)).sum(axis=0)).replace(0, 1)
        acc = acc.add(f * signs, fill_value=0)
    return acc / len(frames)


def _mean_top(loads: dict[str, list[pd.DataFrame]], n: int, sep: str) -> dict[str, Any]:
    return {role: _top(_aligned_mean(frames), n, sep) for role, frames in loads.items()}


def hist_bins(values: np.ndarray, bins: int = 30) -> tuple[int, tuple[float, float]]:
    """Histogram bins and range that work for any sample, a constant one included.

    numpy refuses 30 bins over a range narrower than floating-point resolution ("Too many bins
    for data range"), which degenerate nulls (every permuted correlation ~1) produce.
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    scale = max(abs(lo), abs(hi), 1e-12)
    if hi - lo <= 1e-9 * scale:
        pad = max(1e-3, 1e-3 * scale)
        return 1, (lo - pad, hi + pad)
    return max(1, min(bins, len(np.unique(values)))), (lo, hi)


def _figures(nulls: list[tuple[np.ndarray, np.ndarray]], loads: dict[str, list[pd.DataFrame]],
             alpha: float, sep: str) -> dict[str, Any]:
    """The null-distribution figure and one loadings heatmap per modality (drawn after the
    disclosure guard: withheld folds are left out)."""
    figs: dict[str, Any] = {"null_distributions.png": lambda shown: _null_figure(nulls, alpha,
                                                                                 shown)}
    for role, frames in loads.items():
        figs[f"loadings_{role}.png"] = (lambda shown, role=role, frames=frames:
                                        _loadings_figure(role, frames, sep, shown))
    return figs


def _null_figure(nulls: list[tuple[np.ndarray, np.ndarray]], alpha: float, shown: Any) -> Any:
    from matplotlib.figure import Figure

    folds = [(i, null, rho) for i, (null, rho) in enumerate(nulls, 1) if shown.fold(i)]
    if not folds:
        return None
    n = len(folds)
    cols = min(n, 5)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.0 * cols + 0.4, 2.9 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (i, null, rho) in zip(axes, folds, strict=False):
        bins, span = hist_bins(null)
        ax.hist(null, bins=bins, range=span, color="0.75", label="permutation null, mode 1")
        ax.axvline(np.quantile(null, 1 - alpha), color="0.25", ls=":",
                   label=f"null {1 - alpha:.0%} quantile")
        for m, r in enumerate(rho):
            ax.axvline(r, color="C3" if m == 0 else "C1", lw=1.6 if m == 0 else 0.8,
                       label="observed mode 1" if m == 0 else ("observed later modes"
                                                               if m == 1 else None))
        ax.set_title(f"fold {i}", fontsize=9)
        ax.set_xlabel("canonical correlation (training fold)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(folds):]:
        ax.set_visible(False)
    axes[0].set_ylabel("permutations", fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=7, frameon=False)
    hidden = len(nulls) - n
    fig.suptitle("Observed canonical correlations against the mode-1 permutation null"
                 + (f" ({hidden} fold(s) withheld: too few subjects)" if hidden else ""),
                 fontsize=10)
    return fig


def _loadings_figure(role: str, frames: list[pd.DataFrame], sep: str, shown: Any) -> Any:
    """Heatmap of the largest mean loadings: features as rows, modes as columns."""
    from matplotlib.figure import Figure

    mean = _aligned_mean(frames)
    top = mean.abs().max(axis=1).sort_values(ascending=False).index[:25]
    data = mean.loc[top]
    labels = [str(t) for t in top]
    width = max(5.2, 0.9 * data.shape[1] + 0.075 * max(map(len, labels)) + 2.2)
    fig = Figure(figsize=(width, 0.26 * len(top) + 1.6), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(data.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(top)), labels, fontsize=7)
    ax.set_xticks(range(data.shape[1]), [c.replace("mode", "mode ") for c in data.columns],
                  fontsize=8, rotation=0)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("canonical mode", fontsize=8)
    for (r, c), v in np.ndenumerate(data.to_numpy()):
        if np.isfinite(v) and abs(v) >= 0.3:
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(v) > 0.6 else "black")
    ax.set_title(f"{role}: structure coefficients (correlation of each feature with the "
                 f"canonical score),\nmean over {len(frames)} folds, 25 largest", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.6, label="loading")
    return fig
