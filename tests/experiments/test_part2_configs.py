"""The shipped configs 02-06 validate, pass their design checks and run through the runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import jsonschema
import pytest

from kbtools.cli import main
from kbtools.config_rules.design_checks import check_design
from kbtools.schemas import load_schema, method_params_schema
from kbtools.yamlio import load_file

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ["02_prediction_baselines", "03_logo_gene_attribution", "04_partial_correlations",
           "05_harmonization_ablation", "06_smri_pca_dimension_search"]


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_config_is_valid_and_sound(name: str) -> None:
    config = load_file(REPO / "configs" / "experiments" / f"{name}.yaml")
    jsonschema.validate(config, load_schema("experiment_config"))
    jsonschema.validate(config["params"], method_params_schema(config["method"]))
    assert config["id"] == name
    assert [i for i in check_design(config) if i.severity == "error"] == []
    assert {r["dataset"] for r in config["data"].values()} == {"synthetic_cohort"}


def _kb(tmp_path: Path, kb_factory, name: str) -> Path:
    kb_factory(tmp_path, n_subjects=400, n_sites=8)  # 02 and 05 use one fold per site
    target = tmp_path / "configs" / "experiments" / f"{name}.yaml"
    shutil.copy(REPO / "configs" / "experiments" / f"{name}.yaml", target)
    return target


@pytest.mark.parametrize("name", CONFIGS)
def test_dry_run_plans_every_config(tmp_path: Path, kb_factory, name: str, capsys) -> None:
    cfg = _kb(tmp_path, kb_factory, name)
    code = main(["--kb-root", str(tmp_path), "run-experiment", str(cfg), "--quiet",
                 "--dry-run"])
    assert code == 0, capsys.readouterr().err
    assert "fold 1: train" in capsys.readouterr().out


def test_pca_search_run_writes_a_valid_run_log(tmp_path: Path, kb_factory) -> None:
    cfg = _kb(tmp_path, kb_factory, "06_smri_pca_dimension_search")
    code = main(["--kb-root", str(tmp_path), "run-experiment", str(cfg), "--quiet",
                 "--set", "cv.n_splits=3", "--set", "params.dims=[2, 4, 8]"])
    assert code == 0
    (run,) = sorted((tmp_path / "kb" / "runs").iterdir())
    log = load_file(run / "run.yaml")
    jsonschema.validate(log, load_schema("run_log"))
    metrics = load_file(run / "metrics.yaml")
    jsonschema.validate(metrics, load_schema("run_metrics"))
    assert metrics["summary"]["chosen_dim"] in (2, 4, 8)
    assert log["headline"]["chosen_dim"] == metrics["summary"]["chosen_dim"]
    assert (run / "pca_dimension_curve.png").is_file()


@pytest.mark.parametrize("name", ["02_prediction_baselines", "05_harmonization_ablation"])
def test_fold_combined_tests_warn_when_folds_are_few(name: str) -> None:
    config = load_file(REPO / "configs" / "experiments" / f"{name}.yaml")
    assert "design.few-folds-for-fold-test" not in {i.rule for i in check_design(config)}
    config["cv"]["n_splits"] = 5
    (issue,) = [i for i in check_design(config) if i.rule == "design.few-folds-for-fold-test"]
    assert issue.severity == "warning" and "4 df" in issue.message
