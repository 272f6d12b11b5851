"""Every decision a method prints, its null and planted cohorts, and the rate it is made at.

A :class:`Decision` names a method, the config it runs with (small enough for hundreds of
runs), a null scenario (the decision should be made at rate alpha or less), a planted scenario
(the decision should be made: power) and a function reading the printed decision from the
method's result. :func:`measure` runs a decision on many cohorts through joblib
(:func:`kbtools.experiments.parallel.map_chunks`, so it also runs on a Dask cluster) and
:func:`table` prints the result.

``check`` says what calibration means for the decision: ``exact`` for a test that should
reject at alpha on the boundary of its null (the rate must lie in the two-sided 99% binomial
band), ``at_most`` for a decision built to be conservative (an intersection-union verdict, or a
Benjamini-Hochberg family whose "any call" rate is alpha only for independent tests), where only
the upper end of the band applies; ``none`` for a choice that is not a test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from calcohorts import Scenario, generate
from scipy.stats import binom

ALPHA = 0.05
SITE = "centre"


@dataclass(frozen=True)
class Decision:
    key: str
    label: str
    method: str
    config: Callable[[Scenario], dict[str, Any]]
    call: Callable[[Any, dict[str, Any]], bool]
    null: Scenario
    planted: Scenario | None
    check: str = "exact"
    """exact | at_most | none"""
    note: str = ""


@dataclass(frozen=True)
class Rate:
    hits: int
    n: int

    @property
    def rate(self) -> float:
        return self.hits / self.n if self.n else float("nan")


def band(n: int, alpha: float = ALPHA, level: float = 0.99) -> tuple[int, int]:
    """Two-sided ``level`` binomial interval of the number of rejections of an exact test."""
    lo, hi = binom.interval(level, n, alpha)
    return int(lo), int(hi)


def within(decision: Decision, rate: Rate) -> bool:
    lo, hi = band(rate.n)
    if decision.check == "exact":
        return lo <= rate.hits <= hi
    if decision.check == "at_most":
        return rate.hits <= hi
    return True


# ---------------------------------------------------------------------------------------------
# configs (small: hundreds of runs must take minutes)


def _cv(outcome_strat: bool = True, **extra: Any) -> dict[str, Any]:
    cv = {"scheme": "stratified_group_kfold", "n_splits": 5, "group_by": SITE,
          "stratify_by": "mdd", "inner_splits": 3}
    cv.update(extra)
    return cv


PRE = {"zscore": True, "covariates": ["age", "sex", "icv"], "site_onehot": True}


def cca_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "cca_permutation", "outcome": "mdd", "cv": _cv(),
            "preprocessing": dict(PRE),  # covariate_method and pca: the method's defaults
            "params": {"n_permutations": 99, "n_components": 2, "alpha": ALPHA},
            "outputs": {"plots": False}}


def prediction_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "prediction_baselines", "outcome": "mdd", "cv": _cv(),
            "preprocessing": {**PRE, "pca": {"gene": 8, "brain": 8}},
            "params": {"models": ["logistic"], "C_grid": [0.01, 0.1, 1.0], "n_boot": 100,
                       "fusion": {"early": False, "late": "average"}, "alpha": ALPHA},
            "outputs": {"plots": False}}


def logo_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "logo_gene_attribution", "outcome": "mdd", "cv": _cv(n_repeats=2),
            "preprocessing": dict(PRE),
            "params": {"role": "gene", "C_grid": [0.01, 0.1, 1.0], "tune": "fixed_from_full",
                       "alpha": ALPHA},
            "outputs": {"plots": False}}


def partial_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "partial_correlations", "outcome": "mdd", "cv": _cv(),
            "preprocessing": {**PRE, "pca": {"gene": 8, "brain": 8}},
            "params": {"axes": "cca", "roles": ["gene", "brain"], "n_components": 2,
                       "outcomes": [{"column": "phq9", "type": "continuous"},
                                    {"column": "mdd", "type": "binary"}], "alpha": ALPHA},
            "outputs": {"plots": False}}


def harmonization_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "harmonization_ablation", "outcome": "mdd", "cv": _cv(),
            "preprocessing": {**PRE, "site_onehot": False, "pca": {"gene": 8, "brain": 8}},
            "params": {"harmonize": ["brain"], "C_grid": [0.01, 0.1, 1.0], "n_boot": 100,
                       "combat": {"covariates": ["age", "sex", "icv"]}},
            "outputs": {"plots": False}}


def pca_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "pca_dimension_search", "outcome": "mdd", "cv": _cv(),
            "preprocessing": dict(PRE),
            "params": {"role": "brain", "dims": [1, 2, 4, 8, 16]}, "outputs": {"plots": False}}


# ---------------------------------------------------------------------------------------------
# the printed decisions


def modes_at_least(k: int) -> Callable[[Any, dict[str, Any]], bool]:
    def call(res: Any, truth: dict[str, Any]) -> bool:
        return res.headline["n_modes_significant"] >= k
    call.__name__ = f"modes_at_least_{k}"
    return call


def escalate(res: Any, truth: dict[str, Any]) -> bool:
    return bool(res.summary["escalation"]["escalate"])


def fusion_beats_gene(res: Any, truth: dict[str, Any]) -> bool:
    (row,) = [c for c in res.summary["comparisons"]
              if c["fusion"] == "fusion_late" and c["single"] == "gene"]
    return row["fold_test"]["p"] <= ALPHA


def logo_any_null_gene(res: Any, truth: dict[str, Any]) -> bool:
    return bool(set(res.summary["significant_genes"]) - set(truth["mdd_genes"]))


def logo_first_planted(res: Any, truth: dict[str, Any]) -> bool:
    return truth["mdd_genes"][0] in res.summary["significant_genes"]


def logo_call(res: Any, truth: dict[str, Any]) -> bool:
    """Null: any gene called (all are null). Planted: the strongest planted gene called."""
    if truth["mdd_genes"]:
        return logo_first_planted(res, truth)
    return logo_any_null_gene(res, truth)


def partial_family(outcome: str, statistic: str) -> Callable[[Any, dict[str, Any]], bool]:
    def call(res: Any, truth: dict[str, Any]) -> bool:
        return any(r["significant"] for r in res.summary["results"]
                   if r["outcome"] == outcome and r["statistic"] == statistic)
    call.__name__ = f"partial_{outcome}_{statistic}"
    return call


def partial_single_test(res: Any, truth: dict[str, Any]) -> bool:
    """The raw p of one pre-named test (first canonical axis of the gene block ~ PHQ-9)."""
    (row,) = [r for r in res.summary["results"] if r["outcome"] == "phq9"
              and r["statistic"] == "pearson" and r["axis"] == "cca1_gene"]
    return row["p"] <= ALPHA


def harmonization_delta(res: Any, truth: dict[str, Any]) -> bool:
    return res.summary["delta"]["auroc_test"]["p"] <= ALPHA


def pca_more_than_smallest(res: Any, truth: dict[str, Any]) -> bool:
    return res.summary["chosen_dim"] > min(res.summary["dims"])


# ---------------------------------------------------------------------------------------------
# scenarios: every null is confounded (centre and age drive both modalities and the outcomes,
# 10% miss a modality); planted ones add one effect each

NULL = Scenario("confounded null")
DECISIONS: tuple[Decision, ...] = (
    Decision("cca_mode1", "CCA: mode 1 significant (FWER)", "cca_permutation", cca_config,
             modes_at_least(1), NULL, NULL.but(name="one mode", coupling=(0.45,))),
    Decision("cca_mode2", "CCA: mode 2 significant, one true mode", "cca_permutation",
             cca_config, modes_at_least(2), NULL.but(name="one mode", coupling=(1.0,)),
             NULL.but(name="two modes", coupling=(1.0, 0.5))),
    Decision("fusion_vs_gene", "Prediction: fusion > gene (one comparison)",
             "prediction_baselines", prediction_config, fusion_beats_gene, NULL,
             NULL.but(name="gene + brain signal", gene_mdd=(0.6,), brain_mdd=0.6)),
    Decision("escalation", "Prediction: escalation verdict", "prediction_baselines",
             prediction_config, escalate, NULL,
             NULL.but(name="gene + brain signal", gene_mdd=(0.6,), brain_mdd=0.6),
             check="at_most", note="intersection-union: fusion must beat both modalities"),
    Decision("logo", "LOGO: gene called (BH, corrected t)", "logo_gene_attribution",
             logo_config, logo_call, NULL, NULL.but(name="two MDD genes", gene_mdd=(0.9, 0.6)),
             check="at_most", note="null: any of 8 genes called (BH); power: strongest gene"),
    Decision("partial_single", "Partial r: one pre-named test (raw p)", "partial_correlations",
             partial_config, partial_single_test, NULL.but(name="coupled, PHQ-9 unrelated",
                                                           coupling=(1.0,)),
             NULL.but(name="PHQ-9 tracks mode 1", coupling=(1.0,), phq9_mode=0.3)),
    Decision("partial_phq9", "Partial r: any axis ~ PHQ-9 called (BH)", "partial_correlations",
             partial_config, partial_family("phq9", "pearson"),
             NULL.but(name="coupled, PHQ-9 unrelated", coupling=(1.0,)),
             NULL.but(name="PHQ-9 tracks mode 1", coupling=(1.0,), phq9_mode=0.3),
             check="at_most", note="BH over 4 correlated axes"),
    Decision("partial_mdd", "Partial OR: any axis ~ MDD called (BH)", "partial_correlations",
             partial_config, partial_family("mdd", "odds_ratio_per_sd"),
             NULL.but(name="coupled, MDD unrelated", coupling=(1.0,)),
             NULL.but(name="MDD brain factor", coupling=(1.0,), brain_mdd=1.0),
             check="at_most", note="BH over 4 correlated axes"),
    Decision("harmonization", "Harmonization: delta AUROC test", "harmonization_ablation",
             harmonization_config, harmonization_delta,
             NULL.but(name="no feature site effects", site_shift=0.0, brain_mdd=0.8),
             NULL.but(name="brain site noise", site_shift=0.0, brain_mdd=0.8,
                      brain_site_noise=1.5)),
    Decision("pca_choice", "PCA search: more than the smallest dim", "pca_dimension_search",
             pca_config, pca_more_than_smallest, NULL, NULL.but(name="brain MDD factor",
                                                                brain_mdd=1.2),
             check="none", note="a one-SE choice, not a test"),
)
BY_KEY = {d.key: d for d in DECISIONS}


# ---------------------------------------------------------------------------------------------
# running


def run_one(decision: Decision, scenario: Scenario, seed: int) -> bool:
    """The decision on one generated cohort."""
    from kbtools.experiments.context import RunContext
    from kbtools.experiments.methods import get_method

    cal = generate(scenario, seed)
    config = decision.config(scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = get_method(decision.method)(cal.cohort, config,
                                          RunContext(seed=seed, progress=False))
    return bool(decision.call(res, cal.truth))


def _chunk(job: tuple[str, str, list[int]], rng: np.random.Generator) -> list[bool]:
    key, which, seeds = job
    decision = BY_KEY[key]
    scenario = decision.null if which == "null" else decision.planted
    return [run_one(decision, scenario, s) for s in seeds]


def measure(decision: Decision, which: str, n: int, *, n_jobs: int | None = 1,
            first_seed: int = 0, chunk: int = 4, progress: bool = False) -> Rate:
    """Rate of the decision over ``n`` cohorts of its ``null`` or ``planted`` scenario."""
    from kbtools.experiments.parallel import map_chunks

    seeds = list(range(first_seed, first_seed + n))
    jobs = [(decision.key, which, seeds[i:i + chunk]) for i in range(0, n, chunk)]
    out = map_chunks(_chunk, jobs, n_jobs=n_jobs, progress=progress,
                     desc=f"{decision.key} {which}", unit="chunk")
    hits = [h for part in out for h in part]
    return Rate(int(sum(hits)), len(hits))


def table(rows: list[tuple[Decision, Rate, Rate | None]]) -> str:
    """Markdown table: decision, null rate, band, check, power."""
    lines = ["| decision | null: rate | 99% band (count) | calibrated | planted: rate |",
             "|---|---|---|---|---|"]
    for d, null, power in rows:
        lo, hi = band(null.n)
        rng = {"exact": f"{lo}-{hi} of {null.n}", "at_most": f"<= {hi} of {null.n}",
               "none": "not a test"}[d.check]
        ok = {True: "yes", False: "**no**"}[within(d, null)] if d.check != "none" else "-"
        pw = "-" if power is None else f"{power.rate:.1%} ({power.hits}/{power.n})"
        lines.append(f"| {d.label} | {null.rate:.1%} ({null.hits}/{null.n}) | {rng} | {ok} "
                     f"| {pw} |")
    return "\n".join(lines)
