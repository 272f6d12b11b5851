"""Round-trip YAML trees (ruamel.yaml): read, walk by path, insert, rename and delete keys while
keeping key order and comments; write back with the file's own indentation."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from kbtools.migrate.comments import keep_comments

Steps = tuple[str, ...]
ITEM = "[]"  # every item of a list
ENTRY = "*"  # every entry of a mapping
_STEP = re.compile(r"\[\]|[^.\[\]]+")


def parse_path(text: str) -> Steps:
    """``"checkpoints[].path"`` -> ``("checkpoints", "[]", "path")``; ``"counts.*"`` too."""
    return tuple(_STEP.findall(text))


def show_path(steps: tuple[str | int, ...]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step == ITEM:
            out += "[]"
        else:
            out += f".{step}" if out else str(step)
    return out


# ---------------------------------------------------------------------------------------------
# reading and writing


def _yaml(mapping: int = 2, sequence: int = 4, offset: int = 2) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def sequence_style(text: str) -> tuple[int, int]:
    """(sequence, offset) indentation of the file's block lists: ``key:\\n  - x`` is (4, 2),
    ``key:\\n- x`` is (2, 0)."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        stripped = line.rstrip()
        if stripped.endswith(":") and not stripped.lstrip().startswith(("#", "-")):
            nxt = lines[i + 1]
            if nxt.lstrip().startswith("- "):
                offset = (len(nxt) - len(nxt.lstrip())) - (len(line) - len(line.lstrip()))
                if offset >= 0:
                    return offset + 2, offset
    return 4, 2


def load(text: str) -> Any:
    return _yaml().load(text)


def dump(data: Any, like: str) -> str:
    """``data`` as YAML text, indented like ``like`` (the file's original text)."""
    sequence, offset = sequence_style(like)
    yaml = _yaml(2, sequence, offset)
    head, start = _document_head(like)
    yaml.explicit_start = start
    expected = plain(data)

    def holds_the_values(text: str) -> bool:
        from kbtools.yamlio import YAMLLoadError, loads

        try:
            return plain(loads(text, string_keys=True)) == expected
        except YAMLLoadError:  # e.g. a duplicate key: a comment broke the structure
            return False

    def emit(node: Any) -> str:
        buf = io.StringIO()
        yaml.dump(node, buf)
        return head + buf.getvalue()

    text = emit(data)
    if not holds_the_values(text):  # comments wedged inside values: write without them
        text = emit(fresh(expected))
    return keep_comments(like, text, holds_the_values)


def _document_head(text: str) -> tuple[str, bool]:
    """Comment and blank lines before a ``---`` document start (ruamel drops them), and
    whether the document starts with ``---``."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("---"):
            return "".join(lines[:i]), True
        if stripped and not stripped.startswith("#"):
            break
    return "", False


def plain(value: Any) -> Any:
    """Plain Python data (dicts, lists, str, numbers; dates as ISO text), as kbtools reads it."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def fresh(value: Any) -> Any:
    """A plain value as a round-trip node (mappings and lists become commented containers)."""
    if isinstance(value, dict) and not isinstance(value, CommentedMap):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = fresh(v)
        return out
    if isinstance(value, list) and not isinstance(value, CommentedSeq):
        return CommentedSeq(fresh(v) for v in value)
    if type(value) is str and "\n" in value.strip():
        return LiteralScalarString(value)  # several lines: a `|` block, not an escaped line
    return value


# ---------------------------------------------------------------------------------------------
# walking


def matches(node: Any, steps: Steps, done: tuple[str | int, ...] = ()
            ) -> Iterator[tuple[Any, str | int, tuple[str | int, ...]]]:
    """(container, key, concrete path) of every value at ``steps`` (``[]``/``*`` expanded)."""
    if not steps:
        return
    step, rest = steps[0], steps[1:]
    if step == ITEM:
        if isinstance(node, list):
            for index in range(len(node)):
                if rest:
                    yield from matches(node[index], rest, (*done, index))
                else:
                    yield node, index, (*done, index)
        return
    if not isinstance(node, dict):
        return
    keys = list(node) if step == ENTRY else ([step] if step in node else [])
    for key in keys:
        if rest:
            yield from matches(node[key], rest, (*done, key))
        else:
            yield node, key, (*done, key)


def containers(node: Any, steps: Steps, done: tuple[str | int, ...] = ()
               ) -> Iterator[tuple[Any, tuple[str | int, ...]]]:
    """Every container reached by ``steps`` (each ``[]`` / ``*`` expanded), with its path."""
    if not steps:
        yield node, done
        return
    step, rest = steps[0], steps[1:]
    if step == ITEM and isinstance(node, list):
        for index, item in enumerate(node):
            yield from containers(item, rest, (*done, index))
    elif step == ENTRY and isinstance(node, dict):
        for key, item in node.items():
            yield from containers(item, rest, (*done, key))
    elif isinstance(node, dict) and step in node:
        yield from containers(node[step], rest, (*done, step))


_MISSING = object()


def _walk(node: Any, steps: Steps) -> Any:
    for step in steps:
        if not isinstance(node, dict) or step not in node:
            return _MISSING
        node = node[step]
    return node


def get(node: Any, steps: Steps) -> Any:
    """The value at ``steps``, or None when the path does not exist."""
    found = _walk(node, steps)
    return None if found is _MISSING else found


