"""LOGO gene attribution: planted genes called, null genes not, floors detected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbtools.config_rules.design_checks import check_design
from kbtools.errors import DataError
from kbtools.experiments.cohort import Cohort
from kbtools.experiments.context import RunContext
from kbtools.experiments.methods.logo_gene_attribution import gene_groups, run

PLANTED = ("GA", "GB", "GC")
CV = {"scheme": "stratified_group_kfold", "n_splits": 5, "n_repeats": 2, "inner_splits": 3,
      "group_by": "site"}


def planted_cohort(seed: int, n: int = 2000, n_genes: int = 14, dims: int = 4) -> Cohort:
    """Per-gene blocks; three genes carry independent MDD signals, the rest are null."""
    rng = np.random.default_rng(seed)
    names = list(PLANTED) + [f"N{i:02d}" for i in range(n_genes - len(PLANTED))]
    site = rng.integers(0, 6, n)
    scores = rng.normal(size=(n, n_genes))
    x = np.concatenate([scores[:, [g]] * np.ones((1, dims))
                        + rng.normal(size=(n, dims)) for g in range(n_genes)], axis=1)
    x += rng.normal(0, 0.5, (6, x.shape[1]))[site]  # site offsets
    liability = -0.5 + scores[:, :3] @ np.array([1.0, 0.9, 0.8])
    mdd = (rng.uniform(size=n) < 1 / (1 + np.exp(-liability))).astype(int)
    ids = pd.Index([f"s{i:05d}" for i in range(n)], name="subject_id")
    subjects = pd.DataFrame({"site": [f"site{s}" for s in site], "age": rng.normal(60, 7, n),
                             "mdd": mdd}, index=ids)
    cols = [f"{g}__e{d:02d}" for g in names for d in range(dims)]
    return Cohort(subjects=subjects, blocks={"gene": pd.DataFrame(x, index=ids, columns=cols)})


def _config(cv: dict | None = None, **params) -> dict:
    return {"outcome": "mdd", "cv": cv or CV, "method": "logo_gene_attribution",
            "preprocessing": {"zscore": True, "covariates": ["age"], "site_onehot": True},
            "params": {"C_grid": [0.01, 0.1, 1.0], "tune": "fixed_from_full", **params},
            "outputs": {"plots": False}}


def test_gene_groups_from_regex() -> None:
    groups = gene_groups(["SOD2__e00", "SOD2__e01", "BDNF__e00"], r"^(?P<gene>[^_]+)__")
    assert {g: ix.tolist() for g, ix in groups.items()} == {"SOD2": [0, 1], "BDNF": [2]}
    with pytest.raises(DataError, match="matches no gene"):
        gene_groups(["SOD2__e00", "age"], r"^(?P<gene>[^_]+)__")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_genes_called_and_null_genes_not(seed: int) -> None:
    res = run(planted_cohort(seed), _config(), RunContext(seed=seed, progress=False))
    table = res.summary["genes"]
    assert {r["gene"] for r in table[:3]} == set(PLANTED)
    called = set(res.summary["significant_genes"])
    assert set(PLANTED) <= called
    assert called == set(PLANTED)  # no null gene called at q < 0.05
    for r in table:
        assert (r["q"] < 0.05) == r["significant"]
    assert res.summary["test"] == "corrected_t" and len(res.per_fold) == 10
    # the fold-wise Wilcoxon p is reported but floored at 1/2**J over the J distinct folds
    distinct = res.summary["n_folds_tested"]
    assert min(r["p_wilcoxon"] for r in table) >= 1 / 2**distinct - 1e-12
    assert res.summary["attainable"]["wilcoxon_min_p"] == pytest.approx(1 / 2**distinct)


def test_wilcoxon_design_is_flagged_in_validation_and_run() -> None:
    five = {**CV, "n_repeats": 1}
    cfg = _config(five, test="wilcoxon", alternative="two-sided")
    issues = check_design(cfg)
    assert [i.rule for i in issues] == ["design.test-cannot-reach-alpha"]
    assert "0.0625" in issues[0].message
    res = run(planted_cohort(0, n=600, n_genes=6), cfg, RunContext(seed=0, progress=False))
    assert any("can never reach alpha" in w for w in res.warnings)
    assert res.summary["significant_genes"] == []
    assert check_design(_config(five)) == []


def test_retune_in_parallel_matches_sequential() -> None:
    cohort = planted_cohort(5, n=500, n_genes=5, dims=3)
    cfg = _config({**CV, "n_repeats": 1}, tune="retune")
    seq = run(cohort, cfg, RunContext(seed=0, n_jobs=1, progress=False))
    par = run(cohort, cfg, RunContext(seed=0, n_jobs=2, progress=False))
    assert seq.summary["genes"] == par.summary["genes"]
    assert seq.per_fold == par.per_fold


def test_a_repeated_partition_is_tested_once() -> None:
    """Six sites in five site-grouped folds: the second repeat gives the first repeat's
    partition again. The corrected t over the ten folds must equal the one over the five
    distinct folds (a copied fold is no new evidence), and the run says so."""
    from kbtools.experiments.stats.resampled_t import corrected_resampled_t

    res = run(planted_cohort(3, n=600, n_genes=6), _config(),
              RunContext(seed=3, progress=False))
    rows = res.per_fold
    genes = [r["gene"] for r in res.summary["genes"]]
    delta = np.array([[r[f"delta_auc__{g}"] for g in genes] for r in rows])
    assert len(rows) == 10
    assert np.array_equal(delta[:5], delta[5:])  # the partition repeated
    assert res.summary["n_folds_tested"] == 5
    assert any("repeat the test set of an earlier fold" in w for w in res.warnings)
    ratio = float(np.mean([r["n_test"] / r["n_train"] for r in rows[:5]]))
    for i, gene in enumerate(genes):
        want = corrected_resampled_t(delta[:5, i], ratio, "greater")[1]
        got = next(r for r in res.summary["genes"] if r["gene"] == gene)["p_corrected_t"]
        assert got == pytest.approx(want, rel=1e-3, abs=1e-12)
