"""The line scanner that locates simple paths agrees with the YAML composer on real cards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kbtools.validation.quick_locate import quick_find
from kbtools.yamlio import Locator, loads

REPO = Path(__file__).resolve().parents[2]
CARDS = sorted([*REPO.glob("kb/*/*.yaml"), *REPO.glob("configs/experiments/*.yaml"),
                *REPO.glob("kb/runs/*/*.yaml"),
                *REPO.glob("tests/migrate/predecessor_kb/**/*.yaml")])


def paths(node: Any, here: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*here, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*here, index))


def test_there_are_cards_to_compare() -> None:
    assert len(CARDS) > 100


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_agrees_with_the_composer_wherever_it_answers(card: Path) -> None:
    text = card.read_text(encoding="utf-8")
    locator = Locator(text)
    answered = 0
    for path in paths(loads(text, string_keys=True)):
        quick = quick_find(text, path)
        if quick is not None:
            answered += 1
            assert quick == locator.find(path), path
    assert answered or not text.strip()


@pytest.mark.parametrize("text, path", [
    ("a: {b: 1}\n", ("a", "b")),
    ("a: &x\n  b: 1\n", ("a", "b")),
    ("'a': 1\n", ("a",)),
    ("a:\n  - [1, 2]\n", ("a", 0)),
    ("a: |\n  b: 1\n", ("a", "b")),
    ("a:\n\tb: 1\n", ("a", "b")),
    ("x: 1\n", ("missing",)),
])
def test_gives_up_when_unsure(text: str, path: tuple[str | int, ...]) -> None:
    assert quick_find(text, path) is None


def test_lists_at_their_key_indentation() -> None:
    text = "# c\n---\nid: a\ndatasets:\n- one\n- two\nname: b\n"
    for path in [("datasets", 1), ("name",), ("datasets",)]:
        assert quick_find(text, path) == Locator(text).find(path)
