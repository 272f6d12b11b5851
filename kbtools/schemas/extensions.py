"""KB-level schema extensions: the fields a KB declares for its own cards, per card kind.

A KB declares them in one file, ``kb/schemas/extensions.yaml`` (``.yml`` and ``.json`` work too;
so does ``kb_extensions.yaml`` at the KB root). Each card kind maps to a JSON Schema (Draft
2020-12) fragment whose ``properties`` are added to the built-in schema of that kind::

    model:
      properties:
        how_to_infer:
          type: object
          additionalProperties: {type: string}
          description: Code that runs the model, by provider.
        arch:                      # a built-in object: add fields inside it
          properties:
            special_features: {type: array, items: {type: string}}

Nested ``properties``, ``items`` and ``additionalProperties`` reach into the built-in objects,
lists and maps they name (``registry: {properties: {entries: {items: {properties: ...}}}}``
adds fields to registry entries). A built-in field can be extended but never redefined, and
unknown fields stay errors: a KB opts in to each field it keeps.

The merged schemas are what ``kbtools validate`` checks and ``kbtools schema export`` writes;
:func:`extension_fields` and :func:`extension_values` tell the site which fields a card page
shows beyond the built-in ones.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.schemas import load_schema

#: Card kinds a KB can extend, with the built-in schema each extends.
EXTENSIBLE_KINDS: dict[str, str] = {
    "model": "model_card",
    "paper": "paper_card",
    "dataset": "dataset_card",
    "registry": "integration_registry",
    "experiment": "experiment_config",
}
#: Where the extension file may be, in the order they are looked for (first found wins).
EXTENSION_FILES: tuple[str, ...] = (
    "kb/schemas/extensions.yaml",
    "kb/schemas/extensions.yml",
    "kb/schemas/extensions.json",
    "kb_extensions.yaml",
    "kb_extensions.yml",
    "kb_extensions.json",
)
#: The file ``kbtools migrate`` writes, and hints point at, when a KB has none yet.
DEFAULT_EXTENSION_FILE = EXTENSION_FILES[0]
#: Keys allowed at the top of the file besides the kinds.
_FILE_KEYS = ("$schema", "$id", "$comment", "title", "description")
#: Keys allowed in one kind's fragment.
_KIND_KEYS = ("properties", "$defs", "$comment", "title", "description")
#: Keywords that reach into a built-in node instead of redefining it.
_REACH = ("properties", "items", "additionalProperties")
_NOTE_KEYS = ("description", "title", "$comment", "type")
ITEM = "[]"  # a path step meaning "each item of the list"
#: ``format`` of a field holding a file of the KB (relative to its root): ``kbtools validate``
#: checks the file exists and stays inside the KB, as for the built-in path fields.
KB_PATH = "kb-path"
_LOCAL_FILE = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|~)[\w.-]+(?:/[\w.-]+)*\.[A-Za-z0-9]{1,8}$")


def is_local_file(value: Any) -> bool:
    """Text naming a file by a relative path (``docs/papers/x.pdf``; no URL, no anchor)."""
    return isinstance(value, str) and "/" in value and bool(_LOCAL_FILE.match(value))


@dataclass(frozen=True)
class ExtensionField:
    """One field a KB added to a card kind.

    ``path`` leads from the card's top level to the field; ``"[]"`` stands for each item of a
    list (``("entries", "[]", "intended_use")`` is a field of every registry entry).
    """

    kind: str
    path: tuple[str, ...]
    description: str | None = None
    schema: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def name(self) -> str:
        """Dotted name, e.g. ``how_to_infer``, ``arch.special_features``, ``entries[].level``."""
        out = ""
        for step in self.path:
            out += step if step == ITEM else (f".{step}" if out else step)
        return out

    @property
    def label(self) -> str:
        """A readable label: the last name, with underscores as spaces."""
        last = next((s for s in reversed(self.path) if s != ITEM), "")
        return last.replace("_", " ")


@dataclass(frozen=True)
class ExtensionValue:
    """A card's value for one extension field; ``path`` is concrete (list indices filled in)."""

    field: ExtensionField
    path: tuple[str | int, ...]
    value: Any

    @property
    def name(self) -> str:
        out = ""
        for step in self.path:
            out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
        return out


@dataclass(frozen=True)
class DeclarationProblem:
    """Something wrong in the extension file (reported by ``kbtools validate``)."""

    message: str
    parts: tuple[str | int, ...] = ()
    hint: str | None = None


