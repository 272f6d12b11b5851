"""Counts written as text, read only when the text states one exact number.

``"650M"`` -> 650000000, ``"1.2B"`` -> 1200000000, ``"12,500"`` -> 12500. Placeholders
(``"TBD (e.g., 7B–155B)"``), ranges (``"7B–155B"``), bounds (``"scales to 7B+"``, ``">1M"``) and
approximations (``"~1.3B"``, ``"about 600"``) are not numbers: :func:`exact_count` says why.
A ``k`` is ambiguous (``"4k"``: 4,000 or 4,096; ``"131k"``: 131,000 or 131,072, a power of
two rounded), and so is any suffix of a token count: those are read only in digits.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*([kKmMbBtT])?$")
_SCALE = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
_PLACEHOLDER = re.compile(r"\b(tbd|tba|todo|unknown|n/?a|e\.g\.|i\.e\.|etc)\b|\?", re.I)
_APPROX = re.compile(r"^[~≈∼]|\b(about|approx(imately|\.)?|around|circa|ca\.|roughly|nearly|"
                     r"almost)\b", re.I)
_BOUND = re.compile(r"[+<>≤≥]|\b(up to|at least|at most|over|under|more than|less than|"
                    r"scales? to|from|min(imum)?|max(imum)?)\b", re.I)
_RANGE = re.compile(r"\d\s*[KMBTkmbt]?\s*(?:[-–—]|\bto\b)\s*\d", re.I)
_SEPARATED = re.compile(r"\s*(?:/|,\s|;|\bor\b|\band\b)\s*")


class NotExact(ValueError):
    """The text states no single exact number (the message says why)."""


def exact_count(text: str, *, tokens: bool = False) -> int:
    """The count ``text`` states exactly; :class:`NotExact` with the reason otherwise.

    ``tokens``: a token count (a context length), where a ``k``/``M`` suffix is ambiguous
    (1,000 or 1,024), so only digits are read.
    """
    shown = text.strip()
    if _PLACEHOLDER.search(shown):
        raise NotExact(f"`{shown}` is a placeholder, not a number")
    if _APPROX.search(shown):
        raise NotExact(f"`{shown}` is an approximation, not an exact number")
    if _RANGE.search(shown):
        raise NotExact(f"`{shown}` is a range, not one number")
    if _BOUND.search(shown):
        raise NotExact(f"`{shown}` is a bound, not an exact number")
    match = _NUMBER.match(shown)
    if not match:
        raise NotExact(f"`{shown}` is not a number")
    whole, fraction, scale = match.groups()
    if scale is None and fraction is None:
        return int(whole.replace(",", ""))
    if scale is None or "," in whole:
        raise NotExact(f"`{shown}` is not a whole number")
    amount = int(round(float(whole + (fraction or "")) * _SCALE[scale.lower()]))
    if tokens or scale.lower() == "k":
        shown_readings = [f"{n:,}" for n in token_readings(amount)]
        readings = ", ".join(shown_readings[:-1]) + " or " + shown_readings[-1]
        raise NotExact(f"`{shown}` is ambiguous (it may be {readings}: a `k` is often rounded "
                       "or 1,024-based, and tokens are counted in powers of two); write the "
                       "exact number in digits")
    return amount


def token_readings(amount: int) -> list[int]:
    """What a rounded token count may stand for: itself, the 1,024-based reading of its
    ``k``, and the nearest power of two within 3% (``131k`` -> 131,000 or 131,072)."""
    out = [amount]
    if amount % 1000 == 0:
        out.append(amount // 1000 * 1024)
    power = 1 << max(amount.bit_length() - 1, 0)
    for near in (power, power * 2):
        if abs(near - amount) <= 0.03 * amount:
            out.append(near)
    return sorted(set(out))


def parse_count(text: str, *, tokens: bool = False) -> int | None:
    """:func:`exact_count`, or None when the text states no exact number."""
    try:
        return exact_count(text, tokens=tokens)
    except NotExact:
        return None


def listed_counts(text: str) -> list[int]:
    """Every count of a list of exact counts (``"111M / 650M"``); :class:`NotExact` if any
    part is not one (a range, a bound, a placeholder) or there is only one."""
    parts = [p for p in _SEPARATED.split(text.strip()) if p]
    if len(parts) < 2:
        raise NotExact(f"`{text.strip()}` is not a list of counts")
    return [exact_count(part) for part in parts]
