"""How numbers are written on the site's pages: the one place for the site's number rule.

The rule, for every page:

* **counts** (integers that are quantities: subjects, rows, bytes, permutations) are grouped
  with thousands separators: ``2,000``, ``502,543``;
* **labels** (years, seeds, ids, fold and mode numbers, line numbers, versions) are written as
  they are: a year is 2025, not 2,025 (:func:`is_label`, by the key a value sits under);
* **estimates** with an interval or a spread are rounded where the interval says the digits stop
  meaning anything: the interval's half-width (or the SD) keeps two significant digits and the
  estimate gets the same decimals (``0.069 ± 0.013``, ``0.685 [0.641, 0.730]``); without an
  interval, an estimate keeps three significant digits (``0.685``, ``0.0690``);
* **p- and q-values** always show two significant digits, fixed-point down to 0.001 and as a
  power of ten below it (``0.30``, ``0.0012``, ``7.6 × 10⁻⁶``);
* any other number keeps four significant digits; nothing is ever written in ``e`` notation
  (``8.000e-04``): very small and very large values are written as a power of ten.

What each number is, and its unit, is the column header's job (templates).

Every function returns :class:`markupsafe.Markup`: numbers are written by kbtools, and any text
among the values is escaped with :func:`kbtools.site.escape.inline`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import jinja2
from markupsafe import Markup

from kbtools.site import escape

#: Keys (the last dotted part) whose integer values are labels, not quantities.
LABEL_KEY = re.compile(
    r"(?:^|_)(?:year|seed|seeds|random_state|id|ids|fold|folds?_index|mode|modes?_index|rank|"
    r"inner_choices|k|repeat|split|index|version|commit|port|line|column|"
    r"date|day|month|rev|revision|pmid|isbn|issn|zip|code|step|epoch|layer|chromosome|chr)$",
    re.IGNORECASE)
#: Keys whose values are p- or q-values (written by :func:`p_value`).
P_KEY = re.compile(r"^p\d*(?:_|$)|^q(?:_|$)|_[pq]$|(?:^|_)(?:[pq]_?value|fwer)(?:_|$)",
                   re.IGNORECASE)
#: Integers of this shape are written plainly whatever their key: seeds and dates such as
#: 20261121 are labels far more often than counts in a KB.
_DATE_LIKE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
#: Smallest and largest magnitudes written in plain decimals; outside, a power of ten.
_SMALLEST, _LARGEST = 1e-4, 1e15
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_NBSP = "\u00a0"


def is_label(key: Any) -> bool:
    """Whether values under ``key`` (``seed``, ``summary.modes.0.mode``) are labels."""
    if not isinstance(key, str) or not key:
        return False
    return bool(LABEL_KEY.search(key.rsplit(".", 1)[-1]))


def is_p_key(key: Any) -> bool:
    """Whether values under ``key`` (``p``, ``delong_p``, ``q``) are p- or q-values."""
    if not isinstance(key, str) or not key:
        return False
    return bool(P_KEY.search(key.rsplit(".", 1)[-1]))


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


# -- the pieces of the rule -----------------------------------------------------------------------

def grouped(value: float, decimals: int = 0) -> str:
    """``value`` with ``decimals`` decimals and its integer part grouped: 12,345.6."""
    text = f"{value:,.{decimals}f}"
    return text.removeprefix("-") if float(text.replace(",", "")) == 0 else text


def power_of_ten(value: float, significant: int, *, trim: bool = False) -> str:
    """``value`` as ``7.6 × 10⁻⁶`` with ``significant`` significant digits (``trim``: without
    trailing zeros)."""
    mantissa, exponent = f"{value:.{significant - 1}e}".split("e")
    if trim and "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}{_NBSP}×{_NBSP}10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def _magnitude(value: float) -> int:
    """The power of ten of ``value``'s first significant digit (0.0123 -> -2)."""
    return math.floor(math.log10(abs(value)))


def significant(value: float, digits: int, *, trim: bool = False) -> str:
    """``value`` with ``digits`` significant digits, in plain decimals when it is neither tiny
    nor huge; ``trim`` drops trailing zeros (0.5, not 0.5000)."""
    if value == 0:
        return "0"
    if not _SMALLEST <= abs(value) < _LARGEST:
        return power_of_ten(value, digits, trim=trim)
    decimals = max(0, digits - 1 - _magnitude(value))
    # rounding may carry into a new digit (0.09996 -> 0.1000): recompute from the rounded value
    rounded = round(value, decimals)
    if rounded and _magnitude(rounded) != _magnitude(value):
        decimals = max(0, digits - 1 - _magnitude(rounded))
    text = grouped(value, decimals)
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def decimals_for(spread: Any) -> int | None:
    """Decimals an estimate with this uncertainty (half-width or SD) is worth: two significant
    digits of the uncertainty. None when there is no usable uncertainty."""
    if not is_number(spread) or spread <= 0:
        return None
    return min(max(0, 1 - _magnitude(float(f"{spread:.1e}"))), 10)  # 0.0996 counts as 0.10


