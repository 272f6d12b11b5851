"""Benchmark: the CCA permutation test (float32 products, decisions certified) against the
bare matrix-product floor in float64 and float32, in-process, on `local:1` and `local:2`,
measured in one run; and the projected core-hours and memory of a UK Biobank-sized test
(N = 40,000, B = 10,000) from runs at reduced B.

Every figure is a whole process tree (wall, CPU seconds of the process and its workers, peak
memory of the tree), run under ``nice``, interleaved round by round:

* ``kbtools`` stepwise test (5 modes, B permutations, N x 512 and N x 176) through the parallel
  layer: float32 products (the default) in this process, on a Dask LocalCluster of one and of
  two workers, and the float64 path in this process (p-values must be identical);
* the floor: the whitened cross-covariance ``U.T @ V[perm]`` of every permutation and nothing
  else, one core, in float64 (the issue's anchor) and in float32;
* optionally (``--refits K``) scikit-learn's CCA refit per permutation, K refits timed and
  extrapolated to B (labelled so: B refits take hours).

It prints the ratios the issue sets: kbtools float32 CPU / float64 floor (target <= 0.6),
2 workers' wall-time speed-up over 1 (>= 1.7), their extra CPU over the in-process run
(<= 15%) and their memory over it (<= 1.3), with the machine's load.

``--project`` runs the shipped design (Huh-Jhun projection on age and sex within 22 sites,
per-site normalisation) at N = 40,000 with B = 1 and B = --project-b (two sizes, to show that
memory does not grow with B), in-process and on ``local:2``, and projects B = 10,000.

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


def _shipped_design(n: int, seed: int = 1):
    """(nuisance, site labels) like config 01 on a UK Biobank-sized cohort: intercept, age and
    sex; 22 centres of Zipf-like sizes (the largest about 10x the smallest)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 23) ** 0.8
    sites = rng.choice(22, size=n, p=weights / weights.sum())
    nuisance = np.column_stack([np.ones(n), rng.normal(0, 1, n), rng.integers(0, 2, n)])
    return nuisance, sites


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

            where, _, precision = args.one.partition("/")
            design: dict = {"covariate_method": "none"}
            if args.shipped:
                nuisance, sites = _shipped_design(args.n)
                design = {"covariate_method": "huh_jhun", "nuisance": nuisance,
                          "blocks": sites, "normalize_blocks": True}
            with open_backend(1, None if where == "in-process" else where) as backend:
                res = stepwise_permutation_test(x, y, args.n_perm, n_modes=5,
                                                n_jobs=backend.n_jobs, seed=1,
                                                precision=precision or "float32", **design)
            out["p_fwer"] = res.p_fwer.tolist()
            out["exceed"] = res.exceed.tolist()
            out["rechecked"] = res.n_rechecked
            out["null_sum"] = round(float(res.null_first.sum()), 4)
    print(json.dumps(out))


def _median(ms: list, key: str) -> float:
    return statistics.median(getattr(m, key) for m in ms)


