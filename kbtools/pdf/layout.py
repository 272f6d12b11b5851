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
#: A table or figure caption's label (a float set on page 1 above the title is no banner).
TABLE_OR_FIGURE = re.compile(r"^\s*(table|tab\.|fig(ure)?\.?)\s*(S?\d+|[IVX]+)\b", re.I)


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
    bold_lead: int = 0  # characters of a bold run starting a line that is not all bold

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
    rows: list[list[str]] = field(default_factory=list)  # for tables: header row first
    words_on: dict[int, int] = field(default_factory=dict)  # table rows continued: page -> words

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
    direction: tuple[int, int] = (1, 0)  # writing direction read as left to right
    layer_words: int = 0  # words in the page's text layer, every direction
    dropped_words: int = 0  # words left out on purpose: running heads, figure labels, stamps
    blocks: list[PageText] = field(default_factory=list)  # rotated blocks, each in its frame


@lru_cache(maxsize=512)
def _italic_font(name: str) -> bool:
    return bool(_ITALIC_NAME.search(name))


@lru_cache(maxsize=512)
def _bold_font(name: str) -> bool:
    return bool(_BOLD_NAME.search(name))


#: A rotated block of text is read (in its own orientation) from this many characters on;
#: shorter rotated lines (an arXiv stamp, an axis label) are kept aside as ``rotated``.
ROTATED_BLOCK_CHARS = 80
#: Superscript spans that are footnote or affiliation marks, not maths ("1,2*", "†").
_MARK = re.compile(r"^[\d,*\u2020\u2021\u00a7\u00b6\u2217\u22c6#a-e]{1,8}$")
_MATH_FONT = re.compile(r"^(CM(MI|SY|EX)|MSBM|MSAM|.*Math|.*-MI$|rtxmi|txmi|pxmi)", re.I)


def _direction(line: dict[str, Any]) -> tuple[int, int]:
    """The writing direction of a line, snapped to the nearest multiple of 90 degrees."""
    dx, dy = line["dir"]
    if abs(dx) >= abs(dy):
        return (1 if dx > 0 else -1), 0
    return 0, (1 if dy > 0 else -1)


def frame_matrix(page: pymupdf.Page, direction: tuple[int, int]
                 ) -> tuple[pymupdf.Matrix, float, float]:
    """The matrix that turns text written in ``direction`` into left-to-right lines, with the
    width and height of the page seen that way (text coordinates are the unrotated page's)."""
    dx, dy = direction
    m = pymupdf.Matrix(dx, -dy, dy, dx, 0, 0)
    raw = pymupdf.Rect(0, 0, page.mediabox.width, page.mediabox.height)
    box = raw * m
    return m * pymupdf.Matrix(1, 0, 0, 1, -box.x0, -box.y0), box.width, box.height


def read_page(page: pymupdf.Page, number: int, *, tables: bool = True) -> PageText:
    """Extract the lines of one page, in reading orientation, and its tables.

    Lines are grouped by writing direction. The direction holding most of the text is the
    page's (a landscape table page, whatever its /Rotate, reads as a wide page); a rotated
    block of some length (a sideways table on an upright page) is read as a block of its own
    after the page's text; short rotated lines are kept aside as ``rotated``.
    """
    textpage = page.get_textpage(flags=TEXT_FLAGS)  # one text page for lines and tables
    data = textpage.extractDICT()
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    chars: Counter[tuple[int, int]] = Counter()
    for block in data["blocks"]:
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            d = _direction(line)
            groups.setdefault(d, []).append(line)
            chars[d] += sum(len(s["text"].strip()) for s in line["spans"])
    main = chars.most_common(1)[0][0] if chars else (1, 0)
    matrix, width, height = frame_matrix(page, main)
    out = PageText(number, width, height, direction=main)
    out.layer_words = sum(len(s["text"].split()) for lines in groups.values()
                          for ln in lines for s in ln["spans"])
    out.lines = _frame_lines(groups.get(main, []), matrix, number, out.unmapped)
    for d, lines in groups.items():
        if d == main:
            continue
        texts = [normalise("".join(s["text"] for s in ln["spans"])).strip() for ln in lines]
        if chars[d] >= ROTATED_BLOCK_CHARS and len(lines) >= 3:
            m, w, h = frame_matrix(page, d)
            block = PageText(number, w, h, direction=d)
            block.lines = _frame_lines(lines, m, number, out.unmapped)
            _finish(page, block, textpage, m, tables)
            out.blocks.append(block)
        else:
            out.rotated.extend(t for t in texts if t)
            out.dropped_words += sum(len(t.split()) for t in texts)
    if sum(len(ln.text) for ln in out.lines) < 50:  # little text: is it a scan?
        out.n_images = len(page.get_images())
    _finish(page, out, textpage, matrix, tables)
    return out


