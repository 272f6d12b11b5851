"""Page layout: text lines with font facts, running headers/footers, columns, paragraphs.

One pass of ``page.get_text("dict")`` per page gives lines with their size, weight and
position. Lines repeating at the same height on many pages (running headers and footers) and
bare page numbers in the margins are dropped; the rest are put in reading order column by
column (columns are found per page as empty vertical gutters between narrow lines) and grouped
into paragraphs by spacing, indentation and font changes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pymupdf

from kbtools.pdf.text import normalise

#: get_text flags: clip to the page, no images, ligatures expanded by MuPDF itself.
TEXT_FLAGS = pymupdf.TEXT_MEDIABOX_CLIP

_ITALIC_NAME = re.compile(r"italic|oblique|-it\b|\bit$|ital", re.IGNORECASE)
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|,b\b", re.IGNORECASE)
_PAGE_NUMBER = re.compile(
    r"^(page\s*)?(\d{1,4}|[ivxlcdm]{1,6})(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE)
_SECTION_NUMBER = re.compile(r"^(\d{1,2}(\.\d{1,2}){0,3}\.?|[IVX]{1,5}\.|[A-H](\.\d{1,2})*\.?)$")
_FIGURE_CAPTION = re.compile(r"^\s*(fig(ure)?\.?)\s*S?\d+[a-z]?\s*[:.|\u2014\u2013-]",
                             re.IGNORECASE)
_BULLET_ONLY = re.compile(r"^[\u2022\u25e6\u25aa\u25cf\u2023\u2043\u2219\u25a0\u25a1\u2013*-]$")
_TABLE_CAPTION = re.compile(r"^\s*(table|tab\.)\s*(S?\d+|[IVX]+)\b", re.IGNORECASE)


@dataclass
class Line:
    """One visual line of text."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool
    page: int
    plain: str = ""  # text without superscript/subscript spans (for author lists)
    kind: str = "text"
    table: Paragraph | None = None  # for the placeholder line of a table
    italic: bool = False
    caps: bool = False  # every letter was set as a capital (small capitals included)

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass
class Paragraph:
    """Lines grouped into one block of reading order; ``kind`` is set by the structure pass."""

    lines: list[Line]
    page: int
    kind: str = "text"  # text, heading, caption, table, title, authors, abstract-label
    text: str = ""
    level: int = 0
    markdown: str = ""  # for tables

    @property
    def size(self) -> float:
        return max(ln.size for ln in self.lines) if self.lines else 0.0

    @property
    def bold(self) -> bool:
        return bool(self.lines) and all(ln.bold for ln in self.lines)

    @property
    def italic(self) -> bool:
        return bool(self.lines) and all(ln.italic for ln in self.lines)

    @property
    def x0(self) -> float:
        return min(ln.x0 for ln in self.lines)

    @property
    def y0(self) -> float:
        return min(ln.y0 for ln in self.lines)


@dataclass
class PageText:
    """What one page contributes: horizontal lines, rotated lines, tables."""

    number: int  # 1-based
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    tables: list[Paragraph] = field(default_factory=list)
    n_images: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)  # font -> glyphs without Unicode


@lru_cache(maxsize=512)
def _italic_font(name: str) -> bool:
    return bool(_ITALIC_NAME.search(name))


@lru_cache(maxsize=512)
def _bold_font(name: str) -> bool:
    return bool(_BOLD_NAME.search(name))


