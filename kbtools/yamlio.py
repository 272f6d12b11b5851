"""Safe, strict YAML loading shared by every part of kbtools.

* C-accelerated safe loading only (no python-object tags can run anything);
* duplicate mapping keys are an error (PyYAML would silently keep the last);
* dates and timestamps stay ISO strings, so schemas type them as ``string`` + ``format``;
* the expanded size of the document is bounded, so alias bombs fail fast;
* line and column of a JSON path are computed only when a problem needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

#: Largest number of nodes a document may expand to (aliases counted each time they are used).
MAX_NODES = 200_000
#: Largest file accepted, in bytes.
MAX_BYTES = 5 * 1024 * 1024


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
    """Safe loader that rejects duplicate keys and keeps timestamps as strings."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise YAMLLoadError(
                "a mapping key must be a plain value", "yaml.key",
                key_node.start_mark.line + 1, key_node.start_mark.column + 1,
            ) from None
        if key in mapping:
            raise YAMLLoadError(
                f"duplicate key {key!r}", "yaml.duplicate-key",
                key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                hint="keep one entry for this key; YAML keeps only the last and loses the others",
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_timestamp(loader: StrictLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


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


def loads(text: str) -> Any:
    """Parse one YAML document strictly; raise :class:`YAMLLoadError` on any problem."""
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a safe loader
    except YAMLLoadError:
        raise
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YAMLLoadError(
            f"unsupported YAML tag: {exc.problem}", "yaml.unsafe-tag",
            mark.line + 1 if mark else None, mark.column + 1 if mark else None,
            hint="cards hold plain data: remove the !!python/... or custom tag",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "indent with spaces, not tabs" if "\\t" in str(exc) or "tab" in problem else None
        raise YAMLLoadError(
            f"invalid YAML: {problem}", "yaml.syntax",
            mark.line + 1 if mark else None, mark.column + 1 if mark else None, hint=hint,
        ) from None
    except yaml.YAMLError as exc:
        raise YAMLLoadError(f"invalid YAML: {exc}", "yaml.syntax") from None
    except RecursionError:
        raise YAMLLoadError("YAML nesting is too deep", "yaml.too-large",
                            hint="cards nest a few levels at most") from None
    if expanded_size(data) > MAX_NODES:
        raise YAMLLoadError(
            f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)", "yaml.too-large",
            hint="do not nest aliases of aliases; write the values out",
        )
    return data


def read_text(path: Path) -> str:
    """Read a YAML file as UTF-8 text, refusing very large or non-UTF-8 files."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YAMLLoadError(f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                            "yaml.too-large", hint="split it or move data out of the KB")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YAMLLoadError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", "yaml.encoding",
                            line, hint="save the file as UTF-8") from None


def load_file(path: Path) -> Any:
    """Read and parse a YAML file strictly."""
    return loads(read_text(path))


def dump(data: Any) -> str:
    """Serialise plain data as block-style YAML that keeps key order."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


@dataclass(frozen=True)
class Position:
    line: int
    column: int


def locate(text: str, json_path: list[str | int]) -> Position | None:
    """Line and column (1-based) of the node at ``json_path``, or its nearest existing parent."""
    try:
        node = yaml.compose(text, Loader=_BaseLoader)
    except yaml.YAMLError:
        return None
    best = node
    for part in json_path:
        if node is None:
            break
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    nxt = value_node if not isinstance(value_node, yaml.ScalarNode) else key_node
                    if isinstance(value_node, yaml.ScalarNode):
                        best = key_node
                        node = value_node
                        nxt = None
                        break
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                nxt = node.value[part]
        if nxt is None:
            if isinstance(node, yaml.ScalarNode):
                continue
            break
        node = best = nxt
    if best is None:
        return None
    return Position(best.start_mark.line + 1, best.start_mark.column + 1)