def _finish(page: pymupdf.Page, out: PageText, textpage: Any, matrix: pymupdf.Matrix,
            tables: bool) -> None:
    """Figure labels out of the text flow; tables found and their lines taken out."""
    figures = [ln for ln in out.lines if _FIGURE_CAPTION.match(ln.text)]
    if figures and out.direction == (1, 0):
        kept = _drop_figure_text(page, out.lines, figures)
        out.dropped_words += _words(out.lines) - _words(kept)
        out.lines = kept
    if tables:
        out.tables = _find_tables(page, out, textpage, matrix)
        if out.tables:
            boxes = [t.lines[0] for t in out.tables]
            out.lines = [ln for ln in out.lines if not any(_inside(ln, b) for b in boxes)]


def _words(lines: list[Line]) -> int:
    return sum(len(ln.text.split()) for ln in lines)


def _frame_lines(lines: list[dict[str, Any]], matrix: pymupdf.Matrix, number: int,
                 unmapped: Counter[str]) -> list[Line]:
    """MuPDF's lines of one writing direction as Lines in that direction's frame."""
    raw: list[Line] = []
    for line in lines:
        spans = [s for s in line["spans"] if s["text"].strip()]
        if not spans:
            continue
        for sp in spans:
            if "\ufffd" in sp["text"]:
                unmapped[sp["font"]] += sp["text"].count("\ufffd")
        letters = [c for sp in spans for c in sp["text"] if c.isalpha()]
        caps = bool(letters) and all(c.isupper() for c in letters)
        pieces = _footnote_marks_out(line["spans"], _small_caps(line["spans"]))
        text = re.sub(r"(?<=\S)\s{2,}(?=\S)", " ", normalise(_spaced_out("".join(pieces)))).strip()
        if not text:
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
        x0, y0, x1, y1 = pymupdf.Rect(line["bbox"]) * matrix
        total = sum(weights.values())
        bold = bold_chars >= 0.8 * total
        raw.append(Line(text, x0, y0, x1, y1, size, bold, number, normalise(plain).strip(),
                        italic=italic_chars >= 0.8 * total, caps=caps,
                        bold_lead=0 if bold else _bold_lead(line["spans"], pieces, text)))
    return _merge_same_baseline(raw)


def _bold_lead(spans: list[dict[str, Any]], pieces: list[str], text: str) -> int:
    """Length of the bold run that starts ``text`` (a run-in heading), 0 when there is none."""
    lead = ""
    for sp, piece in zip(spans, pieces, strict=True):
        if not piece.strip():
            lead += piece
            continue
        if not (sp["flags"] & 16 or _bold_font(sp["font"])):
            break
        lead += piece
    lead = normalise(_spaced_out(lead)).strip()
    return len(lead) if lead and text.startswith(lead) else 0


def _footnote_marks_out(spans: list[dict[str, Any]], pieces: list[str]) -> list[str]:
    """Superscript footnote and affiliation marks after a word ("S2ORC,¹") left out of
    the text; superscripts in maths (after a maths font) stay."""
    out = list(pieces)
    for i, sp in enumerate(spans):
        if not (sp["flags"] & 1) or not _MARK.match(pieces[i].strip() or "-") or i == 0:
            continue
        prev = next((j for j in range(i - 1, -1, -1) if pieces[j].strip()), None)
        if prev is None or _MATH_FONT.match(spans[prev]["font"]):
            continue
        if pieces[prev].rstrip()[-1:].isalpha() or pieces[prev].rstrip()[-1:] in ",.;:)":
            out[i] = ""
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