def read_page(page: pymupdf.Page, number: int, *, tables: bool = True) -> PageText:
    """Extract the lines of one page (and its ruled tables when a table caption is present)."""
    rect = page.rect
    out = PageText(number, rect.width, rect.height)
    textpage = page.get_textpage(flags=TEXT_FLAGS)  # one text page for lines and tables
    data = textpage.extractDICT()
    raw: list[Line] = []
    for block in data["blocks"]:
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            spans = [s for s in line["spans"] if s["text"].strip()]
            if not spans:
                continue
            for sp in spans:
                if "\ufffd" in sp["text"]:
                    out.unmapped[sp["font"]] += sp["text"].count("\ufffd")
            letters = [c for sp in spans for c in sp["text"] if c.isalpha()]
            caps = bool(letters) and all(c.isupper() for c in letters)
            pieces = _small_caps(line["spans"])
            text = normalise(_spaced_out("".join(pieces))).strip()
            if not text:
                continue
            dx, dy = line["dir"]
            if abs(dy) > 0.2 or dx < 0:
                out.rotated.append(text)
                continue
            weights: Counter[float] = Counter()
            bold_chars = italic_chars = 0
            for s in spans:
                n = len(s["text"].strip())
                weights[round(s["size"], 1)] += n
                if s["flags"] & 16 or _bold_font(s["font"]):
                    bold_chars += n
                if s["flags"] & 2 or _italic_font(s["font"]):
                    italic_chars += n
            size = weights.most_common(1)[0][0]
            plain = "".join(t if sp["size"] >= 0.8 * size or not t.strip() else " "
                            for sp, t in zip(line["spans"], pieces, strict=True))
            plain = _spaced_out(re.sub(r"\s+", " ", plain))
            x0, y0, x1, y1 = line["bbox"]
            total = sum(weights.values())
            raw.append(Line(text, x0, y0, x1, y1, size, bold_chars >= 0.8 * total,
                            number, normalise(plain).strip(),
                            italic=italic_chars >= 0.8 * total, caps=caps))
    out.lines = _merge_same_baseline(raw)
    if sum(len(ln.text) for ln in out.lines) < 50:  # little text: is it a scan?
        out.n_images = len(page.get_images())
    figures = [ln for ln in out.lines if _FIGURE_CAPTION.match(ln.text)]
    if figures:
        out.lines = _drop_figure_text(page, out.lines, figures)
    captions = [ln for ln in out.lines if _TABLE_CAPTION.match(ln.text)] if tables else []
    if captions:
        out.tables = _find_tables(page, number, captions, textpage)
        if out.tables:
            boxes = [t.lines[0] for t in out.tables]
            out.lines = [ln for ln in out.lines if not any(_inside(ln, b) for b in boxes)]
    return out


def _drop_figure_text(page: pymupdf.Page, lines: list[Line], captions: list[Line]
                      ) -> list[Line]:
    """Lines drawn inside a figure (labels of a diagram, axis ticks) leave the text flow.

    A figure is a cluster of vector paths or images next to a "Figure N" caption; short lines
    inside it (with a small margin, and down or up to its caption) are its labels.
    """
    rects = [pymupdf.Rect(r) for kind, r in page.get_bboxlog()
             if "path" in kind or "image" in kind or "shade" in kind]
    clusters: list[pymupdf.Rect] = []
    for r in rects:
        if r.width > 0.9 * page.rect.width and r.height < 3:
            continue  # a page-wide rule
        grown = r + (-8, -8, 8, 8)
        hit = [c for c in clusters if c.intersects(grown)]
        for c in hit:
            clusters.remove(c)
            r = r | c
        clusters.append(pymupdf.Rect(r))
    regions = []
    for c in clusters:
        if c.width < 30 or c.height < 15:
            continue
        for cap in captions:
            if cap.x1 < c.x0 or cap.x0 > c.x1:
                continue
            if 0 <= cap.y0 - c.y1 <= 60:
                regions.append(pymupdf.Rect(c.x0 - 10, c.y0 - 10, c.x1 + 10, cap.y0))
            elif 0 <= c.y0 - cap.y1 <= 60:
                regions.append(pymupdf.Rect(c.x0 - 10, cap.y1, c.x1 + 10, c.y1 + 10))
    if not regions:
        return lines

    def inside(ln: Line) -> bool:
        cx, cy = (ln.x0 + ln.x1) / 2, (ln.y0 + ln.y1) / 2
        return len(ln.text.split()) <= 8 and any(
            r.x0 <= cx <= r.x1 and r.y0 <= cy <= r.y1 for r in regions)

    return [ln for ln in lines if not inside(ln)]


def _small_caps(spans: list[dict[str, Any]]) -> list[str]:
    """Span texts, with faked small capitals (upper case set smaller beside larger capitals)
    turned back into lower case: "LONGEVAL" set as L-ONG-E-VAL reads "LongEval"."""
    texts = [sp["text"] for sp in spans]
    if len(spans) < 2 or len({sp["size"] for sp in spans}) < 2:
        return texts  # one size: nothing set as small capitals
    sizes = [sp["size"] for sp in spans if any(c.isalpha() for c in sp["text"])]
    if not sizes:
        return texts
    big = max(sizes)
    out = []
    for sp in spans:
        t = sp["text"]
        letters = [c for c in t if c.isalpha()]
        if (letters and 0.6 * big <= sp["size"] <= 0.9 * big and all(c.isupper() for c in letters)
                and any(o["size"] > 0.95 * big and any(c.isupper() for c in o["text"])
                        for o in spans)):
            t = t.lower()
        out.append(t)
    return out


