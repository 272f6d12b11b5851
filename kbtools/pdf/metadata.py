"""Bibliographic metadata of a paper, each field with where it came from.

Sources, in the order the field trusts them:

* title: the largest horizontal text in the top part of page 1, cross-checked with the info
  dict title (rejected when it looks like a slug or a file name) and the first outline entry;
* authors: name-shaped lines between the title and the abstract;
* DOI: XMP, then the info dict (any key), then a pattern on page 1;
* arXiv id: the rotated margin stamp, then a pattern on page 1;
* year and venue: the venue line on page 1, then the arXiv id or the DOI; never the file dates.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kbtools.pdf.layout import Line, PageText
from kbtools.pdf.text import join_lines, markup_residue, plain_text, resolve_breaks

DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}|\\^`\[\]]+)", re.IGNORECASE)
ARXIV_STAMP = re.compile(
    r"arXiv:\s*(?P<id>\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)"
    r"(?:\s*\[(?P<cat>[^\]]+)\])?(?:\s*(?P<date>\d{1,2}\s+[A-Z][a-z]{2}\s+(?P<year>\d{4})))?")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")

#: Venue names recognised on a venue line, with the name the card uses.
VENUES = {
    "neurips": "NeurIPS", "nips": "NeurIPS", "icml": "ICML", "iclr": "ICLR", "cvpr": "CVPR",
    "iccv": "ICCV", "eccv": "ECCV", "acl": "ACL", "emnlp": "EMNLP", "naacl": "NAACL",
    "aaai": "AAAI", "ijcai": "IJCAI", "kdd": "KDD", "miccai": "MICCAI", "ismb": "ISMB",
    "recomb": "RECOMB", "aistats": "AISTATS", "uai": "UAI", "colt": "COLT", "midl": "MIDL",
    "chil": "CHIL", "ml4h": "ML4H", "tmlr": "TMLR", "jmlr": "JMLR", "biorxiv": "bioRxiv",
    "medrxiv": "medRxiv", "chi": "CHI", "eacl": "EACL", "bioinformatics": "Bioinformatics",
    "neuroimage": "NeuroImage",
    "nature methods": "Nature Methods", "nature genetics": "Nature Genetics",
    "nature communications": "Nature Communications", "nature": "Nature", "science": "Science",
    "cell": "Cell", "plos": "PLOS", "elife": "eLife", "lancet": "The Lancet", "peerj": "PeerJ",
}
_VENUE_LINE = re.compile(
    r"(published|accepted|appear|proceedings|conference|workshop|journal|preprint|"
    r"under review|in press|submitted|\bin:|cite this article|copyright|\u00a9)", re.IGNORECASE)
#: DOI prefixes that name a venue.
DOI_VENUES = {"10.1101": "bioRxiv", "10.48550": "arXiv", "10.1093/bioinformatics":
              "Bioinformatics", "10.1038/s41592": "Nature Methods", "10.1038/s41588":
              "Nature Genetics", "10.1038/s41467": "Nature Communications",
              "10.1016/j.neuroimage": "NeuroImage", "10.7554/elife": "eLife"}

_AFFILIATION = re.compile(
    r"(univ|institut|department|dept\.|school|college|laborator|\blab\b|hospital|centre|"
    r"center|inc\.|ltd|corporation|foundation|@|https?://|www\.|email|e-mail|correspond|"
    r"equal contribution|abstract|published|proceedings|conference|preprint|arxiv|doi|"
    r"submitted|accepted|keywords|street|road|avenue|\busa\b|\buk\b|china|germany)",
    re.IGNORECASE)
_NAME_TOKEN = re.compile(r"^(?:[A-Z][a-zA-Z'\u00c0-\u017f-]*\.?|[A-Z]\.(?:-?[A-Z]\.)*)$")
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "del", "la", "le", "bin", "al"}
_MARKERS = re.compile(r"[\d*\u2020\u2021\u00a7\u00b6\u2217\u22c6\u2605\u266f#]+")


@dataclass
class Metadata:
    """The fields and, for each, its source ("first-page layout", "XMP", ...)."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)


# -- helpers -------------------------------------------------------------------------------

