"""Schema checks: a compiled jsonschema-rs validator says yes/no fast; only documents that fail
are explained by python ``jsonschema`` (Draft 2020-12 + FormatChecker), whose errors are
rewritten as short, friendly messages with a hint and the JSON path of the offending value.

Both engines come from :mod:`kbtools.schemas.engines`: nothing is retrieved and patterns are
matched in linear time. Values of schema documents the KB's extensions refer to (bundled KB
schema files) are never quoted in a message.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from typing import Any

from kbtools.schemas import load_schema, method_params_schema
from kbtools.schemas.engines import (
    additional_keys,
    duplicates,
    explainable,
    explaining_validator,
    fast_validator,
)
from kbtools.schemas.refs import bundled_nodes
from kbtools.validation.findings import Finding, Parts
from kbtools.validation.hints import HintContext, really_close, unknown_field_hint, yaml_example

#: Most schema problems reported for one document (the rest are summarised in one line).
MAX_ERRORS = 25

_validators: dict[str, Any] = {}
_explainers: dict[str, Any] = {}
_explainable: dict[str, bool] = {}
_param_schemas: dict[str, dict[str, Any] | None] = {}

_TYPE_NAMES = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "array": "a list", "object": "a mapping of fields",
    "null": "nothing (null)",
}
_RS_FORMAT = re.compile(r'^.* is not a "(?P<format>[\w-]+)"$', re.S)
_FORMATS = {"date": "a date YYYY-MM-DD", "uri": "a URL", "date-time": "a timestamp"}
_FORMAT_HINTS = {"uri": "write the full URL, like https://host/path, without spaces",
                 "date": "write the date as YYYY-MM-DD"}
_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")


class SchemaUnusable(Exception):
    """The schema itself cannot be compiled (a broken KB extension; validate reports it)."""


def _compiled(key: str, schema: dict[str, Any]) -> Any:
    validator = _validators.get(key)
    if validator is None:
        try:
            validator = fast_validator(schema)
        except Exception as exc:  # noqa: BLE001 - jsonschema-rs raises its own error types
            validator = exc
        _validators[key] = validator
    if isinstance(validator, Exception):
        raise SchemaUnusable(key)
    return validator


#: Schemas a KB extends, by schema name: (cache key, merged schema); see
#: :meth:`kbtools.schemas.extensions.KBSchemas.for_workers`.
Extended = dict[str, tuple[str, dict[str, Any]]]


def _resolve(schema_name: str, extended: Extended | None) -> tuple[str, dict[str, Any]]:
    if extended and schema_name in extended:
        return extended[schema_name]
    return schema_name, load_schema(schema_name)


def warm_up(schema_name: str, extended: Extended | None = None) -> None:
    """Compile the named schema now (before worker processes fork)."""
    with contextlib.suppress(SchemaUnusable):  # every document of the kind reports it
        _compiled(*_resolve(schema_name, extended))


def check_schema(schema_name: str, data: Any, extended: Extended | None = None,
                 context: HintContext | None = None) -> list[Finding]:
    """Findings for ``data`` against the named schema, or the KB's extension of it."""
    key, schema = _resolve(schema_name, extended)
    return _check(key, schema, data, "schema", (), context)


def check_params(method: str, params: Any) -> list[Finding]:
    """Findings for an experiment's ``params`` against the method's parameter schema, if any."""
    if method not in _param_schemas:
        _param_schemas[method] = method_params_schema(method)
    schema = _param_schemas[method]
    if schema is None:
        return []
    return _check(f"method_params/{method}", schema, {} if params is None else params,
                  "schema.params", ("params",), None)


