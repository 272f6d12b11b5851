"""Schema checks: a compiled jsonschema-rs validator says yes/no fast; only documents that fail
are explained by python ``jsonschema`` (Draft 2020-12 + FormatChecker), whose errors are
rewritten as short, friendly messages with a hint and the JSON path of the offending value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

import jsonschema_rs

from kbtools.schemas import load_schema, method_params_schema
from kbtools.validation.findings import Finding, Parts

#: Most schema problems reported for one document (the rest are summarised in one line).
MAX_ERRORS = 25

_validators: dict[str, Any] = {}
_explainers: dict[str, Any] = {}
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


def _compiled(key: str, schema: dict[str, Any]) -> Any:
    validator = _validators.get(key)
    if validator is None:
        validator = _validators[key] = jsonschema_rs.validator_for(schema, validate_formats=True)
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
    _compiled(*_resolve(schema_name, extended))


def check_schema(schema_name: str, data: Any, extended: Extended | None = None) -> list[Finding]:
    """Findings for ``data`` against the named schema, or the KB's extension of it."""
    key, schema = _resolve(schema_name, extended)
    return _check(key, schema, data, "schema", ())


def check_params(method: str, params: Any) -> list[Finding]:
    """Findings for an experiment's ``params`` against the method's parameter schema, if any."""
    if method not in _param_schemas:
        _param_schemas[method] = method_params_schema(method)
    schema = _param_schemas[method]
    if schema is None:
        return []
    return _check(f"method_params/{method}", schema, {} if params is None else params,
                  "schema.params", ("params",))


def _check(key: str, schema: dict[str, Any], data: Any, rule: str, prefix: Parts) -> list[Finding]:
    try:
        if _compiled(key, schema).is_valid(data):
            return []
    except (ValueError, TypeError):  # values jsonschema-rs cannot take; python explains below
        pass
    findings = _explain(key, schema, data, rule, prefix)
    if not findings:  # the two engines disagree (e.g. formats python cannot check): use rs
        findings = _rs_findings(key, schema, data, rule, prefix)
    return findings


def _explain(key: str, schema: dict[str, Any], data: Any, rule: str,
             prefix: Parts) -> list[Finding]:
    from jsonschema import Draft202012Validator, FormatChecker  # only for failing documents

    validator = _explainers.get(key)
    if validator is None:
        validator = _explainers[key] = Draft202012Validator(schema, format_checker=FormatChecker())
    findings: list[Finding] = []
    seen: set[tuple[Parts, str]] = set()
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        for finding in _friendly(error, prefix, rule):
            if (finding.parts, finding.message) not in seen:
                seen.add((finding.parts, finding.message))
                findings.append(finding)
    findings = _merge_required(findings)
    if len(findings) > MAX_ERRORS:
        extra = len(findings) - MAX_ERRORS
        findings = findings[:MAX_ERRORS]
        findings.append(Finding(rule, f"... and {extra} more schema problems", prefix,
                                "fix the ones above and validate again"))
    return findings


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
            out.append(Finding(f.rule, f"missing required fields {listed}{where}", f.parts,
                               "add " + ", ".join(f"`{n}:`" for n in names)))
    return out


def _rs_findings(key: str, schema: dict[str, Any], data: Any, rule: str,
                 prefix: Parts) -> list[Finding]:
    try:
        errors = list(_compiled(key, schema).iter_errors(data))
    except (ValueError, TypeError) as exc:
        return [Finding(rule, f"cannot be checked against the schema: {exc}", prefix)]
    out = []
    for error in errors[:MAX_ERRORS]:
        parts = (*prefix, *error.instance_path)
        match = _RS_FORMAT.match(error.message)
        if match:
            form = _FORMATS.get(match.group("format"), match.group("format"))
            out.append(Finding(rule, f"{_short(error.instance)} is not {form}{_where(parts)}",
                               parts, _FORMAT_HINTS.get(match.group("format"))))
        else:
            out.append(Finding(rule, error.message, parts))
    return out


def _friendly(error: Any, prefix: Parts, rule: str) -> Iterable[Finding]:
    """One jsonschema error as findings with a plain message and a hint."""
    from jsonschema.exceptions import best_match

    if error.validator in ("oneOf", "anyOf") and error.context:
        yield from _friendly(best_match(error.context), prefix, rule)
        return
    parts: Parts = (*prefix, *error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    schema = error.schema
    where = _where(parts)
    description = schema.get("description") if isinstance(schema, dict) else None
    if keyword == "required":
        match = _REQUIRED.match(error.message)
        name = match.group("name") if match else str(expected)
        about = schema.get("properties", {}).get(name, {}).get("description")
        yield Finding(rule, f"missing required field `{name}`{where}", parts,
                      f"add `{name}:`" + (f" ({about})" if about else ""))
    elif keyword == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        for extra in value:
            if extra in allowed or any(p.search(str(extra)) for p in patterns):
                continue
            close = difflib.get_close_matches(str(extra), allowed, n=1)
            hint = (f"did you mean `{close[0]}`?" if close else
                    "remove it; allowed here: " + ", ".join(allowed) if allowed else "remove it")
            yield Finding(rule, f"unknown field `{extra}`{where}", (*parts, extra), hint)
    elif keyword == "enum":
        choices = ", ".join(str(c) for c in expected)
        close = difflib.get_close_matches(str(value), [str(c) for c in expected], n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"use one of: {choices}"
        yield Finding(rule, f"{_short(value)} is not allowed{where}; expected one of: {choices}",
                      parts, hint)
    elif keyword == "const":
        yield Finding(rule, f"{_short(value)} must be {_short(expected)}{where}", parts)
    elif keyword == "type":
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in _as_list(expected))
        hint = "quote the value to make it text" if "text" in wanted else description
        yield Finding(rule, f"expected {wanted}{where}, got {_describe(value)}", parts, hint)
    elif keyword == "pattern":
        yield Finding(rule, f"{_short(value)} is not in the expected form{where}", parts,
                      _pattern_hint(str(expected), description))
    elif keyword == "format":
        yield Finding(rule, f"{_short(value)} is not {_FORMATS.get(expected, expected)}{where}",
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
        dupes = sorted({_short(v) for i, v in enumerate(value) if v in value[:i]})
        yield Finding(rule, f"lists {', '.join(dupes)} more than once{where}", parts,
                      "keep each item once")
    elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "maximum": "at most",
                 "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}[keyword]
        yield Finding(rule, f"{_short(value)} is out of range{where}: must be {bound} {expected}",
                      parts, description)
    else:
        yield Finding(rule, f"{error.message}{where}", parts, description)


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
