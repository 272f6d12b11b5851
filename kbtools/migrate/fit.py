"""After the rules: what still does not fit a kbtools field is set aside, never dropped.

* placeholders (``TBD``) and empty values of kbtools fields are removed and listed;
* a kbtools field whose value has the wrong shape keeps it beside itself as ``kb_<name>`` (an
  entry of a map such as ``counts`` moves to ``kb_counts``), declared as the KB's own field;
* mappings and lists of mappings are fitted field by field, so one odd value never moves a
  whole block.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from kbtools.migrate import tree
from kbtools.migrate.report import Report
from kbtools.migrate.rules import is_placeholder

PREFIX = "kb_"


class Fitter:
    """Fits one card to a schema (the built-in one merged with the KB's declarations)."""

    def __init__(self, schema: dict[str, Any], rel: str, report: Report):
        from kbtools.schemas.engines import explaining_validator

        self.root = schema
        self.validator = explaining_validator(schema, formats=False)
        self.rel, self.report = rel, report

    def run(self, data: CommentedMap) -> None:
        if data.get("status") != "template":  # a template card keeps its placeholders
            self._remove_placeholders(data, ())
        self._object(data, self.root, ())

    # -- placeholders -------------------------------------------------------------------------

    def _remove_placeholders(self, node: Any, path: tuple[str | int, ...]) -> bool:
        """Remove placeholder values under ``node``; True if any was removed. A mapping or
        list left empty by the removal goes too."""
        removed = False
        keys: list[Any] = list(node) if isinstance(node, dict) else (
            list(reversed(range(len(node)))) if isinstance(node, list) else [])
        for key in keys:
            value = node[key]
            if is_placeholder(value):
                tree.delete(node, key)
                self._note("placeholder", (*path, key), f"`{value}` removed")
                removed = True
            elif isinstance(value, dict | list) and self._remove_placeholders(value,
                                                                              (*path, key)):
                removed = True
                if not value:
                    tree.delete(node, key)  # nothing but placeholders was in it
        return removed

    # -- shapes -------------------------------------------------------------------------------

    def _valid(self, schema: Any, value: Any) -> bool:
        try:
            return self.validator.evolve(schema=schema).is_valid(tree.plain(value))
        except Exception:  # noqa: BLE001 - a reference out of a lone subschema: does not fit
            return False

    def _resolve(self, schema: Any) -> dict[str, Any]:
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            target = self.root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[1], {})
            return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema if isinstance(schema, dict) else {}

    def _object(self, node: Any, schema: Any, path: tuple[str | int, ...],
                holder: Any = None, name: str | None = None) -> None:
        schema = self._resolve(schema)
        props = schema.get("properties")
        if isinstance(props, dict) and isinstance(node, dict):
            for key in list(node):
                if key in props:
                    self._field(node, key, props[key], (*path, key))
        elif isinstance(schema.get("additionalProperties"), dict) and isinstance(node, dict):
            sub = schema["additionalProperties"]
            for key in list(node):
                value = node[key]
                if self._valid(sub, value):
                    continue
                if value is None or value == "" or value == [] or value == {}:
                    tree.delete(node, key)
                    self._note("empty", (*path, key), "empty value removed")
                    continue
                if isinstance(value, dict) and "properties" in self._resolve(sub):
                    self._object(value, sub, (*path, key))
                    continue
                if holder is not None and name is not None:
                    self._set_entry_aside(holder, name, node, key, path)

    def _field(self, node: Any, key: str, sub: Any, path: tuple[str | int, ...]) -> None:
        value = node[key]
        if self._valid(sub, value):
            return
        if value is None or value == "" or value == [] or value == {}:
            tree.delete(node, key)
            self._note("empty", path, "empty value removed")
            return
        resolved = self._resolve(sub)
        if isinstance(value, dict) and ("properties" in resolved or isinstance(
                resolved.get("additionalProperties"), dict)):
            self._object(value, resolved, path, node, key)
            return
        items = self._resolve(resolved.get("items", {}))
        if isinstance(value, list) and resolved.get("type") == "array" and "properties" in items \
                and all(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                self._object(item, items, (*path, index))
            return
        self._set_aside(node, key, path)

    def _set_aside(self, node: Any, key: str, path: tuple[str | int, ...]) -> None:
        new = PREFIX + key
        if new in node:
            self._note("conflict", path, f"does not fit, and `{new}` is taken: left as it is")
            return
        tree.rename(node, key, new)
        self._note("renamed", path, f"kept as `{tree.show_path((*path[:-1], new))}`")

    def _set_entry_aside(self, holder: Any, name: str, node: Any, key: str,
                         path: tuple[str | int, ...]) -> None:
        aside = PREFIX + name
        value = node[key]
        target = holder.get(aside)
        if target is None:
            target = CommentedMap()
            keys = list(holder)
            holder.insert(keys.index(name) + 1, aside, target)
        if not isinstance(target, dict) or key in target:
            self._note("conflict", (*path, key), f"does not fit, and `{aside}` is taken")
            return
        target[key] = value
        tree.delete(node, key)
        self._note("renamed", (*path, key), f"kept as `{tree.show_path((*path[:-1], aside, key))}`")
        if not node:
            tree.delete(holder, name)

    def _note(self, category: str, path: tuple[str | int, ...], message: str) -> None:
        self.report.add(self.rel, category, tree.show_path(path), message)

