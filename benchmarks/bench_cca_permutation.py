"""Benchmark: the CCA permutation test in-process, on `local:1` and `local:2`, against the bare
matrix-product floor (float64 and float32), measured in one run; and the projected core-hours
of a UK Biobank-sized test (N = 40,000, B = 10,000) from a run at reduced B.

Every figure is a whole process tree (wall, CPU seconds of the process and its workers, peak
resident memory of the tree), run under ``nice``, interleaved round by round:

* ``kbtools`` stepwise test (5 modes, B permutations, N x 512 and N x 176, float64) through the
  parallel layer in this process, on a Dask LocalCluster of one and of two workers;
* the floor: the whitened cross-covariance ``U.T @ V[perm]`` of every permutation and nothing
  else, one core, in float64 and in float32 (the target of the float32 products);
* optionally (``--refits K``) scikit-learn's CCA refit per permutation, K refits timed and
  extrapolated to B (labelled so: B refits take hours).

    .venv/bin/python benchmarks/bench_cca_permutation.py [--n 5000] [--n-perm 1000]
        [--repeat 1] [--project] [--refits 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure  # noqa: E402


def _data(n: int, p: int, q: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    latent = rng.standard_normal(n)
    x = rng.standard_normal((n, p))
    y = rng.standard_normal((n, q))
    x[:, :5] += 0.5 * latent[:, None]
    y[:, :5] += 0.5 * latent[:, None]
    return x, y


def one(args: argparse.Namespace) -> None:
    """Run one configuration in this process (a subprocess of the benchmark)."""
    import numpy as np

    from kbtools.experiments.parallel import open_backend, single_threaded_blas

    x, y = _data(args.n, args.p, args.q)
    out: dict = {}
    with single_threaded_blas():
        if args.one in ("floor64", "floor32"):
            dtype = np.float64 if args.one == "floor64" else np.float32
            ut = np.ascontiguousarray(np.linalg.qr(x)[0].T.astype(dtype))
            v = np.ascontiguousarray(np.linalg.qr(y)[0].astype(dtype))
            rng = np.random.default_rng(2)
            for _ in range(args.n_perm):
                ut @ v[rng.permutation(args.n)]
        elif args.one == "refit":
            import warnings

            from sklearn.cross_decomposition import CCA

            rng = np.random.default_rng(2)
            start = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(args.refits):
                    CCA(n_components=5).fit(x, y[rng.permutation(args.n)])
            out["per_refit_cpu"] = (time.process_time() - start) / args.refits
        else:
            from kbtools.experiments.permutation import stepwise_permutation_test

            dask = None if args.one == "in-process" else args.one
            with open_backend(1, dask) as backend:
                res = stepwise_permutation_test(x, y, args.n_perm, n_modes=5,
                                                covariate_method="none",
                                                n_jobs=backend.n_jobs, seed=1)
            out["p_fwer"] = np.round(res.p_fwer, 4).tolist()
            out["null_sum"] = float(res.null_first.sum())
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--p", type=int, default=512)
    ap.add_argument("--q", type=int, default=176)
    ap.add_argument("--n-perm", type=int, default=1000)
    _measure.add_backend_options(ap)
    ap.add_argument("--refits", type=int, default=0, help="sklearn CCA refits to time")
    ap.add_argument("--project", action="store_true",
                    help="also N = 40,000, B = 10,000 projected from B = --project-b")
    ap.add_argument("--project-b", type=int, default=100)
    args = ap.parse_args()
    if args.one:
        one(args)
        return
    me = [sys.executable, __file__, "--n", str(args.n), "--p", str(args.p), "--q", str(args.q),
          "--n-perm", str(args.n_perm), "--refits", str(max(args.refits, 1))]
    print(f"N={args.n} p={args.p} q={args.q} B={args.n_perm}, 5 modes stepwise; "
          f"{_measure.load_note()}", flush=True)
    labels = [*args.backends, "floor64", "floor32"] + (["refit"] if args.refits else [])
    runs: dict[str, list] = {label: [] for label in labels}
    for _ in range(args.repeat):
        for label in labels:
            runs[label].append(_measure.run([*me, "--one", label]))
    results = {label: json.loads(ms[0].stdout.strip().splitlines()[-1]) for label, ms in
               runs.items()}
    same = len({json.dumps(results[b]) for b in args.backends}) == 1
    floor = statistics.median(m.cpu for m in runs["floor64"])
    print("\nrun | wall s | CPU-s | peak MB (tree) | CPU vs float64 floor")
    for label, ms in runs.items():
        wall = statistics.median(m.wall for m in ms)
        cpu = statistics.median(m.cpu for m in ms)
        peak = max(m.peak_mb for m in ms)
        if label == "refit":
            cpu = results[label]["per_refit_cpu"] * args.n_perm
            print(f"sklearn CCA refit per permutation (extrapolated from {args.refits}) | - | "
                  f"{cpu:,.0f} | {peak:.0f} | {cpu / floor:,.0f}x")
            continue
        print(f"{label} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {cpu / floor:.2f}x")
    print(f"results identical across {', '.join(args.backends)}: {same}")
    _measure.compare_backends(runs, args.backends)
    if args.project:
        big = [sys.executable, __file__, "--n", "40000", "--p", str(args.p), "--q",
               str(args.q), "--n-perm", str(args.project_b)]
        small = _measure.run([*big, "--one", "in-process"])
        tiny = _measure.run([*big[:-1], "1", "--one", "in-process"])  # set-up only
        per_perm = (small.cpu - tiny.cpu) / (args.project_b - 1)
        total = tiny.cpu + per_perm * 10_000
        print(f"\nN = 40,000, B = 10,000 projected from B = {args.project_b}: "
              f"{per_perm:.3f} CPU-s per permutation, {total / 3600:.2f} core-hours "
              f"({total / 60:.0f} core-minutes); peak memory {small.peak_mb:.0f} MB "
              f"(B = {args.project_b}) and {tiny.peak_mb:.0f} MB (B = 1): memory does not "
              "grow with B")
    print(f"\n{_measure.load_note()}")


if __name__ == "__main__":
    main()
