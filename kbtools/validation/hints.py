"""Hints that fix: what to write instead, as a short YAML example, and where a field can go.

* :func:`really_close` suggests a known name only for a genuine near-miss (a typo, a plural,
  another spelling of the same words), never for a merely similar-looking word;
* :func:`unknown_field_hint` gives every unknown field a next step: the near-miss, the field an
  older card format meant (``kbtools migrate`` converts it), or how to declare it as the KB's
  own field;
* :func:`yaml_example` writes the expected shape of a value as a few lines of YAML, reusing the
  value the card has where it fits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kbtools.schemas import json_type
from kbtools.vocabulary.counts import NotExact, exact_count
from kbtools.vocabulary.older_format import describe_field

#: Most allowed names listed in a hint.
MAX_LISTED = 12


@dataclass(frozen=True)
class HintContext:
    """What a hint may mention besides the schema: the card kind and where the KB declares
    its own fields."""

    kind: str | None = None
    declare_in: str = "kb/schemas/extensions.yaml"


# ---------------------------------------------------------------------------------------------
# near-misses


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(name: str) -> str:
    if name.endswith("ies") and len(name) > 4:
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        return name[:-1]
    return name


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps)."""
    from rapidfuzz.distance import OSA

    return int(OSA.distance(a, b))


