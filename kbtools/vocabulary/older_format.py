"""What a field of the older card format is called now, read from the built-in mapping.

The mapping (``mappings/predecessor.yaml``) is data: :mod:`kbtools.migrate` runs its rules;
validation quotes them in hints (:func:`describe_field`) without importing the migration.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

BUILTIN = "predecessor"
_STEP = re.compile(r"\[\]|[^.\[\]]+")


def builtin_text() -> str:
    """The text of the built-in mapping file."""
    return resources.files("kbtools.vocabulary").joinpath(
        "mappings", f"{BUILTIN}.yaml").read_text("utf-8")


@cache
def _builtin_data() -> dict[str, Any]:
    from kbtools.yamlio import loads

    data = loads(builtin_text(), string_keys=True)  # anchors and aliases are expanded
    return data if isinstance(data, dict) else {}


def _rules(kind: str) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, str]]:
    body = ((_builtin_data().get("kinds") or {}).get(kind)) or {}
    rules = []
    for raw in body.get("rules") or []:
        if isinstance(raw, dict) and len(raw) == 1:
            (op, args), = raw.items()
            rules.append((str(op), args if isinstance(args, dict) else {}))
    return rules, {str(k): str(v) for k, v in (body.get("fields") or {}).items()}


def _paths(value: Any) -> list[str]:
    return [_dotted(_STEP.findall(str(v))) for v in (value if isinstance(value, list)
                                                       else [value])]


def describe_field(kind: str, steps: list[str] | tuple[str, ...]) -> str | None:
    """A hint for an unknown field that the built-in mapping knows, or None."""
    rules, fields = _rules(kind)
    dotted = _dotted(steps)
    for op, args in rules:
        copies = op == "copy" or (op == "first_of" and "convert" in args)
        if op in ("move", "first_of") and not copies:
            for source in _paths(args.get("from")):
                if source == dotted:
                    target = _paths(args.get("to"))[0]
                    return (f"`{dotted}` is the older card format's name for `{target}`: "
                            f"`kbtools migrate --write` converts it (and the rest of the KB)")
        elif op in ("roles_to_data", "ids_from_paths", "flatten") and \
                dotted in _paths(args.get("from")):
            return (f"`{dotted}` is a field of the older card format: `kbtools migrate --write` "
                    "converts it (and the rest of the KB)")
    if dotted in fields:
        return (f"`{dotted}` is a field of the older card format with no kbtools field: "
                "`kbtools migrate --write` keeps it as this KB's own field and declares it in "
                "kb/schemas/extensions.yaml")
    return None


def _dotted(steps: Any) -> str:
    out = ""
    for step in steps:
        out += "[]" if step == "[]" else (f".{step}" if out else str(step))
    return out
