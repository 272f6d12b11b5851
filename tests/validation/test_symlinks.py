"""Files outside the KB are never read: symlinked cards, run files and paths named in cards.

Each case builds a KB in a tmp folder and a "secret" outside it, then checks that validation
reports the file by rule id and exits 1, and that nothing of the secret is read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.errors import PathOutsideKB
from kbtools.kb import is_inside, iter_documents, kind_of, resolve_inside, scan_documents
from kbtools.validation import validate_kb

from .kbfactory import KB, RUN_ID

PAPER = "kb/paper_cards/alpha_2024.yaml"
DATASET = "kb/datasets/cohort.yaml"
SECRET = "TOKEN=hunter2-do-not-publish"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the KB holding a card-shaped YAML file and a secret."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "gamma.yaml").write_text(
        f"id: gamma\nname: Gamma\nsummary: '{SECRET}'\nstatus: complete\n")
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


def _problems(kb: KB, rule: str, paths: list[str] | None = None) -> list:
    result = validate_kb(kb.root, [kb.path(p) for p in paths] if paths else None, jobs=1)
    return [p for p in result.problems if p.rule == rule]


def _cli(kb: KB, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--kb-root", str(kb.root), "validate", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_resolve_inside_refuses_symlinks_out_and_paths_out(kb: KB, outside: Path) -> None:
    link = kb.path("docs/link.txt")
    link.symlink_to(outside / "secret.txt")
    inner = kb.path("docs/inner.txt")
    inner.symlink_to(kb.path("docs/papers/alpha.md"))
    assert resolve_inside(kb.root, "docs/inner.txt") == kb.path("docs/papers/alpha.md")
    with pytest.raises(PathOutsideKB) as exc:
        resolve_inside(kb.root, "docs/link.txt")
    assert exc.value.rule == "path.symlink-outside"
    assert str(outside) not in str(exc.value) and str(kb.root) not in str(exc.value)
    with pytest.raises(PathOutsideKB) as exc:
        resolve_inside(kb.root, outside / "secret.txt")
    assert exc.value.rule == "path.outside-kb"
    with pytest.raises(PathOutsideKB):
        resolve_inside(kb.root, "../" + outside.name + "/secret.txt")
    assert not is_inside(kb.root, link) and is_inside(kb.root, inner)


def test_symlinked_card_is_reported_not_read(kb: KB, outside: Path, capsys) -> None:
    card = kb.path("kb/model_cards/gamma.yaml")
    card.symlink_to(outside / "gamma.yaml")
    [problem] = _problems(kb, "path.symlink-outside")
    assert problem.path == "kb/model_cards/gamma.yaml" and problem.severity == "error"
    assert "symlink" in problem.message and problem.hint
    # the card is not read: its (incomplete) content raises no schema problem
    assert not [p for p in validate_kb(kb.root, jobs=1).problems
                if p.path.endswith("gamma.yaml") and p.rule != "path.symlink-outside"]
    assert kb.path("kb/model_cards/gamma.yaml") not in [p for _, p in iter_documents(kb.root)]
    refused = [d for d in scan_documents(kb.root) if d.refused is not None]
    assert [d.path.name for d in refused] == ["gamma.yaml"]
    code, out = _cli(kb, capsys)
    assert code == 1 and "kb/model_cards/gamma.yaml" in out and "path.symlink-outside" in out
    assert SECRET not in out


def test_validate_path_on_a_symlinked_card_fails(kb: KB, outside: Path, capsys) -> None:
    """The pre-commit hook validates the files of a commit: it must not say "ignored"."""
    card = kb.path("kb/model_cards/gamma.yaml")
    card.symlink_to(outside / "gamma.yaml")
    assert kind_of(card, kb.root) is not None
    code, out = _cli(kb, capsys, str(card))
    assert code == 1, out
    assert "ignored" not in out and "path.symlink-outside" in out
    assert "fix: replace the symlink" in out
    # the same, given relative to the working directory
    cwd = os.getcwd()
    try:
        os.chdir(kb.root)
        code, out = _cli(kb, capsys, "kb/model_cards/gamma.yaml", "--format", "json")
    finally:
        os.chdir(cwd)
    assert code == 1
    rules = [p["rule"] for p in json.loads(out[out.index("{"):])["problems"]]
    assert rules == ["path.symlink-outside"]


def test_symlinked_card_folder_is_refused(kb: KB, outside: Path) -> None:
    folder = outside / "cards"
    folder.mkdir()
    (folder / "gamma.yaml").write_text((outside / "gamma.yaml").read_text())
    kb.path("kb/registries").rename(kb.root / "registries-moved")
    kb.path("kb/registries").symlink_to(folder)
    found = {p.path for p in _problems(kb, "path.symlink-outside")}
    assert found == {"kb/registries", "kb/registries/gamma.yaml"}  # the folder and the card


def test_symlink_inside_the_kb_is_fine(kb: KB) -> None:
    kb.path("docs/papers/alpha-link.pdf").symlink_to(kb.path("docs/papers/alpha.pdf"))
    kb.edit(PAPER, lambda d: d.update(pdf="docs/papers/alpha-link.pdf"))
    assert validate_kb(kb.root, jobs=1).problems == []


@pytest.mark.parametrize("key", ["pdf", "summary_md_path"])
def test_paper_files_via_symlink_out_are_refused(kb: KB, outside: Path, key: str) -> None:
    kb.path("docs/papers/leak.md").symlink_to(outside / "secret.txt")
    kb.edit(PAPER, lambda d: d.update({key: "docs/papers/leak.md"}))
    found = _problems(kb, "path.symlink-outside")
    # the card naming it, and the file itself (the site would publish it from docs/)
    assert {p.path for p in found} == {PAPER, "docs/papers/leak.md"}
    [problem] = [p for p in found if p.path == PAPER]
    assert problem.json_path == f"$.{key}"
    lines = kb.path(PAPER).read_text().splitlines()
    assert lines[problem.line - 1].startswith(f"{key}:")


def test_paper_file_in_a_symlinked_folder_is_refused(kb: KB, outside: Path) -> None:
    kb.path("docs/shared").symlink_to(outside)
    kb.edit(PAPER, lambda d: d.update(pdf="docs/shared/secret.txt"))
    found = _problems(kb, "path.symlink-outside")
    assert {p.path for p in found} == {PAPER, "docs/shared"}
    [problem] = [p for p in found if p.path == PAPER]
    assert problem.json_path == "$.pdf"


def test_dataset_table_via_symlink_out_is_refused(kb: KB, outside: Path) -> None:
    kb.path("data/subjects.csv").unlink()
    kb.path("data/subjects.csv").symlink_to(outside / "secret.txt")
    [problem] = _problems(kb, "path.symlink-outside")
    assert problem.path == DATASET
    assert problem.json_path == "$.storage.tables.subjects.path"


@pytest.mark.parametrize("name", ["loadings.png", "per_fold_metrics.csv", "config_used.yaml"])
def test_run_files_linking_out_are_refused(kb: KB, outside: Path, name: str, capsys) -> None:
    target = kb.path(f"kb/runs/{RUN_ID}/{name}")
    target.symlink_to(outside / "secret.txt")
    rel = f"kb/runs/{RUN_ID}/{name}"
    assert [p.path for p in _problems(kb, "path.symlink-outside")] == [rel]
    # also when the run folder is what the hook or the user names
    assert [p.path for p in _problems(kb, "path.symlink-outside",
                                      [f"kb/runs/{RUN_ID}"])] == [rel]
    code, out = _cli(kb, capsys, str(target))
    assert code == 1 and rel in out


def test_run_plot_linking_to_the_process_environment_is_refused(kb: KB) -> None:
    kb.path(f"kb/runs/{RUN_ID}/env.png").symlink_to("/proc/self/environ")
    [problem] = _problems(kb, "path.symlink-outside")
    assert problem.path == f"kb/runs/{RUN_ID}/env.png"
    assert "/proc" not in problem.message


def test_dangling_symlinked_card_is_reported(kb: KB, outside: Path, capsys) -> None:
    card = kb.path("kb/model_cards/gamma.yaml")
    card.symlink_to(outside / "no-such-file.yaml")
    assert [p.path for p in _problems(kb, "path.symlink-outside")] == [
        "kb/model_cards/gamma.yaml"]
    code, _ = _cli(kb, capsys, str(card))
    assert code == 1