def _find_tables(page: pymupdf.Page, out: PageText, textpage: Any,
                 matrix: pymupdf.Matrix) -> list[Paragraph]:
    """The page's tables (see kbtools.pdf.tables), as placeholder paragraphs."""
    from kbtools.pdf import tables

    captions = [(c.x0, c.y0, c.x1, c.y1) for c in out.lines if _TABLE_CAPTION.match(c.text)]
    figures = [(c.x0, c.y0, c.x1, c.y1) for c in out.lines if _FIGURE_CAPTION.match(c.text)]
    found = []
    for tab in tables.find(page, textpage, matrix, captions, figures):
        x0, y0, x1, y1 = tab.bbox
        box = Line("", x0, y0, x1, y1, 0.0, False, out.number, kind="table")
        para = Paragraph([box], out.number, kind="table", markdown=tables.table_markdown(tab.rows))
        para.rows = tab.rows
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
    # a justified line stretches its spaces, most after a sentence: MuPDF may cut it there
    reach = (1.0 if prev.text.endswith((".", ",", ";", ":", "?", "!", ")")) else 0.75) * size
    numbered = _SECTION_NUMBER.match(prev.text) is not None and prev.width < 4 * size
    if numbered:
        reach = 2.5 * size  # "3.1" and its heading title, a quad apart
    elif _BULLET_ONLY.match(prev.text):
        reach = 3.0 * size  # a list marker set apart from its item
    elif (prev.bold and not ln.bold and prev.bold_lead == 0 and len(prev.text.split()) <= 8
          and len(ln.text.split()) >= 5):
        # a run-in heading, a quad before its paragraph
        reach = (1.4 if prev.text.endswith((".", ":", "\u2014", "\u2013")) else 0.95) * size
    # pieces may overlap a little: stacked sub- and superscripts ("z_i^T")
    if not (-1.0 * size <= ln.x0 - prev.x1 < reach and abs(prev.size - ln.size) < 0.6 * size):
        return None
    sep = "" if ln.x0 - prev.x1 < 0.15 * prev.size else " "
    big = prev if prev.size >= ln.size else ln
    bold = ln.bold if numbered else prev.bold and ln.bold
    lead = prev.bold_lead
    if prev.bold and not bold:
        lead = len(prev.text) + len(sep) + ln.bold_lead if ln.bold_lead else len(prev.text)
    return Line(prev.text + sep + ln.text, prev.x0, min(prev.y0, ln.y0), ln.x1,
                max(prev.y1, ln.y1), big.size, bold, prev.page,
                (prev.plain + " " + ln.plain).strip()
                if ln.size >= 0.8 * prev.size else prev.plain + " ",
                italic=ln.italic if numbered else prev.italic and ln.italic,
                caps=ln.caps if numbered else prev.caps and ln.caps,
                bold_lead=0 if bold else lead)


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
        page.dropped_words += sum(len(ln.text.split()) for ln in page.lines if id(ln) in drop)
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
        if cur and _starts_new(cur[-1], ln, body_size, cur[0], gap_ratio,
                               min(c.x0 for c in cur)):
            close()
        cur.append(ln)
    close()
    return out


def _starts_new(prev: Line, ln: Line, body: float, first: Line, gap_ratio: float = 0.2,
                left: float | None = None) -> bool:
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
    if ln.x0 > prev.x0 + 25 or ln.x1 < (first.x0 if left is None else left):  # new column
        return True
    if _BULLET.match(ln.text):
        return True
    start = first.x0 if left is None else left
    if prev.x0 > start + 0.5 * body and ln.x0 < start + 1.5 and prev is not first:
        return True  # back out of a hanging indent: the next reference or list item
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
