"""Static checks of an experiment design, shared by ``kbtools validate`` and the runner.

Light on purpose (no numpy import): validation calls :func:`check_design` on every
experiment config. Each check returns the designs that cannot work as written, e.g. a
test whose smallest attainable p-value is above alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class DesignIssue:
    json_path: list[str | int]
    rule: str
    message: str
    hint: str
    severity: Literal["error", "warning"] = "error"


DesignCheck = Callable[[dict[str, Any]], list[DesignIssue]]
_CHECKS: dict[str, list[DesignCheck]] = {}


def design_check(*methods: str) -> Callable[[DesignCheck], DesignCheck]:
    """Register a check for configs whose ``method`` is one of ``methods``."""

    def register(fn: DesignCheck) -> DesignCheck:
        for method in methods:
            _CHECKS.setdefault(method, []).append(fn)
        return fn

    return register


def check_design(config: dict[str, Any], *, n_subjects: int | None = None) -> list[DesignIssue]:
    """All design issues of one (schema-valid) experiment config.

    ``n_subjects`` (when known, e.g. once the cohort is loaded) lets checks that depend on the
    sample size decide; without it they assume the worst and say what to check.
    """
    issues: list[DesignIssue] = []
    for fn in _CHECKS.get(str(config.get("method")), []):
        issues.extend(fn(config, n_subjects) if fn in _SIZED else fn(config))
    return issues


_SIZED: set[Callable[..., list[DesignIssue]]] = set()


def sized(fn: Callable[[dict[str, Any], int | None], list[DesignIssue]]
          ) -> Callable[[dict[str, Any], int | None], list[DesignIssue]]:
    """Mark a check that also takes the number of subjects (None when unknown)."""
    _SIZED.add(fn)
    return fn


# ---------------------------------------------------------------------------------------------
# cca_permutation


def _params(config: dict[str, Any]) -> dict[str, Any]:
    params = config.get("params")
    return params if isinstance(params, dict) else {}


@design_check("cca_permutation")
def permutations_can_reach_alpha(config: dict[str, Any]) -> list[DesignIssue]:
    """With B permutations the smallest p-value is 1/(B+1); it must not exceed alpha."""
    params = _params(config)
    n_perm = params.get("n_permutations", 1000)
    alpha = params.get("alpha", 0.05)
    if not isinstance(n_perm, int) or not isinstance(alpha, int | float) or n_perm < 1:
        return []
    min_p = 1 / (n_perm + 1)
    if min_p > alpha:
        need = int(-(-1 // alpha)) - 1 if alpha > 0 else 0
        return [DesignIssue(["params", "n_permutations"], "design.permutations-cannot-reach-alpha",
                            f"{n_perm} permutations give a smallest p-value of {min_p:.4g}, "
                            f"above alpha = {alpha}: no mode can ever be significant",
                            f"use at least {max(need, 1)} permutations (999 or more is usual)")]
    if min_p * 10 > alpha:
        return [DesignIssue(["params", "n_permutations"], "design.permutations-coarse",
                            f"{n_perm} permutations resolve p-values only in steps of "
                            f"{min_p:.3g}; p-values near alpha = {alpha} are coarse",
                            "use 999 or more permutations for a final analysis",
                            severity="warning")]
    return []


@design_check("cca_permutation")
def free_permutation_across_sites(config: dict[str, Any]) -> list[DesignIssue]:
    """Permuting subjects across sites assumes the sites share their error variance; when a
    site scales the noise of both blocks the test calls modes on pure noise (60 of 60 null
    cohorts in the report that asked for site blocks)."""
    pre = config.get("preprocessing")
    pre = pre if isinstance(pre, dict) else {}
    if _params(config).get("permute_within") != "none" or not pre.get("site_onehot"):
        return []
    return [DesignIssue(
        ["params", "permute_within"], "design.free-permutation-across-sites",
        "permute_within: none permutes subjects across sites: the test is valid only if every "
        "site has the same error variance and covariance (sites that scale the noise of both "
        "blocks made it call a mode in 60 of 60 null cohorts)",
        "use permute_within: auto (the default: within sites, Huh-Jhun within each site)",
        severity="warning")]


#: Default covariate handling of the CCA permutation test (the calibrated one).
CCA_DEFAULT_COVARIATE_METHOD = "huh_jhun"
#: residualize-then-permute is flagged unless N - R is at least this multiple of R.
RESIDUALIZE_MIN_SPARE = 20


@design_check("cca_permutation")
@sized
def residualize_then_permute(config: dict[str, Any], n_subjects: int | None) -> list[DesignIssue]:
    """Permuting residuals is anti-conservative when N - R is small (the calibration suite
    measured 48% false positives at N = 60 with R = 21 nuisance columns)."""
    pre = config.get("preprocessing")
    pre = pre if isinstance(pre, dict) else {}
    if pre.get("covariate_method", CCA_DEFAULT_COVARIATE_METHOD) != "residualize":
        return []
    covs = pre.get("covariates") if isinstance(pre.get("covariates"), list) else []
    r = 1 + len(covs)
    sites = " + (sites - 1)" if pre.get("site_onehot") else ""
    if n_subjects is not None and not pre.get("site_onehot") \
            and n_subjects - r >= RESIDUALIZE_MIN_SPARE * r:
        return []
    size = (f"N = {n_subjects}" if n_subjects is not None
            else "N is not known until the data are loaded")
    return [DesignIssue(
        ["preprocessing", "covariate_method"], "design.residualize-then-permute",
        f"covariate_method residualize permutes residuals of R = {r}{sites} nuisance columns; "
        f"residuals are not exchangeable, so the test is anti-conservative unless N - R is "
        f"large (at least {RESIDUALIZE_MIN_SPARE} x R; {size}). At N = 60 with R = 21 it "
        "rejected 48% of null datasets",
        "use covariate_method: huh_jhun (exact at any N; the default, within sites with "
        "permute_within: site or auto)", severity="warning")]


@design_check("cca_permutation")
def two_modalities(config: dict[str, Any]) -> list[DesignIssue]:
    """CCA relates exactly two data roles besides the subjects table."""
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    roles = [r for r in data if r != "subjects"]
    chosen = _params(config).get("modalities") or roles[:2]
    issues = []
    if "subjects" not in data:
        issues.append(DesignIssue(["data"], "design.no-subjects-role",
                                  "the config has no 'subjects' data role (site, covariates, "
                                  "phenotypes)", "add data.subjects: {dataset: ..., table: ...}"))
    if len(roles) < 2:
        issues.append(DesignIssue(["data"], "design.cca-needs-two-blocks",
                                  f"CCA needs two feature roles, the config has {len(roles)}",
                                  "add the second modality under data"))
    else:
        missing = [r for r in chosen if r not in roles]
        if missing:
            issues.append(DesignIssue(["params", "modalities"], "design.unknown-role",
                                      f"params.modalities names {', '.join(missing)}, not a "
                                      "data role", f"use two of: {', '.join(roles)}"))
    return issues


@design_check("cca_permutation", "prediction_baselines", "logo_gene_attribution",
              "partial_correlations", "harmonization_ablation", "pca_dimension_search")
def stratified_cv_needs_a_column(config: dict[str, Any]) -> list[DesignIssue]:
    """Stratified folds need a column to stratify by (cv.stratify_by or the outcome)."""
    cv = config.get("cv") or {}
    if not isinstance(cv, dict):
        return []
    issues = []
    scheme = cv.get("scheme", "stratified_group_kfold")
    if scheme in ("stratified_group_kfold", "stratified_kfold") and not (
            cv.get("stratify_by") or config.get("outcome")):
        issues.append(DesignIssue(["cv", "stratify_by"], "design.no-stratification-column",
                                  f"cv scheme {scheme} needs a column to stratify by",
                                  "set cv.stratify_by or outcome, or use group_kfold"))
    return issues


# ---------------------------------------------------------------------------------------------
# analysis core part 2: prediction, LOGO, partial correlations, harmonization, PCA search


def _n_outer_folds(config: dict[str, Any]) -> int:
    cv = config.get("cv") if isinstance(config.get("cv"), dict) else {}
    splits, repeats = cv.get("n_splits", 5), cv.get("n_repeats", 1)
    return (splits if isinstance(splits, int) else 5) * (repeats if isinstance(repeats, int)
                                                         else 1)


@design_check("logo_gene_attribution")
def logo_test_can_reach_alpha(config: dict[str, Any]) -> list[DesignIssue]:
    """A fold-wise exact Wilcoxon test over k folds cannot go below 1/2**k (one-sided)."""
    from kbtools.config_rules.attainable import min_p_signed_rank, min_q_bh

    params = _params(config)
    if params.get("test", "corrected_t") != "wilcoxon":
        return []
    alpha = params.get("alpha", 0.05)
    alternative = params.get("alternative", "greater")
    if not isinstance(alpha, int | float):
        return []
    k = _n_outer_folds(config)
    floor = min_p_signed_rank(k, "two-sided" if alternative == "two-sided" else "greater")
    if floor > alpha:
        return [DesignIssue(["params", "test"], "design.test-cannot-reach-alpha",
                            f"the exact Wilcoxon signed-rank test over {k} outer folds has a "
                            f"smallest attainable p of {floor:.4g} ({alternative}), above "
                            f"alpha = {alpha}: no gene can ever be called",
                            "use params.test: corrected_t (corrected resampled t over folds, "
                            "no p floor), or more outer folds/repeats", severity="warning")]
    q38 = min_q_bh(floor, 38)
    if q38 > alpha:
        return [DesignIssue(["params", "test"], "design.test-coarse-after-fdr",
                            f"the exact Wilcoxon test over {k} folds has a p floor of "
                            f"{floor:.4g}; after Benjamini-Hochberg over m genes a lone true "
                            f"gene reaches at best q = {floor:.4g} x m ({q38:.3g} for a 38-gene "
                            f"panel), above alpha = {alpha}",
                            "use params.test: corrected_t", severity="warning")]
    return []


@design_check("prediction_baselines", "logo_gene_attribution", "harmonization_ablation",
              "pca_dimension_search")
def binary_outcome_named(config: dict[str, Any]) -> list[DesignIssue]:
    """These methods predict a binary phenotype named by ``outcome``."""
    if config.get("outcome"):
        return []
    return [DesignIssue(["outcome"], "design.no-outcome",
                        f"method {config.get('method')} needs a binary outcome column",
                        "set outcome: mdd (a 0/1 column of the subjects table)")]


@design_check("prediction_baselines", "harmonization_ablation", "partial_correlations",
              "logo_gene_attribution", "pca_dimension_search")
def roles_exist(config: dict[str, Any]) -> list[DesignIssue]:
    """Roles named in params must be data roles of the config."""
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    params = _params(config)
    named: list[tuple[list[str | int], str]] = []
    for key in ("role", "predict_role"):
        if isinstance(params.get(key), str):
            named.append((["params", key], params[key]))
    for key in ("roles", "cca_roles", "harmonize"):
        if isinstance(params.get(key), list):
            named += [(["params", key, i], r) for i, r in enumerate(params[key])
                      if isinstance(r, str)]
    if isinstance(params.get("modalities"), dict):
        named += [(["params", "modalities", arm], r) for arm, r in params["modalities"].items()
                  if isinstance(r, str)]
    return [DesignIssue(path, "design.unknown-role", f"{role!r} is not a data role of this "
                        "config", f"use one of: {', '.join(r for r in data if r != 'subjects')}")
            for path, role in named if role not in data or role == "subjects"]


#: Fold-combined tests (Hartung-Knapp over per-fold DeLong differences) have folds - 1 df.
MIN_FOLDS_FOR_FOLD_TEST = 8


@design_check("prediction_baselines", "harmonization_ablation")
def enough_folds_for_the_fold_test(config: dict[str, Any]) -> list[DesignIssue]:
    """The comparison tests combine one DeLong difference per outer fold with a t reference
    on folds - 1 degrees of freedom: with 5 folds they hold their level but miss most effects
    (calibration suite: docs/analysis/calibration.md)."""
    cv = config.get("cv") if isinstance(config.get("cv"), dict) else {}
    k = cv.get("n_splits", 5)
    if not isinstance(k, int) or k >= MIN_FOLDS_FOR_FOLD_TEST:
        return []
    what = ("the escalation verdict" if config.get("method") == "prediction_baselines"
            else "the delta-AUROC test")
    return [DesignIssue(["cv", "n_splits"], "design.few-folds-for-fold-test",
                        f"{what} combines one DeLong difference per outer fold (t on "
                        f"{k} - 1 = {k - 1} df): with {k} folds it keeps its false-positive rate "
                        "but has little power",
                        f"use at least {MIN_FOLDS_FOR_FOLD_TEST} outer folds (with site-grouped "
                        "folds and few sites: one fold per site)", severity="warning")]


@design_check("harmonization_ablation")
def combat_does_not_preserve_the_outcome(config: dict[str, Any]) -> list[DesignIssue]:
    """Preserving the outcome in ComBat would use test labels to harmonise test subjects."""
    combat = _params(config).get("combat")
    covs = combat.get("covariates") if isinstance(combat, dict) else None
    pre = config.get("preprocessing") if isinstance(config.get("preprocessing"), dict) else {}
    covs = covs if isinstance(covs, list) else pre.get("covariates") or []
    outcome = config.get("outcome")
    if outcome and outcome in covs:
        return [DesignIssue(["params", "combat", "covariates"], "design.combat-uses-outcome",
                            f"ComBat would preserve the outcome {outcome!r}: harmonising held-out "
                            "subjects would need their labels (leakage)",
                            "remove the outcome from the ComBat covariates")]
    return []


@design_check("harmonization_ablation")
def ablation_not_double_corrected(config: dict[str, Any]) -> list[DesignIssue]:
    """With site one-hot residualization in both arms, the ablation mostly measures nothing."""
    pre = config.get("preprocessing") if isinstance(config.get("preprocessing"), dict) else {}
    if pre.get("site_onehot"):
        return [DesignIssue(["preprocessing", "site_onehot"], "design.site-removed-in-both-arms",
                            "site effects are regressed out in both arms, so the 'none' arm is "
                            "already site-corrected and the ablation compares two corrections",
                            "set preprocessing.site_onehot: false for the ablation",
                            severity="warning")]
    return []


@design_check("pca_dimension_search")
def pca_dims_not_preset(config: dict[str, Any]) -> list[DesignIssue]:
    """The searched role must not also be reduced by preprocessing.pca."""
    pre = config.get("preprocessing") if isinstance(config.get("preprocessing"), dict) else {}
    role = _params(config).get("role", "brain")
    if isinstance(pre.get("pca"), dict) and role in pre["pca"]:
        return [DesignIssue(["preprocessing", "pca", role], "design.pca-preset",
                            f"preprocessing.pca.{role} fixes the dimension the search is about",
                            f"remove preprocessing.pca.{role}; candidates go in params.dims")]
    return []
