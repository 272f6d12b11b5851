"""Per-fold combination tests (statsmodels oracle), calibration helpers and held-out centring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kbtools.experiments.preprocessing import CappedPCA, auto_components, centre_by_group
from kbtools.experiments.stats.calibration import (
    ece_if_calibrated,
    expected_calibration_error,
    prior_shift,
)
from kbtools.experiments.stats.fold_combination import (
    dersimonian_laird_tau2,
    fixed_effect,
    hartung_knapp,
)


@pytest.mark.parametrize(("seed", "q_ratio"), [(1, 1.5), (2, 3.0), (3, 8.0), (4, 30.0)])
def test_fixed_and_random_effects_equal_statsmodels(seed: int, q_ratio: float) -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    d, var = _folds_with_q(seed, 5, q_ratio)
    oracle = combine_effects(d, var, method_re="dl")
    assert oracle.tau2 > 0  # the folds disagree beyond their DeLong variances
    fe = fixed_effect(d, var, "two-sided")
    assert fe.estimate == pytest.approx(oracle.mean_effect_fe, rel=1e-12)
    assert fe.se == pytest.approx(oracle.sd_eff_w_fe, rel=1e-12)
    assert fe.p_value == pytest.approx(2 * stats.norm.sf(abs(fe.estimate / fe.se)))
    assert dersimonian_laird_tau2(d, var) == pytest.approx(oracle.tau2, rel=1e-12)
    hk = hartung_knapp(d, var, "two-sided", truncate=False)
    assert hk.estimate == pytest.approx(oracle.mean_effect_re, rel=1e-10)
    assert hk.se == pytest.approx(oracle.sd_eff_w_re_hksj, rel=1e-10)
    assert hk.df == 4 and hk.p_value == pytest.approx(
        2 * stats.t.sf(abs(hk.estimate / hk.se), 4))
    trunc = hartung_knapp(d, var, "two-sided")
    assert trunc.se == pytest.approx(max(oracle.sd_eff_w_re_hksj, oracle.sd_eff_w_re), rel=1e-10)


def _folds_with_q(seed: int, k: int, q_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """k fold differences with unequal variances whose Cochran's Q is ``q_ratio`` (k - 1):
    above 1 the DerSimonian-Laird tau^2 is positive, at 1 exactly zero, below 1 negative."""
    rng = np.random.default_rng(seed)
    var = rng.uniform(1e-4, 9e-4, k)
    w = 1 / var
    e = rng.normal(0, 1, k) * np.sqrt(var)
    e -= (w * e).sum() / w.sum()
    return 0.02 + e * np.sqrt(q_ratio * (k - 1) / (w * e**2).sum()), var


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@pytest.mark.parametrize(("seed", "k", "exact_zero"), [(0, 5, False), (1, 8, False),
                                                        (2, 10, False), (3, 5, True),
                                                        (4, 8, True)])
def test_zero_heterogeneity_equals_the_fixed_effect_hksj_of_statsmodels(
        seed: int, k: int, exact_zero: bool) -> None:
    """tau^2 <= 0: statsmodels keeps the negative DL estimate in its random-effects weights,
    kbtools truncates it at 0, so the random-effects mean is the fixed-effect mean and the
    Hartung-Knapp variance is statsmodels' HKSJ variance of the fixed-effect mean; a weighted
    least-squares fit of an intercept (statsmodels WLS, residual scale) is a second oracle."""
    import statsmodels.api as sm
    from statsmodels.stats.meta_analysis import combine_effects

    d, var = _folds_with_q(seed, k, 1.0 if exact_zero else 0.1 + 0.15 * seed)
    oracle = combine_effects(d, var, method_re="dl")
    if exact_zero:
        assert oracle.tau2 == pytest.approx(0.0, abs=1e-12)
    else:
        assert oracle.tau2 < 0
    assert dersimonian_laird_tau2(d, var) == pytest.approx(0.0, abs=1e-15)
    hk = hartung_knapp(d, var, "two-sided", truncate=False)
    assert hk.tau2 == pytest.approx(0.0, abs=1e-15) and hk.df == k - 1
    assert hk.estimate == pytest.approx(oracle.mean_effect_fe, rel=1e-12)
    assert hk.se == pytest.approx(oracle.sd_eff_w_fe_hksj, rel=1e-10)
    wls = sm.WLS(d, np.ones((k, 1)), weights=1 / var).fit()
    assert hk.estimate == pytest.approx(wls.params[0], rel=1e-12)
    assert hk.se == pytest.approx(wls.bse[0], rel=1e-10)
    assert hk.p_value == pytest.approx(float(wls.t_test(np.eye(1)).pvalue), rel=1e-8)
    # truncated (the default): the scale is Q / (k - 1) <= 1 here, so the fixed-effect SE
    trunc = hartung_knapp(d, var, "two-sided")
    assert trunc.se == pytest.approx(oracle.sd_eff_w_fe, rel=1e-10)
    assert trunc.se >= hk.se * (1 - 1e-12)
    lo, hi = trunc.interval(0.95)
    half = stats.t.ppf(0.975, k - 1) * oracle.sd_eff_w_fe
    assert (lo, hi) == (pytest.approx(oracle.mean_effect_fe - half, rel=1e-10),
                        pytest.approx(oracle.mean_effect_fe + half, rel=1e-10))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fold_combined_auroc_equals_statsmodels_on_the_folds_delong_aurocs(seed: int) -> None:
    """Each fold's AUROC (scikit-learn) and DeLong variance combined around 0.5 by the
    random-effects helper the fold tests use: statsmodels' random-effects mean and HKSJ
    variance of the same numbers (where its tau^2 is positive) give estimate and interval."""
    from sklearn.metrics import roc_auc_score
    from statsmodels.stats.meta_analysis import combine_effects

    from kbtools.experiments.methods._common import fold_auc, fold_combined

    rng = np.random.default_rng(seed)
    aucs, variances = [], []
    for _ in range(8):  # folds whose models differ: a shift of the signal per fold
        y = (rng.uniform(size=150) < 0.3).astype(int)
        score = rng.normal(size=150) + (0.5 + 0.4 * rng.normal()) * y
        auc, var = fold_auc(y, score)
        assert auc == pytest.approx(roc_auc_score(y, score), rel=1e-12)
        aucs.append(auc)
        variances.append(var)
    oracle = combine_effects(np.array(aucs) - 0.5, np.array(variances), method_re="dl")
    assert oracle.tau2 > 0
    got = fold_combined(aucs, variances, null=0.5)
    assert got["estimate"] == pytest.approx(oracle.mean_effect_re + 0.5, abs=1e-6)
    se = max(oracle.sd_eff_w_re_hksj, oracle.sd_eff_w_re)  # truncated: scale at least 1
    half = stats.t.ppf(0.975, 7) * se
    assert got["ci"] == [pytest.approx(oracle.mean_effect_re + 0.5 - half, abs=1e-6),
                         pytest.approx(oracle.mean_effect_re + 0.5 + half, abs=1e-6)]
    assert got["p"] == pytest.approx(2 * stats.t.sf(abs(oracle.mean_effect_re / se), 7),
                                     rel=1e-3)
    assert fold_auc(np.zeros(5), np.arange(5.0)) is None  # one class: no AUROC
    assert np.isnan(fold_combined(aucs[:1], variances[:1], null=0.5)["estimate"])


@pytest.mark.parametrize("seed", [0, 1])
def test_fold_corrected_t_is_scipys_one_sample_t_widened_by_the_correction(seed: int) -> None:
    """What a run prints as an arm's AUROC over folds: with no correction (ratio 0) it is
    scipy's one-sample t-test of the fold AUROCs against 0.5 and its interval; the correction
    multiplies the standard error by sqrt(1 + J ratio) and nothing else."""
    from kbtools.experiments.methods._common import fold_corrected_t

    rng = np.random.default_rng(seed)
    aucs = 0.5 + rng.normal(0.03, 0.04, 10)
    plain = fold_corrected_t(aucs, 0.0, null=0.5)
    oracle = stats.ttest_1samp(aucs, 0.5)
    assert plain["p"] == pytest.approx(oracle.pvalue, rel=1e-3)
    lo, hi = oracle.confidence_interval(0.95)
    assert plain["ci"] == [pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6)]
    assert plain["estimate"] == pytest.approx(aucs.mean(), abs=1e-6) and plain["df"] == 9
    ratio = 1 / 9  # 10 folds: each test fold is a ninth of its training fold
    corrected = fold_corrected_t(aucs, ratio, null=0.5)
    widen = np.sqrt(1 + 10 * ratio)
    assert corrected["se"] == pytest.approx(plain["se"] * widen, abs=2e-6)
    assert corrected["ci"][1] - corrected["ci"][0] == pytest.approx(
        (hi - lo) * widen, abs=3e-6)
    assert corrected["p"] == pytest.approx(
        2 * stats.t.sf(abs(oracle.statistic) / widen, 9), rel=1e-3)


def test_one_sided_p_values_and_degenerate_folds() -> None:
    d, var = np.array([0.02, 0.03, 0.01, 0.025]), np.array([1e-4, 1e-4, 2e-4, 1e-4])
    two = hartung_knapp(d, var, "two-sided")
    greater = hartung_knapp(d, var, "greater")
    assert greater.p_value == pytest.approx(two.p_value / 2)
    assert hartung_knapp(d, var, "less").p_value == pytest.approx(1 - greater.p_value)
    # a fold whose two models rank identically (variance 0, difference 0) still counts
    res = fixed_effect(np.array([0.0, 0.02]), np.array([0.0, 1e-4]))
    assert res.n_folds == 2 and res.estimate == pytest.approx(0.01)
    with pytest.raises(ValueError):
        hartung_knapp(np.array([0.1]), np.array([0.01]))


def test_hartung_knapp_holds_its_level_when_folds_disagree_more_than_delong_says() -> None:
    """Fold differences with true between-fold spread (refitting) and zero mean: the fixed-effect
    z-test rejects far too often, the truncated Hartung-Knapp test holds alpha."""
    rng = np.random.default_rng(11)
    n = 2000
    var = np.full(5, 2e-4)
    d = rng.normal(0, 0.03, (n, 5)) + rng.normal(0, np.sqrt(var), (n, 5))
    fe = np.mean([fixed_effect(row, var).p_value <= 0.05 for row in d])
    hk = np.mean([hartung_knapp(row, var).p_value <= 0.05 for row in d])
    assert fe > 0.3
    assert hk <= 0.06


def test_prior_shift_recovers_unweighted_cell_rates() -> None:
    """Balanced class weights on a saturated model (one binary feature, no penalty): shifting
    the logit back by log(n1/n0) gives exactly the observed case rate of each cell."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 3000)
    y = (rng.uniform(size=3000) < np.where(x == 1, 0.35, 0.12)).astype(int)
    model = LogisticRegression(C=np.inf, class_weight="balanced", tol=1e-12,
                               max_iter=1000).fit(x[:, None], y)
    raw = model.predict_proba(np.array([[0], [1]]))[:, 1]
    fixed = prior_shift(raw, y.mean() / (1 - y.mean()))
    observed = [y[x == 0].mean(), y[x == 1].mean()]
    np.testing.assert_allclose(fixed, observed, atol=1e-5)
    assert abs(raw[0] - observed[0]) > 0.15  # the weighted probabilities meant something else


