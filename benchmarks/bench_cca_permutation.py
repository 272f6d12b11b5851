"""Benchmark: CCA permutation test, B = 1000 at N = 5000, p = 512, q = 176 (float64).

Times kbtools' stepwise permutation test (whiten once, one cross-product per permutation,
5 modes tested stepwise) and, in the same run, refitting scikit-learn's CCA per permutation
(a few refits timed, extrapolated to B). Prints both and their ratio.

    .venv/bin/python benchmarks/bench_cca_permutation.py [--n-perm 1000] [--n-jobs 1] [--refits 2]

Shared 2-core machines are noisy: repeat and compare medians.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def _data(n: int, p: int, q: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal(n)
    x = rng.standard_normal((n, p))
    y = rng.standard_normal((n, q))
    x[:, :5] += 0.5 * latent[:, None]
    y[:, :5] += 0.5 * latent[:, None]
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--p", type=int, default=512)
    ap.add_argument("--q", type=int, default=176)
    ap.add_argument("--n-perm", type=int, default=1000)
    ap.add_argument("--n-modes", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--refits", type=int, default=2, help="sklearn CCA refits to time")
    args = ap.parse_args()

    from sklearn.cross_decomposition import CCA

    from kbtools.experiments.parallel import single_threaded_blas
    from kbtools.experiments.permutation import stepwise_permutation_test

    x, y = _data(args.n, args.p, args.q)
    print(f"N={args.n} p={args.p} q={args.q} B={args.n_perm} float64, "
          f"{args.n_modes} modes stepwise, n_jobs={args.n_jobs}, cpus={os.cpu_count()}")
    with single_threaded_blas():
        t0 = time.perf_counter()
        res = stepwise_permutation_test(x, y, args.n_perm, n_modes=args.n_modes,
                                        covariate_method="none", n_jobs=args.n_jobs, seed=1)
        ours = time.perf_counter() - t0
        print(f"kbtools stepwise permutation test: {ours:.1f} s "
              f"(rho1={res.rho[0]:.3f}, p_fwer={np.round(res.p_fwer, 4).tolist()})")

        # the floor: one N x p x q product per permutation and nothing else
        ut = np.linalg.qr(x)[0].T
        v = np.ascontiguousarray(np.linalg.qr(y)[0])
        rng = np.random.default_rng(2)
        n_floor = 40
        t0 = time.perf_counter()
        for _ in range(n_floor):
            ut @ v[rng.permutation(args.n)]
        floor = (time.perf_counter() - t0) / n_floor * args.n_perm
        print(f"matrix-product floor (gather + product only, {n_floor} timed): {floor:.1f} s "
              f"for B={args.n_perm}; kbtools overhead above it: {ours / floor - 1:.0%}")

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(args.refits):
                CCA(n_components=args.n_modes).fit(x, y[rng.permutation(args.n)])
        per_refit = (time.perf_counter() - t0) / args.refits
    refit_total = per_refit * args.n_perm
    print(f"sklearn CCA(n_components={args.n_modes}) refit per permutation: "
          f"{per_refit:.1f} s per refit "
          f"({args.refits} timed) -> {refit_total:,.0f} s for B={args.n_perm} (extrapolated)")
    print(f"ratio: kbtools is {refit_total / ours:,.0f}x faster than refitting")


if __name__ == "__main__":
    main()
