"""Load every card, config and run log of a KB into memory for the site.

Loading is forgiving: a card file that cannot be parsed becomes a :class:`Problem` and a card
with no fields whose ``broken`` names it, so it keeps its page (which shows the problem) and its
place on its dashboard; one broken card never stops the site from building. Parsed documents
are cached on disk, keyed by each file's size and modification time, so a rebuild re-parses
only the files that changed.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools import layout
from kbtools.kb import KINDS_BY_NAME, InsideCheck, expected_id
from kbtools.text import normalise
from kbtools.validation.problems import Problem
from kbtools.yamlio import YAMLLoadError, load_file

log = logging.getLogger("mkdocs.plugins.kbtools")

#: Card kinds that get a page, in the order dashboards list them, with their site folder.
PAGE_KINDS: dict[str, str] = {
    "model": "models",
    "paper": "papers",
    "dataset": "datasets",
    "registry": "registries",
    "experiment": "experiments",
    "run": "runs",
}
PREFIX = "registry"
PARSE_CACHE = "parsed.json"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CACHE_VERSION = 1


@dataclass
class Card:
    """One loaded document. ``id`` comes from the file name, which is stable and unique."""

    kind: str
    id: str
    path: str  # relative to the KB root, POSIX
    data: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    #: Run logs only: metrics.yaml, config_used.yaml and PNG plots of the run directory.
    metrics: dict[str, Any] | None = None
    config_used: dict[str, Any] | None = None
    plots: list[str] = field(default_factory=list)
    #: Size and modification time of each file the card was read from.
    stamp: list[list[int]] = field(default_factory=list)
    #: Why the card's file could not be read as a card (it then has no fields).
    broken: Problem | None = None
    #: A broken card's name as its text gives it (a ``name:`` or ``title:`` line), if any.
    raw_title: str | None = None
    #: Problems found while loading the card's files (kept with a card that is reused).
    load_problems: list[Problem] = field(default_factory=list)

    @property
    def page(self) -> str | None:
        folder = PAGE_KINDS.get(self.kind)
        return f"{PREFIX}/{folder}/{self.id}.md" if folder else None

    @property
    def title(self) -> str:
        if self.broken is not None:
            return self.raw_title or self.id
        for key in ("name", "title"):
            value = self.data.get(key)
            if isinstance(value, str) and normalise(value).strip():  # shows as some text
                return value.strip()
        return self.id

    def files(self) -> list[str]:
        """The KB files (relative paths) the card was read from."""
        if self.kind != "run" or self.broken is not None:
            return [self.path]
        folder = self.path.rsplit("/", 1)[0]
        return [self.path, *(f"{folder}/{name}" for name in ("metrics.yaml", "config_used.yaml")
                             if self.stamp and self.stamp[1 if name == "metrics.yaml" else 2]
                             != [-1, -1])]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


@dataclass
class Catalog:
    """Every loaded card by kind and id, and the files that could not be loaded."""

    root: Path
    cards: dict[str, dict[str, Card]]
    load_problems: list[Problem]
    #: Cards with status: template (other than experiment plans): no page, listed by file.
    templates: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Card]:
        return list(self.cards.get(kind, {}).values())

    def find(self, kind: str, card_id: Any) -> Card | None:
        if not isinstance(card_id, str):
            return None
        return self.cards.get(kind, {}).get(card_id)

    def by_path(self) -> dict[str, Card]:
        index: dict[str, Card] = {}
        for cards in self.cards.values():
            for card in cards.values():
                index[card.path] = card
        return index

    def attach(self, problems: Iterable[Problem]) -> None:
        """Attach validation problems to the cards they concern (run metrics go to the run)."""
        index = self.by_path()
        for card in index.values():
            card.problems = []
        for problem in problems:
            card = index.get(problem.path)
            if card is None and problem.path.endswith(("/metrics.yaml", "/config_used.yaml")):
                card = index.get(problem.path.rsplit("/", 1)[0] + "/run.yaml")
            if card is not None:
                card.problems.append(problem)


class _ParseCache:
    """Parsed YAML keyed by relative path, valid while size and mtime are unchanged."""

    def __init__(self, folder: Path | None):
        self.file = folder / PARSE_CACHE if folder else None
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        if self.file and self.file.is_file():
            try:
                stored = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                stored = {}
            if isinstance(stored, dict) and stored.get("version") == _CACHE_VERSION:
                self.entries = stored.get("entries", {})

    def load(self, path: Path, rel: str) -> Any:
        stat = path.stat()
        key = [stat.st_size, stat.st_mtime_ns]
        hit = self.entries.get(rel)
        if hit is not None and hit[:2] == key:
            return hit[2]
        data = load_file(path)
        if _json_safe(data):
            self.entries[rel] = [*key, data]
            self.dirty = True
        return data

    def save(self, seen: set[str]) -> None:
        stale = set(self.entries) - seen
        for rel in stale:
            del self.entries[rel]
        if not self.file or not (self.dirty or stale):
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": _CACHE_VERSION, "entries": self.entries}),
                       encoding="utf-8")
        tmp.replace(self.file)


def _json_safe(data: Any) -> bool:
    """True if ``data`` survives a JSON round trip unchanged (str keys, no tuples...)."""
    try:
        return json.loads(json.dumps(data)) == data
    except (TypeError, ValueError):
        return False


#: Rules of the problems that leave a file unreadable as a card.
UNREADABLE_RULES = frozenset({"site.not-a-mapping", "site.unreadable"})


def is_unreadable(problem: Problem) -> bool:
    """Whether ``problem`` means its file could not be read as a card at all."""
    return problem.rule.startswith("yaml.") or problem.rule in UNREADABLE_RULES


_TITLE_LINE = re.compile(r"^(?:name|title):[ \t]+(.+?)[ \t]*$", re.MULTILINE)


def raw_title(path: Path) -> str | None:
    """The value of a card's top-level ``name:`` or ``title:`` line, read as plain text (for
    a card whose YAML does not parse); None if there is none."""
    try:
        with path.open("rb") as handle:
            text = handle.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return None
    match = _TITLE_LINE.search(text)
    if match is None:
        return None
    value = match[1].split(" #", 1)[0].strip()
    if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value[:120] or None


def _load_problem(rel: str, exc: Exception) -> Problem:
    if isinstance(exc, YAMLLoadError):
        return Problem(rel, exc.line, exc.column, exc.rule, exc.message, hint=exc.hint)
    return Problem(rel, None, None, "site.unreadable", f"cannot read file: {exc}")


def load_catalog(root: Path, cache_dir: Path | None = None, *,
                 parse_cache: _ParseCache | None = None,
                 reuse: dict[str, Card] | None = None) -> Catalog:
    """Load every card kind the site shows (and registries, used for lineage).

    ``parse_cache`` lets a long-lived caller (``mkdocs serve``) keep parsed files in memory;
    ``reuse`` (card file, relative to the root -> card) gives it the cards none of whose files
    changed since it loaded them: they are taken as they are, without reading anything.
    """
    root = Path(root).resolve()
    cache = parse_cache if parse_cache is not None else _ParseCache(cache_dir)
    seen: set[str] = set()
    problems: list[Problem] = []

    stamps: dict[str, list[int]] = {}

    def read(path: Path) -> Any:
        rel = path.relative_to(root).as_posix()
        seen.add(rel)
        try:
            stat = path.stat()
            stamps[rel] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            stamps[rel] = [-1, -1]
        try:
            return cache.load(path, rel)
        except (YAMLLoadError, OSError) as exc:
            problems.append(_load_problem(rel, exc))
            return None

    cards: dict[str, dict[str, Card]] = {}
    templates: list[str] = []
    inside = InsideCheck(root)
    reuse = reuse or {}
    prefix = len(str(root)) + 1
    for name in ("model", "paper", "dataset", "registry", "experiment", "run"):
        kind = KINDS_BY_NAME[name]
        found: dict[str, Card] = {}
        for path in layout.documents(root, name):  # template files are never cards
            kept = reuse.get(str(path)[prefix:].replace(os.sep, "/")) if reuse else None
            if kept is not None and kept.kind == name:
                found[kept.id] = kept
                seen.update(kept.files())
                problems.extend(kept.load_problems)
                continue
            before = len(problems)
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue  # hidden folders hold unfinished run directories
            if not refuse_outside(path, inside, problems):
                continue
            if not path.is_file():
                continue
            data = read(path)
            rel = path.relative_to(root).as_posix()
            broken = None
            if data is None:
                broken = next((p for p in reversed(problems) if p.path == rel), None)
                data = {}  # an empty file: shown with the validator's problems
            elif not isinstance(data, dict):
                broken = Problem(rel, 1, 1, "site.not-a-mapping",
                                 "the document is not a YAML mapping of fields",
                                 hint="a card is a mapping: `key: value` lines")
                problems.append(broken)
                data = {}
            if layout.is_template(data) and name != "experiment":
                templates.append(rel)  # unfinished cards: named on the registry index only
                continue  # (a plan with status: template has a page, marked as a plan)
            card_id = expected_id(kind, path)
            if not _SAFE_ID.match(card_id):
                problems.append(Problem(rel, None, None, "site.unsafe-name",
                                        f"{card_id!r} cannot be a page name, so it has no page",
                                        hint="name the file with lower-case letters, digits, "
                                             "'_', '-' and '.' only"))
                continue
            card = Card(name, card_id, rel, data, broken=broken)
            if broken is not None:
                card.raw_title = raw_title(path)
            elif name == "run":
                _load_run_files(card, path.parent, read, inside, problems)
            folder = rel.rsplit("/", 1)[0]
            card.stamp = [stamps.get(f, [-1, -1]) for f in (
                rel, f"{folder}/metrics.yaml", f"{folder}/config_used.yaml")]
            card.load_problems = problems[before:]
            found[card.id] = card
        cards[name] = found
    cache.save(seen)
    return Catalog(root, cards, problems, templates)


def refuse_outside(path: Path, inside: InsideCheck, problems: list[Problem]) -> bool:
    """True if ``path`` may be read; else records why not (its real file is outside the KB,
    it is a symlink loop or a broken link, or a hard link whose other name may be outside).

    The site never reads, copies or publishes such a file; the problem shows on the health
    page and as a warning in the build log.
    """
    error = inside.publishable(path)
    if error is None:
        return True
    rel = path.relative_to(inside.root).as_posix()
    problems.append(Problem(rel, None, None, error.rule, f"`{rel}` {error.message}",
                            hint=error.hint))
    log.warning("kbtools: not publishing %s: %s [%s]", rel, error.message, error.rule)
    return False


def _load_run_files(card: Card, folder: Path, read: Any, inside: InsideCheck,
                    problems: list[Problem]) -> None:
    metrics = folder / "metrics.yaml"
    if (metrics.is_file() or metrics.is_symlink()) and refuse_outside(metrics, inside, problems) \
            and metrics.is_file():
        value = read(metrics)
        card.metrics = value if isinstance(value, dict) else None
    config = folder / "config_used.yaml"
    if (config.is_file() or config.is_symlink()) and refuse_outside(config, inside, problems) \
            and config.is_file():
        value = read(config)
        card.config_used = value if isinstance(value, dict) else None
    card.plots = sorted(p.name for p in folder.glob("*.png")
                        if refuse_outside(p, inside, problems) and p.is_file())
