"""Stepwise permutation inference for CCA: exactness, calibration on null data, speed paths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import null_space
from scipy.stats import binom

from kbtools.experiments import permutation as pm

ALPHA = 0.05


def _nuisance(rng: np.random.Generator, n: int, n_sites: int = 3) -> tuple[np.ndarray, ...]:
    age = rng.standard_normal(n)
    site = rng.integers(0, n_sites, n)
    onehot = np.eye(n_sites)[site][:, 1:]
    z = np.column_stack([np.ones(n), age, onehot])
    return z, age, site


def _null_pair(rng: np.random.Generator, n: int, p: int, q: int, true_modes: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocks sharing age and site effects, coupled only through ``true_modes`` latents."""
    z, age, site = _nuisance(rng, n)
    site_fx = rng.normal(0, 1.0, (3, p + q))
    x = rng.standard_normal((n, p)) + np.outer(age, rng.normal(0.8, 0.2, p)) + site_fx[site, :p]
    y = rng.standard_normal((n, q)) + np.outer(age, rng.normal(0.8, 0.2, q)) + site_fx[site, p:]
    for m in range(true_modes):
        latent = rng.standard_normal(n)
        x[:, m] += 1.5 * latent
        y[:, m] += 1.5 * latent
    return x, y, z


def _interval(n: int) -> tuple[float, float]:
    lo, hi = binom.interval(0.99, n, ALPHA)
    return lo, hi


def test_huh_jhun_projection_is_an_orthonormal_complement() -> None:
    rng = np.random.default_rng(0)
    z, _, _ = _nuisance(rng, 50)
    a = rng.standard_normal((50, 4))
    (proj,) = pm.huh_jhun_project(z, a)
    assert proj.shape == (50 - z.shape[1], 4)
    basis = null_space(z.T)  # an explicit N x (N - R) orthonormal complement
    # any orthonormal basis of the complement gives the same Gram matrix
    np.testing.assert_allclose(proj.T @ proj, (basis.T @ a).T @ (basis.T @ a), atol=1e-10)
    np.testing.assert_allclose(proj.T @ proj, pm.residualize(z, a).T @ pm.residualize(z, a),
                               atol=1e-10)


def test_p_values_follow_the_formula_and_are_monotone() -> None:
    rng = np.random.default_rng(1)
    x, y, z = _null_pair(rng, 150, 6, 5, true_modes=1)
    res = pm.stepwise_permutation_test(x, y, 99, nuisance=z, seed=7)
    assert res.rho.shape == (5,)
    np.testing.assert_allclose(res.p_uncorrected, (res.exceed + 1) / 100)
    assert np.all(np.diff(res.p_fwer) >= 0)
    assert res.p_fwer[0] == pytest.approx(0.01)  # the planted mode beats every permutation
    assert res.n_rows == 150 - z.shape[1]
    assert res.null_first.shape == (99,)


