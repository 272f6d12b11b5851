"""Stepwise permutation inference for CCA: exactness, calibration on null data, speed paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space
from scipy.stats import binom

from kbtools.experiments import permutation as pm
from kbtools.experiments import permutation_null as pn

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


@pytest.mark.parametrize(("precision", "atol"), [("float64", 1e-12), ("float32", 1e-6)])
def test_large_and_small_paths_agree(monkeypatch: pytest.MonkeyPatch, precision: str,
                                     atol: float) -> None:
    """The Cholesky exceedance path used for wide blocks counts like exact SVDs (the float32
    products' null values agree to their accuracy, their counts exactly)."""
    rng = np.random.default_rng(2)
    x, y, z = _null_pair(rng, 200, 12, 9, true_modes=1)
    exact = pm.stepwise_permutation_test(x, y, 60, n_modes=4, nuisance=z, seed=3)
    monkeypatch.setattr(pn, "SMALL", 0)
    fast = pm.stepwise_permutation_test(x, y, 60, n_modes=4, nuisance=z, seed=3,
                                        precision=precision)
    np.testing.assert_array_equal(fast.exceed, exact.exceed)
    np.testing.assert_allclose(fast.null_first, exact.null_first, rtol=0, atol=atol)


def test_within_block_permutations_stay_in_their_block() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 2], [5, 7, 4])
    blocks = [np.flatnonzero(labels == b) for b in range(3)]
    for _ in range(20):
        perm = pn.permutation(rng, len(labels), blocks)
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


# ---------------------------------------------------------------------------------------------
# exchangeability blocks: the projection within blocks, the permutations, the null


