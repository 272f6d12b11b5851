"""Fast rebuilds under ``mkdocs serve``: after a card edit, rebuild only the pages it changed.

MkDocs rebuilds every page after any change (about 14 s for a 60-card KB on a busy machine,
tens of seconds at thousands of cards). When only files of the KB changed, this module
instead:

1. regenerates the registry markdown with the long-lived :class:`SiteGenerator`, which
   rewrites only the pages whose text changed;
2. converts just those pages to HTML with MkDocs' own page functions, reusing the
   configuration, navigation and theme of the last whole build (card pages are not in the
   navigation, so no other page's HTML depends on them);
3. first the pages of the edited cards themselves, then (in the background) every other page
   the edit changed: dashboards, linked cards, lineage diagrams, comparison pages, plus the
   search index and the sitemap. Until that second part is written, a request for any of
   those files waits for it, so the server never hands out a stale page.

Anything else (``docs/``, ``mkdocs.yml``, a plugin this module does not know) falls back to
MkDocs' whole rebuild. Works the same under ProperDocs, which maps ``mkdocs.*`` onto itself.
"""

from __future__ import annotations

import json
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from kbtools.site.generator import Generation, Step, scan
from kbtools.site.publish import checked
from kbtools.site.splice import splice

log = get_plugin_logger(__name__)

#: Plugins whose work is per page (or the search index, which is merged here).
PAGE_LOCAL_PLUGINS = frozenset({"search", "material/search", "kbtools"})
#: Above this share of all pages (and MIN_FILES) changed files, a whole rebuild is simpler.
MAX_SHARE = 0.25
MIN_FILES = 20
#: Most card pages rebuilt before the others (more: all pages are built together).
MAX_FIRST = 10
#: Site files a fast rebuild may change; requests for them wait while it is under way.
CHANGING = ("registry/", "search/", "sitemap.xml", "assets/kbtools/")
SEARCH_INDEX = "search/search_index.json"
SITEMAPS = ("sitemap.xml", "sitemap.xml.gz")
#: watchdog event types that mean a file's content or existence changed.
WRITE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})


@dataclass
class BuildState:
    """What the last whole build left for rebuilding single pages."""

    config: Any  # MkDocsConfig
    files: Files
    nav: Any  # Navigation
    env: Any  # jinja2.Environment


@dataclass
class Outcome:
    """What a rebuild did: ``kind`` is "fast", "full" or "none"."""

    kind: str
    first: list[str]
    rest: list[str]
    removed: list[str]
    seconds: float = 0.0


def unsupported_plugins(config: Any) -> list[str]:
    """Plugins of the site that may need a whole build after a page changes."""
    return sorted(name for name in config.plugins if name not in PAGE_LOCAL_PLUGINS)


