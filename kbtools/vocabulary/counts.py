"""Counts written as text: ``"650M"`` -> 650000000, ``"12,500"`` -> 12500."""

from __future__ import annotations

import re

_COUNT = re.compile(r"^\s*~?\s*(\d+(?:[.,]\d+)?)\s*([kKmMbBtT])?\s*$")
_SCALE = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def parse_count(text: str) -> int | None:
    """``"650M"`` -> 650000000, ``"1.2B"`` -> 1200000000, ``"12,500"`` -> 12500; else None."""
    match = _COUNT.match(text)
    if not match:
        return None
    number, scale = match.groups()
    if scale is None and "," in number:
        number = number.replace(",", "")
    elif "," in number:
        return None
    try:
        amount = float(number)
    except ValueError:
        return None
    return int(round(amount * _SCALE.get((scale or "").lower(), 1)))
