"""Safe, strict YAML loading shared by every part of kbtools.

* libyaml (C) parses; a small builder turns its events into plain data. No constructor runs
  for any tag outside plain JSON-like data, so ``!!python/...`` tags cannot execute anything;
* duplicate mapping keys are an error (PyYAML would silently keep the last);
* dates and timestamps stay ISO strings, so schemas type them as ``string`` + ``format``;
* aliases are shared, and the size the document expands to is bounded, so alias bombs fail fast;
* line and column of a JSON path are computed only when a problem needs them (:func:`locate`).

The builder reads libyaml's event stream directly, which is 2-3x faster than
``yaml.load(..., CSafeLoader)`` and keeps the same YAML 1.1 scalar rules as PyYAML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml import events as _ev

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

#: Largest number of nodes a document may expand to (aliases counted each time they are used).
MAX_NODES = 200_000
#: Largest file accepted, in bytes.
MAX_BYTES = 5 * 1024 * 1024
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 200

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _MAP, _SEQ = (_TAG + t for t in ("timestamp", "merge", "map", "seq"))
_RESOLVERS = _BaseLoader.yaml_implicit_resolvers
_SCALARS = yaml.constructor.SafeConstructor()  # only for the rare int/float spellings


class YAMLLoadError(Exception):
    """A file that is not usable YAML; carries the position when the parser gives one."""

    def __init__(self, message: str, rule: str, line: int | None = None, column: int | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.line = line
        self.column = column
        self.hint = hint


class StrictLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The libyaml loader class used for parsing (kept for callers that name it)."""


def _error(message: str, rule: str, mark: Any, hint: str | None = None) -> YAMLLoadError:
    if mark is None:
        return YAMLLoadError(message, rule, hint=hint)
    return YAMLLoadError(message, rule, mark.line + 1, mark.column + 1, hint=hint)


class _Merge:
    """Marker for the ``<<`` merge key."""


_MERGE_KEY = _Merge()


def _scalar(event: Any) -> Any:
    """The Python value of a scalar event under YAML 1.1 rules (PyYAML's resolvers)."""
    value = event.value
    tag = event.tag
    if event.implicit[0]:  # plain scalar: resolve like PyYAML
        tag = _STR
        for candidate, regexp in _RESOLVERS.get(value[:1], ()):
            if regexp.match(value):
                tag = candidate
                break
    elif tag is None or tag == "!":  # quoted scalar
        return value
    if tag in (_STR, _TIMESTAMP):
        return value
    if tag == _INT:
        if value.isdigit() and (value[0] != "0" or len(value) == 1):
            return int(value)
        return _convert(_SCALARS.construct_yaml_int, tag, event)
    if tag == _BOOL:
        return value.lower() in ("yes", "true", "on")
    if tag == _NULL:
        return None
    if tag == _FLOAT:
        return _convert(_SCALARS.construct_yaml_float, tag, event)
    if tag == _MERGE:
        return _MERGE_KEY
    raise _error(f"unsupported YAML tag {_show(tag)}", "yaml.unsafe-tag", event.start_mark,
                 hint="cards hold plain data: remove the tag (!!python/..., !!binary, !custom)")


