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
