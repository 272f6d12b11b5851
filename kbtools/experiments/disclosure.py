"""Disclosure guard: what a run may publish into the KB.

Two layers, both applied before a run directory is renamed into ``kb/runs``:

1. :func:`suppress_small_counts` replaces every subject count below ``min_cell`` (default 10,
   the ONS/SDAP and UK LLC threshold; UK Biobank's own is 5) with the marker ``"<10"`` and
   lists what it withheld. Subject counts are the method's ``counts`` and any key matching
   :data:`COUNT_KEY` (``n_train``, ``n_test``, ``n_cases``, ``present``, ``missing``, ...).
2. :func:`scan_text` refuses files that contain a cohort subject id, a UK Biobank-like
   participant id (a standalone 7-digit integer between 1,000,000 and 6,500,000), or a
   subject-level column header (``subject_id``, ``eid``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


@dataclass
class DisclosureReport:
    min_cell: int = MIN_CELL
    suppressed: list[str] = field(default_factory=list)
    scanned_files: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"min_cell_size": self.min_cell, "suppressed_counts": len(self.suppressed),
                "suppressed": list(self.suppressed), "scanned_files": self.scanned_files,
                "subject_ids_found": 0}


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


def scan_text(name: str, text: str, subject_ids: Iterable[str]) -> None:
    """Raise :class:`DataError` if ``text`` holds subject ids or subject-level columns."""
    ids = {s for s in subject_ids if len(s) >= MIN_ID_LENGTH}
    tokens = re.compile(r"[A-Za-z0-9_.\-]+")
    for lineno, line in enumerate(text.splitlines(), 1):
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


def scan_folder(folder: Path, subject_ids: Iterable[str], report: DisclosureReport) -> None:
    """Scan every text file of a staged run directory."""
    ids = set(subject_ids)
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".yaml", ".yml", ".csv", ".txt", ".json", ".md"):
            scan_text(path.name, path.read_text("utf-8"), ids)
            report.scanned_files += 1
