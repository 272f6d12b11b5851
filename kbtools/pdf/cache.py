"""Conversion cache: which PDF (by sha256) was converted by which converter version, to where.

The index is a JSON file, ``<out-dir>/.kbtools-cache/pdf2md.json``, written atomically by the
main process only. A PDF is skipped when its sha256 has an entry with the current converter
version and the summary file it names still exists and still carries that sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.pdf.files import write_atomic

CACHE_DIR = ".kbtools-cache"
INDEX_NAME = "pdf2md.json"


def index_path(out_dir: Path) -> Path:
    return out_dir / CACHE_DIR / INDEX_NAME


@dataclass
class Index:
    """The cache index of one output folder."""

    path: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def load(cls, out_dir: Path) -> Index:
        path = index_path(out_dir)
        try:
            data = json.loads(path.read_text("utf-8"))
            entries = data.get("entries", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            entries = {}  # missing or damaged index: convert again, nothing is lost
        return cls(path, entries if isinstance(entries, dict) else {})

    def hit(self, sha256: str, version: str) -> dict[str, Any] | None:
        entry = self.entries.get(sha256)
        if not entry or entry.get("converter_version") != version:
            return None
        output = self.path.parent.parent / str(entry.get("output", ""))
        try:
            head = output.read_text("utf-8")[:4000]
        except OSError:
            return None
        return entry if f"source_sha256: {sha256}" in head else None

    def put(self, sha256: str, entry: dict[str, Any]) -> None:
        self.entries[sha256] = entry
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            text = json.dumps({"entries": self.entries}, indent=1, sort_keys=True)
            write_atomic(self.path, text + "\n")
            self.dirty = False
