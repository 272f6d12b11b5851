"""Draft paper cards from converted PDFs; fill empty fields of existing cards; report conflicts.

An existing card is never overwritten. ``--update`` fills fields that are missing or empty
(edited in place, line by line, so comments and order survive) and lists the fields where the
PDF says something else than the card.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kbtools import yamlio
from kbtools.pdf.files import create_atomic, write_atomic
from kbtools.pdf.text import plain_text

SCHEMA_LINE = "# yaml-language-server: $schema=../../kbtools/schemas/paper_card.schema.json"
CARDS_DIR = Path("kb/paper_cards")
#: Fields compared between the PDF and an existing card.
COMPARED = ("title", "year", "venue", "doi", "arxiv", "pdf", "summary_md_path")
_STOP = {"a", "an", "the", "of", "for", "and", "on", "in", "to", "with", "via", "from", "by",
         "towards", "toward", "is", "are", "at", "as", "we", "our"}


def card_id(title: str, year: int | None) -> str:
    """Card id from the title and year, by fixed rules.

    The short name before a colon when it has at most four words ("BrainLM: A foundation ..."
    -> "brainlm"), else the first three words that are not stop words; lower-case ASCII,
    hyphens and apostrophes dropped, other runs of non-alphanumerics become "_"; then
    "_<year>". Example: "DNABERT-2: Efficient ..." (2023) -> "dnabert2_2023".
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    head, sep, _ = ascii_title.partition(":")
    if sep and 1 <= len(head.split()) <= 4:
        words = head.split()
    else:
        words = [w for w in re.split(r"\s+", ascii_title) if w.lower().strip(".,;:") not in _STOP]
        words = words[:3]
    slug = re.sub(r"['\u2019-]", "", " ".join(words).lower())
    slug = re.sub(r"[^a-z0-9]+", "_", slug).strip("_") or "paper"
    slug = slug[:60].rstrip("_")
    return f"{slug}_{year}" if year else slug


