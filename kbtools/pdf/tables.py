"""Tables on a page, from its rules and the alignment of its words.

Most tables in papers are typeset with booktabs: a top rule, a rule under the header (with
short ``cmidrule``s under spanning group headers), a bottom rule, no vertical lines. Tables
printed from HTML (KB summaries) draw a border under every row, in one piece per cell; ruled
grids add vertical lines. All three are found from the page's horizontal rules: collinear
pieces are joined, rules of the same extent stacked close together form a table's frame, and
vertical rules (where there are any) give its columns.

Cells come from the word boxes inside the frame: words are grouped into rows by baseline (or
by the rules between rows, where every row has one), columns are the white strips no word of
the body crosses, and a line with text only where other rows have a wrapped cell continues
the row above. Header rows (above the rule under the header) are joined top to bottom per
column; a group header over a ``cmidrule`` (or wider than one column) is prefixed to every
column it covers. A frame whose body continues below its last rule (a long table broken
across pages) is followed down while the lines keep to its columns.

A frame next to a "Table N" caption is a table when its cells form a grid; without a caption
it also needs three rows and well-filled cells. Frames that hold curves or plot marks (the
axes, grid lines and legend of a plot) or sit next to a "Figure N" caption are never tables.
Everything works in the frame of the text's writing direction (``matrix``), so tables on
landscape pages and sideways tables are read like the others.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from statistics import median
from typing import Any

import pymupdf

from kbtools.pdf.text import join_lines, markup_residue, normalise, resolve_breaks

#: How far (points) a caption may sit from the table it names.
CAPTION_REACH = 45.0
Box = tuple[float, float, float, float]
Rule = tuple[float, float, float, float]  # x0, y, x1, weight (y0, x, y1, weight)
Word = tuple[float, float, float, float, str]


@dataclass
class Found:
    """One table: its box and rows (header first)."""

    bbox: Box
    rows: list[list[str]]
    captioned: bool = True


@dataclass
class Ink:
    """The vector graphics of a page that matter for tables, in the reading frame."""

    rules: list[Rule]  # horizontal: (x0, y, x1, weight), collinear pieces joined
    verticals: list[Rule]  # (y0, x, y1, weight)
    marks: list[Box]  # curves, slanted lines, plot markers: plots, not tables
    fills: list[Box]  # filled areas (bars of a chart, shaded table rows)


def table_markdown(rows: list[list[str]]) -> str:
    """A pipe table; the first row is the header."""
    def cell(value: str | None) -> str:
        text = re.sub(r"\s+", " ", normalise(value or "")).strip()
        text = re.sub(r"&(?=#?\w{1,8};)", "&amp;", text)
        text = re.sub(r"([\\|`\[\]{}*_])", r"\\\1", text)
        return text.replace("<", "&lt;").replace(">", "&gt;")

    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join(cell(c) for c in list(row) + [""] * (width - len(row))) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join(" --- " for _ in range(width)) + "|")
    return "\n".join(lines)


def find(page: pymupdf.Page, textpage: Any, matrix: pymupdf.Matrix, captions: list[Box],
         figures: list[Box]) -> list[Found]:
    """The tables of ``page`` seen through ``matrix``; ``captions`` and ``figures`` are the
    boxes of "Table N" and "Figure N" caption lines in the same frame."""
    ink = page_ink(page, matrix)
    if len(ink.rules) < 2:
        return []
    words_cache: list[Word] = []

    def words() -> list[Word]:
        if not words_cache:
            for w in textpage.extractWORDS():
                if w[4].strip():
                    x0, y0, x1, y1 = pymupdf.Rect(w[:4]) * matrix
                    words_cache.append((x0, y0, x1, y1, normalise(w[4])))
        return words_cache

    found: list[Found] = []
    for frame in frames(ink):
        captioned = any(near(c, frame.box) for c in captions)
        if any(near(f, frame.box) for f in figures) and not captioned:
            continue
        if _plot_inside(ink, frame.box):
            continue
        table = build(words(), frame, ink.verticals)
        if table is None or not plausible(table, captioned, len(frame.rules)):
            continue
        if any(_overlaps(table.bbox, f.bbox) for f in found):
            continue
        table.captioned = captioned
        found.append(table)
    return found


def _plot_inside(ink: Ink, box: Box) -> bool:
    """Curves, markers or bars inside ``box``: the frame is a plot's axes, grid or legend.
    (A shaded row spans most of the table; a bar does not.)"""
    width = box[2] - box[0]
    marks = sum(1 for m in ink.marks if _inside(m, box))
    bars = sum(1 for f in ink.fills if _inside(f, box) and f[2] - f[0] < 0.5 * width)
    return marks + bars >= 2


def near(caption: Box, box: Box) -> bool:
    """A caption right above or below ``box`` and over it horizontally."""
    cx0, cy0, cx1, cy1 = caption
    x0, top, x1, bottom = box
    if cx1 < x0 - 20 or cx0 > x1 + 20:
        return False
    return -5 <= top - cy1 <= CAPTION_REACH or -5 <= cy0 - bottom <= CAPTION_REACH


def plausible(table: Found, captioned: bool, n_rules: int) -> bool:
    """Whether the grid reads as a table: rows and columns enough and well filled."""
    rows = table.rows
    if len(rows) < 2 or len(rows[0]) < 2:
        return False
    body = rows[1:]
    filled = sum(1 for r in body for c in r if c.strip()) / max(1, sum(len(r) for r in body))
    if captioned:
        return filled >= 0.4
    return len(rows) >= 3 and filled >= 0.6 and n_rules >= 3


# -- ink ------------------------------------------------------------------------------------

def page_ink(page: pymupdf.Page, matrix: pymupdf.Matrix) -> Ink:
    """Rules and plot marks of ``page`` (from ``get_cdrawings``, in C: fast)."""
    pieces: list[Rule] = []
    verticals: list[Rule] = []
    marks: list[Box] = []
    fills: list[Box] = []
    try:
        drawings = page.get_cdrawings()
    except Exception:  # noqa: BLE001 - a page whose drawings cannot be read has no rules
        return Ink([], [], [], [])
    for path in drawings:
        width = float(path.get("width") or 0.0)
        curved = False
        for item in path.get("items", ()):
            kind = item[0]
            if kind == "l":
                p = pymupdf.Point(item[1]) * matrix
                q = pymupdf.Point(item[2]) * matrix
                if abs(p.y - q.y) < 1.0 and abs(q.x - p.x) > 3:
                    pieces.append((min(p.x, q.x), (p.y + q.y) / 2, max(p.x, q.x), width))
                elif abs(p.x - q.x) < 1.0 and abs(q.y - p.y) > 3:
                    verticals.append((min(p.y, q.y), (p.x + q.x) / 2, max(p.y, q.y), width))
                elif abs(p.x - q.x) > 1.0 and abs(p.y - q.y) > 1.0:
                    curved = True  # a slanted line: a plot's curve
            elif kind == "re":
                r = pymupdf.Rect(item[1]) * matrix
                if r.height < 2.0 and r.width > 3:
                    pieces.append((r.x0, (r.y0 + r.y1) / 2, r.x1, r.height))
                elif r.width < 2.0 and r.height > 3:
                    verticals.append((r.y0, (r.x0 + r.x1) / 2, r.y1, r.width))
                elif r.width < 12 and r.height < 12:
                    marks.append(tuple(r))  # a plot marker or a legend swatch
                elif path.get("type") == "f":
                    fills.append(tuple(r))
                else:  # a stroked box: its four sides
                    pieces += [(r.x0, r.y0, r.x1, width), (r.x0, r.y1, r.x1, width)]
                    verticals += [(r.y0, r.x0, r.y1, width), (r.y0, r.x1, r.y1, width)]
            elif kind in ("c", "qu"):
                curved = True
        if curved and path.get("rect"):
            marks.append(tuple(pymupdf.Rect(path["rect"]) * matrix))
    fills = _join_fills(fills)
    for x0, y0, x1, y1 in fills:  # a shaded row (or header) is bounded like a ruled one
        if y1 - y0 < 40 and x1 - x0 > 40:
            pieces += [(x0, y0, x1, 0.0), (x0, y1, x1, 0.0)]
    return Ink(_join(pieces), _join_vertical(verticals), marks, fills)


def _join_fills(boxes: list[Box]) -> list[Box]:
    """Shaded cells side by side (a row's background drawn cell by cell) as one box."""
    out: list[list[float]] = []
    for x0, y0, x1, y1 in sorted(boxes, key=lambda b: (round(b[1]), round(b[3]), b[0])):
        last = out[-1] if out else None
        if (last is not None and abs(last[1] - y0) < 0.8 and abs(last[3] - y1) < 0.8
                and x0 <= last[2] + 2.5):
            last[2] = max(last[2], x1)
        else:
            out.append([x0, y0, x1, y1])
    return [(a, b, c, d) for a, b, c, d in out]


def _join(pieces: list[Rule]) -> list[Rule]:
    """Collinear horizontal pieces that touch (a border drawn cell by cell) as one rule."""
    out: list[list[float]] = []
    for x0, y, x1, w in sorted(pieces, key=lambda r: (round(r[1] * 2), r[0])):
        last = out[-1] if out else None
        if last is not None and abs(last[1] - y) < 0.8 and x0 <= last[2] + 2.5:
            last[2] = max(last[2], x1)
            last[3] = max(last[3], w)
        else:
            out.append([x0, y, x1, w])
    return [(a, y, b, w) for a, y, b, w in out if b - a > 20]


def _join_vertical(pieces: list[Rule]) -> list[Rule]:
    return _join(pieces)


# -- frames ---------------------------------------------------------------------------------

@dataclass
class Frame:
    box: Box
    rules: list[Rule]  # full-width rules, top to bottom
    partial: list[Rule]  # shorter rules inside (cmidrule)


def frames(ink: Ink) -> list[Frame]:
    """Stacks of rules of one extent, close together: the frames of tables."""
    rules = sorted(ink.rules, key=lambda r: r[1])
    stacks: list[list[Rule]] = []
    for rule in rules:
        for stack in stacks:
            first, last = stack[0], stack[-1]
            if (abs(rule[0] - first[0]) < 4 and abs(rule[2] - first[2]) < 4
                    and 0 < rule[1] - last[1] < 300):
                stack.append(rule)
                break
        else:
            stacks.append([rule])
    out = []
    for st in stacks:
        if len(st) < 2 or st[-1][1] - st[0][1] < 8:
            continue
        top, bottom = st[0][1], st[-1][1]
        partial = [r for r in rules if r not in st and top - 1 < r[1] < bottom + 1
                   and r[0] >= st[0][0] - 3 and r[2] <= st[0][2] + 3]
        out.append(Frame((st[0][0], top, st[0][2], bottom), st, partial))
    return out


# -- cells ----------------------------------------------------------------------------------

def build(page_words: list[Word], frame: Frame, verticals: list[Rule]) -> Found | None:
    """The cells inside ``frame`` (and under it, when its body runs on below its last rule)."""
    x0, top, x1, bottom = frame.box
    rules = frame.rules
    # a lighter last rule is the rule under the header (booktabs' midrule under a heavier
    # toprule): the body follows below it, the rest of the table on the next page
    words = [w for w in page_words if x0 - 2 <= (w[0] + w[2]) / 2 <= x1 + 2
             and top <= (w[1] + w[3]) / 2 <= bottom]
    open_body = (len(rules) == 2 and rules[-1][3] < 0.85 * rules[0][3]
                 and len(_rows(words)) <= 2)
    inner = [r[1] for r in rules[1:]] if open_body else [r[1] for r in rules[1:-1]]
    above = _header_above(page_words, frame)
    if above:  # a table printed from HTML: a border under each row, none over the header
        top = min(w[1] for w in above) - 1
        inner = [rules[0][1]] + inner
        words = above + words
    header_end = inner[0] if inner else None
    head = [w for w in words if header_end is not None and (w[1] + w[3]) / 2 < header_end]
    body = [w for w in words if header_end is None or (w[1] + w[3]) / 2 >= header_end]
    if open_body:
        body = _below(page_words, frame)
        if not body:
            return None
        bottom = max(w[3] for w in body)
    if len(head) + len(body) < 4:
        return None
    if not head:
        rows = _rows(body)
        if len(rows) < 2:
            return None
        head, body = rows[0], [w for r in rows[1:] for w in r]
    size = median([w[3] - w[1] for w in head + body]) / 1.2
    cols = _column_cuts(body, frame, verticals, size)
    if not cols:
        return None
    row_rules = inner[1:] if len(inner) >= 2 else []
    body_rows = _rows_between(body, row_rules) if row_rules else _continued(_rows(body), cols)
    header = _header(_rows(head), cols, frame.partial, size, body)
    table = [header] + [_split(r, cols) for r in body_rows]
    return Found((x0, top, x1, bottom), table)


def _header_above(page_words: list[Word], frame: Frame) -> list[Word]:
    """The header row of a table ruled only under its rows: the row right above the first
    rule (closer than a row's band), when it and the row under it split into phrases over
    columns (a caption over a booktabs table is one phrase)."""
    x0, top, x1, _ = frame.box
    ys = [r[1] for r in frame.rules]
    if len(ys) < 3:
        return []
    bands = [b - a for a, b in zip(ys, ys[1:], strict=False)]
    cand = [w for w in page_words if x0 - 2 <= (w[0] + w[2]) / 2 <= x1 + 2
            and top - bands[0] < (w[1] + w[3]) / 2 < top]
    rows = _rows(cand)
    if len(rows) != 1:
        return []
    row = rows[0]
    first = [w for w in page_words if x0 - 2 <= (w[0] + w[2]) / 2 <= x1 + 2
             and ys[0] < (w[1] + w[3]) / 2 < ys[1]]
    size = median([w[3] - w[1] for w in row]) / 1.2
    if len(_phrases(row, [], size)) < 2 or len(_phrases(first, [], size)) < 2:
        return []
    return row


def _below(page_words: list[Word], frame: Frame) -> list[Word]:
    """The rows under an open header, down to the first wide gap."""
    x0, _, x1, y = frame.box
    cand = [w for w in page_words if x0 - 2 <= (w[0] + w[2]) / 2 <= x1 + 2
            and (w[1] + w[3]) / 2 > y]
    out: list[Word] = []
    last = y
    for row in _rows(cand):
        top = min(w[1] for w in row)
        if top - last > 2.5 * (row[0][3] - row[0][1]):
            break
        out.extend(row)
        last = max(w[3] for w in row)
    return out


def _rows(words: list[Word]) -> list[list[Word]]:
    words = sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0]))
    rows: list[list[Word]] = []
    for w in words:
        yc, h = (w[1] + w[3]) / 2, w[3] - w[1]
        if rows and abs(_row_y(rows[-1]) - yc) < 0.45 * h:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [sorted(r, key=lambda w: w[0]) for r in rows]


