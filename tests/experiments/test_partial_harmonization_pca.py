"""Partial correlations (statsmodels oracle), harmonization ablation and PCA dimension search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbtools.config_rules.design_checks import check_design
from kbtools.errors import DataError
from kbtools.experiments import synth
from kbtools.experiments.cohort import Cohort
from kbtools.experiments.context import RunContext
from kbtools.experiments.methods import harmonization_ablation, partial_correlations
from kbtools.experiments.methods.pca_dimension_search import one_se_choice
from kbtools.experiments.methods.pca_dimension_search import run as pca_search

CV = {"scheme": "stratified_group_kfold", "n_splits": 3, "inner_splits": 2, "group_by": "site"}


def latent_cohort(seed: int = 0, n: int = 900, p: int = 12) -> tuple[Cohort, np.ndarray]:
    """A brain block whose dominant component f drives PHQ-9 and MDD; age confounds both."""
    rng = np.random.default_rng(seed)
    site = rng.integers(0, 6, n)
    age = rng.normal(0, 1, n)
    f = rng.normal(size=n)
    load = np.linspace(1.0, 2.0, p)
    x = np.outer(f + 0.8 * age, load) + rng.normal(size=(n, p))
    phq9 = 0.5 * f + 0.7 * age + rng.normal(size=n)
    mdd = (rng.uniform(size=n) < 1 / (1 + np.exp(-(f - 0.5 * age)))).astype(int)
    ids = pd.Index([f"s{i:05d}" for i in range(n)], name="subject_id")
    subjects = pd.DataFrame({"site": [f"site{s}" for s in site], "age": age, "phq9": phq9,
                             "mdd": mdd}, index=ids)
    brain = pd.DataFrame(x, index=ids, columns=[f"roi{j:02d}" for j in range(p)])
    return Cohort(subjects=subjects, blocks={"brain": brain}), f


def test_partial_correlations_pca_axis_matches_statsmodels() -> None:
    import statsmodels.api as sm

    cohort, f = latent_cohort()
    cfg = {"outcome": "mdd", "cv": CV,
           "preprocessing": {"zscore": True, "covariates": ["age"], "site_onehot": False},
           "params": {"axes": "pca", "roles": ["brain"], "n_components": 2,
                      "outcomes": [{"column": "phq9", "type": "continuous"},
                                   {"column": "mdd", "type": "binary"}]},
           "outputs": {"plots": True}}
    res = partial_correlations.run(cohort, cfg, RunContext(seed=0, progress=False))
    rows = {(r["axis"], r["outcome"], r["statistic"]): r for r in res.summary["results"]}
    pc1 = rows[("brain_pc1", "phq9", "pearson")]
    # oracle: OLS t-statistic of f in phq9 ~ f + age gives the true partial correlation
    s = cohort.subjects
    fit = sm.OLS(s["phq9"].to_numpy(), sm.add_constant(np.column_stack([f, s["age"]]))).fit()
    r_true = fit.tvalues[1] / np.sqrt(fit.tvalues[1] ** 2 + fit.df_resid)
    assert abs(pc1["estimate"]) == pytest.approx(r_true, abs=0.06)
    assert pc1["ci"][0] < pc1["estimate"] < pc1["ci"][1] and pc1["q"] < 1e-6
    assert rows[("brain_pc2", "phq9", "pearson")]["q"] > 0.01  # noise axis
    # binary: odds ratio per SD close to statsmodels Logit on the true factor (sign-free)
    odds = rows[("brain_pc1", "mdd", "odds_ratio_per_sd")]
    logit = sm.Logit(s["mdd"].to_numpy(), sm.add_constant(np.column_stack(
        [(f - f.mean()) / f.std(), s["age"]]))).fit(disp=0)
    assert abs(np.log(odds["estimate"])) == pytest.approx(abs(logit.params[1]), rel=0.25)
    assert odds["n_cases"] == int(s["mdd"].sum()) and "partial_correlations.png" in res.figures


def test_partial_correlations_cca_runs_on_synthetic_cohort() -> None:
    sc = synth.generate(n_subjects=600, n_sites=6, seed=2)
    cohort = Cohort(subjects=sc.subjects, blocks={"gene": sc.gene_embeddings,
                                                  "brain": sc.smri_rois})
    cfg = {"outcome": "mdd", "cv": CV,
           "preprocessing": {"zscore": True, "covariates": ["age", "sex", "icv"],
                             "site_onehot": True, "pca": {"gene": 10, "brain": 10}},
           "params": {"axes": "cca", "n_components": 2}, "outputs": {"plots": False}}
    res = partial_correlations.run(cohort, cfg, RunContext(seed=0, progress=False))
    assert res.summary["axis_names"] == ["cca1_gene", "cca1_brain", "cca2_gene", "cca2_brain"]
    assert res.per_fold[0]["cca1_rho_test"] > 0.5  # planted gene-brain mode, held out
    assert len(res.summary["results"]) == 4 * 2 + 4  # phq9 x (pearson, spearman) + mdd


def test_one_se_rule() -> None:
    scores = np.array([[0.60, 0.70, 0.72, 0.71], [0.62, 0.69, 0.73, 0.70],
                       [0.61, 0.71, 0.71, 0.72]])
    dim, best, se = one_se_choice([2, 4, 8, 16], scores)
    # best mean 0.72 at 8, SE 0.01/sqrt(3) = 0.0058: 4 (0.70) is outside one SE, so 8
    assert (dim, best) == (8, pytest.approx(0.72))
    assert se == pytest.approx(np.std([0.72, 0.73, 0.71], ddof=1) / np.sqrt(3))
    noisy = np.array([[0.60, 0.66, 0.76, 0.71], [0.62, 0.74, 0.68, 0.70],
                      [0.61, 0.70, 0.72, 0.72]])  # SE of the best (8) is 0.023: 4 qualifies
    assert one_se_choice([2, 4, 8, 16], noisy)[0] == 4
    flat = np.array([[0.7, 0.7005], [0.71, 0.7105], [0.69, 0.6905]])
    assert one_se_choice([32, 8], flat)[0] == 8  # unsorted dims: smallest within one SE


def test_pca_dimension_search_records_a_small_dim() -> None:
    cohort, _ = latent_cohort(1)
    cfg = {"outcome": "mdd", "cv": CV,
           "preprocessing": {"zscore": True, "covariates": ["age"], "site_onehot": False},
           "params": {"role": "brain", "dims": [1, 2, 4, 8]}, "outputs": {"plots": True}}
    res = pca_search(cohort, cfg, RunContext(seed=0, progress=False))
    assert res.summary["chosen_dim"] in (1, 2)
    assert res.headline["chosen_dim"] == res.summary["chosen_dim"]
    assert res.summary["nested_auroc"]["mean"] > 0.6
    assert [c["dim"] for c in res.summary["curve"]] == [1, 2, 4, 8]
    assert check_design({"method": "pca_dimension_search", "outcome": "mdd",
                         "data": {"brain": {}}, "params": {"role": "brain"},
                         "preprocessing": {"pca": {"brain": 8}}})[0].rule == "design.pca-preset"


def test_harmonization_ablation_recovers_coupling_under_site_effects() -> None:
    sc = synth.generate(n_subjects=700, n_sites=6, seed=3)
    cohort = Cohort(subjects=sc.subjects, blocks={"gene": sc.gene_embeddings,
                                                  "brain": sc.smri_rois})
    cfg = {"outcome": "mdd", "cv": CV, "method": "harmonization_ablation",
           "data": {"subjects": {}, "gene": {}, "brain": {}},
           "preprocessing": {"zscore": True, "covariates": ["age", "sex", "icv"],
                             "site_onehot": False, "pca": {"gene": 8, "brain": 8}},
           "params": {"C_grid": [0.1, 1.0], "n_boot": 200}, "outputs": {"plots": True}}
    # fewer than 8 folds: the fold-combined delta test is weak, and the design check says so
    assert [i.rule for i in check_design(cfg)] == ["design.few-folds-for-fold-test"]
    res = harmonization_ablation.run(cohort, cfg, RunContext(seed=0, progress=False))
    d = res.summary["delta"]
    # site offsets on both modalities fake a coupling that does not transfer to unseen sites;
    # ComBat on the brain block removes them and the held-out rho1 rises
    assert d["rho1_test_folds"]["mean"] > 0.1
    assert all(r["n_test_unseen_site"] == r["n_test"] for r in res.per_fold)
    assert any("unseen" in w for w in res.warnings)
    assert res.headline["delta_rho1"] == d["rho1_test_folds"]["mean"]
    cfg["params"]["combat"] = {"covariates": ["age", "mdd"]}
    assert "design.combat-uses-outcome" in {i.rule for i in check_design(cfg)}
    with pytest.raises(DataError, match="outcome"):
        harmonization_ablation.run(cohort, cfg, RunContext(seed=0, progress=False))


def test_pca_search_tests_the_first_repeat_only_and_says_so() -> None:
    """Repeats put every subject in several test folds; the nested AUROC's fold test treats
    folds as independent, so it runs the first repeat's disjoint folds and the run warns."""
    cohort, _ = latent_cohort(1)
    cfg = {"outcome": "mdd", "cv": {**CV, "n_repeats": 3},
           "preprocessing": {"zscore": True, "covariates": ["age"], "site_onehot": False},
           "params": {"role": "brain", "dims": [1, 2]}, "outputs": {"plots": False}}
    res = pca_search(cohort, cfg, RunContext(seed=0, progress=False))
    n_splits = CV.get("n_splits", 5)
    assert len(res.per_fold) == n_splits
    assert res.summary["nested_auroc"]["fold_combined"]["n_folds"] == n_splits
    assert any("cv.n_repeats: 3 is not used" in w for w in res.warnings)
    once = pca_search(cohort, {**cfg, "cv": CV}, RunContext(seed=0, progress=False))
    assert once.summary["nested_auroc"] == res.summary["nested_auroc"]
    assert not any("n_repeats" in w for w in once.warnings)
