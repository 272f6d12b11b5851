"""The permutation null of the stepwise CCA test: the statistics of ``M_P = U.T @ P @ V`` for
each permutation P, in float64 or from a float32 product with every decision certified.

Each permutation is summarised by ``first`` (the largest singular value of ``M_P``, the null of
mode 1) and, per tested mode k, whether the largest singular value of ``M_P[k:, k:]`` reaches
the observed ``r_k`` (decided, as in :mod:`kbtools.experiments.permutation`, by whether the
Cholesky factorisation of ``r_k^2 I - G_k`` fails, ``G_k`` the Gram matrix of ``M_P[k:, k:]``).

**float64** (:func:`exact_statistics`) computes ``M_P`` in float64 and decides directly.

**float32** (:func:`certified_statistics`) computes the product ``U.T @ P @ V`` (the whole
cost: the rest is small) in float32, about half the CPU time, and keeps a decision only when it
is *certified* to be the one the float64 path takes; every other permutation is recomputed by
the float64 path. So p-values are identical to the float64 path's; the null values ``first``
agree to the float32 product's accuracy (about 1e-7 here).

Why a certificate and not a worst-case bound: the classical bound on a float32 dot product of
length m is ``|error| <= gamma_m * sum |u_i v_i|`` with ``gamma_m = m u / (1 - m u)``,
``u = 2**-24``; for the whole matrix, ``||E||_2 <= gamma_m * || |U|^T |V| ||_2``. At m = 5,000
and 512 x 176 that is about 0.06, while the permutation null of mode 1 has a standard deviation
of about 0.004: every null-mode decision would sit "within rounding", and re-checking them all
would cost more than the float64 path. The errors actually made are about 2e-7 (spectral norm).
So the bound is measured a posteriori for each permutation, with random probes:

* ``E = fl32(U.T @ P @ V) - U.T @ P @ V`` (against exact products of the float64 inputs).
  For Gaussian vectors ``w_1..w_r``, ``||E||_2 <= alpha * sqrt(2/pi) * max_i ||E.T w_i||``
  except with probability at most ``alpha**-r`` (Halko, Martinsson & Tropp 2011, Lemma 4.1),
  whatever E is. ``E.T w = M32.T w - V.T (U w)[P^-1]``: ``U w`` is computed once, so a probe
  costs one pass over V in float64 (a few per cent of the product). The probes are drawn from
  their own seed, independent of the permutations; with r = 12 probes and alpha = 10 a
  permutation's bound fails with probability at most 1e-12, whatever the data.
* Rounding in computing the probes, and the float64 path's own product error
  (``gamma_m^64 * ||U||_F * ||V||_F``, about 1e-10: rigorous), are added.
* Weyl: every singular value of every ``M_P[k:, k:]`` moves by at most ``||E||_2``. Gram,
  eigenvalue and Cholesky rounding (float64, backward stable: ``||G|| <= 1`` here) are covered
  by ``LAPACK_SLACK``-sized margins on the squared scale.

A decision is kept when the certified interval of the statistic lies on one side of the
threshold; the Cholesky tests run at the two ends of the interval. Ties (rows that are equal, so
that some permutations reproduce the observed statistic exactly) always fall inside the
interval and are decided by the float64 path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Random probes of the float32 product's error, and the HMT factor: a permutation's bound fails
#: with probability at most PROBE_ALPHA ** -PROBES (1e-12), whatever the data.
PROBES = 12
PROBE_ALPHA = 10.0
#: Up to this many columns on the smaller side the exact null of every mode is computed in one
#: batch of SVDs (float64; cheap at that size).
SMALL = 48
U64 = 2.0**-53
U32 = 2.0**-24


def gamma(n: int, unit: float) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)``: the relative error bound of an n-term sum."""
    nu = n * unit
    if nu >= 1:
        raise ValueError(f"gamma_{n} undefined for unit roundoff {unit}")
    return nu / (1 - nu)


def lapack_slack(rx: int, ry: int) -> float:
    """Absolute allowance (squared scale) for forming the Gram matrix of an rx x ry matrix of
    spectral norm <= 1 in float64 (``gamma * min(rx, ry)``) and for the backward error of its
    eigenvalue and Cholesky tests (``(n + 1)^2 u`` on matrices of norm <= 2), with room."""
    n = min(rx, ry)
    return 4 * gamma(rx + ry, U64) * n + 32.0 * (n + 2) ** 2 * U64


