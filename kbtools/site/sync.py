"""Write generated files to a folder, touching only those whose content changed.

Unchanged files keep their modification time, so ``mkdocs serve --dirty`` rebuilds only the
pages of the cards that changed. A manifest records what was written, so files that are no
longer generated are removed and files kbtools did not write are never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kbtools.errors import DataError, PathOutsideKB
from kbtools.kb import copy_inside

MANIFEST = ".kbtools-manifest.json"


@dataclass
class SyncReport:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    #: Copies refused by the inside-the-root gate (site path -> why).
    refused: dict[str, str] = field(default_factory=dict)


def _read_manifest(folder: Path) -> set[str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {p for p in data if isinstance(p, str)} if isinstance(data, list) else set()


def _safe_target(folder: Path, rel: str) -> Path:
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
        raise DataError(f"generated path {rel!r} is not a plain relative path", path=str(folder))
    return folder / rel


def sync_folder(folder: Path, texts: dict[str, str], copies: dict[str, Path] | None = None, *,
                overwrite_foreign: bool = False, known: set[str] | None = None,
                inside: Path | None = None) -> SyncReport:
    """Make ``folder`` hold exactly the generated ``texts`` and ``copies`` (by relative path).

    Copies from below ``inside`` (the KB root) are made open-then-check
    (:func:`kbtools.kb.copy_inside`): one swapped for a symlink out since it was checked is
    not copied but listed in the report's ``refused``.

    Files present but not in the previous manifest are someone else's: unless
    ``overwrite_foreign``, a clash with one raises :class:`DataError` before anything is written.
    ``known`` names texts the caller knows equal what the previous sync wrote: they are not
    read back when their file still exists.
    """
    known = known or set()
    folder.mkdir(parents=True, exist_ok=True)
    copies = copies or {}
    previous = _read_manifest(folder)
    wanted = set(texts) | set(copies)
    if not overwrite_foreign:
        foreign = sorted(rel for rel in wanted
                         if rel not in previous and (folder / rel).exists()
                         and not _same(folder / rel, texts.get(rel), copies.get(rel)))
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise DataError(
                f"{len(foreign)} file(s) exist and were not written by kbtools: {shown}",
                path=str(folder), hint="move them away, or pass --force to replace them")
    report = SyncReport()
    for rel, content in texts.items():
        target = _safe_target(folder, rel)
        if (rel in known and rel in previous and target.is_file()) or _same(target, content, None):
            report.unchanged += 1
            continue
        _atomic_write(target, content.encode("utf-8"))
        report.written.append(rel)
    for rel, source in copies.items():
        target = _safe_target(folder, rel)
        if _same(target, None, source):
            report.unchanged += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if inside is not None and Path(source).is_relative_to(inside):
            try:
                copy_inside(inside, source, target)
            except PathOutsideKB as exc:
                target.unlink(missing_ok=True)
                report.refused[rel] = f"{exc.message} [{exc.rule}]"
                continue
        else:
            shutil.copy2(source, target)
        report.written.append(rel)
    for rel in sorted(previous - wanted):
        target = _safe_target(folder, rel)
        if target.is_file():
            target.unlink()
            report.removed.append(rel)
            _prune_empty(target.parent, folder)
    if wanted != previous:
        _atomic_write(folder / MANIFEST, json.dumps(sorted(wanted), indent=0).encode("utf-8"))
    return report


def _same(target: Path, content: str | None, source: Path | None) -> bool:
    try:
        if content is not None:
            return target.read_bytes() == content.encode("utf-8")
        if source is not None:
            a, b = target.stat(), source.stat()
            return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns
    except OSError:
        return False
    return False


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def _prune_empty(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
