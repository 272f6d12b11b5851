"""Property tests: each class of layout the corpus showed, generated in its neighbours.

Pages are drawn with PyMuPDF from generated content (any writing direction and page rotation,
any booktabs / HTML / shaded / ruled table shape, plots with legends, run-in headings, journal
lines, escaped markup) and converted; the answers are the generated content itself.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pymupdf
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from kbtools.pdf import layout
from kbtools.pdf.convert import convert, thin_pages
from kbtools.pdf.evaluate import norm
from kbtools.pdf.markdown import _escape, render
from kbtools.pdf.metadata import journal_line
from kbtools.pdf.structure import Heading, kb_summary_signals
from kbtools.pdf.text import markup_residue

SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
WORDS = ["cortex", "thickness", "sample", "cohort", "site", "model", "scanner", "signal",
         "variance", "genotype", "region", "estimate", "network", "motion", "encoder", "fold"]
NAMES = ["Baseline", "Northfield", "Imaging", "Genetic", "Ridge", "Fusion", "Control",
         "Patient", "Temporal", "Frontal", "Pooled", "Adjusted", "Lyon", "Halifax"]
words = st.lists(st.sampled_from(WORDS), min_size=6, max_size=14)
sentence = words.map(lambda w: " ".join(w).capitalize() + ".")


def _save(doc: pymupdf.Document, tmp_path: Path, name: str = "page.pdf") -> Path:
    path = tmp_path / name
    doc.save(path)
    doc.close()
    return path


def _text_of(path: Path) -> str:
    conv = convert(path)
    return norm(" ".join(p.text for p in conv.paragraphs if p.kind != "table"))


# -- rotated pages and rotated text: read in reading orientation, never silently empty -------

@SETTINGS
@given(page_rotation=st.sampled_from([0, 90, 180, 270]),
       text_rotation=st.sampled_from([0, 90, 180, 270]),
       paragraphs=st.lists(st.lists(sentence, min_size=3, max_size=5), min_size=2,
                           max_size=3))
def test_text_in_any_direction_on_any_page_rotation_is_read_in_order(
        tmp_path_factory: pytest.TempPathFactory, page_rotation: int, text_rotation: int,
        paragraphs: list[list[str]]) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    texts = [" ".join(p) for p in paragraphs]
    box = pymupdf.Rect(60, 60, 535, 782)
    left = page.insert_textbox(box, "\n\n".join(texts), fontname="helv", fontsize=10,
                               rotate=text_rotation)
    assume(left >= 0)  # the text fits the box
    page.set_rotation(page_rotation)
    path = _save(doc, tmp_path_factory.mktemp("rot"))
    conv = convert(path)
    out = norm(" ".join(p.text for p in conv.paragraphs))
    for text in texts:
        assert norm(text) in out
    assert not conv.thin_pages and not conv.warnings


def test_a_page_whose_text_is_lost_is_flagged_in_the_report_and_the_markdown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = pymupdf.open()
    for n in range(3):
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(60, 60, 535, 782),
                            " ".join([f"Page {n + 1} holds this sentence about the cortex."] * 30),
                            fontname="helv", fontsize=10)
    path = _save(doc, tmp_path)
    real = layout._frame_lines

    def lose_page_two(lines, matrix, number, unmapped):  # a reader that drops a page's text
        return [] if number == 2 else real(lines, matrix, number, unmapped)

    monkeypatch.setattr(layout, "_frame_lines", lose_page_two)
    conv = convert(path)
    assert list(conv.thin_pages) == [2]
    assert any("page 2" in w and "text layer" in w for w in conv.warnings)
    md = render(conv)
    assert "warnings:" in md.split("\n---\n")[0]
    after = md.split('<a id="page-2"></a>', 1)[1]
    assert after.split("\n\n")[1].startswith("> **Warning:** only 0 of the")


def test_thin_pages_count_words_left_out_on_purpose_as_output() -> None:
    page = layout.PageText(1, 595, 842, layer_words=100, dropped_words=80)
    assert thin_pages([page], []) == {}
    page.dropped_words = 10
    assert thin_pages([page], []) == {1: (0, 100)}
    assert thin_pages([layout.PageText(1, 595, 842, layer_words=20)], []) == {}


# -- tables: every shape of booktabs, HTML and ruled table, in any orientation ---------------

FONT = 9.0


def _width(text: str, bold: bool = False) -> float:
    return pymupdf.get_text_length(text, fontname="hebo" if bold else "helv", fontsize=FONT)


@st.composite
def tables(draw: st.DrawFn) -> dict:
    n_cols = draw(st.integers(2, 13))
    n_rows = draw(st.integers(2, 7))
    style = draw(st.sampled_from(["booktabs", "html", "shaded", "grid"]))
    group = draw(st.booleans()) and n_cols >= 5 and style == "booktabs"
    wrapped = draw(st.booleans()) and n_cols <= 8
    numbers = st.builds(lambda v, d, neg: f"{'-' if neg else ''}{v:.{d}f}",
                        st.floats(0, 999), st.integers(0, 2), st.booleans())
    header = [draw(st.sampled_from(NAMES))] + [f"{draw(st.sampled_from(NAMES))[:5]} {i}"
                                                for i in range(1, n_cols)]
    rows = []
    for r in range(n_rows):
        label = " ".join(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)))
        if wrapped and r % 2 == 0:
            label += " " + " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=3,
                                                   max_size=5)))
        rows.append([label] + [draw(numbers) for _ in range(n_cols - 1)])
    groups = [(f"Group {chr(65 + g)}", 1 + 2 * g, 2 + 2 * g) for g in range((n_cols - 1) // 2)
              ] if group else []
    return {"header": header, "rows": rows, "style": style, "groups": groups,
            "sideways": draw(st.booleans()), "wrap_at": 110.0}


def _lines_of(text: str, width: float) -> list[str]:
    out = [""]
    for w in text.split():
        if out[-1] and _width(out[-1] + " " + w) > width:
            out.append(w)
        else:
            out[-1] = f"{out[-1]} {w}".strip()
    return out


def _draw_table(spec: dict) -> pymupdf.Document:
    header, rows, style = spec["header"], spec["rows"], spec["style"]
    first_w = spec["wrap_at"]
    widths = [first_w] + [max(_width(header[i], True), *(_width(r[i]) for r in rows))
                          for i in range(1, len(header))]
    gap = 12.0
    x0 = 40.0
    xs = [x0]
    for w in widths[:-1]:
        xs.append(xs[-1] + w + gap)
    x1 = xs[-1] + widths[-1]
    width = max(x1 + 40, 400)
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=600)
    lead = 1.25 * FONT
    y = 60.0
    if style == "booktabs":
        page.insert_text((x0, y), "Table 1: Generated scores by site.", fontname="helv",
                         fontsize=FONT)
        y += 10

    def rule(y_: float, a: float = x0, b: float = x1, w: float = 0.5) -> None:
        page.draw_line((a, y_), (b, y_), width=w)

    def cell(i: int, text: str, y_: float, bold: bool = False) -> None:
        x = xs[i] if i == 0 else xs[i] + widths[i] - _width(text, bold)
        page.insert_text((x, y_), text, fontname="hebo" if bold else "helv", fontsize=FONT)

    top = y
    if style == "booktabs":
        rule(y, w=0.8)
    elif style == "grid":
        rule(y)
    y += 4
    if spec["groups"]:
        y += lead
        for name, a, b in spec["groups"]:
            mid = (xs[a] + xs[b] + widths[b]) / 2
            page.insert_text((mid - _width(name) / 2, y - 3), name, fontname="helv",
                             fontsize=FONT)
            rule(y, xs[a], xs[b] + widths[b], 0.4)
        y += 2
    y += lead
    for i, h in enumerate(header):
        cell(i, h, y - 3, bold=True)
    y += 3
    rule(y, w=0.5 if style == "booktabs" else 0.9)
    for r, row in enumerate(rows):
        label = _lines_of(row[0], first_w)
        band = lead * len(label) + 3
        if style == "shaded" and r % 2 == 1:
            page.draw_rect(pymupdf.Rect(x0, y, x1, y + band), color=None, fill=(0.9, 0.9, 0.9))
        for k, piece in enumerate(label):
            cell(0, piece, y + lead * (k + 1) - 3)
        for i in range(1, len(row)):
            cell(i, row[i], y + lead - 3)
        y += band
        if style in ("html", "grid") or r == len(rows) - 1:
            rule(y, w=0.8 if style == "booktabs" else 0.5)
    if style == "grid":
        for x in [x0 - gap / 2] + [xs[i] - gap / 2 for i in range(1, len(xs))] + [x1 + gap / 2]:
            page.draw_line((x, top), (x, y), width=0.5)
    if spec["sideways"]:  # the same table set sideways on an upright page
        out = pymupdf.open()
        target = out.new_page(width=600, height=width)
        target.show_pdf_page(target.rect, doc, 0, rotate=90)
        doc.close()
        return out
    return doc


def _expected(spec: dict) -> list[list[str]]:
    header = list(spec["header"])
    for name, a, b in spec["groups"]:
        for i in range(a, b + 1):
            header[i] = f"{name} {header[i]}"
    return [header] + [list(r) for r in spec["rows"]]


@SETTINGS
@given(spec=tables())
def test_generated_tables_come_out_cell_for_cell(tmp_path_factory: pytest.TempPathFactory,
                                                 spec: dict) -> None:
    path = _save(_draw_table(spec), tmp_path_factory.mktemp("tab"))
    conv = convert(path)
    found = [p.rows for p in conv.paragraphs if p.kind == "table"]
    assert found == [_expected(spec)]


@st.composite
def plots(draw: st.DrawFn) -> pymupdf.Document:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    x0, y0, x1, y1 = 80, 100, 480, 380
    page.draw_line((x0, y1), (x1, y1))
    page.draw_line((x0, y0), (x0, y1))
    if draw(st.booleans()):  # grid lines across the axes, evenly spaced
        for k in range(1, 6):
            page.draw_line((x0, y1 - k * 45), (x1, y1 - k * 45), color=(0.8, 0.8, 0.8))
            page.draw_line((x0 + k * 65, y0), (x0 + k * 65, y1), color=(0.8, 0.8, 0.8))
    for k in range(6):
        page.insert_text((x0 - 22, y1 - k * 45 + 3), f"{k * 0.2:.1f}", fontname="helv",
                         fontsize=8)
        page.insert_text((x0 + k * 65 - 6, y1 + 12), str(10 * k), fontname="helv", fontsize=8)
    n = draw(st.integers(1, 4))
    legend = pymupdf.Rect(x1 - 130, y0 + 10, x1 - 10, y0 + 16 + 14 * n)
    page.draw_rect(legend, color=(0, 0, 0), width=0.5)
    for s in range(n):
        ys = draw(st.lists(st.floats(y0 + 20, y1 - 5), min_size=5, max_size=9))
        pts = [pymupdf.Point(x0 + i * (x1 - x0) / (len(ys) - 1), v) for i, v in enumerate(ys)]
        page.draw_polyline(pts, color=(s / 4, 0, 1 - s / 4))
        if draw(st.booleans()):
            for p in pts:
                page.draw_circle(p, 2, color=(0, 0, 0), fill=(0, 0, 0))
        ly = legend.y0 + 12 + 14 * s
        page.draw_line((legend.x0 + 6, ly - 3), (legend.x0 + 26, ly - 3))
        page.insert_text((legend.x0 + 32, ly), draw(st.sampled_from(NAMES)), fontname="helv",
                         fontsize=8)
    page.insert_text((x0, y1 + 34), "Figure 1: Thickness by age in the generated groups.",
                     fontname="helv", fontsize=9)
    return doc


@SETTINGS
@given(doc=plots())
def test_plots_with_axes_grids_and_legends_never_become_tables(
        tmp_path_factory: pytest.TempPathFactory, doc: pymupdf.Document) -> None:
    conv = convert(_save(doc, tmp_path_factory.mktemp("plot")))
    assert not [p for p in conv.paragraphs if p.kind == "table"]


# -- run-in headings -------------------------------------------------------------------------

@SETTINGS
@given(lead=st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map(" ".join),
       mark=st.sampled_from(["", ".", ":"]), body=st.lists(sentence, min_size=4, max_size=6))
def test_a_bold_phrase_opening_a_paragraph_is_a_heading_unless_it_is_a_label(
        tmp_path_factory: pytest.TempPathFactory, lead: str, mark: str, body: list[str]
        ) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 300), " ".join(body * 2), fontname="helv",
                        fontsize=10)
    head = lead + mark
    y = 340
    page.insert_text((60, y), head, fontname="hebo", fontsize=10)
    x = 60 + pymupdf.get_text_length(head, "hebo", 10) + 8
    text = " ".join(body)
    first = _lines_of_at(text, 535 - x, 10)
    page.insert_text((x, y), first[0], fontname="helv", fontsize=10)
    rest = " ".join(first[1:])
    page.insert_textbox(pymupdf.Rect(60, y + 3, 535, 700), rest, fontname="helv", fontsize=10)
    conv = convert(_save(doc, tmp_path_factory.mktemp("runin")))
    heads = [h.text for h in conv.headings]
    if mark == ":":
        assert lead not in heads
    else:
        assert heads == [lead]
        i = next(i for i, p in enumerate(conv.paragraphs) if p.kind == "heading")
        assert norm(conv.paragraphs[i + 1].text).startswith(norm(first[0]))


def _lines_of_at(text: str, width: float, size: float) -> list[str]:
    out = [""]
    for w in text.split():
        if out[-1] and pymupdf.get_text_length(out[-1] + " " + w, "helv", size) > width:
            out.append(w)
        else:
            out[-1] = f"{out[-1]} {w}".strip()
    return out


# -- venue lines -----------------------------------------------------------------------------

JOURNAL_WORDS = ["International", "Psychogeriatrics", "Neural", "Plasticity", "Brain",
                 "Imaging", "Psychiatry", "Reports", "Genetics", "Translational", "Journal"]


@SETTINGS
@given(name=st.lists(st.sampled_from(JOURNAL_WORDS), min_size=1, max_size=4, unique=True)
       .map(" ".join), year=st.integers(1990, 2029),
       before=st.sampled_from(["", "Okafor et al. ", "Sato and Ueda "]),
       after=st.sampled_from([", 26:3, 401-412", " 19:214", ", 12 (4), e1023",
                              " \u00a9 The Authors"]),
       at_bottom=st.booleans())
def test_a_journal_line_in_the_margin_of_page_one_gives_venue_and_year(
        name: str, year: int, before: str, after: str, at_bottom: bool) -> None:
    line = f"{before}{name} ({year}){after}"
    y = 800.0 if at_bottom else 40.0
    page = layout.PageText(1, 595, 842, lines=[
        layout.Line(line, 60, y - 8, 400, y, 8, False, 1),
        layout.Line("A title of the generated paper", 60, 120, 500, 140, 18, True, 1)])
    assert journal_line(page) == (name, year)


def test_a_citation_in_the_body_is_no_journal_line() -> None:
    page = layout.PageText(1, 595, 842, lines=[
        layout.Line("Cortex (2019) 19:214 reported", 60, 400, 400, 410, 10, False, 1)])
    assert journal_line(page) is None


# -- markup a markdown-to-PDF route printed as text -------------------------------------------

TAGS = ["h1", "h3", "p", "br", "em", "strong", "span", "table", "td"]


@st.composite
def escaped_markup(draw: st.DrawFn) -> tuple[str, str]:
    """(text as printed on the page, the words a reader should see)."""
    parts, visible = [], []
    for _ in range(draw(st.integers(1, 5))):
        word = draw(st.sampled_from(WORDS + NAMES))
        tag = draw(st.sampled_from(TAGS))
        depth = draw(st.integers(0, 3))
        piece = f"<{tag}>{word}</{tag}>" if draw(st.booleans()) else word
        for _ in range(depth):
            piece = html.escape(piece, quote=False)
        parts.append(piece)
        visible.append(word)
    return " ".join(parts), " ".join(visible)


@settings(max_examples=200, deadline=None)
@given(case=escaped_markup())
def test_escaped_markup_at_any_depth_is_taken_out_and_escaped_once(case: tuple[str, str]
                                                                    ) -> None:
    printed, visible = case
    cleaned = markup_residue(printed)
    assert cleaned == visible
    md = _escape(cleaned)
    assert not re.search(r"&amp;(lt|gt|amp);|&lt;/?\w+&gt;", md)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"],
                                           blacklist_characters="*_\r\n\x0b\x0c\x85\u2028\u2029"),
                    max_size=60))
def test_any_pdf_text_reads_back_as_written_after_one_escape(text: str) -> None:
    """CommonMark renders the escaped text to exactly the text (no markup, no entity left)."""
    clean = markup_residue(text).strip()
    assume(clean and clean == " ".join(clean.split()))
    rendered = MarkdownIt("commonmark").renderInline(_escape(clean))
    assert "<" not in rendered.replace("&lt;", "")
    assert html.unescape(rendered) == clean


# -- KB summaries ----------------------------------------------------------------------------

SUMMARY_NAMES = ["Executive Summary", "Key Takeaways", "Why It Matters", "Open Questions",
                 "Methods at a Glance", "Relevance to Our KB", "Bottom Line", "TL;DR",
                 "Critique", "Main Findings", "Caveats"]
PAPER_NAMES = ["Introduction", "Methods", "Results", "Discussion", "Related Work",
               "Conclusion", "Limitations"]


@SETTINGS
@given(names=st.lists(st.sampled_from(SUMMARY_NAMES), min_size=2, max_size=6, unique=True),
       others=st.lists(st.sampled_from(PAPER_NAMES), max_size=3, unique=True),
       numbered=st.booleans())
def test_summary_section_names_are_recognised_numbered_or_not(
        names: list[str], others: list[str], numbered: bool) -> None:
    heads = [Heading(f"{i}. {n}" if numbered else n, 1, 1, numbered)
             for i, n in enumerate(names + others, start=1)]
    reasons = kb_summary_signals(heads, [[1, "Title", 1]], {"producer": "WeasyPrint 70.0"},
                                 False, False)
    assert reasons is not None and reasons[0].startswith("summary sections")


@SETTINGS
@given(others=st.lists(st.sampled_from(PAPER_NAMES), min_size=3, unique=True))
def test_a_paper_with_an_abstract_and_references_is_never_a_summary(others: list[str]) -> None:
    heads = [Heading(n, 1, 1, False) for n in ["Executive Summary", "Key Takeaways", *others,
                                                "References"]]
    assert kb_summary_signals(heads, [[1, "x", 1]], {}, False, True) is None


# -- reference lists -------------------------------------------------------------------------

@SETTINGS
@given(refs=st.lists(st.builds(lambda a, y, w: f"{a} {a[0]} ({y}). " + " ".join(w) + ".",
                               st.sampled_from(NAMES), st.integers(1990, 2024),
                               st.lists(st.sampled_from(WORDS + NAMES), min_size=6,
                                        max_size=40)), min_size=3, max_size=12),
       labelled=st.booleans(), first_flush=st.booleans())
def test_each_reference_comes_out_as_one_paragraph(
        tmp_path_factory: pytest.TempPathFactory, refs: list[str], labelled: bool,
        first_flush: bool) -> None:
    """Numbered or hanging-indent lists (the first entry after the heading possibly not
    outdented, as LaTeX sets it), entries of one to several lines."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 50), "A Generated Paper Title", fontname="hebo", fontsize=18)
    page.insert_textbox(pymupdf.Rect(60, 70, 535, 200), " ".join(WORDS * 4) + ".",
                        fontname="helv", fontsize=10)
    page.insert_text((60, 240), "References", fontname="hebo", fontsize=12)
    y, x, hang = 262.0, 60.0, 12.0
    texts = [f"[{i}] {r}" if labelled else r for i, r in enumerate(refs, start=1)]
    for i, text in enumerate(texts):
        for k, line in enumerate(_lines_of_at(text, 400, 9)):
            dx = hang if k or (i == 0 and first_flush and not labelled) else 0.0
            page.insert_text((x + dx, y), line, fontname="helv", fontsize=9)
            y += 11
        assume(y < 800)
    conv = convert(_save(doc, tmp_path_factory.mktemp("refs")))
    got = [p.text for p in conv.paragraphs if p.kind == "reference"]
    assert got == texts
