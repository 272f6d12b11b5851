"""JSON Schemas (Draft 2020-12) shipped with kbtools, one per kind of document."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_NAMES = (
    "model_card",
    "paper_card",
    "dataset_card",
    "integration_registry",
    "experiment_config",
    "run_log",
    "run_metrics",
)


def schema_text(name: str) -> str:
    """The schema file's text; raises KeyError for an unknown name."""
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    return resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema (cached)."""
    return json.loads(schema_text(name))


def method_params_schema(method: str) -> dict[str, Any] | None:
    """Parameter schema of an analysis method, if it ships one."""
    path = resources.files(__package__).joinpath("method_params", f"{method}.schema.json")
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed YAML value (``bool`` before ``int``)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return "string"
