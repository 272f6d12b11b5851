"""Run a migration over a KB: plan (dry run, with a diff per file), then write.

Order: registries first (their entry ids tell which registry a model's ``integrations`` name),
then models, papers, datasets and experiment configs; then the links between papers and
models are made reciprocal; then what still does not fit is set aside, every value without a
kbtools field is declared in the KB's extension file, and each card is checked against the
result. Only files whose content changes are rewritten.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools import layout
from kbtools.errors import KBToolsError
from kbtools.kb import resolve_inside
from kbtools.migrate import declare, tree
from kbtools.migrate.fit import Fitter
from kbtools.migrate.mapping import Mapping, load_mapping
from kbtools.migrate.report import Report
from kbtools.migrate.rules import Apply, Card, KBFacts
from kbtools.schemas.extensions import (
    DEFAULT_EXTENSION_FILE,
    EXTENSIBLE_KINDS,
    find_extension_file,
    load_kb_schemas,
    merge,
)

#: Kinds in the order they are migrated.
ORDER = ("registry", "model", "paper", "dataset", "experiment")
#: Most passes of the rules over the KB (each pass after the first only fills gaps).
MAX_PASSES = 4
LINKS = (("paper", "models", "model", "papers"), ("model", "papers", "paper", "models"))


@dataclass
class Plan:
    """What a migration would write: new texts by path (relative to the root), and the report."""

    root: Path
    old: dict[str, str] = field(default_factory=dict)
    new: dict[str, str] = field(default_factory=dict)
    report: Report = field(default_factory=Report)

    @property
    def changed(self) -> list[str]:
        return [rel for rel in self.new if self.new[rel] != self.old.get(rel)]

    def diff(self, rel: str) -> str:
        old = self.old.get(rel, "")
        return "".join(difflib.unified_diff(
            old.splitlines(keepends=True), self.new[rel].splitlines(keepends=True),
            fromfile=f"a/{rel}" if rel in self.old else "/dev/null", tofile=f"b/{rel}"))


def plan(root: Path, mapping: Mapping | None = None, today: dt.date | None = None) -> Plan:
    """Migrate every card of the KB at ``root`` in memory."""
    root = Path(root).resolve()
    mapping = mapping or load_mapping()
    result = Plan(root)
    report = result.report
    cards = _load_cards(root, result)
    kb_schemas = load_kb_schemas(root)
    if kb_schemas.problems:
        raise KBToolsError(f"{kb_schemas.file} has problems; fix them first",
                           hint="run `kbtools validate` to see them")
    known = {kind: kb_schemas.schema(EXTENSIBLE_KINDS[kind]) for kind in EXTENSIBLE_KINDS}
    facts = KBFacts(root, (today or dt.date.today()).isoformat(),
                    card_ids={kind: {c.stem for c in cards if c.kind == kind and not c.template}
                              for kind in EXTENSIBLE_KINDS},
                    vocabulary=lambda kind, name: _vocabulary(known[kind], name))
    facts.git_dates = git_dates(root, [c.rel for c in cards])
    for card in cards:
        if card.template and "status" not in card.data:
            card.data.insert(min(2, len(card.data)), "status", "template")
    # The rules and the fitting run until nothing changes (what the fitting sets aside can
    # leave a gap a rule fills), so that a second `kbtools migrate` has nothing to do.
    for _ in range(MAX_PASSES):
        before = [tree.plain(c.data) for c in cards]
        for kind in ORDER:
            for card in (c for c in cards if c.kind == kind):
                runner = Apply(card, facts, report)
                for rule in mapping.for_kind(kind).rules:
                    runner.rule(rule)
            if kind == "registry":
                facts.registry_of = _registry_entries(cards)
        _reciprocal_links(cards, report)
        for card in cards:
            if not card.template:
                Fitter(known[card.kind], card.rel, report).run(card.data)
        if [tree.plain(c.data) for c in cards] == before:
            break
    additions = _declare(root, cards, known, mapping, result)
    _check(root, cards, known, additions, report)
    for card in cards:
        if tree.plain(card.data) != card.original:
            result.new[card.rel] = tree.dump(card.data, result.old[card.rel])
    report.changed = result.changed
    return result


def git_dates(root: Path, rels: list[str]) -> dict[str, str]:
    """The date (YYYY-MM-DD) of each file's last commit, for files git has history of.

    One ``git log`` over the whole history; a KB that is not a git repository (or has no
    git) gives no dates, and the report says so per card instead of making a date up.
    """
    import shutil
    import subprocess

    if not rels or shutil.which("git") is None:
        return {}
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=30, check=True)
        log = subprocess.run(["git", "-C", str(root), "log", "--format=%x00%cs", "--name-only",
                              "--no-renames", "--", *sorted({r.split("/")[0] for r in rels})],
                             capture_output=True, text=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError):
        return {}
    prefix = Path(os.path.relpath(root, top.stdout.strip())).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    wanted = {prefix + rel: rel for rel in rels}
    dates: dict[str, str] = {}
    for block in log.stdout.split("\x00")[1:]:
        lines = block.strip().splitlines()
        if not lines:
            continue
        for name in lines[1:]:
            rel = wanted.get(name.strip())
            if rel is not None and rel not in dates:
                dates[rel] = lines[0].strip()
    return dates


def write(result: Plan) -> list[str]:
    """Write every changed file (each through a temporary file, so none is half-written)."""
    written = []
    for rel in result.changed:
        path = resolve_inside(result.root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(result.new[rel])
            if path.exists():
                os.chmod(tmp, path.stat().st_mode & 0o777)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(rel)
    return written


# ---------------------------------------------------------------------------------------------


def _load_cards(root: Path, result: Plan) -> list[Card]:
    from ruamel.yaml.error import YAMLError

    from kbtools.yamlio import YAMLLoadError, decode, loads

    found: list[tuple[str, Path, bool]] = []
    for kind in ORDER:
        found.extend((kind, path, False) for path in layout.documents(root, kind))
    found.extend((kind.name, path, True) for kind, path in layout.template_files(root)
                 if kind.name in EXTENSIBLE_KINDS)
    cards = []
    for kind, path, template in found:
        rel = path.relative_to(root).as_posix()
        try:
            text = decode(resolve_inside(root, path).read_bytes())
            loads(text)  # the guarded loader first: size, depth and alias bounds, as validate
            data = tree.load(text)
        except KBToolsError as exc:  # e.g. a symlink out of the KB: never read
            result.report.add(rel, "missing", "$", f"not migrated: {exc.message}")
            continue
        except YAMLLoadError as exc:
            where = f" (line {exc.line})" if exc.line else ""
            result.report.add(rel, "missing", "$", f"not migrated: {exc.message}{where}"
                              + (f"; {exc.hint}" if exc.hint else ""))
            continue
        except (YAMLError, OSError, ValueError) as exc:
            result.report.add(rel, "missing", "$", f"not migrated: the file cannot be read as "
                              f"YAML ({str(exc).splitlines()[0][:120]}); fix it and run again")
            continue
        if data is None or not hasattr(data, "ca") or not isinstance(data, dict):
            result.report.add(rel, "missing", "$", "not migrated: not a mapping of fields")
            continue
        result.old[rel] = text
        cards.append(Card(kind, rel, path.stem, data, template, original=tree.plain(data)))
    return cards


def _vocabulary(schema: dict[str, Any], name: str) -> set[str]:
    node = schema.get("properties", {}).get(name, {})
    out: set[str] = set()
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                stack.append(schema.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[1]))
            out.update(v for v in node.get("enum", []) if isinstance(v, str))
            stack.extend(node.get("oneOf", []) + node.get("anyOf", []))
            if isinstance(node.get("items"), dict):
                stack.append(node["items"])
    return out


def _registry_entries(cards: list[Card]) -> dict[str, str]:
    out: dict[str, str] = {}
    for card in cards:
        if card.kind != "registry" or card.template:
            continue
        kind = card.data.get("registry")
        entries = card.data.get("entries")
        if isinstance(kind, str) and isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    out.setdefault(entry["id"], kind)
    return out


def _reciprocal_links(cards: list[Card], report: Report) -> None:
    """Paper ``models`` and model ``papers`` list each other (kbtools checks both sides)."""
    by_kind = {kind: {c.stem: c for c in cards if c.kind == kind and not c.template}
               for kind in ("model", "paper")}
    for kind, field_name, other_kind, other_field in LINKS:
        for card in by_kind[kind].values():
            listed = card.data.get(field_name)
            if not isinstance(listed, list):
                continue
            for ident in listed:
                other = by_kind[other_kind].get(ident) if isinstance(ident, str) else None
                if other is None:
                    continue
                back = other.data.get(other_field)
                if back is None:
                    tree.put(other.data, (other_field,), [card.stem])
                elif isinstance(back, list) and card.stem not in back:
                    back.append(card.stem)
                else:
                    continue
                report.add_default(other.rel, other_field, "(link back added)")


def _declare(root: Path, cards: list[Card], known: dict[str, dict[str, Any]],
             mapping: Mapping, result: Plan) -> dict[str, dict[str, Any]]:
    """Add every field without a kbtools field to the KB's extension file (in the plan)."""
    found = declare.collect([(c.kind, tree.plain(c.data)) for c in cards], known)
    descriptions = {kind: mapping.for_kind(kind).fields for kind in EXTENSIBLE_KINDS}
    additions = declare.declarations(found, known, descriptions)
    for kind, fragment in additions.items():
        problems = declare.check(kind, fragment)
        if problems:
            raise KBToolsError(f"kbtools migrate could not declare the {kind} fields: "
                               f"{problems[0]}", hint="this is a kbtools bug; please report it")
    result.report.declared = {
        kind: [(declare._dotted(steps), len(values)) for steps, values in found[kind].items()]
        for kind in EXTENSIBLE_KINDS if found.get(kind)}
    if not additions:
        return {}
    path = find_extension_file(root)
    rel = path.relative_to(root).as_posix() if path else DEFAULT_EXTENSION_FILE
    old = path.read_text(encoding="utf-8") if path else None
    if old is not None:
        result.old[rel] = old
    result.new[rel] = declare.updated_file(old, Path(rel).suffix, additions)
    return additions


