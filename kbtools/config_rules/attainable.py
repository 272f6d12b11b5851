"""Smallest attainable p-value of a test design (pure Python, no numpy).

A test whose smallest possible p-value is above alpha can never reject, whatever the data:
for example the exact Wilcoxon signed-rank test over 5 outer folds has a two-sided floor of
2/2**5 = 0.0625. Design checks and runs use these floors to refuse or flag such designs.
"""

from __future__ import annotations

from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]

#: Tests whose null distribution is continuous (asymptotic): no floor above zero.
CONTINUOUS_TESTS = frozenset({"delong", "paired_t", "corrected_t", "wald"})


def min_p_signed_rank(n_pairs: int, alternative: Alternative = "two-sided") -> float:
    """Floor of the exact Wilcoxon signed-rank (or sign) test with ``n_pairs`` non-zero pairs.

    All ``2**n`` sign patterns are equally likely under the null; the most extreme one has
    probability ``1/2**n`` one-sided and ``2/2**n`` two-sided.
    """
    if n_pairs < 1:
        raise ValueError("n_pairs must be at least 1")
    one_sided = 0.5**n_pairs
    return min(1.0, 2 * one_sided) if alternative == "two-sided" else one_sided


def min_p_permutation(n_permutations: int) -> float:
    """Floor of a Monte Carlo permutation test with ``p = (#{null >= obs} + 1) / (B + 1)``."""
    if n_permutations < 1:
        raise ValueError("n_permutations must be at least 1")
    return 1.0 / (n_permutations + 1)


def min_p(test: str, *, n_pairs: int | None = None, n_permutations: int | None = None,
          alternative: Alternative = "two-sided") -> float:
    """Smallest attainable p-value of ``test`` ("wilcoxon", "sign", "permutation", "bootstrap",
    or a continuous test such as "delong", whose floor is 0)."""
    if test in CONTINUOUS_TESTS:
        return 0.0
    if test in {"wilcoxon", "sign"}:
        if n_pairs is None:
            raise ValueError(f"{test} needs n_pairs")
        return min_p_signed_rank(n_pairs, alternative)
    if test in {"permutation", "bootstrap"}:
        if n_permutations is None:
            raise ValueError(f"{test} needs n_permutations")
        return min_p_permutation(n_permutations)
    raise ValueError(f"unknown test {test!r}")


def min_q_bh(p_floor: float, n_tests: int, n_true: int = 1) -> float:
    """Smallest Benjamini–Hochberg q-value when ``n_true`` of ``n_tests`` p-values sit at the
    floor ``p_floor`` and the rest are larger: ``p_floor * n_tests / n_true`` (capped at 1)."""
    if not 1 <= n_true <= n_tests:
        raise ValueError("need 1 <= n_true <= n_tests")
    return min(1.0, p_floor * n_tests / n_true)
