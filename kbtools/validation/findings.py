"""What a check reports before the file's line numbers are known."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kbtools.validation.problems import Problem, Severity, format_json_path
from kbtools.validation.quick_locate import quick_find
from kbtools.yamlio import Locator

Parts = tuple[str | int, ...]


@dataclass(slots=True)
class Finding:
    """A problem found in one document, located by JSON path (``parts``) or by line."""

    rule: str
    message: str
    parts: Parts = ()
    hint: str | None = None
    severity: Severity = "error"
    line: int | None = None
    column: int | None = None
    near: tuple[str, str] | None = None
    """(kind, id) of an unknown reference: its "did you mean" is looked up when the finding
    is located (in the worker processes), and ``hint`` says what to do otherwise."""


def to_problems(rel: str, findings: Iterable[Finding], text: str | None) -> list[Problem]:
    """Problems for one file; line/column come from the text only when a finding needs them."""
    findings = list(findings)
    locator = None
    out = []
    for f in findings:
        line, column = f.line, f.column
        if line is None and text is not None:
            pos = quick_find(text, f.parts) if f.parts else None
            if pos is None:
                if locator is None:
                    locator = Locator(text)
                pos = locator.find(f.parts)
            if pos is not None:
                line, column = pos.line, pos.column
        out.append(Problem(rel, line, column, f.rule, f.message, format_json_path(f.parts),
                           f.hint, f.severity))
    return out