def _show(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _convert(fn: Any, tag: str, event: Any) -> Any:
    try:
        return fn(yaml.ScalarNode(tag, event.value))
    except (ValueError, IndexError):
        raise _error(f"{event.value!r} is not a valid {tag.rsplit(':', 1)[-1]}", "yaml.syntax",
                     event.start_mark, hint="quote the value to keep it as text") from None


def _apply_merges(mapping: dict[Any, Any], merges: list[Any], mark: Any) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for value in merges:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                raise _error("a merge key (<<) needs a mapping or a list of mappings",
                             "yaml.syntax", mark)
            for key, item in source.items():
                merged.setdefault(key, item)
    merged.update(mapping)
    return merged


def loads(text: str, *, string_keys: bool = False) -> Any:
    """Parse one YAML document strictly; raise :class:`YAMLLoadError` on any problem.

    With ``string_keys`` every mapping key must be a string (as JSON requires).
    An empty document gives ``None``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _BaseLoader(text)
    try:
        root = _build(loader.get_event, string_keys)
    except YAMLLoadError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml >= 0.2.5 (PyYAML 6.0.4 wheels) stops at 1000
            raise _too_deep(mark) from None
        if "tab" in problem or _char_at(text, mark) == "\t":
            raise _error("a tab character where YAML needs spaces", "yaml.syntax", mark,
                         hint="indent with spaces, not tabs") from None
        context = ""
        if exc.context and exc.context_mark is not None and exc.problem_mark is not None \
                and exc.context_mark.line != exc.problem_mark.line:
            context = f" ({exc.context} started on line {exc.context_mark.line + 1})"
        raise _error(f"invalid YAML: {problem}{context}", "yaml.syntax", mark,
                     hint=syntax_hint(problem, exc.context)) from None
    except yaml.YAMLError as exc:
        raise YAMLLoadError(f"invalid YAML: {exc}", "yaml.syntax") from None
    finally:
        loader.dispose()
    return root


_NO_KEY = object()
_Scalar, _Alias = _ev.ScalarEvent, _ev.AliasEvent
_MapStart, _MapEnd = _ev.MappingStartEvent, _ev.MappingEndEvent
_SeqStart, _SeqEnd = _ev.SequenceStartEvent, _ev.SequenceEndEvent
_DocStart, _StreamEnd = _ev.DocumentStartEvent, _ev.StreamEndEvent


def _build(next_event: Any, string_keys: bool) -> Any:
    """Plain data from the parser's events (a hot loop: state lives in local variables)."""
    resolvers = _RESOLVERS
    no_key = _NO_KEY
    stack: list[tuple[Any, ...]] = []
    anchors: dict[str, tuple[Any, int]] = {}
    root: Any = None
    count = documents = start = 0
    current: Any = None  # the container being filled (None at the top level)
    is_map = False
    key: Any = no_key  # the pending mapping key, or no_key when a key comes next
    key_event: Any = None
    opened: Any = None  # the event that opened ``current``
    merges: list[Any] | None = None
    while True:
        event = next_event()
        cls = event.__class__
        if cls is _Scalar:
            count += 1
            value = event.value
            # Plain text that no implicit resolver claims is a string: skip the call.
            if not (event.implicit[0] and value[:1] not in resolvers):
                value = _scalar(event)
            if event.anchor:
                anchors[event.anchor] = (value, 1)
        elif cls is _MapStart or cls is _SeqStart:
            if event.tag not in (None, "!", _MAP if cls is _MapStart else _SEQ):
                raise _error(f"unsupported YAML tag {_show(event.tag)}", "yaml.unsafe-tag",
                             event.start_mark, hint="cards hold plain data: remove the tag")
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(event.start_mark)
            count += 1
            stack.append((current, is_map, key, key_event, opened, start, merges))
            is_map = cls is _MapStart
            current = {} if is_map else []
            key, key_event, opened, start, merges = no_key, None, event, count, None
            continue
        elif cls is _MapEnd or cls is _SeqEnd:
            value = current
            if merges:
                value = _apply_merges(value, merges, event.start_mark)
            event = opened  # a container is located where it starts
            if event.anchor:
                anchors[event.anchor] = (value, count - start + 1)
            current, is_map, key, key_event, opened, start, merges = stack.pop()
        elif cls is _Alias:
            try:
                value, size = anchors[event.anchor]
            except KeyError:
                raise _error(f"unknown alias *{event.anchor}", "yaml.syntax",
                             event.start_mark) from None
            count += size
            if count > MAX_NODES:
                raise _too_large()
        elif cls is _DocStart:
            documents += 1
            if documents > 1:
                raise _error("more than one YAML document in the file", "yaml.syntax",
                             event.start_mark, hint="keep one document per file (one ---)")
            continue
        elif cls is _StreamEnd:
            break
        else:
            continue
        if current is None:
            root = value
        elif not is_map:
            current.append(value)
        elif key is no_key:
            if value.__class__ is not str:
                _check_key(value, event, string_keys)
            key, key_event = value, event
        else:
            if key is _MERGE_KEY:
                merges = [*(merges or ()), value]
            elif key in current:
                raise _error(f"duplicate key {key!r}", "yaml.duplicate-key", key_event.start_mark,
                             hint="keep one entry for this key; YAML keeps only the last "
                                  "and loses the others")
            else:
                current[key] = value
            key = no_key
    if count > MAX_NODES:
        raise _too_large()
    return root


#: How to fix the YAML errors people make most, by the parser's words for them.
_SYNTAX_HINTS = (
    ("mapping values are not allowed",
     "a value that contains `: ` must be quoted (`name: \"Model: large\"`); or this line is "
     "indented deeper than the key above it"),
    ("did not find expected key",
     "indent this line exactly like the keys above it; a `- item` list goes under its key, "
     "indented"),
    ("expected ',' or ']'", "close the list with `]`, or quote a value that starts with `[`"),
    ("expected ',' or '}'", "close the mapping with `}`, or quote a value that starts with `{`"),
    ("unknown escape", "inside double quotes a backslash starts an escape: use single "
                       "quotes, or write the backslash twice"),
    ("quoted scalar", "close the quote: a value that starts with a quote must end with the "
                      "same quote"),
    ("cannot start any token", "quote the value: YAML reserves `@`, `` ` `` and `%` at the "
                               "start of a value"),
    ("undefined alias", "quote the value: `*` at the start of a value names an alias"),
    ("expected '-' indicator", "a list (`- item` lines) cannot be followed by `key: value` "
                               "lines at the same indentation"),
    ("could not find expected ':'", "every line of a mapping is `key: value`; a quoted value "
                                    "that spans lines needs its closing quote"),
)


def syntax_hint(problem: str, context: str | None = None) -> str:
    """The fix for a YAML syntax error, from the parser's problem and context."""
    words = f"{problem} {context or ''}"
    for found, hint in _SYNTAX_HINTS:
        if found in words:
            return hint
    return "check indentation, colons, quotes and brackets"


def _char_at(text: str, mark: Any) -> str:
    if mark is None:
        return ""
    lines = text.split("\n", mark.line + 1)
    line = lines[mark.line] if mark.line < len(lines) else ""
    return line[mark.column] if mark.column < len(line) else ""


def _check_key(key: Any, event: Any, string_keys: bool) -> None:
    if key is _MERGE_KEY:
        return
    if isinstance(key, dict | list):
        raise _error("a mapping key must be a plain value", "yaml.key", event.start_mark)
    if string_keys:
        raise _error(f"key {key!r} is not text", "yaml.key", event.start_mark,
                     hint=f"quote the key: '{key}':")


def _too_deep(mark: Any) -> YAMLLoadError:
    """The one error for nesting too deep, whether our builder or libyaml noticed it first."""
    return _error(f"nesting deeper than {MAX_DEPTH} levels", "yaml.too-large", mark,
                  hint="cards nest a few levels at most")


def _too_large() -> YAMLLoadError:
    return YAMLLoadError(
        f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)", "yaml.too-large",
        hint="do not nest aliases of aliases; write the values out",
    )


