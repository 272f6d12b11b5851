"""The two JSON Schema engines kbtools runs, configured in one place.

* jsonschema-rs answers yes/no fast (and lists errors when python cannot explain them);
* python ``jsonschema`` (Draft 2020-12) explains failures with the detail the messages need.

Both are configured so that checking a document can neither reach outside the KB nor stall:

* **no retrieval**: a ``$ref`` resolves only inside the schema it is in. Each engine gets a
  retriever that refuses every URI (no file is opened, no URL fetched); the KB's own schema
  files that its extensions refer to are read through the KB gate and bundled into the merged
  schema when the extension file loads (:mod:`kbtools.schemas.refs`);
* **linear-time patterns**: ``pattern``, ``patternProperties`` (also as seen by
  ``additionalProperties``) and ``format: regex`` go through :mod:`kbtools.schemas.patterns`,
  never through Python's backtracking ``re``;
* **no quadratic keyword**: ``uniqueItems`` compares canonical forms in a set, not each item
  with every other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jsonschema_rs

from kbtools.schemas import patterns


class RefusedReference(Exception):
    """A schema asked for a document by URI; kbtools never retrieves one."""


def refuse(uri: str) -> Any:
    """The retriever of both engines: every URI is refused (nothing is opened or fetched)."""
    raise RefusedReference("kbtools resolves references only inside the KB's own schemas; "
                           "nothing is fetched")


def fast_validator(schema: dict[str, Any]) -> Any:
    """A compiled jsonschema-rs validator (formats checked, linear patterns, no retrieval)."""
    return jsonschema_rs.validator_for(schema, validate_formats=True,
                                       pattern_options=patterns.OPTIONS, retriever=refuse)


# ---------------------------------------------------------------------------------------------
# python jsonschema, with the pattern and uniqueness keywords replaced


def _matches(pattern: str, text: str) -> bool | None:
    """Whether ``pattern`` matches ``text``; None when the pattern cannot be used."""
    try:
        return patterns.search(pattern, text)
    except ValueError:
        return None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "string"):
        return
    found = _matches(pattern, instance)
    if found is None:
        yield ValidationError(f"the pattern cannot be used: {patterns.problem(pattern)}")
    elif not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, pattern_properties: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def additional_keys(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Keys of ``instance`` that neither ``properties`` nor ``patternProperties`` cover."""
    properties = schema.get("properties", {})
    pattern_list = list(schema.get("patternProperties", {}))
    return [key for key in instance if key not in properties
            and not any(_matches(p, key) for p in pattern_list)]


def _additional_properties(validator: Any, additional: Any, instance: Any,
                           schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    extras = additional_keys(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        listed = ", ".join(repr(e) for e in sorted(extras, key=str))
        yield ValidationError(f"Additional properties are not allowed ({listed} "
                              f"{'was' if len(extras) == 1 else 'were'} unexpected)")


def canonical(value: Any) -> Any:
    """A hashable form under JSON Schema equality (``1 == 1.0``, ``true != 1``)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", int(value) if float(value).is_integer() else value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((str(k), canonical(v)) for k, v in value.items()))
    return ("other", repr(value))


def duplicates(items: list[Any]) -> list[Any]:
    """Items that occur more than once (each listed once), in one pass."""
    seen: set[Any] = set()
    repeated: dict[Any, Any] = {}
    for item in items:
        key = canonical(item)
        if key in seen:
            repeated.setdefault(key, item)
        seen.add(key)
    return list(repeated.values())


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if unique and validator.is_type(instance, "array") and duplicates(instance):
        yield ValidationError("has non-unique elements")


@functools.cache
def _explainer_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {
        "pattern": _pattern, "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties, "uniqueItems": _unique_items})


@functools.cache
def format_checker() -> Any:
    """The format checker of both checks (python's ``regex`` format replaced by the linear one)."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checkers.pop("regex", None)

    @checker.checks("regex")
    def _regex(instance: object) -> bool:
        return not isinstance(instance, str) or patterns.problem(instance) is None

    return checker


@functools.cache
def _registry() -> Any:
    import referencing

    def retrieve(uri: str) -> Any:
        refuse(uri)

    return referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]


def explaining_validator(schema: dict[str, Any], *, formats: bool = True) -> Any:
    """A python ``jsonschema`` validator for ``schema`` (linear patterns, no retrieval)."""
    return _explainer_class()(schema, registry=_registry(),
                              format_checker=format_checker() if formats else None)


def explainable(schema: Any) -> bool:
    """Whether python ``jsonschema`` can explain ``schema`` without Python's ``re``: its
    ``unevaluatedProperties`` matches ``patternProperties`` itself, so a schema using both is
    explained by jsonschema-rs instead."""
    text = repr(schema)
    return not ("unevaluatedProperties" in text and "patternProperties" in text)


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid Draft 2020-12 schema kbtools can run, or None."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    for _, pattern in patterns.schema_patterns(schema):
        why = patterns.problem(pattern)
        if why is not None:
            return f"{why} (pattern `{pattern[:60]}`)"
    try:
        Draft202012Validator.check_schema(schema, format_checker=format_checker())
    except SchemaError as exc:
        return exc.message
    except RecursionError:
        return "the schema nests too deeply"
    return None