def _row_y(row: list[Word]) -> float:
    return sum((w[1] + w[3]) / 2 for w in row) / len(row)


def _rows_between(words: list[Word], rules: list[float]) -> list[list[Word]]:
    """One row per band between the rules under each row (tables printed from HTML)."""
    edges = sorted(rules)
    bands: list[list[Word]] = [[] for _ in range(len(edges) + 1)]
    for w in words:
        bands[sum((w[1] + w[3]) / 2 > e for e in edges)].append(w)
    return [sorted(b, key=lambda w: (round((w[1] + w[3]) / 2 / 3), w[0])) for b in bands if b]


def _column_cuts(body: list[Word], frame: Frame, verticals: list[Rule], size: float
                 ) -> list[float]:
    """x positions between columns: vertical rules inside the frame, else white strips that
    no word of the body crosses."""
    x0, top, x1, bottom = frame.box
    ruled = sorted({round(x) for a, x, b, _ in verticals if x0 + 3 < x < x1 - 3
                    and min(b, bottom) - max(a, top) > 0.5 * (bottom - top)})
    if ruled:
        return [float(x) for x in ruled]
    gap = max(3.0, 0.45 * size)
    spans = sorted((w[0], w[2]) for w in body)
    if not spans:
        return []
    strips: list[tuple[float, float]] = []  # x ranges no word crosses
    reach = spans[0][1]
    for a, b in spans[1:]:
        if a > reach:
            strips.append((reach, a))
        reach = max(reach, b)
    rows = _rows(body)
    cuts: list[float] = []
    for s0, s1 in strips:
        if s1 - s0 >= gap:
            cuts.append((s0 + s1) / 2)
            continue
        # narrower than a column gap: a cut only where most rows leave a wide gap and the
        # word after the narrow gap lines up with the next column of the other rows (a long
        # cell nearly touching the next column, not two words of one cell)
        wide, narrow = [], []
        for row in rows:
            left = [w for w in row if w[2] <= s0 + 0.1]
            right = [w for w in row if w[0] >= s1 - 0.1]
            if left and right:
                nxt = min(right, key=lambda w: w[0])
                (wide if nxt[0] - max(w[2] for w in left) >= gap else narrow).append(nxt)
        aligned = all(any(abs(n[0] - w[0]) < 1.5 or abs(n[2] - w[2]) < 1.5 for w in wide)
                      for n in narrow)
        if len(wide) + len(narrow) >= 2 and len(wide) >= 0.6 * (len(wide) + len(narrow)) \
                and aligned:
            cuts.append((s0 + s1) / 2)
    return _symbol_columns_out(rows, cuts)


