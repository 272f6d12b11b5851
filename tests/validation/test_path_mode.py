"""`validate PATH...`: only the given files are reported, references resolve KB-wide."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtools.errors import KBToolsError
from kbtools.validation import validate_kb

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"
BETA = "kb/model_cards/beta.yaml"
PAPER = "kb/paper_cards/alpha_2024.yaml"
EXPERIMENT = "configs/experiments/exp_cca.yaml"


def test_only_given_files_are_reported(kb: KB) -> None:
    kb.edit(BETA, lambda d: d.update(domain="nope"))
    kb.edit(ALPHA, lambda d: d.update(summary="TODO"))
    result = validate_kb(kb.root, [kb.path(ALPHA)])
    assert result.n_files == 1
    assert [(p.path, p.rule) for p in result.problems] == [(ALPHA, "lint.todo")]


def test_references_resolve_against_whole_kb(kb: KB) -> None:
    # alpha points at a paper, a dataset and a strategy that live in files not given
    assert validate_kb(kb.root, [kb.path(ALPHA)]).problems == []
    kb.edit(ALPHA, lambda d: d.update(datasets=["cohort", "nowhere"]))
    [problem] = validate_kb(kb.root, [kb.path(ALPHA)]).problems
    assert problem.rule == "ref.dataset" and problem.json_path == "$.datasets[1]"
    assert problem.line is not None


def test_backlink_checked_from_given_side(kb: KB) -> None:
    kb.edit(BETA, lambda d: d.update(papers=["alpha_2024"]))
    [problem] = validate_kb(kb.root, [kb.path(BETA)]).problems
    assert problem.rule == "ref.backlink" and problem.path == BETA


def test_backlink_removed_on_given_card_is_caught(kb: KB) -> None:
    # the paper still lists alpha, but alpha (the only file given) dropped the paper
    kb.edit(ALPHA, lambda d: d.update(papers=[]))
    [problem] = validate_kb(kb.root, [kb.path(ALPHA)]).problems
    assert problem.rule == "ref.backlink" and problem.path == ALPHA
    assert "alpha_2024" in problem.message and problem.json_path == "$.papers"
    # the whole-KB run reports it once, on the card that holds the one-sided link
    full = [(p.path, p.rule) for p in validate_kb(kb.root).problems]
    assert full == [(PAPER, "ref.backlink")]


def test_table_reference_loads_dataset_on_demand(kb: KB) -> None:
    kb.edit(EXPERIMENT, lambda d: d["data"]["subjects"].update(table="nope"))
    [problem] = validate_kb(kb.root, [kb.path(EXPERIMENT)]).problems
    assert problem.rule == "ref.table"


def test_folder_selects_its_documents(kb: KB) -> None:
    result = validate_kb(kb.root, [kb.path("kb/model_cards")])
    assert result.n_files == 2 and result.ok


def test_non_kb_paths_are_ignored_with_note(kb: KB) -> None:
    readme = kb.root / "README.md"
    readme.write_text("# hi\n")
    other = kb.write("kb/runs/x/config.yaml", "a: [\n")
    result = validate_kb(kb.root, [readme, other, kb.path(ALPHA)])
    assert result.n_files == 1 and result.problems == []
    assert len(result.notes) == 2 and all("ignored" in n for n in result.notes)


def test_stray_yaml_in_card_folder_is_a_warning(kb: KB) -> None:
    stray = kb.write("kb/paper_cards/sub/old.yaml", "id: old\n")
    result = validate_kb(kb.root, [stray])
    assert [(p.rule, p.severity) for p in result.problems] == [("kb.unknown-file", "warning")]
    assert result.ok


def test_missing_path_is_a_usage_error(kb: KB) -> None:
    with pytest.raises(KBToolsError, match="no such file"):
        validate_kb(kb.root, [kb.root / "kb" / "model_cards" / "nope.yaml"])


def test_relative_paths_from_the_root(kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(kb.root)
    result = validate_kb(Path("."), [Path(ALPHA)])
    assert result.n_files == 1 and result.ok
