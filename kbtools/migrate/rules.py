"""The operations of a migration mapping, applied to one card's round-trip YAML tree.

Every operation is a no-op on a card already in the target shape, which is what makes a second
``kbtools migrate`` change nothing. What an operation could not do is noted in the report.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from kbtools.migrate import tree
from kbtools.migrate.convert import Converted, NotConvertible, converter, is_url
from kbtools.migrate.mapping import Rule
from kbtools.migrate.report import Report
from kbtools.migrate.tree import ENTRY, ITEM, Steps


@dataclass
class Card:
    """One document being migrated."""

    kind: str
    rel: str  # path relative to the KB root
    stem: str  # the id its file name gives
    data: CommentedMap
    template: bool = False  # a template file (template.yaml, _template*)
    original: Any = None  # the data as read (plain), to tell whether the card changed


@dataclass
class KBFacts:
    """What rules need to know about the whole KB."""

    root: Path
    today: str
    card_ids: dict[str, set[str]] = field(default_factory=dict)  # kind -> ids
    registry_of: dict[str, str] = field(default_factory=dict)  # entry id -> registry kind
    vocabulary: Callable[[str, str], set[str]] | None = None  # (kind, field) -> allowed values
    git_dates: dict[str, str] = field(default_factory=dict)  # rel -> date of its last commit


class Apply:
    """Applies rules to one card, noting in ``report`` what could not be done."""

    def __init__(self, card: Card, facts: KBFacts, report: Report):
        self.card, self.facts, self.report = card, facts, report

    def rule(self, rule: Rule) -> None:
        getattr(self, f"_{rule.op}")(rule)

    def note(self, category: str, path: tuple[str | int, ...] | Steps, message: str) -> None:
        self.report.add(self.card.rel, category, tree.show_path(tuple(path)), message)

    # -- moving values ------------------------------------------------------------------------

    def _move(self, rule: Rule, keep_source: bool = False) -> None:
        source, target = rule.path("from"), rule.path("to")
        convert = converter(rule.args.get("convert"))
        prefix = _list_prefix(source)
        for item, base in tree.containers(self.card.data, prefix):
            if not isinstance(item, dict):
                continue
            self._move_in(item, base, source[len(prefix):], target[len(prefix):], convert,
                          rule.args.get("when"), keep_source)

    def _copy(self, rule: Rule) -> None:
        self._move(rule, keep_source=True)

    def _move_in(self, item: Any, base: tuple[str | int, ...], source: Steps, target: Steps,
                 convert: Callable[[Any], Any], when: str | None, keep_source: bool) -> bool:
        """Move (or copy) one value inside ``item``; True if the value went to the target."""
        if not tree.has(item, source):
            return False
        parent = tree.get(item, source[:-1])
        value = parent[source[-1]]
        if value is None and not keep_source and source != target[:len(source)]:
            tree.delete(parent, source[-1])  # nothing to move
            self.note("empty", (*base, *source), "empty value removed")
            return False
        if value is None or not self._holds(value, when):
            return False
        try:
            result = convert(tree.plain(value))
        except NotConvertible as exc:
            if not keep_source:
                self.note("kept", (*base, *source),
                          f"not moved to `{tree.show_path(target)}`: {exc}")
            return False
        if result.lossless and tree.plain(result.value) == tree.plain(value):
            # the node itself, so its style (| blocks, quotes) stays; a copy never shares it
            result = Converted(copy.deepcopy(value) if keep_source else value)
        nested_in_source = target[:len(source)] == source and len(target) > len(source)
        if tree.has(item, target) and not nested_in_source:
            existing = tree.plain(tree.get(item, target))
            if existing == tree.plain(result.value):
                if not keep_source and result.lossless:
                    self._carry_comment(parent, source[-1], item, target)
                    tree.delete(parent, source[-1])
                    self._prune(item, source[:-1])
                return True
            if not keep_source:
                self.note("conflict", (*base, *source),
                          f"`{tree.show_path(target)}` already holds a different value; both "
                          "are kept")
            return False
        if nested_in_source:  # `access: restricted` -> `access: {level: restricted}`
            wrapper = CommentedMap()
            tree.put(wrapper, target[len(source):], result.value)
            tree.replace(parent, source[-1], wrapper)
            return True
        blocked = _blocked(item, target)
        if blocked is not None:
            self.note("conflict", (*base, *source),
                      f"cannot write `{tree.show_path(target)}`: `{tree.show_path(blocked)}` "
                      "is not a mapping")
            return False
        tree.put(item, target, result.value, near=source)
        if keep_source:  # a value derived from another field: listed for the user to check
            value = tree.plain(result.value)
            self.report.add_default(self.card.rel, tree.show_path(target),
                                    f"{value} (from {tree.show_path(source)})")
            return True
        if result.lossless:
            if target[:-1] == source[:-1] and isinstance(parent, CommentedMap):
                self._replace_in_place(parent, source[-1], target[-1])
            else:
                self._carry_comment(parent, source[-1], item, target)
                tree.delete(parent, source[-1])
                self._prune(item, source[:-1])
        else:
            self.note("lossy", (*base, *source),
                      f"converted to `{tree.show_path(target)}`; the original is kept too")
        return True

    def _replace_in_place(self, parent: CommentedMap, old: str, new: str) -> None:
        """``new`` was just added to ``parent``: put it where ``old`` was and drop ``old``."""
        value = parent[new]
        token = parent.ca.items.pop(old, None)
        parent.ca.items.pop(new, None)
        del parent[new]  # just added, often the very node of `old`: its comments stay on it
        keys = list(parent)
        position = keys.index(old)
        del parent[old]
        parent.insert(position, new, value)
        if token is not None:
            parent.ca.items[new] = token

    @staticmethod
    def _carry_comment(parent: Any, key: str, item: Any, target: Steps) -> None:
        """The end-of-line comment of a moved value goes with it (if the target has none)."""
        comment = tree.eol_comment(parent, key)
        holder = tree.get(item, target[:-1]) if target[:-1] else item
        if comment is None or not isinstance(holder, CommentedMap) or \
                tree.eol_comment(holder, target[-1]) is not None:
            return
        entry = holder.ca.items.setdefault(target[-1], [None, None, None, None])
        first, _, rest = comment.value.partition("\n")
        entry[2] = copy.copy(comment)
        entry[2].value = first + "\n"  # the end-of-line part goes with the value
        comment.value = "\n" + rest  # the full-line comments after it stay behind

    def _prune(self, item: Any, steps: Steps) -> None:
        """Remove mappings left empty by a move (``arch: {}``), innermost first."""
        while steps:
            node = tree.get(item, steps)
            if isinstance(node, dict) and not node:
                tree.delete(tree.get(item, steps[:-1]) if steps[:-1] else item, steps[-1])
                steps = steps[:-1]
            else:
                break

    def _holds(self, value: Any, when: str | None) -> bool:
        if when is None:
            return True
        if when == "url":
            return is_url(value)
        if when == "text":
            return isinstance(value, str)
        if when == "list":
            return isinstance(value, list)
        if when == "mapping":
            return isinstance(value, dict)
        if when == "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if when == "arxiv":
            return isinstance(value, str) and value.strip().lower().startswith(
                ("arxiv:", "https://arxiv.org/", "http://arxiv.org/"))
        exists = isinstance(value, str) and self._file_exists(value)
        return exists if when == "exists" else isinstance(value, str) and not exists

    def _file_exists(self, value: str) -> bool:
        from kbtools.kb import is_inside

        if value.startswith(("http://", "https://", "/", "~")):
            return False
        path = self.facts.root / value
        return is_inside(self.facts.root, path) and path.is_file()

    def _first_of(self, rule: Rule) -> None:
        target = rule.path("to")
        prefix = _list_prefix(target)
        convert = converter(rule.args.get("convert"))
        sources = rule.paths("from")
        for item, base in tree.containers(self.card.data, prefix):
            if not isinstance(item, dict) or tree.has(item, target[len(prefix):]):
                continue
            for source in sources:
                if _list_prefix(source) != prefix:
                    continue
                keep = source[len(prefix):] == target[len(prefix):]
                if self._move_in(item, base, source[len(prefix):], target[len(prefix):],
                                 convert, rule.args.get("when"),
                                 keep_source=rule.args.get("convert") is not None or keep):
                    break

    # -- values in place ----------------------------------------------------------------------

    def _swap(self, rule: Rule) -> None:
        """Exchange two fields when each value fits the other field and not its own (after
        translating it with that field's vocabulary, ``maps``), never otherwise."""
        first, second = (str(f) for f in rule.args["fields"])
        data = self.card.data
        if first not in data or second not in data or self.facts.vocabulary is None:
            return
        maps = [_table(m) for m in rule.args.get("maps") or [{}, {}]]
        a, b = tree.plain(data[first]), tree.plain(data[second])
        allowed_a = self.facts.vocabulary(self.card.kind, first)
        allowed_b = self.facts.vocabulary(self.card.kind, second)
        if _fits(_translate(a, maps[0]), allowed_a) and _fits(_translate(b, maps[1]), allowed_b):
            return
        if not (_fits(_translate(b, maps[0]), allowed_a) and
                _fits(_translate(a, maps[1]), allowed_b)):
            return  # swapping would not make them fit: leave both as written
        data[first], data[second] = data[second], data[first]
        self.note("renamed", (first,), f"`{first}: {a}` and `{second}: {b}` were the other way "
                  "round: exchanged")

    def _values(self, rule: Rule) -> None:
        """Translate words. ``map``: the same meaning in the kbtools word (silent);
        ``narrower``: the kbtools word covers only part of the older one, so each such value
        is reported, and with ``keep: true`` the original stays beside it as ``kb_<name>``."""
        same = _table(rule.args["map"])
        narrower = _table(rule.args.get("narrower") or {})
        for parent, key, path in list(tree.matches(self.card.data, rule.path("at"))):
            value = parent[key]
            words = value if isinstance(value, list) else [value]
            narrowed = [w for w in words if isinstance(w, str) and w.lower() in narrower]
            if narrowed and rule.args.get("keep") and isinstance(parent, dict) \
                    and f"kb_{key}" not in parent:
                tree.put(parent, (f"kb_{key}",), tree.plain(value), near=(str(key),))
            for word in narrowed:
                kept = f"; the original is kept as `kb_{key}`" if rule.args.get("keep") else ""
                self.note("narrowed", path, f"`{word}` -> `{narrower[word.lower()]}`: the "
                          f"kbtools word is narrower than the one written{kept}")
            table = {**same, **narrower}
            if isinstance(value, str) and value.lower() in table:
                parent[key] = table[value.lower()]
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, str) and item.lower() in table:
                        value[index] = table[item.lower()]

    def _convert(self, rule: Rule) -> None:
        convert = converter(rule.args["with"])
        for parent, key, path in list(tree.matches(self.card.data, rule.path("at"))):
            value = parent[key]
            if value is None or _placeholder(value):
                continue
            try:
                result = convert(tree.plain(value))
            except NotConvertible as exc:
                if isinstance(value, str) and rule.args["with"] in REPORTED_CONVERTERS:
                    self.note("kept", path, f"not converted: {exc}")
                continue
            if result.lossless and tree.plain(result.value) != tree.plain(value):
                tree.replace(parent, key, result.value)

    def _default(self, rule: Rule) -> None:
        steps = rule.path("at")
        if tree.has(self.card.data, steps):
            return
        value = label = rule.args["value"]
        if value == "today":
            value = label = self.facts.today
        elif value == "git_last_commit":  # a date no one wrote is never made up
            value = self.facts.git_dates.get(self.card.rel)
            if value is None:
                self.note("missing", steps, "no value, and the file has no commit in git to "
                          "take the date of its last change from: write it by hand")
                return
            label = f"{value} (the file's last commit in git)"
        elif value == "file_name":
            value, label = self.card.stem, "(the file name)"
        data = self.card.data
        if len(steps) == 1 and steps[0] in _NEAR_TOP and isinstance(data, CommentedMap):
            keys = list(data)
            after = [keys.index(k) + 1 for k in _NEAR_TOP[steps[0]] if k in keys]
            data.insert(max(after, default=0), steps[0], value)
        else:
            tree.put(data, steps, value)
        self.report.add_default(self.card.rel, tree.show_path(steps), label)

    # -- reshaping ----------------------------------------------------------------------------

    def _flatten(self, rule: Rule) -> None:
        source, groups_to = rule.path("from"), rule.path("groups_to")
        prefix = _list_prefix(source)
        for item, _base in tree.containers(self.card.data, prefix):
            rel = source[len(prefix):]
            value = tree.get(item, rel)
            if not isinstance(value, dict) or not value or not all(
                    isinstance(v, list) and all(isinstance(x, str | int | float) for x in v)
                    for v in value.values()):
                continue
            flat: list[Any] = []
            for items in value.values():
                flat.extend(x for x in items if x not in flat)
            parent = tree.get(item, rel[:-1]) if rel[:-1] else item
            target = groups_to[len(prefix):]
            if not tree.has(item, target):
                tree.put(item, target, tree.plain(value), near=rel)
            tree.replace(parent, rel[-1], CommentedSeq(flat))

    def _ids_from_paths(self, rule: Rule) -> None:
        from kbtools import layout

        source = rule.path("from")
        value = tree.get(self.card.data, source)
        if not isinstance(value, list):
            return
        targets = {str(k): tree.parse_path(str(v)) for k, v in rule.args["to"].items()}
        rest = CommentedSeq()
        for entry in value:
            ident, kind = None, None
            if isinstance(entry, str):
                for kind in targets:
                    for folder in layout.folders(kind):
                        match = re.fullmatch(re.escape(folder) + r"/([^/]+)\.ya?ml", entry)
                        if match and match.group(1) in self.facts.card_ids.get(kind, set()):
                            ident = match.group(1)
                            break
                    if ident:
                        break
            if ident is None or kind is None:
                rest.append(entry)
                continue
            existing = tree.get(self.card.data, targets[kind])
            if existing is None:
                tree.put(self.card.data, targets[kind], [ident], near=source)
            elif isinstance(existing, list) and ident not in existing:
                existing.append(ident)
        parent = tree.get(self.card.data, source[:-1]) if source[:-1] else self.card.data
        if not rest:
            tree.delete(parent, source[-1])
        elif len(rest) != len(value):
            tree.replace(parent, source[-1], rest)

    def _ids_by_registry(self, rule: Rule) -> None:
        source = rule.path("from")
        value = tree.get(self.card.data, source)
        if not isinstance(value, list):
            return
        targets = {str(k): tree.parse_path(str(v)) for k, v in rule.args["to"].items()}
        unknown = tree.parse_path(str(rule.args["unknown"])) if rule.args.get("unknown") else None
        groups: dict[Steps, list[Any]] = {}
        for ident in value:
            kind = self.facts.registry_of.get(ident) if isinstance(ident, str) else None
            where = targets.get(kind or "") or (targets.get("*") if kind else None) or unknown
            if where is None:
                continue
            groups.setdefault(where, []).append(ident)
            if kind is None:
                self.note("unresolved", (*source,), f"`{ident}` is no entry of any registry: "
                          f"kept in `{tree.show_path(where)}`")
        parent = tree.get(self.card.data, source[:-1]) if source[:-1] else self.card.data
        position = list(parent).index(source[-1])
        del parent[source[-1]]
        parent.insert(position, source[-1], CommentedMap())
        for where, ids in groups.items():
            tree.put(self.card.data, where, ids)

    def _roles_to_data(self, rule: Rule) -> None:
        from kbtools import layout

        source, target = rule.path("from"), rule.path("to")
        roles = tree.get(self.card.data, source)
        if not isinstance(roles, dict):
            return
        folders = layout.folders("dataset")
        known = self.facts.card_ids.get("dataset", set())
        for role in list(roles):
            spec = roles[role]
            given = spec.get("source") if isinstance(spec, dict) else spec
            ident = None
            if isinstance(given, str):
                for folder in folders:
                    match = re.fullmatch(re.escape(folder) + r"/([^/]+)\.ya?ml", given.strip())
                    if match and match.group(1) in known:
                        ident = match.group(1)
                if ident is None and given in known:
                    ident = given
            if ident is None:
                continue
            if tree.has(self.card.data, (*target, str(role))):
                continue
            entry: dict[str, Any] = {"dataset": ident}
            if isinstance(spec, dict) and isinstance(spec.get("table"), str):
                entry["table"] = spec["table"]
            tree.put(self.card.data, (*target, str(role)), entry, near=source)
            if isinstance(spec, dict):
                spec.pop("source", None)
                spec.pop("table", None)
                if not spec:
                    tree.delete(roles, role)
            else:
                tree.delete(roles, role)
        if not roles:
            parent = tree.get(self.card.data, source[:-1]) if source[:-1] else self.card.data
            moved = tree.get(self.card.data, target)
            if isinstance(moved, CommentedMap) and isinstance(roles, CommentedMap):
                moved.ca.comment = roles.ca.comment  # a comment above the first role stays
                before = parent.ca.items.get(source[-1])
                if before and len(before) > 3 and before[3]:
                    parent.ca.items.setdefault(target[-1], [None, None, None, None])[3] = \
                        before[3]
            tree.delete(parent, source[-1])

    def _plan_to_config(self, rule: Rule) -> None:
        from kbtools.migrate.plans import plan_to_config

        if not self.card.template:
            plan_to_config(self.card.data, rule.args, self.note, self.facts.root)

    def _registry_kind(self, rule: Rule) -> None:
        data = self.card.data
        if "registry" in data:
            return
        ident = str(data.get("id") or self.card.stem)
        kind = (rule.args.get("by_id") or {}).get(ident) or (rule.args.get("by_id") or {}).get(
            self.card.stem)
        if kind is None:
            for key, name in (rule.args.get("by_key") or {}).items():
                if _entry_map(data.get(key)):
                    kind = name
                    break
        kind = kind or rule.args.get("default")
        if kind is None:
            return
        position = list(data).index("id") + 1 if "id" in data else 0
        data.insert(position, "registry", kind)
        self.report.add_default(self.card.rel, "registry", kind)

    def _entries_from_mapping(self, rule: Rule) -> None:
        data = self.card.data
        if "entries" in data:
            return
        for key in rule.args["from"]:
            value = data.get(key)
            if not _entry_map(value):
                continue
            entries = CommentedSeq()
            for ident, body in value.items():
                entry = CommentedMap()
                entry["id"] = ident
                for k, v in body.items():
                    entry[k] = v
                if isinstance(body, CommentedMap):
                    for k, token in body.ca.items.items():
                        entry.ca.items[k] = token
                entries.append(entry)
            position = list(data).index(key)
            token = data.ca.items.pop(key, None)
            del data[key]
            data.insert(position, "entries", entries)
            if token is not None:
                data.ca.items["entries"] = token
            return

    def _single_entry(self, rule: Rule) -> None:
        data = self.card.data
        if "entries" in data:
            return
        keep = {str(k) for k in rule.args["keep"]}
        entry = CommentedMap()
        entry["id"] = str(data.get("id") or self.card.stem)
        if isinstance(data.get("description"), str):  # a copy: the comments stay on the card
            entry["description"] = tree.fresh(str(data["description"]))
        for key in [k for k in data if k not in keep]:
            entry[key] = data[key]
            del data[key]
        data["entries"] = CommentedSeq([entry])


