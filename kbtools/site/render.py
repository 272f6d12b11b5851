"""Turn the site's page data into markdown with Jinja2 templates.

Templates are looked up first in the site's own folder (``templates_dir``), then in the ones
shipped with kbtools, so a site overrides a layout by copying one file.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from markupsafe import Markup

from kbtools import __version__
from kbtools.errors import PathOutsideKB
from kbtools.kb import InsideCheck, resolve_inside
from kbtools.site import escape
from kbtools.site.catalog import Card
from kbtools.site.numbers import (
    count,
    delta,
    estimate,
    fmt,
    label,
    p_value,
    params,
    precision,
    when,
)
from kbtools.site.publish import InsideLoader
from kbtools.site.views import Later, SiteData, common_context, plot_uri, site_pages
from kbtools.site_files import SiteCheck
from kbtools.validation.problems import Problem

log = logging.getLogger("mkdocs.plugins.kbtools")

#: Static files the dashboards use, copied into every site (path under templates/).
ASSETS = ("assets/kbtools.css", "assets/kbtools.js")
ASSET_PREFIX = "assets/kbtools"
#: Compiled templates (in the cache folder). They depend on the escaping code generator, so a
#: new escaping scheme takes a new folder name.
BYTECODE_DIR = "jinja-inert"


@dataclass
class RenderedSite:
    """Generated markdown pages and the files to copy beside them (site path -> source)."""

    pages: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)
    problems: int = 0
    #: Pages taken unchanged from the previous build's memo.
    unchanged: set[str] = field(default_factory=set)
    #: The problems themselves (``problems`` counts them), sorted by file and line.
    issues: list[Problem] = field(default_factory=list)
    #: Digest of the common values each template read (see :func:`render_site`).
    shared: dict[str, bytes] = field(default_factory=dict)


def shipped_templates() -> Path:
    return Path(str(resources.files("kbtools.site") / "templates"))


@functools.lru_cache(maxsize=8)
def make_environment(templates_dir: Path | None = None,
                     bytecode_dir: Path | None = None, root: Path | None = None
                     ) -> jinja2.Environment:
    """The template environment; compiled templates are reused in-process and from disk.

    Override templates in ``templates_dir`` pass the inside-the-root gate against ``root``
    (the KB root; the folder itself when not given): one that leads out is not used.

    Card values are data by construction: every ``{{ value }}`` that is not
    :class:`~markupsafe.Markup` (made by a kbtools filter or a macro) is escaped with
    :func:`kbtools.site.escape.inline`, inert for markdown and HTML alike. Joining values with
    ``~`` or ``join`` escapes the plain parts the same way.
    """
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:  # overrides: only files really inside the KB
        loaders.append(InsideLoader([str(templates_dir)], [str(templates_dir)],
                                    SiteCheck((Path(root or templates_dir).resolve(),))))
    loaders.append(jinja2.FileSystemLoader(str(shipped_templates())))
    env = _Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,  # an edited override is picked up on the next build
        bytecode_cache=_bytecode_cache(bytecode_dir),
    )
    env.globals["read_source"] = _read_source
    env.globals["prose_fields"] = escape.PROSE_FIELDS
    env.filters.update(
        rel=_rel, fmt=fmt, cell=escape.inline, text=escape.inline, params=params, delta=delta,
        url=escape.url, code=escape.code, codespans=escape.codespans, prose=escape.prose,
        breakable=escape.breakable,
        pre=escape.preformatted, mermaid=escape.mermaid_label, front_matter=escape.front_matter,
        urlencode=escape.query, e=escape.inline, escape=escape.inline,
        forceescape=escape.inline, join=_join, format=_format, replace=_replace,
        tojson=_tojson, fence=fence, estimate=estimate, p=p_value, when=when, count=count,
        label=label, precision=precision, each_row=_each_row)
    env.filters.pop("urlize", None)  # it would keep card text's markdown live
    return env


#: Rendered table rows by page, kept between renders of a long-lived process (`mkdocs serve`):
#: page path -> {row key: text}. Each render keeps only the rows it used.
_ROWS: dict[str, dict[str, str]] = {}


@jinja2.pass_context
def _each_row(context: jinja2.runtime.Context, rows: Iterable[Any], macro: Any) -> Markup:
    """``macro(row)`` for each row, one per line. A row whose data, page, templates and
    common values are those of the last render is taken from then: a dashboard of thousands
    of cards renders only the rows an edit changed."""
    salt = context.get("row_salt")
    page = str(context.get("page_path") or "")
    before = _ROWS.get(page, {}) if salt else {}
    kept: dict[str, str] = {}
    lines = []
    for row in rows:
        if not salt:
            lines.append(str(macro(row)))
            continue
        key = salt + hashlib.sha1(_digest_input({"row": row})).hexdigest()
        text = before.get(key)
        if text is None:
            text = str(macro(row))
        kept[key] = text
        lines.append(text)
    if salt:
        _ROWS[page] = kept
    return Markup("\n".join(lines))


def _finalize(value: Any) -> Any:
    """What ``{{ value }}`` prints: Markup as is, anything else escaped as inert text."""
    if hasattr(value, "__html__"):
        return value
    if value is None or isinstance(value, jinja2.Undefined):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return fmt(value)  # a quantity: labels (years, seeds) are marked in the templates
    return escape.inline(value)


def _safe(value: Any) -> Markup:
    return value if hasattr(value, "__html__") else escape.fragment(value)


def _concat(values: Iterable[Any]) -> Any:
    """``a ~ b``: plain text stays plain (escaped on output); mixed with Markup, escaped now."""
    values = list(values)
    if any(hasattr(v, "__html__") for v in values):
        return Markup("").join(_safe(v) for v in values)
    return "".join(str(v) for v in values)


def _join(values: Iterable[Any], separator: str = "", attribute: Any = None) -> Markup:
    items = list(values)
    if attribute is not None:
        items = [getattr(v, attribute, None) if not isinstance(v, dict) else v.get(attribute)
                 for v in items]
    return _safe(separator).join(_safe(v) for v in items)


def _format(template: Any, *args: Any, **kwargs: Any) -> Markup:
    return _safe(template).format(*(_safe(a) for a in args),
                                  **{k: _safe(v) for k, v in kwargs.items()})


def _replace(value: Any, old: str, new: Any, count: int | None = None) -> Any:
    if not hasattr(value, "__html__"):
        text = str(value)
        return text.replace(old, str(new), -1 if count is None else count)
    return Markup(str(value).replace(str(_safe(old)), str(_safe(new)),
                                     -1 if count is None else count))


def _tojson(value: Any, indent: int | None = None) -> Markup:
    return escape.inline(json.dumps(value, indent=indent, sort_keys=True, default=str))


class _CodeGenerator(CodeGenerator):
    """Compiles ``~`` to :func:`_concat`, so joining Markup with card text escapes the text."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.kb_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Environment(jinja2.Environment):
    code_generator_class = _CodeGenerator
    kb_concat = staticmethod(_concat)