def clean_doi(raw: str) -> str:
    doi = raw.strip().rstrip(".,;:)]}>'\"")
    if doi.count("(") < doi.count(")"):
        doi = doi.rstrip(")")
    return doi


def is_slug_title(title: str, file_stem: str = "") -> bool:
    """True for info-dict titles that are not real titles: slugs, file names, tool defaults."""
    t = title.strip()
    low = t.lower()
    if not t or len(t.split()) < 2:
        return True  # "Brainlm", "untitled", "paper"
    if re.search(r"\.(pdf|docx?|tex|dvi|ps|md|html?)\b", low) or "_" in t:
        return True
    if low.startswith(("microsoft word", "untitled", "arxiv:", "doi:", "manuscript")):
        return True
    stem = re.sub(r"[\W_]+", "", file_stem.lower())
    return bool(stem) and re.sub(r"[\W_]+", "", low) == stem


def similar(a: str, b: str) -> bool:
    """Titles that agree once case, spacing and punctuation are ignored."""
    na = re.sub(r"[\W_]+", " ", a.lower()).strip()
    nb = re.sub(r"[\W_]+", " ", b.lower()).strip()
    if not na or not nb:
        return False
    if na in nb or nb in na:
        return min(len(na), len(nb)) >= 0.6 * max(len(na), len(nb))
    return difflib.SequenceMatcher(None, na, nb).ratio() >= 0.85


def _extends(full: str, cut: str) -> bool:
    """``full`` starts with ``cut`` and goes on: the layout kept only part of the title."""
    nf = re.sub(r"[\W_]+", " ", full.lower()).strip()
    nc = re.sub(r"[\W_]+", " ", cut.lower()).strip()
    return bool(nc) and nf.startswith(nc) and len(nf) > len(nc) + 3 and len(nc.split()) >= 2


def info_dict(doc: Any) -> dict[str, str]:
    """Every string entry of the PDF's Info dictionary, custom keys included."""
    out = {k: v for k, v in (doc.metadata or {}).items() if isinstance(v, str) and v}
    try:
        kind, value = doc.xref_get_key(-1, "Info")
        if kind == "xref":
            xref = int(value.split()[0])
            for key in doc.xref_get_keys(xref):
                k2, v2 = doc.xref_get_key(xref, key)
                if k2 == "string" and key.lower() not in out:
                    out[key.lower()] = v2
    except Exception:  # noqa: BLE001 - a damaged trailer just means no custom keys
        pass
    return out


# -- title and authors ---------------------------------------------------------------------

#: Article-type banners set over a title.
KICKER = re.compile(r"^\s*(research|original|review|brief|clinical study|case report|"
                    r"open access)\b[\w ]{0,20}$", re.IGNORECASE)


def layout_title(page: PageText) -> tuple[str, list[Line]] | None:
    """The largest-font text block in the top 60% of page 1 (rotated text never counts)."""
    top = [ln for ln in page.lines if ln.y0 < 0.6 * page.height and sum(
        c.isalpha() for c in ln.text) >= 3]
    for size in sorted({ln.size for ln in top}, reverse=True)[:4]:
        block = sorted((ln for ln in top if abs(ln.size - size) < 0.5), key=lambda ln: ln.y0)
        if not block:
            continue
        run = [block[0]]
        for ln in block[1:]:
            if ln.y0 - run[-1].y1 < 1.2 * size:
                run.append(ln)
            else:
                break
        while len(run) > 1 and KICKER.match(run[0].plain or run[0].text):
            run = run[1:]  # "Research Article" set over the title in its size
        text = join_lines([ln.plain or ln.text for ln in run])
        text = re.sub(r"\s+", " ", resolve_breaks(text, Counter())).strip()
        words = text.split()
        if len(words) >= 2 and len(words) <= 40 and not re.match(r"^(arxiv|doi)", text, re.I):
            return text, run
    return None


