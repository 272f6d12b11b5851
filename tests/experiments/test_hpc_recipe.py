"""The HPC recipe of docs/analysis/scaling.md builds the SLURM workers it describes (rendered
without a SLURM scheduler: nothing is submitted until the cluster is scaled)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue")

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysis" / "scaling.md"


def _recipe() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    (recipe,) = [b for b in blocks if "slurm_cluster(" in b]
    return recipe


def test_the_documented_recipe_renders_single_threaded_slurm_workers(monkeypatch) -> None:
    from dask_jobqueue import SLURMCluster

    calls: list[dict] = []
    monkeypatch.setattr(SLURMCluster, "scale", lambda self, n=None, jobs=0, **kw: calls.append(
        {"n": n, "jobs": jobs, "script": self.job_script()}))
    monkeypatch.setattr("builtins.input", lambda prompt="": "")
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    exec(compile(_recipe(), str(DOC), "exec"), {"__name__": "recipe"})
    # the recipe's own call (the constructor and close() scale to 0 around it)
    (made,) = [c for c in calls if c["jobs"] or c["n"]]
    script = made["script"]
    assert made["jobs"] == 32
    assert "#SBATCH -p compute" in script and "#SBATCH -A my_ukb_project" in script
    assert "#SBATCH -t 04:00:00" in script and "#SBATCH -n 1" in script
    assert re.search(r"#SBATCH --mem=\d+G", script)
    assert "module load python/3.11" in script and "source ~/kb/.venv/bin/activate" in script
    for var in ("OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1"):
        assert f"export {var}" in script
    assert script.count("--nthreads 1") >= 1 and "--nthreads 2" not in script
    worker = script.strip().splitlines()[-1]
    assert "distributed.cli.dask_worker" in worker and " tcp://" in worker
    assert printed and printed[0].startswith("kbtools run-experiment CONFIG --dask tcp://")


def test_the_recipe_address_is_what_run_experiment_accepts() -> None:
    from kbtools.experiments.parallel import parse_dask

    assert parse_dask("tcp://10.1.2.3:8786") is None  # an address, joined as it is
    assert parse_dask("local:32") == 32