def _bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@jinja2.pass_context
def _read_source(context: jinja2.runtime.Context, rel: str) -> str:
    """A KB document's text (relative path), without its editor schema comment."""
    root = context.get("kb_root")
    try:
        text = resolve_inside(Path(root), rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, TypeError, PathOutsideKB):
        return ""
    lines = text.rstrip().splitlines()
    while lines and lines[0].startswith("# yaml-language-server:"):
        lines.pop(0)
    return "\n".join(lines)


@jinja2.pass_context
def _rel(context: jinja2.runtime.Context, target: str) -> Markup:
    """``target`` (a site path) relative to the page being rendered, percent-encoded."""
    return escape.path(relative(str(target), posixpath.dirname(context.get("page_path") or "")))


@functools.lru_cache(maxsize=4096)
def _parts(folder: str) -> tuple[str, ...]:
    return tuple(p for p in folder.split("/") if p)


def relative(target: str, here: str) -> str:
    """``target`` relative to folder ``here`` (both site paths without ``..``)."""
    base = _parts(here)
    goal = target.split("/")
    common = 0
    while common < min(len(base), len(goal) - 1) and base[common] == goal[common]:
        common += 1
    return "/".join([".."] * (len(base) - common) + goal[common:])


def fence(text_: str) -> str:
    """A code fence longer than any run of backticks inside ``text_``."""
    longest = max((len(run) for run in re.findall(r"`+", text_)), default=0)
    return "`" * max(3, longest + 1)


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Changes with kbtools' version or any site module (views, filters, guards live there),
    so a cache never serves pages made by other code."""
    digest = hashlib.sha1(__version__.encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()


def render_site(site: SiteData, env: jinja2.Environment, memo_file: Path | None = None, *,
                memo_dict: dict[str, Any] | None = None,
                wanted: Callable[[str], bool] | None = None,
                shared_before: dict[str, bytes] | None = None) -> RenderedSite:
    """Render every page; collect run plots and the dashboard assets.

    With ``memo_file`` (or an in-memory ``memo_dict``, updated in place), a page whose
    template inputs are unchanged since the last build is taken from the memo instead of
    being rendered again. ``wanted`` (from a caller that knows which cards changed) names the
    card pages that may have changed: the others are taken from the memo without computing
    their inputs, as long as the common values their template reads are those of the render
    that ``shared_before`` (its :attr:`RenderedSite.shared`) describes.
    """
    assert env.loader is not None
    common = page_common(site)
    salt = hashlib.sha1(code_digest().encode())
    for name in sorted(env.list_templates()):
        salt.update(name.encode() + b"\0" + env.loader.get_source(env, name)[0].encode())
    salt_hex = salt.hexdigest()
    memo = _read_memo(memo_file) if memo_dict is None else memo_dict
    fresh: dict[str, list[str]] = {}
    pages: dict[str, str] = {}
    unchanged: set[str] = set()
    shared: dict[str, bytes] = {}  # template -> digest of the common values it reads
    row_salts: dict[str, str] = {}  # template -> what a cached table row depends on besides it
    for path, template, context in site_pages(site, wanted):
        if template not in shared:
            names = free_names(env, template, env.loader.get_source(env, template)[0])
            shared[template] = _digest_input({k: v for k, v in common.items()
                                              if k in names or k == "kb_root"})
            row_salts[template] = salt_hex + hashlib.sha1(shared[template]).hexdigest()
        if isinstance(context, Later):
            hit = memo.get(path)
            if hit is not None and shared_before is not None \
                    and shared_before.get(template) == shared[template]:
                pages[path] = hit[1]
                unchanged.add(path)
                fresh[path] = hit
                continue
            context = context.make()
        key = salt.copy()
        key.update(f"{path}\0{template}\0".encode() + shared[template]
                   + _digest_input(context))
        digest = key.hexdigest()
        hit = memo.get(path)
        if hit is not None and hit[0] == digest:
            pages[path] = hit[1]
            unchanged.add(path)
        else:
            pages[path] = render_page(env, common, path, template,
                                      {**context, "row_salt": row_salts[template]})
        fresh[path] = [digest, pages[path]]
    if memo_dict is not None:
        memo_dict.clear()
        memo_dict.update(fresh)
    elif memo_file is not None and fresh != memo:
        _write_memo(memo_file, fresh)
    files = plot_files(site.catalog.root, site.catalog.of("run"))
    assets = {f"{ASSET_PREFIX}/{Path(a).name}": env.loader.get_source(env, a)[0] for a in ASSETS}
    return RenderedSite(pages, files, assets, len(site.problems), unchanged, list(site.problems),
                        shared)


def copyable(root: Path, files: dict[str, Path]) -> dict[str, Path]:
    """The files the site may copy: each one's real location is inside the KB root.

    The catalog already leaves such files out; this is the last gate before MkDocs or
    ``kbtools render`` copies anything (a file may have been replaced by a symlink since).
    """
    check = InsideCheck(root)
    kept = {}
    for target, source in files.items():
        error = check(source)
        if error is None:
            kept[target] = source
        else:
            log.warning("kbtools: not copying %s: %s [%s]", source.relative_to(check.root)
                        if source.is_relative_to(check.root) else source.name, error.message,
                        error.rule)
    return kept


def plot_files(root: Path, runs: list[Card]) -> dict[str, Path]:
    """The plots of ``runs``: site path -> file in the KB."""
    files: dict[str, Path] = {}
    for run in runs:
        folder = root / Path(run.path).parent
        for name in run.plots:
            files[plot_uri(run.id, name)] = folder / name
    return copyable(root, files)


def render_page(env: jinja2.Environment, common: dict[str, Any], path: str, template: str,
                context: dict[str, Any]) -> str:
    """One page's markdown: its template with the common values, its context and its path."""
    return env.get_template(template).render({**common, **context, "page_path": path})


