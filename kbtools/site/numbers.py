"""How numbers are written on the site's pages.

Quantities get thousands separators and four significant digits; numbers that are labels
(years, seeds, ids, fold and mode numbers, dimensions, ranks) are written as they are: a year
is 2025, not 2,025. Every function returns :class:`markupsafe.Markup`: numbers are written by
kbtools, and any text among the values is escaped with :func:`kbtools.site.escape.inline`.
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
    r"dim|dims|chosen_dim|best_dim|inner_choices|k|repeat|split|index|version|commit|port|"
    r"date|day|month|rev|revision|pmid|isbn|issn|zip|code|step|epoch|layer|chromosome|chr)$",
    re.IGNORECASE)
#: Integers of at least this size are written plainly whatever their key: seeds and dates
#: such as 20261121 are labels far more often than counts in a KB.
_DATE_LIKE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")


def is_label(key: Any) -> bool:
    """Whether values under ``key`` (``seed``, ``summary.modes.0.mode``) are labels."""
    if not isinstance(key, str) or not key:
        return False
    return bool(LABEL_KEY.search(key.rsplit(".", 1)[-1]))


def fmt(value: Any, key: Any = None) -> Markup:
    """A value as a reader wants to see it: 4 significant digits, thousands separators for
    quantities, labels (see :func:`is_label`) written plainly, lists joined, text escaped."""
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return Markup("–")
    if hasattr(value, "__html__"):
        return value
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, int):
        if is_label(key) or _DATE_LIKE.match(str(value)):
            return Markup(str(value))
        return Markup(f"{value:,}")
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return Markup(str(value))
        if value.is_integer() and is_label(key):
            return Markup(str(int(value)))
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return Markup(f"{value:.3e}")
        return Markup(f"{value:.4g}")
    if isinstance(value, list):
        return Markup(", ").join(fmt(v, key) for v in value) if value else Markup("–")
    if isinstance(value, dict):
        return (Markup("; ").join(Markup("{}: {}").format(escape.inline(k), fmt(v, k))
                                  for k, v in value.items()) if value else Markup("–"))
    return escape.inline(value)


def p_value(value: Any) -> Markup:
    """A p- or q-value: 3 significant digits, scientific below 0.001."""
    if isinstance(value, float) and not math.isnan(value) and 0 < abs(value) < 1e-3:
        return Markup(f"{value:.2e}")
    if isinstance(value, float) and not math.isnan(value):
        return Markup(f"{value:.3g}")
    return fmt(value)


def estimate(value: Any, digits: int = 3) -> Markup:
    """An :class:`~kbtools.site.results.Estimate` as ``0.685 [0.641, 0.730]`` or
    ``0.685 ± 0.020`` (no-break spaces, so a cell never wraps inside it); a plain number with
    the same decimals, anything else with ``fmt``."""
    if value is None or not hasattr(value, "sd"):
        return _fixed(value, digits)
    shown = _fixed(value.value, digits)
    if _number(value.low) and _number(value.high):
        return Markup("{}\u00a0[{},\u00a0{}]").format(shown, _fixed(value.low, digits),
                                                        _fixed(value.high, digits))
    if _number(value.sd):
        return Markup("{}\u00a0±\u00a0{}").format(shown, _fixed(value.sd, digits))
    return shown


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value))


def _fixed(value: Any, digits: int) -> Markup:
    """A metric with ``digits`` decimals (AUROC 0.685), small values in scientific notation."""
    if isinstance(value, float) and _number(value):
        text = f"{value:.{digits}f}"
        return Markup(text.removeprefix("-") if float(text) == 0 else text)
    return fmt(value)


def params(value: Any) -> Markup:
    """A parameter count as 1.2B, 350M, 86K."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return fmt(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return Markup(f"{value / size:.3g}{suffix}")
    return fmt(value)


def delta(value: Any) -> Markup:
    """A change with its sign: +0.05."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return Markup("")
    return Markup(f"{value:+.4g}")


_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})")


def when(value: Any) -> Markup:
    """An ISO timestamp as ``2026-11-21 06:52``, in a span that never wraps; other values
    with :func:`fmt`."""
    match = _ISO_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return fmt(value)
    return Markup(f'<span class="kb-when">{match[1]}\u00a0{match[2]}</span>')
