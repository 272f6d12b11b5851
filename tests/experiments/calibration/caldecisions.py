"""Every decision a method prints, its null and planted cohorts, and the rate it is made at.

A :class:`Study` names a method, the config it runs with (small enough for hundreds of runs),
a null scenario (its decisions should be made at rate alpha or less), a planted scenario (they
should be made: power) and the :class:`Decision` s it prints, each a function reading one
printed decision from the method's result. :func:`measure` runs a study on many cohorts through
joblib (:func:`kbtools.experiments.parallel.map_chunks`, so it also runs on a Dask cluster) and
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
from calcohorts import Scenario
from scipy.stats import binom
from ukbcentres import Design

ALPHA = 0.05
SITE = "centre"


@dataclass(frozen=True)
class Decision:
    key: str
    label: str
    call: Callable[[Any, dict[str, Any]], bool]
    check: str = "exact"
    """exact | at_most | none | reference (an earlier rule, shown for comparison)"""
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
    """Whether the null rate is what the decision's ``check`` requires (references and
    non-tests always pass: they are shown, not required)."""
    lo, hi = band(rate.n)
    if decision.check == "exact":
        return lo <= rate.hits <= hi
    if decision.check == "at_most":
        return rate.hits <= hi
    return True


# ---------------------------------------------------------------------------------------------
# configs (small: hundreds of runs must take minutes)


def _cv(**extra: Any) -> dict[str, Any]:
    cv = {"scheme": "stratified_group_kfold", "n_splits": 5, "group_by": SITE,
          "stratify_by": "mdd", "inner_splits": 3}
    cv.update(extra)
    return cv


PRE = {"zscore": True, "covariates": ["age", "sex", "icv"], "site_onehot": True}


def cca_config(sc: Any) -> dict[str, Any]:
    """Config 01's design as shipped (centre x covariate terms; the method's defaults for the
    rest: Huh-Jhun within sites, per-site normalisation, PCA auto) at calibration size. The
    column names come from the scenario, so it runs on either generator."""
    site = getattr(sc, "site_column", SITE)
    outcome = getattr(sc, "outcome", "mdd")
    return {"method": "cca_permutation", "outcome": outcome,
            "cv": _cv(group_by=site, stratify_by=outcome),
            "preprocessing": {**PRE, "covariates": list(getattr(sc, "covariates", PRE[
                "covariates"])), "site_covariate_interactions": True},
            "params": {"n_permutations": 99, "n_components": 2, "alpha": ALPHA},
            "outputs": {"plots": False}}


def cca_previous_config(sc: Any) -> dict[str, Any]:
    """The design shipped before site blocks: free permutation after one Huh-Jhun projection
    of the additive nuisance model."""
    config = cca_config(sc)
    config["preprocessing"].pop("site_covariate_interactions")
    config["params"].update(permute_within="none", normalize_sites=False)
    return config


def prediction_config(sc: Scenario) -> dict[str, Any]:
    return {"method": "prediction_baselines", "outcome": "mdd", "cv": _cv(n_splits=10),
            "preprocessing": dict(PRE),
            "params": {"models": ["logistic"], "C_grid": [0.01, 0.1, 1.0], "n_boot": 100,
                       "fusion": {"early": False, "late": "average"}, "alpha": ALPHA},
            "outputs": {"plots": False}}


def prediction_5fold_config(sc: Scenario) -> dict[str, Any]:
    """The design of the report that found the pooled test anti-conservative: 5 folds, and
    gradient boosting beside the logistic model."""
    config = prediction_config(sc)
    config["cv"]["n_splits"] = 5
    config["params"]["models"] = ["logistic", "hgb"]
    return config


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
    return {"method": "harmonization_ablation", "outcome": "mdd", "cv": _cv(n_splits=10),
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


def _late_vs_gene(res: Any, model: str) -> dict[str, Any]:
    (row,) = [c for c in res.summary["comparisons"] if c["fusion"] == "fusion_late"
              and c["single"] == "gene" and c.get("model", "logistic") == model]
    return row


def fusion_beats_gene(res: Any, truth: dict[str, Any], model: str = "logistic") -> bool:
    return _late_vs_gene(res, model)["fold_test"]["p"] <= ALPHA


def pooled_delong_fusion_beats_gene(res: Any, truth: dict[str, Any],
                                    model: str = "logistic") -> bool:
    """Reference: the earlier rule, one-sided DeLong on predictions pooled over the folds."""
    row = _late_vs_gene(res, model)
    return row["difference"] > 0 and row["pooled_delong_p"] / 2 <= ALPHA


def hgb_fusion_beats_gene(res: Any, truth: dict[str, Any]) -> bool:
    return fusion_beats_gene(res, truth, "hgb")


def hgb_pooled_delong_fusion_beats_gene(res: Any, truth: dict[str, Any]) -> bool:
    return pooled_delong_fusion_beats_gene(res, truth, "hgb")


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
# studies: one method run on one scenario serves every decision it prints. Every null is
# confounded (centre and age drive both modalities and the outcomes, several unseen centres per
# test fold, 10% miss a modality); planted scenarios add the effects the decisions should find.

NULL = Scenario("confounded null", n=600, n_sites=12)


@dataclass(frozen=True)
class Study:
    key: str
    method: str
    config: Callable[[Scenario], dict[str, Any]]
    null: Scenario
    planted: Scenario
    decisions: tuple[Decision, ...]


def _d(key: str, label: str, call: Callable[[Any, dict[str, Any]], bool], check: str = "exact",
       note: str = "") -> Decision:
    return Decision(key, label, call, check, note)


STUDIES: tuple[Study, ...] = (
    Study("cca_null", "cca_permutation", cca_config, NULL,
          NULL.but(name="one mode", coupling=(0.6,)),
          (_d("cca_mode1", "CCA: mode 1 significant (FWER)", modes_at_least(1)),)),
    Study("cca_one_mode", "cca_permutation", cca_config,
          NULL.but(name="one mode", coupling=(1.0,)),
          NULL.but(name="two modes", coupling=(1.0, 0.6)),
          (_d("cca_mode2", "CCA: mode 2 significant, one true mode", modes_at_least(2)),)),
    Study("prediction", "prediction_baselines", prediction_config, NULL,
          NULL.but(name="gene + brain signal", gene_mdd=(2.0,), brain_mdd=1.5),
          (_d("fusion_vs_gene", "Prediction: fusion > gene (one comparison)",
              fusion_beats_gene),
           _d("escalation", "Prediction: escalation verdict", escalate, "at_most",
              "intersection-union: fusion must beat both modalities"),
           _d("pooled_delong", "Reference (earlier rule): pooled DeLong, fusion > gene",
              pooled_delong_fusion_beats_gene, "reference",
              "predictions of the folds' models pooled into one DeLong test"))),
    Study("prediction_5fold", "prediction_baselines", prediction_5fold_config,
          NULL.but(name="confounded null, 6 centres", n=1200, n_sites=6),
          NULL.but(name="gene + brain signal, 6 centres", n=1200, n_sites=6, gene_mdd=(2.0,),
                   brain_mdd=1.5),
          (_d("fusion_vs_gene_5fold", "Prediction, 5 folds, N = 1200: fusion > gene",
              fusion_beats_gene),
           _d("escalation_5fold", "Prediction, 5 folds, N = 1200: escalation verdict", escalate,
              "at_most", "intersection-union: fusion must beat both modalities"),
           _d("pooled_delong_5fold", "Reference (earlier rule), 5 folds, N = 1200: pooled "
              "DeLong, fusion > gene", pooled_delong_fusion_beats_gene, "reference",
              "predictions of the folds' models pooled into one DeLong test"),
           _d("hgb_fusion_vs_gene_5fold", "Prediction, 5 folds, N = 1200, gradient boosting: "
              "fusion > gene", hgb_fusion_beats_gene),
           _d("hgb_pooled_delong_5fold", "Reference (earlier rule), 5 folds, N = 1200, "
              "gradient boosting: pooled DeLong, fusion > gene",
              hgb_pooled_delong_fusion_beats_gene, "reference",
              "predictions of the folds' models pooled into one DeLong test"))),
    Study("logo", "logo_gene_attribution", logo_config, NULL,
          NULL.but(name="two MDD genes", gene_mdd=(1.5, 0.8)),
          (_d("logo", "LOGO: gene called (BH, corrected t)", logo_call, "at_most",
              "null: any of 8 genes called (BH); planted: the stronger MDD gene called"),)),
    Study("partial", "partial_correlations", partial_config,
          NULL.but(name="coupled; outcomes unrelated", coupling=(1.0,)),
          NULL.but(name="PHQ-9 and MDD track mode 1", coupling=(1.0,), phq9_mode=0.3,
                   mdd_mode=0.5),
          (_d("partial_single", "Partial r: one pre-named test (raw p)", partial_single_test),
           _d("partial_phq9", "Partial r: any axis ~ PHQ-9 called (BH)",
              partial_family("phq9", "pearson"), "at_most", "BH over 4 correlated axes"),
           _d("partial_mdd", "Partial OR: any axis ~ MDD called (BH)",
              partial_family("mdd", "odds_ratio_per_sd"), "at_most",
              "BH over 4 correlated axes"))),
    Study("harmonization", "harmonization_ablation", harmonization_config,
          NULL.but(name="no feature site effects", site_shift=0.0, brain_mdd=0.8),
          NULL.but(name="brain site effects", site_shift=0.0, brain_mdd=1.5,
                   brain_site_noise=2.5),
          (_d("harmonization", "Harmonization: delta AUROC test", harmonization_delta,
              "at_most", "truncated Hartung-Knapp: never narrower than the fixed-effect "
              "combination, so conservative when ComBat has nothing to remove"),)),
    Study("pca", "pca_dimension_search", pca_config, NULL,
          NULL.but(name="brain MDD factor", brain_mdd=1.2),
          (_d("pca_choice", "PCA search: more than the smallest dim", pca_more_than_smallest,
              "none", "a one-SE choice, not a test"),)),
)
# Site structure beyond additive shifts (issue 19): centres that scale the noise of both blocks,
# centre-specific age slopes, and everything at once; on both generators.
HETERO = NULL.but(name="centres scale both blocks' noise", site_scale=0.35)
AGE_CENTRE = NULL.but(name="centres scale both blocks after the age effect", site_scale=0.35,
                      scale_after_age=True)
AGE_SLOPE = NULL.but(name="shared centre-specific age slopes", site_age=0.7)
MESSY = NULL.but(name="centre scales, covariances, no-imaging centres, t noise",
                 site_scale=0.35, site_cov=0.5, site_missing=0.5, noise="t")
#: a known limit, not a calibrated design: a subject filed under a wrong centre keeps its true
#: centre's offsets on both blocks, an unmodelled site effect the blocks share
MISLABELLED = NULL.but(name="centre scales, 5% of subjects filed under a wrong centre",
                       site_scale=0.35, label_noise=0.05)
UKB = Design("UKB-like, 22 centres, shared centre scale", shared_scale=0.35)
UKB_AGE = Design("UKB-like, 22 centres, shared centre scale and age slopes", shared_scale=0.35,
                 age_centre=0.7)
_MODE1 = (_d("cca_mode1", "CCA: mode 1 significant (FWER)", modes_at_least(1)),)


def _site_study(key: str, label: str, null: Any, planted: Any, config: Any = cca_config,
                check: str = "exact", note: str = "") -> Study:
    return Study(key, "cca_permutation", config, null, planted,
                 (_d(f"{key}_mode1", f"CCA, {label}: mode 1 significant (FWER)",
                     modes_at_least(1), check, note),))


STUDIES += (
    _site_study("cca_hetero", "centre-heteroscedastic", HETERO,
                HETERO.but(name="one mode, centre-heteroscedastic", coupling=(0.6,))),
    _site_study("cca_hetero_previous", "centre-heteroscedastic, earlier design", HETERO,
                HETERO.but(name="one mode, centre-heteroscedastic", coupling=(0.6,)),
                cca_previous_config, "reference", "the design shipped before site blocks"),
    _site_study("cca_age_centre", "centre scales both blocks after age", AGE_CENTRE,
                AGE_CENTRE.but(name="one mode, centre x age", coupling=(0.6,))),
    _site_study("cca_age_slope", "shared centre age slopes", AGE_SLOPE,
                AGE_SLOPE.but(name="one mode, centre age slopes", coupling=(0.6,))),
    _site_study("cca_messy", "all site structures at once", MESSY,
                MESSY.but(name="one mode, all site structures", coupling=(0.6,))),
    _site_study("cca_mislabelled", "5% filed under a wrong centre (known limit)",
                MISLABELLED, MISLABELLED.but(name="one mode, 5% mislabelled", coupling=(0.6,)),
                check="reference", note="a known limit: mislabelled subjects carry their true "
                "centre's offsets on both blocks, a shared site effect no permutation removes"),
    _site_study("cca_ukb", "second generator (UKB-like, 22 centres)", UKB,
                UKB.but(name="one mode, UKB-like", coupling=(0.6,))),
    _site_study("cca_ukb_age", "second generator, centre age slopes", UKB_AGE,
                UKB_AGE.but(name="one mode, UKB-like, centre age slopes", coupling=(0.6,))),
)
BY_KEY = {s.key: s for s in STUDIES}
DECISIONS = tuple(d for s in STUDIES for d in s.decisions)


# ---------------------------------------------------------------------------------------------
# running


def run_one(study: Study, scenario: Scenario, seed: int) -> tuple[bool, ...]:
    """Every decision of ``study`` on one generated cohort."""
    from kbtools.experiments.context import RunContext
    from kbtools.experiments.methods import get_method

    cal = scenario.generate(seed)
    config = study.config(scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = get_method(study.method)(cal.cohort, config,
                                       RunContext(seed=seed, progress=False))
    return tuple(bool(d.call(res, cal.truth)) for d in study.decisions)


def _chunk(job: tuple[str, str, list[int], dict[str, Any]],
           rng: np.random.Generator) -> list[tuple[bool, ...]]:
    key, which, seeds, changes = job
    study = BY_KEY[key]
    scenario = (study.null if which == "null" else study.planted).but(**changes)
    return [run_one(study, scenario, s) for s in seeds]


def calls(study: Study, which: str, count: int, *, n_jobs: int | None = 1,
          first_seed: int = 0, chunk: int = 4, progress: bool = False,
          **changes: Any) -> np.ndarray:
    """(count, decisions) booleans: each decision of ``study`` on ``count`` cohorts of its null
    or planted scenario (``changes`` alter the scenario, e.g. ``n=400`` subjects)."""
    from kbtools.experiments.parallel import map_chunks

    if count <= 0:
        return np.zeros((0, len(study.decisions)), dtype=bool)
    offset = 0 if which == "null" else 1_000_000
    seeds = list(range(first_seed + offset, first_seed + offset + count))
    jobs = [(study.key, which, seeds[i:i + chunk], changes) for i in range(0, count, chunk)]
    out = map_chunks(_chunk, jobs, n_jobs=n_jobs, progress=progress,
                     desc=f"{study.key} {which}", unit="chunk")
    return np.array([c for part in out for c in part], dtype=bool).reshape(count, -1)


def measure(study: Study, which: str, count: int, **kwargs: Any) -> list[Rate]:
    """Rate of each decision of ``study`` over ``count`` cohorts (see :func:`calls`)."""
    made = calls(study, which, count, **kwargs)
    return [Rate(int(made[:, j].sum()), count) for j in range(len(study.decisions))]


def table(rows: list[tuple[Decision, Rate, Rate | None]]) -> str:
    """Markdown table: decision, null rate, band, check, power."""
    lines = ["| decision | null: rate | 99% band (count) | calibrated | planted: rate |",
             "|---|---|---|---|---|"]
    for d, null, power in rows:
        lo, hi = band(null.n)
        rng = {"exact": f"{lo}-{hi} of {null.n}", "at_most": f"<= {hi} of {null.n}",
               "none": "not a test", "reference": f"{lo}-{hi} of {null.n}"}[d.check]
        ok = ({True: "yes", False: "**no**"}[within(d, null)] if d.check in ("exact", "at_most")
              else "-" if d.check == "none" else
              ("yes" if band(null.n)[0] <= null.hits <= band(null.n)[1] else "no (reference)"))
        pw = "-" if power is None else f"{power.rate:.1%} ({power.hits}/{power.n})"
        lines.append(f"| {d.label} | {null.rate:.1%} ({null.hits}/{null.n}) | {rng} | {ok} "
                     f"| {pw} |")
    return "\n".join(lines)
