"""ECE, BH FDR, attainable p-values, partial correlations (statsmodels oracle) and ComBat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbtools.config_rules.attainable import min_p, min_p_signed_rank, min_q_bh
from kbtools.experiments.stats.calibration import (
    binary_metrics,
    calibration_bins,
    expected_calibration_error,
)
from kbtools.experiments.stats.combat import ComBat
from kbtools.experiments.stats.fdr import bh_qvalues
from kbtools.experiments.stats.partial import (
    correlation_with_ci,
    logistic_odds_ratio,
    partial_correlation,
)


def test_ece_by_hand_with_empty_bins_and_edges() -> None:
    p = np.array([0.05, 0.05, 0.15, 0.95, 1.0, 0.55])
    y = np.array([0, 1, 0, 1, 1, 0])
    bins = calibration_bins(y, p, n_bins=10)
    assert bins.count.tolist() == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert np.isnan(bins.mean_predicted[2])
    expected = (2 * abs(0.5 - 0.05) + 1 * abs(0 - 0.15) + 1 * abs(0 - 0.55)
                + 2 * abs(1 - 0.975)) / 6
    assert expected_calibration_error(y, p, 10) == pytest.approx(expected)


def test_ece_small_for_calibrated_and_large_for_overconfident() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    over = np.clip((p - 0.5) * 3 + 0.5, 0, 1)
    assert expected_calibration_error(y, over) > 0.1
    with pytest.raises(ValueError, match="within"):
        expected_calibration_error(y[:3], np.array([0.1, 1.2, 0.3]))


def test_binary_metrics_keys_and_auprc_is_stepwise() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    m = binary_metrics(y, p)
    assert m["auroc"] == pytest.approx(0.75)
    # step-wise average precision: (1/1 * 0.5) + (2/3 * 0.5)
    assert m["auprc"] == pytest.approx(0.5 + 1 / 3)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))


def test_bh_matches_statsmodels_and_keeps_nan() -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(0, 0.01, 5), rng.uniform(size=30)]
    np.testing.assert_allclose(bh_qvalues(p), multipletests(p, method="fdr_bh")[1])
    q = bh_qvalues(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], multipletests([0.01, 0.04], method="fdr_bh")[1])


def test_attainable_floors_match_scipy_exact_wilcoxon() -> None:
    from scipy.stats import wilcoxon

    d = np.array([0.3, 0.1, 0.5, 0.2, 0.4])  # all positive: the most extreme pattern
    assert wilcoxon(d, method="exact").pvalue == pytest.approx(min_p_signed_rank(5))
    assert min_p_signed_rank(5) == 0.0625
    assert wilcoxon(d, method="exact", alternative="greater").pvalue == pytest.approx(
        min_p("wilcoxon", n_pairs=5, alternative="greater"))
    assert min_p("delong") == 0.0
    assert min_p("permutation", n_permutations=999) == pytest.approx(0.001)
    assert min_q_bh(1 / 32, 38, 3) == pytest.approx(38 / 96)


def test_corrected_resampled_t() -> None:
    from scipy.stats import ttest_1samp

    from kbtools.experiments.stats.resampled_t import corrected_resampled_t

    d = np.array([0.01, 0.02, -0.005, 0.015, 0.03, 0.012])
    naive = ttest_1samp(d, 0.0, alternative="greater")
    t, p = corrected_resampled_t(d, 0.0)  # no correction: the one-sample t-test
    assert (t, p) == (pytest.approx(naive.statistic), pytest.approx(naive.pvalue))
    t2, p2 = corrected_resampled_t(d, 0.25)
    assert t2 == pytest.approx(t / np.sqrt((1 / 6 + 0.25) * 6)) and p2 > p
    assert corrected_resampled_t(d, 0.25, "two-sided")[1] == pytest.approx(2 * p2)
    with pytest.raises(ValueError):
        corrected_resampled_t(d[:1], 0.25)


def test_partial_pearson_equals_statsmodels_ols() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    n = 200
    z = rng.normal(size=(n, 3))
    x = z @ [0.5, -0.2, 0.1] + rng.normal(size=n)
    y = 0.3 * x + z @ [0.1, 0.4, 0.0] + rng.normal(size=n)
    res = partial_correlation(x, y, z)
    fit = sm.OLS(y, sm.add_constant(np.column_stack([x, z]))).fit()
    t = fit.tvalues[1]
    assert res.r == pytest.approx(t / np.sqrt(t**2 + fit.df_resid))
    assert res.p_value == pytest.approx(fit.pvalues[1])
    assert res.ci_low < res.r < res.ci_high
    # Spearman partial: Pearson partial on ranks, same p-value as OLS on ranks
    rs = partial_correlation(x, y, z, method="spearman")
    from scipy.stats import rankdata

    fr = sm.OLS(rankdata(y), sm.add_constant(np.column_stack(
        [rankdata(x), np.apply_along_axis(rankdata, 0, z)]))).fit()
    assert rs.p_value == pytest.approx(fr.pvalues[1])
    # Spearman CI is wider (rank-based SE) than Pearson's at the same r
    pe = correlation_with_ci(x, y, n_covariates=0)
    sp = correlation_with_ci(x, y, n_covariates=0, method="spearman")
    assert sp.ci_high - sp.ci_low > pe.ci_high - pe.ci_low - 0.02


def test_correlation_with_ci_counts_covariate_degrees_of_freedom() -> None:
    """Residuals of k covariates have n - 2 - k df: the p-value equals OLS's t-test of x in
    y ~ 1 + x + z (statsmodels), and it needs to be told k (no default)."""
    import statsmodels.api as sm

    from kbtools.experiments.stats.partial import residualize

    rng = np.random.default_rng(5)
    n, k = 40, 12  # few subjects, many covariates: the df matter
    z = rng.normal(size=(n, k))
    x = z @ rng.normal(0, 0.3, k) + rng.normal(size=n)
    y = 0.35 * x + z @ rng.normal(0, 0.3, k) + rng.normal(size=n)
    res = correlation_with_ci(residualize(x, z), residualize(y, z), n_covariates=k)
    fit = sm.OLS(y, sm.add_constant(np.column_stack([x, z]))).fit()
    assert res.df == fit.df_resid == n - 2 - k
    assert res.p_value == pytest.approx(fit.pvalues[1], rel=1e-10)
    naive = correlation_with_ci(residualize(x, z), residualize(y, z), n_covariates=0)
    assert naive.p_value < res.p_value  # ignoring k overstates the evidence
    with pytest.raises(TypeError):
        correlation_with_ci(x, y)  # type: ignore[call-arg]
    # a collinear covariate column costs no extra degree of freedom
    dup = partial_correlation(x, y, np.column_stack([z, z[:, :1] * 2.0]))
    assert dup.df == n - 2 - k and dup.p_value == pytest.approx(fit.pvalues[1], rel=1e-8)


def test_partial_correlation_ci_covers_planted_value() -> None:
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(200):
        xy = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=80)
        res = correlation_with_ci(xy[:, 0], xy[:, 1], n_covariates=0)
        hits += res.ci_low <= 0.4 <= res.ci_high
    assert 0.90 <= hits / 200 <= 0.99


def test_logistic_odds_ratio_equals_statsmodels_logit() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    n = 500
    z = rng.normal(size=(n, 2))
    x = rng.normal(size=n)
    eta = -0.5 + 0.7 * x + z @ [0.3, -0.4]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    res = logistic_odds_ratio(y, x, z)
    fit = sm.Logit(y, sm.add_constant(np.column_stack([z, x]))).fit(disp=0)
    assert res.converged
    assert res.coef == pytest.approx(fit.params[-1], rel=1e-7)
    assert res.se == pytest.approx(fit.bse[-1], rel=1e-6)
    assert res.p_value == pytest.approx(fit.pvalues[-1], rel=1e-5)
    lo, hi = np.exp(fit.conf_int()[-1])
    assert (res.ci_low, res.ci_high) == pytest.approx((lo, hi), rel=1e-6)


def test_logistic_odds_ratio_leaves_out_a_site_without_cases() -> None:
    """A site whose subjects are all controls (or all cases) separates: its term is infinite
    and the estimate is the limit, statsmodels' Logit on the other sites."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    n = 400
    site = rng.integers(0, 5, n)
    x = rng.normal(size=n) + 0.3 * site
    eta = -0.8 + 0.6 * x + np.array([0.0, 0.4, -0.3, 0.2, 0.0])[site]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    y[site == 4] = 0  # a small centre with no cases
    y[site == 3] = 1  # and one with only cases
    dummies = (site[:, None] == np.arange(1, 5)).astype(float)
    res = logistic_odds_ratio(y, x, dummies)
    keep = site < 3
    fit = sm.Logit(y[keep], sm.add_constant(np.column_stack([dummies[keep][:, :2], x[keep]]))
                   ).fit(disp=0)
    assert res.n == keep.sum() and res.n_separated == (~keep).sum()
    assert (res.n_cases, res.n_controls) == (y[keep].sum(), (1 - y[keep]).sum())
    assert res.coef == pytest.approx(fit.params[-1], rel=1e-7)
    assert res.se == pytest.approx(fit.bse[-1], rel=1e-6)
    with pytest.raises(ValueError, match="never varies"):
        logistic_odds_ratio(y[site >= 3], x[site >= 3], dummies[site >= 3])