def authors_under(page: PageText, title_lines: list[Line]) -> list[str]:
    """Names from the lines between the title and the abstract (markers and affiliations out).

    Author blocks come in rows and columns (name, affiliation, e-mail under each name), so
    every line down to the abstract, the first section heading or the first line of body text
    is read, in rows from top to bottom and left to right.
    """
    bottom = max(ln.y1 for ln in title_lines)
    left = min(ln.x0 for ln in title_lines) - 20  # not the notes in a margin column
    right = max(ln.x1 for ln in title_lines)
    below = sorted((ln for ln in page.lines if ln.y0 >= bottom - 1 and ln not in title_lines
                    and ln.x1 > left + 20 and ln.x0 < right),
                   key=lambda ln: (round(ln.y0), ln.x0))
    width = max((ln.x1 for ln in page.lines), default=page.width) - min(
        (ln.x0 for ln in page.lines), default=0)
    names: list[str] = []
    for ln in below[:80]:
        text = ln.plain or ln.text
        if (re.match(r"^\s*(abstract|summary|keywords|index terms|a b s t r a c t)\b", text,
                     re.IGNORECASE) or ln.y0 > bottom + 260
                or re.match(r"^\s*(1|I)\.?\s+(introduction|background)\b", text, re.I)):
            break
        found = _names(text)
        if not found and ln.width > 0.6 * width and len(text.split()) >= 10:
            break  # body text: the author block is over
        names.extend(n for n in found if n not in names)
    return names


def _names(text: str) -> list[str]:
    if _AFFILIATION.search(text):
        return []
    text = _MARKERS.sub(" ", text)
    parts = re.split(r",|;|\band\b|&|\s{3,}", text)
    out = []
    for part in parts:
        tokens = part.split()
        if not tokens:
            continue
        if not 2 <= len(tokens) <= 5:
            return []
        if not all(_NAME_TOKEN.match(t) or t.lower() in _PARTICLES for t in tokens):
            return []
        if not _NAME_TOKEN.match(tokens[-1]) or len(tokens[-1].rstrip(".")) < 2:
            return []
        out.append(" ".join(tokens))
    return out


# -- identifiers, year, venue --------------------------------------------------------------

def find_doi(xmp: str, info: dict[str, str], page1_text: str) -> tuple[str, str] | None:
    for source, text in (("XMP", xmp), ("info dict", " ".join(info.values()))):
        m = DOI.search(text or "")
        if m:
            return clean_doi(m.group(1)), source
    labelled = re.search(r"(?:doi(?:\.org)?[:/]\s*|doi\s+)(10\.\d{4,9}/\S+)", page1_text, re.I)
    m = labelled or DOI.search(page1_text)
    if m:
        return clean_doi(m.group(1)), "first-page regex"
    return None


def find_arxiv(rotated: list[str], page1_text: str) -> tuple[re.Match[str], str] | None:
    for text in rotated:
        m = ARXIV_STAMP.search(text)
        if m:
            return m, "arXiv stamp"
    m = ARXIV_STAMP.search(page1_text)
    if m:
        return m, "first-page regex"
    return None


#: Long venue names, as proceedings and journals print them, and the card's short name.
LONG_VENUES = (
    (r"european chapter of the association for computational linguistics", "EACL"),
    (r"north american chapter of the association for computational linguistics", "NAACL"),
    (r"annual meeting of the association for computational linguistics", "ACL"),
    (r"empirical methods in natural language processing", "EMNLP"),
    (r"human factors in computing systems", "CHI"),
    (r"neural information processing systems", "NeurIPS"),
    (r"international conference on learning representations", "ICLR"),
    (r"international conference on machine learning", "ICML"),
    (r"medical image computing and computer[- ]assisted intervention", "MICCAI"),
    (r"aaai conference on artificial intelligence", "AAAI"),
    (r"computer vision and pattern recognition", "CVPR"),
    (r"knowledge discovery and data mining", "KDD"),
    (r"association for the advancement of artificial intelligence", "AAAI"),
)
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
#: "Cell 179, 512-528, October 17, 2019", "NeuroImage 202 (2019) 116-130".
_JOURNAL_LINE = re.compile(
    r"^(?P<journal>[A-Z][A-Za-z&.\- ]{1,50}?)\s+(?P<volume>\d{1,4})"
    r"(?:\s*\((?P<y1>(?:19|20)\d\d)\))?,?\s*(?:\d+\s*[\u2013\u2014-]\s*\d+|e\d+)?,?\s*"
    r"(?:" + _MONTH + r"\s+(?:\d{1,2},\s*)?)?"
    r"(?P<y2>(?:19|20)\d\d)?")
