"""Card values are data, not markup: how a value is made safe for each place it reaches a page.

Generated pages are markdown that MkDocs renders with whatever extensions a site enables
(``attr_list``, ``md_in_html``, ``pymdownx.snippets``, ``arithmatex``...). A value from a card, a
run log, a PDF or a file name is therefore made inert for markdown *and* HTML at once: HTML's
special characters become entities, and every character that can open markdown or extension
syntax becomes a numeric character reference. Python-Markdown passes references through
untouched and the browser shows them as the characters they stand for, so the reader sees the
text as written and nothing in it is ever parsed as syntax.

Prose fields (:data:`PROSE_FIELDS`) are the only values read as markdown. They are rendered here,
by markdown-it-py with raw HTML off, links limited to http, https, mailto and relative targets,
and no attribute lists; the HTML it makes is escaped the same way, so MkDocs' own markdown
extensions never see card text.

Every function returns :class:`markupsafe.Markup`: the template environment
(:func:`kbtools.site.render.make_environment`) escapes any value that is not ``Markup`` with
:func:`inline`, so a card value that no filter touched still reaches the page escaped.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup

from kbtools.text import normalise
from kbtools.yamlio import dump_scalar

#: Card fields whose text is markdown (at any depth: ``verification.notes``, ``arch.notes``).
#: Everything else is plain text.
PROSE_FIELDS = frozenset({"summary", "description", "notes", "kb_relevance",
                          "key_contributions"})

#: Link schemes prose may use; a link without a scheme (relative, #anchor) is allowed too.
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# Characters that open markdown or extension syntax anywhere in a line (links, images, code,
# attribute lists, tables, raw HTML, entities, escapes, math, emphasis, sub/superscript).
_ALWAYS = "\\`*{}[]<>#|~^$&\"'"
_REFS = {c: f"&#{ord(c)};" for c in _ALWAYS}
_REFS.update({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_TABLE = str.maketrans(_REFS)
# ``_`` emphasises only at a word boundary and ``==`` marks text: inside a word, or single,
# they stay readable (``n_test``, ``rho = 0.3``).
_CONTEXTUAL = re.compile(r"(?<![^\W_])_|_(?![^\W_])|==+")
# What a line may not start with: lists, headings, rules, definitions, setext underlines.
_LINE_START = re.compile(r"^[ \t]*(?:[-+=:]|\d+[.)](?=\s|$))", re.MULTILINE)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HTTP_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$", re.IGNORECASE)
# Characters a URL keeps as they are; everything else (quotes, brackets, braces, blanks...)
# is percent-encoded, so the URL can close neither a markdown link nor an HTML attribute.
_URL_SAFE = "/:?#@!$&+,;=%~-._"
_MERMAID_KEEP = re.compile(r"[\w .,:/()-]")


def _plain(value: Any) -> str:
    """The value as text, normalised (:func:`kbtools.text.normalise`): Python-Markdown's
    placeholders (STX/ETX), other control and format characters never reach a page."""
    if value is None:
        return ""
    return normalise(str(value))


def _refs(text: str) -> str:
    text = _CONTEXTUAL.sub(lambda m: "".join(f"&#{ord(c)};" for c in m[0]),
                           text.translate(_TABLE))
    return _LINE_START.sub(lambda m: m[0][:-1] + f"&#{ord(m[0][-1])};", text)


def inline(value: Any) -> Markup:
    """A value as one line of inert text: table cells, headings, link text, list items."""
    return Markup(_refs(" ".join(_plain(value).split())))


def fragment(value: Any) -> Markup:
    """A piece of text joined to others (a separator, a part of ``a ~ b``): escaped like
    :func:`inline`, blank runs made one space but kept at the ends."""
    return Markup(_refs(re.sub(r"\s+", " ", _plain(value))))


def multiline(value: Any) -> Markup:
    """A value as inert text that keeps its lines (preformatted blocks)."""
    return Markup(_refs(_plain(value)))


def code(value: Any) -> Markup:
    """A value as inline code: ``<code>`` with inert content, so backticks cannot close it."""
    return Markup(f"<code>{inline(value)}</code>")


_CODE_SPAN = re.compile(r"`([^`]+)`")


def codespans(value: Any) -> Markup:
    """Plain text whose `backticked` words are shown as code (validation messages, hints)."""
    text = " ".join(_plain(value).split())
    parts: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        parts += [Markup(_refs(text[last:match.start()])), code(match[1])]
        last = match.end()
    parts.append(Markup(_refs(text[last:])))
    return Markup("").join(parts)


def preformatted(value: Any, language: str = "") -> Markup:
    """A block of text (a card's YAML source) as ``<pre><code>``, lines kept."""
    lang = f' class="language-{language}"' if re.fullmatch(r"[a-z0-9]+", language) else ""
    return Markup(f"<pre><code{lang}>{multiline(value)}</code></pre>")


def url(value: Any) -> Markup:
    """An http(s) URL, percent-encoded to be safe in a link target or attribute; "" otherwise."""
    if not isinstance(value, str):
        return Markup("")
    value = normalise(value).strip()
    if not _HTTP_URL.match(value) or not urlsplit(value).netloc:
        return Markup("")
    return Markup(quote(value, safe=_URL_SAFE))


def path(value: Any) -> Markup:
    """A site-relative path (``../runs/x/plot.png``) percent-encoded for a link target."""
    return Markup(quote(_plain(value), safe="/#"))


def query(value: Any) -> Markup:
    """A value percent-encoded for a URL query string."""
    return Markup(quote(_plain(value), safe=""))


def mermaid_label(value: Any, limit: int = 48, width: int | None = None) -> Markup:
    """Text for a quoted mermaid node label: every character outside letters, digits and
    ``.,:/()-`` as ``#NN;``; with ``width``, wrapped at spaces into lines of about that many
    characters (``<br>``, the only markup), so a diagram stays narrow.

    Quotes, brackets, ``%%`` directives, backticks (markdown strings) and HTML cannot open
    anything: mermaid turns ``#NN;`` back into the character only when it draws the label.
    """
    text = " ".join(_plain(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    lines = _wrap(text, width) if width else [text]
    return Markup("<br>").join(
        Markup("".join(ch if _MERMAID_KEEP.fullmatch(ch) else f"#{ord(ch)};" for ch in line))
        for line in lines or [""])


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces or after ``_``,
    ``-`` and ``/`` (ids wrap between their parts); a longer part is cut."""
    parts = [p for p in re.split(r"(?<=[ _/-])", text) if p]
    lines: list[str] = []
    line = ""
    for part in parts:
        while len(part) > width:  # an unbreakable run longer than a line
            if line:
                lines.append(line.rstrip())
                line = ""
            lines.append(part[:width])
            part = part[width:]
        if len(line) + len(part.rstrip()) > width and line:
            lines.append(line.rstrip())
            line = ""
        line += part
    if line.strip():
        lines.append(line.rstrip())
    return lines


def front_matter(value: Any) -> Markup:
    """A YAML front-matter scalar holding the value as HTML-escaped text (page titles).

    MkDocs themes put ``page.meta.title`` into ``<title>`` and the header unescaped, so the
    value is stored already escaped. A YAML emitter writes it (one double-quoted line), so
    every character, astral ones (emoji, mathematical letters) included, reads back as it was.
    """
    return Markup(dump_scalar(html.escape(" ".join(_plain(value).split()), quote=True)))


def page_title(title: str) -> str:
    """A page title (front matter, nav or first heading) as escaped one-line text.

    Entities are decoded before escaping, so a title that is already escaped stays the same
    (the function is idempotent) and one holding raw HTML shows it as text.
    """
    return html.escape(" ".join(html.unescape(_plain(title)).split()), quote=True)


# -- prose: markdown rendered by markdown-it-py ----------------------------------------------

def link_allowed(target: str) -> bool:
    """Whether a (normalised) link target may appear on a page: http(s), mailto, relative."""
    target = "".join(ch for ch in html.unescape(target) if ch > " ")
    match = _SCHEME.match(target)
    if match:
        return match[1].lower() in LINK_SCHEMES
    # no scheme: relative, #anchor, //host. A colon in the first segment would be a scheme
    # the browser reads differently (e.g. after percent-decoding); refuse it.
    return ":" not in re.split(r"[/?#]", target, maxsplit=1)[0]


def _render_text(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    return str(multiline(tokens[idx].content))


def _render_code_inline(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    return str(code(tokens[idx].content))


def _render_code_block(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    return str(preformatted(tokens[idx].content)) + "\n"


@functools.lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = link_allowed  # type: ignore[method-assign]
    for rule, fn in (("text", _render_text), ("code_inline", _render_code_inline),
                     ("code_block", _render_code_block), ("fence", _render_code_block)):
        md.add_render_rule(rule, fn)
    return md


def prose(value: Any) -> Markup:
    """A prose field's markdown as HTML in a ``<div class="kb-prose">`` block.

    Raw HTML is shown as text, links and images keep only allowed targets, and every text
    node is escaped like :func:`inline`, so the block stays inert even where MkDocs' markdown
    would read it again.
    """
    if isinstance(value, list):
        text = "\n".join(f"- {' '.join(_plain(v).split())}" for v in value)
    else:
        text = _plain(value)
    if not text.strip():
        return Markup("")
    return Markup(_render_prose(_literal_plus(text)))


_PLUS_LINE = re.compile(r"^( {0,3})\+(?=\s)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _literal_plus(text: str) -> str:
    """A line starting with ``+`` is text as written (``+ 12% recall``), not a bullet: card
    authors write ``-`` for lists. Lines of fenced or indented code stay as they are."""
    out, fence = [], None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            fence = None if opened and opened.group(1)[0] == fence else fence
        elif opened:
            fence = opened.group(1)[0]
        elif _PLUS_LINE.match(line):
            line = _PLUS_LINE.sub(r"\1\\+", line)
            if out and out[-1].strip() and not out[-1].endswith(("\\", "  ")):
                out[-1] += "\\"  # a line of its own, as written: a hard line break before it
        out.append(line)
    return "\n".join(out)


@functools.lru_cache(maxsize=8192)
def _render_prose(text: str) -> str:
    """Rendered prose by text: a long-lived ``mkdocs serve`` renders each text once."""
    rendered = _markdown().render(text).strip()
    return f'<div class="kb-prose" markdown="0">\n{rendered}\n</div>'


def breakable(value: Any) -> Markup:
    """Inert inline text that may wrap after ``_`` and ``/`` (ids, method names, paths), so a
    narrow table column never breaks such a name in the middle of a word."""
    return Markup(str(inline(value)).replace("_", "_<wbr>").replace("/", "/<wbr>"))
