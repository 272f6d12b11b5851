"""Float32 permutation products: p-values identical to the float64 path, whatever the data.

The float32 path keeps a decision only when it is certified (probe bound on the product error,
Weyl, LAPACK allowances) and recomputes every other permutation in float64. Tested against the
float64 path on planted and null data, with and without site blocks, for every covariate
method; on ties (every permutation reproduces the observed statistic); with a corrupted float32
product (the certificate must notice); and the certificate's pieces against brute force.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.experiments import permutation as pm
from kbtools.experiments import permutation_null as pn


def _cohort(rng: np.random.Generator, n: int, p: int, q: int, planted: float, n_sites: int,
            heteroscedastic: bool = False) -> tuple[np.ndarray, ...]:
    """Blocks with age and site effects, ``planted`` coupling through one latent, sites."""
    sites = rng.integers(0, n_sites, n)
    age = rng.standard_normal(n)
    z = np.column_stack([np.ones(n), age])
    scale = np.exp(0.5 * rng.standard_normal(n_sites))[sites, None] if heteroscedastic else 1.0
    latent = rng.standard_normal(n)
    x = scale * rng.standard_normal((n, p)) + np.outer(age, rng.normal(0.5, 0.2, p)) \
        + rng.normal(0, 1, (n_sites, p))[sites]
    y = scale * rng.standard_normal((n, q)) + np.outer(age, rng.normal(0.5, 0.2, q)) \
        + rng.normal(0, 1, (n_sites, q))[sites]
    x[:, 0] += planted * latent
    y[:, 0] += planted * latent
    return x, y, z, sites


def _both(x, y, n_perm, **kwargs) -> tuple[pm.PermutationResult, pm.PermutationResult]:
    f32 = pm.stepwise_permutation_test(x, y, n_perm, precision="float32", **kwargs)
    f64 = pm.stepwise_permutation_test(x, y, n_perm, precision="float64", **kwargs)
    return f32, f64


def _assert_same_decisions(f32: pm.PermutationResult, f64: pm.PermutationResult,
                           null_atol: float = 1e-5) -> None:
    """Decisions and p-values exactly; the null of mode 1 to the float32 product's accuracy."""
    np.testing.assert_array_equal(f32.exceed, f64.exceed)
    np.testing.assert_array_equal(f32.p_uncorrected, f64.p_uncorrected)
    np.testing.assert_array_equal(f32.p_fwer, f64.p_fwer)
    np.testing.assert_allclose(f32.null_first, f64.null_first, rtol=0, atol=null_atol)
    assert f32.precision == "float32" and f64.precision == "float64"


@pytest.mark.parametrize("planted", [0.0, 1.0], ids=["null", "planted"])
@pytest.mark.parametrize("method", ["huh_jhun", "residualize", "none"])
@pytest.mark.parametrize("blocked", [False, True], ids=["free", "site-blocks"])
def test_float32_gives_the_float64_p_values(planted, method, blocked) -> None:
    """The large path (more than SMALL columns a side) as a real run takes it."""
    rng = np.random.default_rng(31)
    x, y, z, sites = _cohort(rng, 360, 64, 52, planted, 6, heteroscedastic=blocked)
    f32, f64 = _both(x, y, 60, n_modes=4, nuisance=z, covariate_method=method,
                     blocks=sites if blocked else None, normalize_blocks=blocked, seed=5,
                     chunk_size=25)
    _assert_same_decisions(f32, f64)
    if planted:
        assert f64.p_fwer[0] == pytest.approx(1 / 61)  # the planted mode beats every one
    assert f64.n_rechecked == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(30, 140), p=st.integers(1, 9), q=st.integers(1, 9),
       planted=st.sampled_from([0.0, 0.4, 3.0]), n_sites=st.integers(1, 5),
       method=st.sampled_from(["huh_jhun", "residualize", "none"]),
       blocked=st.booleans(), n_modes=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_float32_matches_float64_for_any_shape_and_site_structure(
        n, p, q, planted, n_sites, method, blocked, n_modes, seed) -> None:
    """Any widths (wide and tall cross matrices, one column), sizes, coupling strength and
    site layout, on the large path (SMALL = 0 forces it at these widths)."""
    rng = np.random.default_rng(seed)
    x, y, z, sites = _cohort(rng, n, p, q, planted, n_sites)
    kwargs = dict(n_modes=n_modes, nuisance=z, covariate_method=method,
                  blocks=sites if blocked else None, normalize_blocks=blocked, seed=seed,
                  chunk_size=7)
    with mock.patch.object(pn, "SMALL", 0):
        try:
            f32, f64 = _both(x, y, 23, **kwargs)
        except ValueError as exc:  # a block left with no rows or rank: both paths refuse
            assert "rank" in str(exc) or "rows" in str(exc)
            return
    _assert_same_decisions(f32, f64)


def test_ties_are_decided_by_the_float64_path() -> None:
    """Rows identical within each block: every within-block permutation reproduces the
    observed statistic exactly, so every decision is within rounding and re-checked."""
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(40), 3)
    x = rng.standard_normal((40, 6))[labels]
    y = rng.standard_normal((40, 5))[labels]
    with mock.patch.object(pn, "SMALL", 0):
        f32, f64 = _both(x, y, 30, covariate_method="none", blocks=labels, seed=3)
    _assert_same_decisions(f32, f64)
    assert f32.n_rechecked == 30
    np.testing.assert_array_equal(f32.null_first, f64.null_first)


