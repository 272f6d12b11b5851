"""Cohort loading and data checks, CV folds, fold-safe preprocessing."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbtools.errors import DataError
from kbtools.experiments import cv
from kbtools.experiments.cohort import load_cohort
from kbtools.experiments.preprocessing import (
    CappedPCA,
    DesignWarning,
    Residualizer,
    ZScore,
    build_pipeline,
)
from kbtools.yamlio import load_file


def _config(path: Path) -> dict:
    return load_file(path)


def test_generated_cohort_loads_with_sources(small_kb: tuple[Path, Path]) -> None:
    root, cfg = small_kb
    cohort = load_cohort(_config(cfg), root)
    assert cohort.subjects.index.name == "subject_id"
    assert set(cohort.blocks) == {"gene", "brain"}
    assert cohort.blocks["gene"].shape == (300, 608)
    assert "SOD2__e15" in cohort.blocks["gene"].columns
    assert cohort.inventory["n_complete"] == 300
    src = cohort.sources["gene"]
    assert src["generated"] and len(src["sha256"]) == 64 and src["rows"] == 300
    assert not any((root / "kb").rglob("*.csv"))


def test_missing_modalities_are_counted(tmp_path: Path, kb_factory) -> None:
    cfg = kb_factory(tmp_path, missing_fraction=0.2)
    cohort = load_cohort(_config(cfg), tmp_path)
    inv = cohort.inventory
    assert 0 < inv["roles"]["gene"]["missing"] < 120
    assert inv["n_complete"] == len(cohort.complete_ids())
    assert inv["n_complete"] < min(inv["roles"]["gene"]["present"],
                                   inv["roles"]["brain"]["present"]) + 1


def _write_override(tmp_path: Path, cohort, mutate) -> Path:
    df = cohort.blocks["brain"].copy()
    df = mutate(df)
    path = tmp_path / "brain_override.csv"
    df.to_csv(path)
    return path


@pytest.mark.parametrize(("mutate", "pattern"), [
    (lambda d: pd.concat([d, d.iloc[:3]]), r"3 subject ids occur more than once"),
    (lambda d: d.assign(lh_insula_thickness=np.where(np.arange(len(d)) < 4, np.nan,
                                                     d.lh_insula_thickness)),
     r"4 missing value\(s\) in 1 column\(s\) of 4 row\(s\): 'lh_insula_thickness' \(4\)"),
    (lambda d: d.assign(rh_insula_area=5.0), r"1 constant column.*'rh_insula_area'"),
    (lambda d: d.assign(lh_cuneus_area="high"), r"non-numeric.*'lh_cuneus_area'"),
])
def test_data_errors_name_table_column_and_count(small_kb: tuple[Path, Path], tmp_path: Path,
                                                 mutate, pattern: str) -> None:
    root, cfg = small_kb
    config = _config(cfg)
    cohort = load_cohort(config, root)
    path = _write_override(tmp_path, cohort, mutate)
    with pytest.raises(DataError, match=pattern) as exc:
        load_cohort(config, root, {"brain": path})
    assert "brain_override.csv" in str(exc.value)


def test_subjects_table_errors(small_kb: tuple[Path, Path], tmp_path: Path) -> None:
    root, cfg = small_kb
    config = _config(cfg)
    subjects = load_cohort(config, root).subjects
    one_class = tmp_path / "one_class.csv"
    subjects.assign(mdd=0).to_csv(one_class)
    with pytest.raises(DataError, match=r"'mdd' .* one class only \(300 subjects\)"):
        load_cohort(config, root, {"subjects": one_class})
    tiny_site = tmp_path / "tiny_site.csv"
    s = subjects.copy()
    s.iloc[:4, s.columns.get_loc("site")] = "site99"
    s.to_csv(tiny_site)
    with pytest.raises(DataError, match=r"1 site\(s\) have fewer than 10 subjects"):
        load_cohort(config, root, {"subjects": tiny_site})
    with pytest.raises(DataError, match="does not have"):
        load_cohort(config, root, {"nosuchrole": tiny_site})


def test_folds_identical_for_same_seed_and_grouped_by_site(small_kb: tuple[Path, Path]) -> None:
    root, cfg = small_kb
    config = _config(cfg)
    cohort = load_cohort(config, root)
    a = cv.outer_folds(cohort, config["cv"], "mdd", 7)
    b = cv.outer_folds(cohort, config["cv"], "mdd", 7)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    plain = {"scheme": "stratified_kfold", "n_splits": 5, "stratify_by": "mdd"}
    c = cv.outer_folds(cohort, plain, "mdd", 7)
    d = cv.outer_folds(cohort, plain, "mdd", 8)
    assert any(not np.array_equal(x[1], y[1]) for x, y in zip(c, d, strict=True))
    tests = np.concatenate([t for _, t in a])
    assert sorted(tests) == list(range(len(cohort.subjects)))
    site = cohort.subjects["site"].to_numpy()
    for train, test in a:
        assert not set(site[train]) & set(site[test])
    inner = cv.inner(cohort, a[0][0], {**config["cv"], "inner_splits": 2}, "mdd", 7)
    assert all(set(t).issubset(set(a[0][0])) for _, t in inner)


def _toy(n: int = 120) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    idx = pd.Index([f"s{i:04d}" for i in range(n)], name="subject_id")
    subjects = pd.DataFrame({"site": np.repeat(["a", "b", "c", "d"], n // 4),
                             "age": rng.normal(60, 8, n)}, index=idx)
    x = pd.DataFrame(rng.standard_normal((n, 6)) + subjects[["age"]].to_numpy() * 0.1,
                     index=idx, columns=[f"f{i}" for i in range(6)])
    return subjects, x


def test_transformers_fit_on_training_rows_only() -> None:
    subjects, x = _toy()
    train, test = x.index[:90], x.index[90:]
    pipe = build_pipeline("gene", {"covariates": ["age"], "site_onehot": True,
                                   "pca": {"gene": 4}}, subjects)
    pipe.fit(x.loc[train])
    before = pipe.transform(x.loc[test])
    poisoned = x.copy()
    poisoned.loc[test] = poisoned.loc[test] * 100 + 1e6  # changing test rows changes nothing fit
    pipe2 = build_pipeline("gene", {"covariates": ["age"], "site_onehot": True,
                                    "pca": {"gene": 4}}, subjects).fit(poisoned.loc[train])
    np.testing.assert_allclose(pipe2.transform(x.loc[test]), before)
    np.testing.assert_allclose(pipe.named_steps["zscore"].mean_, x.loc[train].mean().to_numpy())


def test_unseen_sites_get_the_average_site_effect() -> None:
    subjects, x = _toy()
    train = subjects.index[subjects.site != "d"]
    test = subjects.index[subjects.site == "d"]
    res = Residualizer(subjects, ("age",), True).fit(x.loc[train])
    design = res.design(test)
    assert np.all(design[:, 2:] == 0)  # effect coding: unseen site = average training site
    with pytest.raises(DataError, match="not seen in the training fold: d"):
        Residualizer(subjects, ("age",), True, unseen_sites="error").fit(x.loc[train]) \
            .transform(x.loc[test])
    out = res.transform(x.loc[train])
    np.testing.assert_allclose(out.to_numpy().T @ res.design(train), 0, atol=1e-8)


def test_residualizer_design_equals_statsmodels_sum_coding() -> None:
    """Sum-to-zero site coding and centred covariates: residuals equal OLS residuals of the
    same model written as a statsmodels formula with C(site, Sum)."""
    import statsmodels.formula.api as smf

    subjects, x = _toy()
    res = Residualizer(subjects, ("age",), True).fit(x)
    frame = subjects.assign(v=x.iloc[:, 0])
    ols = smf.ols("v ~ age + C(site, Sum)", data=frame).fit()
    np.testing.assert_allclose(res.transform(x).iloc[:, 0], ols.resid, atol=1e-10)
    design = res.design(subjects.index)
    np.testing.assert_allclose(design[:, 2:], ols.model.exog[:, 1:4], atol=0)  # patsy: sites first
    np.testing.assert_allclose(design[:, 1], subjects["age"] - subjects["age"].mean())


def test_capped_pca_warns_and_caps_at_rank() -> None:
    _, x = _toy(20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pca = CappedPCA(50).fit(x.iloc[:10])
    assert pca.n_components_ == 6 and pca.capped_
    assert any(issubclass(w.category, DesignWarning) for w in caught)
    assert ZScore().fit_transform(x).shape == x.shape


@settings(max_examples=40, deadline=None)
@given(site_sizes=st.lists(st.integers(12, 60), min_size=3, max_size=14),
       n_splits=st.integers(2, 5), n_repeats=st.integers(1, 3),
       scheme=st.sampled_from(["stratified_group_kfold", "group_kfold", "stratified_kfold",
                               "kfold"]),
       seed=st.integers(0, 2**31 - 1))
def test_distinct_folds_keep_each_test_set_once(site_sizes: list[int], n_splits: int,
                                                n_repeats: int, scheme: str,
                                                seed: int) -> None:
    """Any site structure, scheme and number of repeats: the folds a test counts have
    pairwise different test sets, every fold's test set is one of them (brute force over the
    sets), and the first repeat (disjoint test sets) is always kept whole."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    site = np.repeat([f"c{i}" for i in range(len(site_sizes))], site_sizes)
    y = np.tile([0, 1], len(site) // 2 + 1)[:len(site)]
    subjects = pd.DataFrame({"centre": site, "mdd": rng.permutation(y)},
                            index=pd.Index([f"s{i}" for i in range(len(site))]))
    n_splits = min(n_splits, len(site_sizes))
    config = {"scheme": scheme, "n_splits": n_splits, "n_repeats": n_repeats,
              "group_by": "centre", "stratify_by": "mdd"}
    folds = cv.outer_folds(SimpleNamespace(subjects=subjects), config, "mdd", seed)
    kept = cv.distinct_folds(folds)
    sets = [frozenset(test.tolist()) for _, test in folds]
    assert len({sets[k] for k in kept}) == len(kept) == len(set(sets))
    assert {sets[k] for k in kept} == set(sets)
    assert kept[:n_splits] == list(range(n_splits)) and kept == sorted(kept)