def _site_design(rng: np.random.Generator, sizes: list[int], n_cov: int = 2
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(Z, labels): intercept, centred covariates and sum-to-zero site coding, like the
    Residualizer's design."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(labels)
    n, k = len(labels), len(sizes)
    cov = rng.standard_normal((n, n_cov))
    coding = np.zeros((n, k - 1))
    for b in range(k):
        coding[labels == b] = np.eye(k)[b, :-1] if b < k - 1 else -1.0
    return np.column_stack([np.ones(n), cov - cov.mean(axis=0), coding]), labels


def _brute_force_blocks(z: np.ndarray, labels: np.ndarray, a: np.ndarray
                        ) -> list[np.ndarray]:
    """Each block's rows projected by an explicit orthonormal complement of its rows of Z."""
    out = []
    for b in np.unique(labels):
        rows = labels == b
        basis = null_space(z[rows].T)  # n_b x (n_b - R_b)
        out.append(basis.T @ a[rows])
    return out


def test_within_block_projection_equals_explicit_per_block_complements() -> None:
    rng = np.random.default_rng(21)
    z, labels = _site_design(rng, [30, 12, 4, 3, 25])  # the 3-subject site has n_b = R_b
    x, y = rng.standard_normal((len(z), 5)), rng.standard_normal((len(z), 3))
    (px, py), blocks, dropped = pm.huh_jhun_within_blocks(z, labels, x, y)
    bx, by = _brute_force_blocks(z, labels, x), _brute_force_blocks(z, labels, y)
    kept = [(i, b) for i, b in enumerate(bx) if len(b)]
    assert [len(b) for b in blocks] == [len(b) for _, b in kept] == [27, 9, 1, 22]
    assert dropped == 3 and len(px) == len(z) - 3 - 4 * 3  # each kept block loses R_b = 3
    for idx, (i, brute) in zip(blocks, kept, strict=True):
        # any orthonormal basis of a block's complement gives the same within-block products
        np.testing.assert_allclose(px[idx].T @ px[idx], brute.T @ brute, atol=1e-10)
        np.testing.assert_allclose(px[idx].T @ py[idx], brute.T @ by[i], atol=1e-10)
    # the observed statistic is that of the pooled model with centre x covariate terms
    per_site = np.column_stack([np.column_stack([rows, rows[:, None] * z[:, 1:3]])
                                for rows in (labels[:, None] == np.unique(labels)).T.astype(float)])
    gx, gy = pm.huh_jhun_project(per_site, x, y)
    from kbtools.experiments.cca import whiten

    def rho(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # projected rows: no centring
        qa, qb = whiten(a, center=False).basis, whiten(b, center=False).basis
        return np.linalg.svd(qa.T @ qb, compute_uv=False)

    np.testing.assert_allclose(rho(px, py), rho(gx, gy), atol=1e-10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=6),
       n_cov=st.integers(0, 3), collinear=st.booleans(), seed=st.integers(0, 2**16))
def test_within_block_projection_annihilates_each_blocks_design(sizes, n_cov, collinear,
                                                                 seed) -> None:
    """Any site structure: sizes from 1 subject, covariates constant within a site (rank
    deficient blocks). Rows kept = n_b - rank(Z_b) per block; the design itself projects to
    zero; each block's residual cross-products are kept."""
    rng = np.random.default_rng(seed)
    z, labels = _site_design(rng, sizes, n_cov)
    if collinear and n_cov:
        z[:, 1] = labels.astype(float)  # a covariate that is constant within each site
    a = rng.standard_normal((len(z), 2))
    (pa, pz), blocks, dropped = pm.huh_jhun_within_blocks(z, labels, a, z)
    ranks = {b: np.linalg.matrix_rank(z[labels == b]) for b in np.unique(labels)}
    sizes_of = {b: int(np.sum(labels == b)) for b in ranks}
    assert [len(i) for i in blocks] == [sizes_of[b] - r for b, r in ranks.items()
                                        if sizes_of[b] > r]
    assert dropped == sum(sizes_of[b] for b, r in ranks.items() if sizes_of[b] <= r)
    np.testing.assert_allclose(pz, 0.0, atol=1e-9)
    assert [int(r) for i in blocks for r in i] == list(range(len(pa)))
    brute = [b for b in _brute_force_blocks(z, labels, a) if len(b)]
    for idx, bb in zip(blocks, brute, strict=True):
        np.testing.assert_allclose(pa[idx].T @ pa[idx], bb.T @ bb, atol=1e-9)


def test_block_permutations_never_leave_their_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every permutation the test draws maps each projected row to a row of its own block."""
    rng = np.random.default_rng(22)
    z, labels = _site_design(rng, [20, 15, 9, 30])
    x, y = rng.standard_normal((len(z), 4)), rng.standard_normal((len(z), 3))
    _, blocks, _ = pm.huh_jhun_within_blocks(z, labels, x)
    block_of = np.concatenate([np.full(len(i), k) for k, i in enumerate(blocks)])
    seen = []
    draw = pn.permutation

    def recording(gen, m, idx):
        perm = draw(gen, m, idx)
        seen.append(perm)
        return perm

    monkeypatch.setattr(pn, "permutation", recording)
    res = pm.stepwise_permutation_test(x, y, 40, nuisance=z, blocks=labels, seed=1)
    assert len(seen) == 40 and res.n_blocks == 4 and res.n_rows == len(block_of)
    for perm in seen:
        np.testing.assert_array_equal(block_of[perm], block_of)
    assert any((perm != np.arange(len(perm))).any() for perm in seen)


@pytest.mark.parametrize("normalize", [False, True])
def test_blocked_test_is_identical_for_any_n_jobs(normalize: bool) -> None:
    import joblib

    rng = np.random.default_rng(23)
    z, labels = _site_design(rng, [40, 25, 35])
    x, y = rng.standard_normal((len(z), 6)), rng.standard_normal((len(z), 4))
    kwargs = dict(nuisance=z, blocks=labels, normalize_blocks=normalize, seed=9, chunk_size=25)
    one = pm.stepwise_permutation_test(x, y, 100, n_jobs=1, **kwargs)
    with joblib.parallel_config(backend="threading"):
        two = pm.stepwise_permutation_test(x, y, 100, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.null_first, two.null_first)
    np.testing.assert_array_equal(one.exceed, two.exceed)


def test_block_normalisation_equalises_each_blocks_mean_square() -> None:
    rng = np.random.default_rng(24)
    blocks = [np.arange(0, 10), np.arange(10, 40)]
    a = rng.standard_normal((40, 3)) * np.r_[np.full(10, 5.0), np.ones(30)][:, None]
    out = pm.normalize_within_blocks(a, blocks)
    ms = [np.sum(out[i] ** 2) / len(i) for i in blocks]
    assert ms[0] == pytest.approx(ms[1]) == pytest.approx(np.sum(a**2) / 40)
    # a block's factor is a function of its rows only: permuting rows within it commutes
    perm = np.r_[rng.permutation(10), 10 + rng.permutation(30)]
    np.testing.assert_allclose(pm.normalize_within_blocks(a[perm], blocks), out[perm])


def _heteroscedastic_pair(rng: np.random.Generator, n: int, p: int, q: int, _true: int
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Six sites of unequal size whose shared factor scales the noise of both blocks (log-SD
    0.5), site offsets and an age effect on both; no coupling."""
    z, labels = _site_design(rng, [n // 3, n // 4, n // 6, n // 8, n // 12,
                                   n - n // 3 - n // 4 - n // 6 - n // 8 - n // 12], 1)
    scale = np.exp(0.5 * rng.standard_normal(6))[labels, None]
    offsets = rng.normal(0, 1, (6, p + q))[labels]
    x = scale * rng.standard_normal((n, p)) + offsets[:, :p] + np.outer(z[:, 1], np.ones(p))
    y = scale * rng.standard_normal((n, q)) + offsets[:, p:] + np.outer(z[:, 1], np.ones(q))
    return x, y, z, labels


@pytest.mark.slow
def test_site_blocks_hold_the_level_when_sites_scale_both_blocks() -> None:
    """Shared site scales inflate every cross-correlation: the free Huh-Jhun test rejects far
    too often, the within-site projection and permutation stays in its band."""
    rng = np.random.default_rng(25)
    n_sets = 200
    lo, hi = _interval(n_sets)
    free = blocked = 0
    for i in range(n_sets):
        x, y, z, labels = _heteroscedastic_pair(rng, 240, 12, 12, 0)
        free += pm.stepwise_permutation_test(x, y, 99, nuisance=z, seed=i).p_fwer[0] <= ALPHA
        blocked += pm.stepwise_permutation_test(x, y, 99, nuisance=z, blocks=labels,
                                                seed=i).p_fwer[0] <= ALPHA
    assert free > hi, f"free Huh-Jhun: {free}/{n_sets}"
    assert lo <= blocked <= hi, f"within sites: {blocked}/{n_sets} outside [{lo}, {hi}]"