def _project(args: argparse.Namespace) -> None:
    """N = 40,000, shipped design: B = 1 (set-up), B = b and B = 2b, in-process and local:2."""
    n = 40_000
    base = [sys.executable, __file__, "--n", str(n), "--p", str(args.p), "--q", str(args.q),
            "--shipped"]
    b = args.project_b
    runs = {}
    for label, n_perm in (("in-process", 1), ("in-process", b), ("in-process", 2 * b),
                          ("local:2", 2 * b)):
        runs[(label, n_perm)] = _measure.run([*base, "--n-perm", str(n_perm), "--one", label])
    setup = runs[("in-process", 1)]
    per_perm = (runs[("in-process", 2 * b)].cpu - runs[("in-process", b)].cpu) / b
    total = setup.cpu + per_perm * 10_000
    print(f"\nN = 40,000, {args.p} x {args.q}, shipped design (Huh-Jhun within 22 sites, "
          f"age + sex, per-site normalisation), float32 products:")
    print("run | B | wall s | CPU-s | peak MB (tree)")
    for (label, n_perm), m in runs.items():
        print(f"{label} | {n_perm} | {m.wall:.1f} | {m.cpu:.1f} | {m.peak_mb:.0f}")
    rechecked = json.loads(runs[("in-process", 2 * b)].stdout.strip().splitlines()[-1])
    print(f"per permutation {per_perm:.3f} CPU-s (B = {2 * b} minus B = {b}); set-up "
          f"{setup.cpu:.1f} CPU-s; {rechecked['rechecked']} of {2 * b} permutations re-checked "
          "in float64")
    print(f"projected B = 10,000: {total / 3600:.2f} core-hours ({total / 60:.0f} "
          f"core-minutes), {total / 3600 / 2:.2f} h wall on 2 workers; peak memory "
          f"{runs[('in-process', b)].peak_mb:.0f} MB at B = {b} and "
          f"{runs[('in-process', 2 * b)].peak_mb:.0f} MB at B = {2 * b} in-process (chunks of "
          f"50: memory does not grow with B), {runs[('local:2', 2 * b)].peak_mb:.0f} MB on "
          "local:2 (whole tree)")


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
    ap.add_argument("--project-only", action="store_true", help="only the projection")
    ap.add_argument("--project-b", type=int, default=100)
    ap.add_argument("--shipped", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args)
        return
    print(f"N={args.n} p={args.p} q={args.q} B={args.n_perm}, 5 modes stepwise; "
          f"{_measure.load_note()}", flush=True)
    if not args.project_only:
        _compare(args)
    if args.project or args.project_only:
        _project(args)
    print(f"\n{_measure.load_note()}")


def _compare(args: argparse.Namespace) -> None:
    me = [sys.executable, __file__, "--n", str(args.n), "--p", str(args.p), "--q", str(args.q),
          "--n-perm", str(args.n_perm), "--refits", str(max(args.refits, 1))]
    labels = [*args.backends, "in-process/float64", "floor64", "floor32"] + (
        ["refit"] if args.refits else [])
    runs: dict[str, list] = {label: [] for label in labels}
    for _ in range(args.repeat):
        for label in labels:
            runs[label].append(_measure.run([*me, "--one", label]))
    results = {label: json.loads(ms[0].stdout.strip().splitlines()[-1]) for label, ms in
               runs.items()}
    floor = _median(runs["floor64"], "cpu")
    print("\nrun | wall s | CPU-s | peak MB (tree) | CPU vs float64 floor")
    for label, ms in runs.items():
        wall, cpu, peak = _median(ms, "wall"), _median(ms, "cpu"), max(m.peak_mb for m in ms)
        if label == "refit":
            cpu = results[label]["per_refit_cpu"] * args.n_perm
            print(f"sklearn CCA refit per permutation (extrapolated from {args.refits}) | - | "
                  f"{cpu:,.0f} | {peak:.0f} | {cpu / floor:,.0f}x")
            continue
        name = {"floor64": "floor: U.T @ V[perm], float64",
                "floor32": "floor: U.T @ V[perm], float32",
                "in-process/float64": "kbtools in-process, float64 products"}.get(
            label, f"kbtools {label}, float32 products")
        print(f"{name} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {cpu / floor:.2f}x")
    kb = [b for b in args.backends if b in results]
    same = len({json.dumps({k: results[b][k] for k in ("p_fwer", "exceed", "null_sum")})
                for b in kb}) == 1
    print(f"results identical across {', '.join(kb)}: {same}")
    if "in-process" in results:
        f32, f64 = results["in-process"], results["in-process/float64"]
        print(f"float32 vs float64 products: p-values identical: "
              f"{f32['p_fwer'] == f64['p_fwer']}, exceedances identical: "
              f"{f32['exceed'] == f64['exceed']}; {f32['rechecked']} of {args.n_perm} "
              "permutations re-checked in float64")
        print(f"kbtools (float32) CPU / float64 floor: "
              f"{_median(runs['in-process'], 'cpu') / floor:.2f} (target <= 0.6); float32 "
              f"floor / float64 floor: {_median(runs['floor32'], 'cpu') / floor:.2f}")
    _measure.compare_backends(runs, args.backends)


if __name__ == "__main__":
    main()