# -- filters -----------------------------------------------------------------------------------

def count(value: Any) -> Markup:
    """A count: grouped with thousands separators (text and other values as :func:`fmt`)."""
    if is_number(value) and float(value).is_integer():
        return Markup(grouped(value))
    return fmt(value)


def fmt(value: Any, key: Any = None) -> Markup:
    """A value as a reader wants to see it (see the module's rule): counts grouped, labels
    plainly, p-values by :func:`p_value`, other numbers with 4 significant digits, lists
    joined, mappings as ``key: value`` pairs, text escaped."""
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return Markup("–")
    if hasattr(value, "__html__"):
        return value
    if hasattr(value, "sd") and hasattr(value, "value"):  # a results Estimate
        return estimate(value)
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, int):
        if is_label(key) or _DATE_LIKE.match(str(value)):
            return Markup(str(value))
        return Markup(grouped(value))
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return Markup(str(value))
        if value.is_integer() and is_label(key):
            return Markup(str(int(value)))
        if is_p_key(key):
            return p_value(value)
        return Markup(significant(value, 4, trim=True))
    if isinstance(value, list):
        return Markup(", ").join(fmt(v, key) for v in value) if value else Markup("–")
    if isinstance(value, dict):
        return (Markup("; ").join(Markup("{}: {}").format(escape.inline(k), fmt(v, k))
                                  for k, v in value.items()) if value else Markup("–"))
    return escape.inline(value)


def label(value: Any) -> Markup:
    """A number that names something (a year, a seed, a line number): written as it is."""
    if is_number(value) and float(value).is_integer():
        return Markup(str(int(value)))
    return fmt(value)


def p_value(value: Any) -> Markup:
    """A p- or q-value: two significant digits, a power of ten below 0.001."""
    if not is_number(value) or isinstance(value, bool):
        return fmt(value)
    value = float(value)
    if value == 0:
        return Markup("0")
    if abs(value) < 1e-3:
        return Markup(power_of_ten(value, 2))
    return Markup(significant(value, 2))


def estimate(value: Any, digits: int | None = None) -> Markup:
    """An :class:`~kbtools.site.results.Estimate` as ``0.685 [0.641, 0.730]`` or
    ``0.069 ± 0.013`` (no-break spaces, so a cell never wraps inside it), rounded as its
    interval (else its SD) justifies; a plain number with three significant digits.

    ``digits`` fixes the decimals instead (for a column that must line up).
    """
    if value is None or not hasattr(value, "sd"):
        return _point(value, digits)
    if digits is None and is_number(value.value):
        digits = precision(value)
        if digits is None and value.value and _SMALLEST <= abs(value.value) < _LARGEST:
            digits = max(0, 2 - _magnitude(value.value))  # three significant digits
    shown = _point(value.value, digits)
    if is_number(value.low) and is_number(value.high):
        return Markup("{}\u00a0[{},\u00a0{}]").format(shown, _point(value.low, digits),
                                                        _point(value.high, digits))
    if is_number(value.sd):
        return Markup("{}\u00a0±\u00a0{}").format(shown, _point(value.sd, digits))
    return shown


def precision(value: Any) -> int | None:
    """The decimals :func:`estimate` gives ``value`` (None: three significant digits), so a
    number beside it can be written alike."""
    if value is None or not hasattr(value, "sd"):
        return None
    if is_number(value.low) and is_number(value.high):
        return decimals_for((value.high - value.low) / 2)
    return decimals_for(value.sd)


def _point(value: Any, digits: int | None) -> Markup:
    """One number of an estimate: ``digits`` decimals, else three significant digits."""
    if not is_number(value) or isinstance(value, bool):
        return fmt(value)
    if digits is None:
        return Markup(significant(float(value), 3))
    return Markup(grouped(float(value), digits))


def params(value: Any) -> Markup:
    """A parameter count as 1.2B, 350M, 86K."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return fmt(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return Markup(f"{value / size:.3g}{suffix}")
    return fmt(value)


def delta(value: Any) -> Markup:
    """A change with its sign: +0.05 (three significant digits)."""
    if not is_number(value):
        return Markup("")
    text = significant(float(value), 3, trim=True)
    return Markup(text if text.startswith("-") or text == "0" else f"+{text}")


_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})")


def when(value: Any) -> Markup:
    """An ISO timestamp as ``2026-11-21 06:52``, in a span that never wraps; other values
    with :func:`fmt`."""
    match = _ISO_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return fmt(value)
    return Markup(f'<span class="kb-when">{match[1]}\u00a0{match[2]}</span>')
