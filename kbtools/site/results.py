"""What a run page leads with: the run's results, shaped for its analysis method.

One small function per method turns the run's ``metrics.yaml`` summary, already through the
display-time disclosure guard, into plain rows for that method's results template
(``results/<method>.md.j2``): prediction arms by model, CCA modes, LOGO genes ranked by ΔAUC,
partial correlations, harmonization arms and PCA dimensions. Every key is read tolerantly: a
run written by an older or newer kbtools simply shows fewer columns. The same functions give
the few numbers a comparison page puts side by side (:func:`key_metrics`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from kbtools.site.disclosure import SUPPRESSED

#: Genes shown in the LOGO results table (the rest are in the full metrics).
TOP_GENES = 15


@dataclass(frozen=True)
class Estimate:
    """A number as a results table shows it: the value, and an interval or spread if known.

    ``low``/``high`` is a confidence (or bootstrap) interval; ``sd`` the spread over folds.
    ``value`` may be the string ``"suppressed"`` (a disclosure-guarded cell).
    """

    value: Any = None
    low: Any = None
    high: Any = None
    sd: Any = None

    @property
    def number(self) -> float | None:
        return _num(self.value)


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _interval(value: Any) -> tuple[Any, Any]:
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    if isinstance(value, Mapping):
        return value.get("low", value.get("lower")), value.get("high", value.get("upper"))
    return None, None


def estimate(value: Any, *, prefer: tuple[str, ...] = ("pooled", "mean", "median", "value",
                                                       "estimate")) -> Estimate | None:
    """An :class:`Estimate` from a number or a ``{pooled|mean, sd, ci}`` mapping; None if absent.

    A mapping's interval is its ``ci`` (``[low, high]``), or ``ci_low``/``ci_high``.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return Estimate(value)
    if value.get(SUPPRESSED) is True:
        return Estimate(SUPPRESSED)
    shown = next((value[k] for k in prefer if k in value), None)
    ci_key = next((k for k in value if _CI_KEY.match(str(k))), None)
    low, high = _interval(value.get(ci_key)) if ci_key else (None, None)
    if low is None:
        low, high = value.get("ci_low"), value.get("ci_high")
    return Estimate(shown, low, high, value.get("sd"))


#: Keys holding an interval: ``ci``, ``ci95``, ``pooled_ci95``, ``bootstrap_ci``.
_CI_KEY = re.compile(r"^(?:pooled_|bootstrap_)?ci(?:\d+)?$")
_VALUE_KEYS = ("pooled", "mean", "median", "value", "estimate")


def as_estimate(value: Any) -> Estimate | None:
    """``value`` as an :class:`Estimate` when it is a mapping shaped like one (a value key and
    an interval or an SD, nothing else nested), else None."""
    if not isinstance(value, Mapping) or not any(k in value for k in _VALUE_KEYS):
        return None
    spread = any(_CI_KEY.match(str(k)) or k in ("sd", "ci_low", "ci_high") for k in value)
    flat = all(not isinstance(v, Mapping) for v in value.values())
    return estimate(value) if spread and flat else None


