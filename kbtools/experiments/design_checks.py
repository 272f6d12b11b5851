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


def check_design(config: dict[str, Any]) -> list[DesignIssue]:
    """All design issues of one (schema-valid) experiment config."""
    issues: list[DesignIssue] = []
    for fn in _CHECKS.get(str(config.get("method")), []):
        issues.extend(fn(config))
    return issues


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
def within_site_needs_row_exchangeability(config: dict[str, Any]) -> list[DesignIssue]:
    """Huh-Jhun projected rows are not subjects, so they cannot be permuted within sites."""
    pre = config.get("preprocessing")
    pre = pre if isinstance(pre, dict) else {}
    if _params(config).get("permute_within") == "site" \
            and pre.get("covariate_method", "residualize") == "huh_jhun":
        return [DesignIssue(["params", "permute_within"], "design.blocks-with-huh-jhun",
                            "permutation within sites cannot be combined with the Huh-Jhun "
                            "projection: the projected rows mix subjects across sites",
                            "set preprocessing.covariate_method: residualize (with site "
                            "effects removed) or params.permute_within: none")]
    return []


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