class LiveReloader:
    """Replaces the ``mkdocs serve`` builder: fast rebuilds for KB edits, whole ones otherwise.

    ``plugin`` is the kbtools plugin instance (it keeps the generator and the last
    :class:`BuildState`); ``builder`` is MkDocs' own builder. Without a server (tests), the
    background part runs before :meth:`rebuild` returns.
    """

    def __init__(self, plugin: Any, builder: Callable[[], None]):
        self.plugin = plugin
        self.builder = builder
        self.server: Any = None
        self._observer: Any = None
        self._cond = threading.Condition()
        self._busy = False  # pages that list the edited cards are being rebuilt
        self._ready: set[str] = set()  # files already current while busy
        self._background: threading.Thread | None = None
        self._failed = False
        self._others: dict[str, Any] = {}
        self._others_paths: list[Path] = []
        self.max_share = MAX_SHARE

    # -- wiring ----------------------------------------------------------------------------
    def install(self, server: Any, folders: list[Path]) -> None:
        """Take over ``server``'s builder, watch ``folders`` and hold back stale pages."""
        self.server = server
        server.builder = self.rebuild
        if not self._watch_with_inotify(server, folders):
            for folder in folders:
                server.watch(str(folder))
        inner = server.serve_request
        mount = getattr(server, "mount_path", "/")

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            if self._busy:
                target = _site_path(environ.get("PATH_INFO", ""), mount)
                if target.startswith(CHANGING) and target not in self._ready:
                    with self._cond:
                        self._cond.wait_for(lambda: not self._busy, timeout=120)
            return inner(environ, start_response)

        server.set_app(app)

    def _watch_with_inotify(self, server: Any, folders: list[Path]) -> bool:
        """Watch the KB with the OS's file events: no polling delay before a rebuild starts.

        MkDocs' server polls every 0.5 s and has no public way to ask for a rebuild, so this
        sets the two attributes its build loop waits on; without them, its polling is used.
        """
        if not (hasattr(server, "_rebuild_cond") and hasattr(server, "_want_rebuild")):
            return False
        try:
            import watchdog.events
            import watchdog.observers
        except ImportError:
            return False
        cache = self.plugin.cache_dir

        def on_event(event: Any) -> None:
            # reading a file is an event too (opened, closed_no_write): only writes count
            if event.is_directory or event.event_type not in WRITE_EVENTS:
                return
            paths = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
            if all(not p or _inside(Path(os.fsdecode(p)), cache) for p in paths):
                return
            with server._rebuild_cond:
                server._want_rebuild = True
                server._rebuild_cond.notify_all()

        handler = watchdog.events.FileSystemEventHandler()
        handler.on_any_event = on_event  # type: ignore[method-assign]
        observer = watchdog.observers.Observer()
        for folder in folders:
            if folder.is_dir():
                observer.schedule(handler, str(folder), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.info("watching %s for changes (fast page rebuilds)",
                 ", ".join(str(f) for f in folders if f.is_dir()))
        return True

    def stop(self) -> None:
        self._finish_background()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    # -- the builder -----------------------------------------------------------------------
    def rebuild(self) -> Outcome:
        """Called by the server after a change: the fast path when only the KB changed."""
        started = time.perf_counter()
        self._finish_background()
        state = self.plugin.state
        if state is None or self._failed or self._others_changed():
            return self._full(started)
        try:
            step = self.plugin.generator.prepare()
            if step is None:
                return Outcome("none", [], [], [], time.perf_counter() - started)
            self.plugin.report_unreadable(step.site.problems)
            if not self._fast_enough(state, step):
                self.plugin.generator.finish(step)
                return self._full(started)
            outcome = self._first(state, step)
        except Exception as exc:  # noqa: BLE001 - fall back to MkDocs' own rebuild
            log.warning("fast rebuild failed (%s: %s); rebuilding the whole site",
                        type(exc).__name__, exc)
            return self._full(started)
        outcome.seconds = time.perf_counter() - started
        if outcome.first:
            log.info("%d page(s) rebuilt in %.2f s; the pages that list or link them follow",
                     len(outcome.first), outcome.seconds)
        return outcome

    def _fast_enough(self, state: BuildState, step: Step) -> bool:
        """False when a whole build is the simpler answer (templates, many files changed)."""
        if any(not rel.startswith(("kb/", "configs/")) for rel in step.sources):
            return False  # a template of the site's own folder: every page may change
        n_pages = len(state.files.documentation_pages())
        return len(step.sources) <= max(MIN_FILES, self.max_share * n_pages)

    def _full(self, started: float) -> Outcome:
        self._failed = False
        self.builder()
        self.snapshot_others()
        return Outcome("full", [], [], [], time.perf_counter() - started)

    def _other_paths(self) -> list[Path]:
        """Every watched path that is not the KB's (docs, mkdocs.yml, `watch:` entries)."""
        kb = [Path(f) for f in self.plugin.watched_folders()]
        paths = [Path(p) for p in getattr(self.server, "_watched_paths", {})
                 if not any(_inside(Path(p), f) for f in kb)]
        state = self.plugin.state
        if state is not None and not paths:  # no server: docs_dir and the config file
            paths = [Path(state.config.docs_dir)]
            if state.config.config_file_path:
                paths.append(Path(state.config.config_file_path))
        return paths

    def snapshot_others(self) -> None:
        """Remember the files of every other watched path."""
        self._others_paths = self._other_paths()
        self._others = self._stamp_others()

    def _stamp_others(self) -> dict[str, Any]:
        stamps: dict[str, Any] = {}
        for path in self._others_paths:
            if path.is_dir():
                stamps.update(scan([path], path.parent))
            else:
                try:
                    stat = path.stat()
                    stamps[str(path)] = (stat.st_size, stat.st_mtime_ns)
                except OSError:
                    stamps[str(path)] = None
        return stamps

    def _others_changed(self) -> bool:
        if self._other_paths() != self._others_paths:
            return True  # paths watched since the snapshot (serve adds `watch:` entries late)
        return self._stamp_others() != self._others

    # -- applying one regeneration ---------------------------------------------------------
    def _first(self, state: BuildState, step: Step) -> Outcome:
        """Rebuild the edited cards' own pages now, everything else the edit changed next."""
        generator = self.plugin.generator
        first_paths = _pages_of(step)
        first: list[str] = []
        if len(first_paths) <= MAX_FIRST:
            pages, plots = generator.card_pages(step, first_paths)
            first = sorted(pages)
            for rel, source in plots.items():  # the plots those pages show
                self._copy(state, rel, source)
        new = [rel for rel in first if self._page_file(state, rel)[1]]
        entries = self._build_pages(state, first)
        ready = {state.files.get_file_from_path(rel).dest_uri for rel in first}
        outcome = Outcome("fast", first, [], [])

        def rest() -> None:
            started = time.perf_counter()
            try:
                generation = generator.finish(step)
                outcome.rest, outcome.removed, urls, changed = self._rest(
                    state, generation, set(first), new)
                found = entries + self._build_pages(state, outcome.rest)
                self._update_search(state, urls | {
                    state.files.get_file_from_path(rel).url for rel in first}, found)
                if changed:
                    _build_sitemap(state)
                if outcome.rest or outcome.removed:
                    log.info("%d page(s) that list or link them rebuilt in %.2f s",
                             len(outcome.rest) + len(outcome.removed),
                             time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - the next change rebuilds everything
                log.error("rebuilding pages in the background failed (%s: %s); the next change "
                          "rebuilds the whole site", type(exc).__name__, exc)
                self._failed = True
            finally:
                with self._cond:
                    self._busy, self._ready = False, set()
                    self._cond.notify_all()

        if self.server is None:
            rest()
        else:
            with self._cond:
                self._busy, self._ready = True, ready
            self._background = threading.Thread(target=rest, name="kbtools-rebuild",
                                                daemon=True)
            self._background.start()
        return outcome

    def _page_file(self, state: BuildState, rel: str) -> tuple[File, bool]:
        """The site's file for generated page ``rel`` (added if new) with its Page."""
        file = state.files.get_file_from_path(rel)
        new = file is None
        if file is None:
            file = File.generated(state.config, rel,
                                  abs_src_path=str(self.plugin.generator.pages_dir / rel),
                                  inclusion=InclusionLevel.NOT_IN_NAV)
            state.files.append(file)
        if file.page is None:
            Page(None, file, state.config)
        return file, new

    def _rest(self, state: BuildState, generation: Generation, done: set[str],
              new: list[str]) -> tuple[list[str], list[str], set[str], bool]:
        """Files bookkeeping for a regeneration: pages still to build, removed pages, the
        URLs whose search entries change, and whether the set of pages changed."""
        files = state.files
        pages_dir = self.plugin.generator.pages_dir
        rest = []
        for rel in generation.pages_written:
            if rel not in done:
                rest.append(rel)
                if self._page_file(state, rel)[1]:
                    new.append(rel)
        for rel in [p for p in generation.report.written if not p.endswith(".md")]:
            self._copy(state, rel, pages_dir / rel)
        for rel, source in generation.files_changed.items():  # run plots: from the KB
            self._copy(state, rel, source, self.plugin.root)
        urls = {files.get_file_from_path(rel).url for rel in rest}
        removed = []
        for rel in [*generation.pages_removed, *sorted(generation.files_removed)]:
            file = files.get_file_from_path(rel)
            if file is None:
                continue
            if file.is_documentation_page():
                urls.add(file.url)
                removed.append(rel)
            files.remove(file)
            _remove(Path(file.abs_dest_path), Path(state.config.site_dir))
        return rest, removed, urls, bool(new or removed)

    def _copy(self, state: BuildState, rel: str, source: Path, root: Path | None = None
              ) -> None:
        """Copy ``source`` into the site as ``rel``; open-then-check from ``root`` if given."""
        file = state.files.get_file_from_path(rel)
        if file is None:
            file = File.generated(state.config, rel, abs_src_path=str(source))
            if root is not None:
                checked(file, root)
            state.files.append(file)
        file.copy_file(dirty=False)

    def _build_pages(self, state: BuildState, rels: list[str]) -> list[dict[str, Any]]:
        """Markdown to HTML for ``rels`` with MkDocs' own steps; their search entries."""
        from mkdocs.commands.build import _build_page, _populate_page

        config, files = state.config, state.files
        doc_files = files.documentation_pages(inclusion=InclusionLevel.is_in_serve)
        with _fresh_search_index(config) as indexes:
            for rel in rels:
                file = files.get_file_from_path(rel)
                assert file is not None and file.page is not None
                if not _populate_by_rows(file.page, config, files):
                    _populate_page(file.page, config, files)
                _build_page(file.page, config, doc_files, state.nav, state.env)
            return [entry for index in indexes for entry in _entries(index)]

    def _update_search(self, state: BuildState, urls: set[str],
                       entries: list[dict[str, Any]]) -> None:
        """Replace the search entries of the pages at ``urls`` in the site's search index."""
        path = Path(state.config.site_dir) / SEARCH_INDEX
        if not path.is_file():
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        data["docs"] = [doc for doc in data.get("docs", [])
                        if doc.get("location", "").split("#", 1)[0] not in urls] + entries
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":"), default=str), encoding="utf-8")
        tmp.replace(path)

    def _finish_background(self) -> None:
        if self._background is not None:
            self._background.join()
            self._background = None