def _symbol_columns_out(rows: list[list[Word]], cuts: list[float]) -> list[float]:
    """A "column" holding only a sign or two in a row or so ("<" set apart from "0.001" by
    a relation's space) belongs to the column on its right."""
    for i in range(len(cuts) - 1, -1, -1):
        texts = [c for r in rows for c in [_split(r, cuts)[i]] if c]
        if texts and len(texts) <= max(1, len(rows) // 5) and all(
                len(t) <= 2 and not any(ch.isalnum() for ch in t) for t in texts):
            del cuts[i]
    return cuts


def _cell_index(x0: float, x1: float, cuts: list[float]) -> int:
    return sum((x0 + x1) / 2 > c for c in cuts)


def _split(row: list[Word], cuts: list[float]) -> list[str]:
    """The row's words by column; lines of a wrapped cell joined, broken words mended."""
    cells: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    for w in row:
        cells[_cell_index(w[0], w[2], cuts)].append(w[4])
    return [markup_residue(resolve_breaks(join_lines(c), Counter())) for c in cells]


_CONTINUES = re.compile(r"^[a-z(\[\u2013-]")


def _continued(rows: list[list[Word]], cuts: list[float]) -> list[list[Word]]:
    """Lines that continue a wrapped cell of the row above joined to that row.

    A column filled in most rows but empty on this line, the text in a column that is also
    filled in the row above, and a lower-case start (or an unfinished row above) mark a
    continuation; a label row of its own ("Cortical measures") starts with a capital.
    """
    if len(rows) < 2:
        return rows
    n = len(cuts) + 1
    filled = [[bool(c) for c in _split(r, cuts)] for r in rows]
    full = [f for f in filled if sum(f) >= 2] or filled  # rows, not continuation lines
    common = [sum(f[i] for f in full) >= 0.6 * len(full) for i in range(n)]
    out: list[list[Word]] = [rows[0]]
    prev_cells = _split(rows[0], cuts)
    for row, f in zip(rows[1:], filled[1:], strict=True):
        cells = _split(row, cuts)
        missing = any(common[i] and not f[i] for i in range(n))
        used = [i for i in range(n) if f[i]]
        joins = (missing and used and all(prev_cells[i] for i in used)
                 and (all(_CONTINUES.match(cells[i]) for i in used)
                      or any(prev_cells[i].rstrip().endswith((",", "-", "and", "of", "the"))
                             for i in used)))
        if joins:
            out[-1] = out[-1] + row
            prev_cells = [f"{a} {b}".strip() for a, b in zip(prev_cells, cells, strict=True)]
        else:
            out.append(row)
            prev_cells = cells
    return out


