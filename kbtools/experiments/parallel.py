"""The one parallel layer: chunks of work run in this process, a local process pool or a Dask
cluster, through joblib, with results independent of where they ran.

* **Where** is chosen in one place, :func:`open_backend`: ``n_jobs=1`` runs in this process,
  ``n_jobs=W`` on a loky process pool, ``dask="local:W"`` on a ``LocalCluster`` of W
  single-threaded worker processes, ``dask="tcp://host:port"`` on a running scheduler (an HPC
  allocation, see ``docs/analysis/scaling.md``). The last two go through joblib's dask backend,
  so every method runs the same code whichever is chosen.
* **Reproducible**: each chunk gets its own seed (children of one
  :class:`numpy.random.SeedSequence`), and chunking never depends on the number of workers, so
  results are bit-for-bit the same for any backend and worker count (on one kind of CPU: BLAS
  kernels differ between instruction sets). BLAS and OpenMP are pinned to one thread while a
  chunk runs (threadpoolctl): two BLAS threads per process on a two-core machine made small
  SVDs hundreds of times slower.
* **Data travel once**: large inputs are passed as ``shared`` and chunks as small descriptions
  (index ranges, counts). On Dask ``shared`` is scattered to the workers once per call
  (``client.scatter(..., broadcast=True)`` through joblib's ``scatter=``) and each task refers
  to it; on the process pool joblib memory-maps its arrays.
* **Progress** is fed by completed chunks (in completion order), and a worker that dies is
  replaced by the cluster and its chunks re-run elsewhere, while chunks already returned are
  kept.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from kbtools.errors import KBToolsError
from kbtools.experiments.progress import progress_bar

C = TypeVar("C")
R = TypeVar("R")

Seed = np.random.SeedSequence | int

#: Seconds to wait for a Dask scheduler (and its first worker) before giving up.
CONNECT_TIMEOUT = 60


@dataclass(frozen=True)
class Backend:
    """Where a run's chunks execute (recorded in run.yaml as ``execution``)."""

    kind: str
    """``in-process``, ``processes`` (a loky pool on this machine) or ``dask``."""
    workers: int
    """Workers (threads of the pool, or Dask worker threads) the run could use."""
    scheduler: str | None = None
    """Dask only: ``local:W`` for a cluster started by the run, else the scheduler's address."""
    hosts: int = 1
    """Distinct machines the workers ran on."""

    @property
    def n_jobs(self) -> int:
        """The ``n_jobs`` to hand to :func:`map_chunks` under this backend."""
        return 1 if self.kind == "in-process" else -1 if self.kind == "dask" else self.workers

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.kind, "workers": self.workers,
                               "threads_per_worker": 1}
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler
            out["hosts"] = self.hosts
        return out


def parse_dask(spec: str) -> int | None:
    """Workers of ``local:W`` (an int), or None for a scheduler address; KBToolsError else."""
    spec = spec.strip()
    if spec.startswith("local:"):
        count = spec[len("local:"):]
        if count.isdigit() and int(count) >= 1:
            return int(count)
        raise KBToolsError(f"--dask {spec!r}: expected local:W with W a whole number >= 1",
                           hint="e.g. --dask local:2 (two single-threaded worker processes)")
    if "://" in spec and spec.split("://", 1)[1]:
        return None
    raise KBToolsError(f"--dask {spec!r}: expected local:W or a scheduler address",
                       hint="e.g. --dask local:4, or --dask tcp://10.0.0.5:8786 for a running "
                            "scheduler (see docs/analysis/scaling.md for HPC clusters)")


@contextlib.contextmanager
def open_backend(n_jobs: int | None = 1, dask: str | None = None) -> Iterator[Backend]:
    """Choose where chunks run for the duration of the block (the one place that decides).

    With ``dask`` a LocalCluster is started (``local:W``) or a running scheduler joined, and
    joblib's dask backend is active inside the block; it is closed afterwards (a joined
    scheduler and its workers are left running).
    """
    if not dask:
        from joblib import effective_n_jobs

        workers = 1 if n_jobs == 1 else max(1, int(effective_n_jobs(n_jobs)))
        yield Backend("in-process" if workers == 1 else "processes", workers)
        return
    local = parse_dask(dask)
    try:
        import joblib
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is an optional extra
        raise KBToolsError("--dask needs dask.distributed",
                           hint="pip install 'dask[distributed]'") from None
    with contextlib.ExitStack() as stack:
        try:
            if local is not None:
                cluster = stack.enter_context(LocalCluster(
                    n_workers=local, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.ERROR))
                client = stack.enter_context(Client(cluster, timeout=CONNECT_TIMEOUT))
            else:
                client = stack.enter_context(Client(dask, timeout=CONNECT_TIMEOUT))
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise KBToolsError(f"--dask {dask}: cannot reach the scheduler ({exc})",
                               hint="start it first (dask scheduler), check the address and "
                                    "port, or use --dask local:W") from None
        workers = client.scheduler_info(n_workers=-1)["workers"]
        hosts = {w.get("host") for w in workers.values()}
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield Backend("dask", sum(client.nthreads().values()),
                      dask if local is not None else client.scheduler.address,
                      max(1, len(hosts)))


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


