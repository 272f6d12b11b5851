"""Declare every value left without a kbtools field as the KB's own field.

:func:`own_fields` finds, in a migrated card, the values no schema knows (walking only into
kbtools mappings and lists of mappings); :func:`declarations` turns what all cards hold into
JSON Schema fragments (types inferred from the values, descriptions from the mapping);
:func:`updated_file` adds them to the KB's extension file without touching what is there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from kbtools.migrate import tree
from kbtools.schemas import json_type
from kbtools.schemas.extensions import EXTENSIBLE_KINDS, KB_PATH, is_local_file, merge

ITEM, ENTRY = "[]", "*"
DEFAULT_DESCRIPTION = "Kept by kbtools migrate from the card format used before kbtools."
HEADER = (
    "# This KB's own fields, beyond the kbtools card schemas: per card kind, a JSON Schema\n"
    "# (Draft 2020-12) whose properties are added to the built-in ones. Written by\n"
    "# `kbtools migrate`; edit freely (descriptions are shown on the card pages). See the KB\n"
    "# guide, \"The KB's own fields\".\n"
)


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[1], {})
    return schema if isinstance(schema, dict) else {}


def own_fields(data: Any, schema: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(steps, value) of every value in ``data`` that ``schema`` has no field for."""
    yield from _walk(data, schema, schema, ())


def _walk(node: Any, schema: dict[str, Any], root: dict[str, Any], steps: tuple[str, ...]
          ) -> Iterator[tuple[tuple[str, ...], Any]]:
    schema = _resolve(schema, root)
    if not isinstance(node, dict):
        return
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    for key, value in node.items():
        key = str(key)
        if isinstance(props, dict) and key in props:
            sub = _resolve(props[key], root)
        elif isinstance(extra, dict):
            sub, key = _resolve(extra, root), ENTRY if not isinstance(props, dict) else key
            if key != ENTRY:
                continue
        elif isinstance(props, dict) and extra is False:
            yield (*steps, str(key)), value
            continue
        else:
            continue  # a free-form mapping: anything goes
        here = (*steps, key)
        if isinstance(value, dict):
            yield from _walk(value, sub, root, here)
        elif isinstance(value, list) and isinstance(sub.get("items"), dict):
            items = _resolve(sub["items"], root)
            for item in value:
                if isinstance(item, dict):
                    yield from _walk(item, items, root, (*here, ITEM))


def infer(values: list[Any]) -> dict[str, Any]:
    """A JSON Schema accepting every value seen (types only: the content stays free).

    Text that is always a file of the KB (``docs/papers/x.pdf``) is declared with
    ``format: kb-path``, so that ``kbtools validate`` checks the file is there."""
    types = {json_type(v) for v in values}
    if {"integer", "number"} <= types:
        types.discard("integer")
    out: dict[str, Any] = {"type": sorted(types)[0] if len(types) == 1 else sorted(types)}
    if types == {"array"}:
        item_types = {json_type(i) for v in values for i in v}
        if {"integer", "number"} <= item_types:
            item_types.discard("integer")
        if len(item_types) == 1 and item_types <= {"string", "integer", "number", "boolean"}:
            out["items"] = {"type": next(iter(item_types))}
            if item_types == {"string"} and all(is_local_file(i) for v in values for i in v):
                out["items"]["format"] = KB_PATH
    elif types == {"string"} and all(is_local_file(v) for v in values):
        out["format"] = KB_PATH
    elif types == {"object"} and all(
            isinstance(v, dict) and v and all(isinstance(x, list) and x and all(
                is_local_file(i) for i in x) for x in v.values()) for v in values):
        out["additionalProperties"] = {"type": "array",  # groups of files: {docs: [a.md]}
                                       "items": {"type": "string", "format": KB_PATH}}
    return out