def _rel(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def draft(meta: dict[str, Any], summary: str, pdf: Path, md: Path, root: Path,
          converter: str, today: str | None = None) -> dict[str, Any]:
    """The card drafted from the front matter ``meta`` of a converted PDF."""
    today = today or dt.date.today().isoformat()
    pdf_rel, md_rel = _rel(pdf, root), _rel(md, root)
    notes = (f"Drafted from the PDF by kbtools pdf2md ({converter}); nothing here was checked "
             "against the publisher's record. The summary is extracted from the paper: "
             "rewrite it in our own words, check title, year, venue and identifiers, then "
             "complete the card.")
    if pdf_rel is None:  # never an absolute path outside the KB: only the file's name
        notes += (f" The PDF ({pdf.name}) is outside the KB, so the card names no file for it;"
                  " copy it into the KB and set pdf: to its path there.")
    arxiv = meta.get("arxiv")
    if arxiv and "/" in arxiv:  # old-style ids ("cs/0112017") carry no version in cards
        arxiv = re.sub(r"v\d+$", "", arxiv)
    card: dict[str, Any] = {
        "id": card_id(plain_text(meta["title"]), meta.get("year")),
        "title": plain_text(meta["title"]),
        "status": "draft",
        "verified": False,
        "verification": {"sources": [pdf_rel or pdf.name], "notes": notes},
        "last_updated": today,
        "year": meta.get("year"),
        "venue": plain_text(meta["venue"]) if meta.get("venue") else None,
        "doi": meta.get("doi"),
        "arxiv": arxiv,
        "url": (f"https://doi.org/{meta['doi']}" if meta.get("doi") else
                f"https://arxiv.org/abs/{arxiv}" if arxiv else None),
        "pdf": pdf_rel,
        "summary_md_path": md_rel,
        "summary": plain_text(summary) or None,
    }
    return {k: v for k, v in card.items() if v not in (None, "", [])}


def render(card: dict[str, Any]) -> str:
    return f"{SCHEMA_LINE}\n{yamlio.dump(card)}"


def problems(card: dict[str, Any]) -> list[str]:
    """Schema problems of a card, as readable strings (empty when it validates)."""
    import jsonschema

    from kbtools.schemas import load_schema

    validator = jsonschema.Draft202012Validator(
        load_schema("paper_card"), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    found = [f"{'/'.join(map(str, e.absolute_path)) or '(card)'}: {e.message}"
             for e in validator.iter_errors(card)]
    return found + markup_problems(card)


_MARKUP = re.compile(r"<[A-Za-z/!?]|\]\(|\{:|(?:javascript|vbscript)\s*:", re.IGNORECASE)


def markup_problems(card: dict[str, Any], path: str = "") -> list[str]:
    """Fields of a drafted card that carry raw markup (HTML, links, attribute lists).

    Everything pdf2md drafts is plain text taken from a PDF; markup in it means the PDF tried
    to smuggle some in, and such a card is not written.
    """
    out: list[str] = []
    for key, value in card.items():
        where = f"{path}/{key}" if path else str(key)
        if isinstance(value, dict):
            out += markup_problems(value, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str) and _MARKUP.search(item):
                    out.append(f"{where}/{i}: raw markup in text taken from the PDF")
        elif isinstance(value, str) and _MARKUP.search(value):
            out.append(f"{where}: raw markup in text taken from the PDF")
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _norm(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "doi":
        return str(value).lower().strip()
    if key == "arxiv":
        return re.sub(r"v\d+$", "", str(value).strip())
    if key in ("title", "venue"):
        return re.sub(r"[\W_]+", " ", str(value).lower()).strip()
    if key == "year":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return str(value).strip()


@dataclass
class CardOutcome:
    """What happened to the card of one PDF."""

    path: Path
    action: str  # created, exists, updated, unchanged, failed
    filled: list[str] = field(default_factory=list)
    disagreements: list[tuple[str, Any, Any, str]] = field(default_factory=list)
    message: str = ""


def find_existing(cards_dir: Path, card: dict[str, Any]) -> Path | None:
    """An existing card for the same paper: same id, DOI or arXiv id."""
    same = cards_dir / f"{card['id']}.yaml"
    if same.exists():
        return same
    keys = {("doi", _norm("doi", card.get("doi"))), ("arxiv", _norm("arxiv", card.get("arxiv")))}
    keys = {k for k in keys if k[1]}
    if not keys or not cards_dir.is_dir():
        return None
    for path in sorted(cards_dir.glob("*.yaml")):
        try:
            data = yamlio.load_file(path)
        except (yamlio.YAMLLoadError, OSError):
            continue
        if isinstance(data, dict) and any(_norm(k, data.get(k)) == v for k, v in keys):
            return path
    return None


def compare(existing: dict[str, Any], card: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    """Fields to fill (missing or empty in ``existing``) and fields that disagree."""
    fill = [k for k, v in card.items() if k != "id" and _empty(existing.get(k))
            and not _empty(v)]
    differ = [(k, existing.get(k), card.get(k)) for k in COMPARED
              if not _empty(existing.get(k)) and not _empty(card.get(k))
              and _norm(k, existing.get(k)) != _norm(k, card.get(k))]
    return fill, differ


def fill_text(text: str, values: dict[str, Any]) -> str:
    """Set top-level keys of a YAML card text: replace empty one-line values, append the rest."""
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    lines = text.splitlines(keepends=True)
    todo = dict(values)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            if key in todo and value_node.start_mark.line == key_node.start_mark.line and (
                    value_node.end_mark.line == key_node.start_mark.line):
                lines[key_node.start_mark.line] = yamlio.dump({key: todo.pop(key)})
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if todo:
        lines.append(yamlio.dump(todo))
    return "".join(lines)


def apply(card: dict[str, Any], cards_dir: Path, update: bool,
          sources: dict[str, str]) -> CardOutcome:
    """Create the card, or compare with (and with ``update`` fill) the existing one."""
    issues = problems(card)
    target = cards_dir / f"{card['id']}.yaml"
    if issues:
        return CardOutcome(target, "failed", message="drafted card does not validate: "
                           + "; ".join(issues))
    existing_path = find_existing(cards_dir, card)
    if existing_path is None:
        if create_atomic(target, render(card)):
            return CardOutcome(target, "created")
        existing_path = target
    try:
        text = existing_path.read_text("utf-8")
        existing = yamlio.loads(text)
    except (OSError, UnicodeDecodeError, yamlio.YAMLLoadError) as exc:
        return CardOutcome(existing_path, "failed",
                           message=f"existing card cannot be read ({exc}); left unchanged")
    if not isinstance(existing, dict):
        return CardOutcome(existing_path, "failed", message="existing card is not a mapping")
    card = {**card, "id": existing.get("id", card["id"])}
    fill, differ = compare(existing, card)
    disagreements = [(k, old, new, sources.get(k, "")) for k, old, new in differ]
    if not update or not fill:
        return CardOutcome(existing_path, "exists" if not update else "unchanged",
                           filled=fill if not update else [], disagreements=disagreements)
    new_text = fill_text(text, {k: card[k] for k in fill})
    try:
        new_card = yamlio.loads(new_text)
    except yamlio.YAMLLoadError as exc:
        return CardOutcome(existing_path, "failed", message=f"update would break YAML ({exc})")
    after = problems(new_card)
    before = problems(existing)
    if len(after) > len(before):
        return CardOutcome(existing_path, "failed", disagreements=disagreements,
                           message="update would not validate: " + "; ".join(after))
    write_atomic(existing_path, new_text)
    return CardOutcome(existing_path, "updated", filled=fill, disagreements=disagreements)


def describe(outcome: CardOutcome, root: Path) -> list[str]:
    """Readable report lines for one card outcome (the diff of disagreeing fields included)."""
    where = _rel(outcome.path, root) or str(outcome.path)
    lines = []
    if outcome.action == "created":
        lines.append(f"  card: created {where} (status draft, verified false)")
    elif outcome.action == "exists":
        extra = f"; --update would fill {', '.join(outcome.filled)}" if outcome.filled else ""
        lines.append(f"  card: {where} exists, not overwritten{extra}")
    elif outcome.action == "updated":
        lines.append(f"  card: updated {where}: filled {', '.join(outcome.filled)}")
    elif outcome.action == "unchanged":
        lines.append(f"  card: {where} unchanged (no empty fields to fill)")
    else:
        lines.append(f"  card: {where}: {outcome.message}")
    if outcome.disagreements:
        lines.append(f"  card: the PDF disagrees with {where}:")
        for key, old, new, source in outcome.disagreements:
            src = f" (from {source})" if source else ""
            lines.append(f"    - {key}: {old}")
            lines.append(f"    + {key}: {new}{src}")
    return lines
