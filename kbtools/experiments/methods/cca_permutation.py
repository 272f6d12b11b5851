"""CCA between two modalities: one stepwise permutation test, out-of-sample correlations by CV.

Inference (the headline): one stepwise permutation test (Roy's largest root, FWER-controlled,
see :mod:`kbtools.experiments.permutation`) on every subject with both modalities, after
preprocessing fit on those subjects. Its family-wise error rate is the nominal alpha whatever
the number of folds, and ``n_modes_significant`` is the number of modes it rejects. Requiring
a mode to be significant in every fold instead (the earlier rule) has no stated error rate and
throws away power: a planted mode significant in 4 of 5 folds was reported as no mode.

Effect size: outer cross-validation. Per fold, each role's preprocessing (z-score,
residualization, PCA) and the CCA are fit on the training subjects with both modalities; the
held-out fold gives out-of-sample canonical correlations (correlation of held-out canonical
scores). With ``site_onehot`` the estimand is the within-site coupling: each held-out site's
scores are centred on their own mean (unlabelled features only), because a site the training
fold never saw keeps its offset after the average training-site correction, and offsets shared
by both modalities would otherwise pass for coupling (or hide it).

Sites: by default (``permute_within: auto``) the test permutes subjects within sites whenever
the subjects table has the site column, after a Huh-Jhun projection done within each site
(:func:`kbtools.experiments.permutation.huh_jhun_within_blocks`), so it stays exact when sites
differ in mean, variance and covariance, and each site's covariate slopes are removed too.
Without a site column it permutes freely and says so. Every run (and ``--dry-run``) measures
the sites' variance ratios, dispersion and centre x covariate interactions of both blocks
(:mod:`kbtools.experiments.site_structure`) and states what the test does about them.

Projection: ``preprocessing.pca.<role>`` may be a number or ``auto``; unset means ``auto`` for
this method, which keeps at most one component per ``N_PER_COMPONENT`` training subjects (see
:func:`kbtools.experiments.preprocessing.auto_components`). A number that leaves more
dimensions than that is used but flagged: in-sample canonical correlations then approach 1
whatever the data.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from kbtools.config_rules.design_checks import (
    CCA_DEFAULT_COVARIATE_METHOD as DEFAULT_COVARIATE_METHOD,
)
from kbtools.config_rules.design_checks import RESIDUALIZE_MIN_SPARE
from kbtools.experiments import cv
from kbtools.experiments.cca import fit_cca
from kbtools.experiments.figures import new_figure
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.permutation import rows_after_projection, stepwise_permutation_test
from kbtools.experiments.preprocessing import (
    N_PER_COMPONENT,
    DesignWarning,
    auto_components,
    build_pipeline,
    nuisance_design,
)
from kbtools.experiments.site_structure import SiteStructure, TestDesign, diagnose

DEFAULTS: dict[str, Any] = {
    "n_permutations": 1000,
    "n_components": 5,
    "alpha": 0.05,
    "permute_within": "auto",
    "normalize_sites": True,
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


def permutation_blocks(cohort: Any, config: dict[str, Any]) -> tuple[bool, str]:
    """(permute within sites?, why not) for ``params.permute_within``: ``site`` always (the
    site column must exist), ``none`` never, ``auto`` (the default) when the subjects table has
    the site column."""
    from kbtools.errors import DataError

    choice = {**DEFAULTS, **(config.get("params") or {})}["permute_within"]
    column = cv.site_column(config)
    present = column in cohort.subjects.columns
    if choice == "site" and not present:
        raise DataError(f"params.permute_within: site, but the subjects table has no site "
                        f"column {column!r}",
                        hint="set preprocessing.site_column to the column holding the site, or "
                             "params.permute_within: auto (free permutation without one)")
    if choice == "none":
        return False, "params.permute_within: none"
    if not present:
        return False, f"no site column {column!r} in the subjects table"
    return True, ""


def preflight(cohort: Any, config: dict[str, Any]) -> list[str]:
    """Refuse a CCA that cannot tell anything on this cohort: in some training fold (or in the
    test on every subject) the two blocks (after PCA, capped at the data's rank) have more
    dimensions together than the subjects left after removing covariates, so every canonical
    correlation is exactly 1; and site blocks without a site column."""
    from kbtools.errors import DataError

    params = {**DEFAULTS, **(config.get("params") or {})}
    pre = config.get("preprocessing") or {}
    xr, yr = _roles(cohort, params)
    complete = cohort.complete_ids([xr, yr])
    folds = cv.outer_folds(cohort, config.get("cv"), config.get("outcome"),
                           int(config.get("seed", 0)))
    site_col = cv.site_column(config)
    n_cov = len(pre.get("covariates") or [])
    blocks, _ = permutation_blocks(cohort, config)
    interactions = bool(pre.get("site_covariate_interactions")) and bool(pre.get("site_onehot"))
    for k, (train_pos, _) in enumerate(folds):
        train = cohort.subjects.index[train_pos]
        train = train[train.isin(complete)]
        n_sites = cohort.subjects.loc[train, site_col].nunique() \
            if pre.get("site_onehot") and site_col in cohort.subjects.columns else 1
        r = (1 + n_cov + (n_sites - 1 if pre.get("site_onehot") else 0)
             + ((n_sites - 1) * n_cov if interactions else 0)) \
            if pre.get("covariate_method", DEFAULT_COVARIATE_METHOD) != "none" else 1
        n_eff = len(train) - r
        dims = {}
        for role in (xr, yr):
            n_pc = (pre.get("pca") or {}).get(role, "auto")
            width = cohort.blocks[role].shape[1]
            wanted = auto_components(len(train)) if n_pc == "auto" else int(n_pc)
            dims[role] = min(wanted, width, max(n_eff, 0))
        if n_eff < 3 or dims[xr] + dims[yr] > n_eff:
            raise DataError(
                f"CCA cannot be estimated in outer fold {k + 1}: {dims[xr]} {xr} + {dims[yr]} "
                f"{yr} dimensions for {len(train)} training subjects with every modality "
                f"({n_eff} after removing {r} covariate and site terms); with more dimensions "
                "than subjects every canonical correlation is 1",
                hint=f"reduce the blocks (--set preprocessing.pca.{xr}=auto --set "
                     f"preprocessing.pca.{yr}=auto, or smaller numbers) or use more subjects")
    if blocks and pre.get("covariate_method", DEFAULT_COVARIATE_METHOD) == "huh_jhun":
        sizes = cohort.subjects.loc[complete, site_col].value_counts()
        rows = int(np.maximum(sizes.to_numpy() - (1 + n_cov), 0).sum())
        dims = [min(_wanted(pre, role, len(complete)), cohort.blocks[role].shape[1])
                for role in (xr, yr)]
        if rows < 3 or sum(dims) > rows:
            raise DataError(
                f"the permutation test within sites keeps about {rows} rows of "
                f"{len(complete)} subjects (each of {len(sizes)} sites loses 1 + {n_cov} rows "
                f"to its own intercept and covariate slopes), fewer than its {dims[0]} + "
                f"{dims[1]} dimensions", hint="reduce the blocks (preprocessing.pca), merge "
                "small sites in the site column, or set params.permute_within: none")
    return []


def _wanted(pre: dict[str, Any], role: str, n: int) -> int:
    n_pc = (pre.get("pca") or {}).get(role, "auto")
    return auto_components(n) if n_pc == "auto" else int(n_pc)


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


def _fit_pipelines(cohort: Any, roles: tuple[str, str], pre: dict[str, Any], site_col: str,
                   train: pd.Index, test: pd.Index | None = None
                   ) -> tuple[dict[str, Any], dict[str, tuple[pd.DataFrame, pd.DataFrame | None]],
                              list[str]]:
    """Fit each role's pipeline on ``train``; transformed train (and test) frames; warnings."""
    frames = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DesignWarning)
        pipes = {r: build_pipeline(r, pre, cohort.subjects, site_column=site_col,
                                   default_pca="auto") for r in roles}
        for r, pipe in pipes.items():
            block = cohort.blocks[r]
            tr = pipe.fit_transform(block.loc[train])
            frames[r] = (tr, None if test is None else pipe.transform(block.loc[test]))
    notes = [str(w.message) for w in caught if issubclass(w.category, DesignWarning)]
    return pipes, frames, notes


