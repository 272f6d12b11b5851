"""Run logs disclose neither where restricted data live nor counts below 10 (issue 10).

* inputs given with ``--data`` are recorded by role, card, file name, checksum, size and rows;
  no absolute path outside the KB reaches run.yaml (``command`` and ``inputs``), metrics or the
  rendered site;
* a fold or arm row whose smallest class count is below 10 is withheld whole in metrics.yaml,
  per_fold_metrics.csv and on the site, and run.yaml says what and why.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbtools.cli import main
from kbtools.experiments import disclosure
from kbtools.yamlio import load_file

REPO = Path(__file__).resolve().parents[2]


def _kb(root: Path, *configs: str) -> None:
    """A KB with the synthetic card and copies of shipped configs."""
    (root / "kb" / "datasets").mkdir(parents=True)
    (root / "kb" / "runs").mkdir()
    (root / "configs" / "experiments").mkdir(parents=True)
    shutil.copy(REPO / "kb" / "datasets" / "synthetic_cohort.yaml", root / "kb" / "datasets")
    for name in configs:
        shutil.copy(REPO / "configs" / "experiments" / f"{name}.yaml",
                    root / "configs" / "experiments")


def _small_cohort(folder: Path) -> dict[str, Path]:
    """60 subjects in 4 sites of 15; 17 cases spread 5/4/4/4, so any two sites (a test fold
    of 2 folds) hold 8 or 9 cases: every fold's case count is below 10."""
    rng = np.random.default_rng(11)
    folder.mkdir(parents=True)
    ids = [f"P{7000 + i}" for i in range(60)]
    site = np.repeat(["north", "south", "east", "west"], 15)
    mdd = np.zeros(60, dtype=int)
    for s, k in zip(("north", "south", "east", "west"), (5, 4, 4, 4), strict=True):
        mdd[np.flatnonzero(site == s)[:k]] = 1
    subjects = pd.DataFrame({"subject_id": ids, "site": site, "age": rng.uniform(40, 70, 60),
                             "sex": rng.integers(0, 2, 60), "icv": rng.normal(1.5e6, 1e5, 60),
                             "mdd": mdd})
    paths = {"subjects": folder / "subjects.csv"}
    subjects.to_csv(paths["subjects"], index=False)
    for role in ("gene", "brain"):
        x = rng.normal(size=(60, 8)) + 0.8 * mdd[:, None] * (np.arange(8) < 2)
        df = pd.DataFrame(x, columns=[f"{role}{j}__e{j:02d}" for j in range(8)])
        df.insert(0, "subject_id", ids)
        paths[role] = folder / f"{role}.csv"
        df.to_csv(paths[role], index=False)
    return paths


def _prediction_run(root: Path, data: dict[str, Path]) -> Path:
    code = main(["--kb-root", str(root), "run-experiment",
                 str(root / "configs" / "experiments" / "02_prediction_baselines.yaml"),
                 "--quiet", *[a for role, p in data.items() for a in ("--data", f"{role}={p}")],
                 "--set", "cv.n_splits=2", "--set", "cv.inner_splits=2",
                 "--set", "params.models=[logistic]", "--set", "params.n_boot=100",
                 "--set", "params.C_grid=[0.1, 1.0]",
                 "--set", "preprocessing.pca={gene: 4, brain: 4}"])
    assert code == 0
    (run,) = sorted((root / "kb" / "runs").iterdir())
    return run


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Path]]:
    base = tmp_path_factory.mktemp("small")
    root = base / "kb_root"
    _kb(root, "02_prediction_baselines")
    data = _small_cohort(base / "secure" / "ukb")  # outside the KB, like restricted data
    return root, _prediction_run(root, data), data


