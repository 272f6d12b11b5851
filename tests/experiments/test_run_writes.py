"""Runs fail early and cleanly: unwritable or misplaced run folders, killed runs, huge counts.

Every failure must come before the computation (the method is never called), as a message
with exit 2 and no traceback, and leave neither a run directory nor a staging folder.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kbtools import run_folders as staging
from kbtools.cli import main
from kbtools.experiments import runlog
from kbtools.validation import validate_kb

REPO = Path(__file__).resolve().parents[2]


def _run(root: Path, cfg: Path, *extra: str) -> int:
    return main(["--kb-root", str(root), "run-experiment", str(cfg), "--quiet", *extra])


def _staging_folders(*folders: Path) -> list[Path]:
    return [p for f in folders if f.is_dir() for p in f.iterdir()
            if p.name.startswith(staging.PREFIX)]


def _fail_mkdir_under(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """Make every mkdir below ``folder`` fail as on a read-only or full filesystem."""
    real = os.mkdir

    def mkdir(path, *args, **kwargs):
        if Path(os.fsdecode(path)).resolve().is_relative_to(folder.resolve()):
            raise OSError(code, os.strerror(code), os.fsdecode(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)


@pytest.mark.parametrize(("code", "words"), [
    (errno.EROFS, "read-only filesystem"),
    (errno.EACCES, "no permission"),
    (errno.ENOSPC, "no space left"),
])
def test_unwritable_runs_folder_fails_before_computing(small_kb, never_computes, monkeypatch,
                                                       capsys, code, words) -> None:
    root, cfg = small_kb
    _fail_mkdir_under(monkeypatch, root / "kb", code)
    assert _run(root, cfg) == 2
    err = capsys.readouterr().err
    assert words in err and "kb/runs" in err and "Traceback" not in err
    assert never_computes == []
    assert list((root / "kb" / "runs").iterdir()) == []
    assert _staging_folders(root / "kb", root / "kb" / "runs") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_runs_folder_without_root(small_kb, never_computes, capsys) -> None:
    root, cfg = small_kb
    runs = root / "kb" / "runs"
    runs.chmod(0o555)
    try:
        assert _run(root, cfg) == 2
    finally:
        runs.chmod(0o755)
    assert "no permission" in capsys.readouterr().err and never_computes == []


def test_disk_full_while_writing_leaves_no_half_written_run(small_kb, monkeypatch,
                                                            capsys) -> None:
    root, cfg = small_kb

    def full(path: Path, text: str) -> None:
        path.write_bytes(text.encode()[:10])  # a partial file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(runlog, "write_text_atomic", full)
    assert _run(root, cfg) == 2
    err = capsys.readouterr().err
    assert "no space left" in err and "Traceback" not in err
    assert list((root / "kb" / "runs").iterdir()) == []
    assert _staging_folders(root / "kb", root / "kb" / "runs") == []


def test_cross_device_rename_is_a_message(small_kb, monkeypatch, capsys) -> None:
    root, cfg = small_kb
    real = os.rename

    def rename(src, dst, *args, **kwargs):
        if Path(os.fsdecode(dst)).parent == (root / "kb" / "runs").resolve():
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    assert _run(root, cfg) == 2
    err = capsys.readouterr().err
    assert "different filesystems" in err and "Traceback" not in err
    assert list((root / "kb" / "runs").iterdir()) == []
    assert _staging_folders(root / "kb", root / "kb" / "runs") == []


def test_runs_folder_symlinked_out_of_the_kb_is_refused(small_kb, tmp_path_factory,
                                                        never_computes, capsys) -> None:
    root, cfg = small_kb
    elsewhere = tmp_path_factory.mktemp("bigdisk") / "runs"
    elsewhere.mkdir()
    (root / "kb" / "runs").rmdir()
    (root / "kb" / "runs").symlink_to(elsewhere)
    assert _run(root, cfg) == 2
    err = capsys.readouterr().err
    assert "path.symlink-outside" in err and "--runs-dir" in err and "Traceback" not in err
    assert never_computes == [] and list(elsewhere.iterdir()) == []


def test_runs_folder_symlinked_inside_the_kb_works(small_kb) -> None:
    root, cfg = small_kb
    archive = root / "archive" / "runs"
    archive.mkdir(parents=True)
    (root / "kb" / "runs").rmdir()
    (root / "kb" / "runs").symlink_to(archive)
    assert _run(root, cfg) == 0
    (run,) = archive.iterdir()
    assert (run / "run.yaml").is_file()
    assert _staging_folders(root / "kb", root / "archive", archive) == []


def _separate_mount(path: Path) -> bool:
    try:
        return path.is_dir() and os.stat(path).st_dev != os.stat(path.parent).st_dev \
            and os.access(path, os.W_OK)
    except OSError:
        return False


@pytest.mark.skipif(not _separate_mount(Path("/dev/shm")), reason="no separate /dev/shm mount")
def test_runs_folder_on_its_own_filesystem(small_kb) -> None:
    """``--runs-dir`` at a mount point: staging beside it would be on another filesystem
    ("Invalid cross-device link" after the whole computation); it is staged inside it."""
    root, cfg = small_kb
    runs = Path("/dev/shm")
    before = set(runs.iterdir())
    try:
        assert _run(root, cfg, "--runs-dir", str(runs)) == 0
        new = [p for p in set(runs.iterdir()) - before if "_01_cca_gene_smri_" in p.name]
        assert len(new) == 1 and (new[0] / "run.yaml").is_file()
    finally:  # remove only what this run made
        for path in set(runs.iterdir()) - before:
            if "_01_cca_gene_smri_" in path.name or path.name.startswith(staging.PREFIX):
                shutil.rmtree(path, ignore_errors=True)
    ours = staging.staging_prefix()  # other processes may be running tests at the same time
    assert [p for p in _staging_folders(runs, Path("/dev")) if p.name.startswith(ours)] == []


def test_staging_parent_follows_the_filesystem(tmp_path: Path, monkeypatch) -> None:
    runs = tmp_path / "kb" / "runs"
    runs.mkdir(parents=True)
    assert staging.staging_parent(runs) == tmp_path / "kb"
    real_stat = os.stat
    devices = {str(runs): 99}

    def stat(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if str(path) in devices:
            return os.stat_result((*result[:2], devices[str(path)], *result[3:]))
        return result

    monkeypatch.setattr(os, "stat", stat)
    assert staging.staging_parent(runs) == runs  # a mount point: stage inside it


def _killed_in_staging(kb_runs: Path) -> Path:
    """Run a process that opens a staging folder and is killed with SIGKILL inside it."""
    code = ("import os, signal, sys\n"
            "from pathlib import Path\n"
            "from kbtools.run_folders import staged_run_dir\n"
            "with staged_run_dir(Path(sys.argv[1])) as folder:\n"
            "    (folder / 'metrics.yaml').write_text('partial')\n"
            "    print(folder, flush=True)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code, str(kb_runs)], capture_output=True,
                          text=True, env=env)
    assert done.returncode == -signal.SIGKILL
    folder = Path(done.stdout.strip())
    assert folder.is_dir() and (folder / "metrics.yaml").is_file()
    return folder


def test_killed_run_leftover_is_reported_then_cleaned(small_kb, capsys) -> None:
    root, cfg = small_kb
    leftover = _killed_in_staging(root / "kb" / "runs")
    assert leftover.parent == root / "kb" and leftover.name.startswith(".run-staging-")
    old_style = root / "kb" / ".run-staging-k2j4h1"  # no owner in the name, two days old
    old_style.mkdir()
    stamp = time.time() - 48 * 3600
    os.utime(old_style, (stamp, stamp))
    young = root / "kb" / ".run-staging-q8w7e6"  # no owner, an hour old: maybe still running
    young.mkdir()
    mine = Path(tempfile.mkdtemp(prefix=staging.staging_prefix(), dir=root / "kb"))  # alive
    result = validate_kb(root, jobs=1)
    found = [p for p in result.problems if p.rule == "kb.staging-leftover"]
    assert sorted(p.path for p in found) == sorted([f"kb/{leftover.name}",
                                                    f"kb/{old_style.name}"])
    assert {p.severity for p in found} == {"warning"}
    assert main(["--kb-root", str(root), "run-experiment", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert "removed 2 staging folder(s)" in err
    assert not leftover.exists() and not old_style.exists()
    assert young.exists() and mine.exists()


def test_dry_run_reports_leftovers_without_removing_them(small_kb, capsys) -> None:
    root, cfg = small_kb
    leftover = _killed_in_staging(root / "kb" / "runs")
    main(["--kb-root", str(root), "run-experiment", str(cfg), "--dry-run"])
    assert "found 1 staging folder(s)" in capsys.readouterr().err
    assert leftover.exists()


def test_staging_folders_are_ignored_by_git() -> None:
    done = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "-q",
                           "kb/.run-staging-123-0a1b2c3d-x7y8z9/metrics.yaml"])
    assert done.returncode == 0


# --------------------------------------------------------------------------------------------
# counts that would fill memory are refused by the schema, in validate and in the run


@pytest.mark.parametrize("value", ["1000000000000", "1e12", "100001"])
def test_huge_permutation_counts_are_refused(small_kb, never_computes, capsys,
                                             value: str) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--dry-run", "--set", f"params.n_permutations={value}") == 1
    err = capsys.readouterr().err
    assert "params.n_permutations" in err and "Traceback" not in err
    assert never_computes == []


def test_validate_refuses_huge_counts_in_a_config(small_kb, capsys) -> None:
    root, cfg = small_kb
    text = cfg.read_text().replace("n_permutations: 39", "n_permutations: 1000000000000")
    cfg.write_text(text)
    assert main(["--kb-root", str(root), "validate", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "schema.params" in out and "n_permutations" in out
    line = text.splitlines().index("  n_permutations: 1000000000000") + 1
    assert f"01_cca_gene_smri.yaml:{line}:" in out


@pytest.mark.parametrize(("key", "value"), [("cv.n_repeats", "1000000"),
                                            ("cv.n_splits", "100000")])
def test_huge_cv_counts_are_refused(small_kb, never_computes, key: str, value: str) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--dry-run", "--set", f"{key}={value}") == 1


# --------------------------------------------------------------------------------------------
# the dry run shows the estimated memory and time of the plan


def _estimate_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("estimated peak memory"))


def _parse_bytes(text: str) -> float:
    number, unit = text.split()
    return float(number) * 1024 ** (["B", "KB", "MB", "GB", "TB", "PB"].index(unit))


def test_dry_run_estimates_memory_and_time(small_kb, capsys) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--dry-run") == 0
    line = _estimate_line(capsys.readouterr().out)
    assert "estimated time: ~" in line
    small = _parse_bytes(line.split("~")[1].split(";")[0])
    assert _run(root, cfg, "--dry-run", "--set", "params.n_permutations=100000") == 0
    out = capsys.readouterr().out
    big = _parse_bytes(_estimate_line(out).split("~")[1].split(";")[0])
    # one test: (100,000 - 39) null values of 8 bytes, plus a chunk overhead per 50
    assert big - small >= (100_000 - 39) * 8
    assert "one test: 100,000 permutations" in out


def test_estimated_memory_covers_the_loaded_data(small_kb) -> None:
    """The estimate starts from what the tables take in memory (measured by pandas)."""
    from kbtools.experiments import cv, estimate
    from kbtools.experiments.cohort import load_cohort
    from kbtools.yamlio import load_file

    root, cfg = small_kb
    config = {**load_file(cfg), "seed": 0}
    cohort = load_cohort(config, root, {}, 0)
    folds = cv.outer_folds(cohort, config.get("cv") or {}, config.get("outcome"), 0)
    cost = estimate.estimate(config, cohort, folds, timed=False)
    tables = cohort.subjects.memory_usage(deep=True).sum() + sum(
        b.memory_usage().sum() for b in cohort.blocks.values())
    assert cost.memory_bytes >= tables and cost.seconds is None
    more = estimate.estimate({**config, "params": {**config["params"],
                                                   "n_permutations": 50_000}},
                             cohort, folds, timed=False)
    assert more.memory_bytes - cost.memory_bytes == pytest.approx(
        (50_000 - 39) * 8 + (1000 - 1) * 2000, rel=0.01)  # one test on all subjects


def test_a_plan_larger_than_memory_is_refused(small_kb, never_computes, monkeypatch,
                                              capsys) -> None:
    from kbtools.experiments import estimate

    root, cfg = small_kb
    monkeypatch.setattr(estimate, "physical_memory", lambda: 1024 * 1024)
    assert _run(root, cfg) == 2
    err = capsys.readouterr().err
    assert "of memory; this machine has 1.0 MB" in err and never_computes == []
