"""Permutation inference for CCA with family-wise error control, following "Permutation
inference for canonical correlation analysis", NeuroImage 223:117065 (2020).

Procedure (Roy's largest-root statistic, stepwise):

1. Nuisance: with ``covariate_method="huh_jhun"`` both blocks are projected onto an orthonormal
   basis of the orthogonal complement of the nuisance design Z (N x R, intercept included):
   ``Qz.T @ X`` has N - R rows that *are* exchangeable under the null, whereas residuals
   ``Rz @ X`` are not (residualize-then-permute is anti-conservative when N - R is small).
   ``"residualize"`` permutes residual rows (fine for large N), ``"none"`` only centres.
2. Whiten each block once and take the full SVD of ``Qx.T @ Qy``: canonical variables
   ``U = Qx @ L`` and ``V = Qy @ M`` span the whole column spaces (the modes beyond min(p, q)
   complete them), so ``U.T @ V`` is diagonal with the observed canonical correlations.
3. Each permutation P costs one product ``M_P = U.T @ P @ V`` (never a CCA refit). The null
   statistic of mode k is the largest singular value of ``M_P[k:, k:]``: the CCA of the
   canonical variables of modes k.. after removing the earlier modes, exactly as the paper.
4. ``p_k = (#{null_k >= r_k} + 1) / (B + 1)``; FWER-adjusted ``p_k = max(p_1..p_k)``.

Exchangeability blocks (e.g. sites, as PALM's within-block permutation): rows are permuted
inside their block only, so the test stays exact when blocks differ in mean, variance and
covariance. With ``huh_jhun`` the projection is then done within each block
(:func:`huh_jhun_within_blocks`): a block's rows are projected onto the complement of that
block's own rows of Z, so every transformed row stays in its block. A block-diagonal projection
that annihilates Z must annihilate each block's columns of Z, so within a block the intercept
*and* every covariate get their own coefficient (the site's intercept and any site-specific
covariate slope are absorbed: centre x covariate terms come with the blocks), and block b
gives ``n_b - R_b`` rows (R_b the rank of its rows of Z). A block with ``n_b <= R_b`` gives no
rows and drops out of the test (counted in ``PermutationResult.n_dropped``). With
``normalize_blocks`` each block's rows of each modality are rescaled to the pooled mean
square, a function of that block's rows alone, so within-block exchangeability is kept.
``residualize`` with blocks permutes global residuals within blocks (approximate, large N).
Work is chunked through :func:`kbtools.experiments.parallel.map_chunks` with one seed per
chunk, so results do not depend on ``n_jobs`` or the joblib backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kbtools.experiments.cca import whiten
from kbtools.experiments.parallel import map_chunks, split_evenly
from kbtools.experiments.permutation_null import null_chunk, prepare

COVARIATE_METHODS = ("huh_jhun", "residualize", "none")
PRECISIONS = ("float32", "float64")


def huh_jhun_project(z: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """``Qz.T @ A`` for each array, Qz an orthonormal basis of the complement of col(Z).

    Uses Householder reflectors of Z's orthonormalised columns (LAPACK ormqr), so the
    N x (N - R) basis is never formed.
    """
    from scipy.linalg import lapack, qr

    z = np.asarray(z, dtype=np.float64)
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    r = int(np.sum(s > s[0] * max(z.shape) * np.finfo(float).eps)) if s.size else 0
    (h, tau), _ = qr(u[:, :r], mode="raw")
    out = []
    for a in arrays:
        c = np.array(a, dtype=np.float64, order="F", copy=True)
        work = lapack.dormqr("L", "T", h, tau, c, -1)[1]
        res, _, info = lapack.dormqr("L", "T", h, tau, c, max(1, int(work[0].real)),
                                     overwrite_c=1)
        if info != 0:  # pragma: no cover - LAPACK argument errors only
            raise RuntimeError(f"dormqr failed (info={info})")
        out.append(np.ascontiguousarray(res[r:]))
    return out


def huh_jhun_within_blocks(z: np.ndarray, labels: np.ndarray, *arrays: np.ndarray
                           ) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Huh-Jhun projection done within each block of ``labels``.

    Block b's rows of every array are projected onto the complement of block b's rows of
    ``z`` (:func:`huh_jhun_project`). Returns the projected arrays (rows grouped block by
    block, in the order of ``np.unique(labels)``), the row indices of each block that kept
    rows, and the number of subjects in blocks that kept none (``n_b <= R_b``).
    """
    labels = np.asarray(labels)
    if len(labels) != len(z):
        raise ValueError(f"{len(labels)} block labels for {len(z)} rows")
    parts: list[list[np.ndarray]] = [[] for _ in arrays]
    blocks: list[np.ndarray] = []
    start = dropped = 0
    for b in np.unique(labels):
        rows = np.flatnonzero(labels == b)
        projected = huh_jhun_project(z[rows], *(np.asarray(a)[rows] for a in arrays))
        kept = len(projected[0]) if projected else 0
        if kept == 0:
            dropped += len(rows)
            continue
        for part, values in zip(parts, projected, strict=True):
            part.append(values)
        blocks.append(np.arange(start, start + kept))
        start += kept
    out = [np.concatenate(part) if part else np.zeros((0, np.shape(a)[1]))
           for part, a in zip(parts, arrays, strict=True)]
    return out, blocks, dropped


