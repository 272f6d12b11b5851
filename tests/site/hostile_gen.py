"""Generators of hostile input, shared by the property tests and the soak script
(tests/soak/soak_hostile.py), and the checks every generated site must pass.

* :data:`hostile_text`: any Unicode (every plane, controls, format characters, bidi overrides)
  mixed with fragments of a small grammar of markdown, HTML, attribute lists, mermaid and
  Jinja, some of them split by characters the normalisation removes;
* :func:`write_text_kb`: the site-test KB with such text in every string of every card (keys
  kept), in extension field names, in mapping keys, in a card's and a plot's file name;
* :data:`fs_hazards` / :func:`place_hazard`: symlinks out of the KB (files, folders,
  ``/proc/self/environ``), hard links to outside files, self-loops, two-link loops, folder
  loops and dangling links, placed over ``kb/``, ``docs/``, ``kb/runs``, page templates, theme
  overrides and the schema extension file;
* :func:`site_findings`: what in a built site could run or leak: event-handler attributes,
  scripts that are not the theme's, URLs with a scheme other than http, https or mailto, in
  every page and in the search index.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from kbtools.site.escape import PROSE_FIELDS
from kbtools.text import normalise
from kbtools.yamlio import dump, load_file

# -- text -------------------------------------------------------------------------------------

#: Characters the normalisation removes (controls, format characters, bidi overrides...).
REMOVED = ([chr(c) for c in range(0x20) if c not in (9, 10, 13)] + ["\x7f", "\x85", "\x9b"]
           + ["\u00ad", "\u061c", "\u200b", "\u200e", "\u200f", "\u202a", "\u202d", "\u202e",
              "\u2060", "\u2066", "\u2067", "\u2069", "\ufeff", "\U000e0041", "\U000e007f"])
#: Characters every plane and script may bring that must survive intact.
KEPT = ["\U0001F600", "\U0001D400", "\U00020000", "\U0010FFFD", "\U0001F468\u200d\U0001F469",
        "\u0915\u094d\u200d", "e\u0301", "\u212b", "\u2028", "\ufffd", "\t", "\n"]
#: A small grammar of markup that could run, include or break something if read as markup.
FRAGMENTS = [
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "![i](data:text/html,alert(1))",
    "<javascript:alert(1)>", "[r][y]\n\n[y]: javascript:alert(1)", "[x](vbscript:msgbox)",
    "&#106;avascript:alert(1)", "<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
    "<svg onload=alert(1)>", '<a href="javascript:alert(1)">a</a>', "<iframe srcdoc=x>",
    "<details open ontoggle=alert(1)>", '<div markdown="1">[x](javascript:alert(1))</div>',
    '{: onclick="alert(1)" }', "{: onmouseover=alert(1) }", "# T {: onerror=alert(1) }",
    "{#id .cls onclick=alert(1)}", '"] --> X["<b onclick=alert(1)>"]',
    'click X "javascript:alert(1)"', '%%{init: {"securityLevel": "loose"}}%%',
    "```mermaid\ngraph LR\nA-->B\n```", "{{ 7*7 }}", "{% raw %}", "{# c #}",
    "{{ config.__class__ }}", '--8<-- "/etc/hostname"', "&lt;script&gt;alert(1)&lt;/script&gt;",
    "---\ntitle: x\n---", "title: \"x\"", "| a | <b onclick=alert(1)> |", "` <b onclick=x> `",
    "\\", "'", '"', "*", "_x_", "$x$", "^^", "~~", "==", "<!--", "-->", "]]>", "\x00",
]


@st.composite
def _split_by_removed(draw: Any) -> str:
    """A grammar fragment with characters the normalisation removes put inside it
    (``on\\x01click``, ``]\\x01(``)."""
    fragment = draw(st.sampled_from(FRAGMENTS))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(fragment)))
        fragment = fragment[:at] + draw(st.sampled_from(REMOVED)) + fragment[at:]
    return fragment


#: Any text: arbitrary code points of every plane mixed with hostile fragments.
hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), _split_by_removed(), st.sampled_from(REMOVED + KEPT),
              st.text(st.characters(), max_size=8)),
    min_size=1, max_size=8).map("".join)


def one_line(text: str) -> str:
    """``text`` as the site shows it on one line (a title, a heading)."""
    return " ".join(normalise(text).split())


def file_name(text: str) -> str:
    """``text`` made a usable file name (no slash or NUL, at most 120 bytes), else "x"."""
    name = text.replace("/", "_").replace("\x00", "_").lstrip(".")
    while len(os.fsencode(name)) > 120:
        name = name[:-1]
    return name or "x"


# -- a KB full of hostile text ----------------------------------------------------------------

@dataclass
class TextKB:
    root: Path
    title: str  # the model card's name, which is its page title
    model_page: str  # site path of that card's page


def _fill(value: Any, texts: list[str], key: str = "", at: list[int] | None = None) -> Any:
    """Every string in ``value`` (ids and mapping keys kept) replaced by one of ``texts``."""
    at = at if at is not None else [0]
    if isinstance(value, dict):
        return {k: (v if k == "id" else _fill(v, texts, k, at)) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, texts, key, at) for v in value]
    if isinstance(value, str):
        at[0] += 1
        text = texts[at[0] % len(texts)]
        return text if key in PROSE_FIELDS else text.replace("\n", " ")
    return value


def write_text_kb(root: Path, texts: list[str], key: str, name: str) -> TextKB:
    """The site-test KB with ``texts`` in every card string, ``key`` as a field name (an
    extension field and mapping keys) and ``name`` as a card's and a plot's file name."""
    from conftest import make_kb, png_bytes  # the site tests' KB builder

    make_kb(root, broken=False)
    config = root / "mkdocs.yml"  # hostile cards fail validation: build anyway
    config.write_text(config.read_text().replace("strict: true\n", "").replace(
        "  - kbtools", "  - kbtools:\n      fail_on_problems: false"))
    cards = [*root.glob("kb/*/*.yaml"), *root.glob("configs/experiments/*.yaml"),
             *root.glob("kb/runs/*/*.yaml")]
    for path in cards:
        data = load_file(path)
        if path.name == "metrics.yaml":
            data["summary"][key] = texts[0]
        if path.name == "run.yaml":
            data["headline"] = {**data.get("headline", {}), key: texts[-1]}
        if path.parent.name == "datasets":
            data["counts"] = {**data.get("counts", {}), key: 12}
        filled = _fill(data, texts)
        if path.parent.name == "model_cards":
            filled[key] = texts[-1]
        path.write_text(dump(filled), encoding="utf-8")
    schemas = root / "kb" / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    (schemas / "extensions.yaml").write_text(
        dump({"model": {"properties": {key: {"type": "string", "description": texts[0]}}}}),
        encoding="utf-8")
    stem = file_name(name)
    (root / "kb" / "model_cards" / f"{stem}.yaml").write_text(
        dump({"id": stem, "name": texts[0], "summary": texts[-1]}), encoding="utf-8")
    run = next((root / "kb" / "runs").iterdir())
    (run / f"{stem}.png").write_bytes(png_bytes())
    title = load_file(root / "kb" / "model_cards" / "genemamba.yaml")["name"]
    return TextKB(root, title, "registry/models/genemamba/")


def build(root: Path, strict: bool = False) -> Path:
    """Build the site at ``root`` in this process; returns the site folder."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    mkdocs_build(load_config(config_file=str(root / "mkdocs.yml"), strict=strict))
    return root / "site"


