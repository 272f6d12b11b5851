"""Reading order, columns and running headers on hand-built lines (no PDF needed)."""

from __future__ import annotations

from kbtools.pdf.layout import Line, PageText, Paragraph, reading_order, strip_headers_footers
from kbtools.pdf.metadata import is_slug_title, similar
from kbtools.pdf.structure import heading_candidate


def _line(text: str, x0: float, y0: float, x1: float, page: int = 1) -> Line:
    return Line(text, x0, y0, x1, y0 + 10, 10.0, False, page, text)


def _two_columns(page: int = 1) -> list[Line]:
    title = _line("A title that spans both columns of the page", 60, 50, 550, page)
    left = [_line(f"left {i}", 60, 100 + 12 * i, 290, page) for i in range(8)]
    right = [_line(f"right {i}", 320, 100 + 12 * i, 550, page) for i in range(8)]
    wide = _line("a wide table between the bands", 60, 300, 550, page)
    left2 = [_line(f"lower left {i}", 60, 330 + 12 * i, 290, page) for i in range(4)]
    right2 = [_line(f"lower right {i}", 320, 330 + 12 * i, 550, page) for i in range(4)]
    return right2 + left + [wide] + right + left2 + [title]  # deliberately shuffled


def test_two_columns_read_column_by_column_within_bands() -> None:
    order = [ln.text for ln in reading_order(_two_columns(), 612)]
    expected = (["A title that spans both columns of the page"]
                + [f"left {i}" for i in range(8)] + [f"right {i}" for i in range(8)]
                + ["a wide table between the bands"]
                + [f"lower left {i}" for i in range(4)] + [f"lower right {i}" for i in range(4)])
    assert order == expected


def test_single_column_is_read_top_to_bottom() -> None:
    lines = [_line(f"line {i}", 60, 100 + 12 * i, 550 if i % 5 else 200) for i in range(12)]
    assert [ln.text for ln in reading_order(lines[::-1], 612)] == [f"line {i}" for i in range(12)]


def test_running_header_footer_and_page_numbers_go_body_stays() -> None:
    pages = []
    for n in range(1, 5):
        page = PageText(n, 612, 792)
        page.lines = [_line("Journal of Synthetic Results 12 (2024)", 60, 30, 400, n),
                      _line(f"Body text unique to page {n}", 60, 300, 500, n),
                      _line("Body text repeated in the middle", 60, 400, 500, n),
                      _line(str(n), 300, 760, 310, n)]
        pages.append(page)
    pages[0].lines.append(_line("Received 3 May; accepted 9 June", 60, 740, 300, 1))
    removed = strip_headers_footers(pages)
    assert removed == 8
    assert [ln.text for ln in pages[1].lines] == ["Body text unique to page 2",
                                                  "Body text repeated in the middle"]
    assert "Received 3 May; accepted 9 June" in [ln.text for ln in pages[0].lines]


def test_slug_and_file_name_titles_are_rejected() -> None:
    for bad in ("Brainlm", "untitled", "paper_final_v3.pdf", "Microsoft Word - draft.docx",
                "main"):
        assert is_slug_title(bad, "main")
    assert not is_slug_title("BrainLM: A foundation model for brain activity recordings")
    assert similar("Scalable models for  brain imaging", "Scalable Models for Brain Imaging.")
    assert not similar("Scalable models for brain imaging", "Genome language models")


def _para(text: str, size: float = 10.0, bold: bool = False) -> Paragraph:
    line = Line(text, 60, 100, 60 + 5 * len(text), 110, size, bold, 1, text)
    return Paragraph([line], 1, text=text)


def test_heading_rules_numbered_styled_and_never_labels_or_bullets() -> None:
    assert heading_candidate(_para("3.2 Imaging Encoder", bold=True), 10.0) == (2, True)
    assert heading_candidate(_para("IV. EXPERIMENTS", size=11), 10.0) == (1, True)
    assert heading_candidate(_para("2 Related Work"), 10.0) == (1, True)  # title-shaped
    assert heading_candidate(_para("Discussion", size=12), 10.0) == (None, False)
    for never in ("Fig. 2", "Figure 3", "Table 1", "Algorithm 1", "\u2022 Sparse attention",
                  "- Linear probes", "(a) Left panel", "1. we propose a new method.",
                  "UTCTime:", "Figure 1: Overview of the encoders."):
        assert heading_candidate(_para(never, size=12, bold=True), 10.0) is None, never
