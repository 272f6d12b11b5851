"""Parallel work is reproducible: same results for any n_jobs and for joblib's dask backend."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from kbtools.experiments import permutation as pm
from kbtools.experiments.context import RunContext
from kbtools.experiments.parallel import map_chunks, split_evenly


def _draw(chunk: int, rng: np.random.Generator) -> np.ndarray:
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return np.concatenate([rng.standard_normal(chunk), [max(blas, default=1)]])


def test_split_evenly_covers_total() -> None:
    sizes = split_evenly(1000, 64)
    assert sum(sizes) == 1000 and max(sizes) <= 64 and max(sizes) - min(sizes) <= 1


def test_same_results_for_any_n_jobs_and_blas_pinned() -> None:
    seeds = RunContext(seed=5).child_seeds(4)
    one = map_chunks(_draw, [3, 3, 3, 3], n_jobs=1, seeds=seeds)
    # threads keep the test fast on a busy machine; loky processes take the same code path
    with joblib.parallel_config(backend="threading"):
        two = map_chunks(_draw, [3, 3, 3, 3], n_jobs=2, seeds=seeds)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a[:-1], b[:-1])
        assert a[-1] == 1  # BLAS pinned to one thread while fn runs


def _null(n_jobs: int) -> pm.PermutationResult:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6))
    y = rng.standard_normal((120, 4))
    return pm.stepwise_permutation_test(x, y, 120, n_jobs=n_jobs, seed=42, chunk_size=30,
                                        covariate_method="none")


def test_dask_backend_gives_identical_null() -> None:
    distributed = pytest.importorskip("dask.distributed")
    sequential = _null(1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        on_dask = _null(-1)
    np.testing.assert_array_equal(on_dask.null_first, sequential.null_first)
    np.testing.assert_array_equal(on_dask.exceed, sequential.exceed)


def test_openmp_is_pinned_even_when_loaded_later() -> None:
    """Gradient boosting loads scikit-learn's OpenMP runtime lazily; it must still run on one
    thread (a fresh interpreter, so nothing is loaded before the limit is set)."""
    import ast
    import os
    import subprocess
    import sys

    code = ("from kbtools.experiments.parallel import single_threaded_blas\n"
            "with single_threaded_blas():\n"
            "    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa\n"
            "    from threadpoolctl import threadpool_info\n"
            "    print(sorted({(p['user_api'], p['num_threads']) for p in threadpool_info()}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
    pools = ast.literal_eval(out.stdout.strip())
    assert ("openmp", 1) in pools and all(n == 1 for _, n in pools)
