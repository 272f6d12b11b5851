"""`run-experiment --dask`: every method gives the in-process result bit for bit on a local
cluster and on a scheduler address; shared data travel once; a killed worker's chunks re-run."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kbtools.cli import main
from kbtools.errors import KBToolsError
from kbtools.experiments import parallel
from kbtools.yamlio import load_file

distributed = pytest.importorskip("dask.distributed")

REPO = Path(__file__).resolve().parents[2]
#: Each shipped config, made small: the point is the backend, not the statistics.
SHRINK = {
    "01_cca_gene_smri": ["--set", "params.n_permutations=59", "--set", "params.chunk_size=10"],
    "02_prediction_baselines": ["--set", "params.n_boot=100", "--set", "params.C_grid=[0.1, 1]",
                                "--set", "params.hgb.max_iter=5", "--set", "cv.n_splits=4",
                                "--set", "cv.inner_splits=2"],
    "03_logo_gene_attribution": ["--set", "params.tune=fixed_from_full", "--set",
                                 "cv.n_repeats=1", "--set", "cv.n_splits=3", "--set",
                                 "params.C_grid=[0.1, 1]", "--set", "cv.inner_splits=2"],
    "04_partial_correlations": [],
    "05_harmonization_ablation": ["--set", "params.n_boot=100", "--set", "cv.n_splits=4",
                                  "--set", "params.C_grid=[0.1, 1]", "--set",
                                  "cv.inner_splits=2"],
    "06_smri_pca_dimension_search": ["--set", "params.dims=[2, 4, 8]"],
}


@pytest.fixture(scope="module")
def scheduler():
    """A scheduler address with two single-threaded workers (threads of this process, so the
    fixture starts fast; the tasks still travel over TCP like a remote cluster's)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def _kb(root: Path, kb_factory, name: str) -> Path:
    kb_factory(root, n_subjects=400, n_sites=8)
    target = root / "configs" / "experiments" / f"{name}.yaml"
    shutil.copy(REPO / "configs" / "experiments" / f"{name}.yaml", target)
    return target


def _run(root: Path, config: Path, *extra: str) -> tuple[dict, dict]:
    before = set((root / "kb" / "runs").iterdir())
    code = main(["--kb-root", str(root), "run-experiment", str(config), "--quiet",
                 "--set", "outputs.plots=false", *extra])
    assert code == 0
    (run,) = set((root / "kb" / "runs").iterdir()) - before
    metrics = load_file(run / "metrics.yaml")
    metrics.pop("id")
    return metrics, load_file(run / "run.yaml")


@pytest.mark.parametrize("name", list(SHRINK))
def test_every_method_is_identical_on_a_scheduler_address(name, tmp_path, kb_factory,
                                                          scheduler) -> None:
    config = _kb(tmp_path, kb_factory, name)
    here, here_log = _run(tmp_path, config, *SHRINK[name])
    there, there_log = _run(tmp_path, config, *SHRINK[name], "--dask", scheduler)
    assert there == here
    assert here_log["execution"] == {"backend": "in-process", "workers": 1,
                                     "threads_per_worker": 1}
    assert there_log["execution"] == {"backend": "dask", "workers": 2, "threads_per_worker": 1,
                                      "scheduler": scheduler, "hosts": 1}
    assert "--dask" in there_log["command"]


def test_local_clusters_of_one_and_two_workers_match_in_process(tmp_path, kb_factory) -> None:
    config = _kb(tmp_path, kb_factory, "01_cca_gene_smri")
    args = SHRINK["01_cca_gene_smri"]
    here, _ = _run(tmp_path, config, *args)
    one, one_log = _run(tmp_path, config, *args, "--dask", "local:1")
    two, two_log = _run(tmp_path, config, *args, "--dask", "local:2")
    assert one == here and two == here
    assert one_log["execution"]["workers"] == 1 and two_log["execution"]["workers"] == 2
    assert two_log["execution"]["scheduler"] == "local:2"


@pytest.mark.parametrize("spec", ["local:0", "local:two", "local:", "cluster", "tcp://"])
def test_a_malformed_dask_spec_is_a_usage_error(spec) -> None:
    with pytest.raises(KBToolsError, match="--dask"):
        parallel.parse_dask(spec)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, kb_factory, monkeypatch,
                                                   capsys) -> None:
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 2)
    config = _kb(tmp_path, kb_factory, "04_partial_correlations")
    code = main(["--kb-root", str(tmp_path), "run-experiment", str(config), "--quiet",
                 "--dask", "tcp://127.0.0.1:9"])
    assert code != 0
    assert "cannot reach the scheduler" in capsys.readouterr().err
    assert not list((tmp_path / "kb" / "runs").iterdir())