def run(cohort: Any, config: dict[str, Any], ctx: Any) -> MethodResult:
    from kbtools.experiments.cca import columnwise_corr
    from kbtools.experiments.preprocessing import centre_by_group

    config = cv.resolve_columns(config)
    preflight(cohort, config)
    params = {**DEFAULTS, **(config.get("params") or {})}
    pre = config.get("preprocessing") or {}
    cov_method = pre.get("covariate_method", DEFAULT_COVARIATE_METHOD)
    xr, yr = _roles(cohort, params)
    cv_cfg = config.get("cv") or {}
    site_col = cv.site_column(config)
    site_adjusted = bool(pre.get("site_onehot", False))
    covariates = list(pre.get("covariates") or [])
    cv_interactions = site_adjusted and bool(pre.get("site_covariate_interactions")) \
        and bool(covariates)
    outcome = config.get("outcome")
    n_splits = int(cv_cfg.get("n_splits", 5))
    folds = cv.outer_folds(cohort, cv_cfg, outcome, ctx.seed)[:n_splits]
    complete_ids = cohort.complete_ids([xr, yr])
    complete = set(complete_ids)
    n_modes = int(params["n_components"])
    alpha = float(params["alpha"])
    n_perm = int(params["n_permutations"])
    sep = str(params["group_separator"])
    per_fold: list[dict[str, Any]] = []
    fold_details: list[dict[str, Any]] = []
    loads: dict[str, list[pd.DataFrame]] = {xr: [], yr: []}
    notes: dict[str, list[int]] = {}
    ids = cohort.subjects.index
    for i, (train_pos, test_pos) in enumerate(folds):
        train = pd.Index([s for s in ids[train_pos] if s in complete], name=ids.name)
        test = pd.Index([s for s in ids[test_pos] if s in complete], name=ids.name)
        pipes, frames, caught = _fit_pipelines(cohort, (xr, yr), pre, site_col, train, test)
        for msg in caught:
            notes.setdefault(msg, []).append(i + 1)
        (x_tr, x_te), (y_tr, y_te) = frames[xr], frames[yr]
        fit = fit_cca(x_tr.to_numpy(), y_tr.to_numpy(), n_modes)
        k = len(fit.rho)
        u_te, v_te = fit.transform(x_te.to_numpy(), y_te.to_numpy())
        if site_adjusted:  # within-site estimand: centre each held-out site on its own mean
            test_sites = cohort.subjects.loc[test, site_col].to_numpy()
            own = (cohort.subjects.loc[test, covariates].to_numpy(dtype=np.float64)
                   if cv_interactions else None)  # and on its own covariate slopes
            u_te, v_te = (centre_by_group(u_te, test_sites, own),
                          centre_by_group(v_te, test_sites, own))
        rho_out = columnwise_corr(u_te, v_te)
        u, v = fit.transform(x_tr.to_numpy(), y_tr.to_numpy())
        lx = _structure(_pre_pca(pipes[xr], cohort.blocks[xr].loc[train]), u)
        ly = _structure(_pre_pca(pipes[yr], cohort.blocks[yr].loc[train]), v)
        loads[xr].append(lx)
        loads[yr].append(ly)
        row: dict[str, Any] = {"fold": i + 1, "n_train": len(train), "n_test": len(test),
                               f"dim_{xr}": x_tr.shape[1], f"dim_{yr}": y_tr.shape[1]}
        for m in range(k):
            row[f"rho_in_{m + 1}"] = round(float(fit.rho[m]), 4)
            row[f"rho_out_{m + 1}"] = round(float(rho_out[m]), 4)
        per_fold.append(row)
        fold_details.append({"fold": i + 1,
                             "top_loadings": {xr: _top(lx, int(params["top_loadings"]), sep),
                                              yr: _top(ly, int(params["top_loadings"]), sep)}})

    # the headline test: one stepwise permutation test on every complete subject
    inputs = _test_inputs(cohort, config, (xr, yr), complete_ids)
    for msg in inputs.notes:
        notes.setdefault(msg, []).append(0)
    x_all, y_all, nuisance = inputs.x, inputs.y, inputs.nuisance
    test_res = stepwise_permutation_test(
        x_all, y_all, n_perm, n_modes=n_modes, nuisance=nuisance, covariate_method=cov_method,
        blocks=inputs.labels if inputs.design.blocks else None,
        normalize_blocks=inputs.design.normalized, n_jobs=ctx.n_jobs,
        seed=ctx.child_seeds(1)[0], chunk_size=int(params["chunk_size"]),
        progress=ctx.progress)
    design = inputs.design
    if design.blocks and cov_method == "huh_jhun":
        design.rows_lost = len(complete_ids) - test_res.n_rows - test_res.n_dropped
        design.dropped_subjects = test_res.n_dropped
    k = min(len(test_res.rho), *(sum(1 for key in r if key.startswith("rho_in_"))
                                 for r in per_fold))
    df = pd.DataFrame(per_fold)
    modes = []
    for m in range(1, k + 1):
        modes.append({
            "mode": m,
            "rho_all_subjects": round(float(test_res.rho[m - 1]), 4),
            "rho_in_sample": {"mean": round(float(df[f"rho_in_{m}"].mean()), 4),
                              "sd": round(float(df[f"rho_in_{m}"].std(ddof=1)), 4)},
            "rho_out_of_sample": {"mean": round(float(df[f"rho_out_{m}"].mean()), 4),
                                  "sd": round(float(df[f"rho_out_{m}"].std(ddof=1)), 4)},
            "p_fwer": round(float(test_res.p_fwer[m - 1]), 5),
            "p_uncorrected": round(float(test_res.p_uncorrected[m - 1]), 5),
            "significant": bool(test_res.p_fwer[m - 1] <= alpha),
        })
    n_sig = sum(1 for mode in modes if mode["significant"])  # p_fwer is monotone
    min_p = 1 / (n_perm + 1)
    dims = {r: frames[r][0].shape[1] for r in (xr, yr)}
    summary = {
        "inference": INFERENCE,
        "modalities": {"x": xr, "y": yr},
        "n_folds": len(folds),
        "n_permutations": n_perm,
        "min_attainable_p": round(min_p, 6),
        "alpha": alpha,
        "statistic": "roy_largest_root",
        "covariate_method": cov_method,
        "permute_within": "site" if design.blocks else "none",
        "test": {"data": "every subject with both modalities (one test, not per fold)",
                 "n_subjects": len(complete_ids), "n_rows_permuted": test_res.n_rows,
                 "permutation_blocks": test_res.n_blocks,
                 "products": test_res.precision,
                 "permutations_rechecked_in_float64": test_res.n_rechecked,
                 "dims": dims, "error_rate": f"family-wise error rate <= {alpha} over modes",
                 "null_rho1_q95": round(float(np.quantile(test_res.null_first, 0.95)), 4)
                 if n_perm else None},
        "rho_out_of_sample": ("within held-out sites (each net of its own mean and "
                              "covariate slopes)" if cv_interactions else
                              "within held-out sites (each centred on its own mean)"
                              if site_adjusted else "held-out subjects as measured"),
        "modes": modes,
        "n_modes_significant": n_sig,
        "site_structure": (inputs.structure.as_summary(design)
                           if inputs.structure is not None else
                           {"statement": _what_without_sites(design)}),
        "top_loadings": _mean_top(loads, int(params["top_loadings"]), sep),
        "per_fold_top_loadings": fold_details,
    }
    result_warnings = [f"{_where(f)}: {msg}" for msg, f in notes.items()]
    result_warnings += _design_warnings(cov_method, len(complete_ids), nuisance, dims)
    result_warnings += _site_warnings(inputs.structure, design)
    if min_p > alpha:
        result_warnings.append(f"{n_perm} permutations cannot reach alpha={alpha} "
                               f"(smallest p is {min_p:.4g})")
    headline = {"rho1_out_of_sample": modes[0]["rho_out_of_sample"]["mean"],
                "p1_fwer": modes[0]["p_fwer"], "n_modes_significant": n_sig}
    counts = {"n_subjects": int(cohort.inventory.get("n_subjects", len(cohort.subjects))),
              "n_complete": len(complete),
              "n_train_min": int(df["n_train"].min()), "n_test_min": int(df["n_test"].min())}
    figures = {}
    if (config.get("outputs") or {}).get("plots", True):
        figures = _figures(test_res.null_first, test_res.rho, loads, alpha, sep)
    return MethodResult(summary=summary, per_fold=per_fold, headline=headline, counts=counts,
                        warnings=result_warnings, figures=figures)