_SPACED = re.compile(r"(?<![\w.])(?:[A-Za-z] ){3,}[A-Za-z](?![\w.])")


def _spaced_out(text: str) -> str:
    """Letter-spaced words ("L o n g E v a l") closed up again."""
    return _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)


def _inside(line: Line, box: Line) -> bool:
    cx, cy = (line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2
    return box.x0 - 1 <= cx <= box.x1 + 1 and box.y0 - 1 <= cy <= box.y1 + 1


def _find_tables(page: pymupdf.Page, number: int, captions: list[Line],
                 textpage: Any = None) -> list[Paragraph]:
    """Tables next to a "Table N" caption (see kbtools.pdf.tables)."""
    from kbtools.pdf import tables

    found = []
    for tab in tables.find(page, [(c.x0, c.y0, c.x1, c.y1) for c in captions], textpage):
        x0, y0, x1, y1 = tab.bbox
        box = Line("", x0, y0, x1, y1, 0.0, False, number, kind="table")
        para = Paragraph([box], number, kind="table", markdown=tables.table_markdown(tab.rows))
        box.table = para
        found.append(para)
    return found


def _merge_same_baseline(lines: list[Line]) -> list[Line]:
    """Join pieces MuPDF split off one visual line: superscripts, font switches, maths whose
    symbols sit a little above or below the baseline ("L = -∑ log σ(z)"), a section number
    and its title, a list marker and its item."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: ((ln.y0 + ln.y1) / 2, ln.x0)):
        centre = (ln.y0 + ln.y1) / 2
        for row in reversed(rows[-4:]):
            ref = row[0]
            if abs(centre - (ref.y0 + ref.y1) / 2) < 0.4 * max(ref.size, ln.size):
                row.append(ln)
                break
        else:
            rows.append([ln])
    merged: list[Line] = []
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        out: list[Line] = [row[0]]
        for ln in row[1:]:
            joined = _join_pieces(out[-1], ln)
            if joined is None:
                out.append(ln)
            else:
                out[-1] = joined
        merged.extend(out)
    merged.sort(key=lambda ln: (round(ln.y1), ln.x0))
    for ln in merged:
        ln.plain = ln.plain.strip()
    return merged


def _join_pieces(prev: Line, ln: Line) -> Line | None:
    """``prev`` and ``ln`` (to its right on the same row) as one line, or None."""
    size = max(prev.size, ln.size)
    reach = 0.6 * size
    numbered = _SECTION_NUMBER.match(prev.text) is not None and prev.width < 4 * size
    if numbered:
        reach = 2.5 * size  # "3.1" and its heading title, a quad apart
    elif _BULLET_ONLY.match(prev.text):
        reach = 3.0 * size  # a list marker set apart from its item
    # pieces may overlap a little: stacked sub- and superscripts ("z_i^T")
    if not (-1.0 * size <= ln.x0 - prev.x1 < reach and abs(prev.size - ln.size) < 0.6 * size):
        return None
    sep = "" if ln.x0 - prev.x1 < 0.15 * prev.size else " "
    big = prev if prev.size >= ln.size else ln
    return Line(prev.text + sep + ln.text, prev.x0, min(prev.y0, ln.y0), ln.x1,
                max(prev.y1, ln.y1), big.size,
                ln.bold if numbered else prev.bold and ln.bold, prev.page,
                (prev.plain + " " + ln.plain).strip()
                if ln.size >= 0.8 * prev.size else prev.plain + " ",
                italic=ln.italic if numbered else prev.italic and ln.italic,
                caps=ln.caps if numbered else prev.caps and ln.caps)


# -- running headers and footers ------------------------------------------------------------

def _margin_key(line: Line) -> str:
    return re.sub(r"\d+", "#", line.text.lower()).strip()


def _edge_rows(page: PageText, margin: float) -> list[list[Line]]:
    """The two topmost and two lowest rows of lines on the page (lines sharing a baseline
    form a row), when they sit within ``margin`` of the page's top or bottom edge."""
    rows: list[list[Line]] = []
    for ln in sorted(page.lines, key=lambda ln: ln.y1):
        if rows and abs(rows[-1][0].y1 - ln.y1) < 3:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    top = [r for r in rows[:2] if r[0].y0 < margin * page.height]
    bottom = [r for r in rows[-2:] if r[0].y1 > (1 - margin) * page.height]
    return top + [r for r in bottom if not any(r is t for t in top)]


def strip_headers_footers(pages: list[PageText], margin: float = 0.2) -> int:
    """Remove running headers/footers and page numbers in place; return lines removed.

    Only the two outermost rows at the top and bottom of a page are candidates. A candidate
    goes when it is a page number ("12", "xii", "Page 3 of 9"), or when the same text (digits
    ignored) is an outermost line on at least 40% of the pages (at least two): running titles,
    author names, journal lines. Lines sharing a row with a removed line go with it when short.
    """
    edges = {page.number: _edge_rows(page, margin) for page in pages}
    counts: Counter[str] = Counter()
    for rows in edges.values():
        counts.update({_margin_key(ln) for row in rows for ln in row})
    threshold = max(2, int(0.4 * len(pages) + 0.5))
    repeated = {key for key, n in counts.items() if n >= threshold and key}
    removed = 0
    for page in pages:
        drop: set[int] = set()
        for row in edges[page.number]:
            hits = [ln for ln in row if _margin_key(ln) in repeated
                    or _PAGE_NUMBER.match(ln.text.strip())]
            if hits:
                drop.update(id(ln) for ln in row
                            if ln in hits or len(ln.text.split()) <= 12)
        removed += len(drop)
        page.lines = [ln for ln in page.lines if id(ln) not in drop]
    return removed


# -- columns and reading order -------------------------------------------------------------

def find_gutters(items: list[Line], width: float) -> list[tuple[float, float]]:
    """Vertical gutters between columns: x ranges that few lines cross.

    The coverage of narrow lines (under 60% of the text width) is projected on the x axis;
    the least covered strip in the middle 20-80% of the text, at least 6 pt wide, is a gutter
    when enough narrow lines lie wholly on each side of it and the lines crossing it (title,
    author grids, full-width figures) are few next to those: they become bands of their own.
    """
    if len(items) < 6:
        return []
    left = min(it.x0 for it in items)
    right = max(it.x1 for it in items)
    span = right - left
    if span <= 0:
        return []
    narrow = [it for it in items if it.width < 0.6 * span]
    if len(narrow) < 6:
        return []
    cover = np.zeros(int(width) + 2, dtype=np.int32)
    for it in narrow:
        a, b = max(0, int(it.x0)), min(len(cover) - 1, int(it.x1) + 1)
        cover[a:b] += 1
    lo, hi = int(left + 0.2 * span), int(left + 0.8 * span)
    if hi - lo < 8:
        return []
    allowed = max(1, int(0.3 * len(narrow)))
    need = 3  # a column may hold only a few lines (the end of a paper); crossing lines decide
    gutters: list[tuple[float, float]] = []
    for level in sorted(set(cover[lo:hi].tolist())):
        if level > allowed:
            break
        free = np.append(cover[lo:hi] <= level, False)
        start = None
        for i, ok in enumerate(free):
            if ok and start is None:
                start = i
            elif not ok and start is not None:
                if i - start >= 6:
                    gutters.append((lo + start, lo + i))
                start = None
        good = []
        for a, b in gutters:
            n_left = sum(1 for it in items if it.x1 <= b and it.x0 < a)
            n_right = sum(1 for it in items if it.x0 >= a and it.x1 > b)
            crossing = sum(1 for it in items if it.x0 < a - 2 and it.x1 > b + 2)
            if (sum(1 for it in narrow if it.x1 <= b) >= need
                    and sum(1 for it in narrow if it.x0 >= a) >= need
                    and crossing <= 0.5 * min(n_left, n_right)):
                good.append((a, b))
        if good:
            return good
        gutters = []
    return []


def reading_order(items: list[Line], width: float) -> list[Line]:
    """Order items column by column inside bands separated by full-width items."""
    gutters = find_gutters([it for it in items if it.kind != "table"], width)
    ordered = sorted(items, key=lambda it: (it.y0, it.x0))
    if not gutters:
        return ordered
    edges = [(a + b) / 2 for a, b in gutters]

    def column(it: Line) -> int | None:
        for a, b in gutters:
            if it.x0 < a - 2 and it.x1 > b + 2:
                return None  # crosses a gutter: spans columns
        centre = (it.x0 + it.x1) / 2
        return sum(centre > e for e in edges)

    out: list[Line] = []
    band: list[tuple[int, Line]] = []
    for it in ordered:
        col = column(it)
        if col is None:
            out.extend(ln for _, ln in sorted(band, key=lambda p: (p[0], p[1].y0, p[1].x0)))
            band = []
            out.append(it)
        else:
            band.append((col, it))
    out.extend(ln for _, ln in sorted(band, key=lambda p: (p[0], p[1].y0, p[1].x0)))
    return out


# -- paragraphs ----------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*([\u2022\u25e6\u25aa\u25cf\u2023\u2043\u00b7\u2219\u25a0\u25a1\u2013*-]"
                     r"|\(?[a-z0-9]\)|[0-9]+\.\s+[a-z])")


