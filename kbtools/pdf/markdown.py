"""Render a Conversion as markdown: YAML front matter, abstract, key sentences, captions, text."""

from __future__ import annotations

import re
from typing import Any

from kbtools import yamlio
from kbtools.pdf.convert import CONVERTER_VERSION, Conversion
from kbtools.pdf.summarize import SIMILARITY_THRESHOLD


def front_matter(conv: Conversion) -> dict[str, Any]:
    meta = conv.metadata
    data: dict[str, Any] = {
        "title": meta.title,
        "authors": meta.authors,
        "year": meta.year,
        "venue": meta.venue,
        "doi": meta.doi,
        "arxiv": meta.arxiv,
        "pages": conv.pages,
        "kind": conv.kind,
        "source": conv.source.name,
        "source_sha256": conv.sha256,
        "converter_version": CONVERTER_VERSION,
        "provenance": dict(meta.provenance),
    }
    if conv.kb_summary_reasons:
        data["kb_summary_recognised_by"] = conv.kb_summary_reasons
    if conv.warnings:
        data["warnings"] = list(conv.warnings)
    return data


_LIST_ITEM = re.compile(r"^[\u2022\u25e6\u25aa\u25cf\u2023\u2043\u2219\u25a0\u25a1]\s*(.+)$")
_SPECIAL = re.compile(r"([\\`\[\]{}])")
_ENTITY_START = re.compile(r"&(?=#?\w{1,8};)")


def _escape(text: str) -> str:
    """PDF text as literal markdown: no HTML, links, code spans or attribute lists. Escaped
    once, here: ``&`` too where it would start an entity, so ``&lt;`` in the text stays
    visible as written."""
    text = _ENTITY_START.sub("&amp;", text)
    text = _SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")
    return "\\" + text if text.startswith(("#", "|", "=", "---", "+", "-", "*")) else text


def _page_link(page: int) -> str:
    return f"[p. {page}](#page-{page})"


def render(conv: Conversion) -> str:
    """The whole markdown file."""
    out = ["---", yamlio.dump(front_matter(conv)).rstrip(), "---", ""]
    title = conv.metadata.title or conv.source.stem
    out += [f"# {_escape(title)}", ""]
    if conv.kind == "kb-summary":
        out += ["_Imported as an existing KB summary (not summarised again): "
                + "; ".join(conv.kb_summary_reasons) + "._", ""]
        out += _flow(conv, heading_offset=1)
        return "\n".join(out).rstrip() + "\n"
    out += ["## Abstract", ""]
    out += [_escape(conv.structure.abstract) if conv.structure.abstract
            else "_No abstract found._", ""]
    out += ["## Key sentences", "",
            f"_Extractive summary: the {len(conv.key_sentences)} most central sentences by "
            f"TF-IDF cosine similarity (LexRank, edges at similarity >= {SIMILARITY_THRESHOLD}),"
            " in document order._", ""]
    out += [f"{i}. {_escape(s)} ({_page_link(p)})"
            for i, (s, p) in enumerate(conv.key_sentences, start=1)] or ["_None found._"]
    out.append("")
    if conv.structure.captions:
        out += ["## Figures and tables", ""]
        out += [f"- {_escape(c)} ({_page_link(p)})" for c, p in conv.structure.captions]
        out.append("")
    if conv.headings:
        out += ["## Outline", ""]
        out += [f"{'  ' * (h.level - 1)}- {_escape(h.text)} ({_page_link(h.page)})"
                for h in conv.headings]
        out.append("")
    out += ["## Full text", ""]
    out += _flow(conv, heading_offset=2)
    return "\n".join(out).rstrip() + "\n"


def _flow(conv: Conversion, heading_offset: int) -> list[str]:
    out: list[str] = []
    page = 0
    front_at: int | None = None
    for p in conv.paragraphs:
        while page < p.page:
            page += 1
            out += _page_mark(conv, page)
        if p.kind == "title":
            continue  # already the document's "# " heading
        if p.kind == "front":  # the author and affiliation block as one paragraph
            text = _escape(re.sub(r"\s+", " ", p.text))
            if front_at is not None and front_at == len(out) - 2:
                out[front_at] += " \u00b7 " + text
            else:
                front_at = len(out)
                out += [text, ""]
            continue
        if p.kind == "heading":
            level = min(6, p.level + heading_offset)
            out += [f"{'#' * level} {_escape(p.text)}", ""]
        elif p.kind == "table":
            out += [p.markdown, ""]
        elif p.kind == "caption":
            out += [f"*{_escape(p.text)}*", ""]
        elif p.kind == "reference":  # the reference list as a list, an entry an item
            out += [f"- {_escape(' '.join(p.text.split()))}", ""]
        elif p.kind == "abstract-label":
            out += [f"**{_escape(p.text)}**", ""]
        elif p.text:
            text = re.sub(r"\s+", " ", p.text)
            item = _LIST_ITEM.match(text)
            out += [f"- {_escape(item.group(1))}" if item else _escape(text), ""]
    while page < conv.pages:
        page += 1
        out += _page_mark(conv, page)
    return out


def _page_mark(conv: Conversion, page: int) -> list[str]:
    """The page's anchor, and a warning under it when the page came out thin."""
    out = [f'<a id="page-{page}"></a>**[page {page}]**', ""]
    if page in conv.thin_pages:
        got, layer = conv.thin_pages[page]
        out += [f"> **Warning:** only {got} of the {layer} words in this page's text layer "
                "came out; some of its text may be missing here. Check the page in the PDF.",
                ""]
    return out
