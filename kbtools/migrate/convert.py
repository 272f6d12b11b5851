"""Value converters named by mapping rules (``convert: count``): each returns the converted
value and whether nothing of the original was lost, or raises :class:`NotConvertible`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kbtools.vocabulary.counts import NotExact, exact_count, listed_counts


class NotConvertible(ValueError):
    """The value has no form the rule can convert; it is left where it is."""


@dataclass(frozen=True)
class Converted:
    value: Any
    lossless: bool = True


_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")
_ARXIV = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|^)(\d{2})(\d{2})\.\d{4,5}")
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)(10\.\d{4,9}/\S+)$", re.I)
_ARXIV_ID = re.compile(r"^(?:arxiv:\s*|https?://arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5}(?:v\d+)?)"
                       r"(?:\.pdf)?$", re.I)
_HUB = re.compile(r"^https?://huggingface\.co/(?!collections/|datasets/|spaces/)"
                  r"([\w.-]+/[\w.-]+)/?$")


def count(value: Any, *, tokens: bool = False) -> Converted:
    """``"650M"`` -> 650000000, ``"12,500"`` -> 12500: only a text stating one exact number
    (placeholders, ranges, bounds and approximations stay text; see
    :func:`kbtools.vocabulary.counts.exact_count`)."""
    if isinstance(value, bool):
        raise NotConvertible("a yes/no value is not a count")
    if isinstance(value, int):
        return Converted(value)
    if isinstance(value, float) and value.is_integer():
        return Converted(int(value))
    if not isinstance(value, str):
        raise NotConvertible("not a number or text")
    try:
        return Converted(exact_count(value, tokens=tokens))
    except NotExact as exc:
        raise NotConvertible(str(exc)) from None


def tokens(value: Any) -> Converted:
    """A token count (context length): digits only, since ``"131k"`` may be 131,072."""
    return count(value, tokens=True)


def largest_count(value: Any) -> Converted:
    """``"111M / 650M"`` (a list of exact sizes) -> the largest, 650000000 (lossy: the rule
    that the largest size is the model's size is declared in the mapping and reported)."""
    if isinstance(value, str):
        try:
            sizes = listed_counts(value)
        except NotExact as exc:
            raise NotConvertible(str(exc)) from None
        return Converted(max(sizes), lossless=False)
    raise NotConvertible("not a list of sizes")


def integer(value: Any) -> Converted:
    if isinstance(value, int) and not isinstance(value, bool):
        return Converted(value)
    if isinstance(value, str) and value.strip().isdigit():
        return Converted(int(value.strip()))
    raise NotConvertible("not a whole number")


def year(value: Any) -> Converted:
    """The year in a text such as ``"NeurIPS 2023"`` (a copy: the text itself stays)."""
    if isinstance(value, int) and 1900 <= value <= 2100:
        return Converted(value)
    years = _YEAR.findall(str(value)) if isinstance(value, str) else []
    if len(set(years)) != 1:
        raise NotConvertible("no single year in the text")
    return Converted(int(years[0]))


def year_from_arxiv(value: Any) -> Converted:
    """The year of an arXiv id or link (``2401.01234`` -> 2024)."""
    match = _ARXIV.search(str(value)) if isinstance(value, str) else None
    if not match:
        raise NotConvertible("not an arXiv id")
    return Converted(2000 + int(match.group(1)))


def bare_doi(value: Any) -> Converted:
    if not isinstance(value, str):
        raise NotConvertible("not text")
    match = _DOI.match(value.strip())
    if not match:
        raise NotConvertible("not a DOI link")
    return Converted(match.group(1))


def arxiv_id(value: Any) -> Converted:
    """``"arXiv:2502.04567"`` or an arxiv.org link -> ``2502.04567``."""
    match = _ARXIV_ID.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise NotConvertible("not an arXiv id")
    return Converted(match.group(1))


def hub_id(value: Any) -> Converted:
    match = _HUB.match(value) if isinstance(value, str) else None
    if not match:
        raise NotConvertible("not a model page on the Hugging Face hub")
    return Converted(match.group(1))


def first(value: Any) -> Converted:
    if not isinstance(value, list) or not value:
        raise NotConvertible("not a non-empty list")
    return Converted(value[0], lossless=len(value) == 1)


def wrap_list(value: Any) -> Converted:
    if isinstance(value, list):
        return Converted(value)
    if isinstance(value, str) and value.strip():
        return Converted([value])
    raise NotConvertible("not text")


def split_commas(value: Any) -> Converted:
    if isinstance(value, list):
        return Converted(value)
    if isinstance(value, str) and "," in value:
        return Converted([part.strip() for part in value.split(",") if part.strip()])
    if isinstance(value, str) and value.strip():
        return Converted([value.strip()])
    raise NotConvertible("not text")


def join_lines(value: Any) -> Converted:
    """A list of sentences as one text, one ``- `` line each; text stays as it is."""
    if isinstance(value, str):
        return Converted(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return Converted("\n".join(f"- {v}" for v in value))
    raise NotConvertible("not text or a list of texts")


def location(value: Any) -> Converted:
    """Where data live: text as it is; ``{bucket, path}`` joined into one location."""
    if isinstance(value, str):
        return Converted(value)
    if isinstance(value, dict) and value and set(value) <= {"bucket", "path", "prefix"} \
            and all(isinstance(v, str) for v in value.values()):
        parts = [str(value[k]).strip("/") if i else str(value[k]).rstrip("/")
                 for i, k in enumerate(k for k in ("bucket", "prefix", "path") if k in value)]
        text = "/".join(p for p in parts if p)
        return Converted(text + ("/" if str(list(value.values())[-1]).endswith("/") else ""))
    raise NotConvertible("not a location")


def unique(value: Any) -> Converted:
    if not isinstance(value, list):
        raise NotConvertible("not a list")
    seen: list[Any] = []
    for item in value:
        if item not in seen:
            seen.append(item)
    return Converted(seen)


def single(value: Any) -> Converted:
    """A list whose items are all the same value, as that value."""
    if isinstance(value, list) and value and all(v == value[0] for v in value):
        return Converted(value[0])
    raise NotConvertible("not one repeated value")


def date(value: Any) -> Converted:
    if isinstance(value, dt.datetime):
        return Converted(value.date().isoformat())
    if isinstance(value, dt.date):
        return Converted(value.isoformat())
    if isinstance(value, str):
        try:
            return Converted(dt.date.fromisoformat(value.strip()[:10]).isoformat())
        except ValueError:
            pass
    raise NotConvertible("not a date")


CONVERTERS: dict[str, Callable[[Any], Converted]] = {
    "count": count, "tokens": tokens, "largest_count": largest_count, "integer": integer,
    "year": year, "year_from_arxiv": year_from_arxiv,
    "bare_doi": bare_doi, "arxiv_id": arxiv_id, "hub_id": hub_id, "first": first,
    "wrap_list": wrap_list,
    "split_commas": split_commas, "join_lines": join_lines, "location": location,
    "unique": unique, "single": single, "date": date,
}


def converter(spec: Any) -> Callable[[Any], Converted]:
    """The converter a rule names: a name, ``{map: {old: new}}``, ``{wrap: field}``, or a list
    of these (the first that converts the value)."""
    if spec is None:
        return Converted
    if isinstance(spec, list) and spec:
        chain = [converter(item) for item in spec]

        def first_working(value: Any) -> Converted:
            reasons = []
            for convert in chain:
                try:
                    return convert(value)
                except NotConvertible as exc:
                    reasons.append(str(exc))
            raise NotConvertible(reasons[0])
        return first_working
    if isinstance(spec, str):
        if spec not in CONVERTERS:
            raise KeyError(spec)
        return CONVERTERS[spec]
    if isinstance(spec, dict) and set(spec) == {"map"} and isinstance(spec["map"], dict):
        table = {str(k): v for k, v in spec["map"].items()}

        def mapped(value: Any) -> Converted:
            if isinstance(value, str) and value in table:
                return Converted(table[value])
            raise NotConvertible(f"{value!r} has no entry in the table")
        return mapped
    if isinstance(spec, dict) and set(spec) == {"wrap"} and isinstance(spec["wrap"], str):
        field = spec["wrap"]

        def wrapped(value: Any) -> Converted:
            if isinstance(value, dict):
                return Converted(value)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return Converted({field: value})
            raise NotConvertible("not a plain value")
        return wrapped
    raise KeyError(str(spec))


def is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    split = urlsplit(value.strip())
    return split.scheme in ("http", "https") and bool(split.netloc) and "." in split.netloc
