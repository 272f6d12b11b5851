"""Card text that carries live markup: script links, raw HTML, event handlers, file includes.

The site shows card text as text whatever it holds (:mod:`kbtools.site.escape`), so such text
is never live there; it is still reported, because another renderer (a README, a notebook, a
hub page) may not be as careful, and because no card needs it. Text is normalised first with
the function the site renders through (:func:`kbtools.text.normalise`), so a control or format
character inside markup (``on\x01click``) hides nothing; entities are decoded before checking,
so ``&lt;script&gt;`` and ``&#106;avascript:`` are found too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from kbtools.text import normalise

# Browsers drop ASCII tabs and newlines inside a URL and blanks or controls before it.
_GAP = r"[\s\x00-\x1f]*"
_SCHEME = "(?:" + "|".join(_GAP.join(word) for word in ("javascript", "vbscript", "data")) + ")"
_SCRIPT_URL = re.compile(
    r"(?:\]\(\s*<?|^\s*\[[^\]\n]+\]:\s*<?|<|\b(?:href|src|action|formaction|xlink:href|srcdoc"
    r"|data|poster|background)\s*=\s*[\"']?)" + _GAP + _SCHEME + _GAP + ":",
    re.IGNORECASE | re.MULTILINE)
#: A value that is itself such a URL (``url: javascript:alert(1)``).
_BARE_SCRIPT_URL = re.compile(r"\A" + _GAP + _SCHEME + _GAP + r":\S", re.IGNORECASE)
_RAW_TAG = re.compile(r"</?(script|iframe|frame|frameset|object|embed|applet|svg|math|style|"
                      r"link|meta|base|form|template)(?=[\s/>]|$)", re.IGNORECASE)
_HANDLER_IN_TAG = re.compile(r"<[a-z][^<>]*?[\s\"'/]on[a-z]+\s*=", re.IGNORECASE)
_HANDLER_IN_ATTR_LIST = re.compile(r"\{[^{}\n]*?(?<![\w-])on[a-z]+\s*=[^{}\n]*\}",
                                   re.IGNORECASE)
_SNIPPET = re.compile(r"-{1,}8<-{1,}")

_CHECKS = (
    (_SCRIPT_URL, "a javascript:, vbscript: or data: link"),
    (_BARE_SCRIPT_URL, "a javascript:, vbscript: or data: URL"),
    (_RAW_TAG, "raw HTML that can run script or load content ({tag})"),
    (_HANDLER_IN_TAG, "HTML with an event-handler attribute (on...=)"),
    (_HANDLER_IN_ATTR_LIST, "an attribute list that sets an event handler ({: on...=})"),
    (_SNIPPET, "a snippet include (--8<--) that would pull another file into a page"),
)

HINT = ("write plain text: links only as https://, mailto: or relative paths, no HTML tags, "
        "no {: ...} attribute lists (pages show card text as text, so markup only adds noise)")


def _decoded(text: str) -> str:
    """``text`` as the site renders it (normalised), entities decoded up to three times."""
    text = normalise(text)
    for _ in range(3):  # "&amp;lt;" is decoded twice, as a careless renderer might
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = normalise(decoded)
    return text


def _prepared(text: str) -> str:
    """Text as the checks see it (entities decoded). The document scan applies it to all of a
    document's strings at once, so any change here applies to both."""
    return _decoded(text)


#: What every check needs somewhere in a matching text: a tag or attribute-list bracket, or
#: the last letter of a script scheme (javascript, vbscript, data) before its colon. A cheap
#: test before the full one.
_NEEDED = re.compile(r"[<{]|[ta]" + _GAP + ":", re.IGNORECASE)
#: Every check at once, each string start allowed as a line start: a superset of the checks
#: over many strings joined by newlines (a pattern never needs the text before or after the
#: string it matches in, beyond the line start, a word boundary or a blank).
_ANY = re.compile("|".join(f"(?:{p.pattern.replace(chr(92) + 'A', '^')})" for p, _ in _CHECKS),
                  re.IGNORECASE | re.MULTILINE)


def document_may_hold_markup(data: Any) -> bool:
    """Whether any string of a parsed document (keys included) may carry live markup.

    Reads each string once: all of them are joined by newlines, prepared like a single value
    and searched with every check at once. A match only means "look closer"
    (:func:`unsafe_markup` per value decides); no markup a value holds is ever missed, because
    every check that matches a value also matches that value inside the joined text.
    """
    strings: list[str] = []
    stack = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            strings.append(item)
        elif kind is dict:
            strings.extend(k for k in item if type(k) is str)
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif isinstance(item, str):  # str subclasses
            strings.append(item)
    text = _prepared("\n".join(strings))
    return _NEEDED.search(text) is not None and _ANY.search(text) is not None


def unsafe_markup(text: str) -> str | None:
    """What live markup ``text`` carries (a short description), or None."""
    text = _prepared(text)
    for pattern, what in _CHECKS:
        match = pattern.search(text)
        if match:
            tag = match.group(1).lower() if pattern is _RAW_TAG else ""
            return what.replace("{tag}", f"<{tag}>")
    return None


def excerpt(text: str, limit: int = 60) -> str:
    """A one-line excerpt of ``text`` for a message."""
    text = " ".join(_decoded(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def walk_strings(value: Any, parts: tuple[str | int, ...] = ()
                 ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string of a parsed document with its JSON path (mapping keys included)."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = (*parts, key)
            if isinstance(key, str):
                yield here, key
            yield from walk_strings(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, (*parts, index))
    elif isinstance(value, str):
        yield parts, value