def expanded_size(value: Any, budget: int = MAX_NODES) -> int:
    """Count nodes as a walker would see them (shared aliases counted per use), up to ``budget``."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        count += 1
        if count > budget:
            return count
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def decode(raw: bytes) -> str:
    """Bytes of a YAML file as text, refusing very large or non-UTF-8 content."""
    if len(raw) > MAX_BYTES:
        raise YAMLLoadError(f"file is {len(raw):,} bytes, over the {MAX_BYTES:,}-byte limit",
                            "yaml.too-large", hint="split it or move data out of the KB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YAMLLoadError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", "yaml.encoding",
                            line, column, hint="save the file as UTF-8") from None


def read_text(path: Path) -> str:
    """Read a YAML file as UTF-8 text, refusing very large or non-UTF-8 files."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YAMLLoadError(f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                            "yaml.too-large", hint="split it or move data out of the KB")
    return decode(path.read_bytes())


def load_file(path: Path) -> Any:
    """Read and parse a YAML file strictly."""
    return loads(read_text(path))


def dump(data: Any) -> str:
    """Serialise plain data as block-style YAML that keeps key order."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def dump_scalar(text: str) -> str:
    """``text`` as one double-quoted YAML scalar on one line (front matter values).

    Written by the YAML emitter, so it reads back as the same string for every character:
    printable ones of every plane are kept as they are, the rest are escaped the YAML way.
    """
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    out = yaml.dump(str(text), Dumper=dumper, allow_unicode=True, default_style='"',
                    width=1 << 30)
    return out.removesuffix("\n...\n").rstrip("\n")


@dataclass(frozen=True)
class Position:
    line: int
    column: int


class Locator:
    """Finds the line and column of JSON paths in one YAML text (composed once, on demand)."""

    def __init__(self, text: str):
        try:
            self._root: yaml.Node | None = yaml.compose(text, Loader=_BaseLoader)
        except yaml.YAMLError:
            self._root = None

    def find(self, json_path: Sequence[str | int]) -> Position | None:
        """Position of the node at ``json_path``, or of its nearest existing parent.

        A mapping entry points at its key, a sequence item at the item, the root at its start.
        """
        node = self._root
        if node is None:
            return None
        mark = node.start_mark
        for part in json_path:
            nxt = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                        mark, nxt = key_node.start_mark, value_node
                        break
            elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
                  and 0 <= part < len(node.value)):
                nxt = node.value[part]
                mark = nxt.start_mark
            if nxt is None:
                break
            node = nxt
        return Position(mark.line + 1, mark.column + 1)


def locate(text: str, json_path: Sequence[str | int]) -> Position | None:
    """Line and column (1-based) of the node at ``json_path``, or its nearest existing parent."""
    return Locator(text).find(json_path)
