"""A Dask cluster on an HPC scheduler (SLURM) for ``run-experiment --dask``, via dask-jobqueue.

UK Biobank-scale work runs on HPC allocations: each SLURM job is one single-threaded Dask
worker (BLAS pinned to one thread, as on a laptop), the scheduler runs where this function is
called (a login or interactive node), and ``kbtools run-experiment CONFIG --dask ADDRESS``
sends a run's chunks to it. Results are identical to an in-process run when the workers share
one CPU type (BLAS kernels differ between instruction sets). See ``docs/analysis/scaling.md``.
"""

from __future__ import annotations

from typing import Any

#: Environment of every worker job: one thread per BLAS/OpenMP pool.
SINGLE_THREADED = ("export OMP_NUM_THREADS=1", "export OPENBLAS_NUM_THREADS=1",
                   "export MKL_NUM_THREADS=1")


def slurm_cluster(*, queue: str, account: str | None = None, memory: str = "8GB",
                  walltime: str = "04:00:00", prologue: list[str] | tuple[str, ...] = (),
                  **extra: Any) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` of single-threaded workers, one per SLURM job (not
    started: call ``cluster.scale(jobs=N)``). ``prologue`` lines run before each worker
    (``module load``, activating the virtualenv that has kbtools)."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:  # pragma: no cover - optional extra
        from kbtools.errors import KBToolsError

        raise KBToolsError("dask-jobqueue is not installed",
                           hint="pip install 'kbtools[hpc]'") from None
    return SLURMCluster(
        queue=queue, account=account, cores=1, processes=1, memory=memory, walltime=walltime,
        job_script_prologue=[*SINGLE_THREADED, *prologue],
        worker_extra_args=["--nthreads", "1"], scheduler_options={"dashboard_address": ":0"},
        **extra)
