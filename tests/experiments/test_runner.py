"""kbtools run-experiment: plan, overrides, templates, atomic run directories, disclosure."""

from __future__ import annotations

import threading
from pathlib import Path

import jsonschema
import pytest

from kbtools.cli import main
from kbtools.errors import DataError
from kbtools.experiments import disclosure, runlog
from kbtools.experiments.methods import MethodResult
from kbtools.schemas import load_schema
from kbtools.yamlio import dump, load_file


def _run(root: Path, cfg: Path, *extra: str) -> int:
    return main(["--kb-root", str(root), "run-experiment", str(cfg), "--quiet", *extra])


def _runs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "kb" / "runs").iterdir())


def _leftovers(root: Path) -> list[Path]:
    return [p for p in (root / "kb").iterdir() if p.name.startswith(".run-staging")]


def test_dry_run_prints_plan_and_writes_nothing(small_kb, capsys) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "fold 1: train" in out and "permutations (one test on every complete subject): 39" in out
    assert "gene: 300 present" in out
    assert _runs(root) == []


def test_unknown_set_key_is_an_error(small_kb, capsys) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--dry-run", "--set", "params.n_permutaions=10") == 2
    assert "unknown config key" in capsys.readouterr().err
    assert _run(root, cfg, "--dry-run", "--set", "cv.n_splitz=3") == 2
    assert _run(root, cfg, "--dry-run", "--set", "params.n_permutations=99") == 0


def test_design_check_refuses_unreachable_alpha(small_kb, capsys) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--dry-run", "--set", "params.n_permutations=9") == 1
    err = capsys.readouterr().err
    assert "smallest p-value of 0.1" in err and "at least 19 permutations" in err


def test_template_configs_are_refused_with_fields(small_kb, capsys) -> None:
    root, cfg = small_kb
    config = load_file(cfg)
    config["status"] = "template"
    config["data"]["gene"]["dataset"] = "<dataset id>"
    config["outcome"] = "TBD"
    cfg.write_text(dump(config))
    assert _run(root, cfg, "--dry-run") == 1
    err = capsys.readouterr().err
    assert "template" in err and "data.gene.dataset" in err and "outcome" in err


def test_run_writes_a_valid_run_log(small_kb) -> None:
    root, cfg = small_kb
    assert _run(root, cfg, "--set", "outputs.plots=true") == 0
    (run,) = _runs(root)
    names = {p.name for p in run.iterdir()}
    assert {"run.yaml", "config_used.yaml", "metrics.yaml", "per_fold_metrics.csv",
            "null_distributions.png", "loadings_gene.png"} <= names
    log = load_file(run / "run.yaml")
    jsonschema.validate(log, load_schema("run_log"))
    jsonschema.validate(load_file(run / "metrics.yaml"), load_schema("run_metrics"))
    assert log["id"] == run.name and log["run_status"] == "completed"
    assert log["overrides"] == ["outputs.plots=true"]
    assert {i["role"] for i in log["inputs"]} == {"subjects", "gene", "brain"}
    assert load_file(run / "config_used.yaml")["outputs"]["plots"] is True
    metrics = load_file(run / "metrics.yaml")
    assert metrics["summary"]["modes"][0]["p_fwer"] <= 0.05  # planted mode 1 (one test)
    assert not _leftovers(root)


def test_interrupted_run_leaves_nothing(small_kb, monkeypatch) -> None:
    root, cfg = small_kb
    assert _run(root, cfg) == 0
    (first,) = _runs(root)
    before = {p.name: p.read_bytes() for p in first.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runlog, "publish", interrupted)
    assert _run(root, cfg) == 130
    assert _runs(root) == [first] and not _leftovers(root)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before


def test_two_runs_started_together_do_not_collide(small_kb, monkeypatch) -> None:
    root, cfg = small_kb
    fixed = runlog.utc_now()
    monkeypatch.setattr(runlog, "utc_now", lambda: fixed)  # same second for both
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(_run(root, cfg))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [0, 0]
    runs = _runs(root)
    assert len(runs) == 2 and runs[0].name[:15] == runs[1].name[:15]
    assert not _leftovers(root)


def _leaky_method(counts: dict, summary: dict):
    def run(cohort, config, ctx):
        return MethodResult(summary=summary(cohort), per_fold=[{"fold": 1, "n_test": 7}],
                            headline={"x": 1.0}, counts=counts)
    return run


def test_disclosure_guard_withholds_small_counts(small_kb, monkeypatch) -> None:
    root, cfg = small_kb
    monkeypatch.setattr("kbtools.experiments.methods.get_method",
                        lambda name: _leaky_method({"n_cases": 4, "n_subjects": 300},
                                                   lambda c: {"n_cases_site01": 3}))
    assert _run(root, cfg) == 0
    (run,) = _runs(root)
    metrics = load_file(run / "metrics.yaml")
    # n_subjects equals n_complete here, so beside it the inventory's "<10" counts (all
    # zero) would follow by subtraction: it is withheld as a complementary cell
    assert metrics["counts"] == {"n_cases": "<10", "n_subjects": "suppressed"}
    # a fold of 7 test subjects is withheld whole (its metrics would describe <10 people)
    assert metrics["per_fold"][0] == {"fold": 1, "n_test": "suppressed"}
    assert metrics["summary"]["n_cases_site01"] == "<10"
    log = load_file(run / "run.yaml")
    assert set(log["disclosure"]["suppressed"]) >= {"counts.n_cases", "summary.n_cases_site01"}
    assert "counts.n_subjects" in log["disclosure"]["complementary"]
    assert {"where": "per_fold[0]", "reason": "fewer than 10 subjects"} in \
        log["disclosure"]["suppressed_rows"]
    # the run's own class count is small, so the headline (summary numbers) is withheld
    assert log["headline"] == {"x": "suppressed"}


def test_disclosure_guard_refuses_subject_ids(small_kb, monkeypatch, capsys) -> None:
    root, cfg = small_kb
    monkeypatch.setattr("kbtools.experiments.methods.get_method",
                        lambda name: _leaky_method({}, lambda c: {"worst": c.subjects.index[5]}))
    assert _run(root, cfg) == 1
    assert "subject id" in capsys.readouterr().err
    assert _runs(root) == [] and not _leftovers(root)


def test_scan_finds_ukb_like_ids_but_not_decimals() -> None:
    with pytest.raises(DataError, match="participant id"):
        disclosure.scan_text("m.yaml", "worst: 1234567\n", [])
    disclosure.scan_text("m.yaml", "rho: 0.1234567\nbytes_total: 12345678\n", [])
    disclosure.scan_text("run.yaml", "  bytes: 2345678\n", [])
    with pytest.raises(DataError, match="subject-level column"):
        disclosure.scan_text("x.csv", "eid,value\n", [])
