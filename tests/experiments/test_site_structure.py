"""Site-structure diagnostic of the CCA test: each statistic against an independent oracle, and
the diagnostic against data with planted site structure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import levene

from kbtools.experiments import site_structure as ss
from kbtools.experiments.preprocessing import centre_by_group


def _sites(rng: np.random.Generator, sizes: list[int]) -> np.ndarray:
    labels = np.repeat([f"s{i}" for i in range(len(sizes))], sizes)
    rng.shuffle(labels)
    return labels


def test_dispersion_test_on_one_column_is_brown_forsythe() -> None:
    rng = np.random.default_rng(1)
    labels = _sites(rng, [30, 12, 45, 20])
    x = rng.standard_normal((len(labels), 1)) * np.where(labels == "s2", 2.0, 1.0)[:, None]
    groups = [x[labels == s, 0] for s in np.unique(labels)]
    assert ss.dispersion_test(x, labels) == pytest.approx(
        levene(*groups, center="median").pvalue, rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(2, 25), min_size=2, max_size=6), width=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_variance_ratios_equal_brute_force(sizes, width, seed) -> None:
    rng = np.random.default_rng(seed)
    labels = _sites(rng, sizes)
    a = rng.standard_normal((len(labels), width)) * rng.uniform(0.5, 2, len(sizes))[
        np.unique(labels, return_inverse=True)[1]][:, None] + 3.0
    pooled = sum(((a[labels == s] - a[labels == s].mean(0)) ** 2).sum()
                 for s in np.unique(labels)) / (len(a) - len(sizes))
    want = {s: np.trace(np.atleast_2d(np.cov(a[labels == s].T))) / pooled
            for s in np.unique(labels) if (labels == s).sum() >= 10}
    got = ss.variance_ratios(a, labels)
    assert set(got) == set(want)
    for s, v in want.items():
        assert got[s] == pytest.approx(v, rel=1e-9)


def test_inflation_is_the_ratio_of_moments_of_shared_scales() -> None:
    """Sites that scale both blocks by s_b: kappa = E[s^4] / E[s^2]^2 (the issue's factor)."""
    s2 = {"a": 0.5, "b": 1.0, "c": 2.0}
    sizes = {"a": 10, "b": 30, "c": 20}
    w = np.array([10, 30, 20]) / 60
    v = np.array([0.5, 1.0, 2.0])
    assert ss.inflation(s2, s2, sizes) == pytest.approx(np.sum(w * v**2) / np.sum(w * v) ** 2)
    assert ss.inflation(s2, {"a": 1.0, "b": 1.0, "c": 1.0}, sizes) == pytest.approx(1.0)


def test_interaction_test_on_one_column_is_the_weighted_f_test() -> None:
    """One column: the F test of statsmodels' WLS with the per-site weights, fitted here with
    explicit dummy columns for each site and each site x covariate product."""
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    labels = _sites(rng, [40, 25, 30])
    cov = rng.standard_normal((len(labels), 2))
    y = cov @ [0.5, -0.2] + rng.standard_normal(len(labels)) * np.where(labels == "s1", 2, 1)
    y += 0.6 * cov[:, 0] * (labels == "s0")
    sites = np.unique(labels)
    dummies = np.column_stack([(labels == s).astype(float) for s in sites])
    centred = cov - cov.mean(axis=0)
    full = np.column_stack([dummies[:, [i]] * np.column_stack([np.ones(len(y)), cov])
                            for i in range(len(sites))])
    w = ss.site_weights(y[:, None], full, labels)
    reduced = np.column_stack([dummies, centred])
    bigger = np.column_stack([reduced, *(dummies[:, 1:] * centred[:, [j]] for j in range(2))])
    f_big = sm.WLS(y, bigger, weights=w).fit()
    f_small = sm.WLS(y, reduced, weights=w).fit()
    want = f_big.compare_f_test(f_small)[1]
    assert ss.interaction_test(y[:, None], cov, labels) == pytest.approx(want, rel=1e-6)


def test_interaction_test_ignores_sites_that_differ_only_in_variance() -> None:
    """Per-site weights: a site with four times the variance and the same slopes is not an
    interaction (the unweighted test would call it far more often)."""
    rng = np.random.default_rng(3)
    calls = 0
    for _ in range(60):
        labels = _sites(rng, [60, 15, 40, 25, 30])
        cov = rng.standard_normal((len(labels), 2))
        scale = np.where(labels == "s1", 3.0, 1.0)[:, None]
        a = cov @ rng.standard_normal((2, 4)) + scale * rng.standard_normal((len(labels), 4))
        calls += ss.interaction_test(a, cov, labels) <= 0.05
    assert calls <= 8  # 99% band of 60 tests at 0.05


def test_diagnose_finds_planted_structure_and_says_what_the_run_does() -> None:
    rng = np.random.default_rng(4)
    labels = _sites(rng, [80, 60, 50, 40, 5])
    codes = np.unique(labels, return_inverse=True)[1]
    scale = np.array([0.5, 1.0, 1.5, 2.0, 1.0])[codes][:, None]
    age = rng.standard_normal(len(labels))
    slope = np.array([0.0, 1.0, 2.0, -1.0, 0.0])[codes]
    x = scale * rng.standard_normal((len(labels), 6)) + np.outer(slope * age, np.ones(6))
    y = scale * rng.standard_normal((len(labels), 5)) + np.outer(slope * age, np.ones(5))
    found = ss.diagnose(x, y, labels, age[:, None], ("gene", "brain"), ["age"])
    assert found.n_small == 1 and len(found.blocks[0].ratios) == 4  # the 5-subject site
    assert found.heteroscedastic() and found.shared_interaction()
    assert found.inflation > 1.2
    blocked = ss.TestDesign(True, "huh_jhun", n_sites=5, rows_lost=8, interactions=True,
                            normalized=True)
    text = found.statement(blocked)
    assert "permutes subjects within 5 sites" in text and "8 rows lost" in text
    assert "rescaled to the pooled variance" in text and "cannot pass for a mode" in text
    free = found.statement(ss.TestDesign(False, "huh_jhun", reason="params.permute_within: "
                                         "none"))
    assert "permutes subjects freely" in free and "may be too small" in free
    assert "may be site structure" in free
    summary = found.as_summary(blocked)
    assert {r["name"] for r in summary["variance_ratios"]} == {"s0", "s1", "s2", "s3"}
    assert summary["design"]["permutation"] == "within sites"


def test_residualizing_each_group_on_its_covariates_is_lstsq_per_group() -> None:
    rng = np.random.default_rng(5)
    groups = np.array(list("aabbbbbcccccc"))
    cov = rng.standard_normal((len(groups), 1))
    values = rng.standard_normal((len(groups), 2)) + 3 * cov
    out = centre_by_group(values, groups, cov)
    for g in "bc":
        rows = groups == g
        design = np.column_stack([np.ones(rows.sum()), cov[rows]])
        beta, *_ = np.linalg.lstsq(design, values[rows], rcond=None)
        np.testing.assert_allclose(out[rows], values[rows] - design @ beta, atol=1e-12)
    np.testing.assert_allclose(out[groups == "a"], 0.0, atol=1e-12)  # 2 rows, 2 columns
