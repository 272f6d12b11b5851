"""Static checks of an experiment design, shared by ``kbtools validate`` and the runner.

Light on purpose (no numpy import): validation calls :func:`check_design` on every
experiment config. Each check returns the designs that cannot work as written, e.g. a
test whose smallest attainable p-value is above alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class DesignIssue:
    json_path: list[str | int]
    rule: str
    message: str
    hint: str
    severity: Literal["error", "warning"] = "error"


DesignCheck = Callable[[dict[str, Any]], list[DesignIssue]]
_CHECKS: dict[str, list[DesignCheck]] = {}


def design_check(*methods: str) -> Callable[[DesignCheck], DesignCheck]:
    """Register a check for configs whose ``method`` is one of ``methods``."""

    def register(fn: DesignCheck) -> DesignCheck:
        for method in methods:
            _CHECKS.setdefault(method, []).append(fn)
        return fn

    return register


def check_design(config: dict[str, Any]) -> list[DesignIssue]:
    """All design issues of one (schema-valid) experiment config."""
    issues: list[DesignIssue] = []
    for fn in _CHECKS.get(str(config.get("method")), []):
        issues.extend(fn(config))
    return issues
