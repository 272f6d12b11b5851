"""Disclosure guard: what a run may publish into the KB.

Three layers, all applied before a run directory is renamed into ``kb/runs``:

1. :func:`suppress_small_rows` withholds whole rows (a fold, an arm within a fold, a summary
   entry) built from too few subjects: a row whose smallest class count (``n_test_cases``,
   ``n_test_controls``, ``n_cases``, ...) or sample size (``n_test``, ``n_subjects``) is below
   ``min_cell`` has every value replaced by ``"suppressed"``, because its metrics let a reader
   derive the small count (the AUPRC of a constant score is the case fraction, so it and
   ``n_test`` give the number of cases). Among the folds of one CV repeat, a lone suppressed
   fold could be recovered by subtracting the others from the totals, so further folds are
   withheld until the withheld ones together hold at least ``min_cell`` of each class
   (complementary suppression). Every withheld row is listed with its reason.
2. :func:`suppress_small_counts` replaces every subject count below ``min_cell`` (default 10,
   the ONS/SDAP and UK LLC threshold; UK Biobank's own is 5) with the marker ``"<10"`` and
   lists what it withheld. Subject counts are the method's ``counts`` and any key matching
   :data:`COUNT_KEY` (``n_train``, ``n_test``, ``n_cases``, ``present``, ``missing``, ...).
3. :func:`scan_text` refuses files that contain a cohort subject id, a UK Biobank-like
   participant id (a standalone 7-digit integer between 1,000,000 and 6,500,000), a
   subject-level column header (``subject_id``, ``eid``, ...) or the location of an input
   read from outside the KB.

Figures are drawn after the guard, from a :class:`Shown` that says which folds, arms and
summary entries were withheld, so a plot never shows what a table may not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.errors import DataError

MIN_CELL = 10
#: The one definition of a subject count, shared with the site's display guard.
COUNT_KEY = re.compile(
    r"^(n_(subjects|train|test|complete|cases|controls|used|rows|positive|negative|pos|neg|"
    r"with|without|missing|present)\w*|n|subjects|rows|sample_size|cases|controls|complete|"
    r"present|"
    r"missing|unmatched)$")
UKB_LIKE_ID = re.compile(r"(?<![\w.])([1-6]\d{6})(?![\w.])")
#: Shorter ids (e.g. "17") are not scanned for: they would match ordinary numbers.
MIN_ID_LENGTH = 5
#: run.yaml provenance lines whose numbers are not ids (file sizes, seeds).
PROVENANCE_LINE = re.compile(r"^\s*-?\s*(bytes|seed|sha256|config_sha256):\s")
SUBJECT_COLUMNS = ("subject_id", "eid", "participant_id", "subjectkey", "f.eid")


#: A class count of a row, optionally of one cell of it: ``n_test_cases``,
#: ``n_controls``, ``n_test_cases__gene`` (the cell is what follows ``__``).
CLASS_COUNT = re.compile(
    r"^n_(?:(?:test|train)_)?(?:cases|controls|pos|neg|positive|negative)(?:__(?P<cell>.+))?$")
#: The sample size of a row or cell: ``n_test``, ``n_subjects``, ``n``, ``n_test__gene__hgb``.
SAMPLE_SIZE = re.compile(r"^(?:n|n_test|n_train|n_subjects|n_complete|n_used)"
                         r"(?:__(?P<cell>.+))?$")
#: Keys that label a row rather than measure it; kept when the row is withheld.
LABEL_KEY = re.compile(r"^(fold|repeat|mode|arm|model|fusion|single|outcome|axis|statistic|"
                       r"gene|role|modality|dim|name|rank)$")
WITHHELD = "suppressed"


@dataclass
class RowSuppression:
    """One withheld row (or cell of a row) and why."""

    where: str
    """``per_fold[2]`` (whole fold), ``per_fold[2]:fusion_early`` (one arm), ``summary.arms.x``."""
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "reason": self.reason}


@dataclass
class DisclosureReport:
    min_cell: int = MIN_CELL
    suppressed: list[str] = field(default_factory=list)
    rows: list[RowSuppression] = field(default_factory=list)
    scanned_files: int = 0
    complementary: list[str] = field(default_factory=list)
    """Totals withheld so that no ``"<10"`` count follows from them (:mod:`.totals`)."""

    def as_dict(self) -> dict[str, Any]:
        return {"min_cell_size": self.min_cell, "suppressed_counts": len(self.suppressed),
                "suppressed": list(self.suppressed),
                "complementary": list(self.complementary),
                "suppressed_rows": [r.as_dict() for r in self.rows],
                "scanned_files": self.scanned_files, "subject_ids_found": 0}


@dataclass
class Shown:
    """What figures may show after the guard: withheld folds, fold cells and summary rows."""

    min_cell: int = MIN_CELL
    hidden_folds: set[int] = field(default_factory=set)
    """Fold numbers (the rows' ``fold`` values) withheld whole."""
    hidden_cells: dict[int, set[str]] = field(default_factory=dict)
    """Fold number -> cells (arms) withheld within that fold."""
    hidden_summary: set[str] = field(default_factory=set)
    """Dotted paths of withheld summary rows (``summary.arms.fusion_early``)."""

    def fold(self, fold: int) -> bool:
        """Whether fold ``fold`` may be drawn."""
        return fold not in self.hidden_folds

    def cell(self, fold: int, cell: str) -> bool:
        return self.fold(fold) and cell not in self.hidden_cells.get(fold, set())

    def summary(self, path: str) -> bool:
        """Whether the summary row at ``path`` (or any parent) may be drawn."""
        parts = path.split(".")
        return not any(".".join(parts[:i]) in self.hidden_summary
                       for i in range(1, len(parts) + 1))

    def enough(self, *counts: int) -> bool:
        """Whether every count is at least the minimum cell size (for a curve or a bin)."""
        return all(int(c) >= self.min_cell for c in counts)


def _cell_of(key: str, pattern: re.Pattern[str]) -> str | None:
    m = pattern.match(key)
    return None if m is None else (m.group("cell") or "")


def row_cells(row: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    """Cell ("" = the whole row) -> {"classes": [class counts], "sizes": [sample sizes]}."""
    cells: dict[str, dict[str, list[int]]] = {}
    for key, value in row.items():
        if not _is_count(value):
            continue
        for kind, pattern in (("classes", CLASS_COUNT), ("sizes", SAMPLE_SIZE)):
            cell = _cell_of(str(key), pattern)
            if cell is not None:
                cells.setdefault(cell, {"classes": [], "sizes": []})[kind].append(int(value))
    return cells


def _in_cell(key: str, cell: str) -> bool:
    if not cell:
        return True
    parts, want = str(key).split("__"), cell.split("__")
    return any(parts[i:i + len(want)] == want for i in range(len(parts) - len(want) + 1))


def _withhold(row: dict[str, Any], cell: str) -> dict[str, Any]:
    return {k: (v if LABEL_KEY.match(str(k)) or not _in_cell(str(k), cell) else WITHHELD)
            for k, v in row.items()}


def _smallest(counts: dict[str, list[int]]) -> int | None:
    values = counts["classes"] + counts["sizes"]
    return min(values) if values else None


def _reason(counts: dict[str, list[int]], min_cell: int) -> str:
    if counts["classes"] and min(counts["classes"]) < min_cell:
        return f"smallest class count below {min_cell}"
    return f"fewer than {min_cell} subjects"


def suppress_small_rows(rows: list[dict[str, Any]], section: str, report: DisclosureReport,
                        shown: Shown | None = None) -> list[dict[str, Any]]:
    """Per-fold rows with every row (or arm cell) built from too few subjects withheld.

    See the module docstring for the rule, including complementary suppression within a CV
    repeat (rows with the same ``repeat`` value, default 1).
    """
    m = report.min_cell
    cells = [row_cells(r) for r in rows]
    hide: dict[tuple[int, str], str] = {}
    for i, rc in enumerate(cells):
        for cell, counts in rc.items():
            low = _smallest(counts)
            if low is not None and low < m:
                hide[(i, cell)] = _reason(counts, m)
    groups: dict[tuple[Any, str], list[int]] = {}
    for i, rc in enumerate(cells):
        for cell in rc:
            groups.setdefault((rows[i].get("repeat", 1), cell), []).append(i)
    for (_, cell), members in groups.items():
        hidden = [i for i in members if (i, cell) in hide or (i, "") in hide]
        if not hidden:
            continue
        while True:
            classes = [cells[i][cell]["classes"] or cells[i][cell]["sizes"] for i in hidden]
            totals = [sum(c) for c in zip(*classes, strict=False)] if classes else []
            if totals and min(totals) >= m:
                break
            rest = [i for i in members if i not in hidden]
            if not rest:
                break
            pick = min(rest, key=lambda i: _smallest(cells[i][cell]) or 0)
            hidden.append(pick)
            hide.setdefault((pick, cell), "complementary: withheld so that the withheld "
                                          "rows of this repeat cannot be recovered from the "
                                          "totals")
    out = []
    for i, row in enumerate(rows):
        new = dict(row)
        fold = row.get("fold", i + 1)
        for (j, cell), reason in sorted(hide.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if j != i or (cell and (i, "") in hide):  # a withheld row covers its cells
                continue
            new = _withhold(new, cell)
            where = f"{section}[{i}]" + (f":{cell}" if cell else "")
            report.rows.append(RowSuppression(where, reason))
            if shown is not None:
                if cell:
                    shown.hidden_cells.setdefault(int(fold), set()).add(cell)
                else:
                    shown.hidden_folds.add(int(fold))
        out.append(new)
    return out


def suppress_small_entries(data: Any, path: str, report: DisclosureReport,
                           shown: Shown | None = None) -> Any:
    """A nested summary with every mapping built from too few subjects withheld.

    A mapping is a row: when its own class counts or sample sizes (see :func:`row_cells`,
    cell "" only) fall below the minimum, its values (nested ones too) become
    ``"suppressed"``, except labels (:data:`LABEL_KEY`).
    """
    if isinstance(data, dict):
        counts = row_cells(data).get("")
        low = None if counts is None else _smallest(counts)
        if low is not None and low < report.min_cell:
            report.rows.append(RowSuppression(path, _reason(counts, report.min_cell)))
            if shown is not None:
                shown.hidden_summary.add(path)
            return _withhold_tree(data)
        return {k: suppress_small_entries(v, f"{path}.{k}", report, shown)
                for k, v in data.items()}
    if isinstance(data, list):
        return [suppress_small_entries(v, f"{path}[{i}]", report, shown)
                for i, v in enumerate(data)]
    return data


def _withhold_tree(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _withhold_tree(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_withhold_tree(v, key) for v in data]
    return data if key and LABEL_KEY.match(key) else WITHHELD


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def suppress_small_counts(data: Any, path: str, report: DisclosureReport,
                          all_counts: bool = False) -> Any:
    """A copy of ``data`` with subject counts below ``report.min_cell`` replaced by "<N"."""
    marker = f"<{report.min_cell}"
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            sub = f"{path}.{key}" if path else str(key)
            if _is_count(value) and (all_counts or COUNT_KEY.match(str(key))) \
                    and value < report.min_cell:
                out[key] = marker
                report.suppressed.append(sub)
            else:
                out[key] = suppress_small_counts(value, sub, report, all_counts)
        return out
    if isinstance(data, list):
        return [suppress_small_counts(v, f"{path}[{i}]", report, all_counts)
                for i, v in enumerate(data)]
    return data


def scan_text(name: str, text: str, subject_ids: Iterable[str],
              locations: Iterable[str] = ()) -> None:
    """Raise :class:`DataError` if ``text`` holds subject ids, subject-level columns or the
    location of an input outside the KB (``locations``: its absolute path and folder)."""
    ids = {s for s in subject_ids if len(s) >= MIN_ID_LENGTH}
    tokens = re.compile(r"[A-Za-z0-9_.\-]+")
    places = [p for p in locations if p and p not in ("/", ".")]
    for lineno, line in enumerate(text.splitlines(), 1):
        for place in places:
            if place in line:
                raise DataError(f"disclosure guard: {name} line {lineno} holds the location of "
                                "an input outside the KB; nothing was published",
                                hint="inputs are recorded by file name and checksum only")
        match = None if PROVENANCE_LINE.match(line) else UKB_LIKE_ID.search(line)
        if match and 1_000_000 <= int(match.group(1)) <= 6_500_000:
            raise DataError(f"disclosure guard: {name} line {lineno} holds a 7-digit number "
                            "that looks like a participant id; nothing was published",
                            hint="report aggregates only (round large values or use another "
                                 "unit)")
        if ids:
            for tok in tokens.findall(line):
                if tok in ids or tok.strip(".-") in ids:
                    raise DataError(f"disclosure guard: {name} line {lineno} holds a subject "
                                    "id; nothing was published",
                                    hint="methods must return aggregates only")
        if lineno == 1 and name.endswith(".csv"):
            header = {h.strip().lower() for h in line.split(",")}
            hit = header.intersection(SUBJECT_COLUMNS)
            if hit:
                raise DataError(f"disclosure guard: {name} has a subject-level column "
                                f"{sorted(hit)[0]!r}; nothing was published")


#: Keys whose numbers are provenance, not ids (file sizes, seeds, checksums).
PROVENANCE_KEYS = frozenset({"bytes", "seed", "sha256", "config_sha256"})


def _located(name: str, parts: tuple[Any, ...]) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return f"{name} at {where or 'the top'}"


def scan_values(name: str, data: Any, subject_ids: Iterable[str],
                leaks: Callable[[str], str | None] | None = None) -> None:
    """Raise :class:`DataError` if a value of ``data`` (a parsed run file: mappings, lists, CSV
    rows; keys included) holds a subject id, a participant-like id or, per ``leaks``, a
    location outside the KB. Values are checked whole, however a file folds their lines."""
    ids = {s for s in subject_ids if len(s) >= MIN_ID_LENGTH}
    tokens = re.compile(r"[A-Za-z0-9_.\-]+")
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        parts, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append(((*parts, key), item))
                stack.append(((*parts, key, "(key)"), key))
            continue
        if isinstance(value, list | tuple):
            stack.extend(((*parts, i), item) for i, item in enumerate(value))
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value)
        owner = next((p for p in reversed(parts) if isinstance(p, str) and p != "(key)"), "")
        if isinstance(value, str) and leaks is not None and leaks(text):
            raise DataError(f"disclosure guard: {_located(name, parts)} holds the location of "
                            "data outside the KB; nothing was published",
                            hint="inputs are recorded by role, checksum, size and rows only")
        match = None if owner in PROVENANCE_KEYS else UKB_LIKE_ID.search(text)
        if match and 1_000_000 <= int(match.group(1)) <= 6_500_000:
            raise DataError(f"disclosure guard: {_located(name, parts)} holds a 7-digit number "
                            "that looks like a participant id; nothing was published",
                            hint="report aggregates only (round large values or use another "
                                 "unit)")
        if ids and any(tok in ids or tok.strip(".-") in ids for tok in tokens.findall(text)):
            raise DataError(f"disclosure guard: {_located(name, parts)} holds a subject id; "
                            "nothing was published", hint="methods must return aggregates only")


def parsed(path: Path) -> Any:
    """A run file as values: YAML/JSON parsed, CSV as rows of cells, other text as lines."""
    import csv
    import io
    import json

    from kbtools.yamlio import loads

    text = path.read_text("utf-8")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return loads(text)
    if suffix == ".json":
        return json.loads(text)
    if suffix == ".csv":
        return list(csv.reader(io.StringIO(text)))
    return text.splitlines()


def scan_folder(folder: Path, subject_ids: Iterable[str], report: DisclosureReport,
                locations: Iterable[str] = (),
                leaks: Callable[[str], str | None] | None = None) -> None:
    """Scan every text file of a staged run directory: each value (:func:`scan_values`), and
    each line (:func:`scan_text`, which also checks a CSV's header)."""
    ids = set(subject_ids)
    places = list(locations)
    if leaks is None and places:
        leaks = lambda text: next((p for p in places if p in text), None)  # noqa: E731
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".yaml", ".yml", ".csv", ".txt", ".json", ".md"):
            scan_values(path.name, parsed(path), ids, leaks)
            scan_text(path.name, path.read_text("utf-8"), ids, places)
            report.scanned_files += 1
