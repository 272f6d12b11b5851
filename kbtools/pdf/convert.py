"""Convert one PDF: open it safely, lay out its text, find structure and metadata, summarise."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools import __version__
from kbtools.pdf import layout
from kbtools.pdf.metadata import Metadata, extract, info_dict, layout_title
from kbtools.pdf.structure import (
    Heading,
    Structure,
    analyse,
    heading_candidate,
    kb_summary_signals,
    paragraph_text,
    section_name,
    split_run_in_headings,
)
from kbtools.pdf.summarize import summarise
from kbtools.pdf.tables import table_markdown
from kbtools.pdf.text import markup_residue, resolve_breaks, sentences, vocabulary

#: Changes whenever the output for the same PDF would change; part of the cache key.
CONVERTER_VERSION = f"kbtools-pdf2md/{__version__}+3"
#: Fewer characters than this per page on average, with images present: a scan.
MIN_CHARS_PER_PAGE = 20


class ConversionError(Exception):
    """A PDF that cannot be converted; ``reason`` says why and what to do."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Conversion:
    """Everything extracted from one PDF."""

    source: Path
    sha256: str
    pages: int
    metadata: Metadata
    structure: Structure
    paragraphs: list[layout.Paragraph]
    kind: str = "paper"  # "paper" or "kb-summary"
    kb_summary_reasons: list[str] = field(default_factory=list)
    key_sentences: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    thin_pages: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def headings(self) -> list[Heading]:
        return self.structure.headings


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def truncated(path: Path) -> bool:
    """True when the file lacks the ``%%EOF`` marker a complete PDF ends with."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 2048))
        return b"%%EOF" not in fh.read()


def open_pdf(path: Path) -> Any:
    """Open ``path`` as a PDF or raise ConversionError naming the problem and the fix."""
    import pymupdf

    from kbtools.pdf import sniff

    kind = sniff.describe(path)
    if kind is not None:
        raise ConversionError(f"not a PDF: the file is {kind}; {sniff.advice(kind)}")
    pymupdf.no_recommend_layout()  # pymupdf_layout is non-commercial: never suggest it
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    cut = truncated(path)
    damaged = (f"damaged: the file is cut short ({path.stat().st_size:,} bytes, no end-of-file "
               "marker) and MuPDF could not recover its pages; download or copy it again")
    try:
        doc = pymupdf.open(path, filetype="pdf")
        count = doc.page_count
    except Exception as exc:  # noqa: BLE001 - MuPDF raises several types for damaged files
        if cut:
            raise ConversionError(damaged) from None
        raise ConversionError(f"not a readable PDF ({exc}); re-download or re-export it") from None
    if doc.needs_pass:
        doc.close()
        raise ConversionError("encrypted: the PDF needs a password; save a decrypted copy "
                              "(e.g. qpdf --decrypt) and convert that")
    if count == 0:
        doc.close()
        raise ConversionError(damaged if cut else "the PDF has no pages")
    return doc


def convert(path: Path, sha256: str | None = None, *, tables: bool = True,
            on_open: Callable[[int], None] | None = None) -> Conversion:
    """Convert the PDF at ``path``; raise ConversionError when it cannot be done.

    ``on_open(pages)`` is called once the page count is known (the batch's time limit is per
    page).
    """
    path = Path(path)
    sha = sha256 or sha256_file(path)
    doc = open_pdf(path)
    warnings: list[str] = []
    try:
        if on_open is not None:
            on_open(doc.page_count)
        pages = []
        unreadable: list[int] = []
        for i in range(doc.page_count):
            try:
                pages.append(layout.read_page(doc[i], i + 1, tables=tables))
            except Exception:  # noqa: BLE001 - a damaged page must not lose the others
                unreadable.append(i + 1)
                pages.append(layout.PageText(i + 1, 612.0, 792.0))
        n_chars = sum(_chars(part) for p in pages for part in [p, *p.blocks])
        empty = [p.number for p in pages if not p.lines and not p.tables]
        if truncated(path) or doc.is_repaired:
            lost = sorted(set(empty) | set(unreadable))
            if n_chars == 0:
                raise ConversionError(
                    f"damaged: the file is cut short ({path.stat().st_size:,} bytes, no "
                    "end-of-file marker) and no page has text left; download or copy it again")
            if lost:
                warnings.append(f"the file is damaged (cut short or repaired by MuPDF): "
                                f"{_ranges(lost)} came out empty; download or copy it again")
        elif unreadable:
            warnings.append(f"{_ranges(unreadable)} could not be read and came out empty")
        if n_chars == 0 and not any(p.n_images for p in pages):
            raise ConversionError("blank: no page has text or images (an empty export?); "
                                  "check the file opens with content in a PDF viewer")
        if n_chars < MIN_CHARS_PER_PAGE * len(pages) and any(p.n_images for p in pages):
            raise ConversionError("no text layer (scanned or image-only pages); run OCR "
                                  "first, e.g. ocrmypdf, then convert the result")
        if empty and len(empty) < len(pages) and not warnings:
            images = {p.number for p in pages if p.n_images}
            scanned = [n for n in empty if n in images]
            if scanned:
                warnings.append(f"{_ranges(scanned)} only hold images (scanned?); their text "
                                "is missing unless OCR is run first")
        unmapped: Counter[str] = Counter()
        for p in pages:
            unmapped.update(p.unmapped)
        if unmapped:
            fonts = ", ".join(sorted(unmapped))
            n = sum(unmapped.values())
            warnings.append(f"{n} symbol{'s have' if n > 1 else ' has'} no Unicode mapping in "
                            f"the PDF's fonts ({fonts}; often maths), shown as \ufffd")
        toc = doc.get_toc(simple=True)
        info = info_dict(doc)
        # metadata first: a venue line is often a running header ("Published at ICLR 2024")
        meta = extract(doc, pages[0], path.stem, toc)
        layout.strip_headers_footers(pages)
    finally:
        doc.close()
    conv = _analyse(path, sha, pages, meta, toc, info)
    thin = thin_pages(pages, conv.paragraphs)
    if thin:
        conv.thin_pages = thin
        warnings.append(f"{_ranges(sorted(thin))} came out with far fewer words than the "
                        "page's text layer holds (" + ", ".join(
                            f"p. {n}: {got} of {layer}" for n, (got, layer) in sorted(
                                thin.items())) + "); check them against the PDF")
    conv.warnings = warnings
    return conv


#: A page is flagged when its output holds less than this share of its text layer's words.
THIN_PAGE_SHARE = 0.5
#: ... and its text layer holds at least this many words.
THIN_PAGE_MIN_WORDS = 40


def thin_pages(pages: list[layout.PageText], paras: list[layout.Paragraph]
               ) -> dict[int, tuple[int, int]]:
    """Pages whose output words fall far below their text layer's: {page: (out, layer)}.

    Words taken out on purpose (running headers, page numbers, labels inside figures, short
    rotated stamps) count as output; everything else that vanished is a loss to report.
    """
    got: Counter[int] = Counter()
    for p in paras:
        if p.kind == "table":
            got[p.page] += sum(len(c.split()) for r in p.rows for c in r)
            for page, n in p.words_on.items():  # rows continued from the next pages
                got[page] += n
                got[p.page] -= n
        else:  # by line: a paragraph may run on from one page to the next
            for ln in p.lines:
                got[ln.page] += len(ln.text.split())
    out = {}
    for page in pages:
        total = got[page.number] + page.dropped_words
        if page.layer_words >= THIN_PAGE_MIN_WORDS and total < THIN_PAGE_SHARE * page.layer_words:
            out[page.number] = (got[page.number], page.layer_words)
    return out


def _chars(page: layout.PageText) -> int:
    """Characters a page contributes: its lines and its tables' cells."""
    return sum(len(ln.text) for ln in page.lines) + sum(
        len(c) for t in page.tables for r in t.rows for c in r)