def line_gap_ratio(pages: list[PageText]) -> float:
    """The usual white gap between two lines of one paragraph, as a fraction of the font size.

    LaTeX sets about 0.1-0.2; documents printed from markdown (WeasyPrint, browsers) often
    0.5-0.8, more than the gap that separates paragraphs elsewhere. The median over pairs of
    consecutive lines in the same column and size is the document's own measure.
    """
    ratios = []
    for page in pages:
        ordered = sorted(page.lines, key=lambda ln: (round(ln.x0 / 40), ln.y0))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if (abs(a.size - b.size) < 0.3 and abs(a.x0 - b.x0) < 30 and a.size > 0
                    and -0.3 * a.size < b.y0 - a.y1 < 1.5 * a.size):
                ratios.append((b.y0 - a.y1) / a.size)
    if len(ratios) < 4:
        return 0.2
    return float(np.median(ratios))


def paragraphs(lines: list[Line], body_size: float, gap_ratio: float = 0.2
               ) -> list[Paragraph]:
    """Group ordered lines into paragraphs; tables stay paragraphs of their own.

    ``gap_ratio`` is the document's usual gap between lines (see ``line_gap_ratio``); a gap
    clearly wider than that starts a new paragraph.
    """
    out: list[Paragraph] = []
    cur: list[Line] = []

    def close() -> None:
        if cur:
            out.append(Paragraph(list(cur), cur[0].page))
            cur.clear()

    for ln in lines:
        if ln.kind == "table":
            close()
            assert ln.table is not None
            out.append(ln.table)
            continue
        if cur and _starts_new(cur[-1], ln, body_size, cur[0], gap_ratio):
            close()
        cur.append(ln)
    close()
    return out


