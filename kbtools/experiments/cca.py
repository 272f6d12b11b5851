"""Canonical correlation analysis by whitening and one SVD (Bjorck & Golub's angles between
subspaces).

Each modality is whitened once: the thin SVD of the centred data gives an orthonormal basis
``Q`` of its column space; directions whose singular value is below ``tol * s_max`` are
dropped, so rank-deficient data (more features than subjects, collinear columns) are handled.
The canonical correlations are the singular values of ``Qx.T @ Qy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kbtools.experiments.linalg import thin_svd
from kbtools.experiments.preprocessing import numerical_rank


@dataclass
class Whitened:
    """Orthonormal basis of a data matrix's column space and the map that produces it."""

    basis: np.ndarray
    """(n, r) orthonormal columns spanning the centred data."""
    transform: np.ndarray
    """(p, r): ``(X - mean) @ transform == basis``."""
    mean: np.ndarray
    rank: int


def whiten(x: np.ndarray, *, center: bool = True, tol: float | None = None) -> Whitened:
    """Whiten ``x`` (n x p) with a thin SVD, dropping near-zero singular directions."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0) if center else np.zeros(x.shape[1])
    u, s, vt = thin_svd(x - mean)
    r = numerical_rank(s, x.shape, tol)
    if r == 0:
        raise ValueError("data have rank 0 (every column constant)")
    return Whitened(u[:, :r], vt[:r].T / s[:r], mean, r)


@dataclass
class CCAFit:
    """A fitted CCA: canonical correlations, weights and structure coefficients (loadings)."""

    rho: np.ndarray
    """(k,) canonical correlations, decreasing."""
    x_weights: np.ndarray
    """(p, k): training canonical scores ``(X - x_mean) @ x_weights`` have unit variance."""
    y_weights: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray
    x_loadings: np.ndarray
    """(p, k): correlation of each X column with each canonical score (training data)."""
    y_loadings: np.ndarray
    x_rank: int
    y_rank: int
    n: int

    def transform(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canonical scores of (possibly held-out) data."""
        return ((np.asarray(x, dtype=np.float64) - self.x_mean) @ self.x_weights,
                (np.asarray(y, dtype=np.float64) - self.y_mean) @ self.y_weights)

    def score_correlations(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Correlation of each pair of canonical scores on ``x, y`` (out of sample if held out)."""
        u, v = self.transform(x, y)
        return columnwise_corr(u, v)


def columnwise_corr(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching columns (NaN where a column is constant)."""
    u = u - u.mean(axis=0)
    v = v - v.mean(axis=0)
    den = np.sqrt((u**2).sum(axis=0) * (v**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (u * v).sum(axis=0) / den, np.nan)


def _loadings(xc: np.ndarray, scores: np.ndarray) -> np.ndarray:
    sd = xc.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (xc.T @ scores) / len(xc) / (sd[:, None] * scores.std(axis=0)[None, :])


def fit_cca(x: np.ndarray, y: np.ndarray, n_components: int | None = None, *,
            tol: float | None = None) -> CCAFit:
    """CCA of ``x`` (n x p) and ``y`` (n x q); ``n_components`` defaults to min(ranks)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError("x and y need the same rows")
    wx, wy = whiten(x, tol=tol), whiten(y, tol=tol)
    left, s, right_t = np.linalg.svd(wx.basis.T @ wy.basis, full_matrices=False)
    k = min(wx.rank, wy.rank) if n_components is None else min(n_components, wx.rank, wy.rank)
    scale = np.sqrt(len(x) - 1)
    xw = wx.transform @ left[:, :k] * scale
    yw = wy.transform @ right_t[:k].T * scale
    xc, yc = x - wx.mean, y - wy.mean
    u, v = xc @ xw, yc @ yw
    return CCAFit(np.clip(s[:k], 0.0, 1.0), xw, yw, wx.mean, wy.mean, _loadings(xc, u),
                  _loadings(yc, v), wx.rank, wy.rank, len(x))


def canonical_correlations(x: np.ndarray, y: np.ndarray, tol: float | None = None) -> np.ndarray:
    """All canonical correlations of ``x`` and ``y`` (min of the two ranks)."""
    wx, wy = whiten(x, tol=tol), whiten(y, tol=tol)
    return np.clip(np.linalg.svd(wx.basis.T @ wy.basis, compute_uv=False), 0.0, 1.0)