def has(node: Any, steps: Steps) -> bool:
    """Whether ``steps`` leads to a value (None included)."""
    return _walk(node, steps) is not _MISSING


# ---------------------------------------------------------------------------------------------
# editing (order and comments kept)


def put(root: Any, steps: Steps, value: Any, near: Steps | None = None) -> None:
    """Set ``value`` at ``steps`` under ``root`` (a mapping), creating mappings on the way.

    A new key is inserted right after ``near``'s branch when ``near`` (the path a value came
    from) shares the parent, else appended.
    """
    node = root
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        if not isinstance(node, dict):
            raise TypeError(f"cannot set {show_path(steps)}: {show_path(steps[:depth])} is not "
                            "a mapping")
        if step in node and not last:
            node = node[step]
            continue
        new = fresh(value) if last else CommentedMap()
        if step in node:
            replace(node, step, new)
        else:
            position = _position_near(node, steps[:depth], near)
            if position is None or not isinstance(node, CommentedMap):
                node[step] = new
            else:
                node.insert(position, step, new)
        node = node[step]


def _position_near(node: dict[str, Any], here: Steps, near: Steps | None) -> int | None:
    if near is None or len(near) <= len(here) or tuple(near[:len(here)]) != tuple(here):
        return None
    branch = near[len(here)]
    keys = list(node)
    return keys.index(branch) + 1 if branch in keys else None


def replace(container: Any, key: str | int, value: Any) -> None:
    """Set ``container[key]`` to ``value`` keeping the comments that followed the old value
    (its end-of-line comment and the full-line comments after it) after the new one.

    ruamel keeps the comment after a value on the value's last leaf, so replacing a scalar by
    a mapping, or one mapping by another, would otherwise lose those comments or print them
    inside the new value (``-\n  # comment\n    name: x``)."""
    new = value if isinstance(value, CommentedMap | CommentedSeq) else fresh(value)
    holder, hkey, slot = _tail(container, key)
    token = _token(holder, hkey, slot)
    if token is not None:
        holder.ca.items[hkey][slot] = None
    container[key] = new
    if token is not None:
        _append_comment(container, key, token.value.lstrip("\n"), token)


def rename(node: CommentedMap, old: str, new: str) -> None:
    """Rename a key in place: same position, same comments."""
    keys = list(node)
    position = keys.index(old)
    token = node.ca.items.pop(old, None)
    value = node[old]
    del node[old]
    node.insert(position, new, value)
    if token is not None:
        node.ca.items[new] = token


def delete(container: Any, key: str | int) -> None:
    """Remove a key (or list item); full-line comments that followed it are kept, attached
    to the value before it."""
    holder, hkey, slot = _tail(container, key)
    token = _token(holder, hkey, slot)
    following = ""
    if token is not None:
        text = token.value
        following = text.partition("\n")[2] if not text.startswith("\n") else text[1:]
    if isinstance(container, dict):
        keys = list(container)
        index = keys.index(key)
        container.ca.items.pop(key, None)
        del container[key]
        previous = keys[index - 1] if index > 0 else None
    else:
        index = int(key)
        container.ca.items.pop(index, None)
        shifted = {i - 1 if i > index else i: v for i, v in container.ca.items.items()}
        container.ca.items.clear()
        container.ca.items.update(shifted)
        del container[index]
        previous = index - 1 if index > 0 else None
    if following.strip() and previous is not None:
        _append_comment(container, previous, following)


def _tail(container: Any, key: str | int) -> tuple[Any, str | int, int]:
    """Where ruamel keeps the comment that follows the value at ``key``: its last leaf."""
    value = container[key]
    while isinstance(value, CommentedMap | CommentedSeq) and len(value):
        key = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        container, value = value, value[key]
    return container, key, 0 if isinstance(container, CommentedSeq) else 2


def _token(holder: Any, key: str | int, slot: int) -> CommentToken | None:
    entry = getattr(holder, "ca", None) and holder.ca.items.get(key)
    if not entry or len(entry) <= slot:
        return None
    token = entry[slot]
    return token if isinstance(token, CommentToken) else None


def _append_comment(container: Any, key: str | int, lines: str,
                    whole: CommentToken | None = None) -> None:
    """Put comment ``lines`` after the value at ``key`` (after its own comment, if any);
    ``whole``: the token itself, to keep where there is none (its end-of-line part stays)."""
    holder, hkey, slot = _tail(container, key)
    if not hasattr(holder, "ca"):
        return
    entry = holder.ca.items.setdefault(hkey, [None, None, None, None])
    token = entry[slot] if isinstance(entry[slot], CommentToken) else None
    if token is None:
        entry[slot] = whole or CommentToken("\n" + lines, CommentMark(0), None)
    else:
        token.value = token.value + ("" if token.value.endswith("\n") else "\n") + lines


def eol_comment(container: Any, key: str | int) -> CommentToken | None:
    """The end-of-line comment of a scalar value (without the full-line comments after it)."""
    if isinstance(container[key], CommentedMap | CommentedSeq):
        return None
    slot = 0 if isinstance(container, CommentedSeq) else 2
    token = _token(container, key, slot)
    if token is None or token.value.startswith("\n"):
        return None
    return token
