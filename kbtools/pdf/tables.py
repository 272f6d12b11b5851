"""Tables on a page: booktabs tables (horizontal rules only), ruled grids, their captions.

Most tables in papers are typeset with booktabs: a top rule, a rule under the header, a bottom
rule, and no vertical lines. Such a table is found from its rules (thin horizontal strokes of
the same width, stacked near a "Table N" caption) and its cells from the word boxes inside:
words are grouped into rows by baseline, and columns are the vertical white strips that no
word of the body rows crosses. Rows above the rule under the header form the header (a
spanning group header is prefixed to the columns it covers). Tables ruled in both directions
go to PyMuPDF's ``find_tables``. Pages without a "Table N" caption are never searched, so no
table is invented on a page without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pymupdf

from kbtools.pdf.text import normalise

#: A line that starts a table caption ("Table 2:", "TABLE II", "Tab. 3.").
TABLE_CAPTION = re.compile(r"^\s*(table|tab\.)\s*(S?\d+|[IVX]+)\b", re.IGNORECASE)
#: How far (points) a caption may sit from the table it names.
CAPTION_REACH = 45.0


@dataclass
class Found:
    """One table: its box, rows (header first), and the caption line's box if attached."""

    bbox: tuple[float, float, float, float]
    rows: list[list[str]]
    header_rows: int = 1


def table_markdown(rows: list[list[str | None]]) -> str:
    """A pipe table; the first row is the header."""
    def cell(value: str | None) -> str:
        text = re.sub(r"\s+", " ", normalise(value or "")).strip()
        return re.sub(r"([\\|`\[\]{}<>])", r"\\\1", text)

    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join(cell(c) for c in list(row) + [""] * (width - len(row))) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join(" --- " for _ in range(width)) + "|")
    return "\n".join(lines)


def find(page: pymupdf.Page, captions: list[tuple[float, float, float, float]],
         textpage: Any = None) -> list[Found]:
    """Tables near the given caption boxes (x0, y0, x1, y1) on ``page``."""
    rules, grids = _rules_and_grids(page)
    words_cache: list[Any] = []

    def words() -> list[Any]:
        if not words_cache:
            tp = textpage if textpage is not None else page.get_textpage()
            words_cache.extend(w for w in tp.extractWORDS() if w[4].strip())
        return words_cache
    found: list[Found] = []
    for stack in _rule_stacks(rules, captions):
        x0, x1 = min(r[0] for r in stack), max(r[2] for r in stack)
        top, bottom = stack[0][1], stack[-1][1]
        if not any(_near(c, x0, top, x1, bottom) for c in captions):
            continue
        table = _from_words(words(), (x0, top, x1, bottom), [r[1] for r in stack[1:-1]])
        if table is not None:
            found.append(table)
    for rect in grids:
        if any(_overlaps(rect, f.bbox) for f in found):
            continue
        if any(_near(c, *rect) for c in captions):
            found.extend(_ruled(page, rect))
    return found


def _near(caption: tuple[float, float, float, float], x0: float, top: float, x1: float,
          bottom: float) -> bool:
    cx0, cy0, cx1, cy1 = caption
    if cx1 < x0 - 20 or cx0 > x1 + 20:  # another column
        return False
    return -5 <= top - cy1 <= CAPTION_REACH or -5 <= cy0 - bottom <= CAPTION_REACH


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _rules_and_grids(page: pymupdf.Page) -> tuple[list[tuple[float, float, float]],
                                                   list[tuple[float, float, float, float]]]:
    """Horizontal rules (x0, y, x1) and boxes of drawings that also have vertical rules."""
    rules: list[tuple[float, float, float]] = []
    verticals: list[pymupdf.Rect] = []
    for path in page.get_drawings():
        for item in path["items"]:
            if item[0] == "l":
                p, q = item[1], item[2]
                if abs(p.y - q.y) < 1.0 and abs(q.x - p.x) > 30:
                    rules.append((min(p.x, q.x), (p.y + q.y) / 2, max(p.x, q.x)))
                elif abs(p.x - q.x) < 1.0 and abs(q.y - p.y) > 8:
                    verticals.append(pymupdf.Rect(p.x - 1, min(p.y, q.y), p.x + 1,
                                                  max(p.y, q.y)))
            elif item[0] == "re":
                r = item[1]
                if r.height < 2.0 and r.width > 30:
                    rules.append((r.x0, (r.y0 + r.y1) / 2, r.x1))
                elif r.width < 2.0 and r.height > 8:
                    verticals.append(pymupdf.Rect(r))
                elif r.width > 30 and r.height > 8 and path.get("fill") is None:
                    verticals.append(pymupdf.Rect(r))  # a stroked box: a ruled cell
    grids: list[tuple[float, float, float, float]] = []
    if verticals:
        try:
            clusters = page.cluster_drawings()
        except Exception:  # noqa: BLE001 - nothing to cluster
            clusters = []
        for c in clusters:
            if c.width >= 40 and c.height >= 15 and any(c.intersects(v) for v in verticals):
                grids.append((c.x0, c.y0, c.x1, c.y1))
    return rules, grids


