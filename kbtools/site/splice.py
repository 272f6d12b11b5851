"""A dashboard's new HTML from its old HTML and the rows of its table that an edit changed.

A dashboard of 10,000 cards is one markdown table of thousands of rows; turning it into HTML
again after a card edit costs seconds, though the edit changed one row. When the only change
to a page's markdown is rows of its one table (same header, same text around it), the rows
that changed are converted on their own, with the page's own markdown pipeline, and put in
place of the old rows in the old HTML. A markdown table row becomes one ``<tr>`` whatever
the rows around it, so the result is the HTML a whole conversion gives (the live-reload tests
compare them byte for byte). Anything else returns None: the caller converts the whole page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

_SEPARATOR = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$")
_ROW = re.compile(r"<tr>\n.*?</tr>\n", re.DOTALL)
_TBODY = "<tbody>\n"


@dataclass
class TablePage:
    """A page's markdown cut around its one table: text before, header lines, rows, after."""

    before: str
    header: list[str]
    rows: list[str]
    after: str


def split_table(markdown: str) -> TablePage | None:
    """``markdown`` cut around its table, or None unless it has exactly one (and no HTML
    table elsewhere)."""
    lines = markdown.split("\n")
    runs = []
    start = None
    for i, line in enumerate([*lines, ""]):
        if line.startswith("|") and start is None:
            start = i
        elif not line.startswith("|") and start is not None:
            runs.append((start, i))
            start = None
    if len(runs) != 1:
        return None
    first, last = runs[0]
    if last - first < 3 or not _SEPARATOR.match(lines[first + 1]):
        return None
    page = TablePage("\n".join(lines[:first]), lines[first:first + 2], lines[first + 2:last],
                     "\n".join(lines[last:]))
    if "<table" in page.before or "<table" in page.after:
        return None
    return page


def table_rows(html: str) -> tuple[int, int, list[str]] | None:
    """Where the rows of ``html``'s one table body start and end, and each row's HTML."""
    if html.count(_TBODY) != 1:
        return None
    start = html.index(_TBODY) + len(_TBODY)
    end = html.find("</tbody>", start)
    if end < 0:
        return None
    rows = _ROW.findall(html, start, end)
    if sum(map(len, rows)) != end - start:
        return None
    return start, end, rows


def splice(old_markdown: str, new_markdown: str, old_html: str,
           convert: Callable[[str], str]) -> str | None:
    """The HTML of ``new_markdown``, made from ``old_html`` (the HTML of ``old_markdown``) by
    converting only the table rows that changed with ``convert``; None when the edit is not
    confined to the rows of one table."""
    old, new = split_table(old_markdown), split_table(new_markdown)
    if old is None or new is None or (old.before, old.header, old.after) != (
            new.before, new.header, new.after):
        return None
    found = table_rows(old_html)
    if found is None or len(found[2]) != len(old.rows):
        return None
    start, end, old_rows = found
    ops = SequenceMatcher(None, old.rows, new.rows, autojunk=False).get_opcodes()
    wanted = [row for tag, _, _, j1, j2 in ops if tag in ("replace", "insert")
              for row in new.rows[j1:j2]]
    fresh: list[str] = []
    if wanted:
        converted = table_rows(convert("\n".join([*new.header, *wanted]) + "\n"))
        if converted is None or len(converted[2]) != len(wanted):
            return None
        fresh = converted[2]
    rows: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            rows += old_rows[i1:i2]
        elif tag in ("replace", "insert"):
            rows += fresh[:j2 - j1]
            fresh = fresh[j2 - j1:]
    return old_html[:start] + "".join(rows) + old_html[end:]
