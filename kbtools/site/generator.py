"""Regenerate the registry pages in a long-lived process, doing only the work an edit needs.

Under ``mkdocs serve`` one :class:`SiteGenerator` lives for the whole session. It keeps in
memory what a build would otherwise read back from the cache folder: the parsed documents,
each file's validation report and every page's last rendering. After an edit it re-parses and
re-validates only the files whose size or modification time changed (references are still
resolved across the whole KB), renders only pages whose inputs changed, and rewrites only the
markdown files whose text changed. The result says which pages changed and which KB files
caused it, so the caller can rebuild just those pages.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.site.catalog import PAGE_KINDS, PREFIX, Card, Catalog, _ParseCache, load_catalog
from kbtools.site.health import merge
from kbtools.site.render import (
    BYTECODE_DIR,
    RenderedSite,
    _read_memo,
    _write_memo,
    make_environment,
    page_common,
    plot_files,
    render_page,
    render_site,
)
from kbtools.site.sync import SyncReport, _atomic_write, sync_folder
from kbtools.site.views import SiteData, card_page, compare_page
from kbtools.validation.problems import Problem

#: Folders of the KB whose files can change a page (cards, configs, runs, schemas, PDFs...).
WATCHED = ("kb", "configs")
MEMO_FILE = "rendered.json"

Stamp = tuple[int, int]


def scan(folders: list[Path], root: Path) -> dict[str, Stamp]:
    """Size and modification time of every file under ``folders``, by path relative to root."""
    stamps: dict[str, Stamp] = {}
    prefix = os.path.join(os.path.abspath(root), "")
    for top in folders:
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(os.path.abspath(top)):
            dirnames.sort()
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                # a prefix cut, not os.path.relpath (a third of the scan's time at 10,000 cards)
                rel = (path[len(prefix):] if path.startswith(prefix)
                       else os.path.relpath(path, root))
                stamps[rel.replace(os.sep, "/")] = (stat.st_size, stat.st_mtime_ns)
    return stamps


@dataclass
class Step:
    """A KB loaded after a change, before any page is rendered."""

    site: SiteData
    #: KB files (relative to the KB root) added, changed or removed since the last generation.
    sources: set[str]
    started: float


@dataclass
class Generation:
    """One regeneration: the pages, what changed on disk, and the KB files behind it."""

    rendered: RenderedSite
    catalog: Catalog | None
    report: SyncReport = field(default_factory=SyncReport)
    #: KB files (relative to the KB root) added, changed or removed since the last generation.
    sources: set[str] = field(default_factory=set)
    #: Copied files (site path -> source) added or changed, and site paths of removed ones.
    files_changed: dict[str, Path] = field(default_factory=dict)
    files_removed: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def pages_written(self) -> list[str]:
        return [p for p in self.report.written if p.endswith(".md")]

    @property
    def pages_removed(self) -> list[str]:
        return [p for p in self.report.removed if p.endswith(".md")]


def watched_folders(root: Path, templates_dir: Path | None) -> list[Path]:
    """The KB folders whose files make pages, and the templates folder if there is one."""
    return [root / name for name in WATCHED] + ([templates_dir] if templates_dir else [])


class SiteGenerator:
    """Parsed files, validation reports and rendered pages kept between regenerations."""

    def __init__(self, root: Path, *, templates_dir: Path | None, cache_dir: Path,
                 validate: bool, min_cell_size: int, docs_dir: Path | None = None):
        self.root = Path(root).resolve()
        self.docs_dir = docs_dir
        self.templates_dir = templates_dir
        self.cache_dir = cache_dir
        self.validate = validate
        self.min_cell_size = min_cell_size
        self.pages_dir = cache_dir / "pages"
        self._parse_cache = _MemoryParseCache(cache_dir)
        self._reports: dict[str, Any] = {}
        self._memo: dict[str, Any] = _read_memo(cache_dir / MEMO_FILE)
        self._stamps: dict[str, Stamp] | None = None
        self._day: dt.date | None = None
        self._last: Generation | None = None
        self._memo_dirty = False
        #: The last generation's site, the problems of each of its cards and the common values
        #: each template read: what the next one compares against to skip unchanged pages.
        self._site: SiteData | None = None
        self._problems: dict[str, tuple[Problem, ...]] = {}
        self._shared: dict[str, bytes] | None = None

    @property
    def options(self) -> tuple[Any, ...]:
        return (self.root, self.templates_dir, self.cache_dir, self.validate, self.min_cell_size,
                self.docs_dir)

    def _folders(self) -> list[Path]:
        return watched_folders(self.root, self.templates_dir)

    def run(self) -> Generation:
        """Bring the pages folder up to date with the KB; a no-op when nothing changed."""
        step = self.prepare()
        return self.finish(step) if step is not None else self.unchanged()

    def unchanged(self) -> Generation:
        assert self._last is not None
        return Generation(self._last.rendered, self._last.catalog)

    def prepare(self) -> Step | None:
        """Find what changed and load the KB (the cheap part); None when nothing changed."""
        started = time.perf_counter()
        stamps = scan(self._folders(), self.root)
        today = dt.date.today()
        if self._last is not None and stamps == self._stamps and today == self._day:
            return None
        previous = self._stamps or {}
        sources = {rel for rel in stamps.keys() | previous.keys()
                   if stamps.get(rel) != previous.get(rel)}
        if self._stamps is not None and not self._all_documents(sources):
            # a file a card may name (a PDF, a summary, a schema extension) changed: the
            # single-file checks that look at such files run again for every document
            self._reports.clear()
        catalog = load_catalog(self.root, self.cache_dir, parse_cache=self._parse_cache,
                               reuse=self._unchanged_cards(sources))
        problems = self._validation() if self.validate else []
        site = SiteData(catalog, merge(problems, catalog.load_problems),
                        min_cell_size=self.min_cell_size, docs_dir=self.docs_dir)
        self._stamps, self._day = stamps, today
        return Step(site, sources, started)

    def _unchanged_cards(self, sources: set[str]) -> dict[str, Card]:
        """Cards of the last generation none of whose files changed (a run: nothing in its
        folder), by card file: the catalog takes them as they are."""
        if self._last is None or self._last.catalog is None:
            return {}
        folders = {rel.rsplit("/", 1)[0] for rel in sources}
        kept = {}
        for path, card in self._last.catalog.by_path().items():
            changed = (card.path.rsplit("/", 1)[0] in folders if card.kind == "run"
                       else path in sources)
            if not changed:
                kept[path] = card
        return kept

    def card_pages(self, step: Step, paths: set[str]) -> tuple[dict[str, str], dict[str, Path]]:
        """Render and write the pages of ``paths`` (card pages) ahead of the rest.

        They are rendered exactly as :meth:`finish` renders them, so it finds them current.
        Returns the pages written and the plots those pages show (site path -> file).
        """
        env = make_environment(self.templates_dir, self.cache_dir / BYTECODE_DIR, self.root)
        common = page_common(step.site)
        written: dict[str, str] = {}
        cards = [c for c in step.site.catalog.by_path().values() if c.page in paths]
        plots = plot_files(step.site.catalog.root, [c for c in cards if c.kind == "run"])
        for card in cards:
            if card.page in paths:
                path, template, context = card_page(step.site, card)
                text = render_page(env, common, path, template, context)
                target = self.pages_dir / path
                try:
                    same = target.read_text(encoding="utf-8") == text
                except OSError:
                    same = False
                if not same:
                    _atomic_write(target, text.encode("utf-8"))
                    written[path] = text
        return written, plots

    def finish(self, step: Step) -> Generation:
        """Render every page whose inputs changed and rewrite those whose text changed."""
        env = make_environment(self.templates_dir, self.cache_dir / BYTECODE_DIR, self.root)
        rendered = render_site(step.site, env, memo_dict=self._memo,
                               wanted=self._changed_pages(step), shared_before=self._shared)
        self._site, self._shared = step.site, rendered.shared
        self._problems = {path: tuple(card.problems)
                          for path, card in step.site.catalog.by_path().items()}
        self._memo_dirty = True
        texts = {**rendered.pages, **rendered.assets}
        report = sync_folder(self.pages_dir, texts, overwrite_foreign=True,
                             known=rendered.unchanged)
        old_files = self._last.rendered.files if self._last else {}
        files_changed = {rel: src for rel, src in rendered.files.items()
                         if old_files.get(rel) != src
                         or _rel(src, self.root) in step.sources}
        files_removed = set(old_files) - set(rendered.files)
        generation = Generation(rendered, step.site.catalog, report, step.sources,
                                files_changed, files_removed)
        self._last = generation
        generation.seconds = time.perf_counter() - step.started
        return generation

    def _changed_pages(self, step: Step) -> Callable[[str], bool] | None:
        """Which card and comparison pages an edit of documents can change: those of the cards
        whose files or problems changed and of every card within two links of them (an
        experiment's lineage reaches papers through models), in the link graphs before and
        after, and the registry pages. None (every page) after anything but document edits
        or after a registry edit."""
        old = self._site
        if old is None or self._shared is None or not self._all_documents(step.sources):
            return None
        new = step.site
        before, after = old.catalog.by_path(), new.catalog.by_path()
        changed: set[tuple[str, str]] = set()
        for path in before.keys() | after.keys():
            a, b = before.get(path), after.get(path)
            if a is b and b is not None and tuple(b.problems) == self._problems.get(path):
                continue
            for card in (a, b):
                if card is not None and card.kind == "registry":
                    return None  # a registry: its strategies reach experiments
                if card is not None:
                    changed.add((card.kind, card.id))
        near, frontier = set(changed), set(changed)
        for _ in range(2):
            frontier = {other for node in frontier for links in (old.links, new.links)
                        for other in links.neighbours(node)} - near
            near |= frontier
        pages = {f"{PREFIX}/{PAGE_KINDS[kind]}/{card_id}.md" for kind, card_id in near
                 if kind in PAGE_KINDS}
        pages |= {compare_page(card_id) for kind, card_id in near if kind == "experiment"}
        # registry pages name the models, datasets and experiments of their entries (a few
        # pages per KB): always looked at again
        pages |= {card.page for card in new.catalog.of("registry") if card.page}
        return pages.__contains__

    def _all_documents(self, sources: set[str]) -> bool:
        """True if every changed file is a document the validator checks on its own."""
        from kbtools.layout import kind_of  # kb/integration_cards included

        return all(kind_of(self.root / rel, self.root) is not None for rel in sources)

    def _validation(self) -> list[Problem]:
        try:
            from kbtools.validation import validate_kb

            return list(validate_kb(self.root, memo=self._reports).problems)
        except Exception as exc:  # noqa: BLE001 - a validator bug must not hide the site
            self._reports.clear()
            return [Problem(".", None, None, "site.validation-crashed",
                            f"the validator stopped with {type(exc).__name__}: {exc}",
                            hint="run `kbtools validate` to see the error; please report it")]

    def flush(self) -> None:
        """Write the in-memory caches to the cache folder (for the next process)."""
        if self._memo_dirty:
            _write_memo(self.cache_dir / MEMO_FILE, self._memo)
            # the build-time shortcut trusts its snapshot only with its own memo
            (self.cache_dir / "snapshot.json").unlink(missing_ok=True)
            self._memo_dirty = False
        self._parse_cache.write()


class _MemoryParseCache(_ParseCache):
    """The catalog's parse cache, written to disk only by :meth:`SiteGenerator.flush`."""

    def save(self, seen: set[str]) -> None:
        for rel in set(self.entries) - seen:
            del self.entries[rel]
            self.dirty = True

    def write(self) -> None:
        if self.dirty:
            _ParseCache.save(self, set(self.entries))
            self.dirty = False


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except (ValueError, RuntimeError, OSError):  # outside, or a symlink loop
        return ""