def _starts_new(prev: Line, ln: Line, body: float, first: Line, gap_ratio: float = 0.2
                ) -> bool:
    if ln.page != prev.page:
        return not _continues(prev, ln)
    size = max(prev.size, ln.size)
    if abs(ln.size - prev.size) > 0.6 or ln.bold != prev.bold:
        return True
    if ln.italic != prev.italic and (len(prev.text.split()) <= 12 or len(ln.text.split()) <= 12):
        return True  # an italic heading line over upright text (or the reverse)
    gap = ln.y0 - prev.y1
    if gap > max(0.45, gap_ratio + 0.25) * size or gap < -0.5 * size:
        return True
    if ln.x0 > prev.x0 + 25 or ln.x1 < first.x0:  # jumped to another column
        return True
    if _BULLET.match(ln.text):
        return True
    # first-line indent after a finished sentence
    return ln.x0 > first.x0 + 0.7 * body and prev.text.rstrip().endswith((".", ":", "?", "!"))


def _continues(prev: Line, ln: Line) -> bool:
    """A paragraph running on to the next page: same style, previous line unfinished."""
    return (abs(prev.size - ln.size) < 0.3 and prev.bold == ln.bold and not prev.bold
            and not prev.text.rstrip().endswith((".", ":", "?", "!")))


def body_font_size(pages: list[PageText]) -> float:
    """The most common font size, weighted by characters."""
    counts: Counter[float] = Counter()
    for page in pages:
        for ln in page.lines:
            counts[round(ln.size * 2) / 2] += len(ln.text)
    if not counts:
        return 10.0
    return counts.most_common(1)[0][0]