def _check(key: str, schema: dict[str, Any], data: Any, rule: str, prefix: Parts,
           context: HintContext | None) -> list[Finding]:
    try:
        if _compiled(key, schema).is_valid(data):
            return []
    except SchemaUnusable:
        return [Finding(rule, "cannot be checked: the schema of this kind, with the KB's "
                              "extensions, cannot be compiled", prefix,
                        "fix the problems `kbtools validate` reports on the extension file")]
    except (ValueError, TypeError):  # values jsonschema-rs cannot take; python explains below
        pass
    if key not in _explainable:
        _explainable[key] = explainable(schema)
    if not _explainable[key]:
        return _rs_findings(key, schema, data, rule, prefix)
    try:
        findings = _explain(key, schema, data, rule, prefix, context)
    except Exception:  # noqa: BLE001 - e.g. a reference python cannot resolve: rs explains
        findings = []
    if not findings:  # the two engines disagree (e.g. formats python cannot check): use rs
        findings = _rs_findings(key, schema, data, rule, prefix)
    return findings


def _explain(key: str, schema: dict[str, Any], data: Any, rule: str,
             prefix: Parts, context: HintContext | None) -> list[Finding]:
    validator = _explainers.get(key)
    if validator is None:
        validator = _explainers[key] = explaining_validator(schema)
    findings: list[Finding] = []
    seen: set[tuple[Parts, str]] = set()
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    explain = _Explainer(schema, data, prefix, rule, context)
    for error, repeats in _group_repeats(errors):
        for finding in explain.friendly(error):
            if (finding.parts, finding.message) not in seen:
                seen.add((finding.parts, finding.message))
                if repeats:
                    finding.message += _repeat_note(finding.parts, repeats)
                findings.append(finding)
    findings = _merge_unknown_repeats(_merge_required(findings))
    if len(findings) > MAX_ERRORS:
        extra = len(findings) - MAX_ERRORS
        findings = findings[:MAX_ERRORS]
        findings.append(Finding(rule, f"... and {extra} more schema problems", prefix,
                                "fix the ones above and validate again"))
    return findings