def rows_after_projection(z: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """(rows the within-block projection removes from blocks that keep rows, subjects of
    blocks that keep none): block b keeps ``n_b - rank(Z_b)`` rows."""
    labels = np.asarray(labels)
    lost = dropped = 0
    for b in np.unique(labels):
        rows = labels == b
        rank = int(np.linalg.matrix_rank(np.asarray(z)[rows]))
        if rows.sum() > rank:
            lost += rank
        else:
            dropped += int(rows.sum())
    return lost, dropped


def normalize_within_blocks(a: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    """``a`` with each block's rows rescaled to the pooled mean square of a row.

    Rows must already be centred within their block (as projected rows are). The factor of a
    block depends only on that block's rows, so rows exchangeable within a block stay so.
    """
    out = np.array(a, dtype=np.float64, copy=True)
    pooled = float(np.sum(out**2)) / max(len(out), 1)
    for idx in blocks:
        own = float(np.sum(out[idx] ** 2)) / len(idx)
        if own > 0:
            out[idx] *= np.sqrt(pooled / own)
    return out


def residualize(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Residuals of ``a`` after least squares on ``z``."""
    beta, *_ = np.linalg.lstsq(z, a, rcond=None)
    return a - z @ beta


@dataclass
class PermutationResult:
    """Observed canonical correlations and their stepwise permutation p-values."""

    rho: np.ndarray
    p_uncorrected: np.ndarray
    p_fwer: np.ndarray
    exceed: np.ndarray
    n_perm: int
    null_first: np.ndarray
    """Null distribution of the first-mode statistic (largest canonical correlation)."""
    n_rows: int
    """Rows permuted (N - R after the Huh-Jhun projection; N - sum of R_b within blocks)."""
    covariate_method: str
    n_blocks: int = 1
    """Exchangeability blocks that kept rows (1: free permutation)."""
    n_dropped: int = 0
    """Subjects of blocks too small to keep a row after the within-block projection."""
    precision: str = "float64"
    """Arithmetic of the permutation products (float32: decisions certified, see
    :mod:`kbtools.experiments.permutation_null`)."""
    n_rechecked: int = 0
    """Permutations whose decisions the float32 product could not certify, recomputed in
    float64."""

    @property
    def min_p(self) -> float:
        return 1.0 / (self.n_perm + 1)


def stepwise_permutation_test(x: np.ndarray, y: np.ndarray, n_perm: int, *,
                              n_modes: int | None = None, nuisance: np.ndarray | None = None,
                              covariate_method: str = "huh_jhun",
                              blocks: np.ndarray | None = None, normalize_blocks: bool = False,
                              n_jobs: int | None = 1, seed: Any = 0, chunk_size: int = 50,
                              progress: bool = False, tol: float | None = None,
                              precision: str = "float32") -> PermutationResult:
    """Stepwise permutation test of the first ``n_modes`` canonical correlations of x and y.

    ``nuisance`` is the N x R design (with intercept) for ``huh_jhun`` / ``residualize``;
    ``blocks`` a length-N label array to permute within (with ``huh_jhun`` the projection is
    done within each block, see the module docstring); ``normalize_blocks`` rescales each
    block's rows to the pooled mean square before the test; ``seed`` an int or SeedSequence
    whose children seed the chunks (so results are identical for any ``n_jobs``).
    ``precision`` is the arithmetic of the permutation products: ``float32`` (about half the
    CPU time) gives the same p-values as ``float64`` (every decision certified or re-checked,
    see :mod:`kbtools.experiments.permutation_null`).

    The whitened blocks travel to each worker once (``map_chunks(shared=...)``); a chunk is a
    count of permutations and a seed, and holds one permutation's arrays at a time, so memory
    stays that of the setup (O(N * p)) whatever the number of permutations.
    """
    if covariate_method not in COVARIATE_METHODS:
        raise ValueError(f"covariate_method must be one of {COVARIATE_METHODS}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    center = True
    n_dropped = 0
    block_idx = None
    if covariate_method != "none" and nuisance is None:
        nuisance = np.ones((len(x), 1))
    if covariate_method == "huh_jhun" and blocks is not None:
        (x, y), block_idx, n_dropped = huh_jhun_within_blocks(nuisance, blocks, x, y)
        center = False
    elif covariate_method == "huh_jhun":
        x, y = huh_jhun_project(nuisance, x, y)
        center = False
    elif covariate_method == "residualize":
        x, y = residualize(nuisance, x), residualize(nuisance, y)
    if blocks is not None and block_idx is None:
        labels = np.asarray(blocks)
        block_idx = [np.flatnonzero(labels == b) for b in np.unique(labels)]
    if normalize_blocks and block_idx is not None:
        if center:  # residualize / none: centre each block first (a function of its rows)
            x, y = (_centre_blocks(a, block_idx) for a in (x, y))
            center = False
        x, y = normalize_within_blocks(x, block_idx), normalize_within_blocks(y, block_idx)
    wx, wy = whiten(x, center=center, tol=tol), whiten(y, center=center, tol=tol)
    left, s, right_t = np.linalg.svd(wx.basis.T @ wy.basis, full_matrices=True)
    k_all = min(wx.rank, wy.rank)
    n_modes = k_all if n_modes is None else min(n_modes, k_all)
    rho = np.clip(s[:n_modes], 0.0, 1.0)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    sizes = split_evenly(n_perm, chunk_size)
    # the probes of the float32 path have a seed of their own: the permutations stay the same
    setup = prepare(wx.basis @ left, wy.basis @ right_t.T, rho**2, block_idx, precision,
                    np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 2**31)))
    del wx, wy, x, y
    parts = map_chunks(null_chunk, sizes, n_jobs, root.spawn(len(sizes)), shared=setup,
                       progress=progress, desc="permutations", unit="chunk")
    null_first = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    exceed = np.sum([p[1] for p in parts], axis=0) if parts else np.zeros(n_modes, int)
    p_unc = (exceed + 1) / (n_perm + 1)
    return PermutationResult(rho, p_unc, np.maximum.accumulate(p_unc), exceed, n_perm,
                             null_first, setup.u.shape[0], covariate_method,
                             1 if block_idx is None else len(block_idx), n_dropped, precision,
                             int(sum(p[2] for p in parts)))


def _centre_blocks(a: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    for idx in blocks:
        out[idx] -= out[idx].mean(axis=0)
    return out