@dataclass
class KBSchemas:
    """The schemas a KB's cards are checked against: built-in ones plus the KB's extensions."""

    root: Path
    file: str | None = None  # the extension file, relative to the root (None: the KB has none)
    fields: dict[str, list[ExtensionField]] = field(default_factory=dict)
    merged: dict[str, dict[str, Any]] = field(default_factory=dict)  # schema name -> schema
    problems: list[DeclarationProblem] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def declare_in(self) -> str:
        """Where this KB declares its own fields (the existing file, else the default one)."""
        return self.file or DEFAULT_EXTENSION_FILE

    def schema(self, schema_name: str) -> dict[str, Any]:
        """The schema cards of this kind are checked against (merged if the KB extends it)."""
        return self.merged.get(schema_name) or load_schema(schema_name)

    def key(self, schema_name: str) -> str:
        """A cache key for the compiled schema: the name, plus a digest when it is extended."""
        digest = self.digests.get(schema_name)
        return f"{schema_name}@{digest}" if digest else schema_name

    def for_workers(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Merged schemas keyed by schema name, as (cache key, schema): picklable, small."""
        return {name: (self.key(name), schema) for name, schema in self.merged.items()}


# ---------------------------------------------------------------------------------------------
# finding and reading the file


def find_extension_file(root: Path) -> Path | None:
    """The KB's extension file, or None."""
    for rel in EXTENSION_FILES:
        path = Path(root) / rel
        if path.is_file():
            return path
    return None


_CACHE: dict[tuple[str, str | None, tuple[int, int] | None], KBSchemas] = {}


def load_kb_schemas(root: Path) -> KBSchemas:
    """The KB's schemas (cached while the extension file is unchanged)."""
    root = Path(root).resolve()
    path = find_extension_file(root)
    stamp = None
    if path is not None:
        try:
            stat = path.stat()
            stamp = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = None
    key = (str(root), str(path) if path else None, stamp)
    cached = _CACHE.get(key)
    if cached is None:
        if len(_CACHE) > 32:
            _CACHE.clear()
        cached = _CACHE[key] = _build(root, path)
    return cached


def read_declarations(root: Path, path: Path) -> Any:
    """The parsed extension file (YAML or JSON); raises ``DeclarationProblem`` if unreadable."""
    from kbtools.errors import PathOutsideKB
    from kbtools.kb import resolve_inside
    from kbtools.yamlio import YAMLLoadError, load_file, read_text

    try:
        real = resolve_inside(root, path)
    except PathOutsideKB as exc:
        raise _Unreadable(DeclarationProblem(exc.message, (), exc.hint)) from None
    try:
        if real.suffix == ".json":
            return json.loads(read_text(real))
        return load_file(real)
    except YAMLLoadError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        raise _Unreadable(DeclarationProblem(f"{exc.message}{where}", (), exc.hint)) from None
    except RecursionError:
        raise _Unreadable(DeclarationProblem(
            "the JSON nests too deeply", (), "schemas nest a few levels at most")) from None
    except (OSError, ValueError) as exc:
        raise _Unreadable(DeclarationProblem(f"cannot read the file: {exc}", (),
                                             "fix the JSON, or write the file as YAML")) from None


class _Unreadable(Exception):
    def __init__(self, problem: DeclarationProblem):
        super().__init__(problem.message)
        self.problem = problem


def _build(root: Path, path: Path | None) -> KBSchemas:
    result = KBSchemas(root)
    if path is None:
        return result
    result.file = path.relative_to(root).as_posix()
    try:
        declared = read_declarations(root, path)
    except _Unreadable as exc:
        result.problems.append(exc.problem)
        return result
    if declared is None:
        return result  # an empty file declares nothing
    if not isinstance(declared, dict):
        result.problems.append(DeclarationProblem(
            "the file must be a mapping of card kinds (model, paper, ...) to JSON Schemas", (),
            "write `model:` then `  properties:` and the fields under it"))
        return result
    for key, fragment in declared.items():
        if key in _FILE_KEYS:
            continue
        if key not in EXTENSIBLE_KINDS:
            result.problems.append(_unknown_key(key, [*EXTENSIBLE_KINDS, *_FILE_KEYS], (key,),
                                                "card kind"))
            continue
        merged, fields, problems = merge(key, fragment, root)
        result.problems.extend(problems)
        if fields or merged is not None:
            result.fields[key] = fields
        if merged is not None and fields:
            name = EXTENSIBLE_KINDS[key]
            result.merged[name] = merged
            text = json.dumps(merged, sort_keys=True, ensure_ascii=False)
            result.digests[name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return result


def _unknown_key(key: Any, allowed: list[str], parts: tuple[str | int, ...],
                 noun: str) -> DeclarationProblem:
    import difflib

    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.75)
    hint = (f"did you mean `{close[0]}`?" if close else
            "use one of: " + ", ".join(a for a in allowed if not a.startswith("$")))
    return DeclarationProblem(f"unknown {noun} `{key}`", parts, hint)


# ---------------------------------------------------------------------------------------------
# merging one kind's fragment into its built-in schema


def merge(kind: str, fragment: Any, root: Path | None = None
          ) -> tuple[dict[str, Any] | None, list[ExtensionField], list[DeclarationProblem]]:
    """The built-in schema of ``kind`` with ``fragment``'s fields added, the fields, problems.

    Parts of the fragment that cannot be merged (not a schema, redefining a built-in field, a
    pattern that cannot run in linear time, a reference out of the KB's schema files) are
    reported and left out; the rest still applies. References into the KB's own schema files
    (under ``kb/schemas/`` of ``root``) are checked and bundled (:mod:`kbtools.schemas.refs`).
    """
    from kbtools.schemas import refs

    schema, fields, problems = _merge(kind, fragment)
    if schema is None:
        return schema, fields, problems
    ref_problems = refs.check_and_bundle(root, schema, fragment, (kind,))
    if ref_problems:
        cleaned = _without(fragment, [p.parts[1:] for p in ref_problems])
        schema, fields, _ = _merge(kind, cleaned)
        if schema is not None:
            refs.check_and_bundle(root, schema, cleaned, (kind,))
        problems += [DeclarationProblem(p.message, p.parts, p.hint) for p in ref_problems]
    return schema, fields, problems


def _without(fragment: Any, paths: list[tuple[str | int, ...]]) -> Any:
    """A copy of ``fragment`` without the keys at ``paths``."""
    out = copy.deepcopy(fragment)
    for path in paths:
        node = out
        for step in path[:-1]:
            node = node.get(step) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out


def _pattern_problems(kind: str, fragment: Any) -> list[DeclarationProblem]:
    """A problem at each pattern that cannot be matched in linear time."""
    from kbtools.schemas import patterns

    out = []
    for where, pattern in patterns.schema_patterns(fragment, (kind,)):
        why = patterns.problem(pattern)
        if why is not None:
            keyword = "pattern" if where[-1] == "pattern" else "patternProperties"
            out.append(DeclarationProblem(f"`{keyword}` cannot be used: {why}", where,
                                          patterns.PATTERN_HINT))
    return out


def _merge(kind: str, fragment: Any) -> tuple[dict[str, Any] | None, list[ExtensionField],
                                              list[DeclarationProblem]]:
    problems: list[DeclarationProblem] = []
    fields: list[ExtensionField] = []
    if fragment is None:
        return None, fields, problems
    if not isinstance(fragment, dict):
        problems.append(DeclarationProblem(
            f"`{kind}` must be a JSON Schema mapping with `properties`", (kind,),
            f"write `{kind}:` then `  properties:` and the fields under it"))
        return None, fields, problems
    for key in fragment:
        if key not in _KIND_KEYS:
            problems.append(_unknown_key(key, list(_KIND_KEYS), (kind, key), "keyword"))
    bad_patterns = _pattern_problems(kind, fragment)
    problems.extend(bad_patterns)
    bad = [p.parts for p in bad_patterns]
    schema = copy.deepcopy(load_schema(EXTENSIBLE_KINDS[kind]))
    defs = fragment.get("$defs")
    if isinstance(defs, dict):
        base_defs = schema.setdefault("$defs", {})
        for name, sub in defs.items():
            if name in base_defs:
                problems.append(DeclarationProblem(
                    f"`$defs.{name}` is already defined by the built-in schema", (kind, "$defs",
                                                                                  name),
                    f"give it another name, e.g. `kb_{name}`"))
            elif _holds(bad, (kind, "$defs", name)):
                continue  # its pattern is reported above
            elif _schema_problem(sub) is None:
                base_defs[name] = copy.deepcopy(sub)
            else:
                problems.append(DeclarationProblem(
                    f"`$defs.{name}` is not a valid JSON Schema: {_schema_problem(sub)}",
                    (kind, "$defs", name)))
    _merge_node(schema, schema, fragment, kind, (), (kind,), fields, problems, bad)
    if fields:
        schema["title"] = f"{schema.get('title', kind)} (with this KB's extensions)"
        schema["$id"] = str(schema.get("$id", "")).replace("/schemas/", "/schemas/kb/", 1)
    return schema, fields, problems


def _holds(bad: list[tuple[str | int, ...]], where: tuple[str | int, ...]) -> bool:
    """Whether a reported problem lies at or inside ``where``."""
    return any(parts[:len(where)] == where for parts in bad)


def _merge_node(root: dict[str, Any], base: dict[str, Any], ext: dict[str, Any], kind: str,
                path: tuple[str, ...], where: tuple[str | int, ...],
                fields: list[ExtensionField], problems: list[DeclarationProblem],
                bad: list[tuple[str | int, ...]]) -> None:
    """Add ``ext``'s properties/items/additionalProperties into the built-in node ``base``."""
    props = ext.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            problems.append(DeclarationProblem("`properties` must be a mapping of field names to "
                                               "schemas", (*where, "properties")))
        elif not _is_object(base):
            problems.append(DeclarationProblem(
                f"`{_dotted(path) or kind}` is not a mapping in the built-in schema, so fields "
                "cannot be added to it", (*where, "properties")))
        else:
            base_props = base.setdefault("properties", {})
            for name, sub in props.items():
                here = (*where, "properties", name)
                if not isinstance(sub, dict):
                    problems.append(DeclarationProblem(
                        f"the schema of `{name}` must be a mapping (e.g. `{{type: string}}`)",
                        here, "write e.g. `type: string` and a `description:` under it"))
                    continue
                if name not in base_props:
                    if _holds(bad, here):
                        continue  # its pattern is reported on its own line
                    problem = _schema_problem(sub)
                    if problem:
                        problems.append(DeclarationProblem(
                            f"`{_dotted((*path, name))}` is not a valid JSON Schema: {problem}",
                            here))
                        continue
                    base_props[name] = copy.deepcopy(sub)
                    description = sub.get("description") or sub.get("title")
                    fields.append(ExtensionField(kind, (*path, name),
                                                 str(description) if description else None,
                                                 copy.deepcopy(sub)))
                    continue
                reach = [k for k in sub if k in _REACH]
                other = [k for k in sub if k not in _REACH and k not in _NOTE_KEYS]
                if not reach or other:
                    problems.append(DeclarationProblem(
                        f"`{_dotted((*path, name))}` is a built-in field of {kind} cards; an "
                        "extension can add fields inside it but not redefine it", here,
                        f"give your field another name (e.g. `kb_{name}`), or remove it"))
                    continue
                target = _inline(root, base_props, name)
                _merge_node(root, target, sub, kind, (*path, name), here, fields, problems, bad)
    items = ext.get("items")
    if items is not None:
        target = base.get("items")
        if not isinstance(items, dict) or not isinstance(target, dict):
            problems.append(DeclarationProblem(
                f"`{_dotted(path)}` is not a list in the built-in schema", (*where, "items")))
        else:
            target = _inline(root, base, "items")
            _merge_node(root, target, items, kind, (*path, ITEM), (*where, "items"), fields,
                        problems, bad)
    extra = ext.get("additionalProperties")
    if extra is not None:
        target = base.get("additionalProperties")
        if not isinstance(extra, dict) or not isinstance(target, dict):
            problems.append(DeclarationProblem(
                f"`{_dotted(path)}` is not a map of named entries in the built-in schema",
                (*where, "additionalProperties")))
        else:
            target = _inline(root, base, "additionalProperties")
            _merge_node(root, target, extra, kind, (*path, ITEM), (*where, "additionalProperties"),
                        fields, problems, bad)


def _inline(root: dict[str, Any], holder: dict[str, Any], key: str) -> dict[str, Any]:
    """``holder[key]`` with a local ``$ref`` replaced by a copy of its target (so extending it
    changes only this place), returned for merging."""
    node = holder[key]
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = copy.deepcopy(root.get("$defs", {}).get(ref.rsplit("/", 1)[1], {}))
        target.update({k: v for k, v in node.items() if k != "$ref"})
        holder[key] = node = target
    return node


def _is_object(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node


def _dotted(path: tuple[str, ...]) -> str:
    return ExtensionField("", path).name


def _schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid Draft 2020-12 schema kbtools can run, or None."""
    from kbtools.schemas.engines import schema_problem

    return schema_problem(schema)


# ---------------------------------------------------------------------------------------------
# the API the site uses


def extension_fields(root: Path) -> dict[str, list[ExtensionField]]:
    """Per card kind, the fields the KB at ``root`` declares beyond the built-in schemas.

    Kinds without extensions are absent. Fields are in the order the file declares them.
    """
    return {kind: list(fields) for kind, fields in load_kb_schemas(root).fields.items() if fields}


def extension_values(fields: list[ExtensionField], data: Any) -> list[ExtensionValue]:
    """The values ``data`` (one card) holds for ``fields``, in field order; absent ones skipped."""
    out: list[ExtensionValue] = []
    for ext in fields:
        for path, value in _walk(data, ext.path, ()):
            out.append(ExtensionValue(ext, path, value))
    return out


def card_extension_values(root: Path, kind: str, data: Any) -> list[ExtensionValue]:
    """Shortcut: the extension values of one card of ``kind`` in the KB at ``root``."""
    return extension_values(extension_fields(root).get(kind, []), data)


def _walk(node: Any, path: tuple[str, ...], done: tuple[str | int, ...]
          ) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if not path:
        yield done, node
        return
    step, rest = path[0], path[1:]
    if step == ITEM:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _walk(item, rest, (*done, index))
        elif isinstance(node, dict):
            for key, item in node.items():
                yield from _walk(item, rest, (*done, str(key)))
    elif isinstance(node, dict) and step in node:
        yield from _walk(node[step], rest, (*done, step))
