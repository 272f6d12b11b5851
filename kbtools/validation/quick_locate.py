"""Line and column of a JSON path by reading the lines of a plain block-style YAML file.

Locating a problem normally composes the whole document again (about half a millisecond a
file), which dominates ``kbtools validate`` when thousands of cards each have a reference
problem. Most such paths are simple (``datasets[0]``, ``data.gene.dataset``, ``id``), and in
plainly written YAML the key sits at the start of a line at a known indentation. This module
finds those by scanning lines, and gives up (returns None, so the caller composes) on anything
else: flow collections, quoted or complex keys, anchors, tags, block scalars on the way, paths
that do not exist. Where it answers, it answers what :class:`kbtools.yamlio.Locator` would
(the tests compare both on every path of real cards).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kbtools.yamlio import Position

_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-]*)[ ]*:(?=[ ]|$)")
_UNSURE_ITEM = ("#", "|", ">", "&", "*", "!", "{", "[", "-", "?", "%", "@", "`")


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def quick_find(text: str, parts: Sequence[str | int]) -> Position | None:
    """Where :class:`~kbtools.yamlio.Locator` would put ``parts``, or None if unsure."""
    if "\t" in text or "\r" in text:
        return None
    lines = text.split("\n")
    lo, hi = 0, len(lines)
    first = next((i for i in range(lo, hi) if _content(lines[i])), None)
    if first is None:
        return None
    if lines[first].startswith(("---", "%", "...")):
        if lines[first].rstrip() != "---":
            return None
        lo = first + 1
    for depth, part in enumerate(parts):
        first = next((i for i in range(lo, hi) if _content(lines[i])), None)
        if first is None:
            return None
        ind = _indent(lines[first])
        last = depth == len(parts) - 1
        if isinstance(part, int):
            if not last or not lines[first].startswith("- ", ind):
                return None
            items = [i for i in range(first, hi) if _content(lines[i])
                     and _indent(lines[i]) == ind and lines[i].startswith("-", ind)]
            if not 0 <= part < len(items):
                return None
            line = lines[items[part]]
            if not line.startswith("- ", ind):
                return None
            body = line[ind + 2:]
            start = ind + 2 + _indent(body)
            if not body.strip() or body.lstrip().startswith(_UNSURE_ITEM):
                return None
            return Position(items[part] + 1, start + 1)
        found, match = None, None
        for i in range(first, hi):
            line = lines[i]
            if not _content(line):
                continue
            here = _indent(line)
            if here < ind:
                return None
            if here > ind or line.startswith("- ", ind):
                continue  # deeper lines, or a list written at its key's indentation
            match = _KEY.match(line, ind)
            if match is None:
                return None  # a list, a quoted or complex key, flow style: let the parser say
            if match.group(1) == part:
                found = i
                break
        if found is None or match is None:
            return None
        if last:
            return Position(found + 1, ind + 1)
        rest = lines[found][match.end():].strip()
        if rest and not rest.startswith("#"):
            return None  # a value on the key's line (flow, block scalar, anchor, tag, text)
        end = found + 1
        while end < hi:
            line = lines[end]
            if _content(line):
                here = _indent(line)
                if here < ind or (here == ind and not line.startswith("- ", here)):
                    break
            end += 1
        lo, hi = found + 1, end
    return None