class _TestInputs:
    """The blocks, nuisance design and site labels of the one test on every subject."""

    def __init__(self, x: np.ndarray, y: np.ndarray, nuisance: np.ndarray | None,
                 labels: np.ndarray | None, design: TestDesign,
                 structure: SiteStructure | None, notes: list[str]):
        self.x, self.y, self.nuisance, self.labels = x, y, nuisance, labels
        self.design, self.structure, self.notes = design, structure, notes


def _test_inputs(cohort: Any, config: dict[str, Any], roles: tuple[str, str],
                 complete_ids: pd.Index) -> _TestInputs:
    """Preprocessing fit on every complete subject, the test's design, the site diagnostic."""
    params = {**DEFAULTS, **(config.get("params") or {})}
    pre = config.get("preprocessing") or {}
    cov_method = pre.get("covariate_method", DEFAULT_COVARIATE_METHOD)
    site_col = cv.site_column(config)
    pipes, frames, caught = _fit_pipelines(cohort, roles, pre, site_col, complete_ids)
    x, y = frames[roles[0]][0].to_numpy(), frames[roles[1]][0].to_numpy()
    nuisance = nuisance_design(pipes[roles[0]], complete_ids) if cov_method != "none" else None
    blocks, reason = permutation_blocks(cohort, config)
    labels = (cohort.subjects.loc[complete_ids, site_col].astype(str).to_numpy()
              if site_col in cohort.subjects.columns else None)
    modelled = bool(pre.get("site_covariate_interactions") and pre.get("site_onehot")
                    and pre.get("covariates"))
    interactions = (blocks and cov_method == "huh_jhun") or modelled
    design = TestDesign(blocks, cov_method, normalized=blocks and bool(params["normalize_sites"]),
                        interactions=interactions, cv_interactions=modelled,
                        site_column=site_col, reason=reason)
    if blocks and labels is not None:
        design.n_sites = len(set(labels))
        if cov_method == "huh_jhun":
            design.rows_lost, design.dropped_subjects = rows_after_projection(
                nuisance if nuisance is not None else np.ones((len(x), 1)), labels)
    elif nuisance is not None:
        design.rows_lost = int(np.linalg.matrix_rank(nuisance))
    structure = None
    if labels is not None:
        covs = list(pre.get("covariates") or [])
        values = cohort.subjects.loc[complete_ids, covs].to_numpy(dtype=np.float64) \
            if covs and not modelled else None  # modelled: nothing left to test
        structure = diagnose(x, y, labels, values, roles, covs)
    return _TestInputs(x, y, nuisance, labels, design, structure, caught)


