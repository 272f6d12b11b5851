"""A plan is not a runnable config: run-experiment says what it needs, and
`kbtools new experiment ID --method M` writes a config that runs as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.config_rules.runnable import methods
from kbtools.validation import validate_kb
from kbtools.yamlio import dump

PLAN = {
    "id": "gene_brain_plan", "name": "Gene vs brain, a plan", "status": "planning",
    "description": "Do gene embeddings and ROI features share a canonical mode?",
    "data": {"genetics": {"dataset": "synthetic_cohort"}},
    "verified": False, "last_updated": "2026-11-01",
}


def test_a_plan_validates_but_run_lists_what_it_needs(small_kb, capsys) -> None:
    root, _ = small_kb
    config = root / "configs" / "experiments" / "gene_brain_plan.yaml"
    config.write_text(dump(PLAN))
    assert not [p for p in validate_kb(root, [config], jobs=1).problems if p.is_error]
    assert main(["run-experiment", str(config), "--kb-root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "a plan (status: planning) and cannot run yet" in err
    assert "method: one of " + ", ".join(methods()) in err
    assert "data.genetics: the table to read (`table:`) (tables of synthetic_cohort: " \
           "gene_embeddings, smri_rois, subjects)" in err
    assert "status: draft or complete" in err
    assert "kbtools new experiment ID --method METHOD" in err
    assert not list((root / "kb" / "runs").iterdir())  # nothing half-written


def test_a_config_without_method_is_not_runnable_whatever_its_status(small_kb, capsys) -> None:
    root, _ = small_kb
    config = root / "configs" / "experiments" / "no_method.yaml"
    config.write_text(dump({**PLAN, "id": "no_method", "status": "draft"}))
    assert main(["run-experiment", str(config), "--kb-root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "not complete and cannot run yet" in err and "method: one of" in err


@pytest.mark.parametrize("method", methods())
def test_new_experiment_with_method_validates_and_plans(method: str, small_kb, capsys) -> None:
    root, _ = small_kb
    ident = f"try_{method}"
    assert main(["new", "experiment", ident, "--method", method, "--kb-root", str(root)]) == 0
    path = root / "configs" / "experiments" / f"{ident}.yaml"
    assert not [p for p in validate_kb(root, [path], jobs=1).problems if p.is_error]
    capsys.readouterr()
    assert main(["run-experiment", str(path), "--dry-run", "--kb-root", str(root)]) == 0


def test_new_experiment_with_method_runs(small_kb, capsys) -> None:
    root, _ = small_kb
    assert main(["new", "experiment", "try_dims", "--method", "pca_dimension_search",
                 "--kb-root", str(root)]) == 0
    path = root / "configs" / "experiments" / "try_dims.yaml"
    assert main(["run-experiment", str(path), "--quiet", "--kb-root", str(root)]) == 0
    [run] = [p for p in (root / "kb" / "runs").iterdir() if "try_dims" in p.name]
    assert (run / "run.yaml").is_file() and (run / "metrics.yaml").is_file()


def test_method_is_only_for_experiments(small_kb, capsys) -> None:
    root, _ = small_kb
    assert main(["new", "model", "m1", "--method", "cca_permutation",
                 "--kb-root", str(root)]) == 2
    assert "--method is for experiment configs" in capsys.readouterr().err


def test_unknown_method_is_refused(small_kb, capsys) -> None:
    root, _ = small_kb
    assert main(["new", "experiment", "x1", "--method", "nope", "--kb-root", str(root)]) == 2
    assert not (Path(root) / "configs" / "experiments" / "x1.yaml").exists()


def test_new_experiment_never_reads_a_dataset_card_outside_the_kb(small_kb, tmp_path_factory,
                                                                   capsys) -> None:
    """A dataset card that is a symlink out of the KB is not a source of table names: the
    config uses the built-in synthetic cohort, and the run refuses the linked card."""
    root, _ = small_kb
    card = root / "kb" / "datasets" / "synthetic_cohort.yaml"
    outside = tmp_path_factory.mktemp("elsewhere") / "synthetic_cohort.yaml"
    outside.write_text(card.read_text().replace("gene_embeddings", "secret_table_name"))
    card.unlink()
    card.symlink_to(outside)
    assert main(["new", "experiment", "try_cca", "--method", "cca_permutation",
                 "--kb-root", str(root)]) == 0
    written = (root / "configs" / "experiments" / "try_cca.yaml").read_text()
    assert "secret_table_name" not in written and "dataset: synthetic_cohort" in written
    capsys.readouterr()
    assert main(["run-experiment", str(root / "configs/experiments/try_cca.yaml"), "--dry-run",
                 "--kb-root", str(root)]) != 0
    assert "outside" in capsys.readouterr().err


@pytest.mark.parametrize("method", methods())
def test_new_experiment_needs_no_dataset_card_in_the_kb(method: str, small_kb, capsys) -> None:
    """Without a card holding the tables, `new --method` names the built-in synthetic cohort:
    the config validates and dry-runs, and no card is copied into the KB."""
    root, _ = small_kb
    for card in (root / "kb" / "datasets").glob("*.yaml"):
        card.unlink()
    ident = f"bare_{method}"
    assert main(["new", "experiment", ident, "--method", method, "--kb-root", str(root)]) == 0
    path = root / "configs" / "experiments" / f"{ident}.yaml"
    assert "dataset: synthetic_cohort" in path.read_text()
    assert not list((root / "kb" / "datasets").glob("*.yaml"))
    assert not [p for p in validate_kb(root, [path], jobs=1).problems if p.is_error]
    capsys.readouterr()
    assert main(["run-experiment", str(path), "--dry-run", "--kb-root", str(root)]) == 0
    assert "dry run: nothing computed" in capsys.readouterr().out


def test_a_plan_with_a_method_dry_runs_whatever_its_status(small_kb, capsys) -> None:
    """planning and template say the config is not final; they never stop --dry-run, and a
    real run still refuses them."""
    root, config = small_kb
    text = config.read_text()
    for status in ("planning", "template"):
        plan = root / "configs" / "experiments" / f"as_{status}.yaml"
        plan.write_text(text.replace(f"id: {config.stem}", f"id: as_{status}")
                        .replace("status: complete", f"status: {status}"))
        assert main(["run-experiment", str(plan), "--dry-run", "--kb-root", str(root)]) == 0
        assert f"status is `{status}`" in capsys.readouterr().out
        assert main(["run-experiment", str(plan), "--kb-root", str(root)]) == 1
        capsys.readouterr()
    assert not list((root / "kb" / "runs").iterdir())


def test_run_experiment_accepts_the_fields_the_kb_declares(small_kb, capsys) -> None:
    """A config field the KB declares in kb/schemas/extensions.yaml passes `validate` and
    `run-experiment` alike; an undeclared one is refused by both."""
    root, config = small_kb
    config.write_text(config.read_text() + "rationale: Why we run it.\n")
    assert main(["run-experiment", str(config), "--dry-run", "--kb-root", str(root)]) == 1
    assert "Additional properties are not allowed ('rationale'" in capsys.readouterr().err
    def about_rationale() -> list[object]:
        return [p for p in validate_kb(root, [config], jobs=1).problems
                if p.is_error and "rationale" in p.message]

    assert about_rationale()
    (root / "kb" / "schemas").mkdir(parents=True, exist_ok=True)
    (root / "kb" / "schemas" / "extensions.yaml").write_text(
        "experiment:\n  properties:\n    rationale: {type: string, description: Why.}\n")
    assert not about_rationale()
    assert main(["run-experiment", str(config), "--dry-run", "--kb-root", str(root)]) == 0