_SHORT_VENUE = re.compile(r"\b([A-Z][A-Za-z]{1,9})\s*['\u2019\u2018](\d\d)\b")
_SUBMITTED = re.compile(r"(?:preprint submitted to|submitted to|to appear in|"
                        r"accepted (?:at|to|in|by)|published (?:as [\w ]+? )?(?:in|at))\s+"
                        r"(?:the\s+)?(?P<venue>[A-Z][\w&\- ]{1,60}?)"
                        r"(?=\s+(?:" + _MONTH + r"|\d|\(|$)|[.,;]|$)", re.IGNORECASE)
_COPYRIGHT_YEAR = re.compile(r"(?:\u00a9|\(c\)|copyright)\s*((?:19|20)\d\d)", re.IGNORECASE)


def _windows(page: PageText, skip: set[int]) -> list[str]:
    """Each line of page 1 with the (up to two) lines right under it, as one text."""
    lines = sorted((ln for ln in page.lines if id(ln) not in skip), key=lambda ln: (ln.y0, ln.x0))
    out = []
    for i, ln in enumerate(lines):
        row = [o for o in lines if o is not ln and abs(o.y1 - ln.y1) < 2 and o.x0 > ln.x1]
        parts = [ln.text] + [o.text for o in sorted(row, key=lambda o: o.x0)]
        last = ln
        for nxt in lines[i + 1:]:
            if nxt in row:
                continue
            if nxt.y0 - last.y1 > 1.2 * max(last.size, 4) or len(parts) == 3:
                break
            if nxt.x0 < ln.x1 and nxt.x1 > ln.x0:
                parts.append(nxt.text)
                last = nxt
        out.append(re.sub(r"\s+", " ", " ".join(parts)))
    return out


def _known(text: str) -> str | None:
    low = text.lower()
    for pattern, name in LONG_VENUES:
        if re.search(pattern, low):
            return name
    return next((v for k, v in VENUES.items() if re.search(rf"\b{re.escape(k)}\b", low)), None)


def venue_line(page: PageText, title_lines: list[Line]) -> tuple[str | None, int | None] | None:
    """Venue and year from page 1: a journal line ("Cell 179, 512-528, October 17, 2019"),
    a proceedings line ("Proceedings of the 62nd Annual Meeting of the ACL ... 2024"), a
    submission line ("Preprint submitted to NeuroImage"), an ACM-style "CHI '24", or a
    copyright year. Each window is a line and the lines right under it."""
    printed = journal_line(page)
    if printed:
        return printed
    windows = _windows(page, {id(ln) for ln in title_lines})
    found_venue: str | None = None
    found_year: int | None = None
    for text in windows:
        if len(text) > 400:
            continue
        m = _JOURNAL_LINE.match(text)
        if m and (m.group("y1") or m.group("y2")) and _known(m.group("journal")):
            return _known(m.group("journal")), int(m.group("y1") or m.group("y2"))
    for text in windows:
        if len(text) > 400 or not _VENUE_LINE.search(text):
            continue
        name = _known(text)
        sub = _SUBMITTED.search(text)
        if name is None and sub:
            name = _known(sub.group("venue")) or sub.group("venue").strip()
        year_m = _YEAR.search(text)
        if name and (year_m or sub):
            return name, int(year_m.group(1)) if year_m else None
        if name is None and year_m and re.search(r"proceedings of", text, re.IGNORECASE):
            return _venue_phrase(text), int(year_m.group(1))
    for text in windows:
        m = _SHORT_VENUE.search(text)
        if m and _known(m.group(1)) and found_venue is None:
            found_venue = _known(m.group(1))
            found_year = 2000 + int(m.group(2))
        c = _COPYRIGHT_YEAR.search(text)
        if c and found_year is None:
            found_year = int(c.group(1))
    if found_venue or found_year:
        return found_venue, found_year
    return None


#: "International Psychogeriatrics (2014), 26:3", "Smith et al. BMC Psychiatry (2019) 19:214".
_NAME_YEAR = re.compile(
    r"^(?:.{0,60}?\bet al\.?,?\s+)?(?P<journal>[A-Z][A-Za-z&'\- ]{2,70}?)\s*"
    r"\((?P<year>(?:19|20)\d\d)\)(?=\s*(?:[,;:]|\d|\u00a9|doi|$))")