# -- what a built site may not hold -----------------------------------------------------------

_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data",
              "background", "cite", "longdesc", "manifest", "ping", "icon"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
ALLOWED_SCHEMES = {"http", "https", "mailto"}
#: Script files the theme and kbtools load (by file name: the folder depends on the page).
THEME_SCRIPTS = re.compile(r"(?:^|/)(?:bundle\.[0-9a-f]+\.min\.js|kbtools\.js|mermaid\.min\.js"
                           r"|search\.[0-9a-f]+\.min\.js)$")


def _browser_url(value: str) -> str:
    """A URL as a browser reads its scheme: entities decoded, blanks and controls dropped."""
    return "".join(ch for ch in html.unescape(value) if ch > " ").lower()


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.scripts: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"event handler <{tag} {name}={value!r}>")
            if name in _URL_ATTRS or name == "style":
                for url in re.split(r"[\s,]+", value or "") if name == "srcset" else [value]:
                    scheme = _SCHEME.match(_browser_url(url or ""))
                    if scheme and scheme[1] not in ALLOWED_SCHEMES and name != "style":
                        self.found.append(f"URL scheme <{tag} {name}={value!r}>")
                if name == "style" and "url(" in (value or "").lower():
                    self.found.append(f"style URL <{tag} style={value!r}>")
            if name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")
        if tag in {"iframe", "object", "embed", "frame", "base"} or (
                tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "refresh"):
            self.found.append(f"<{tag}>")
        if tag == "script":
            src = dict(attrs).get("src")
            if src is not None and not THEME_SCRIPTS.search(src):
                self.found.append(f"script src={src!r}")
            self._script = [] if src is None else None

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
        self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)


def _neutral(script: str) -> str:
    """An inline script with the page's relative paths taken out."""
    return re.sub(r"(?:\.\./)*\.\.(?=[\"/])|\.(?=/)", "", script)


def scan_html(text: str) -> tuple[list[str], list[str]]:
    """What in ``text`` could run (handlers, scheme URLs, frames, foreign scripts), and the
    inline scripts (paths taken out) to compare with the theme's."""
    parser = _Scan()
    parser.feed(text)
    parser.close()
    return parser.found, [_neutral(s) for s in parser.scripts]