def _rule_stacks(rules: list[tuple[float, float, float]], captions: list[tuple[float, ...]]
                 ) -> list[list[tuple[float, float, float]]]:
    """Rules of one table: same extent, stacked, no caption between them; partial rules
    (``cmidrule``) inside such a stack join it."""
    rules = sorted({(round(a, 1), round(y, 1), round(b, 1)) for a, y, b in rules},
                   key=lambda r: r[1])

    def caption_between(y0: float, y1: float) -> bool:
        return any(y0 < (c[1] + c[3]) / 2 < y1 for c in captions)

    stacks: list[list[tuple[float, float, float]]] = []
    for rule in rules:
        for stack in stacks:
            first, last = stack[0], stack[-1]
            if (abs(rule[0] - first[0]) < 3 and abs(rule[2] - first[2]) < 3
                    and 0 < rule[1] - last[1] < 400 and not caption_between(last[1], rule[1])):
                stack.append(rule)
                break
        else:
            stacks.append([rule])
    full = [st for st in stacks if len(st) >= 2 and st[-1][1] - st[0][1] > 12]
    for st in stacks:
        if len(st) != 1:
            continue
        a, y, b = st[0]
        for table in full:
            if table[0][1] < y < table[-1][1] and a >= table[0][0] - 3 and b <= table[0][2] + 3:
                table.append(st[0])
                break
    return [sorted(st, key=lambda r: r[1]) for st in full]


def _from_words(page_words: list[Any], box: tuple[float, float, float, float],
                inner_rules: list[float]) -> Found | None:
    x0, top, x1, bottom = box
    words = [w for w in page_words if x0 - 2 <= (w[0] + w[2]) / 2 <= x1 + 2
             and top <= (w[1] + w[3]) / 2 <= bottom]
    if len(words) < 4:
        return None
    rows = _rows(words)
    if len(rows) < 2:
        return None
    header_end = min(inner_rules) if inner_rules else None
    n_head = sum(1 for r in rows if header_end is not None and _row_y(r) < header_end) or 1
    body = rows[n_head:] or rows
    cuts = _column_cuts(body, x0, x1)
    if not cuts:
        return None
    table = [_split(r, cuts) for r in rows]
    if n_head > 1:  # spanning group headers: prefix each covered column
        merged = list(table[n_head - 1])
        for r in rows[:n_head - 1]:
            for text, a, b in _phrases(r, cuts):
                for i in range(len(merged)):
                    left = cuts[i - 1] if i else x0 - 1
                    right = cuts[i] if i < len(cuts) else x1 + 1
                    if a < right and b > left and text:
                        merged[i] = f"{text} {merged[i]}".strip()
        table = [merged] + table[n_head:]
    if len(table) < 2 or len(table[0]) < 2:
        return None
    return Found((x0, top, x1, bottom), table)


def _row_y(row: list[Any]) -> float:
    return sum((w[1] + w[3]) / 2 for w in row) / len(row)


def _rows(words: list[Any]) -> list[list[Any]]:
    words = sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0]))
    rows: list[list[Any]] = []
    for w in words:
        yc, h = (w[1] + w[3]) / 2, w[3] - w[1]
        if rows and abs(_row_y(rows[-1]) - yc) < 0.45 * h:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [sorted(r, key=lambda w: w[0]) for r in rows]


def _column_cuts(rows: list[list[Any]], x0: float, x1: float) -> list[float]:
    """x positions between columns: white strips no word of ``rows`` crosses."""
    heights = sorted(w[3] - w[1] for r in rows for w in r)
    gap = max(4.0, 0.55 * heights[len(heights) // 2])
    spans = sorted((w[0], w[2]) for r in rows for w in r)
    cuts: list[float] = []
    reach = spans[0][1]
    for a, b in spans[1:]:
        if a - reach >= gap:
            cuts.append((a + reach) / 2)
        reach = max(reach, b)
    return cuts


def _split(row: list[Any], cuts: list[float]) -> list[str]:
    cells: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    for w in row:
        centre = (w[0] + w[2]) / 2
        cells[sum(centre > c for c in cuts)].append(w[4])
    return [" ".join(c) for c in cells]


def _phrases(row: list[Any], cuts: list[float]) -> list[tuple[str, float, float]]:
    """Runs of words separated by less than a column gap: (text, x0, x1)."""
    out: list[tuple[str, float, float]] = []
    for w in row:
        if out and w[0] - out[-1][2] < 6:
            text, a, _ = out[-1]
            out[-1] = (f"{text} {w[4]}", a, w[2])
        else:
            out.append((w[4], w[0], w[2]))
    return out


@contextmanager
def _first_row_headers() -> Iterator[None]:
    """Let find_tables take each table's first row as its header.

    PyMuPDF's header search looks at the text above a table through ``get_textbox``, which
    walks every character of the page in Python (~0.2 s per column); the markdown we write
    uses the first row as the header anyway.
    """
    from pymupdf import table as tables_module

    original = getattr(tables_module.Table, "_get_header", None)
    if original is None or not hasattr(tables_module, "TableHeader"):
        yield
        return

    def first_row(self: Any, y_tolerance: float = 3) -> Any:
        if not self.rows:
            return None
        row = self.rows[0]
        return tables_module.TableHeader(tuple(row.bbox), row.cells, self.extract()[0], False)

    tables_module.Table._get_header = first_row
    try:
        yield
    finally:
        tables_module.Table._get_header = original


def _ruled(page: pymupdf.Page, rect: tuple[float, float, float, float]) -> list[Found]:
    """Tables ruled in both directions, through PyMuPDF's line strategy (clipped: fast)."""
    out = []
    try:
        with _first_row_headers():
            tables = page.find_tables(clip=pymupdf.Rect(rect) + (-3, -3, 3, 3))
    except Exception:  # noqa: BLE001 - a table finder failure must not lose the page
        return out
    for tab in tables.tables:
        if tab.row_count < 2 or tab.col_count < 2:
            continue
        try:
            rows = [[c or "" for c in row] for row in tab.extract()]
        except Exception:  # noqa: BLE001 - skip a table whose cells cannot be read
            continue
        out.append(Found(tuple(tab.bbox), rows))
    return out