def _populate_by_rows(page: Page, config: Any, files: Files) -> bool:
    """:func:`mkdocs.commands.build._populate_page` for a page whose edit changed only rows
    of its one table: only those rows are converted (:mod:`kbtools.site.splice`). False
    (nothing done) for any other edit, or a page not built before."""
    old_markdown, old_html = page.markdown, page.content
    if not old_markdown or not old_html:
        return False
    config._current_page = page
    try:
        page = config.plugins.on_pre_page(page, config=config, files=files)
        page.read_source(config)
        assert page.markdown is not None
        new_markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config,
                                                       files=files)
        kept = {name: getattr(page, name) for name in (
            "toc", "_title_from_render", "present_anchor_ids", "links_to_anchors")}

        def convert(markdown: str) -> str:
            page.markdown = markdown
            page.render(config, files)
            return page.content or ""

        html = splice(old_markdown, new_markdown, old_html, convert)
        for name, value in kept.items():  # the text around the table, so its headings, is same
            setattr(page, name, value)
        page.markdown = new_markdown
        if html is None:
            page.content = old_html
            return False
        page.content = config.plugins.on_page_content(html, page=page, config=config,
                                                      files=files)
        return True
    finally:
        config._current_page = None


def _pages_of(step: Step) -> set[str]:
    """The pages of the cards whose own files changed (shown to the editor first)."""
    by_path = step.site.catalog.by_path()
    pages = set()
    for rel in step.sources:
        card = by_path.get(rel) or by_path.get(rel.rsplit("/", 1)[0] + "/run.yaml")
        if card is not None and card.page:
            pages.add(card.page)
    return pages