def _check(root: Path, cards: list[Card], known: dict[str, dict[str, Any]],
           additions: dict[str, dict[str, Any]], report: Report) -> None:
    """Note what each migrated card still lacks against the final schemas."""
    from kbtools.schemas.engines import explaining_validator

    validators = {}
    for kind in EXTENSIBLE_KINDS:
        schema = known[kind]
        if kind in additions:
            merged, _, _ = merge(kind, _fragment_of(known[kind], kind, additions[kind]), root)
            schema = merged or schema
        validators[kind] = explaining_validator(schema, formats=False)
    for card in cards:
        if card.template:
            continue
        for error in validators[card.kind].iter_errors(tree.plain(card.data)):
            where = tree.show_path(tuple(error.absolute_path)) or "$"
            if error.validator == "required":
                report.add(card.rel, "missing", where, error.message.replace(
                    "is a required property", "is required and has no value"))
            else:
                report.add(card.rel, "conflict", where, f"still does not fit: {error.message}")


def _fragment_of(known: dict[str, Any], kind: str, addition: dict[str, Any]) -> dict[str, Any]:
    """The KB's current declarations of ``kind`` plus ``addition``, as one fragment."""
    from kbtools.schemas import load_schema

    builtin = load_schema(EXTENSIBLE_KINDS[kind])
    current = _extension_part(known, builtin)
    return declare._deep_merge(current, addition)


def _extension_part(merged: dict[str, Any], builtin: dict[str, Any]) -> dict[str, Any]:
    """The part of a merged schema that is not built in (its declared fields)."""
    out: dict[str, Any] = {}
    props, base = merged.get("properties", {}), builtin.get("properties", {})
    own = {}
    for name, sub in props.items():
        if name not in base:
            own[name] = sub
        elif isinstance(sub, dict) and isinstance(base.get(name), dict):
            deeper = _extension_part(sub, base[name])
            if deeper:
                own[name] = deeper
    if own:
        out["properties"] = own
    for keyword in ("items", "additionalProperties"):
        if isinstance(merged.get(keyword), dict) and isinstance(builtin.get(keyword), dict):
            deeper = _extension_part(merged[keyword], builtin[keyword])
            if deeper:
                out[keyword] = deeper
    return out