def hmt_bound(probe_norms: np.ndarray, alpha: float = PROBE_ALPHA) -> float:
    """``alpha * sqrt(2/pi) * max ||B w_i||``: bounds ``||B||_2`` except with probability
    ``alpha ** -len(probe_norms)`` (Gaussian w_i)."""
    return float(alpha * np.sqrt(2.0 / np.pi) * np.max(probe_norms))


@dataclass
class Float32Products:
    """The float32 copies and the probes of the certified path (built by :func:`prepare`)."""

    ut: np.ndarray
    """(rx, m) float32, C order: U.T."""
    v: np.ndarray
    """(m, ry) float32."""
    omega: np.ndarray
    """(rx, r) standard Gaussian probes."""
    w: np.ndarray
    """(r, m) float64: (U @ omega).T (C order: columns gather fast)."""
    probe_slack: np.ndarray
    """(r,) bound on the float64 rounding of each probe's computation."""
    exact_error: float
    """Bound on the spectral error of the float64 path's own product."""


@dataclass
class NullSetup:
    """What every permutation needs: sent to each worker once (``map_chunks(shared=...)``).
    The float32 copies and probes are not sent: each process builds them on first use."""

    u: np.ndarray
    """(m, rx) canonical variables, left."""
    v: np.ndarray
    """(m, ry) canonical variables, right (C order: rows gather fast)."""
    r2: np.ndarray
    """Observed squared canonical correlations of the tested modes."""
    blocks: list[np.ndarray] | None
    precision: str = "float64"
    probe_seed: np.random.SeedSequence | int = 0
    _fast: Float32Products | None = field(default=None, repr=False, compare=False)

    @property
    def fast(self) -> Float32Products | None:
        """The float32 path's products and probes (None for ``float64``), built once per
        process from ``u``, ``v`` and ``probe_seed``, so identical wherever they are built."""
        if self.precision != "float32":
            return None
        if self._fast is None:
            self._fast = float32_products(self.u, self.v, self.probe_seed)
        return self._fast

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fast": None}  # a worker derives them; they do not travel


def prepare(u: np.ndarray, v: np.ndarray, r2: np.ndarray, blocks: list[np.ndarray] | None,
            precision: str, probe_seed: np.random.SeedSequence | int = 0) -> NullSetup:
    """The setup of either path (``precision`` ``float64`` or ``float32``)."""
    if precision not in ("float32", "float64"):
        raise ValueError("precision must be 'float32' or 'float64'")
    return NullSetup(np.ascontiguousarray(u), np.ascontiguousarray(v), r2, blocks, precision,
                     probe_seed)


def float32_products(u: np.ndarray, v: np.ndarray, probe_seed: np.random.SeedSequence | int
                     ) -> Float32Products:
    """Float32 copies of ``u.T`` and ``v``, the probes, and the rounding allowances."""
    m, rx = u.shape
    omega = np.random.default_rng(probe_seed).standard_normal((rx, PROBES))
    w = np.ascontiguousarray((u @ omega).T)
    norm_u, norm_v = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    # |fl32 product| <= (1 + gamma) |U32|.T |V32|, so ||M32||_F <= (1 + gamma)(||U|| ||V||)(1+u)^2
    norm_m32 = (1 + gamma(m, U32)) * (1 + U32) ** 2 * norm_u * norm_v
    g_rx, g_m = gamma(rx + 1, U64), gamma(m + 1, U64)
    on = np.linalg.norm(omega, axis=0)
    wn = np.linalg.norm(w, axis=1) * (1 + g_rx) + g_rx * norm_u * on
    slack = (g_rx * norm_m32 * on                 # M32.T @ w rounding
             + norm_v * g_rx * norm_u * on         # error of U @ w, through V.T
             + g_m * norm_v * wn                   # V.T @ (U w)[inv] rounding
             + 2 * U64 * (norm_m32 * on + norm_v * wn))  # the subtraction
    return Float32Products(
        ut=np.ascontiguousarray(u.T, dtype=np.float32),
        v=np.ascontiguousarray(v, dtype=np.float32),
        omega=omega, w=w, probe_slack=slack,
        exact_error=gamma(m, U64) * norm_u * norm_v)


def permutation(rng: np.random.Generator, m: int, blocks: list[np.ndarray] | None
                ) -> np.ndarray:
    """A permutation of ``range(m)``, within each block when blocks are given."""
    if blocks is None:
        return rng.permutation(m)
    perm = np.arange(m)
    for idx in blocks:
        perm[idx] = idx[rng.permutation(len(idx))]
    return perm


