"""The one problem type every check produces and every reporter prints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file.

    ``path`` is relative to the KB root (POSIX separators); ``json_path`` is like
    ``$.license.code``; ``rule`` is a stable id such as ``schema``, ``ref.model``, ``lint.todo``.
    """

    path: str
    line: int | None
    column: int | None
    rule: str
    message: str
    json_path: str = "$"
    hint: str | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def format_json_path(parts: Sequence[str | int]) -> str:
    """``["license", "code"]`` -> ``$.license.code``; ``["a", 0, "b c"]`` -> ``$.a[0]['b c']``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.match(part):
            out.append(f".{part}")
        else:
            out.append("['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']")
    return "".join(out)


def sort_key(problem: Problem) -> tuple[Any, ...]:
    """Order problems by file, then position (file-level problems first), then rule."""
    return (problem.path, problem.line or 0, problem.column or 0, problem.rule, problem.message)


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=sort_key)