def _list_prefix(steps: Steps) -> Steps:
    last = max((i for i, s in enumerate(steps) if s in (ITEM, ENTRY)), default=-1)
    return steps[:last + 1]


def _blocked(item: Any, target: Steps) -> Steps | None:
    """The first step of ``target`` that exists but is not a mapping, if any."""
    node = item
    for depth, step in enumerate(target[:-1]):
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
        if not isinstance(node, dict):
            return target[:depth + 1]
    return None


def _entry_map(value: Any) -> bool:
    """A mapping of ids to mappings (how older integration cards keep their entries)."""
    return isinstance(value, dict) and bool(value) and all(isinstance(v, dict)
                                                           for v in value.values())


def _table(words: Any) -> dict[str, Any]:
    """A word table (``{old: new}``), or several merged (a list of them)."""
    if isinstance(words, list):
        return {k: v for table in words for k, v in _table(table).items()}
    return {str(k).lower(): v for k, v in (words or {}).items()}


def _translate(value: Any, table: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_translate(v, table) for v in value]
    return table.get(value.lower(), value) if isinstance(value, str) else value


def _fits(value: Any, allowed: set[str]) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) and v in allowed for v in value)
    return isinstance(value, str) and value in allowed


#: Converters whose refusal is reported (a count left as text says why it is no number).
REPORTED_CONVERTERS = ("count", "tokens")
#: Fields filled in by `default` go near the top, after these keys (else first).
_NEAR_TOP = {"id": (), "status": ("id", "name", "title"), "registry": ("id",)}
_PLACEHOLDER = re.compile(r"^\s*(TBD|TODO|FIXME|XXX)\s*[.!?]*\s*$", re.IGNORECASE)


def _placeholder(value: Any) -> bool:
    return isinstance(value, str) and _PLACEHOLDER.match(value) is not None


def is_placeholder(value: Any) -> bool:
    """A value that only says it is not known yet (``TBD``, ``TODO``)."""
    return _placeholder(value)