@contextmanager
def _fresh_search_index(config: Any) -> Iterator[list[Any]]:
    """Give each search plugin an empty index while pages are rebuilt; restore it after."""
    saved = []
    for plugin in config.plugins.values():
        index = getattr(plugin, "search_index", None)
        if index is not None and hasattr(index, "add_entry_from_context"):
            saved.append((plugin, index))
            plugin.search_index = type(index)(**dict(index.config))
    try:
        yield [plugin.search_index for plugin, _ in saved]
    finally:
        for plugin, index in saved:
            plugin.search_index = index


def _entries(index: Any) -> list[dict[str, Any]]:
    entries = getattr(index, "entries", None)
    if entries is None:
        entries = getattr(index, "_entries", [])
    return list(entries)


def _build_sitemap(state: BuildState) -> None:
    from mkdocs.commands.build import _build_theme_template

    if "sitemap.xml" in state.config.theme.static_templates:
        _build_theme_template("sitemap.xml", state.env, state.files, state.config, state.nav)


def _remove(path: Path, top: Path) -> None:
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != top and _inside(folder, top) and folder.is_dir() and not any(
            folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(Path(folder).resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False
    return True


def _site_path(path_info: str, mount: str) -> str:
    """The site file a request path asks for, as the MkDocs server resolves it."""
    path = path_info.encode("latin-1", "ignore").decode("utf-8", "ignore")
    if mount and mount != "/" and (path + "/").startswith(mount):
        path = path[len(mount):]
    if path.endswith("/"):
        path += "index.html"
    return posixpath.normpath("/" + path).lstrip("/")