#: "Volume 2019, Article ID 4829103, 11 pages" under the journal's name (Hindawi).
_ARTICLE_ID = re.compile(r"^volume\s+(?P<volume>\d{1,4}),?\s+article id\b", re.IGNORECASE)
_TWO_AUTHORS = re.compile(r"^[A-Z][a-z'\-]+ (?:and|&) [A-Z][a-z'\-]+\s+")
_NAME_WORD = re.compile(r"^(?:[A-Z][A-Za-z&'\-]*|of|and|&|in|for|the|on|de|der)$")


def _journal_name(text: str) -> bool:
    words = text.split()
    return (1 <= len(words) <= 7 and all(_NAME_WORD.match(w) for w in words)
            and not _AFFILIATION.search(text) and words[0][:1].isupper())


def journal_line(page: PageText) -> tuple[str, int | None] | None:
    """A journal's name and year as printed in the top or bottom margin of page 1:
    "<Journal> (<year>)" with a volume or a copyright after it, or a "Volume N, Article ID"
    line under the journal's name."""
    lines = sorted(page.lines, key=lambda ln: (ln.y0, ln.x0))
    for i, ln in enumerate(lines):
        edge = ln.y1 < 0.3 * page.height or ln.y0 > 0.8 * page.height
        m = _NAME_YEAR.match(ln.text.strip())
        if m and edge and _journal_name(m.group("journal").strip()):
            name = m.group("journal").strip()
            two = _TWO_AUTHORS.match(name)  # "Sato and Ueda BMC Psychiatry (2019)"
            if two and _journal_name(name[two.end():]):
                name = name[two.end():]
            return _known(name) if _known(name) == name else name, int(m.group("year"))
        a = _ARTICLE_ID.match(ln.text.strip())
        if a and i > 0 and edge and _journal_name(lines[i - 1].text.strip()):
            volume = int(a.group("volume"))
            return lines[i - 1].text.strip(), volume if 1900 < volume < 2100 else None
    return None


def _venue_phrase(text: str) -> str:
    m = re.search(r"(?:proceedings of (?:the )?|published (?:as [\w ]+? )?(?:in|at) |"
                  r"accepted (?:at|to|in|by) |in: )(.+)", text, re.IGNORECASE)
    phrase = (m.group(1) if m else text).strip().rstrip(".,")
    return _YEAR.sub("", phrase).strip(" ,.()") or phrase


_LABELLED = re.compile(
    r"\b(?P<key>year|published|publication year|venue|journal|conference)\s*:\s*"
    r"(?P<value>[^\n\u00b7|;]{1,80})", re.IGNORECASE)


def _labelled(text: str) -> dict[str, str]:
    """"Year: 2022", "Venue: NeurIPS" lines (the way KB summaries give their source)."""
    out: dict[str, str] = {}
    for m in _LABELLED.finditer(text):
        key, value = m.group("key").lower(), m.group("value").strip().strip("*_ ")
        year = _YEAR.search(value)
        if key in ("year", "published", "publication year") and year and "year" not in out:
            out["year"] = year.group(1)
        elif key in ("venue", "journal", "conference") and value and "venue" not in out:
            out["venue"] = _YEAR.sub("", value).strip(" ,.()")
    if "year" not in out:
        cited = re.search(r"\b(?:citation|reference|cite as)\s*:.{0,120}?\(((?:19|20)\d\d)\)",
                          text, re.IGNORECASE | re.DOTALL)
        if cited:
            out["year"] = cited.group(1)
    return out


def year_from_arxiv(arxiv_id: str) -> int | None:
    m = re.match(r"(\d{2})(\d{2})\.", arxiv_id) or re.search(r"/(\d{2})(\d{2})\d{3}", arxiv_id)
    if not m:
        return None
    yy = int(m.group(1))
    return 2000 + yy if yy < 90 else 1900 + yy


def venue_from_doi(doi: str) -> str | None:
    low = doi.lower()
    for prefix, name in sorted(DOI_VENUES.items(), key=lambda kv: -len(kv[0])):
        if low.startswith(prefix.lower()):
            return name
    return None


def year_from_doi(doi: str) -> int | None:
    m = re.match(r"10\.1101/(20\d\d)\.\d\d\.\d\d", doi)
    return int(m.group(1)) if m else None


