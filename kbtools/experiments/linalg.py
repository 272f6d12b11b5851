"""Linear algebra that survives LAPACK's divide-and-conquer SVD failing to converge."""

from __future__ import annotations

import numpy as np


def thin_svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``u, s, vt`` of ``a``: numpy's ``gesdd``, falling back to LAPACK ``gesvd``.

    Seen here: with BLAS pinned to one thread, ``gesdd`` reported "SVD did not converge" on a
    residualized, rank-deficient 351 x 608 training fold that ``gesvd`` solves without trouble.
    """
    try:
        return np.linalg.svd(a, full_matrices=False)
    except np.linalg.LinAlgError:
        import scipy.linalg

        return scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesvd")


def leading_components(xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``k`` largest singular values and right singular vectors of ``xc`` (n x p), from
    the eigenvectors of the smaller Gram matrix, or None when an exact SVD is needed.

    For k well below min(n, p) this costs a quarter of a full thin SVD (one Gram product and a
    partial symmetric eigensolver). Gram eigenvalues carry absolute errors of about
    eps * ||G||, so directions whose singular value is below about sqrt(eps) of the largest
    cannot be told from rank deficiency here; if any of the k is that small, None asks the
    caller for the exact SVD. Signs follow the SVD convention loosely (arbitrary per vector).
    """
    import scipy.linalg

    n, p = xc.shape
    m = min(n, p)
    if k < 1 or 2 * k > m:
        return None
    gram = xc.T @ xc if p <= n else xc @ xc.T
    w, v = scipy.linalg.eigh(gram, subset_by_index=[len(gram) - k, len(gram) - 1],
                             driver="evr", check_finite=False)
    w, v = w[::-1], v[:, ::-1]
    if w[0] <= 0 or w[-1] <= w[0] * max(n, p) * np.finfo(np.float64).eps * 1e3:
        return None
    s = np.sqrt(w)
    vt = v.T if p <= n else (xc.T @ v / s).T
    return s, vt
