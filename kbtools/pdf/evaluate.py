"""Score a markdown conversion of a paper against the paper's known answers.

Used by ``benchmarks/bench_pdf.py`` (kbtools beside pymupdf4llm on the same corpus) and by the
tests of the LaTeX corpus. Works on any converter's markdown: headings are ``#`` lines, tables
are pipe tables. The answers (``truth``) hold title, authors, abstract, headings, tables and
running-header strings, written down when the PDF was typeset.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

_NUMBER_PREFIX = re.compile(r"^((\d{1,2}(\.\d{1,2})*\.?)|([IVX]{1,5}\.)|([A-H](\.\d)*\.?))\s+")


def norm(text: str) -> str:
    """Lower case, no accents, markup or punctuation, single spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[*_`#>|\\]+", " ", text)
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def heading_key(text: str) -> str:
    """A heading without its number, normalised ("III. RELATED WORK" -> "related work")."""
    text = re.sub(r"\s+", " ", text.replace("*", "")).strip()
    text = _NUMBER_PREFIX.sub("", text)
    return norm(text)


def words(text: str) -> list[str]:
    return norm(text).split()


def contains_run(haystack: list[str], needle: list[str]) -> bool:
    """Whether ``needle`` occurs as a contiguous run of words in ``haystack``."""
    if not needle:
        return True
    text = " " + " ".join(haystack) + " "
    return " " + " ".join(needle) + " " in text


def markdown_headings(md: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", md, re.MULTILINE)]


def pipe_tables(md: str) -> list[list[list[str]]]:
    """Every pipe table in ``md`` as rows of cells (the separator row left out)."""
    tables: list[list[list[str]]] = []
    cur: list[list[str]] = []
    for line in md.splitlines() + [""]:
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", s[1:-1])]
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
                cur.append(cells)
        elif cur:
            tables.append(cur)
            cur = []
    return tables


def table_found(truth: dict[str, Any], tables: list[list[list[str]]]) -> bool:
    """A table of ``tables`` holds the true header and at least 80% of the true rows intact
    (every cell of a row in one row, in order)."""
    want = [[norm(c) for c in truth["header"]]] + [[norm(c) for c in r] for r in truth["rows"]]
    for tab in tables:
        got = [[norm(c) for c in row if norm(c)] for row in tab]
        flat = [" ".join(row) for row in got]
        hits = sum(any(" ".join(w) == f or all(c in row for c in w) and len(row) == len(w)
                       for f, row in zip(flat, got, strict=True)) for w in want)
        if hits >= 0.8 * len(want):
            return True
    return False


@dataclass
class Score:
    """What one conversion got right, for one paper."""

    title: bool = False
    authors_found: int = 0
    authors_total: int = 0
    authors_extra: int = 0
    abstract: bool = False
    headings_hit: int = 0
    headings_true: int = 0
    headings_found: int = 0
    tables_found: int = 0
    tables_true: int = 0
    page_numbers_left: int = 0
    pages_with_numbers: int = 0
    running_left: int = 0
    ids_found: int = 0
    ids_true: int = 0
    year_ok: int = 0
    venue_ok: int = 0
    missed_headings: list[str] = field(default_factory=list)
    extra_headings: list[str] = field(default_factory=list)


def score(md: str, truth: dict[str, Any], printed_numbers: list[str], *,
          front: dict[str, Any] | None = None, headings: list[str] | None = None,
          abstract: str | None = None) -> Score:
    """Score ``md`` against ``truth``.

    ``front`` (kbtools' front matter), ``headings`` (kbtools' outline) and ``abstract`` (its
    abstract section) are used when given; otherwise the markdown alone is read, as for other
    converters: title among the first headings or lines, authors and abstract as text runs.
    ``printed_numbers`` are the page numbers printed on the PDF's pages.
    """
    s = Score()
    body_md = md
    if front is not None:
        s.title = norm(front.get("title") or "") == norm(truth["title"])
    else:
        first = markdown_headings(md)[:3] + md.strip().splitlines()[:5]
        s.title = any(norm(truth["title"]) == norm(h) for h in first) or any(
            norm(h).startswith(norm(truth["title"])) and len(norm(h)) < len(
                norm(truth["title"])) + 20 for h in first)
    text_words = words(md)
    s.authors_total = len(truth["authors"])
    if front is not None:
        got = [norm(a) for a in front.get("authors") or []]
        s.authors_found = sum(norm(a) in got for a in truth["authors"])
        s.authors_extra = sum(a not in {norm(t) for t in truth["authors"]} for a in got)
    else:
        s.authors_found = sum(contains_run(text_words, words(a)) for a in truth["authors"])
    ab_words = words(truth["abstract"])
    if abstract is not None:
        got = words(abstract)
        s.abstract = contains_run(got, ab_words[:12]) and contains_run(got, ab_words[-12:]) \
            and len(got) <= 1.3 * len(ab_words) + 20
    else:
        s.abstract = contains_run(text_words, ab_words)
    true_heads = [heading_key(h["text"]) for h in truth["headings"]]
    found = [heading_key(h) for h in (headings if headings is not None
                                      else markdown_headings(body_md))]
    found = [h for h in found if h and h != norm(truth["title"])]
    s.headings_true = len(true_heads)
    s.headings_found = len(found)
    s.headings_hit = sum(1 for h in set(found) if h in true_heads)
    s.missed_headings = [h for h in true_heads if h not in found]
    s.extra_headings = [h for h in found if h not in true_heads]
    tables = pipe_tables(md)
    s.tables_true = len(truth["tables"])
    s.tables_found = sum(table_found(t, tables) for t in truth["tables"])
    lines = {ln.strip().strip("*_ ") for ln in md.splitlines()}
    s.pages_with_numbers = len(printed_numbers)
    s.page_numbers_left = sum(1 for n in printed_numbers if n in lines)
    def bare(text: str) -> str:
        return re.sub(r"\d+", " ", norm(text)).strip()

    running = {bare(r) for r in truth.get("running", [])}
    s.running_left = sum(1 for ln in md.splitlines()
                         if not ln.startswith("#") and bare(ln) in running)
    if front is not None:
        s.year_ok = int(front.get("year") == truth.get("year"))
        s.venue_ok = int(front.get("venue") == truth.get("venue"))
    for key in ("doi", "arxiv"):
        if truth.get(key):
            s.ids_true += 1
            if front is not None:
                s.ids_found += str(front.get(key) or "").lower() == truth[key].lower()
    return s


def printed_page_numbers(path: Any) -> list[str]:
    """The page numbers printed on the PDF's pages: a bare number among the two topmost or
    the two lowest lines of a page (one per page at most)."""
    import pymupdf

    out = []
    with pymupdf.open(path) as doc:
        for page in doc:
            lines = []
            for block in page.get_text("dict")["blocks"]:
                for line in block.get("lines", []):
                    text = "".join(sp["text"] for sp in line["spans"]).strip()
                    if text and line["dir"][0] > 0.9:
                        lines.append((line["bbox"][1], text))
            lines.sort()
            for _, text in lines[:2] + lines[-2:]:
                if re.fullmatch(r"\d{1,4}", text):
                    out.append(text)
                    break
    return out


# -- tables, cell by cell --------------------------------------------------------------------

def cell_key(text: str) -> str:
    """A cell as compared: markdown escapes, entities, emphasis and ``<br>`` out, minus signs
    and spaces unified, lower case."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = html.unescape(text)  # "&lt;" written for "<" is the same cell
    text = re.sub(r"\\(.)", r"\1", text).replace("**", "").replace("\u2212", "-")
    text = text.replace("_", "")  # emphasis markers, wherever a converter put them
    return re.sub(r"\s+", " ", text).strip().lower()


def _cells(row: list[str]) -> list[str]:
    return [k for k in (cell_key(c) for c in row) if k]


def _tokens(rows: list[list[str]]) -> set[str]:
    return {t for r in rows for c in r for t in cell_key(c).split()}


def joined_tables(md: str) -> list[list[list[str]]]:
    """The pipe tables of ``md``, a table continued on the next page (its header row
    repeated) joined to the one before it."""
    out: list[list[list[str]]] = []
    for tab in pipe_tables(md):
        if out and tab and out[-1] and _cells(tab[0]) == _cells(out[-1][0]):
            out[-1] = out[-1] + tab[1:]
        else:
            out.append(tab)
    return out


@dataclass
class TableVerdict:
    """How one true table came out: right, partly, garbled or missing."""

    caption: str
    verdict: str
    rows_intact: int
    rows_true: int


def judge_tables(truth_tables: list[dict[str, Any]], md: str
                 ) -> tuple[list[TableVerdict], int]:
    """Each true table's verdict, and how many tables of ``md`` match no true table.

    right: every body row intact (the same non-empty cells in order), as many columns as the
    truth, and the header's words above the body; partly: at least half the rows intact (or
    all of them under a wrong header); garbled: the table's words are there in a table but
    fewer than half its rows are intact; missing: not even that. Invented: an output table
    sharing under 30% of its words with every true table (plots, legends, text).
    """
    tables = joined_tables(md)
    verdicts = []
    for t in truth_tables:
        want = [[cell_key(c) for c in r] for r in t["rows"]]
        head_words = [w for c in t["header"] for w in cell_key(c).split()]
        tokens = _tokens([t["header"]] + t["rows"])
        best = (0, None)
        for tab in tables:
            got = [_cells(r) for r in tab]
            hits = [i for i, r in enumerate(got) if r in want]
            if len(set(map(tuple, (got[i] for i in hits)))) > best[0] or best[1] is None:
                best = (len({tuple(got[i]) for i in hits}), (tab, hits))
        intact = best[0]
        verdict = "missing"
        if best[1] is not None:
            tab, hits = best[1]
            width = max((len(_cells(r)) for r in tab), default=0)
            above = [w for r in tab[:min(hits) if hits else 0] for c in r
                     for w in cell_key(c).split()]
            header_ok = all(above.count(w) >= head_words.count(w) for w in set(head_words))
            overlap = len(tokens & _tokens(tab)) / max(1, len(tokens))
            if intact == len(want) and header_ok and width == len(t["header"]):
                verdict = "right"
            elif intact >= 0.5 * len(want):
                verdict = "partly"
            elif overlap >= 0.5:
                verdict = "garbled"
        verdicts.append(TableVerdict(t.get("caption", ""), verdict, intact, len(want)))
    true_tokens = [_tokens([t["header"]] + t["rows"]) for t in truth_tables]
    invented = 0
    for tab in tables:
        own = _tokens(tab)
        if own and not any(len(own & tt) >= 0.3 * len(own) for tt in true_tokens):
            invented += 1
    return verdicts, invented