def _run_pinned(index: int, fn: Callable[..., R], shared: Any, has_shared: bool, chunk: Any,
                seed: Seed) -> tuple[int, R]:
    with single_threaded_blas():
        rng = np.random.default_rng(seed)
        return index, (fn(shared, chunk, rng) if has_shared else fn(chunk, rng))


_NOTHING = object()


def _active_dask_client() -> Any:
    """The Dask client of the active joblib backend, or None when it is not Dask."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return getattr(backend, "client", None) if type(backend).__name__ == \
        "DaskDistributedBackend" else None


def map_chunks(fn: Callable[..., R], chunks: Sequence[C], n_jobs: int | None = 1,
               seeds: Sequence[Seed] | None = None, *, shared: Any = _NOTHING,
               progress: bool = False, desc: str = "", unit: str = "chunk") -> list[R]:
    """``[fn(chunk, rng_i) for chunk_i]`` (or ``fn(shared, chunk, rng_i)``) in chunk order.

    ``rng_i`` is a ``numpy.random.Generator`` seeded from ``seeds[i]`` (default: children of
    ``SeedSequence(0)``). ``n_jobs=1`` runs in this process; anything else goes through
    ``joblib.Parallel`` and the active backend (see :func:`open_backend`; loky by default).
    ``shared`` is data every chunk reads: it travels to each Dask worker once per call instead
    of with every chunk. Either way BLAS is pinned to one thread while ``fn`` runs.
    """
    chunks = list(chunks)
    if seeds is None:
        seeds = np.random.SeedSequence(0).spawn(len(chunks))
    if len(seeds) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {len(seeds)} seeds")
    has_shared = shared is not _NOTHING
    data = shared if has_shared else None
    out: list[Any] = [None] * len(chunks)
    if n_jobs == 1 or not chunks:
        done: Any = (_run_pinned(i, fn, data, has_shared, c, s)
                     for i, (c, s) in enumerate(zip(chunks, seeds, strict=True)))
        for i, result in progress_bar(done, total=len(chunks), desc=desc, unit=unit,
                                      enabled=progress):
            out[i] = result
        return out
    import joblib
    from joblib import Parallel, delayed

    client = _active_dask_client()
    finished = [False] * len(chunks)

    def results() -> Iterator[tuple[int, Any]]:
        for attempt in range(LOST_WORK_RETRIES + 1):
            todo = [i for i in range(len(chunks)) if not finished[i]]
            try:
                with contextlib.ExitStack() as stack:
                    if client is not None and has_shared:
                        # scattered once to every worker; tasks carry a reference to it
                        stack.enter_context(joblib.parallel_config(
                            backend="dask", client=client, scatter=[data]))
                    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
                    yield from parallel(delayed(_run_pinned)(i, fn, data, has_shared,
                                                             chunks[i], seeds[i]) for i in todo)
                return
            except Exception as exc:  # noqa: BLE001 - only work lost with a worker is retried
                if client is None or attempt == LOST_WORK_RETRIES or not _lost_work(exc):
                    raise
                logging.getLogger(__name__).warning(
                    "a Dask worker was lost with %d of %d chunks unfinished (%s); running "
                    "them again, finished chunks kept", finished.count(False), len(chunks),
                    type(exc).__name__)

    for i, result in progress_bar(results(), total=len(chunks), desc=desc, unit=unit,
                                  enabled=progress):
        out[i], finished[i] = result, True
    return out


#: How often the chunks a lost Dask worker took with it are run again.
LOST_WORK_RETRIES = 2


def _lost_work(exc: BaseException) -> bool:
    """Whether ``exc`` says work was lost with a worker (killed, or the data scattered to it
    gone), as opposed to an error in the work itself."""
    import concurrent.futures

    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    return isinstance(exc, FutureCancelledError | KilledWorker | concurrent.futures.CancelledError)


def split_evenly(total: int, chunk_size: int) -> list[int]:
    """Sizes of consecutive chunks covering ``total`` items, each at most ``chunk_size``."""
    if total <= 0:
        return []
    n = -(-total // max(1, chunk_size))
    base, extra = divmod(total, n)
    return [base + (i < extra) for i in range(n)]


def index_ranges(total: int, chunk_size: int) -> list[range]:
    """Consecutive ranges covering ``range(total)``, each at most ``chunk_size`` long (chunks
    that name their items by position, so no data travels with them)."""
    out, start = [], 0
    for size in split_evenly(total, chunk_size):
        out.append(range(start, start + size))
        start += size
    return out