def test_a_corrupted_float32_product_is_caught() -> None:
    """If the float32 copies were wrong by 1e-3, the probes see it: more permutations are
    re-checked, and the p-values are still the float64 path's."""
    rng = np.random.default_rng(8)
    x, y, z, _ = _cohort(rng, 300, 60, 50, 0.0, 1)
    prepare = pn.prepare

    def corrupted(*args, **kwargs):
        setup = prepare(*args, **kwargs)
        if setup.fast is not None:
            noise = np.random.default_rng(0).standard_normal(setup.fast.ut.shape)
            setup.fast.ut = (setup.fast.ut * (1 + 1e-3 * noise)).astype(np.float32)
        return setup

    honest, f64 = _both(x, y, 40, nuisance=z, seed=2)
    with mock.patch.object(pm, "prepare", corrupted):
        broken = pm.stepwise_permutation_test(x, y, 40, nuisance=z, seed=2)
    _assert_same_decisions(broken, f64, null_atol=1e-2)  # its null values are off by ~1e-4
    _assert_same_decisions(honest, f64)
    assert broken.n_rechecked > honest.n_rechecked


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 40), rank=st.integers(1, 5),
       scale=st.floats(1e-12, 1e3), seed=st.integers(0, 2**16))
def test_probe_bound_covers_the_spectral_norm(rows, cols, rank, scale, seed) -> None:
    """The HMT bound from PROBES Gaussian probes is at least ||B||_2 (fails with probability
    PROBE_ALPHA ** -PROBES = 1e-12), for any shape, rank (a rank-one B is the hard case)."""
    rng = np.random.default_rng(seed)
    b = scale * rng.standard_normal((rows, rank)) @ rng.standard_normal((rank, cols))
    omega = rng.standard_normal((cols, pn.PROBES))
    assert pn.hmt_bound(np.linalg.norm(b @ omega, axis=0)) >= np.linalg.norm(b, 2)


def _orthonormal(rng: np.random.Generator, m: int, r: int) -> np.ndarray:
    return np.linalg.qr(rng.standard_normal((m, r)))[0]


@settings(max_examples=80, deadline=None)
@given(rx=st.integers(1, 12), ry=st.integers(1, 12), n_modes=st.integers(1, 4),
       offset=st.sampled_from([0.0, 1e-15, -1e-15, 1e-9, -1e-9, 1e-6, -1e-6, 1e-3, -1e-3]),
       error=st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-4]), seed=st.integers(0, 2**16))
def test_a_certified_decision_is_the_float64_one(rx, ry, n_modes, offset, error, seed) -> None:
    """For any cross matrix M (orthonormal canonical variables), thresholds placed at, just
    above or just below each trailing block's largest singular value, and a perturbation E
    of norm <= eps: whatever ``certified_statistics(M + E, eps)`` decides is what the float64
    path decides on M (or it declines)."""
    rng = np.random.default_rng(seed)
    m = rx + ry + 5
    mat = _orthonormal(rng, m, rx).T @ _orthonormal(rng, m, ry)
    n_modes = min(n_modes, rx, ry)
    tops = [np.linalg.svd(mat[k:, k:], compute_uv=False)[0] for k in range(n_modes)]
    r2 = np.clip(np.array(tops) + offset, 0, None) ** 2
    thresholds = np.sqrt(r2)
    e = rng.standard_normal(mat.shape)
    e *= error / max(np.linalg.norm(e, 2), 1e-300)
    eps = error * (1 + 1e-9) + 1e-15
    got = pn.certified_statistics(mat + e, r2, thresholds, eps)
    want = pn.exact_statistics(mat, r2, thresholds)
    if got is not None:
        np.testing.assert_array_equal(got[1], want[1])
        assert abs(got[0] - want[0]) <= eps + 1e-12
    if error == 0.0 and abs(offset) >= 1e-6:
        assert got is not None  # clear decisions are certified


def test_bounds_cover_the_actual_errors() -> None:
    """The float64 path's product-error bound and the probes' rounding allowance dominate
    the errors actually made (measured against extended precision)."""
    rng = np.random.default_rng(9)
    m, rx, ry = 400, 30, 20
    u, v = _orthonormal(rng, m, rx), _orthonormal(rng, m, ry)
    setup = pn.prepare(u, v, np.array([0.1]), None, "float32", 1)
    perm = rng.permutation(m)
    exact = setup.u.T.astype(np.longdouble) @ setup.v[perm].astype(np.longdouble)
    m64 = setup.u.T @ setup.v[perm]
    m32 = (setup.fast.ut @ setup.fast.v[perm]).astype(np.float64)
    assert np.linalg.norm((m64 - exact).astype(float), 2) <= setup.fast.exact_error
    inverse = np.argsort(perm)
    eps = pn._certified_eps(setup.fast, m32, inverse, setup.v)
    actual = np.linalg.norm((m32 - exact).astype(float), 2)
    assert actual <= eps < 1e-3  # a bound, and a useful one


def test_float32_copies_do_not_travel_and_rebuild_identically() -> None:
    """A worker receives u and v only (the pickled setup is no larger than them) and builds
    the float32 copies and probes itself, bit for bit as this process did."""
    import pickle

    rng = np.random.default_rng(10)
    u, v = _orthonormal(rng, 300, 40), _orthonormal(rng, 300, 30)
    setup = pn.prepare(u, v, np.array([0.2, 0.1]), None, "float32", 11)
    here = setup.fast
    payload = pickle.dumps(setup)
    assert len(payload) < u.nbytes + v.nbytes + 4_096
    there = pickle.loads(payload)
    assert there._fast is None
    for name in ("ut", "v", "omega", "w", "probe_slack"):
        np.testing.assert_array_equal(getattr(there.fast, name), getattr(here, name))
    assert there.fast.exact_error == here.exact_error
    assert pn.prepare(u, v, np.array([0.2]), None, "float64").fast is None