def really_close(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``name`` is a near-miss of, or None.

    A near-miss differs only in case and separators (``lastUpdated``), is the singular or
    plural of it (``modalities``), or is one edit away (two for names of seven letters or more:
    ``summmary``, ``weigths``, ``licence``). ``seed`` is not near ``scheme``, nor ``journal``
    near ``url``, nor ``dtypes`` near ``phenotypes``.
    """
    found = _closest(_norm(name), ((_norm(str(c)), str(c)) for c in candidates))
    return found[1] if found else None


def _closest(target: str, candidates: Any) -> tuple[int, str] | None:
    """(distance, candidate) of the best near-miss among ``(normalised, original)`` pairs in
    order: the smallest distance, then the earliest."""
    from rapidfuzz.distance import OSA

    if not target:
        return None
    single = _singular(target)
    best: tuple[int, str] | None = None
    for other, original in candidates:
        if not other:
            continue
        if other == target or _singular(other) == single:
            return 0, original  # nothing is closer, and this one comes first
        shortest = min(len(target), len(other))
        allowed = 1 if shortest < 7 else 2
        if shortest < 3 or abs(len(target) - len(other)) > allowed:
            continue
        if shortest == 3 and len(target) == len(other):
            continue  # three letters and one changed: too little to go on (url, uri)
        if best is not None:
            allowed = min(allowed, best[0] - 1)  # only a strictly closer one replaces it
        distance = OSA.distance(target, other, score_cutoff=allowed)
        if distance <= allowed:
            best = (distance, original)
    return best


class NearMatcher:
    """:func:`really_close` against many candidates (100,000 card ids), fast and compact.

    Each candidate is indexed under the strings left by deleting up to two of its characters
    (one for short names), as in SymSpell; two names within the allowed distance share such a
    string, so a query compares itself with a handful of candidates instead of all of them.
    The index holds a 32-bit checksum and a position per deletion string in sorted numpy arrays
    (8 bytes each, built in slices), where a dict of the strings took gigabytes; a checksum
    collision only adds a candidate that the exact comparison rejects. Strings of one deletion
    find every candidate one edit away, so the two-deletion index is built only when a query
    has no candidate that close.
    """

    #: Candidates whose deletion strings are hashed at a time (bounds the build's memory).
    SLICE = 5_000

    def __init__(self, candidates: Sequence[str]):
        self.candidates = [str(c) for c in candidates]
        self.normalised = [_norm(c) for c in self.candidates]
        self._near = self._index(1)
        self._far: tuple[Any, Any] | None = None
        self.by_first_word: dict[str, list[int]] | None = None  # built when first asked

    def _index(self, depth: int) -> tuple[Any, Any]:
        import numpy as np

        keys: list[Any] = []
        where: list[Any] = []
        for start in range(0, len(self.candidates), self.SLICE):
            k: list[int] = []
            w: list[int] = []
            for position in range(start, min(start + self.SLICE, len(self.candidates))):
                hashes = _checksums(self.candidates[position], depth)
                k += hashes
                w += [position] * len(hashes)
            keys.append(np.asarray(k, dtype=np.uint32))
            where.append(np.asarray(w, dtype=np.int32))
        all_keys = np.concatenate(keys) if keys else np.zeros(0, np.uint32)
        order = np.argsort(all_keys, kind="stable")
        return all_keys[order], (np.concatenate(where) if where else np.zeros(0, np.int32))[order]

    @staticmethod
    def _lookup(index: tuple[Any, Any], name: str, depth: int) -> set[int]:
        import numpy as np

        keys, where = index
        wanted = np.asarray(_checksums(name, depth), dtype=np.uint32)
        lo = np.searchsorted(keys, wanted, "left")
        hi = np.searchsorted(keys, wanted, "right")
        parts = [where[a:b] for a, b in zip(lo, hi, strict=True) if b > a]
        return set(np.concatenate(parts).tolist()) if parts else set()

    def match(self, name: str) -> str | None:
        target = _norm(name)
        found = self._lookup(self._near, name, 1)
        best = _closest(target, ((self.normalised[i], self.candidates[i]) for i in sorted(found)))
        if (best is None or best[0] > 1) and len(target) >= 7:
            if self._far is None:  # two edits away: only long names, and only when needed
                self._far = self._index(2)
            found |= self._lookup(self._far, name, 2)
            best = _closest(target, ((self.normalised[i], self.candidates[i])
                                     for i in sorted(found)))
        return best[1] if best else None

    def same_words(self, name: str) -> str | None:
        """The one id that ``name`` names with other words at its end: a whole-word prefix
        (``hg38`` -> ``hg38_reference``) or all words but the last, at least two of them
        (``nucleotide_transformer_benchmark`` -> ``nucleotide_transformer_tasks``)."""
        if self.by_first_word is None:
            self.by_first_word = {}
            for position, candidate in enumerate(self.candidates):
                words = _words(candidate)
                if words:
                    self.by_first_word.setdefault(words[0], []).append(position)
        words = _words(name)
        ranked: dict[int, list[str]] = {}
        for position in self.by_first_word.get(words[0] if words else "", ()):
            other = _words(self.candidates[position])
            short, long = sorted((words, other), key=len)
            if len(short) < len(long) and long[:len(short)] == short:
                ranked.setdefault(1, []).append(self.candidates[position])
            elif len(words) == len(other) >= 3 and words[:-1] == other[:-1]:
                ranked.setdefault(2, []).append(self.candidates[position])
        for rank in sorted(ranked):
            return ranked[rank][0] if len(ranked[rank]) == 1 else None
        return None


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_.\-\s]+", name.lower()) if w]


def _checksums(name: str, depth: int) -> list[int]:
    from zlib import crc32

    return [crc32(key.encode("utf-8", "surrogatepass")) for key in _neighbourhood(name, depth)]


def _neighbourhood(name: str, depth: int = 2) -> set[str]:
    """The normalised name (and its singular) with up to ``depth`` characters deleted (one for
    names under seven letters)."""
    out: set[str] = set()
    for form in {_norm(name), _singular(_norm(name))}:
        if not form:
            continue
        level = {form}
        out |= level
        for _ in range(min(depth, 2 if len(form) >= 7 else 1)):
            level = {w[:i] + w[i + 1:] for w in level for i in range(len(w))}
            out |= level
    return out


# ---------------------------------------------------------------------------------------------
# unknown fields


def unknown_field_hint(name: str, allowed: Sequence[str], value: Any,
                       parts: Sequence[str | int], ctx: HintContext | None) -> str:
    """A next step for the unknown field ``name`` found at ``parts`` (the object holding it)."""
    close = really_close(name, allowed)
    if close:
        return f"did you mean `{close}`?"
    ctx = ctx or HintContext()
    older = _older_format_note(ctx.kind, [*_steps(parts), name])
    if older:
        return older
    listed = ", ".join(allowed[:MAX_LISTED]) + (", ..." if len(allowed) > MAX_LISTED else "")
    typo = f"if it is a typo, the fields allowed here are: {listed}" if allowed else \
        "if it is a typo, remove it"
    if ctx.kind is None:
        return typo
    example = declaration_example(ctx.kind, [*_steps(parts), name], value)
    return (f"if `{name}` is this KB's own field, declare it in {ctx.declare_in} "
            f"(then it is checked like the others):\n{example}\n{typo}")


def _steps(parts: Sequence[str | int]) -> list[str]:
    """JSON path steps as schema steps: list indices become ``[]``."""
    return ["[]" if isinstance(p, int) else str(p) for p in parts]


def _yaml_type(value: Any) -> str:
    kind = json_type(value)
    return '"null"' if kind == "null" else kind  # bare null would be YAML's None


def declaration_example(kind: str, steps: Sequence[str], value: Any) -> str:
    """The extension-file lines that declare the field at ``steps`` of a ``kind`` card."""
    lines = [f"{kind}:"]
    indent = "  "
    for step in steps[:-1]:
        if step == "[]":
            lines.append(f"{indent}items:")
        else:
            lines.append(f"{indent}properties:")
            indent += "  "
            lines.append(f"{indent}{step}:")
        indent += "  "
    lines.append(f"{indent}properties:")
    indent += "  "
    lines.append(f"{indent}{steps[-1]}: {{type: {_yaml_type(value)}, description: ...}}")
    return "\n".join(lines)


def _older_format_note(kind: str | None, steps: list[str]) -> str | None:
    """What ``kbtools migrate`` does with this field of an older card format, if it knows it."""
    if kind is None:
        return None
    return describe_field(kind, steps)


# ---------------------------------------------------------------------------------------------
# expected shapes as YAML


def yaml_example(schema: dict[str, Any], name: str | int | None, value: Any,
                 root: dict[str, Any] | None = None) -> str:
    """A short YAML example of a value matching ``schema``, reusing ``value`` where it fits."""
    key = name if isinstance(name, str) else None
    lines = _example_lines(_resolve(schema, root), key, value, root, 0)
    return "\n".join(lines)


def _resolve(schema: Any, root: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and root is not None:
        target = root.get("$defs", {}).get(ref.rsplit("/", 1)[1], {})
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    for branch_key in ("oneOf", "anyOf"):
        branches = schema.get(branch_key)
        if isinstance(branches, list) and branches:
            return _resolve(branches[0], root)
    return schema


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0])
    if kind:
        return str(kind)
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _example_lines(schema: dict[str, Any], key: str | None, value: Any,
                   root: dict[str, Any] | None, depth: int) -> list[str]:
    pad = "  " * depth
    head = f"{pad}{key}:" if key is not None else None
    kind = _kind(schema)
    if kind == "object" and ("properties" in schema or "additionalProperties" in schema):
        body = _object_body(schema, value, root, depth + (1 if head else 0))
        return ([head] if head else []) + body
    if kind == "array":
        item = _resolve(schema.get("items", {}), root)
        first = value[0] if isinstance(value, list) and value else _first_leaf(value)
        item_lines = _example_lines(item, None, first, root, 0)
        inner = "  " * (depth + (1 if head else 0))
        out = [head] if head else []
        out.append(f"{inner}- {item_lines[0].strip()}")
        out.extend(f"{inner}  {line}" for line in item_lines[1:])
        return out
    scalar = _scalar_example(schema, value, tokens=_counts_tokens(key))
    return [f"{head} {scalar}" if head else f"{pad}{scalar}"]


def _counts_tokens(name: str | None) -> bool:
    """Whether a field holds a token count (a context length), where k means 1,024 too."""
    return bool(name) and (name.endswith(("context_length", "_tokens")) or name == "tokens")


def _first_leaf(value: Any) -> Any:
    """The first scalar inside ``value`` (``{core: [age, sex]}`` -> ``age``)."""
    while isinstance(value, dict | list) and value:
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return None if isinstance(value, dict | list) else value


def _object_body(schema: dict[str, Any], value: Any, root: dict[str, Any] | None,
                 depth: int) -> list[str]:
    props: dict[str, Any] = schema.get("properties", {})
    if not props:
        extra = _resolve(schema.get("additionalProperties", {}), root)
        return _example_lines(extra, "name", None, root, depth)
    if depth >= 2:  # deeper mappings: one line says enough
        return [f"{'  ' * depth}{next(iter(props))}: ..."]
    required = [n for n in schema.get("required", []) if n in props]
    names = required + [n for n in props if n not in required]
    shown = names[:max(2, len(required))] if len(names) > 2 else names
    holder = _holder_for(value, props, names, root)
    if holder and holder not in shown:
        shown = [holder, *shown[:-1]] if len(shown) >= 2 else [holder]
    out = []
    for prop in shown:
        fit = value if prop == holder else None
        out.extend(_example_lines(_resolve(props[prop], root), prop, fit, root, depth))
    return out


def _holder_for(value: Any, props: dict[str, Any], names: list[str],
                root: dict[str, Any] | None) -> str | None:
    """The field a value most likely belongs in (``access: restricted`` -> ``level``, a list
    of ids -> the first list field)."""
    if isinstance(value, list):
        return next((n for n in names if _kind(_resolve(props[n], root)) == "array"), None)
    if value is None or isinstance(value, dict):
        return None
    for name in names:
        sub = _resolve(props[name], root)
        if "enum" in sub and value in sub["enum"]:
            return name
    for name in names:
        sub = _resolve(props[name], root)
        if _kind(sub) == json_type(value) and "enum" not in sub and "pattern" not in sub:
            return name
    return None


def _matches(pattern: str, value: str) -> bool:
    """A schema pattern matched in linear time (never Python's backtracking ``re``)."""
    from kbtools.schemas.patterns import search

    try:
        return search(pattern, value)
    except ValueError:
        return False


def _scalar_example(schema: dict[str, Any], value: Any, tokens: bool = False) -> str:
    kind = _kind(schema)
    pattern = schema.get("pattern")
    if isinstance(value, str) and isinstance(pattern, str) and kind == "string" \
            and "enum" not in schema and _matches(pattern, value):
        return _yaml_scalar(value)
    enum = schema.get("enum")
    if enum:
        if value in enum:
            return _yaml_scalar(value)
        return _yaml_scalar(enum[0]) + "  # " + ", ".join(map(str, enum[:8])) + (
            ", ..." if len(enum) > 8 else "")
    if kind in ("integer", "number"):
        if isinstance(value, str):
            try:
                return str(exact_count(value, tokens=tokens))
            except NotExact as exc:  # a range, a bound, an ambiguous k: no number made up
                return f"...  # {exc}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return str(schema.get("minimum", 1))
    if kind == "boolean":
        return "true" if value in ("yes", "true", "True", 1) else "false"
    if schema.get("format") == "date" or str(schema.get("pattern", "")).startswith("^\\d{4}-"):
        return "2026-01-31"
    if schema.get("format") == "uri" or schema.get("pattern") == "^https?://":
        return "https://example.org/page"
    if str(schema.get("pattern", "")).startswith("^[a-z0-9]"):
        return "an_id"
    if str(schema.get("pattern", "")).startswith("^10\\."):
        return "10.1234/abcd"
    if isinstance(value, str) and value:
        return _yaml_scalar(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _yaml_scalar(str(value))
    return "..."


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, str):
        plain = re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_ ./-]*", value) and value.strip() == value
        shown = value if len(value) <= 40 else value[:37] + "..."
        return shown if plain and len(value) <= 40 else '"' + shown.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