def _group_repeats(errors: list[Any]) -> list[tuple[Any, int]]:
    """One error per problem repeated across the items of a list (``required_columns`` written
    as plain names: one message, not one per name), with how many more items share it."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    order: list[tuple[Any, ...]] = []
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" or not any(isinstance(p, int)
                                                                for p in path):
            key: tuple[Any, ...] = ("single", id(error))
        else:
            wild = tuple("*" if isinstance(p, int) else p for p in path)
            key = (error.validator, tuple(map(str, error.relative_schema_path)), wild)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(error)
    return [(groups[k][0], len(groups[k]) - 1) for k in order]


_INDEX = re.compile(r"\[\d+\]")


def _merge_unknown_repeats(findings: list[Finding]) -> list[Finding]:
    """The same unknown field in several items of a list: one finding."""
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    for f in findings:
        if f.message.startswith("unknown field ") and any(isinstance(p, int) for p in f.parts):
            wild = tuple("*" if isinstance(p, int) else p for p in f.parts)
            groups.setdefault((wild, _INDEX.sub("[]", f.message)), []).append(f)
    out = []
    for f in findings:
        if f.message.startswith("unknown field ") and any(isinstance(p, int) for p in f.parts):
            wild = tuple("*" if isinstance(p, int) else p for p in f.parts)
            group = groups[(wild, _INDEX.sub("[]", f.message))]
            if f is not group[0]:
                continue
            if len(group) > 1:
                f.message += _repeat_note(f.parts, len(group) - 1)
        out.append(f)
    return out


def _repeat_note(parts: Parts, repeats: int) -> str:
    index = max((i for i, p in enumerate(parts) if isinstance(p, int)), default=None)
    where = f" of `{parts[index - 1]}`" if index is not None and index > 0 else ""
    return f" (the same in {repeats} more item{'s' if repeats != 1 else ''}{where})"


def _merge_required(findings: list[Finding]) -> list[Finding]:
    """One finding per mapping that misses several required fields."""
    missing: dict[Parts, list[Finding]] = {}
    for f in findings:
        if f.message.startswith("missing required field "):
            missing.setdefault(f.parts, []).append(f)
    out = []
    for f in findings:
        group = missing.get(f.parts)
        if not group or f not in group:
            out.append(f)
        elif f is group[0]:
            if len(group) == 1:
                out.append(f)
                continue
            names = [g.message.split("`")[1] for g in group]
            where = f.message.split("`", 2)[2]
            listed = ", ".join(f"`{n}`" for n in names)
            details = [g.hint.removeprefix(f"add `{n}:`").lstrip(",; ") for n, g in
                       zip(names, group, strict=True) if g.hint and ("one of:" in g.hint
                                                                      or "kept as" in g.hint)]
            out.append(Finding(f.rule, f"missing required fields {listed}{where}", f.parts,
                               "add " + ", ".join(f"`{n}:`" for n in names)
                               + "".join(f"; {d}" for d in details)))
    return out


def _rs_findings(key: str, schema: dict[str, Any], data: Any, rule: str,
                 prefix: Parts) -> list[Finding]:
    try:
        errors = list(_compiled(key, schema).iter_errors(data))
    except (ValueError, TypeError) as exc:
        return [Finding(rule, f"cannot be checked against the schema: {exc}", prefix)]
    out = []
    bundles = any(str(k).startswith("kbtools-bundled:") for k in schema.get("$defs") or {})
    for error in errors[:MAX_ERRORS]:
        parts = (*prefix, *error.instance_path)
        match = _RS_FORMAT.match(error.message)
        if match:
            form = _FORMATS.get(match.group("format"), match.group("format"))
            out.append(Finding(rule, f"{_short(error.instance)} is not {form}{_where(parts)}",
                               parts, _FORMAT_HINTS.get(match.group("format"))))
        elif bundles and "$ref" in [str(p) for p in error.schema_path]:
            out.append(Finding(rule, f"does not match the referenced schema{_where(parts)}",
                               parts, "see the schema file the extension refers to"))
        else:
            out.append(Finding(rule, error.message.split("\n", 1)[0], parts))
    return out


class _Explainer:
    """Turns jsonschema errors of one document into findings with plain messages and hints."""

    def __init__(self, schema: dict[str, Any], data: Any, prefix: Parts, rule: str,
                 context: HintContext | None):
        self.schema, self.data, self.prefix, self.rule = schema, data, prefix, rule
        self.context = context
        self.swaps: set[frozenset[str]] = set()  # field pairs already reported as swapped
        self.bundled = bundled_nodes(schema)  # nodes of referenced documents: never quoted

    def friendly(self, error: Any) -> Iterable[Finding]:
        """One jsonschema error as findings with a plain message and a hint."""
        from jsonschema.exceptions import best_match

        if error.validator in ("oneOf", "anyOf") and error.context:
            yield from self.friendly(best_match(error.context))
            return
        rule = self.rule
        parts: Parts = (*self.prefix, *error.absolute_path)
        keyword, expected, value = error.validator, error.validator_value, error.instance
        schema = error.schema
        where = _where(parts)
        if id(schema) in self.bundled:  # from a referenced document: quote none of its values
            yield Finding(rule, f"does not match the referenced schema{where} (`{keyword}`)",
                          parts, "see the schema file the extension refers to")
            return
        description = schema.get("description") if isinstance(schema, dict) else None
        if keyword == "required":
            match = _REQUIRED.match(error.message)
            name = match.group("name") if match else str(expected)
            about = schema.get("properties", {}).get(name, {}).get("description")
            hint = f"add `{name}:`" + (f" ({about})" if about else "")
            choices = sorted(map(str, _vocabulary(schema.get("properties", {}).get(name),
                                                  self.schema)))
            if choices:
                hint = f"add `{name}:`, `{name}` is one of: {', '.join(choices)}"
            aside = value.get(f"kb_{name}") if isinstance(value, dict) else None
            if aside is not None:
                shown = str(aside) if len(str(aside)) <= 60 else str(aside)[:57] + "..."
                hint += (f"; the value written before is kept as `kb_{name}: {shown}` "
                         "(it did not fit: pick the value that says the same, then remove it)")
            yield Finding(rule, f"missing required field `{name}`{where}", parts, hint)
        elif keyword == "additionalProperties" and isinstance(value, dict):
            allowed = list(schema.get("properties", {}))
            for extra in additional_keys(value, schema):
                hint = unknown_field_hint(str(extra), allowed, value[extra], parts,
                                          self.context)
                yield Finding(rule, f"unknown field `{extra}`{where}", (*parts, extra), hint)
        elif keyword == "enum":
            finding = self._enum(parts, expected, value, where)
            if finding is not None:
                yield finding
        elif keyword == "const":
            yield Finding(rule, f"{_short(value)} must be {_short(expected)}{where}", parts)
        elif keyword == "type":
            wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in _as_list(expected))
            yield Finding(rule, f"expected {wanted}{where}, got {_describe(value)}", parts,
                          self._shape_hint(schema, parts, value))
        elif keyword == "pattern":
            yield Finding(rule, f"{_short(value)} is not in the expected form{where}", parts,
                          _pattern_hint(str(expected), description))
        elif keyword == "format":
            yield Finding(rule,
                          f"{_short(value)} is not {_FORMATS.get(expected, expected)}{where}",
                          parts, _FORMAT_HINTS.get(expected, description))
        elif keyword == "minLength" and expected == 1:
            yield Finding(rule, f"empty text{where}", parts,
                          "write a value or leave the field out" + (f" ({description})"
                                                                     if description else ""))
        elif keyword in ("minItems", "minProperties"):
            noun = "item" if keyword == "minItems" else "entry"
            yield Finding(rule, f"needs at least {expected} {noun}{'s' if expected != 1 else ''}"
                          f"{where}", parts, description)
        elif keyword == "uniqueItems":
            dupes = sorted({_short(v) for v in duplicates(value)})
            yield Finding(rule, f"lists {', '.join(dupes)} more than once{where}", parts,
                          "keep each item once")
        elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = {"minimum": "at least", "maximum": "at most",
                     "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}[keyword]
            yield Finding(rule,
                          f"{_short(value)} is out of range{where}: must be {bound} {expected}",
                          parts, description)
        else:
            yield Finding(rule, f"{error.message}{where}", parts, description)

    def _shape_hint(self, schema: dict[str, Any], parts: Parts, value: Any) -> str:
        """The expected shape as a short YAML example (list items shown inside their list)."""
        if parts and isinstance(parts[-1], int) and len(parts) > 1 and isinstance(parts[-2],
                                                                                   str):
            example = yaml_example({"type": "array", "items": schema}, parts[-2], [value],
                                   self.schema)
        else:
            name = parts[-1] if parts and isinstance(parts[-1], str) else None
            if name is not None and isinstance(value, dict | list) and value \
                    and not _holds_containers(schema, self.schema):
                return self._aside_hint(schema, name, value)
            example = yaml_example(schema, name, value, self.schema)
        return "write it as:\n" + example

    def _aside_hint(self, schema: dict[str, Any], name: str, value: Any) -> str:
        """A list or mapping where a single value belongs: never replaced by a placeholder;
        it moves beside the field, as the KB's own ``kb_<name>``."""
        what = "list" if isinstance(value, list) else "mapping"
        filled = yaml_example(schema, name, True if schema.get("type") == "boolean" else None,
                              self.schema)
        declare = self.context.declare_in if self.context else "kb/schemas/extensions.yaml"
        return (f"write it as:\n{filled}\nkb_{name}: {_flow(value)}  # the {what}, kept as "
                f"this KB's own field (declare `kb_{name}` in {declare})")

    def _enum(self, parts: Parts, expected: list[Any], value: Any, where: str
              ) -> Finding | None:
        choices = ", ".join(str(c) for c in expected)
        message = f"{_short(value)} is not allowed{where}; expected one of: {choices}"
        swap = self._sibling_with(parts, value)
        if swap is not None:
            sibling, sibling_value, mutual = swap
            name = parts[-1]
            if mutual:
                pair = frozenset((str(name), sibling))
                if pair in self.swaps:
                    return None  # the other half of a swap already reported
                self.swaps.add(pair)
                return Finding(self.rule, f"`{name}` and `{sibling}` look swapped: `{value}` is "
                               f"a value of `{sibling}` and `{sibling_value}` one of `{name}`",
                               parts, f"write `{name}: {sibling_value}` and `{sibling}: {value}`")
            return Finding(self.rule, message, parts,
                           f"`{value}` is a value of `{sibling}`, not of `{name}`; `{name}` "
                           f"takes one of: {choices}")
        close = really_close(str(value), [str(c) for c in expected])
        hint = f"did you mean `{close}`?" if close else f"use one of: {choices}"
        return Finding(self.rule, message, parts, hint)

    def _sibling_with(self, parts: Parts, value: Any) -> tuple[str, Any, bool] | None:
        """A sibling field whose vocabulary holds ``value`` (and whether the swap is mutual)."""
        if not parts or not isinstance(parts[-1], str) or isinstance(value, dict | list):
            return None  # only a word can belong to another field's vocabulary
        rel = parts[len(self.prefix):]
        holder = _at(self.data, rel[:-1])
        node = _schema_at(self.schema, rel[:-1])
        if not isinstance(holder, dict) or node is None:
            return None
        props = node.get("properties", {})
        own = _vocabulary(props.get(parts[-1]), self.schema)
        for name, sub in props.items():
            if name == parts[-1]:
                continue
            vocabulary = _vocabulary(sub, self.schema)
            if value in vocabulary:
                other = holder.get(name)
                mutual = isinstance(other, str) and other in own and other not in vocabulary
                return name, other, mutual
        return None


