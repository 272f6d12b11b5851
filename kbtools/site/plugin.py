"""The ``kbtools`` MkDocs plugin: registry pages generated from the KB at every build.

Enable it with ``plugins: [search, kbtools]``. Pages are rendered into a cache folder and only
rewritten when their content changes, then added to the build as files. Under
``mkdocs serve`` the plugin keeps the KB in memory and, after a KB edit, rebuilds only the
pages the edit changed (:mod:`kbtools.site.live`). Works unchanged under ProperDocs, which
maps ``mkdocs.*`` imports onto itself.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import jinja2
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel

from kbtools.errors import KBToolsError
from kbtools.site import extensions
from kbtools.site.assets import MERMAID_URI, loads_mermaid, mermaid_path
from kbtools.site.catalog import PREFIX, is_unreadable
from kbtools.site.escape import page_title
from kbtools.site.generator import SiteGenerator, watched_folders
from kbtools.site.live import BuildState, LiveReloader, unsupported_plugins
from kbtools.site.publish import Gate, InsideLoader, checked, stop_walks
from kbtools.site.render import ASSET_PREFIX, generate, make_environment
from kbtools.site.sync import sync_folder
from kbtools.site_files import SiteLayout
from kbtools.validation.problems import Problem

log = get_plugin_logger(__name__)

#: Dashboards listed in the nav; every other generated page stays out of it.
DASHBOARDS = {f"{PREFIX}/{name}.md" for name in
              ("index", "models", "papers", "datasets", "experiments", "runs", "health")}
DEFAULT_CACHE = ".kbtools-cache/site"
#: Validation errors logged one by one; the rest are counted.
MAX_LOGGED = 20


class KBToolsConfig(base.Config):
    enabled = c.Type(bool, default=True)
    kb_root = c.Optional(c.Type(str))
    templates_dir = c.Optional(c.Type(str))
    cache_dir = c.Optional(c.Type(str))
    validation = c.Type(bool, default=True)
    min_cell_size = c.Type(int, default=10)
    #: Report each validation error as a warning, so `mkdocs build --strict` fails on them.
    fail_on_problems = c.Type(bool, default=True)
    #: Publish the vendored mermaid build and load it on every page (diagrams work offline).
    offline_mermaid = c.Type(bool, default=True)
    #: Under `mkdocs serve`, rebuild only the pages a KB edit changed.
    fast_reload = c.Type(bool, default=True)


class KBToolsPlugin(BasePlugin[KBToolsConfig]):
    """Generates registry dashboards, card pages and the KB health page."""

    command = "build"
    #: Under serve: the long-lived page generator, the last whole build, the fast rebuilder.
    generator: SiteGenerator | None = None
    state: BuildState | None = None
    live: LiveReloader | None = None

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # Defining this hook also keeps one plugin instance for a whole `mkdocs serve`.
        self.command = command

    def on_shutdown(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self.generator is not None:
            self.generator.flush()
        self.command, self.generator, self.state, self.live = "build", None, None, None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        here = Path(config.config_file_path or ".").resolve().parent
        opts = self.config
        self.root = (here / opts.kb_root).resolve() if opts.kb_root else here
        self.templates_dir = (here / opts.templates_dir).resolve() if opts.templates_dir else None
        self.cache_dir = (here / opts.cache_dir).resolve() if opts.cache_dir \
            else self.root / DEFAULT_CACHE
        self.docs_dir = Path(config.docs_dir).resolve()  # card files published with the site
        self.strict = bool(config.strict)
        if not self.root.is_dir():
            raise PluginError(f"kbtools: kb_root {self.root} is not a directory")
        if self.templates_dir and not self.templates_dir.is_dir():
            raise PluginError(f"kbtools: templates_dir {self.templates_dir} is not a directory")
        if opts.min_cell_size < 1:
            raise PluginError("kbtools: min_cell_size must be at least 1")
        _keep_warnings_countable(config.strict)
        if opts.enabled:
            self._gate_folders(config, here)
            for name, target in (("kbtools.css", config.extra_css),
                                 ("kbtools.js", config.extra_javascript)):
                path = f"{ASSET_PREFIX}/{name}"
                if path not in [str(t) for t in target]:
                    target.append(path)
            self.mermaid = opts.offline_mermaid and MERMAID_URI not in [
                str(t) for t in config.extra_javascript]
            if self.mermaid and loads_mermaid([str(t) for t in config.extra_javascript]):
                log.info("extra_javascript already loads mermaid: the bundled copy is not added")
                self.mermaid = False
            if self.mermaid:
                config.extra_javascript.append(MERMAID_URI)
            self._check_extensions(config)
        return config

    def _gate_folders(self, config: MkDocsConfig, here: Path) -> None:
        """Apply the inside-the-root gate to the site's own folders (see :mod:`publish`):
        stop before MkDocs walks out of the site root; leave out a theme ``custom_dir`` or a
        ``templates_dir`` that is itself outside it."""
        custom_dir = config.theme.custom_dir
        layout = SiteLayout.of(self.root, here, {
            "docs_dir": self.docs_dir,
            "theme.custom_dir": Path(custom_dir) if custom_dir else None,
            "kbtools templates_dir": self.templates_dir})
        for refusal in stop_walks(layout, here):
            if refusal.path != refusal.folder.path:
                continue  # a file: left out in on_files, or by the template loaders
            log.warning("%s %s [%s]: it is not used", refusal.folder.setting,
                        refusal.error.message, refusal.error.rule)
            if refusal.folder.setting == "theme.custom_dir":
                config.theme.dirs.remove(custom_dir)
                custom_dir = None
            else:
                self.templates_dir = None
        self.gate = Gate(layout, here, [str(self.docs_dir), *([custom_dir] if custom_dir else [])])
        self.custom_dir = custom_dir

    def _check_extensions(self, config: MkDocsConfig) -> None:
        """Warn (failing strict builds) when the templates need extensions the site lacks."""
        env = make_environment(self.templates_dir, None, self.root)
        assert env.loader is not None
        sources = [env.loader.get_source(env, name)[0] for name in env.list_templates()
                   if name.endswith(".j2")]
        gaps = extensions.missing(extensions.needed(sources), config.markdown_extensions,
                                  config.mdx_configs)
        if gaps:
            log.warning(extensions.message(gaps, config.config_file_path or "mkdocs.yml"))

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        if not self.config.enabled:
            return files
        started = time.perf_counter()
        self.gate.filter(files)  # MkDocs' own files: only those the gate lets through
        pages_dir = self.cache_dir / "pages"
        try:
            if self.command == "serve":  # keep parsed cards and pages in memory for edits
                generator = self._generator()
                generation = generator.run()
                rendered, report = generation.rendered, generation.report
            else:
                rendered = generate(self.root, templates_dir=self.templates_dir,
                                    cache_dir=self.cache_dir, validate=self.config.validation,
                                    min_cell_size=self.config.min_cell_size,
                                    docs_dir=self.docs_dir)
                report = sync_folder(pages_dir, {**rendered.pages, **rendered.assets},
                                     overwrite_foreign=True, known=rendered.unchanged)
        except jinja2.TemplateError as exc:
            where = f" ({exc.name}, line {exc.lineno})" if hasattr(exc, "lineno") else ""
            raise PluginError(f"kbtools: template error{where}: {exc}") from exc
        except (OSError, KBToolsError) as exc:
            raise PluginError(f"kbtools: cannot write {pages_dir}: {exc}") from exc
        texts = {**rendered.pages, **rendered.assets}
        for rel in texts:
            inclusion = (InclusionLevel.UNDEFINED if rel in DASHBOARDS or rel in rendered.assets
                         else InclusionLevel.NOT_IN_NAV)
            self._add(files, File.generated(config, rel, abs_src_path=str(pages_dir / rel),
                                            inclusion=inclusion))
        for rel, source in rendered.files.items():  # run plots, copied open-then-check
            self._add(files, checked(File.generated(config, rel, abs_src_path=str(source)),
                                     self.root))
        if self.config.offline_mermaid and MERMAID_URI in [str(t) for t in
                                                           config.extra_javascript]:
            self._add(files, File.generated(config, MERMAID_URI,
                                            abs_src_path=str(mermaid_path())))
        log.info("generated %d pages (%d rewritten) from %s in %.2f s",
                 len(rendered.pages), len(report.written), self.root,
                 time.perf_counter() - started)
        self._report(rendered.issues, rendered.problems)
        return files

    def _report(self, issues: list[Problem], count: int) -> None:
        """Log the KB's problems: errors as warnings (so strict builds fail) unless serving;
        cards that do not parse are named on every build and rebuild."""
        if not count:
            return
        errors = [p for p in issues if p.is_error]
        if not errors or not self.config.fail_on_problems or self.command == "serve":
            self.report_unreadable(issues)
            log.info("the KB has %d validation problem(s): see %s/health.md", count, PREFIX)
            if errors and self.config.fail_on_problems:
                log.info("a build (not serve) reports the %d error(s) as warnings, so "
                         "`mkdocs build --strict` fails until they are fixed", len(errors))
            return
        for problem in errors[:MAX_LOGGED]:
            hint = f" (fix: {problem.hint})" if problem.hint else ""
            log.warning("%s: %s [%s]%s", _where(problem), problem.message, problem.rule, hint)
        more = f"; {len(errors) - MAX_LOGGED} more not shown" if len(errors) > MAX_LOGGED else ""
        log.warning("the KB has %d validation error(s)%s: see %s/health.md or run "
                    "`kbtools validate` (set `fail_on_problems: false` under the kbtools plugin "
                    "to build anyway)", len(errors), more, PREFIX)

    def report_unreadable(self, problems: list[Problem]) -> None:
        """Name each card that does not parse, with where and how to fix it (every build and
        every rebuild under `mkdocs serve`). A warning under a `mkdocs serve` that is not
        strict; info where a warning would stop the rebuild (strict serve) or the build the
        site asked for (``fail_on_problems: false``)."""
        unreadable = [p for p in problems if is_unreadable(p)]
        emit = log.warning if self.command == "serve" and not self.strict else log.info
        for problem in unreadable[:MAX_LOGGED]:
            hint = f"; fix: {problem.hint}" if problem.hint else ""
            emit("%s: cannot read this card: %s%s (its page shows the problem)",
                 _where(problem), problem.message, hint)
        if len(unreadable) > MAX_LOGGED:
            emit("%d more cards cannot be read: see %s/health.md",
                 len(unreadable) - MAX_LOGGED, PREFIX)

    def _generator(self) -> SiteGenerator:
        options = (self.root, self.templates_dir, self.cache_dir, self.config.validation,
                   self.config.min_cell_size, self.docs_dir)
        if self.generator is None or self.generator.options != options:
            self.generator = SiteGenerator(
                self.root, templates_dir=self.templates_dir, cache_dir=self.cache_dir,
                validate=self.config.validation, min_cell_size=self.config.min_cell_size,
                docs_dir=self.docs_dir)
        return self.generator

    def watched_folders(self) -> list[Path]:
        """The KB folders whose files make pages (and the templates folder)."""
        return watched_folders(self.root, self.templates_dir)

    def on_nav(self, nav: Any, /, *, config: MkDocsConfig, files: Files) -> Any:
        self._nav, self._files = nav, files
        return nav

    def on_env(self, env: Any, /, *, config: MkDocsConfig, files: Files) -> Any:
        if self.config.enabled and self.custom_dir:  # theme overrides pass the gate too
            env.loader = InsideLoader(list(config.theme.dirs), [self.custom_dir],
                                      self.gate.check)
        self._env = env
        return env

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.command == "serve" and self.config.enabled:
            self.state = BuildState(config, self._files, self._nav, self._env)
            if self.generator is not None:
                self.generator.flush()

    @staticmethod
    def _add(files: Files, file: File) -> None:
        existing = files.get_file_from_path(file.src_uri)
        if existing is not None:
            log.info("%s from the KB replaces %s in docs_dir", file.src_uri, file.src_uri)
            files.remove(existing)
        files.append(file)

    def on_page_content(self, html: str, /, *, page: Any, config: MkDocsConfig,
                        files: Files) -> str:
        """Every page's title becomes escaped text (themes print ``page.meta.title`` raw)."""
        if self.config.enabled and page.title:
            page.meta["title"] = page_title(page.title)
        return html

    def on_serve(self, server: Any, /, *, config: MkDocsConfig, builder: Any) -> Any:
        if not self.config.enabled:
            return server
        folders = [f for f in self.watched_folders() if f.is_dir()]
        others = unsupported_plugins(config)
        if not self.config.fast_reload or others or self.state is None:
            if self.config.fast_reload and others:
                log.info("fast page rebuilds are off: plugin(s) %s may need whole builds",
                         ", ".join(others))
            for folder in folders:
                server.watch(str(folder))
            return server
        self.live = LiveReloader(self, builder)
        self.live.install(server, folders)
        self.live.snapshot_others()
        return server


def _keep_warnings_countable(strict: bool) -> None:
    """In a strict build, kbtools' warnings reach MkDocs' warning counter even under ``-q``.

    ``mkdocs build -q`` raises the ``mkdocs`` logger to ERROR, so a warning is dropped before
    the strict-mode counter sees it and ``--strict -q`` passes whatever is wrong. A refused
    file or a card error is a reason to fail, so kbtools' own loggers stay at WARNING or below.
    The level is set again on every build (inherited unless a strict build needs it lower),
    so a ``-q`` build does not silence the information messages of later builds in the
    same process.
    """
    ours = logging.getLogger("mkdocs.plugins.kbtools")
    ours.setLevel(logging.NOTSET)
    if strict and ours.getEffectiveLevel() > logging.WARNING:
        ours.setLevel(logging.WARNING)


def _where(problem: Problem) -> str:
    """``path:line:column`` (as far as known) of a problem."""
    where = problem.path
    if problem.line:
        where += f":{problem.line}" + (f":{problem.column}" if problem.column else "")
    return where