def _header(rows: list[list[Word]], cuts: list[float], partial: list[Rule], size: float,
            body: list[Word]) -> list[str]:
    """Header rows joined top to bottom per column; a phrase over a ``cmidrule``, or wider
    than one column and over the middle of several, is given to each column it covers."""
    n = len(cuts) + 1
    centres: list[float | None] = [None] * n
    for i in range(n):
        xs = [(w[0], w[2]) for w in body if _cell_index(w[0], w[2], cuts) == i]
        if xs:
            centres[i] = (min(a for a, _ in xs) + max(b for _, b in xs)) / 2
    out = [""] * n
    for row in rows:
        row_bottom = max(w[3] for w in row)
        for text, a, b in _phrases(row, cuts, size):
            lo, hi = a, b
            for r in partial:
                if r[0] - 2 <= (a + b) / 2 <= r[2] + 2 and 0 < r[1] - row_bottom < size + 4:
                    lo, hi = r[0], r[2]
                    break
            covered = [i for i, c in enumerate(centres) if c is not None and lo - 2 <= c <= hi + 2]
            if len(covered) < 2:
                covered = [_cell_index(a, b, cuts)]
            for i in covered:
                out[i] = f"{out[i]} {text}".strip()
    return out


def _phrases(row: list[Word], cuts: list[float], size: float) -> list[tuple[str, float, float]]:
    """Runs of words set closer than a column gap: (text, x0, x1). A gap wider than a word
    space with a column boundary in it also ends a run."""
    out: list[tuple[str, float, float]] = []
    for w in row:
        if out:
            gap = w[0] - out[-1][2]
            boundary = any(out[-1][2] <= c <= w[0] for c in cuts)
            if gap < 0.45 * size + 1.5 and not (boundary and gap > 0.35 * size):
                text, a, _ = out[-1]
                out[-1] = (f"{text} {w[4]}", a, w[2])
                continue
        out.append((w[4], w[0], w[2]))
    return out


def _inside(box: Box, frame: Box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return frame[0] - 2 <= cx <= frame[2] + 2 and frame[1] - 2 <= cy <= frame[3] + 2


def _overlaps(a: Box, b: Box) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])
