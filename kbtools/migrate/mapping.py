"""A migration mapping: rules per card kind, read from a YAML data file and checked on load.

The built-in mapping (``kbtools/vocabulary/mappings/predecessor.yaml``, shared with validation's
hints) describes the card format research groups used before kbtools; ``kbtools migrate
--mapping FILE`` takes another in the same form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kbtools.errors import KBToolsError
from kbtools.migrate.convert import converter
from kbtools.migrate.tree import ITEM, Steps, parse_path
from kbtools.vocabulary.older_format import BUILTIN, builtin_text

#: Operations a rule may name, with the arguments each requires and allows.
OPERATIONS: dict[str, tuple[set[str], set[str]]] = {
    "move": ({"from", "to"}, {"convert", "when"}),
    "copy": ({"from", "to"}, {"convert", "when"}),
    "first_of": ({"from", "to"}, {"convert", "when"}),
    "swap": ({"fields"}, {"maps"}),
    "values": ({"at", "map"}, {"narrower", "keep"}),
    "convert": ({"at", "with"}, set()),
    "default": ({"at", "value"}, set()),
    "flatten": ({"from", "groups_to"}, set()),
    "ids_from_paths": ({"from", "to"}, set()),
    "ids_by_registry": ({"from", "to"}, {"unknown"}),
    "roles_to_data": ({"from", "to"}, set()),
    "registry_kind": (set(), {"by_id", "by_key", "default"}),
    "entries_from_mapping": ({"from"}, set()),
    "single_entry": ({"keep"}, set()),
    "plan_to_config": ({"method_from", "methods", "roles"},
                       {"params", "covariates_from", "site_columns"}),
}
CONDITIONS = ("url", "text", "list", "mapping", "number", "exists", "missing_file", "arxiv")
KINDS = ("model", "paper", "dataset", "registry", "experiment")


@dataclass(frozen=True)
class Rule:
    op: str
    args: dict[str, Any]
    index: int  # position in the kind's rule list (for messages)

    def path(self, name: str) -> Steps:
        return parse_path(str(self.args[name]))

    def paths(self, name: str) -> list[Steps]:
        value = self.args[name]
        return [parse_path(str(v)) for v in (value if isinstance(value, list) else [value])]


@dataclass
class KindMapping:
    rules: list[Rule] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # dotted path -> description


@dataclass
class Mapping:
    name: str
    description: str
    kinds: dict[str, KindMapping]
    source: str  # where it was read from

    def for_kind(self, kind: str) -> KindMapping:
        return self.kinds.get(kind) or KindMapping()


def load_mapping(spec: str | Path | None = None) -> Mapping:
    """The built-in mapping (``None`` or its name) or a mapping file; checked as it loads."""
    if spec is None or str(spec) == BUILTIN:
        return _builtin()
    path = Path(spec)
    if not path.is_file():
        raise KBToolsError(f"no mapping file {spec}",
                           hint=f"give a YAML file, or leave --mapping out for `{BUILTIN}`")
    from kbtools.yamlio import YAMLLoadError, read_text

    try:
        text = read_text(path)  # the size and encoding bounds of every YAML file kbtools reads
    except YAMLLoadError as exc:
        raise KBToolsError(f"mapping {spec}: {exc.message}", hint=exc.hint) from None
    return _parse(_read(text, str(path)), str(path))


@cache
def _builtin() -> Mapping:
    return _parse(_read(builtin_text(), BUILTIN), BUILTIN)


def _read(text: str, where: str) -> Any:
    from kbtools.yamlio import YAMLLoadError, loads

    try:
        return loads(text, string_keys=True)  # anchors and aliases are expanded
    except YAMLLoadError as exc:
        raise KBToolsError(f"mapping {where}: {exc.message}", hint=exc.hint) from None


def _parse(data: Any, where: str) -> Mapping:
    def fail(message: str) -> KBToolsError:
        return KBToolsError(f"mapping {where}: {message}",
                            hint="see kbtools/vocabulary/mappings/predecessor.yaml for the form")

    if not isinstance(data, dict) or not isinstance(data.get("kinds"), dict):
        raise fail("expected a mapping with `kinds:`")
    kinds: dict[str, KindMapping] = {}
    for kind, body in data["kinds"].items():
        if kind not in KINDS:
            raise fail(f"unknown card kind `{kind}` (kinds: {', '.join(KINDS)})")
        body = body or {}
        rules = []
        for index, raw in enumerate(body.get("rules") or []):
            if not isinstance(raw, dict) or len(raw) != 1:
                raise fail(f"{kind} rule {index + 1}: write one operation per rule")
            (op, args), = raw.items()
            if op not in OPERATIONS:
                raise fail(f"{kind} rule {index + 1}: unknown operation `{op}` "
                           f"(operations: {', '.join(OPERATIONS)})")
            args = args or {}
            required, optional = OPERATIONS[op]
            missing = required - set(args)
            extra = set(args) - required - optional
            if missing or extra:
                raise fail(f"{kind} rule {index + 1} ({op}): "
                           + (f"missing {', '.join(sorted(missing))}" if missing else
                              f"unknown argument {', '.join(sorted(extra))}"))
            _check_rule(op, args, fail, f"{kind} rule {index + 1} ({op})")
            rules.append(Rule(op, args, index))
        fields = {str(k): str(v) for k, v in (body.get("fields") or {}).items()}
        kinds[kind] = KindMapping(rules, fields)
    return Mapping(str(data.get("name", where)), str(data.get("description", "")), kinds, where)


def _check_rule(op: str, args: dict[str, Any], fail: Any, where: str) -> None:
    when = args.get("when")
    if when is not None and when not in CONDITIONS:
        raise fail(f"{where}: unknown condition `{when}` ({', '.join(CONDITIONS)})")
    if "convert" in args:
        try:
            converter(args["convert"])
        except KeyError:
            raise fail(f"{where}: unknown converter {args['convert']!r}") from None
    if op == "convert":
        try:
            converter(args["with"])
        except KeyError:
            raise fail(f"{where}: unknown converter {args['with']!r}") from None
    if op in ("move", "copy"):
        source, target = parse_path(str(args["from"])), parse_path(str(args["to"]))
        if _list_prefix(source) != _list_prefix(target):
            raise fail(f"{where}: `from` and `to` must go through the same lists ([])")


def _list_prefix(steps: Steps) -> Steps:
    last = max((i for i, s in enumerate(steps) if s == ITEM), default=-1)
    return steps[:last + 1]
