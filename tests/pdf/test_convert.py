"""Conversion of generated papers with known answers: metadata, layout, structure, failures."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from kbtools.pdf.convert import ConversionError, convert
from kbtools.pdf.markdown import render
from kbtools.yamlio import loads

from . import synthetic
from .conftest import SPECS


def _front_matter(md: str) -> dict:
    _, fm, _ = md.split("---\n", 2)
    return loads(fm)


def _full_text(md: str) -> str:
    return md.split("## Full text", 1)[1]


@pytest.mark.parametrize("name", ["two_column", "one_column", "info_doi_no_venue",
                                  "venue_in_header"])
def test_metadata_matches_the_generated_paper(converted, name: str) -> None:
    spec = SPECS[name]
    meta = converted(name).metadata
    assert meta.title == spec.title
    assert meta.authors == spec.authors
    assert meta.doi == spec.doi
    assert meta.arxiv == spec.arxiv
    assert meta.year == spec.year
    assert meta.venue == spec.venue


def test_provenance_names_each_source(converted) -> None:
    assert converted("two_column").metadata.provenance == {
        "title": "first-page layout", "authors": "first-page layout",
        "doi": "first-page regex", "arxiv": "arXiv stamp", "venue": "venue line",
        "year": "venue line"}
    one = converted("one_column").metadata.provenance
    assert one["doi"] == "XMP"
    assert one["title"] == "first-page layout (info dict title rejected as a slug)"
    info = converted("info_doi_no_venue").metadata.provenance
    assert info["doi"] == "info dict"
    assert info["year"] == "arXiv id"  # 2210.* -> 2022, not the stamp's 2023 version date
    assert info["venue"] == "DOI" or info["venue"] == "arXiv id"
    assert "rejected as a slug" in info["title"]  # "paper_final_v3.pdf"


def test_venue_running_header_gives_the_venue_and_leaves_the_text(converted) -> None:
    conv = converted("venue_in_header")
    assert conv.metadata.provenance["venue"] == "venue line"
    assert conv.metadata.year == 2025  # the venue line wins over the arXiv id (2024)
    assert "Published as a conference paper" not in _full_text(render(conv))


def test_year_never_comes_from_the_file_dates(converted, pdf_dir: Path) -> None:
    doc = pymupdf.open(pdf_dir / "no_year.pdf")
    assert doc.metadata["creationDate"].startswith("D:2099")
    meta = converted("no_year").metadata
    assert meta.year is None and "year" not in meta.provenance
    assert meta.doi == "10.5555/undated"


@pytest.mark.parametrize("name", ["two_column", "one_column"])
def test_headings_are_the_numbered_sections_in_order(converted, name: str) -> None:
    conv = converted(name)
    assert [h.text for h in conv.headings] == SPECS[name].headings
    assert [h.level for h in conv.headings] == SPECS[name].levels
    assert [h.numbered for h in conv.headings][-2:] == [False, False]  # from font statistics


def test_bullets_and_figure_labels_never_become_headings(converted) -> None:
    texts = [h.text for h in converted("two_column").headings]
    assert not any(t.startswith("\u2022") or re.match(r"(Fig|Figure|Table)\b", t) for t in texts)
    md = render(converted("two_column"))
    assert "\n- Sparse attention" in md  # still in the text, as a markdown list item
    assert not re.search(r"^#+ .*(Sparse attention|Figure 1)", md, re.MULTILINE)


def test_two_columns_are_read_left_then_right(converted, pdf_dir: Path) -> None:
    # on page 1 "3 Methods" heads the right column, higher up than "2 Related Work" on the
    # left: sorting lines by height alone would put it first
    page = pymupdf.open(pdf_dir / "two_column.pdf")[0]
    y = {h: page.search_for(h)[0].y0 for h in ("2 Related Work", "3 Methods")}
    assert y["3 Methods"] < y["2 Related Work"]
    full = _full_text(render(converted("two_column")))
    assert full.index("### 2 Related Work") < full.index("### 3 Methods")


def test_running_headers_and_page_numbers_are_removed(converted, pdf_dir: Path) -> None:
    raw = pymupdf.open(pdf_dir / "two_column.pdf")[1].get_text()
    assert "Synthetic Neurogenomics Preprint" in raw and re.search(r"^2$", raw, re.MULTILINE)
    full = _full_text(render(converted("two_column")))
    assert "Synthetic Neurogenomics Preprint" not in full
    body = [ln for ln in full.splitlines() if ln and not ln.startswith("<a id=")]
    assert not any(re.fullmatch(r"\d+", ln.strip()) for ln in body)


def test_hyphenated_line_ends_are_repaired(converted, pdf_dir: Path) -> None:
    raw = "\n".join(p.get_text() for p in pymupdf.open(pdf_dir / "two_column.pdf"))
    broken = re.findall(r"(\w+)-\n(\w+)", raw)
    assert any(a + b in synthetic.HYPHENATABLE for a, b in broken)  # the test means something
    md = render(converted("two_column"))
    for a, b in broken:
        if a + b in synthetic.HYPHENATABLE:
            assert f"{a}-{b}" not in md and f"{a}- {b}" not in md
            assert a + b in md


def test_ligatures_are_normalised(converted, pdf_dir: Path) -> None:
    page = pymupdf.open(pdf_dir / "two_column.pdf")[0]
    assert re.search("[\ufb00-\ufb06]", page.get_text(flags=pymupdf.TEXT_PRESERVE_LIGATURES))
    md = render(converted("two_column"))
    assert not re.search("[\ufb00-\ufb06]", md)
    assert "efficient" in md or "findings" in md


def test_abstract_caption_and_table(converted) -> None:
    conv = converted("two_column")
    assert conv.structure.abstract.startswith(conv.structure.abstract.split(".")[0])
    assert len(conv.structure.abstract.split(". ")) == 5  # five generated sentences
    assert (synthetic.FIGURE_CAPTION, 1) in conv.structure.captions
    assert any(c == synthetic.TABLE_CAPTION for c, _ in conv.structure.captions)
    tables = [p.markdown for p in conv.paragraphs if p.kind == "table"]
    assert len(tables) == 1
    rows = [r for r in tables[0].splitlines() if not r.startswith("| ---")]
    assert rows == ["| " + " | ".join(r) + " |" for r in synthetic.TABLE_ROWS]
    full = _full_text(render(conv))
    assert "Gene only 0.61" not in full  # the table's cells are not repeated as prose


def test_markdown_front_matter_and_sections(converted, pdf_dir: Path) -> None:
    conv = converted("two_column")
    md = render(conv)
    fm = _front_matter(md)
    assert fm["title"] == SPECS["two_column"].title
    assert fm["pages"] == pymupdf.open(pdf_dir / "two_column.pdf").page_count
    assert fm["source_sha256"] == conv.sha256 and len(conv.sha256) == 64
    assert fm["converter_version"].startswith("kbtools-pdf2md/")
    assert fm["kind"] == "paper"
    for section in ("## Abstract", "## Key sentences", "## Figures and tables", "## Full text"):
        assert section in md
    for page in range(1, fm["pages"] + 1):
        assert f'<a id="page-{page}"></a>' in md
    key = md.split("## Key sentences", 1)[1].split("## Figures", 1)[0]
    picked = re.findall(r"^\d+\. (.+) \(\[p\. (\d+)\]", key, re.MULTILINE)
    assert 3 <= len(picked) <= 8
    full = _full_text(md)
    for sentence, _ in picked:
        assert sentence in full  # extractive: sentences are quoted, not invented


def test_reference_list_is_kept_out_of_the_summary(converted) -> None:
    conv = converted("two_column")
    refs = [p.text for p in conv.paragraphs if p.kind == "reference"]
    assert refs == list(synthetic.REFERENCES)
    assert not any(s.startswith("[") for s, _ in conv.key_sentences)


def test_kb_summary_pdf_is_imported_not_summarised(converted) -> None:
    conv = converted("summary")
    assert conv.kind == "kb-summary"
    assert conv.key_sentences == []
    assert conv.metadata.title == "Sparse Encoders summary"
    assert [h.text for h in conv.headings] == [
        f"{i}. {n}" for i, n in enumerate(synthetic.SUMMARY_SECTIONS, start=1)]
    md = render(conv)
    assert "## Key sentences" not in md and "## 1. Summary" in md
    assert _front_matter(md)["kb_summary_recognised_by"][0].startswith("summary sections")


def test_papers_are_not_mistaken_for_kb_summaries(converted) -> None:
    for name in SPECS:
        assert converted(name).kind == "paper"


@pytest.mark.parametrize(("name", "reason"), [
    ("encrypted", "encrypted"), ("corrupt", "damaged: the file is cut short"),
    ("zero_pages", "no pages"), ("scanned", "no text layer")])
def test_unusable_pdfs_fail_with_their_reason(bad_dir: Path, name: str, reason: str) -> None:
    with pytest.raises(ConversionError, match=reason):
        convert(bad_dir / f"{name}.pdf")
