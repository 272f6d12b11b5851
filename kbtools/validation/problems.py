"""The one problem type every check produces and every reporter prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file.

    ``path`` is relative to the KB root (POSIX separators); ``json_path`` is like ``$.license.code``;
    ``rule`` is a stable id such as ``schema``, ``ref.model``, ``lint.todo``.
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