def _what_without_sites(design: TestDesign) -> str:
    return (f"This run permutes subjects freely ({design.reason}): no site column, so site "
            "differences in variance cannot be checked and the test assumes there are none.")


def _site_warnings(structure: SiteStructure | None, design: TestDesign) -> list[str]:
    """The site statement, as a warning when the test's design does not cover what it found."""
    if structure is None:
        return [_what_without_sites(design)] if design.reason.startswith("no site") else []
    uncovered = (not design.blocks and structure.heteroscedastic()) or (
        structure.shared_interaction() and not design.interactions)
    return [f"site structure: {structure.statement(design)}"] if uncovered else []


def diagnostics(cohort: Any, config: dict[str, Any]) -> list[str]:
    """What ``--dry-run`` prints about sites: the statement the run will make."""
    config = cv.resolve_columns(config)
    params = {**DEFAULTS, **(config.get("params") or {})}
    roles = _roles(cohort, params)
    inputs = _test_inputs(cohort, config, roles, cohort.complete_ids(list(roles)))
    if inputs.structure is None:
        return [_what_without_sites(inputs.design)]
    return [inputs.structure.statement(inputs.design)]


def _where(folds: list[int]) -> str:
    """Fold numbers of a warning (0: the all-subjects fit of the test)."""
    named = sorted(set(folds) - {0})
    parts = (["fold(s) " + ", ".join(map(str, named))] if named else []) + (
        ["all subjects"] if 0 in folds else [])
    return " and ".join(parts)


