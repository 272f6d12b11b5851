"""CCA by whitening + SVD against statsmodels' CanCorr (the oracle) and basic invariants."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.multivariate.cancorr import CanCorr

from kbtools.experiments.cca import canonical_correlations, columnwise_corr, fit_cca, whiten


@pytest.mark.parametrize(("n", "p", "q", "seed"), [(200, 8, 5, 0), (500, 30, 12, 1),
                                                   (120, 40, 40, 2)])
def test_canonical_correlations_equal_statsmodels(n: int, p: int, q: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    y = rng.standard_normal((n, q)) + 0.5 * x[:, :q] @ rng.standard_normal((q, q))
    ours = canonical_correlations(x, y)
    oracle = np.sort(CanCorr(y, x).cancorr)[::-1]
    assert ours.shape == oracle.shape
    np.testing.assert_allclose(ours, oracle, atol=1e-8, rtol=0)


def test_fit_scores_unit_variance_and_in_sample_correlations() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 10))
    y = rng.standard_normal((300, 6))
    y[:, 0] += x[:, 0]
    fit = fit_cca(x, y, 4)
    u, v = fit.transform(x, y)
    np.testing.assert_allclose(u.std(axis=0, ddof=1), 1, atol=1e-10)
    np.testing.assert_allclose(np.corrcoef(u, rowvar=False), np.eye(4), atol=1e-10)
    np.testing.assert_allclose(columnwise_corr(u, v), fit.rho, atol=1e-10)
    # structure coefficients are correlations of features with scores
    np.testing.assert_allclose(fit.x_loadings[:, 0],
                               [np.corrcoef(x[:, j], u[:, 0])[0, 1] for j in range(10)],
                               atol=1e-10)


def test_rank_deficient_data_drop_null_directions() -> None:
    rng = np.random.default_rng(4)
    base = rng.standard_normal((100, 5))
    x = np.hstack([base, base[:, :2] * 2.0, base[:, [0]] - base[:, [1]]])  # rank 5 of 8
    assert whiten(x).rank == 5
    y = rng.standard_normal((100, 4))
    np.testing.assert_allclose(canonical_correlations(x, y), canonical_correlations(base, y),
                               atol=1e-10)


def test_more_features_than_subjects_has_rank_n_minus_1() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((30, 50))
    assert whiten(x).rank == 29