def site_findings(site: Path, theme_scripts: set[str]) -> dict[str, list[str]]:
    """Every page (and the search index) of ``site`` holding something that could run:
    ``theme_scripts`` are the inline scripts of a clean build (paths taken out)."""
    found: dict[str, list[str]] = {}
    for page in sorted(site.rglob("*.html")):
        live, scripts = scan_html(page.read_text(encoding="utf-8"))
        live += [f"inline script not from the theme: {s[:60]!r}" for s in scripts
                 if s not in theme_scripts]
        if live:
            found[page.relative_to(site).as_posix()] = live
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:  # the search UI inserts title and text as HTML
        live = scan_html(doc["title"])[0] + scan_html(doc["text"])[0]
        if _SCHEME.match(_browser_url(doc["location"])):
            live.append(f"location {doc['location']!r}")
        if live:
            found[f"search_index.json:{doc['location']}"] = live
    return found


def theme_inline_scripts(site: Path) -> set[str]:
    """The inline scripts of every page of a clean build, paths taken out."""
    return {s for page in site.rglob("*.html")
            for s in scan_html(page.read_text(encoding="utf-8"))[1]}


# -- hostile file-system shapes ---------------------------------------------------------------

HAZARDS = ("symlink-out", "symlink-out-dir", "symlink-environ", "hardlink-out", "self-loop",
           "two-loop", "dir-loop", "dangling")
#: Where a hazard goes: (folder, file name), relative to the KB root.
PLACES = (
    ("kb/model_cards", "leak.yaml"), ("kb/paper_cards", "leak.yaml"),
    ("configs/experiments", "leak.yaml"), ("kb/runs/{run}", "leak.png"),
    ("kb/runs/{run}", "config_used.yaml"), ("kb/runs", "leakrun"),
    ("kb/schemas", "extensions.yaml"),
    ("docs", "leak.md"), ("docs/img", "logo.png"), ("docs", "extra.css"),
    ("docs/sub", "page.md"), ("tpl", "model.md.j2"), ("tpl", "_macros.md.j2"),
    ("overrides", "main.html"), ("overrides/assets", "extra.js"),
)
SECRET = "SECRET-7f3a-outside-the-kb"

fs_hazards = st.lists(st.tuples(st.sampled_from(HAZARDS), st.sampled_from(PLACES)),
                      min_size=1, max_size=3, unique_by=lambda h: h[1])


def write_fs_kb(root: Path, outside: Path) -> Path:
    """The site-test KB with page templates (``tpl/``) and theme overrides (``overrides/``),
    plus a folder ``outside`` holding secrets. Returns the KB root."""
    from conftest import make_kb

    make_kb(root, broken=False, options=":\n      templates_dir: tpl")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace(
        "  name: material\n", "  name: material\n  custom_dir: overrides\n"))
    (root / "tpl").mkdir()
    (root / "tpl" / "dataset.md.j2").write_text("# Dataset {{ card.id }}\n", encoding="utf-8")
    (root / "overrides" / "assets").mkdir(parents=True)
    (root / "overrides" / "assets" / "site.css").write_text("body {}\n", encoding="utf-8")
    outside.mkdir(parents=True, exist_ok=True)
    for name in ("leak.yaml", "leak.md", "leak.png", "leak.j2", "leak.html", "leak.js",
                 "leak.css"):
        (outside / name).write_text(f"id: leak\nname: {SECRET}\n# {SECRET}\n", encoding="utf-8")
    (outside / "folder").mkdir(exist_ok=True)
    (outside / "folder" / "page.md").write_text(f"# {SECRET}\n", encoding="utf-8")
    return root


def place_hazard(root: Path, outside: Path, hazard: str, place: tuple[str, str]) -> Path:
    """Put ``hazard`` at ``place`` in the KB; returns the path validation must name."""
    folder, name = place
    run = sorted(p.name for p in (root / "kb" / "runs").iterdir())[0]
    where = root / folder.format(run=run)
    where.mkdir(parents=True, exist_ok=True)
    path = where / name
    if path.is_dir() and not path.is_symlink():
        pass
    elif os.path.lexists(path):
        path.unlink()
    if hazard == "symlink-out":
        path.symlink_to(outside / f"leak{Path(name).suffix or '.yaml'}")
    elif hazard == "symlink-out-dir":
        path = where / "linked"
        path.symlink_to(outside / "folder", target_is_directory=True)
    elif hazard == "symlink-environ":
        path.symlink_to("/proc/self/environ")
    elif hazard == "hardlink-out":
        target = outside / f"hard-{folder.replace('/', '_')}-{name}"
        target.write_text(f"id: leak\nname: {SECRET}\n", encoding="utf-8")
        os.link(target, path)
    elif hazard == "self-loop":
        path.symlink_to(name)
    elif hazard == "two-loop":
        other = where / f"other-{name}"
        path.symlink_to(other.name)
        other.symlink_to(name)
    elif hazard == "dir-loop":
        path = where / "loop"
        path.symlink_to("..", target_is_directory=True)
    elif hazard == "dangling":
        path.symlink_to(f"missing-{name}")
    return path


def holds_outside_content(site: Path) -> list[str]:
    """Files of ``site`` holding the secret or the build's environment."""
    environ = Path("/proc/self/environ").read_bytes()
    found = []
    for path in site.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if SECRET.encode() in data or (environ and environ in data):
                found.append(path.relative_to(site).as_posix())
    return found