def _design_warnings(cov_method: str, n: int, nuisance: np.ndarray | None,
                     dims: dict[str, int]) -> list[str]:
    """Designs the calibration suite found unsafe, stated with this run's numbers."""
    out = []
    r = 0 if nuisance is None else int(np.linalg.matrix_rank(nuisance))
    if cov_method == "residualize" and r and n - r < RESIDUALIZE_MIN_SPARE * r:
        out.append(f"covariate_method residualize permutes residuals of {r} nuisance columns "
                   f"with N = {n}: residuals are not exchangeable and with N - R = {n - r} "
                   f"the test is anti-conservative (48% false positives at N = 60, R = 21); "
                   "use covariate_method: huh_jhun")
    total = sum(dims.values())
    if total * N_PER_COMPONENT > n:
        out.append(f"CCA of {' + '.join(map(str, dims.values()))} dimensions on {n} "
                   f"subjects: fewer than {N_PER_COMPONENT} subjects per dimension, so in-sample "
                   "canonical correlations are inflated and held-out ones shrink; set "
                   "preprocessing.pca.<role>: auto (or a smaller number)")
    return out


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


def _figures(null: np.ndarray, rho: np.ndarray, loads: dict[str, list[pd.DataFrame]],
             alpha: float, sep: str) -> dict[str, Any]:
    """The null-distribution figure of the one test and a loadings heatmap per modality
    (drawn after the disclosure guard)."""
    figs: dict[str, Any] = {"null_distributions.png": lambda shown: _null_figure(null, rho,
                                                                                 alpha)}
    for role, frames in loads.items():
        figs[f"loadings_{role}.png"] = (lambda shown, role=role, frames=frames:
                                        _loadings_figure(role, frames, sep, shown))
    return figs


