"""Chunked parallel map through joblib, reproducible for any backend and any ``n_jobs``.

Each chunk gets its own seed (children of one :class:`numpy.random.SeedSequence`), so the
result depends only on the chunking and the seeds, never on which worker ran what. Inside
workers BLAS is pinned to one thread with threadpoolctl: two BLAS threads per process on a
two-core machine made small SVDs hundreds of times slower. OpenMP (scikit-learn's gradient
boosting) is pinned the same way.

Scaling out on a Dask cluster needs no code change, only joblib's dask backend::

    from dask.distributed import Client, LocalCluster
    import joblib

    with LocalCluster(n_workers=4, threads_per_worker=1) as cluster, Client(cluster):
        with joblib.parallel_config(backend="dask"):
            results = map_chunks(fn, chunks, n_jobs=-1, seeds=seeds)

Dask only pays across machines: send chunks of 50+ permutations so that scheduling overhead
stays small (large arrays captured by ``fn`` are shipped with each task; keep them modest or
use ``functools.partial`` over arrays the cluster already holds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from kbtools.experiments.context import progress_bar

C = TypeVar("C")
R = TypeVar("R")

Seed = np.random.SeedSequence | int


def _run_pinned(fn: Callable[[C, np.random.Generator], R], chunk: C, seed: Seed) -> R:
    with single_threaded_blas():
        return fn(chunk, np.random.default_rng(seed))


def single_threaded_blas() -> Any:
    """Context manager pinning every BLAS and OpenMP pool to one thread (threadpoolctl).

    threadpoolctl only limits libraries already loaded, so scipy.linalg (its BLAS, if separate)
    and scikit-learn's OpenMP helpers are imported first. Without the latter,
    HistGradientBoosting loaded its OpenMP runtime after the limit was set and ran two spinning
    threads per process: on a loaded 2-core machine a 50-tree fit took 4 s instead of 0.3 s.
    """
    import scipy.linalg  # noqa: F401
    import sklearn.utils._openmp_helpers  # noqa: F401  (loads the OpenMP runtime)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def map_chunks(fn: Callable[[C, np.random.Generator], R], chunks: Sequence[C],
               n_jobs: int | None = 1, seeds: Sequence[Seed] | None = None, *,
               progress: bool = False, desc: str = "", unit: str = "chunk") -> list[R]:
    """``[fn(chunk, rng_i) for chunk_i]`` in order, run through joblib.

    ``fn`` receives the chunk and a ``numpy.random.Generator`` seeded from ``seeds[i]``
    (default: children of ``SeedSequence(0)``). ``n_jobs=1`` runs in this process; anything else
    goes through ``joblib.Parallel`` and the active ``joblib.parallel_config`` backend (loky by
    default, dask if configured). Either way BLAS is pinned to one thread while ``fn`` runs.
    ``n_jobs=None`` lets the active config decide.
    """
    chunks = list(chunks)
    if seeds is None:
        seeds = np.random.SeedSequence(0).spawn(len(chunks))
    if len(seeds) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {len(seeds)} seeds")
    if n_jobs == 1:
        it: Iterable[R] = (_run_pinned(fn, c, s) for c, s in zip(chunks, seeds, strict=True))
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        it = parallel(delayed(_run_pinned)(fn, c, s) for c, s in zip(chunks, seeds, strict=True))
    return list(progress_bar(it, total=len(chunks), desc=desc, unit=unit, enabled=progress))


def split_evenly(total: int, chunk_size: int) -> list[int]:
    """Sizes of consecutive chunks covering ``total`` items, each at most ``chunk_size``."""
    if total <= 0:
        return []
    n = -(-total // max(1, chunk_size))
    base, extra = divmod(total, n)
    return [base + (i < extra) for i in range(n)]

