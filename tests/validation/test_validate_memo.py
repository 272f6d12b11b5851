"""validate_kb(memo=...): only changed files are checked again; the result is the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import kbtools.validation.engine as engine
from kbtools.validation import validate_kb

REPO = Path(__file__).resolve().parents[2]


def _copy_kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    for folder in ("kb", "configs"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def test_memo_rechecks_only_changed_files_and_agrees(tmp_path: Path, monkeypatch) -> None:
    root = _copy_kb(tmp_path)
    checked: list[str] = []
    real = engine.check_file

    def counting(root_, kind, path, today, rel=None, *args, **kwargs):
        checked.append(rel)
        return real(root_, kind, path, today, rel, *args, **kwargs)

    monkeypatch.setattr(engine, "check_file", counting)
    memo: dict = {}
    first = validate_kb(root, memo=memo, jobs=1)
    n_files = len(checked)
    assert n_files == first.n_files > 10

    card = sorted((root / "kb" / "model_cards").glob("*.yaml"))[0]
    text = card.read_text()
    card.write_text(text.replace("\ndomain: ", "\ndomain: not-a-domain-", 1))
    checked.clear()
    second = validate_kb(root, memo=memo, jobs=1)
    assert checked == [card.relative_to(root).as_posix()]
    assert second.problems == validate_kb(root, jobs=1).problems  # same as without a memo
    assert any(p.path == checked[0] and p.rule.startswith("schema") for p in second.problems)

    # a reference that starts to dangle is found although the citing card is not re-checked
    target = card.stem
    citing = [p for p in (root / "kb" / "paper_cards").glob("*.yaml")
              if f"- {target}\n" in p.read_text()]
    assert citing, "the shipped KB has a paper that lists its first model"
    card.unlink()
    checked.clear()
    third = validate_kb(root, memo=memo, jobs=1)
    assert checked == []
    assert third.problems == validate_kb(root, jobs=1).problems
    assert any(p.path.endswith(citing[0].name) and p.rule.startswith("ref")
               for p in third.problems)
