"""The logical structure of a paper: headings and levels, abstract, captions, references.

Headings come from two kinds of evidence and never from bullets or figure labels:

* numbered section patterns ("3", "3.1", "IV.", "A.1") on a short line of their own, styled
  (larger or bold) or title-shaped (no final full stop, a few capitalised words);
* font statistics: short lines clearly larger than the body text, or bold lines of body size,
  whose level is matched to the sizes of the numbered headings (or ranked by size).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from kbtools.pdf.layout import Paragraph
from kbtools.pdf.text import join_lines, resolve_breaks

_ARABIC = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(?P<title>[A-Z(].{0,110})$")
_ROMAN = re.compile(r"^(?P<num>[IVX]{1,5})\.\s+(?P<title>[A-Z].{0,110})$")
_LETTER = re.compile(r"^(?:Appendix\s+)?(?P<num>[A-H](?:\.\d{1,2}){0,2})[.:]?\s+"
                     r"(?P<title>[A-Z].{0,110})$")
_LABEL = re.compile(r"^\s*(fig(?:ure)?s?|tab(?:le)?|algorithm|listing|eq(?:uation)?|box|"
                    r"panel|chart|plate|scheme)\.?\s*(S?\d+|[IVX]+)\b", re.IGNORECASE)
_CAPTION = re.compile(r"^\s*(?:(?i:fig(?:ure)?\.?|table|tab\.|supplementary (?:figure|table))\s*"
                      r"(?:S?\d+|[IVX]+)[a-z]?(?:\s*[:.|\u2014\u2013-]\s*\S|\s+[A-Z(])"
                      r"|(?:TABLE|FIGURE|FIG\.)\s+(?:\d+|[IVX]+)\s+[A-Z(])")
_BULLET = re.compile(r"^\s*([\u2022\u25e6\u25aa\u25cf\u2023\u2043\u00b7\u2219\u25a0\u25a1"
                     r"\u2013\u2014\u27a2\u2713\u2714\u25b8\u25ba*+>-]|\(?[a-z0-9ivx]{1,3}\))")
KNOWN_SECTIONS = re.compile(
    r"^(abstract|introduction|related work|background|preliminaries|methods?|materials and "
    r"methods|methodology|approach|experiments?|experimental setup|results|results and "
    r"discussion|evaluation|discussion|conclusions?|conclusion and future work|limitations|"
    r"future work|references|bibliography|acknowledge?ments?|appendix|appendices|supplementary"
    r" (material|information)|data availability|code availability|ethics statement|author "
    r"contributions|competing interests|broader impact)$", re.IGNORECASE)
#: Labels of the front matter that are not sections.
FRONT_LABELS = re.compile(r"^(keywords?|key words|index terms|ccs concepts|acm reference format|"
                          r"highlights|in brief|graphical abstract|additional key words and "
                          r"phrases|subjects|open access|(research|original|review) article|"
                          r"original (research|investigation)|research paper|brief report|"
                          r"short communication|case report|correspondence|"
                          r"(how to )?cite this article)$",
                          re.IGNORECASE)
_AFFILIATION = re.compile(r"univ|institut|department|dept\.|hospital|cent(er|re)\b|laborator|"
                          r"school of|college|@", re.IGNORECASE)
REFERENCES = re.compile(r"^(references|bibliography|literature cited)$", re.IGNORECASE)


@dataclass
class Heading:
    text: str
    level: int
    page: int
    numbered: bool


@dataclass
class Structure:
    """What the structure pass found, paragraphs annotated in place."""

    headings: list[Heading] = field(default_factory=list)
    abstract: str = ""
    abstract_labelled: bool = False
    captions: list[tuple[str, int]] = field(default_factory=list)
    references_from: int | None = None  # index of the first reference paragraph


def paragraph_text(p: Paragraph) -> str:
    return join_lines([ln.text for ln in p.lines])


def _number_of(text: str) -> tuple[str, str] | None:
    for pattern in (_ARABIC, _ROMAN, _LETTER):
        m = pattern.match(text)
        if m:
            return m.group("num"), m.group("title")
    return None


def _depth(num: str) -> int:
    if re.fullmatch(r"[IVX]+", num):
        return 1
    if re.fullmatch(r"[A-H]", num):
        return 2
    return num.count(".") + 1


def heading_candidate(p: Paragraph, body: float) -> tuple[int | None, bool] | None:
    """(depth of numbering or None, numbered?) when ``p`` reads as a heading, else None."""
    text = p.text.strip()
    words = text.split()
    if p.kind != "text" or len(p.lines) > 2 or not 1 <= len(words) <= 16 or len(text) > 130:
        return None
    if sum(c.isalpha() for c in text) < 3 or _BULLET.match(text) or _LABEL.match(text):
        return None
    if text.endswith((",", ";")) or _CAPTION.match(text):
        return None
    styled = p.size >= body + 0.9 or (p.bold and p.size >= body - 1.0)
    numbered = _number_of(text)
    if numbered:
        num, title = numbered
        if re.fullmatch(r"[A-H]", num) and not (styled or p.italic):
            return None
        if num.isdigit() and int(num) > 30:
            return None  # "2024 Something" or a numeric cell, not a section
        if "," in title and _AFFILIATION.search(title):
            return None  # "1 University of ..., City": an affiliation with its marker
        shaped = (len(p.lines) == 1 and not title.rstrip().endswith(".") and len(words) <= 10
                  and not re.search(r"\d\s*$", title) and title[:1].isupper())
        if styled or shaped or (p.italic and len(p.lines) == 1 and len(words) <= 10):
            return _depth(num), True
        return None
    bare = text.rstrip(":.").strip()
    if FRONT_LABELS.match(bare) or re.match(r"^(index terms|key ?words?)\b", bare, re.I):
        return None
    if KNOWN_SECTIONS.match(bare) and (styled or bare.isupper()
                                       or all(ln.caps for ln in p.lines)):
        return None, False
    if styled and not text.endswith((".", ":")) and text[:1].isupper() and len(words) <= 12:
        return None, False
    if (p.italic and len(p.lines) == 1 and len(words) <= 8 and text[:1].isupper()
            and not text.endswith((".", ":")) and p.size >= body - 0.6):
        return None, False  # an italic heading on a line of its own
    return None


def analyse(paras: list[Paragraph], body: float) -> Structure:
    """Mark headings, captions, the abstract and references; return what was found."""
    st = Structure()
    for p in paras:
        if p.kind == "text" and not p.text:
            p.text = paragraph_text(p)
    _join_caption_labels(paras)
    found: list[tuple[Paragraph, int | None, bool]] = []
    for p in paras:
        if p.kind != "text":
            continue
        if _CAPTION.match(p.text):
            p.kind = "caption"
            st.captions.append((p.text, p.page))
            continue
        cand = heading_candidate(p, body)
        if cand is not None:
            found.append((p, *cand))
    found = _drop_side_by_side(found)
    # sizes of numbered headings by depth, for placing unnumbered ones
    by_depth: dict[int, list[float]] = defaultdict(list)
    for p, depth, numbered in found:
        if numbered and depth:
            by_depth[depth].append(p.size)
    depth_size = {d: median(s) for d, s in by_depth.items()}
    free_styles = sorted({_style(p) for p, _, numbered in found if not numbered},
                         reverse=True)
    for p, depth, numbered in found:
        bare = p.text.rstrip(":.").strip()
        if re.fullmatch(r"abstract", bare, re.IGNORECASE):
            p.kind = "abstract-label"
            continue
        if numbered and depth:
            level = depth
        elif KNOWN_SECTIONS.match(bare) and _style(p) >= free_styles[0]:
            level = 1  # a known section name in the largest style of the headings
        elif depth_size:
            level = min(depth_size, key=lambda d: (abs(depth_size[d] - p.size), d))
        else:
            level = free_styles.index(_style(p)) + 1
        p.kind, p.level = "heading", min(level, 4)
        st.headings.append(Heading(p.text, p.level, p.page, numbered))
    _run_in_levels(paras)
    st.headings = [Heading(p.text, p.level, p.page, _number_of(p.text) is not None)
                   for p in paras if p.kind == "heading"]
    _abstract(paras, st)
    for i, p in enumerate(paras):
        if p.kind == "heading" and REFERENCES.match(p.text.rstrip(":.").strip()):
            st.references_from = i + 1
            for q in paras[i + 1:]:
                if q.kind == "heading" and q.level <= p.level:
                    break
                if q.kind == "text":
                    q.kind = "reference"
            break
    join_references(paras)
    return st


def split_run_in_headings(paras: list[Paragraph], body: float) -> list[Paragraph]:
    """A bold phrase that opens a paragraph ("**Participants** The cohort ...", "**Results.**
    We ...") becomes a heading of its own (kind ``run-in``) followed by the paragraph's text.

    Labels ending in a colon ("Background:" in a structured abstract, "Keywords:"), figure
    and table labels, front-matter labels and phrases of more than eight words stay text.
    """
    out: list[Paragraph] = []
    for i, p in enumerate(paras):
        first = p.lines[0] if p.lines else None
        nxt = paras[i + 1] if i + 1 < len(paras) else None
        if (p.kind == "text" and len(p.lines) == 1 and p.bold and nxt is not None
                and nxt.kind == "text" and nxt.page == p.page and nxt.lines
                and abs(nxt.lines[0].y1 - p.lines[0].y1) < 0.35 * p.size
                and 0 < nxt.lines[0].x0 - p.lines[0].x1 < 2.5 * p.size
                and len(nxt.text.split()) >= 8
                and 1 <= len(p.text.split()) <= 8 and not p.text.rstrip().endswith(":")
                and not _LABEL.match(p.text) and not FRONT_LABELS.match(p.text.strip(". "))):
            p.kind, p.text = "run-in", p.text.rstrip(". \u2014\u2013").strip()  # set apart
            out.append(p)
            continue
        if p.kind != "text" or first is None or not first.bold_lead:
            out.append(p)
            continue
        lead = first.text[:first.bold_lead].strip()
        title = lead.rstrip(". \u2014\u2013").strip()
        rest = p.text[len(lead):].lstrip() if p.text.startswith(lead) else ""
        if (lead.endswith(":") or not 1 <= len(title.split()) <= 8 or len(title) > 80
                or len(rest.split()) < 3 or not title[:1].isupper() or _LABEL.match(title)
                or _CAPTION.match(p.text) or FRONT_LABELS.match(title)
                or re.match(r"^(abstract|summary|index terms|key ?words?)\b", title, re.I)
                or sum(c.isalpha() for c in title) < 3):
            out.append(p)
            continue
        out.append(Paragraph([first], p.page, kind="run-in", text=title))
        p.text = rest
        out.append(p)
    return out


def _run_in_levels(paras: list[Paragraph]) -> None:
    """Run-in headings become headings one level below the section they sit in."""
    level = 1
    for p in paras:
        if p.kind == "heading":
            level = p.level
        elif p.kind == "run-in":
            p.kind, p.level = "run-in heading", min(4, level + 1)
    for p in paras:
        if p.kind == "run-in heading":
            p.kind = "heading"


#: "Adler B (2013).", "Quist N, Farah H", "Adler, B. (2013)": a reference's first author.
_AUTHOR_START = re.compile(r"^[A-Z][a-z'\-]+,? [A-Z]{1,3}\.?[ ,(]")
_REF_LABEL = re.compile(r"^\s*(\[\d{1,3}\]|\d{1,3}\.)\s")


def join_references(paras: list[Paragraph]) -> None:
    """Lines of one reference that the layout cut apart joined again, in place.

    Numbered lists ("[12]", "12.") start each reference with its label; author-year lists
    hang their continuation lines (indented against the first line of each reference).
    """
    split: list[Paragraph] = []
    for p in paras:  # a reference run into the next one: cut where a line steps back out
        if p.kind != "reference" or len(p.lines) < 2:
            split.append(p)
            continue
        cuts = [i for i in range(1, len(p.lines)) if p.lines[i].page == p.lines[i - 1].page
                and (p.lines[i].x0 < p.lines[i - 1].x0 - 3 and i > 1
                     and p.lines[i].x0 < min(ln.x0 for ln in p.lines[:i]) - 3
                     or p.lines[i - 1].text.rstrip().endswith(".")
                     and (_AUTHOR_START.match(p.lines[i].text)
                          or _REF_LABEL.match(p.lines[i].text)))]
        if not cuts:
            split.append(p)
            continue
        starts = [0]  # where each piece begins in the text (already mended with the vocabulary)
        for i in cuts:
            at = p.text.find(p.lines[i].text[:20].strip(), starts[-1] + 1)
            starts.append(at if at > starts[-1] else -1)
        for k, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(p.lines)], strict=True)):
            piece = Paragraph(p.lines[a:b], p.lines[a].page, kind="reference")
            if -1 in starts:
                piece.text = resolve_breaks(paragraph_text(piece), Counter())
            else:
                end = starts[k + 1] if k + 1 < len(starts) else len(p.text)
                piece.text = p.text[starts[k]:end].strip()
            split.append(piece)
    paras[:] = split
    refs = [i for i, p in enumerate(paras) if p.kind == "reference"]
    if len(refs) < 2:
        return
    labelled = sum(bool(_REF_LABEL.match(paras[i].text)) for i in refs) >= 0.5 * len(refs)
    drop: set[int] = set()
    prev: Paragraph | None = None
    for i in refs:
        q = paras[i]
        if prev is not None and prev.page == q.page:
            if labelled:
                continues = not _REF_LABEL.match(q.text)
            else:
                column = [paras[j].x0 for j in refs if paras[j].page == q.page
                          and abs(paras[j].x0 - q.x0) < 30]
                continues = q.x0 > min(column) + 2
            if continues:
                prev.lines.extend(q.lines)
                prev.text = join_lines([prev.text, q.text])
                drop.add(i)
                continue
        prev = q
    paras[:] = [p for i, p in enumerate(paras) if i not in drop]


_LABEL_ONLY = re.compile(r"^\s*(table|tab\.|fig(ure)?\.?)\s*(S?\d+|[IVX]+)[.:]?\s*$", re.I)


def _join_caption_labels(paras: list[Paragraph]) -> None:
    """"TABLE I" on a line of its own and the caption under it (IEEE) become one caption."""
    i = 0
    while i < len(paras) - 1:
        p, q = paras[i], paras[i + 1]
        if (p.kind == q.kind == "text" and p.page == q.page and _LABEL_ONLY.match(p.text)
                and q.text and len(q.text.split()) <= 60 and 0 <= q.y0 - p.lines[-1].y1 < 20):
            p.lines.extend(q.lines)
            p.text = f"{p.text.strip().rstrip('.:')}: {q.text}"
            del paras[i + 1]
        i += 1


def _style(p: Paragraph) -> tuple[float, bool]:
    """How prominent a heading is set: size first, then weight (bold over italic)."""
    return round(p.size * 2) / 2, p.bold


def _drop_side_by_side(found: list[tuple[Paragraph, int | None, bool]]
                       ) -> list[tuple[Paragraph, int | None, bool]]:
    """Unnumbered "headings" sharing a baseline with others close beside them are table or
    figure cells (two headings a column apart, "Abstract" beside "1 Introduction", stay)."""
    rows: dict[tuple[int, int], list[Paragraph]] = defaultdict(list)
    for p, _, _ in found:
        rows[(p.page, round(p.lines[0].y1 / 3))].append(p)

    def cell(p: Paragraph) -> bool:
        others = [q for q in rows[(p.page, round(p.lines[0].y1 / 3))] if q is not p]
        if len(others) >= 2:
            return True
        return any(min(abs(q.x0 - max(ln.x1 for ln in p.lines)),
                       abs(p.x0 - max(ln.x1 for ln in q.lines))) < 4 * p.size for q in others)

    return [(p, d, numbered) for p, d, numbered in found if numbered or not cell(p)]


def _abstract(paras: list[Paragraph], st: Structure) -> None:
    for i, p in enumerate(paras):
        if p.page > 2:
            break
        if p.kind == "abstract-label":
            start, lead = i + 1, ""
        elif p.kind == "text" and re.match(r"^\s*abstract\b\s*[.:\u2014\u2013-]?\s*\S", p.text,
                                           re.IGNORECASE):
            start = i + 1
            lead = re.sub(r"^\s*abstract\b\s*[.:\u2014\u2013-]?\s*", "", p.text,
                          flags=re.IGNORECASE)
            p.kind = "abstract"
        else:
            continue
        parts = [lead] if lead else []
        label_left, label_right = p.x0, max(ln.x1 for ln in p.lines)
        for q in paras[start:]:
            if q.kind != "text" or re.match(r"^(keywords|index terms|subjects)\b", q.text, re.I):
                break
            if q.x0 > label_right + 10 or max(ln.x1 for ln in q.lines) < label_left - 10:
                continue  # a note in the margin beside the abstract
            parts.append(q.text)
            q.kind = "abstract"
            if sum(len(x.split()) for x in parts) > 350:
                break
        st.abstract = _cut_keywords(" ".join(parts))
        st.abstract_labelled = True
        return
    _unlabelled_abstract(paras, st)


def _cut_keywords(text: str) -> str:
    """The abstract without a keyword list run in after it ("Index Terms—...")."""
    return re.split(r"\s(?:Index Terms|Keywords|Key words|KEYWORDS)\s*[\u2014\u2013:.-]", text)[0]


def _unlabelled_abstract(paras: list[Paragraph], st: Structure) -> None:
    """No "Abstract" label: the first long paragraph right after the title block on page 1
    (revtex sets it unlabelled, journals often in a box) when no heading comes first."""
    start = None
    for i, p in enumerate(paras):
        if p.page > 1:
            return
        if p.kind in ("title", "front"):
            start = i + 1
            continue
        if start is None:
            continue
        if p.kind == "heading":
            return
        if p.kind == "text" and len(p.text.split()) >= 50:
            parts = []
            for q in paras[i:]:
                if q.kind != "text" or q.page > 1 or re.match(r"^(keywords|index terms)\b",
                                                              q.text, re.I):
                    break
                parts.append(q.text)
                q.kind = "abstract"
                if sum(len(x.split()) for x in parts) > 300:
                    break
            st.abstract = _cut_keywords(" ".join(parts))
            return


# -- KB summaries rendered from markdown ---------------------------------------------------

#: Words that name the sections of a summary, anywhere in a section's name ("Executive
#: Summary", "Key Takeaways", "Why It Matters for Us", "Relevance for the Gene Branch").
SUMMARY_TERMS = re.compile(
    r"\b(summary|tl;?\s?dr|overview|at a glance|key (contributions?|findings|points|results|"
    r"ideas|takeaways)|main (contributions?|findings|results|points)|takeaways?|relevan(ce|t)|"
    r"why it matters|bottom line|open questions|critique|strengths|weaknesses|caveats|"
    r"implications|what we should|notes for|recommendations|limitations|methods?|approach|"
    r"results|datasets?|data sources|citation|background)\b", re.IGNORECASE)
#: The terms a paper's own sections rarely use.
DISTINCTIVE = re.compile(
    r"^summary$|\b(executive summary|tl;?\s?dr|at a glance|key (contributions?|findings|points|"
    r"takeaways)|takeaways?|main (contributions?|findings|points)|relevan(ce|t) (to|for)|"
    r"kb relevance|why it matters|bottom line|open questions|critique|what we should|notes for|"
    r"implications for|caveats)\b", re.IGNORECASE)


def section_name(text: str) -> bool:
    """Whether ``text`` reads as a section name of a paper or a summary."""
    bare = _number_of(text.strip())
    name = (bare[1] if bare else text).strip().rstrip(":.")
    return bool(KNOWN_SECTIONS.match(name) or SUMMARY_TERMS.search(name)) and len(
        name.split()) <= 8


MARKDOWN_RENDERERS = re.compile(r"pandoc|weasyprint|wkhtmltopdf|typst|skia/pdf|markdown|"
                                r"obsidian|marp|mkdocs|quarto", re.IGNORECASE)


def kb_summary_signals(headings: list[Heading], toc: list[list[Any]], info: dict[str, str],
                       has_arxiv_stamp: bool, abstract_labelled: bool) -> list[str] | None:
    """Reasons to treat the PDF as an existing KB summary, or None when it reads as a paper.

    A summary has at least two sections (numbered or not) whose names hold a summary term
    ("Executive Summary", "Methods at a Glance"), at least one of them a term papers rarely
    use ("Key Takeaways", "Why It Matters", "Relevance for ..."), an outline or a
    markdown-to-PDF producer, no arXiv stamp, and not both an abstract and a reference list.
    """
    names = [(n[1] if n else h.text).strip().rstrip(":.")
             for h in headings for n in [_number_of(h.text)]]
    vocab = [name for name in names if SUMMARY_TERMS.search(name) and len(name.split()) <= 8]
    distinctive = [name for name in vocab if DISTINCTIVE.search(name)]
    has_references = any(REFERENCES.match(h.text.rstrip(":.").strip()) for h in headings)
    producer = " ".join(info.get(k, "") for k in ("producer", "creator"))
    if has_arxiv_stamp or (abstract_labelled and has_references):
        return None
    if len(vocab) < 2 or not distinctive:
        return None
    reasons = [f"summary sections: {', '.join(vocab)}"]
    if toc:
        reasons.append(f"outline with {len(toc)} entries")
    if MARKDOWN_RENDERERS.search(producer):
        reasons.append(f"made by a markdown renderer ({producer.strip()})")
    return reasons if len(reasons) >= 2 else None