# -- all together --------------------------------------------------------------------------

def extract(doc: Any, first: PageText, file_stem: str, toc: list[list[Any]]) -> Metadata:
    """Gather the metadata of an open document from page 1, the info dict, XMP and outline."""
    meta = Metadata()
    info = info_dict(doc)
    try:
        xmp = doc.get_xml_metadata() or ""
    except Exception:  # noqa: BLE001
        xmp = ""
    page1_text = "\n".join(ln.text for ln in sorted(first.lines, key=lambda ln: ln.y0))

    found = layout_title(first)
    info_title = info.get("title", "").strip()
    outline_title = str(toc[0][1]).strip() if toc and toc[0][0] == 1 and toc[0][2] <= 1 else ""
    title_lines: list[Line] = []
    if found:
        meta.title, title_lines = found
        checks = []
        if info_title:
            if is_slug_title(info_title, file_stem):
                checks.append("info dict title rejected as a slug")
            elif _extends(info_title, meta.title):
                meta.title = info_title  # the layout cut the title (a line in another size)
                checks.append("completed from the info dict")
            elif similar(info_title, meta.title):
                checks.append("agrees with info dict")
            else:
                checks.append("info dict differs")
        if outline_title and similar(outline_title, meta.title):
            checks.append("agrees with outline")
        meta.provenance["title"] = "first-page layout" + (f" ({'; '.join(checks)})"
                                                          if checks else "")
    elif info_title and not is_slug_title(info_title, file_stem):
        meta.title, meta.provenance["title"] = info_title, "info dict"
    elif outline_title and not is_slug_title(outline_title, file_stem):
        meta.title, meta.provenance["title"] = outline_title, "outline"

    if title_lines:
        meta.authors = authors_under(first, title_lines)
        if meta.authors:
            meta.provenance["authors"] = "first-page layout"
    if not meta.authors and info.get("author"):
        names = [a.strip() for a in re.split(r";|,|\band\b", info["author"]) if a.strip()]
        if names and all(len(n.split()) >= 2 for n in names):
            meta.authors, meta.provenance["authors"] = names, "info dict"

    doi = find_doi(xmp, info, page1_text)
    if doi:
        meta.doi, meta.provenance["doi"] = doi
    arxiv = find_arxiv(first.rotated, page1_text)
    if arxiv:
        match, source = arxiv
        meta.arxiv, meta.provenance["arxiv"] = match.group("id"), source

    venue = venue_line(first, title_lines)
    if venue:
        name, year = venue
        if name:
            meta.venue, meta.provenance["venue"] = name, "venue line"
        if year:
            meta.year, meta.provenance["year"] = year, "venue line"
    if meta.year is None or meta.venue is None:
        labelled = _labelled(page1_text)
        if meta.year is None and "year" in labelled:
            meta.year, meta.provenance["year"] = int(labelled["year"]), "labelled on page 1"
        if meta.venue is None and "venue" in labelled:
            meta.venue = _known(labelled["venue"]) or labelled["venue"]
            meta.provenance["venue"] = "labelled on page 1"
    if meta.year is None and meta.arxiv and year_from_arxiv(meta.arxiv):
        meta.year, meta.provenance["year"] = year_from_arxiv(meta.arxiv), "arXiv id"
    if meta.year is None and meta.doi and year_from_doi(meta.doi):
        meta.year, meta.provenance["year"] = year_from_doi(meta.doi), "DOI"
    if meta.venue is None and meta.doi and venue_from_doi(meta.doi):
        meta.venue, meta.provenance["venue"] = venue_from_doi(meta.doi), "DOI"
    if meta.venue is None and meta.arxiv:
        meta.venue, meta.provenance["venue"] = "arXiv", "arXiv id"
    return plain(meta)


def plain(meta: Metadata) -> Metadata:
    """Titles, names and venues from a PDF are plain text: any markup it carried is taken out."""
    meta.title = plain_text(markup_residue(meta.title)) or None if meta.title else None
    meta.authors = [a for a in (plain_text(markup_residue(a)) for a in meta.authors) if a]
    meta.venue = plain_text(markup_residue(meta.venue)) or None if meta.venue else None
    return meta
