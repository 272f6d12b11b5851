"""Benjamini–Hochberg FDR control, via :func:`scipy.stats.false_discovery_control`."""

from __future__ import annotations

import numpy as np


def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values); NaN p-values stay NaN and are not counted as tests."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        if (p[ok] < 0).any() or (p[ok] > 1).any():
            raise ValueError("p-values must lie in [0, 1]")
        q[ok] = false_discovery_control(p[ok], method="bh")
    return q