def page_common(site: SiteData) -> dict[str, Any]:
    """The values every template may read besides its page's own context."""
    return {**common_context(site), "kb_root": str(site.catalog.root)}


@functools.lru_cache(maxsize=256)
def free_names(env: jinja2.Environment, name: str, source: str) -> frozenset[str]:
    """Variables template ``name`` (and templates it imports or includes) reads from outside.

    A page's memo key covers only the common values its template can read, so a change to
    the KB's counts or health re-renders the pages that show them and no others.
    """
    assert env.loader is not None
    names, refs = _own_names(env, name, source)
    for ref in refs:
        if ref != name:
            names |= free_names(env, ref, env.loader.get_source(env, ref)[0])
    return names


_OWN_NAMES: dict[tuple[str, str], tuple[frozenset[str], tuple[str, ...]]] = {}


def _own_names(env: jinja2.Environment, name: str,
               source: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The free variables of one template's source and the templates it names, parsed once
    per process for each text (a rebuild under ``mkdocs serve`` parses no template again)."""
    key = (name, source)
    hit = _OWN_NAMES.get(key)
    if hit is None:
        tree = env.parse(source, name=name)
        hit = (frozenset(jinja2.meta.find_undeclared_variables(tree)),
               tuple(ref for ref in jinja2.meta.find_referenced_templates(tree) if ref))
        if len(_OWN_NAMES) > 512:  # edited override templates: keep the memo small
            _OWN_NAMES.clear()
        _OWN_NAMES[key] = hit
    return hit


def _encode(value: Any) -> Any:
    if isinstance(value, Card):  # its files' sizes and times stand for its content
        return [value.kind, value.id, value.path, value.stamp, value.problems, value.plots,
                value.broken]
    if dataclasses.is_dataclass(value):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return repr(value)


def _digest_input(context: dict[str, Any]) -> bytes:
    if "card" in context:  # ``data`` is ``card.data``, already covered by the card's stamp
        context = {k: v for k, v in context.items() if k != "data"}
    return json.dumps(context, default=_encode, sort_keys=False,
                      separators=(",", ":")).encode()


def _read_memo(memo_file: Path | None) -> dict[str, Any]:
    if memo_file is None or not memo_file.is_file():
        return {}
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _write_memo(memo_file: Path, memo: dict[str, Any]) -> None:
    memo_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(memo), encoding="utf-8")
    tmp.replace(memo_file)


def generate(root: Path, *, templates_dir: Path | None = None, cache_dir: Path | None = None,
             validate: bool = True, min_cell_size: int = 10,
             docs_dir: Path | None = None) -> RenderedSite:
    """Load the KB at ``root``, check it, and render every registry page.

    ``docs_dir`` is the site's docs folder: paper PDFs and summaries inside it are linked.

    With ``cache_dir``, a build where no document, template or option changed reuses the
    previous build's pages without loading the KB at all.
    """
    from kbtools.site.catalog import load_catalog
    from kbtools.site.health import kb_fingerprint, merge, validation_problems

    env = make_environment(templates_dir, cache_dir / BYTECODE_DIR if cache_dir else None,
                           Path(root))
    memo = cache_dir / "rendered.json" if cache_dir else None
    snapshot_file = cache_dir / "snapshot.json" if cache_dir else None
    fingerprint = ""
    if snapshot_file is not None and memo is not None:
        assert env.loader is not None
        digest = hashlib.sha1(f"{kb_fingerprint(Path(root).resolve())}\0{validate}\0"
                              f"{min_cell_size}\0{code_digest()}\0{docs_dir}".encode())
        for name in sorted(env.list_templates()):
            digest.update(name.encode() + b"\0" + env.loader.get_source(env, name)[0].encode())
        fingerprint = digest.hexdigest()
        reused = _reuse(snapshot_file, memo, fingerprint, env)
        if reused is not None:
            reused.files = copyable(Path(root).resolve(), reused.files)
            return reused
    catalog = load_catalog(root, cache_dir)
    problems = validation_problems(catalog.root, cache_dir) if validate else []
    site = SiteData(catalog, merge(problems, catalog.load_problems), min_cell_size=min_cell_size,
                    docs_dir=docs_dir)
    rendered = render_site(site, env, memo)
    if snapshot_file is not None:
        _write_memo(snapshot_file, {"fingerprint": fingerprint, "problems": rendered.problems,
                                    "issues": [p.to_dict() for p in rendered.issues],
                                    "files": {k: str(v) for k, v in rendered.files.items()}})
    return rendered


def _reuse(snapshot_file: Path, memo_file: Path, fingerprint: str,
           env: jinja2.Environment) -> RenderedSite | None:
    """The previous build's pages, if it was made from exactly the same inputs."""
    snapshot = _read_memo(snapshot_file)
    if snapshot.get("fingerprint") != fingerprint:
        return None
    memo = _read_memo(memo_file)
    files = {k: Path(v) for k, v in dict(snapshot.get("files") or {}).items()}
    if not memo or not all(f.is_file() for f in files.values()):
        return None
    pages = {path: entry[1] for path, entry in memo.items()}
    assert env.loader is not None
    assets = {f"{ASSET_PREFIX}/{Path(a).name}": env.loader.get_source(env, a)[0] for a in ASSETS}
    try:
        issues = [Problem(**item) for item in snapshot.get("issues") or []]
    except TypeError:
        return None
    return RenderedSite(pages, files, assets, int(snapshot.get("problems") or 0), set(pages),
                        issues)