def test_ece_if_calibrated_is_the_floor_of_a_calibrated_model() -> None:
    rng = np.random.default_rng(4)
    p = rng.beta(2, 5, 400)
    floor = ece_if_calibrated(p, 10, n_draws=300, rng=1)
    draws = [expected_calibration_error((rng.uniform(size=400) < p).astype(float), p)
             for _ in range(300)]
    assert floor == pytest.approx(np.mean(draws), abs=0.005)
    assert 0.01 < floor < 0.08  # positive even though p is perfectly calibrated


def test_centre_by_group_removes_each_group_mean() -> None:
    rng = np.random.default_rng(5)
    groups = np.array(["a", "b", "a", "c", "b", "a"])
    values = rng.normal(size=(6, 2)) + np.where(groups == "a", 5.0, 0.0)[:, None]
    out = centre_by_group(values, groups)
    for g in "abc":
        np.testing.assert_allclose(out[groups == g].mean(axis=0), 0, atol=1e-12)
        shift = out[groups == g] - values[groups == g]
        np.testing.assert_allclose(shift, np.broadcast_to(-values[groups == g].mean(axis=0),
                                                          shift.shape), atol=1e-12)
    np.testing.assert_allclose(centre_by_group(values[:, 0], groups), out[:, 0])


def test_auto_pca_fits_the_number_of_training_subjects() -> None:
    rng = np.random.default_rng(6)
    x = pd.DataFrame(rng.normal(size=(304, 176)))
    pca = CappedPCA("auto").fit(x)
    assert pca.n_components_ == auto_components(304) == 15 and not pca.capped_
    assert CappedPCA(512).fit(x).n_components_ == 176  # rank-capped, reduces nothing
    assert CappedPCA("auto").fit(x.iloc[:25]).n_components_ == 1