def headline_pairs(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A run's ``headline`` as (dotted key, value) pairs; a number given with its interval
    (``{estimate: 0.86, ci95: [0.74, 1.01]}``) stays one :class:`Estimate`."""
    if not isinstance(value, Mapping):
        return [(prefix, value)] if prefix else []
    pairs: list[tuple[str, Any]] = []
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        shaped = as_estimate(item)
        if shaped is not None:
            pairs.append((name, shaped))
        elif isinstance(item, Mapping) and item:
            pairs += headline_pairs(item, name)
        else:
            pairs.append((name, item))
    return pairs


def _estimate_from(row: Mapping[str, Any], key: str, ci_key: str = "ci") -> Estimate | None:
    """``row[key]`` with the interval in ``row[ci_key]`` (partial correlations, deltas)."""
    if key not in row:
        return None
    base = estimate(row[key])
    assert base is not None
    low, high = _interval(row.get(ci_key))
    return Estimate(base.value, low if low is not None else base.low,
                    high if high is not None else base.high, base.sd)


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    return next((mapping[k] for k in keys if mapping.get(k) is not None), None)


# -- prediction baselines ----------------------------------------------------------------------

PREDICTION_METRICS = ("auroc", "auprc", "brier", "ece")
#: Whether a larger value is better (the best arm per model is marked).
_HIGHER_IS_BETTER = {"auroc": True, "auprc": True, "brier": False, "ece": False}


def _combined(value: Any) -> Estimate | None:
    """A fold-combined estimate (``{estimate, ci: [low, high]}``) as an :class:`Estimate`."""
    value = _dict(value)
    if not value:
        return None
    if value.get(SUPPRESSED) is True:
        return Estimate(SUPPRESSED)
    low, high = _interval(value.get("ci"))
    return Estimate(value.get("estimate"), low, high)


def _folds(metric: Mapping[str, Any]) -> Estimate | None:
    """Mean ± SD of the per-fold values (descriptive)."""
    if metric.get(SUPPRESSED) is True:
        return Estimate(SUPPRESSED)
    return Estimate(metric["mean"], sd=metric.get("sd")) if "mean" in metric else None


def _pooled(metric: Mapping[str, Any]) -> Estimate | None:
    """The value on the pooled out-of-fold predictions with its interval (descriptive)."""
    if metric.get(SUPPRESSED) is True:
        return Estimate(SUPPRESSED)
    if "pooled" not in metric:
        return None
    low, high = _interval(metric.get("pooled_ci95"))
    return Estimate(metric["pooled"], low, high)


def _mark_best(rows: list[dict[str, Any]], key: str, higher: bool) -> None:
    for model in {r["model"] for r in rows}:
        scored = [r for r in rows if r["model"] == model and r.get(key) is not None
                  and r[key].number is not None]
        if len(scored) > 1:
            best = (max if higher else min)(scored, key=lambda r: r[key].number)
            best.setdefault("best", set()).add(key)


def prediction_baselines(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Calibrated numbers first (the verdict, the fold-combined gains, each arm's fold-combined
    AUROC), then the descriptive pooled ones, labelled as such (``summary.inference``)."""
    rows: list[dict[str, Any]] = []
    for arm, arm_data in _dict(summary.get("arms")).items():
        arm_data = _dict(arm_data)
        for model, metrics in _dict(arm_data.get("models")).items():
            metrics = {m: _dict(metrics.get(m)) for m in PREDICTION_METRICS
                       if isinstance(_dict(metrics).get(m), Mapping)}
            auroc = metrics.get("auroc", {})
            row: dict[str, Any] = {
                "arm": arm, "model": model, "n": arm_data.get("n_subjects"),
                "auroc": _combined(auroc.get("fold_combined")),
                "folds": {m: _folds(v) for m, v in metrics.items()},
                "pooled": {m: _pooled(v) for m, v in metrics.items()}}
            # the ECE a perfectly calibrated model would get from these scores (none beside a
            # withheld ECE)
            ece = row["pooled"].get("ece")
            withheld = ece is not None and ece.number is None
            row["ece_floor"] = (None if withheld else
                                metrics.get("ece", {}).get("pooled_if_calibrated"))
            for m, value in row["pooled"].items():
                row[f"pooled_{m}"] = value
            for m, value in row["folds"].items():
                row[f"folds_{m}"] = value
            rows.append(row)
    models = list(dict.fromkeys(r["model"] for r in rows))
    rows.sort(key=lambda r: models.index(r["model"]))  # arms of one model together
    _mark_best(rows, "auroc", True)
    for metric, higher in _HIGHER_IS_BETTER.items():
        _mark_best(rows, f"pooled_{metric}", higher)
    escalation = _dict(summary.get("escalation"))
    primary = (escalation.get("fusion"), escalation.get("model"))
    comparisons = []
    for comp in _list(summary.get("comparisons")):
        comp = _dict(comp)
        fold_test = _dict(comp.get("fold_test"))
        low, high = _interval(fold_test.get("ci"))
        comparisons.append({
            "model": comp.get("model"), "fusion": comp.get("fusion"),
            "single": comp.get("single"), "n": comp.get("n_subjects"),
            "primary": (comp.get("fusion"), comp.get("model")) == primary,
            "gain": (Estimate(fold_test.get("estimate"), low, high)
                     if "estimate" in fold_test else None),
            "ci_level": fold_test.get("ci_level"), "fold_test": fold_test.get("method"),
            "fold_p": fold_test.get("p"), "n_folds": fold_test.get("n_folds"),
            # descriptive: the pooled predictions (older runs: the same keys without suffix)
            "auroc_fusion": _first(comp, "auroc_fusion_pooled", "auroc_fusion"),
            "auroc_single": _first(comp, "auroc_single_pooled", "auroc_single"),
            "difference": Estimate(_first(comp, "difference_pooled", "difference"),
                                   *_interval(_first(comp, "pooled_bootstrap_ci",
                                                     "bootstrap_ci"))),
            "delong_z": _first(comp, "pooled_delong_z", "delong_z"),
            "delong_p": _first(comp, "pooled_delong_p", "delong_p"),
        })
    comparisons.sort(key=lambda c: not c["primary"])  # the verdict's comparisons first
    verdict = None
    if escalation:
        verdict = {
            "escalate": escalation.get("escalate"), "statement": escalation.get("statement"),
            "fusion": escalation.get("fusion"), "model": escalation.get("model"),
            "decided_by": _first(escalation, "decided_by", "best_single"),
            "test": escalation.get("test"), "p": escalation.get("p"),
            "alpha": escalation.get("alpha"),
        }
    levels = {c["ci_level"] for c in comparisons if isinstance(c["ci_level"], float)}
    return {"rows": rows, "comparisons": comparisons, "verdict": verdict,
            "outcome": summary.get("outcome"), "n_folds": summary.get("n_folds"),
            "gain_level": (f"{levels.pop():.0%}" if len(levels) == 1 else None),
            "has_gain": any(c["gain"] is not None for c in comparisons),
            "has_combined": any(r["auroc"] is not None for r in rows),
            "fold_metrics": [m for m in ("auprc", "brier")
                             if any(r["folds"].get(m) for r in rows)],
            "pooled_metrics": [m for m in PREDICTION_METRICS
                               if any(r["pooled"].get(m) for r in rows)],
            "has_ece_floor": any(r["ece_floor"] is not None for r in rows)}


# -- CCA with permutation inference -------------------------------------------------------------

def cca_permutation(summary: Mapping[str, Any]) -> dict[str, Any]:
    modes = []
    for mode in _list(summary.get("modes")):
        mode = _dict(mode)
        p_fwer = mode.get("p_fwer")
        modes.append({
            "mode": mode.get("mode"),
            "rho_in": estimate(_first(mode, "rho_in_sample", "rho_train")),
            "rho_all": estimate(mode.get("rho_all_subjects")),
            "rho_out": estimate(_first(mode, "rho_out_of_sample", "rho_test")),
            "p_fwer": estimate(p_fwer, prefer=("median", "p", "value")),
            "p_fwer_max": _dict(p_fwer).get("max"),
            "p_uncorrected": mode.get("p_uncorrected"),
            "folds_significant": mode.get("folds_significant"),
            "significant": mode.get("significant"),
        })
    modalities = _dict(summary.get("modalities"))
    test = _dict(summary.get("test"))
    return {
        "modes": modes, "x": modalities.get("x"), "y": modalities.get("y"),
        "n_folds": summary.get("n_folds"), "alpha": summary.get("alpha"),
        "n_permutations": summary.get("n_permutations"),
        "min_attainable_p": summary.get("min_attainable_p"),
        "statistic": summary.get("statistic"), "covariates": summary.get("covariate_method"),
        "n_significant": _first(summary, "n_modes_significant",
                                "n_modes_significant_all_folds"),
        "test_subjects": test.get("n_subjects"), "null_q95": test.get("null_rho1_q95"),
        "sites": _dict(summary.get("site_structure")).get("statement"),
        "has_all": any(m["rho_all"] is not None for m in modes),
        "has_folds": any(m["folds_significant"] is not None for m in modes),
        "has_significant": any(m["significant"] is not None for m in modes),
    }


# -- leave-one-gene-out attribution -------------------------------------------------------------

def logo_gene_attribution(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Genes in the run's own ranking (``rank``: the mean ΔAUC over held-out folds, the
    quantity the run tests and its figure draws), each with that mean and its interval; the
    pooled ΔAUC is shown beside it as a description."""
    test = summary.get("test")
    genes = []
    for gene in _list(summary.get("genes")):
        gene = _dict(gene)
        folds = _dict(gene.get("delta_auc_folds"))
        pooled = _first(gene, "delta_auc_pooled", "delta_auc")
        genes.append({
            "rank": gene.get("rank"), "gene": gene.get("gene"),
            "delta": estimate(folds) if folds else None,
            "pooled": estimate(pooled) if pooled is not None else None,
            "p": _first(gene, f"p_{test}" if isinstance(test, str) else "p", "p",
                        "p_corrected_t"),
            "q": gene.get("q"), "significant": gene.get("significant"),
            "n_columns": gene.get("n_columns"),
        })
    ranked_by = "rank" if genes and all(isinstance(g["rank"], int) for g in genes) else (
        "mean" if any(g["delta"] is not None and g["delta"].number is not None
                      for g in genes) else "pooled")

    def order(row: dict[str, Any]) -> tuple[int, float]:
        if ranked_by == "rank":
            return (0, row["rank"])
        value = row["delta" if ranked_by == "mean" else "pooled"]
        number = value.number if value is not None else None
        return (0, -number) if number is not None else (1, 0.0)  # suppressed last

    genes.sort(key=order)
    shown = [g for g in genes if g["significant"] is True]
    shown += [g for g in genes if g not in shown][: max(0, TOP_GENES - len(shown))]
    return {
        "genes": [g for g in genes if g in shown], "hidden": len(genes) - len(shown),
        "ranked_by": "pooled" if ranked_by == "pooled" else "mean",
        "has_interval": any(g["delta"] is not None and g["delta"].low is not None
                            for g in genes),
        "has_pooled": any(g["pooled"] is not None for g in genes),
        "n_genes": summary.get("n_genes", len(genes)), "test": test,
        "alpha": summary.get("alpha"), "fdr": summary.get("fdr"),
        "auroc_full": estimate(_first(summary, "auroc_full_pooled", "auroc_full")),
        "auroc_full_folds": estimate(summary.get("auroc_full_folds")),
        "significant": _list(summary.get("significant_genes")),
        "n_folds": summary.get("n_folds"), "outcome": summary.get("outcome"),
    }


# -- partial correlations ----------------------------------------------------------------------

#: What each statistic of a partial-correlation run is, for headers and labels.
STATISTICS = {"pearson": "partial r (Pearson)", "spearman": "partial ρ (Spearman)",
              "odds_ratio_per_sd": "odds ratio per SD"}


def statistic_label(name: Any) -> str:
    """``odds_ratio_per_sd`` -> ``odds ratio per SD``; unknown names with spaces."""
    return STATISTICS.get(name, str(name).replace("_", " ")) if name else "estimate"


def partial_correlations(summary: Mapping[str, Any]) -> dict[str, Any]:
    rows = []
    for row in _list(summary.get("results")):
        row = _dict(row)
        rows.append({"outcome": row.get("outcome"), "axis": row.get("axis"),
                     "statistic": statistic_label(row.get("statistic")),
                     "estimate": _estimate_from(row, "estimate"),
                     "p": row.get("p"), "q": row.get("q"), "significant": row.get("significant"),
                     "n": row.get("n_subjects")})
    return {"rows": rows, "covariates": _list(summary.get("covariates")),
            "site_adjusted": summary.get("site_adjusted"),
            "confidence": summary.get("confidence"), "fdr": summary.get("fdr"),
            "axes": summary.get("axes")}


# -- harmonization ablation ----------------------------------------------------------------------

_HARMONIZATION_METRICS = (("rho1_test", "ρ₁ held out"), ("rho1_train", "ρ₁ training"),
                          ("auroc", "AUROC"))


def harmonization_ablation(summary: Mapping[str, Any]) -> dict[str, Any]:
    arms = []
    for arm, metrics in _dict(summary.get("arms")).items():
        metrics = _dict(metrics)
        arms.append({"arm": arm, **{k: estimate(metrics.get(k))
                                    for k, _ in _HARMONIZATION_METRICS}})
    delta = _dict(summary.get("delta"))
    deltas = []
    combined = _dict(delta.get("auroc_test"))
    if "estimate" in combined:  # calibrated: first, with its p
        deltas.append({"label": "ΔAUROC combined over folds [95% CI]; two-sided p",
                       "value": _combined(combined), "p": combined.get("p")})
    for key, label in (("rho1_test_folds", "Δρ₁ held out (fold mean ± SD)"),
                       ("auroc_folds", "ΔAUROC (fold mean ± SD)"),
                       ("auroc_pooled", "ΔAUROC pooled, descriptive [bootstrap CI]")):
        if key in delta:
            value = estimate(delta[key])
            if key == "auroc_pooled":
                value = _estimate_from(delta, key, "pooled_bootstrap_ci"
                                       if "pooled_bootstrap_ci" in delta else "bootstrap_ci")
            deltas.append({"label": label, "value": value})
    tests = {k.replace("_", " "): v for k, v in delta.items() if k.endswith("_p") or k == "p"}
    for key, test in delta.items():  # {"auroc_test": {"method": ..., "p": ...}}
        if key == "auroc_test" and "estimate" in combined:
            continue  # shown with its estimate
        if key.endswith("_test") and isinstance(test, Mapping) and "p" in test:
            method = test.get("method")
            label = key.removesuffix("_test").replace("_", " ")
            tests[f"{label} test p" + (f" ({method})" if method else "")] = test["p"]
    return {"arms": arms, "metrics": [(k, label) for k, label in _HARMONIZATION_METRICS
                                      if any(a[k] for a in arms)],
            "deltas": deltas, "tests": sorted(tests.items()),
            "roles": _list(summary.get("harmonized_roles")),
            "cv_scheme": summary.get("cv_scheme"), "n": delta.get("n_subjects")}


# -- PCA dimension search --------------------------------------------------------------------------

def pca_dimension_search(summary: Mapping[str, Any]) -> dict[str, Any]:
    chosen, best = summary.get("chosen_dim"), summary.get("best_dim")
    rows = []
    for point in _list(summary.get("curve")):
        point = _dict(point)
        dim = point.get("dim")
        rows.append({"dim": dim, "auroc": Estimate(point.get("mean"), sd=point.get("sd")),
                     "se": point.get("se"), "chosen": dim == chosen and dim is not None,
                     "best": dim == best and dim is not None})
    return {"rows": rows, "chosen": chosen, "best": best, "rule": summary.get("rule"),
            "best_auroc": summary.get("best_mean_auroc"), "best_se": summary.get("best_se"),
            "nested": (_combined(_dict(summary.get("nested_auroc")).get("fold_combined"))
                       or estimate(summary.get("nested_auroc"))),
            "nested_combined": "fold_combined" in _dict(summary.get("nested_auroc")),
            "inner_choices": _list(summary.get("inner_choices")),
            "role": summary.get("role"), "outcome": summary.get("outcome")}


#: Figures in reading order: curves before calibration, observed before null, by file stem.
_FIGURE_ORDER = ("roc", "pr", "calibration", "loadings", "null", "logo", "partial",
                 "harmonization", "pca")


def figure_order(names: list[str]) -> list[str]:
    """Plot file names in the order a run page shows them (unknown kinds last, by name)."""
    def key(name: str) -> tuple[int, str, str]:
        stem = name.rsplit(".", 1)[0]
        kind, _, arg = stem.partition("_")
        rank = _FIGURE_ORDER.index(kind) if kind in _FIGURE_ORDER else len(_FIGURE_ORDER)
        # within a kind, the model or role named first in the file name order stays stable
        return (rank, "" if arg in ("logistic", "gene", "x") else arg, name)

    return sorted(names, key=key)


# -- dispatch ----------------------------------------------------------------------------------

VIEWS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "prediction_baselines": prediction_baselines,
    "cca_permutation": cca_permutation,
    "logo_gene_attribution": logo_gene_attribution,
    "partial_correlations": partial_correlations,
    "harmonization_ablation": harmonization_ablation,
    "pca_dimension_search": pca_dimension_search,
}
_METHOD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def results_view(method: Any, summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """The results of a run of ``method`` for its template, or None for unknown methods."""
    view = VIEWS.get(method) if isinstance(method, str) else None
    if view is None or not isinstance(summary, Mapping):
        return None
    return view(summary)


def results_template(method: Any) -> str:
    """The results template of ``method``: ``results/<method>.md.j2`` or the generic one."""
    if isinstance(method, str) and _METHOD_NAME.match(method):
        return f"results/{method}.md.j2"
    return "results/_generic.md.j2"


class Metric(NamedTuple):
    """One number a comparison page shows: its label, its value (an :class:`Estimate`, a
    number, text) and whether it is a p-value (written in the p-value style)."""

    label: str
    value: Any
    is_p: bool = False


def key_metrics(method: Any, view: Mapping[str, Any] | None) -> list[Metric]:
    """The numbers runs of ``method`` are compared by."""
    if not view:
        return []
    out: list[Metric] = []
    if method == "prediction_baselines":
        verdict = view.get("verdict") or {}
        if verdict:
            out.append(Metric("Escalate beyond late fusion", verdict.get("escalate")))
            out.append(Metric("Escalation p", verdict.get("p"), True))
        for comp in view["comparisons"]:
            if comp["primary"] and comp["gain"] is not None:
                out.append(Metric(f"AUROC gain over {comp['single']}", comp["gain"]))
        for row in view["rows"]:
            if row["auroc"] is not None:
                out.append(Metric(f"AUROC {row['arm']} · {row['model']}", row["auroc"]))
    elif method == "cca_permutation":
        for mode in view["modes"]:
            if mode["rho_out"] is not None:
                out.append(Metric(f"ρ out of sample, mode {mode['mode']}", mode["rho_out"]))
            if mode["p_fwer"] is not None:
                out.append(Metric(f"p FWER, mode {mode['mode']}", mode["p_fwer"].value, True))
        out.append(Metric("Modes significant", view.get("n_significant")))
    elif method == "logo_gene_attribution":
        if view["auroc_full"] is not None:
            out.append(Metric("AUROC, all genes", view["auroc_full"]))
        out.append(Metric("Significant genes",
                          ", ".join(map(str, view["significant"])) or "none"))
        for gene in view["genes"][:5]:
            if gene["delta"] is not None:
                out.append(Metric(f"ΔAUC {gene['gene']} (mean over folds)", gene["delta"]))
    elif method == "partial_correlations":
        for row in view["rows"]:
            if row["estimate"] is not None:
                out.append(Metric(f"{row['axis']} ~ {row['outcome']} "
                                  f"({statistic_label(row['statistic'])})", row["estimate"]))
    elif method == "harmonization_ablation":
        for arm in view["arms"]:
            for key, label in view["metrics"]:
                if arm[key] is not None:
                    out.append(Metric(f"{label}, {arm['arm']}", arm[key]))
        for delta in view["deltas"]:
            out.append(Metric(delta["label"], delta["value"]))
    elif method == "pca_dimension_search":
        out.append(Metric("Chosen dimension", view.get("chosen")))
        out.append(Metric("Best mean AUROC", view.get("best_auroc")))
        if view.get("nested") is not None:
            out.append(Metric("Nested AUROC", view["nested"]))
    return [m for m in out if m.value is not None]