def _at(data: Any, parts: Parts) -> Any:
    for part in parts:
        found = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data))
        if not found:
            return None
        data = data[part]
    return data


def _deref(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return root.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[1], {})
    return node


def _schema_at(root: dict[str, Any], parts: Parts) -> dict[str, Any] | None:
    node: Any = root
    for part in parts:
        node = _deref(node, root)
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            node = node.get("items")
        else:
            props = node.get("properties", {})
            node = props.get(part, node.get("additionalProperties"))
    node = _deref(node, root)
    return node if isinstance(node, dict) else None


def _vocabulary(node: Any, root: dict[str, Any]) -> set[Any]:
    node = _deref(node, root)
    if not isinstance(node, dict):
        return set()
    out = set(node.get("enum", []))
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        out |= _vocabulary(branch, root)
    if "items" in node:
        out |= _vocabulary(node["items"], root)
    return {v for v in out if isinstance(v, str)}


def _holds_containers(schema: Any, root: dict[str, Any]) -> bool:
    """Whether ``schema`` accepts a list or a mapping in any of its branches."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/"):
            stack.append(root.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[1]))
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if {"array", "object"} & set(kinds) or "properties" in node or "items" in node:
            return True
        stack.extend(node.get("oneOf", []) + node.get("anyOf", []))
    return False


def _flow(value: Any) -> str:
    """A short one-line YAML form of a list or mapping."""
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 70 else text[:67] + "..."


def _where(parts: Parts) -> str:
    if not parts:
        return ""
    last = parts[-1]
    return f" in `{parts[-2]}[{last}]`" if isinstance(last, int) and len(parts) > 1 else \
        f" in `{last}`" if isinstance(last, str) else ""


def _pattern_hint(pattern: str, description: str | None) -> str:
    if pattern.startswith("^[a-z0-9]"):
        return ("ids use lower-case letters, digits, '_', '-' and '.', and start with a letter "
                "or digit")
    if pattern.startswith("^10\\."):
        return "write the bare DOI, e.g. 10.1234/abcd (no https://doi.org/ prefix)"
    if pattern == "^https?://":
        return "write the full URL starting with https://"
    if pattern.startswith("^\\d{4}-"):
        return "write the date as YYYY-MM-DD"
    return description or f"must match the pattern {pattern}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping of fields"
    return type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = f"`{value}`" if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...`"