def _null_figure(null: np.ndarray, rho: np.ndarray, alpha: float) -> Any:
    if not len(null):
        return None
    fig = new_figure(7.0, 4.4)
    ax = fig.subplots()
    bins, span = hist_bins(null)
    ax.hist(null, bins=bins, range=span, color="0.75", label="permutation null, mode 1")
    ax.axvline(np.quantile(null, 1 - alpha), color="0.25", ls=":",
               label=f"null {1 - alpha:.0%} quantile")
    for m, r in enumerate(rho):
        ax.axvline(r, color="C3" if m == 0 else "C1", lw=1.6 if m == 0 else 0.8,
                   label="observed mode 1" if m == 0 else ("observed later modes"
                                                           if m == 1 else None))
    ax.set_xlabel("canonical correlation (all subjects with both modalities)", fontsize=10)
    ax.set_ylabel("permutations", fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(labelsize=9)
    ax.legend(fontsize=9, frameon=False)
    ax.set_title(f"Observed canonical correlations against the mode-1 permutation null\n"
                 f"({len(null):,} permutations; no intervals: the null is the reference)",
                 fontsize=10)
    return fig


def _loadings_figure(role: str, frames: list[pd.DataFrame], sep: str, shown: Any) -> Any:
    """Heatmap of the largest mean loadings: features as rows, modes as columns."""
    mean = _aligned_mean(frames)
    top = mean.abs().max(axis=1).sort_values(ascending=False).index[:25]
    data = mean.loc[top]
    labels = [str(t) for t in top]
    # feature names, one column per mode and the colour bar, within the widest figure
    width = 0.8 * data.shape[1] + 0.085 * max(map(len, labels)) + 1.9
    fig = new_figure(max(5.2, width), 0.3 * len(top) + 1.9)
    ax = fig.subplots()
    im = ax.imshow(data.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(top)), labels, fontsize=9)
    ax.set_xticks(range(data.shape[1]), [c.replace("mode", "mode ") for c in data.columns],
                  fontsize=9, rotation=0)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("canonical mode", fontsize=9)
    for (r, c), v in np.ndenumerate(data.to_numpy()):
        if np.isfinite(v) and abs(v) >= 0.3:
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 else "black")
    ax.set_title(f"{role}: structure coefficients (correlation of each feature with\n"
                 f"the canonical score), mean over {len(frames)} folds, 25 largest;\n"
                 "no intervals (fold-to-fold spread is in the metrics)", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.6, label="loading")
    return fig


#: What the numbers of ``metrics.yaml`` are (see prediction_baselines.INFERENCE).
INFERENCE: dict[str, Any] = {
    "calibrated": {
        "modes.*.p_fwer|significant": "step-down permutation p of each mode (family-wise error "
                                      "rate over modes), within-site blocks; calibration "
                                      "suite: the CCA rows",
    },
    "descriptive": {
        "modes.*.p_uncorrected": "each mode's permutation p without the step-down over modes; "
                                 "no call uses it",
        "min_attainable_p": "the smallest p the number of permutations allows (a design fact)",
        "site_structure.blocks.*.dispersion_p|interaction_p":
            "diagnostics of the cohort's site structure (centre variance ratios, centre x "
            "covariate terms): they describe the data and name what the design does about "
            "it; no call rests on them",
    },
}
