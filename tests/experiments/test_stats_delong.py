"""DeLong (midranks) against a brute-force O(n^2) version, sklearn and a published example."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from kbtools.experiments.stats.bootstrap import paired_bootstrap_auc_difference, weighted_auc
from kbtools.experiments.stats.delong import (
    delong_covariance,
    delong_many_vs_one,
    delong_test,
)


def brute_force_delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Structural components from all positive/negative pairs (DeLong et al. 1988)."""
    scores = np.atleast_2d(scores)
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10 = psi.mean(axis=2)  # (k, m)
    v01 = psi.mean(axis=1)  # (k, n)
    auc = psi.mean(axis=(1, 2))
    return auc, np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n


def _data(seed: int, n: int = 300, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = y + rng.normal(0, 1.5, n)
    s = np.vstack([base + rng.normal(0, 0.5, n), base + rng.normal(0, 1.0, n),
                   rng.normal(size=n)])
    if ties:
        s = np.round(s)
    return y, s


@pytest.mark.parametrize(("seed", "ties"), [(0, False), (1, True), (2, True)])
def test_fast_delong_equals_brute_force(seed: int, ties: bool) -> None:
    y, s = _data(seed, ties=ties)
    res = delong_covariance(y, s)
    auc_bf, cov_bf = brute_force_delong(y, s)
    np.testing.assert_allclose(res.auc, auc_bf, atol=1e-12)
    np.testing.assert_allclose(res.cov, cov_bf, atol=1e-12)
    for k in range(3):
        assert res.auc[k] == pytest.approx(roc_auc_score(y, s[k]), abs=1e-12)


def test_hanley_mcneil_rating_example() -> None:
    # The rating example of Radiology 143:29 (1982), table 1: five-point ratings of 58 normal and
    # 51 abnormal CT images; published area 0.893.
    neg = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    pos = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(neg.size, int), np.ones(pos.size, int)]
    res = delong_covariance(y, np.r_[neg, pos].astype(float))
    assert round(float(res.auc[0]), 3) == 0.893
    # DeLong's SE is close to the paper's exponential approximation (0.032)
    assert np.sqrt(res.cov[0, 0]) == pytest.approx(0.032, abs=0.004)


def test_delong_test_p_values_and_sides() -> None:
    y, s = _data(3, n=400)
    two = delong_test(y, s[0], s[2])
    auc_bf, cov_bf = brute_force_delong(y, s[[0, 2]])
    z = (auc_bf[0] - auc_bf[1]) / np.sqrt(cov_bf[0, 0] + cov_bf[1, 1] - 2 * cov_bf[0, 1])
    assert two.z == pytest.approx(z)
    assert two.p_value == pytest.approx(2 * norm.sf(abs(z)))
    greater = delong_test(y, s[0], s[2], alternative="greater")
    less = delong_test(y, s[0], s[2], alternative="less")
    assert greater.p_value == pytest.approx(two.p_value / 2)
    assert greater.p_value + less.p_value == pytest.approx(1.0)
    diff, p = delong_many_vs_one(y, s[0], s[1:], alternative="greater")
    assert p[1] == pytest.approx(greater.p_value)
    assert diff[1] == pytest.approx(greater.difference)


def test_delong_identical_scores_and_bad_labels() -> None:
    y, s = _data(4)
    same = delong_test(y, s[0], s[0])
    assert same.difference == 0 and same.p_value == 1.0
    with pytest.raises(ValueError, match="both classes"):
        delong_covariance(np.zeros(10), np.arange(10.0))
    with pytest.raises(ValueError, match="NaN"):
        delong_covariance(np.r_[0, 1, 0], np.array([0.1, np.nan, 0.3]))


def test_delong_is_calibrated_under_the_null() -> None:
    # two independent noisy copies of one signal: equal true AUCs
    rng = np.random.default_rng(5)
    pvals = []
    for _ in range(300):
        y = rng.integers(0, 2, 120)
        sig = y * 0.8
        pvals.append(delong_test(y, sig + rng.normal(size=120), sig + rng.normal(size=120)).p_value)
    rate = np.mean(np.array(pvals) < 0.05)
    assert 0.01 <= rate <= 0.10


def test_weighted_auc_with_unit_weights_is_the_auc() -> None:
    y, s = _data(6, ties=True)
    m, n = int((y == 1).sum()), int((y == 0).sum())
    auc = weighted_auc(s[0], y, np.ones((1, m)), np.ones((1, n)))
    assert auc[0] == pytest.approx(roc_auc_score(y, s[0]))
    rng = np.random.default_rng(0)
    wp, wn = rng.integers(0, 3, (1, m)).astype(float), rng.integers(0, 3, (1, n)).astype(float)
    yy = np.r_[np.repeat(1, int(wp.sum())), np.repeat(0, int(wn.sum()))]
    ss = np.r_[np.repeat(s[0][y == 1], wp[0].astype(int)), np.repeat(s[0][y == 0],
                                                                     wn[0].astype(int))]
    assert weighted_auc(s[0], y, wp, wn)[0] == pytest.approx(roc_auc_score(yy, ss))


def test_paired_bootstrap_matches_a_loop_and_covers_the_difference() -> None:
    y, s = _data(7, n=200)
    res = paired_bootstrap_auc_difference(y, s[0], s[1], n_boot=400, rng=11)
    assert res.difference == pytest.approx(roc_auc_score(y, s[0]) - roc_auc_score(y, s[1]))
    # same distribution as a plain resampling loop (stratified), up to Monte Carlo error
    rng = np.random.default_rng(12)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    loop = []
    for _ in range(400):
        idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
        loop.append(roc_auc_score(y[idx], s[0][idx]) - roc_auc_score(y[idx], s[1][idx]))
    assert res.se == pytest.approx(np.std(loop, ddof=1), rel=0.2)
    assert res.ci_low < res.difference < res.ci_high
    # the bootstrap SE agrees with DeLong's
    assert res.se == pytest.approx(delong_test(y, s[0], s[1]).se, rel=0.25)
    again = paired_bootstrap_auc_difference(y, s[0], s[1], n_boot=400, rng=11)
    assert again == res


def test_midrank_auc_equals_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    from kbtools.experiments.stats.delong import midrank_auc

    rng = np.random.default_rng(3)
    for n in (7, 50, 400):
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        scores = np.round(rng.normal(size=n) + y, 1)  # rounding makes ties
        assert midrank_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert np.isnan(midrank_auc(np.ones(5), np.arange(5.0)))