def _ranges(numbers: list[int]) -> str:
    """"page 3", "pages 4-13", "pages 2, 5-6"."""
    parts: list[str] = []
    run: list[int] = []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    word = "page" if len(numbers) == 1 else "pages"
    return f"{word} {', '.join(parts)}"


def _analyse(path: Path, sha: str, pages: list[layout.PageText], meta: Metadata,
             toc: list[list[Any]], info: dict[str, str]) -> Conversion:
    body = layout.body_font_size(pages)
    gap = layout.line_gap_ratio(pages)
    paras: list[layout.Paragraph] = []
    for page in pages:
        for part in [page, *page.blocks]:  # the page, then its rotated blocks
            items = part.lines + [t.lines[0] for t in part.tables]
            paras.extend(layout.paragraphs(layout.reading_order(items, part.width), body, gap))
    for p in paras:
        if p.kind == "text":
            p.text = markup_residue(paragraph_text(p))
    paras = [p for p in paras if p.kind != "text" or p.text]
    paras = _join_column_breaks(paras)
    paras = _join_continued_tables(paras)
    paras = split_run_in_headings(paras, body)
    vocab = vocabulary([p.text for p in paras])
    for p in paras:
        p.text = resolve_breaks(p.text, vocab)
    _mark_front(paras, pages[0], body)
    st = analyse(paras, body)
    conv = Conversion(path, sha, len(pages), meta, st, paras)
    reasons = kb_summary_signals(st.headings, toc, info, meta.provenance.get("arxiv") ==
                                 "arXiv stamp", st.abstract_labelled)
    if reasons:
        conv.kind, conv.kb_summary_reasons = "kb-summary", reasons
        if meta.title is None and toc:
            meta.title, meta.provenance["title"] = str(toc[0][1]), "outline"
    else:
        pool = [(s, p.page) for p in paras if p.kind == "text" for s in sentences(p.text)]
        conv.key_sentences = summarise(pool)
    return conv