def test_large_and_small_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Cholesky exceedance path used for wide blocks counts like exact SVDs."""
    rng = np.random.default_rng(2)
    x, y, z = _null_pair(rng, 200, 12, 9, true_modes=1)
    exact = pm.stepwise_permutation_test(x, y, 60, n_modes=4, nuisance=z, seed=3)
    monkeypatch.setattr(pm, "SMALL", 0)
    fast = pm.stepwise_permutation_test(x, y, 60, n_modes=4, nuisance=z, seed=3)
    np.testing.assert_array_equal(fast.exceed, exact.exceed)
    np.testing.assert_allclose(fast.null_first, exact.null_first, atol=1e-12)


def test_within_block_permutations_stay_in_their_block() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 2], [5, 7, 4])
    blocks = [np.flatnonzero(labels == b) for b in range(3)]
    for _ in range(20):
        perm = pm._permutation(rng, len(labels), blocks)
        np.testing.assert_array_equal(labels[perm], labels)
        assert sorted(perm) == list(range(len(labels)))


def _false_positive_rate(n_sets: int, *, method: str, n: int, p: int, q: int, true_modes: int,
                         mode: int, seed: int, make=None) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(n_sets):
        x, y, z = (make or _null_pair)(rng, n, p, q, true_modes)
        res = pm.stepwise_permutation_test(x, y, 99, n_modes=mode + 1, nuisance=z,
                                           covariate_method=method, seed=seed * 10_000 + i)
        hits += res.p_fwer[mode] <= ALPHA
    return hits


@pytest.mark.slow
def test_first_mode_is_calibrated_on_null_cohorts() -> None:
    """No coupling, shared age and site effects: FPR at alpha inside the binomial 99% band."""
    n_sets = 250
    hits = _false_positive_rate(n_sets, method="huh_jhun", n=80, p=4, q=3, true_modes=0,
                                mode=0, seed=11)
    lo, hi = _interval(n_sets)
    assert lo <= hits <= hi, f"{hits}/{n_sets} false positives outside [{lo}, {hi}]"


@pytest.mark.slow
def test_second_mode_is_calibrated_with_one_true_mode() -> None:
    n_sets = 250
    hits = _false_positive_rate(n_sets, method="huh_jhun", n=80, p=4, q=3, true_modes=1,
                                mode=1, seed=12)
    lo, hi = _interval(n_sets)
    assert lo <= hits <= hi, f"{hits}/{n_sets} false positives outside [{lo}, {hi}]"


def _many_nuisance(rng: np.random.Generator, n: int, p: int, q: int, _true: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N = 60 subjects, R = 20 nuisance columns with effects on both blocks, no coupling."""
    z = np.column_stack([np.ones(n), rng.standard_normal((n, 19))])
    x = rng.standard_normal((n, p)) + z[:, 1:] @ rng.normal(0, 0.5, (19, p))
    y = rng.standard_normal((n, q)) + z[:, 1:] @ rng.normal(0, 0.5, (19, q))
    return x, y, z


@pytest.mark.slow
def test_residualize_then_permute_is_anticonservative_at_small_n_minus_r() -> None:
    """Residuals are not exchangeable; the Huh-Jhun projection restores calibration."""
    n_sets = 200
    lo, hi = _interval(n_sets)
    naive = _false_positive_rate(n_sets, method="residualize", n=60, p=5, q=5, true_modes=0,
                                 mode=0, seed=13, make=_many_nuisance)
    projected = _false_positive_rate(n_sets, method="huh_jhun", n=60, p=5, q=5, true_modes=0,
                                     mode=0, seed=13, make=_many_nuisance)
    assert naive > hi, f"naive residualize-then-permute: {naive}/{n_sets}"
    assert lo <= projected <= hi, f"Huh-Jhun: {projected}/{n_sets}"


def _naive_second_mode_p(x: np.ndarray, y: np.ndarray, z: np.ndarray, n_perm: int,
                         rng: np.random.Generator) -> float:
    """Mode 2 against the 2nd singular value of the full permuted cross matrix (no removal)."""
    from kbtools.experiments.cca import whiten

    xp, yp = pm.huh_jhun_project(z, x, y)
    qx, qy = whiten(xp, center=False).basis, whiten(yp, center=False).basis
    r2 = np.linalg.svd(qx.T @ qy, compute_uv=False)[1]
    stack = np.stack([qx.T @ qy[rng.permutation(len(qy))] for _ in range(n_perm)])
    null = np.linalg.svd(stack, compute_uv=False)[:, 1]
    return (np.sum(null >= r2) + 1) / (n_perm + 1)


@pytest.mark.slow
def test_naive_stepwise_testing_of_mode_two_is_anticonservative() -> None:
    """Why the stepwise removal matters: the naive test rejects a null mode 2 far too often."""
    rng = np.random.default_rng(14)
    n_sets = 200
    naive = 0
    for _ in range(n_sets):
        x, y, z = _null_pair(rng, 80, 4, 3, true_modes=1)
        naive += _naive_second_mode_p(x, y, z, 99, rng) <= ALPHA
    assert naive > _interval(n_sets)[1], f"naive mode-2 test: {naive}/{n_sets}"