class _Counted:
    """Shared data that counts how often it is unpickled (once per worker when scattered)."""

    loads = 0

    def __init__(self, payload: np.ndarray) -> None:
        self.payload = payload

    def __reduce__(self):
        return (_Counted._load, (self.payload,))

    @staticmethod
    def _load(payload: np.ndarray) -> _Counted:
        _Counted.loads += 1
        return _Counted(payload)


def _sum_rows(shared: _Counted, rows: range, rng: np.random.Generator) -> float:
    return float(shared.payload[rows.start:rows.stop].sum() + rng.standard_normal())


def test_shared_data_travel_once_per_worker_and_chunks_are_index_ranges(scheduler) -> None:
    import joblib

    data = _Counted(np.arange(200_000, dtype=float))
    chunks = parallel.index_ranges(200_000, 10_000)
    seeds = np.random.SeedSequence(3).spawn(len(chunks))
    expected = parallel.map_chunks(_sum_rows, chunks, 1, seeds, shared=data)
    _Counted.loads = 0
    with distributed.Client(scheduler), joblib.parallel_config(backend="dask"):
        got = parallel.map_chunks(_sum_rows, chunks, -1, seeds, shared=data)
    assert got == expected
    # unpickled when scattered to the two workers (receipt and replication), never per chunk
    assert 1 <= _Counted.loads <= 2 * 2 < len(chunks)


def _die_once(marks: str, i: int, rng: np.random.Generator) -> float:
    """Chunk 3 kills its worker process the first time it runs; every run is logged."""
    folder = Path(marks)
    (folder / f"ran-{i}-{time.monotonic_ns()}").touch()
    if i == 3 and not (folder / "killed").exists():
        time.sleep(1.0)  # chunks finished earlier have reached the client by now
        (folder / "killed").write_text(str(time.time()))
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return float(i) + rng.standard_normal()


def _logged_chunks(tmp_path: Path, seed: int) -> tuple[list, list[float], Path]:
    """Seeds for 8 chunks, the results an undisturbed run gives, and a folder each run of a
    chunk leaves a mark in (the chunk functions are pickled by value for the workers)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    seeds = np.random.SeedSequence(seed).spawn(8)
    expected = [float(i) + np.random.default_rng(s).standard_normal() for i, s in
                zip(range(8), seeds, strict=True)]
    marks = tmp_path / "marks"
    marks.mkdir()
    return seeds, expected, marks


def _runs_of(marks: Path) -> list[str]:
    return [p.name.split("-")[1] for p in marks.glob("ran-*")]


def test_a_killed_workers_chunks_rerun_and_finished_chunks_are_kept(tmp_path) -> None:
    seeds, expected, marks = _logged_chunks(tmp_path, 11)
    with parallel.open_backend(dask="local:2") as backend:
        got = parallel.map_chunks(_die_once, list(range(8)), backend.n_jobs, seeds,
                                  shared=str(marks))
    assert got == expected
    runs = _runs_of(marks)
    assert runs.count("3") == 2  # killed once, then re-run on a live worker
    assert (marks / "killed").exists()
    assert all(runs.count(str(i)) <= 2 for i in range(8))
    assert sum(runs.count(str(i)) == 1 for i in range(8)) >= 5  # finished work was kept


def _lose_once(marks: str, i: int, rng: np.random.Generator) -> float:
    """Chunk 5 reports its work lost the first time (as Dask does when the data or the worker
    it ran on is gone); every run is logged."""
    import concurrent.futures

    folder = Path(marks)
    (folder / f"ran-{i}-{time.monotonic_ns()}").touch()
    if i == 5 and not (folder / "lost").exists():
        (folder / "lost").touch()
        raise concurrent.futures.CancelledError("lost with its worker")
    return float(i) + rng.standard_normal()


def _fail_always(marks: str, i: int, rng: np.random.Generator) -> float:
    raise ValueError("an error in the work itself")


def test_lost_work_is_run_again_and_errors_in_the_work_are_not(tmp_path) -> None:
    seeds, expected, marks = _logged_chunks(tmp_path, 5)
    with parallel.open_backend(dask="local:2") as backend:
        got = parallel.map_chunks(_lose_once, list(range(8)), backend.n_jobs, seeds,
                                  shared=str(marks))
        with pytest.raises(ValueError, match="the work itself"):
            parallel.map_chunks(_fail_always, list(range(4)), backend.n_jobs, seeds[:4],
                                shared=str(marks))
    assert got == expected
    runs = _runs_of(marks)
    assert runs.count("5") == 2  # lost once, run again
    assert all(runs.count(str(i)) <= 2 for i in range(8))