def test_logistic_odds_ratio_with_any_separated_site_equals_statsmodels_on_the_rest() -> None:
    """Any site structure: 3-12 sites of unequal size, a binary covariate (sex) beside the
    site dummies, and any sites, the reference site (all dummies off) included, whose subjects
    are all controls or all cases. The estimate is statsmodels' Logit on the sites whose outcome
    varies (a calibration cohort found the reference-site case: the intercept and every site
    term ran to infinity and the information matrix became singular)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(2026)
    checked = 0
    for _ in range(60):
        k = int(rng.integers(3, 13))
        site = rng.choice(k, size=int(rng.integers(200, 500)), p=rng.dirichlet(np.full(k, 2.0)))
        n = site.size
        age = rng.normal(0, 1, n)
        sex = rng.integers(0, 2, n).astype(float)
        x = rng.normal(size=n) + 0.2 * rng.normal(size=k)[site]
        eta = -1.2 + 0.5 * x + 0.3 * age + rng.normal(0, 0.4, k)[site]
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
        for s in rng.choice(k, size=int(rng.integers(0, 4)), replace=False):
            y[site == s] = int(rng.integers(0, 2))  # a separated site (perhaps the reference)
        present = np.unique(site)
        dummies = (site[:, None] == present[1:]).astype(float)  # the first site: reference
        z = np.column_stack([age, sex, dummies])
        varies = [s for s in present if np.unique(y[site == s]).size == 2]
        keep = np.isin(site, varies)
        if len(varies) < 2 or np.unique(y[keep]).size < 2:
            continue
        res = logistic_odds_ratio(y, x, z)
        own = (site[keep][:, None] == np.array(varies[1:])).astype(float)
        design = sm.add_constant(np.column_stack([age[keep], sex[keep], own, x[keep]]))
        fit = sm.Logit(y[keep], design).fit(disp=0, maxiter=200)
        assert res.converged and res.n == keep.sum() and res.n_separated == (~keep).sum()
        assert res.coef == pytest.approx(fit.params[-1], rel=1e-6, abs=1e-9)
        assert res.se == pytest.approx(fit.bse[-1], rel=1e-5)
        checked += 1
    assert checked >= 40


def _sites_data(seed: int, n: int = 300, p: int = 12):
    rng = np.random.default_rng(seed)
    site = rng.integers(0, 4, n)
    age = rng.normal(60, 8, n)
    sex = rng.integers(0, 2, n).astype(float)
    shift = rng.normal(0, 1, (4, p))
    scale = np.array([1.0, 1.5, 0.7, 2.0])
    x = (0.05 * age[:, None] + 0.3 * sex[:, None] + shift[site]
         + scale[site][:, None] * rng.normal(size=(n, p)))
    return x, site.astype(str), np.column_stack([age, sex])


@pytest.mark.parametrize("eb", [True, False])
def test_combat_equals_neuroharmonize_on_seen_sites(eb: bool) -> None:
    import neuroHarmonize as nh  # MIT; test extra (with its undeclared neuroCombat, nibabel)

    x, site, cov = _sites_data(5)
    covars = pd.DataFrame({"SITE": site, "age": cov[:, 0], "sex": cov[:, 1]})
    train = np.arange(len(x)) % 3 != 0
    model, adjusted = nh.harmonizationLearn(x[train], covars[train].reset_index(drop=True),
                                            eb=eb)
    cb = ComBat(eb=eb).fit(x[train], site[train], cov[train])
    np.testing.assert_allclose(cb.transform(x[train], site[train], cov[train]), adjusted,
                               atol=1e-5)
    applied = nh.harmonizationApply(x[~train], covars[~train].reset_index(drop=True), model)
    np.testing.assert_allclose(cb.transform(x[~train], site[~train], cov[~train]), applied,
                               atol=1e-5)


def test_combat_unseen_site_rule_removes_its_shift_and_keeps_covariates() -> None:
    x, site, cov = _sites_data(6, n=600)
    train = site != "3"
    cb = ComBat().fit(x[train], site[train], cov[train])
    with pytest.raises(ValueError, match="not seen"):
        ComBat(new_sites="error").fit(x[train], site[train], cov[train]).transform(
            x[~train], site[~train], cov[~train])
    out = cb.transform(x[~train], site[~train], cov[~train])
    ref = cb.transform(x[train], site[train], cov[train])
    # the new site's covariate-adjusted mean and SD now match the harmonised training sites
    beta = cb.beta_
    resid_new = out - cov[~train] @ beta
    resid_ref = ref - cov[train] @ beta
    assert np.abs(resid_new.mean(0) - resid_ref.mean(0)).max() < 0.25
    ratio = resid_new.std(0) / resid_ref.std(0)
    assert np.all((ratio > 0.8) & (ratio < 1.25))
    # without EB the rule is exactly: standardise by the site's own mean/SD after removing
    # the training covariate effects
    plain = ComBat(eb=False).fit(x[train], site[train], cov[train])
    s = (x[~train] - plain.grand_mean_ - cov[~train] @ plain.beta_) / np.sqrt(plain.var_pooled_)
    expect = ((s - s.mean(0)) / s.std(0, ddof=1) * np.sqrt(plain.var_pooled_)
              + plain.grand_mean_ + cov[~train] @ plain.beta_)
    np.testing.assert_allclose(plain.transform(x[~train], site[~train], cov[~train]), expect)
    # the age effect survives harmonisation
    age_slope = np.polyfit(np.r_[cov[train, 0], cov[~train, 0]], np.r_[ref[:, 0], out[:, 0]],
                           1)[0]
    assert age_slope == pytest.approx(0.05, abs=0.03)