def _join_continued_tables(paras: list[layout.Paragraph]) -> list[layout.Paragraph]:
    """A table continued on the next page (its header repeated) joined to its first part."""
    out: list[layout.Paragraph] = []
    last_table: layout.Paragraph | None = None
    for p in paras:
        if (p.kind == "table" and last_table is not None and p.page == last_table.page + 1
                and p.rows and last_table.rows and p.rows[0] == last_table.rows[0]):
            last_table.rows.extend(p.rows[1:])
            last_table.markdown = table_markdown(last_table.rows)
            last_table.words_on[p.page] = sum(len(c.split()) for r in p.rows for c in r)
            continue
        if p.kind == "table":
            last_table = p
        elif p.kind == "text" and p.page != (last_table.page if last_table else -1):
            last_table = None if len(p.text.split()) > 12 else last_table
        out.append(p)
    return out


def _runs_full(p: layout.Paragraph) -> bool:
    """The paragraph's last line is as long as its others: the page broke it mid-way."""
    if len(p.lines) < 2:
        return False
    return p.lines[-1].x1 >= 0.97 * max(ln.x1 for ln in p.lines[:-1])


def _join_column_breaks(paras: list[layout.Paragraph]) -> list[layout.Paragraph]:
    """Rejoin a paragraph that a column or page break cut in two (unfinished sentence, the
    rest starting in lower case)."""
    out: list[layout.Paragraph] = []
    for p in paras:
        prev = out[-1] if out else None
        if (prev is not None and prev.kind == p.kind == "text"
                and (prev.page == p.page and p.lines[0].y0 < prev.lines[-1].y0
                     or p.page == prev.page + 1)
                and abs(prev.size - p.size) < 0.3 and prev.bold == p.bold
                and not layout.TABLE_OR_FIGURE.match(p.text)
                and (p.text[:1].islower() and not prev.text.rstrip().endswith(
                    (".", ":", "!", "?")) or p.page == prev.page + 1 and _runs_full(prev))):
            prev.lines.extend(p.lines)
            prev.text = paragraph_text(prev)
            continue
        out.append(p)
    return out


def _mark_front(paras: list[layout.Paragraph], first: layout.PageText, body: float) -> None:
    """Label page-1 title lines "title" and the author/affiliation block under them "front"."""
    found = layout_title(first)
    if not found:
        return
    title_ids = {id(ln) for ln in found[1]}
    bottom = max(ln.y1 for ln in found[1])
    top = min(ln.y0 for ln in found[1])
    cutoff = None
    for p in paras:
        if p.page != 1:
            break
        if any(id(ln) in title_ids for ln in p.lines):
            p.kind = "title"
            continue
        if p.lines[0].y0 < top and p.kind == "text" and not layout.TABLE_OR_FIGURE.match(p.text):
            p.kind = "front"  # a journal banner, a kicker ("Research Article") over the title
            continue
        if p.lines[0].y0 < bottom:
            continue
        words = len(p.text.split())
        cand = heading_candidate(p, body)
        if (re.match(r"^\s*abstract\b", p.text, re.IGNORECASE) or words >= 30
                or cand is not None and (cand[1] or section_name(p.text))):
            cutoff = p.lines[0].y0 if cutoff is None else min(cutoff, p.lines[0].y0)
    for p in paras:
        if p.page != 1:
            break
        first = p.lines[0].y0
        if p.kind == "text" and first >= bottom and (cutoff is None or first < cutoff):
            p.kind = "front"


def card_summary(conv: Conversion) -> str:
    """A short summary for a drafted card: the summary section, the abstract or key sentences."""
    if conv.kind == "kb-summary":
        paras = conv.paragraphs
        for i, p in enumerate(paras):
            if p.kind == "heading" and re.search(r"summary|tl;?\s?dr|overview", p.text, re.I):
                texts = [q.text for q in paras[i + 1:i + 4] if q.kind == "text"]
                if texts:
                    return " ".join(sentences(texts[0])[:3])
    if conv.structure.abstract:
        return " ".join(sentences(conv.structure.abstract)[:2])
    if conv.key_sentences:
        return " ".join(s for s, _ in conv.key_sentences[:2])
    body = [p.text for p in conv.paragraphs if p.kind == "text" and p.text]
    return " ".join(sentences(body[0])[:2]) if body else ""