def test_folds_with_fewer_than_10_cases_are_withheld_whole(small_run) -> None:
    root, run, _ = small_run
    metrics = load_file(run / "metrics.yaml")
    assert len(metrics["per_fold"]) == 2
    for row in metrics["per_fold"]:
        # no n_test, no AUPRC: nothing from which the 8 or 9 cases could be derived
        assert {k: v for k, v in row.items() if k != "fold"} and all(
            v == "suppressed" for k, v in row.items() if k != "fold")
    table = list(csv.DictReader(io.StringIO((run / "per_fold_metrics.csv").read_text())))
    assert [r["fold"] for r in table] == ["1", "2"]
    assert all(v == "suppressed" for r in table for k, v in r.items() if k != "fold")
    log = load_file(run / "run.yaml")
    withheld = {r["where"]: r["reason"] for r in log["disclosure"]["suppressed_rows"]}
    assert withheld == {"per_fold[0]": "smallest class count below 10",
                        "per_fold[1]": "smallest class count below 10"}  # rows cover arms
    # pooled over both folds there are 17 cases and 43 controls: the summary stays
    arms = metrics["summary"]["arms"]
    assert arms["gene"]["n_cases"] == 17 and isinstance(
        arms["gene"]["models"]["logistic"]["auprc"]["pooled"], float)


def test_withheld_folds_do_not_reach_the_rendered_site(small_run, tmp_path: Path) -> None:
    root, run, _ = small_run
    out = tmp_path / "site"
    assert main(["--kb-root", str(root), "render", "--out", str(out)]) == 0
    page = next(p for p in out.rglob("*.md") if run.name in p.name).read_text()
    fold_values = load_file(run / "metrics.yaml")["per_fold"]
    assert fold_values and "suppressed" in page
    assert "| 30 |" not in page  # the test-fold size of the withheld folds


def test_restricted_paths_are_recorded_by_name_and_checksum_only(small_run,
                                                                 tmp_path: Path) -> None:
    root, run, data = small_run
    secret = str(data["subjects"].parent)
    for f in run.iterdir():
        if f.suffix in (".yaml", ".csv"):
            assert secret not in f.read_text(), f.name
            assert "secure" not in f.read_text(), f.name
    log = load_file(run / "run.yaml")
    by_role = {i["role"]: i for i in log["inputs"]}
    # the file name of data outside the KB is not recorded either (--record-data-names does)
    assert "file" not in by_role["subjects"] and "path" not in by_role["subjects"]
    assert not any(p.name in f.read_text() for p in data.values() for f in run.iterdir()
                   if f.suffix in (".yaml", ".csv"))
    assert by_role["subjects"]["location"] == "outside the KB (not recorded)"
    assert len(by_role["gene"]["sha256"]) == 64 and by_role["gene"]["rows"] in (60,
                                                                               "suppressed")
    assert by_role["brain"]["bytes"] == data["brain"].stat().st_size
    assert by_role["subjects"]["dataset"] == "synthetic_cohort"
    assert "--data 'subjects=<outside-kb>'" in log["command"]
    assert log["config_path"] == "configs/experiments/02_prediction_baselines.yaml"
    out = tmp_path / "site"
    assert main(["--kb-root", str(root), "render", "--out", str(out)]) == 0
    assert not any(secret in p.read_text() for p in out.rglob("*.md"))


def test_paths_inside_the_kb_are_recorded_relative(tmp_path: Path) -> None:
    from kbtools.experiments.runner import command_line, kb_relative

    (tmp_path / "data").mkdir()
    inside = tmp_path / "data" / "t.csv"
    inside.write_text("x")
    assert kb_relative(inside, tmp_path) == "data/t.csv"
    assert kb_relative("/secure/ukb/subjects.csv", tmp_path) == "<outside-kb>"
    assert kb_relative("/secure/ukb/subjects.csv", tmp_path, record_names=True) == \
        "<outside-kb>/subjects.csv"
    words = ["run-experiment", "c.yaml", "--data", "subjects=/secure/ukb/s.csv",
             "--runs-dir", "/scratch/me/runs", "--set", "params.alpha=0.01",
             "--set", "params.gene_pattern=^(?P<gene>[^/]+)__",
             "--set", "notes=/secure/ukb/readme.txt"]
    line = command_line(words, tmp_path)
    assert "/secure" not in line and "/scratch" not in line and "s.csv" not in line
    assert "params.alpha=0.01" in line and "subjects=<outside-kb>" in line
    assert "params.gene_pattern=^(?P<gene>[^/]+)__" in line  # a regex, not a path
    assert "notes=<outside-kb>" in line and "readme" not in line
    named = command_line(words, tmp_path, record_names=True)
    assert "subjects=<outside-kb>/s.csv" in named and "notes=<outside-kb>/readme.txt" in named
    assert "/secure" not in named