def _top_eigenvalue(gram: np.ndarray) -> float:
    from scipy.linalg import eigh

    n = len(gram)
    return float(eigh(gram, eigvals_only=True, driver="evx", subset_by_index=[n - 1, n - 1])[0])


def _top_eigenpair(gram: np.ndarray) -> tuple[float, np.ndarray]:
    from scipy.linalg import eigh

    n = len(gram)
    value, vector = eigh(gram, driver="evx", subset_by_index=[n - 1, n - 1])
    return float(value[0]), vector[:, 0]


def _rayleigh_lower(mat: np.ndarray, vector: np.ndarray, k: int, wide: bool) -> float:
    """A lower bound on the largest singular value of ``mat[k:, k:]``: ``||M_k y|| / ||y||``
    for the trailing part y of the top singular vector of ``mat`` (rounding allowed for)."""
    tail = vector[k:]
    norm = float(np.linalg.norm(tail))
    if norm == 0.0:
        return 0.0
    image = tail @ mat[k:, k:] if wide else mat[k:, k:] @ tail
    n = max(mat.shape)
    return float(np.linalg.norm(image)) / norm * (1 - gamma(n + 4, U64))


def _trailing_gram(mat: np.ndarray, gram: np.ndarray, k: int, wide: bool) -> np.ndarray:
    """Gram matrix of ``mat[k:, k:]`` from the whole one (a fresh array, free to overwrite)."""
    head = mat[:k, k:] if not wide else mat[k:, :k].T
    return gram[k:, k:] - head.T @ head


def _cholesky_fails(g: np.ndarray, t: float) -> bool:
    """Whether the Cholesky factorisation of ``t I - g`` fails (g is overwritten)."""
    from scipy.linalg import lapack

    g *= -1.0
    g.flat[:: len(g) + 1] += t
    return lapack.dpotrf(g, lower=1, clean=0, overwrite_a=1)[1] != 0


def exact_statistics(mat: np.ndarray, r2: np.ndarray, thresholds: np.ndarray
                     ) -> tuple[float, np.ndarray]:
    """(first, exceedances per mode) of one permutation's float64 ``M_P`` (the float64 path)."""
    rx, ry = mat.shape
    wide = rx < ry
    gram = mat @ mat.T if wide else mat.T @ mat
    first = np.sqrt(max(_top_eigenvalue(gram), 0.0))
    exceed = np.zeros(len(r2), dtype=np.int64)
    exceed[0] = first >= thresholds[0]
    for k in range(1, len(r2)):
        if first < thresholds[k]:
            continue  # interlacing: a trailing block's top value cannot exceed the whole's
        # Cholesky of r_k^2 I - G_k fails exactly when the largest eigenvalue reaches r_k^2
        exceed[k] = _cholesky_fails(_trailing_gram(mat, gram, k, wide), r2[k])
    return first, exceed


