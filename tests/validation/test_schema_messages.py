"""Schema problems: friendly messages, hints, JSON paths and the right YAML line."""

from __future__ import annotations

import pytest

from kbtools.validation import validate_kb
from kbtools.validation.problems import Problem

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"


def schema_problems(kb: KB, rel: str = ALPHA) -> list[Problem]:
    return [p for p in validate_kb(kb.root, jobs=1).problems if p.path == rel]


def line_of(kb: KB, rel: str, text: str) -> int:
    return kb.path(rel).read_text().splitlines().index(text) + 1


def test_missing_required_points_at_parent_mapping(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.pop("summary"))
    [p] = schema_problems(kb)
    assert p.rule == "schema" and p.json_path == "$"
    assert "missing required field `summary`" in p.message and "summary:" in (p.hint or "")
    assert p.line == 2  # the document's first key, after the schema comment line


def test_missing_required_in_nested_mapping(kb: KB) -> None:
    rel = "kb/datasets/cohort.yaml"
    kb.edit(rel, lambda d: d.update(access={"how": "ask"}))
    [p] = schema_problems(kb, rel)
    assert p.json_path == "$.access" and "`level`" in p.message
    assert p.line == line_of(kb, rel, "access:")


def test_unknown_field_points_at_key_with_suggestion(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d["license"].update(weigths="CC-BY-4.0"))
    [p] = schema_problems(kb)
    assert p.json_path == "$.license.weigths"
    assert p.message == "unknown field `weigths` in `license`"
    assert p.hint == "did you mean `weights`?"
    assert (p.line, p.column) == (line_of(kb, ALPHA, "  weigths: CC-BY-4.0"), 3)


def test_type_error_in_list_item(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(datasets=["cohort", 7]))
    [p] = schema_problems(kb)
    assert p.json_path == "$.datasets[1]"
    assert "expected text" in p.message and "a number (7)" in p.message
    assert p.line == line_of(kb, ALPHA, "- 7")


def test_one_of_reports_best_branch(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(modality="genomix"))
    [p] = schema_problems(kb)
    assert p.json_path == "$.modality" and "expected one of" in p.message
    assert p.hint == "did you mean `genomics`?"


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda d: d.update(last_updated="2026-02-30"), "$.last_updated", "not a date"),
    (lambda d: d.update(name=""), "$.name", "empty text"),
    (lambda d: d.update(id="Alpha"), "$.id", "expected form"),
    (lambda d: d.update(tags=["a", "a"]), "$.tags", "more than once"),
    (lambda d: d.update(context_length=0), "$.context_length", "at least 1"),
    (lambda d: d.update(repo="https://exa mple.org"), "$.repo", "URL"),
    (lambda d: d.update(verified="yes"), "$.verified", "true or false"),
])
def test_keyword_messages(kb: KB, change, path: str, words: str) -> None:  # noqa: ANN001
    kb.edit(ALPHA, change)
    found = [p for p in schema_problems(kb) if p.rule == "schema"]
    assert [p.json_path for p in found] == [path]
    assert words in found[0].message, found[0].message
    assert found[0].line is not None


def test_many_errors_are_capped(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update({f"extra_{i}": i for i in range(40)}))
    found = schema_problems(kb)
    assert len(found) == 26
    assert [p.message for p in found if "more schema problems" in p.message] == [
        "... and 15 more schema problems"]


def test_unquoted_date_is_a_string(kb: KB) -> None:
    text = kb.path(ALPHA).read_text().replace("last_updated: '2026-11-01'",
                                              "last_updated: 2026-11-01")
    assert "last_updated: 2026-11-01\n" in text
    kb.write(ALPHA, text)
    assert schema_problems(kb) == []
