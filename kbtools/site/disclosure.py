"""Disclosure control for tables shown on the site: no cell built from fewer than N subjects.

Run logs already hold aggregates only; this is the second line of defence at display time:

* a subject count below the minimum cell size shows as ``"<10"`` (zero included);
* a metric from a row (fold, arm, summary) whose subject count is below the minimum, a value
  listed in ``metrics.yaml``'s ``suppressed``, a null, or a value marked ``suppressed`` shows as
  ``"suppressed"``.

Which keys count subjects is defined once, by the run writer's guard
(:data:`kbtools.experiments.disclosure.COUNT_KEY`); counts of other things (features, modes,
genes, permutations) are shown as they are.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from kbtools.experiments.disclosure import CLASS_COUNT, COUNT_KEY

MIN_CELL_SIZE = 10
SUPPRESSED = "suppressed"

#: How a run log marks a count it suppressed itself: ``"<10"``.
_MARKED_COUNT = re.compile(r"^<\d+$")
#: Keys that label a row (fold, arm, gene...): shown as they are, even in a small row.
_LABEL = re.compile(
    r"^(fold|repeat|split|mode|component|arm|role|seed|site|gene|k)(_?id|_?index|_?idx)?$")

#: Subject counts of a subgroup (cases, women...): shown as "<10" but do not suppress the row.
_SUBGROUP = re.compile(
    r"case|control|pos|neg|female|male|women|men|missing|unmatched|exclu|drop|withh|_with")


@functools.lru_cache(maxsize=4096)
def _name(key: str) -> str:
    return key.lower().rsplit(".", 1)[-1]


@functools.lru_cache(maxsize=4096)
def is_subject_count(key: str) -> bool:
    """Whether a key names a number of subjects (``n_test``, ``subjects``, ``n_cases``...)."""
    return bool(COUNT_KEY.match(_name(key)))


@functools.lru_cache(maxsize=4096)
def is_sample_size(key: str) -> bool:
    """A subject count that sizes the whole row (``n``, ``n_test``), not a subgroup."""
    return is_subject_count(key) and not _SUBGROUP.search(_name(key))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def small(count: Any, minimum: int = MIN_CELL_SIZE) -> bool:
    """A count below the minimum, or one the run log already marked as ``"<N"``."""
    if isinstance(count, str):
        return bool(_MARKED_COUNT.match(count.strip()))
    return _is_number(count) and count < minimum


def less_than(minimum: int = MIN_CELL_SIZE) -> str:
    return f"<{minimum}"


def _marked(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str) and value.strip().lower() in {SUPPRESSED, "withheld"}:
        return True
    return isinstance(value, Mapping) and value.get(SUPPRESSED) is True


def suppressed_names(listed: Any) -> set[str]:
    """Normalise ``metrics.yaml: suppressed`` entries to dotted paths (``per_fold.2.auc``)."""
    names: set[str] = set()
    if not isinstance(listed, list):
        return names
    for item in listed:
        if isinstance(item, Mapping):
            item = item.get("key") or item.get("path") or item.get("name")
        if isinstance(item, str) and item:
            text = re.sub(r"\[(\d+)\]", r".\1", item.strip()).removeprefix("$.")
            names.add(text)
    return names


def is_listed(path: str, listed: set[str]) -> bool:
    """``path`` (``summary.gene.auc``) or its last key or any parent is in ``listed``."""
    if not listed:
        return False
    parts = path.split(".")
    if parts[-1] in listed:
        return True
    return any(".".join(parts[:i]) in listed for i in range(1, len(parts) + 1))


def guard_cell(key: str, value: Any, *, row_small: bool = False, listed: set[str] | None = None,
               path: str | None = None, minimum: int = MIN_CELL_SIZE) -> Any:
    """The value a table cell may show."""
    if is_listed(path or key, listed or set()) or _marked(value):
        return SUPPRESSED
    if isinstance(value, str) and _MARKED_COUNT.match(value.strip()):
        return value.strip()  # already suppressed by the run's own guard
    name = _name(key)
    if _LABEL.match(name) or isinstance(value, str | bool):
        return value
    if name.startswith("n_") and not is_subject_count(name):  # n_features, n_modes_significant
        return value
    if is_subject_count(key):
        return less_than(minimum) if small(value, minimum) else value
    if row_small:
        return SUPPRESSED
    return value


def row_is_small(row: Mapping[str, Any], minimum: int = MIN_CELL_SIZE) -> bool:
    """A row is built from too few subjects when its sample size, or the count of one outcome
    class (``n_cases``, ``n_test_controls``; metrics such as AUPRC reveal it), is below the
    minimum. Other subgroup counts (missing, unmatched) show as ``<10`` only."""
    return any((is_sample_size(str(k)) or bool(CLASS_COUNT.match(_name(str(k)))))
               and small(v, minimum) for k, v in row.items())


def guard_row(row: Mapping[str, Any], *, listed: set[str] | None = None, prefix: str = "",
              minimum: int = MIN_CELL_SIZE, force_small: bool = False) -> dict[str, Any]:
    """Guard every cell of a flat row (a fold, an arm, a summary)."""
    tiny = force_small or row_is_small(row, minimum)
    return {
        str(key): guard_cell(str(key), value, row_small=tiny, listed=listed,
                             path=f"{prefix}{key}", minimum=minimum)
        for key, value in row.items()
    }


def total_subjects(counts: Any) -> Any:
    """The run's number of subjects, if ``counts`` says it (``n_subjects``, ``subjects``, ``n``)."""
    if isinstance(counts, Mapping):
        for key in ("n_subjects", "subjects", "n", "n_total", "n_complete", "n_analysed",
                    "n_analyzed"):
            if _is_number(counts.get(key)):
                return counts[key]
    return None


def guard_tree(value: Any, *, path: str = "", listed: set[str] | None = None,
               minimum: int = MIN_CELL_SIZE, small_parent: bool = False, key: str = "") -> Any:
    """Guard a nested metrics structure: each mapping is a row for its scalar members."""
    if isinstance(value, Mapping) and not _marked(value):
        scalars = {k: v for k, v in value.items() if not isinstance(v, Mapping | list)}
        tiny = small_parent or row_is_small(scalars, minimum)
        return {
            str(k): guard_tree(v, path=f"{path}.{k}" if path else str(k), listed=listed,
                               minimum=minimum, small_parent=tiny, key=str(k))
            for k, v in value.items()
        }
    if isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
        return [guard_tree(v, path=f"{path}.{i}" if path else str(i), listed=listed,
                           minimum=minimum, small_parent=small_parent, key=key)
                for i, v in enumerate(value)]
    return guard_cell(key or path, value, row_small=small_parent, listed=listed, path=path,
                      minimum=minimum)