def certified_statistics(mat: np.ndarray, r2: np.ndarray, thresholds: np.ndarray, eps: float,
                         likely: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
    """(first, exceedances) of ``mat`` (a float32 product, as float64) when every decision is
    certified to be the float64 path's, given ``eps >= ||mat - M64||_2`` (M64 the float64
    path's product); None when some decision is not.

    With ``eta`` the Gram/LAPACK allowance on the squared scale: the float64 path's largest
    singular value lies within ``eps`` of ``mat``'s (Weyl), its ``first`` in ``[f_lo, f_hi]``,
    and its Cholesky test of mode k fails when ``sigma_k^2 >= r2_k + 2 eta`` and passes when
    ``sigma_k^2 <= r2_k - 2 eta``. Cholesky tests of ``mat``'s trailing Gram matrices at
    ``t_lo`` / ``t_hi`` place ``sigma_k`` on one side of those, unless the Rayleigh quotient
    of ``mat[k:, k:]`` at the top singular vector already exceeds ``t_hi`` (then no
    factorisation is needed); ``likely[k]`` (exceedances so far are the majority) runs the
    ``t_hi`` test first.
    """
    rx, ry = mat.shape
    wide = rx < ry
    gram = mat @ mat.T if wide else mat.T @ mat
    eta = lapack_slack(rx, ry)
    lam, vector = _top_eigenpair(gram)
    first = float(np.sqrt(max(lam, 0.0)))
    s_lo = max(np.sqrt(max(lam - eta, 0.0)) - eps, 0.0)  # the float64 path's, at least
    s_hi = np.sqrt(lam + eta) + eps
    f_lo = np.sqrt(max(s_lo**2 - 2 * eta, 0.0)) * (1 - 4 * U64)
    f_hi = np.sqrt(s_hi**2 + 2 * eta) * (1 + 4 * U64)
    exceed = np.zeros(len(r2), dtype=np.int64)
    if f_lo >= thresholds[0]:
        exceed[0] = 1
    elif f_hi >= thresholds[0]:
        return None
    for k in range(1, len(r2)):
        if f_hi < thresholds[k]:
            continue  # the float64 path skips this mode too (interlacing)
        top = np.sqrt(r2[k] + 2 * eta) + eps
        if _rayleigh_lower(mat, vector, k, wide) >= top:
            exceed[k] = 1  # a certified lower bound already reaches it: no factorisation
            continue
        root = np.sqrt(max(r2[k] - 2 * eta, 0.0))
        t_lo = (root - eps) ** 2 - 2 * eta if root > eps else -np.inf
        t_hi = top**2 + 2 * eta
        tests = ((t_hi, 1), (t_lo, 0)) if likely is not None and likely[k] else \
            ((t_lo, 0), (t_hi, 1))
        for t, verdict in tests:
            if verdict == 0 and t > 0 and not _cholesky_fails(
                    _trailing_gram(mat, gram, k, wide), t):
                break  # sigma_k^2 <= r2_k - 2 eta in the float64 path: no exceedance
            if verdict == 1 and _cholesky_fails(_trailing_gram(mat, gram, k, wide), t):
                exceed[k] = 1  # sigma_k^2 >= r2_k + 2 eta: counted (and its first >= r_k)
                break
        else:
            return None
    return first, exceed


def _certified_eps(fast: Float32Products, mat: np.ndarray, inverse: np.ndarray,
                   v: np.ndarray) -> float:
    """Certified bound on ``||M_P - mat||_2`` plus the float64 path's own error."""
    probes = mat.T @ fast.omega - (np.take(fast.w, inverse, axis=1) @ v).T
    norms = np.linalg.norm(probes, axis=0) + fast.probe_slack
    eps = hmt_bound(norms) + fast.exact_error
    return eps * (1 + 1e-6) + 1e-15  # room for the rounding of the bound itself


def _small_chunk(setup: NullSetup, n_perm: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Few columns: the exact null of every mode from batched SVDs (always float64)."""
    m = setup.u.shape[0]
    ut = setup.u.T
    stack = np.stack([ut @ setup.v[permutation(rng, m, setup.blocks)] for _ in range(n_perm)])
    first = np.empty(n_perm)
    exceed = np.zeros(len(setup.r2), dtype=np.int64)
    for k in range(len(setup.r2)):
        top = np.linalg.svd(stack[:, k:, k:], compute_uv=False)[:, 0]
        if k == 0:
            first[:] = top
        exceed[k] = int(np.sum(top >= np.sqrt(setup.r2[k])))
    return first, exceed, 0


def null_chunk(setup: NullSetup, n_perm: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """(null of mode 1 per permutation, exceedance counts per mode, permutations re-checked in
    float64) for ``n_perm`` permutations drawn from ``rng``. Memory: the setup plus one
    permutation's arrays, whatever ``n_perm``."""
    if min(setup.u.shape[1], setup.v.shape[1]) <= SMALL:
        return _small_chunk(setup, n_perm, rng)
    m = setup.u.shape[0]
    thresholds = np.sqrt(setup.r2)
    first = np.empty(n_perm)
    exceed = np.zeros(len(setup.r2), dtype=np.int64)
    ut = setup.u.T
    fast = setup.fast
    rechecked = 0
    if fast is not None:
        inverse = np.empty(m, dtype=np.intp)
        positions = np.arange(m)
    for j in range(n_perm):
        perm = permutation(rng, m, setup.blocks)
        out = None
        if fast is not None:
            mat = (fast.ut @ fast.v[perm]).astype(np.float64)
            inverse[perm] = positions
            out = certified_statistics(mat, setup.r2, thresholds,
                                       _certified_eps(fast, mat, inverse, setup.v),
                                       2 * exceed > j)
            rechecked += out is None
        if out is None:
            out = exact_statistics(ut @ setup.v[perm], setup.r2, thresholds)
        first[j] = out[0]
        exceed += out[1]
    return first, exceed, rechecked