def declarations(found: dict[str, dict[tuple[str, ...], list[Any]]], builtin: dict[str, Any],
                 descriptions: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Per kind, the extension-file fragment declaring every field in ``found``."""
    out: dict[str, dict[str, Any]] = {}
    for kind, fields in found.items():
        if not fields:
            continue
        schema = builtin[kind]
        fragment: dict[str, Any] = {}
        for steps, values in fields.items():
            declared = infer(values)
            name = _dotted(steps)
            declared = {"description": descriptions.get(kind, {}).get(name, DEFAULT_DESCRIPTION),
                        **declared}
            _place(fragment, steps, declared, schema)
        out[kind] = fragment
    return out


def _dotted(steps: tuple[str, ...]) -> str:
    out = ""
    for step in steps:
        out += "[]" if step in (ITEM, ENTRY) else (f".{step}" if out else step)
    return out


def _place(fragment: dict[str, Any], steps: tuple[str, ...], declared: dict[str, Any],
           schema: dict[str, Any]) -> None:
    """Put ``declared`` at ``steps`` of the fragment, reaching through the built-in schema."""
    node, base = fragment, schema
    for step in steps[:-1]:
        base = _resolve(base, schema)
        if step == ITEM:
            node = node.setdefault("items", {})
            base = base.get("items", {})
        elif step == ENTRY:
            node = node.setdefault("additionalProperties", {})
            base = base.get("additionalProperties", {})
        else:
            node = node.setdefault("properties", {}).setdefault(step, {})
            base = base.get("properties", {}).get(step, {})
    node.setdefault("properties", {})[steps[-1]] = declared


def missing_from(existing: dict[str, Any], new: dict[str, dict[str, Any]]
                 ) -> dict[str, dict[str, Any]]:
    """The parts of ``new`` not declared yet in ``existing`` (existing text is never changed)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, fragment in new.items():
        have = existing.get(kind) if isinstance(existing, dict) else None
        diff = _subtract(fragment, have if isinstance(have, dict) else {})
        if diff:
            out[kind] = diff
    return out


def _subtract(new: dict[str, Any], have: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for keyword in ("properties", "items", "additionalProperties"):
        if keyword not in new:
            continue
        mine, theirs = new[keyword], have.get(keyword) if isinstance(have, dict) else None
        if keyword == "properties":
            props = {}
            for name, sub in mine.items():
                if not isinstance(theirs, dict) or name not in theirs:
                    props[name] = sub
                elif isinstance(theirs[name], dict) and any(
                        k in sub for k in ("properties", "items", "additionalProperties")):
                    deeper = _subtract(sub, theirs[name])
                    if deeper:
                        props[name] = deeper
            if props:
                out["properties"] = props
        else:
            deeper = _subtract(mine, theirs if isinstance(theirs, dict) else {})
            if deeper:
                out[keyword] = deeper
    return out


def combined(existing: Any, additions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Plain data of the extension file once ``additions`` are merged in."""
    base = tree.plain(existing) if isinstance(existing, dict) else {}
    for kind, fragment in additions.items():
        base[kind] = _deep_merge(base.get(kind) or {}, fragment)
    return base


def _deep_merge(have: dict[str, Any], add: dict[str, Any]) -> dict[str, Any]:
    out = dict(have)
    for key, value in add.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def updated_file(text: str | None, suffix: str, additions: dict[str, dict[str, Any]]) -> str:
    """The extension file's new text: ``text`` with ``additions`` merged in (comments, order
    and existing declarations kept)."""
    if suffix == ".json":
        current = json.loads(text) if text and text.strip() else {}
        return json.dumps(combined(current, additions), indent=2, ensure_ascii=False) + "\n"
    current = tree.load(text) if text and text.strip() else None
    if current is None:
        current = tree.fresh({})
    for kind in EXTENSIBLE_KINDS:
        if kind in additions:
            _merge_into(current, kind, additions[kind])
    body = tree.dump(current, text or "") if current else ""
    return body if text and text.strip() else HEADER + body


def _merge_into(node: Any, key: str, add: dict[str, Any]) -> None:
    if key not in node or not isinstance(node[key], dict):
        node[key] = tree.fresh(add)
        return
    for sub_key, value in add.items():
        if isinstance(value, dict) and isinstance(node[key].get(sub_key), dict):
            _merge_into(node[key], sub_key, value)
        elif sub_key not in node[key]:
            node[key][sub_key] = tree.fresh(value)


def check(kind: str, fragment: dict[str, Any]) -> list[str]:
    """Problems merging ``fragment`` into the built-in schema of ``kind`` (should be none)."""
    _, _, problems = merge(kind, fragment)
    return [p.message for p in problems]


def collect(cards: list[tuple[str, Any]], schemas: dict[str, dict[str, Any]]
            ) -> dict[str, dict[tuple[str, ...], list[Any]]]:
    """Per kind, each unknown field's values across ``cards`` ((kind, plain data) pairs)."""
    found: dict[str, dict[tuple[str, ...], list[Any]]] = defaultdict(dict)
    for kind, data in cards:
        for steps, value in own_fields(data, schemas[kind]):
            found[kind].setdefault(steps, []).append(value)
    return found