def test_scan_refuses_an_outside_location() -> None:
    with pytest.raises(Exception, match="location of an input outside the KB"):
        disclosure.scan_text("metrics.yaml", "note: read /secure/ukb/s.csv\n", [],
                             ["/secure/ukb/s.csv", "/secure/ukb"])


# ---------------------------------------------------------------------------------------------
# the row rule on its own


def _report() -> disclosure.DisclosureReport:
    return disclosure.DisclosureReport()


def test_a_lone_small_fold_takes_a_second_fold_with_it() -> None:
    rows = [{"fold": i + 1, "n_test": 60, "n_test_cases": c, "n_test_controls": 60 - c,
             "auprc": 0.3} for i, c in enumerate((12, 5, 20, 30))]
    report, shown = _report(), disclosure.Shown()
    out = disclosure.suppress_small_rows(rows, "per_fold", report, shown)
    # fold 2 (5 cases) is withheld; alone it could be recovered as total - others, so the
    # smallest other fold (12 cases) is withheld too; folds 3 and 4 stay
    assert [r["auprc"] for r in out] == ["suppressed", "suppressed", 0.3, 0.3]
    assert shown.hidden_folds == {1, 2}
    reasons = {r.where: r.reason for r in report.rows}
    assert reasons["per_fold[1]"] == "smallest class count below 10"
    assert reasons["per_fold[0]"].startswith("complementary")


def test_complementary_suppression_stays_within_a_cv_repeat() -> None:
    rows = [{"fold": i + 1, "repeat": 1 + i // 3, "n_test_cases": c, "n_test_controls": 50,
             "auroc": 0.6} for i, c in enumerate((4, 30, 30, 30, 30, 30))]
    out = disclosure.suppress_small_rows(rows, "per_fold", _report())
    assert [r["auroc"] for r in out] == ["suppressed", "suppressed", 0.6, 0.6, 0.6, 0.6]


def test_a_small_arm_is_withheld_within_its_fold_only() -> None:
    row = {"fold": 1, "n_test": 200, "n_test_cases": 60, "n_test_controls": 140,
           "n_test_cases__gene": 60, "n_test_controls__gene": 140,
           "n_test_cases__fusion_early": 6, "n_test_controls__fusion_early": 20,
           "gene__logistic__auprc": 0.4, "fusion_early__logistic__auprc": 0.3,
           "n_test__fusion_early__logistic": 26}
    shown = disclosure.Shown()
    (out,) = disclosure.suppress_small_rows([row], "per_fold", _report(), shown)
    assert out["gene__logistic__auprc"] == 0.4 and out["n_test"] == 200
    assert out["fusion_early__logistic__auprc"] == "suppressed"
    assert out["n_test__fusion_early__logistic"] == "suppressed"
    assert shown.cell(1, "gene") and not shown.cell(1, "fusion_early")


def test_summary_entries_with_small_classes_are_withheld() -> None:
    summary = {"arms": {"gene": {"n_subjects": 300, "n_cases": 80, "n_controls": 220,
                                 "models": {"logistic": {"auprc": {"pooled": 0.4}}}},
                        "rare": {"n_subjects": 300, "n_cases": 7, "n_controls": 293,
                                 "models": {"logistic": {"auprc": {"pooled": 0.1}}}}},
               "results": [{"axis": "cca1", "n_subjects": 300, "n_cases": 9, "estimate": 1.2}]}
    shown = disclosure.Shown()
    out = disclosure.suppress_small_entries(summary, "summary", _report(), shown)
    assert out["arms"]["gene"]["models"]["logistic"]["auprc"]["pooled"] == 0.4
    assert out["arms"]["rare"]["models"]["logistic"]["auprc"]["pooled"] == "suppressed"
    assert out["results"][0] == {"axis": "cca1", "n_subjects": "suppressed",
                                 "n_cases": "suppressed", "estimate": "suppressed"}
    assert not shown.summary("summary.arms.rare") and shown.summary("summary.arms.gene")
    assert not shown.summary("summary.results[0]")
