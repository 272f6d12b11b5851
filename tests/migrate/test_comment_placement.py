"""Comments and blank lines anywhere in a card survive `kbtools migrate`, and never change
its structure or values.

A generator places full-line comments, end-of-line comments and blank lines at every position
of every card of the predecessor fixture where YAML allows them without changing the card's
values (found by trying each position with PyYAML), migrates the card, and checks:

* the migrated text parses, with no duplicate key;
* its values are those of the same card migrated without the added comments;
* every comment (the card's own and the added ones) is there exactly once;
* a comment written before a list item is still right before that item.

One test puts a comment and a blank line at every allowed position of every card at once;
Hypothesis draws subsets (``KBTOOLS_SOAK=1`` draws many more).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.migrate.engine import plan
from kbtools.yamlio import loads

from .audit import FIXTURE, block_lines, cards, comments

CARDS = [p.relative_to(FIXTURE).as_posix() for p in cards(FIXTURE)]
SOAK = os.environ.get("KBTOOLS_SOAK") == "1"


@cache
def original(rel: str) -> str:
    return (FIXTURE / rel).read_text(encoding="utf-8")


def _same(text: str, data: object) -> bool:
    try:
        return yaml.safe_load(text) == data
    except yaml.YAMLError:
        return False


@cache
def allowed(rel: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Line numbers before which a full-line comment / a blank line may go, and lines that
    may take an end-of-line comment, without changing the card's values."""
    lines = original(rel).splitlines()
    data = yaml.safe_load(original(rel))

    def variant(i: int, insert: str | None = None, append: str | None = None) -> str:
        out = list(lines)
        if insert is not None:
            out.insert(i, insert)
        if append is not None:
            out[i] += append
        return "\n".join(out) + "\n"

    def indent(i: int) -> str:
        line = lines[i] if i < len(lines) else ""
        return line[:len(line) - len(line.lstrip())]

    before = tuple(i for i in range(len(lines) + 1)
                   if _same(variant(i, insert=f"{indent(i)}# probe"), data))
    blank = tuple(i for i in range(1, len(lines) + 1) if _same(variant(i, insert=""), data))
    eol = tuple(i for i, line in enumerate(lines)
                if line.strip() and not line.lstrip().startswith("#") and " #" not in line
                and _same(variant(i, append="  # probe"), data))
    return before, blank, eol


def with_comments(rel: str, full: dict[int, str], eol: dict[int, str], blank: set[int]) -> str:
    lines = original(rel).splitlines()
    out = []
    for i in range(len(lines) + 1):
        if i in blank:
            out.append("")
        if i in full:
            line = lines[i] if i < len(lines) else ""
            out.append(f"{line[:len(line) - len(line.lstrip())]}# {full[i]}")
        if i < len(lines):
            out.append(lines[i] + (f"  # {eol[i]}" if i in eol else ""))
    return "\n".join(out) + "\n"


def migrate_alone(rel: str, text: str, tmp: Path) -> str:
    """The card migrated in a KB of its own (the text it would be written with)."""
    if tmp.exists():
        shutil.rmtree(tmp)
    path = tmp / rel
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    result = plan(tmp)
    return result.new.get(rel, text)


_BASELINE: dict[str, object] = {}


def baseline(rel: str, tmp: Path) -> object:
    if rel not in _BASELINE:
        _BASELINE[rel] = yaml.safe_load(migrate_alone(rel, original(rel), tmp))
    return _BASELINE[rel]


def check(rel: str, text: str, added: list[str], tmp: Path) -> None:
    migrated = migrate_alone(rel, text, tmp)
    loads(migrated)  # kbtools' loader: refuses duplicate keys (a broken structure)
    assert yaml.safe_load(migrated) == baseline(rel, tmp.with_name(tmp.name + "-base")), rel
    found = comments(migrated)
    expected = comments(original(rel)) + Counter(added)
    assert {c: found[c] for c in expected} == dict(expected), rel
    _items_keep_their_comment(text, migrated)


def _items_keep_their_comment(text: str, migrated: str) -> None:
    """A comment written right before a list item `- word` is right before `- word` (or
    `- name: word`, a column list converted) in the migrated text, when `word` is there once."""
    before = text.splitlines()
    after = migrated.splitlines()
    text_of_blocks = block_lines(migrated)  # a list joined into a | text is no list any more
    for i, line in enumerate(before[:-1]):
        item = before[i + 1].strip()
        if not line.strip().startswith("# k") or not item.startswith("- "):
            continue
        word = item[2:].split(" #")[0].strip().strip("\"'")
        spots = [j for j, other in enumerate(after) if j not in text_of_blocks and
                 other.strip().split(" #")[0].strip().strip("\"'")
                 in (f"- {word}", f"- name: {word}")]
        if len(spots) != 1 or not word:
            continue
        above = after[spots[0] - 1].strip() if spots[0] else ""
        assert above == line.strip(), (line, item)


@pytest.mark.parametrize("rel", CARDS)
def test_a_comment_and_a_blank_line_at_every_position(rel: str, tmp_path: Path) -> None:
    before, blank, eol = allowed(rel)
    full = {i: f"k{i} before line {i}" for i in before}
    ends = {i: f"e{i} end of line {i}" for i in eol}
    text = with_comments(rel, full, ends, set(blank))
    check(rel, text, [*full.values(), *ends.values()], tmp_path / "kb")


@st.composite
def placements(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    rel = draw(st.sampled_from(CARDS))
    before, blank, eol = allowed(rel)
    words = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)
    full = {i: f"k{n} {draw(words)}".strip() for n, i in enumerate(
        draw(st.lists(st.sampled_from(before), unique=True, max_size=8)) if before else [])}
    ends = {i: f"e{n} {draw(words)}".strip() for n, i in enumerate(
        draw(st.lists(st.sampled_from(eol), unique=True, max_size=8)) if eol else [])}
    blanks = set(draw(st.lists(st.sampled_from(blank), unique=True, max_size=6))
                 if blank else [])
    return rel, with_comments(rel, full, ends, blanks), [*full.values(), *ends.values()]


@settings(max_examples=2000 if SOAK else 60, deadline=None, derandomize=not SOAK,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=placements())
def test_comments_and_blank_lines_anywhere_survive(case: tuple[str, str, list[str]],
                                                    tmp_path: Path) -> None:
    rel, text, added = case
    check(rel, text, added, tmp_path / "kb")