@pytest.mark.parametrize(("n", "p", "k"), [(300, 120, 20), (80, 200, 10), (300, 120, 100),
                                           (60, 40, 30)])
def test_capped_pca_equals_scikit_learn_on_both_routes(n: int, p: int, k: int) -> None:
    """Few components come from the Gram matrix, many from a full SVD; both give
    scikit-learn's PCA scores (up to each component's sign) and explained variance."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(n + p + k)
    x = rng.normal(size=(n, p)) @ np.diag(np.linspace(3.0, 0.2, p))
    x[:, :5] += rng.normal(size=(n, 1)) * 4.0  # one dominant direction
    ours = CappedPCA(k).fit(pd.DataFrame(x))
    oracle = PCA(k, svd_solver="full").fit(x)
    a = ours.transform(pd.DataFrame(x)).to_numpy()
    b = oracle.transform(x)
    signs = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a * signs, b, atol=1e-6 * np.abs(b).max())
    np.testing.assert_allclose(ours.explained_variance_ratio_, oracle.explained_variance_ratio_,
                               rtol=1e-8)
    assert (ours.rank_ is None) == (2 * k <= min(n, p))


def test_capped_pca_gram_route_defers_to_svd_on_rank_deficient_data() -> None:
    rng = np.random.default_rng(9)
    base = rng.normal(size=(200, 6))
    x = pd.DataFrame(base @ rng.normal(size=(6, 50)))  # rank 6 of 50
    with pytest.warns(UserWarning, match="rank 6"):
        pca = CappedPCA(10).fit(x)
    assert pca.n_components_ == 6 and pca.rank_ == 6 and pca.capped_
