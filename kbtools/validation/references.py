"""Cross-references between documents: what each document points at, and whether it resolves.

Each checked document is reduced to a small :class:`Summary` (its outgoing references, its
paper <-> model links, registry entries, dataset tables). A :class:`KBIndex` knows which ids
exist; in path mode it loads the few other documents it needs on demand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.config_rules.builtin_datasets import builtin_card
from kbtools.kb import KINDS_BY_NAME
from kbtools.validation.findings import Finding, Parts
from kbtools.yamlio import MAX_BYTES, YAMLLoadError, loads, read_text

#: Kinds whose ids must be unique across the KB (runs have their own namespace).
CARD_KINDS = ("model", "paper", "dataset", "registry", "experiment")
#: Which field holds the reciprocal paper <-> model links.
LINK_FIELD = {"model": "papers", "paper": "models"}
_REGISTRY_TARGET = {"embedding_strategies": "strategy", "harmonization_methods": "harmonization"}
#: Older integration cards keep entries as a mapping ``{id: {...}}`` under one of these keys
#: (``strategies:`` in embedding_strategies.yaml, ``methods:`` in harmonization_methods.yaml).
_ENTRY_MAPS = ("strategies", "methods", "entries")
_NOUN = {"model": "model", "paper": "paper", "dataset": "dataset", "experiment": "experiment",
         "strategy": "embedding strategy", "harmonization": "harmonization method",
         "integration": "integration registry entry"}


@dataclass(slots=True)
class Summary:
    """What the reference checks need to know about one document."""

    kind: str
    rel: str
    stem: str
    refs: list[tuple[Parts, str, str]] = field(default_factory=list)  # (where, target kind, id)
    links: frozenset[str] = frozenset()  # model.papers or paper.models
    registry: str | None = None  # for registries: the target kind its entries define
    entries: list[tuple[str, Parts]] = field(default_factory=list)
    tables: frozenset[str] | None = None  # dataset tables; None when not declared or generated
    table_refs: list[tuple[Parts, str, str]] = field(default_factory=list)  # (where, ds, table)
    template: bool = False  # status: template


def _ids(data: Any, parts: Parts) -> Iterable[tuple[Parts, str]]:
    if isinstance(data, list):
        for index, value in enumerate(data):
            if isinstance(value, str):
                yield (*parts, index), value


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def summarize(kind: str, rel: str, stem: str, data: dict[str, Any]) -> Summary:
    """The references of one parsed document (tolerant of schema-invalid shapes)."""
    s = Summary(kind, rel, stem, template=data.get("status") == "template")
    refs = s.refs

    def add(target: str, value: Any, *keys: str) -> None:
        refs.extend((p, target, v) for p, v in _ids(value, keys))

    if kind == "model":
        add("dataset", data.get("datasets"), "datasets")
        add("paper", data.get("papers"), "papers")
        add("strategy", _get(data, "integrations", "strategies"), "integrations", "strategies")
        add("integration", _get(data, "integrations", "pipelines"), "integrations", "pipelines")
    elif kind == "paper":
        add("model", data.get("models"), "models")
        add("dataset", data.get("datasets"), "datasets")
    elif kind == "dataset":
        add("model", data.get("models"), "models")
        add("paper", data.get("papers"), "papers")
        add("strategy", _get(data, "integrations", "embedding_strategies"),
            "integrations", "embedding_strategies")
        add("harmonization", _get(data, "integrations", "harmonization_methods"),
            "integrations", "harmonization_methods")
        storage = data.get("storage")
        tables = _get(storage, "tables")
        if isinstance(tables, dict) and not _get(storage, "generator"):
            s.tables = frozenset(str(t) for t in tables)
    elif kind == "registry":
        s.registry = _REGISTRY_TARGET.get(str(data.get("registry")))
        if s.registry is None and "registry" not in data:
            # an integration card written before kbtools: the file name says what it holds
            s.registry = _REGISTRY_TARGET.get(stem) or _REGISTRY_TARGET.get(str(data.get("id")))
        entries = data.get("entries")
        for key in _ENTRY_MAPS:
            mapped = data.get(key)
            if isinstance(mapped, dict) and "registry" not in data:
                for entry_id, entry in mapped.items():
                    s.entries.append((str(entry_id), (key, str(entry_id))))
                    if isinstance(entry, dict) and s.registry == "strategy":
                        add("strategy", entry.get("inputs"), key, str(entry_id), "inputs")
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if not isinstance(entry, dict):
                continue
            where = ("entries", index)
            if isinstance(entry.get("id"), str):
                s.entries.append((entry["id"], (*where, "id")))
            add("model", entry.get("models"), *where, "models")
            add("dataset", entry.get("datasets"), *where, "datasets")
            if s.registry == "strategy":
                add("strategy", entry.get("inputs"), *where, "inputs")
    elif kind == "experiment":
        data_roles = data.get("data")
        for role, spec in (data_roles.items() if isinstance(data_roles, dict) else ()):
            dataset = _get(spec, "dataset")
            if isinstance(dataset, str):
                refs.append((("data", role, "dataset"), "dataset", dataset))
                table = _get(spec, "table")
                if isinstance(table, str):
                    s.table_refs.append((("data", role, "table"), dataset, table))
        strategies = data.get("embedding_strategies")
        for role, value in (strategies.items() if isinstance(strategies, dict) else ()):
            if isinstance(value, str):
                refs.append((("embedding_strategies", role), "strategy", value))
        if isinstance(data.get("harmonization"), str):
            refs.append((("harmonization",), "harmonization", data["harmonization"]))
        add("paper", data.get("papers"), "papers")
        add("model", data.get("models"), "models")
    elif kind == "run":
        if isinstance(data.get("experiment"), str):
            refs.append((("experiment",), "experiment", data["experiment"]))
        add("dataset", data.get("datasets"), "datasets")
    if kind in LINK_FIELD:
        links = data.get(LINK_FIELD[kind])
        s.links = frozenset(v for v in links if isinstance(v, str)) if isinstance(
            links, list) else frozenset()
    return s


class KBIndex:
    """The ids that exist in the KB, and summaries of documents (all, or loaded on demand)."""

    def __init__(self, root: Path, files: dict[str, dict[str, Path]],
                 summaries: dict[tuple[str, str], Summary | None], complete: bool):
        self.root = root
        self.files = files  # kind -> stem -> path
        self._summaries = summaries
        self.complete = complete  # True when every document was parsed and summarised
        self._listers: dict[tuple[str, str], list[Summary]] | None = None
        if not complete:  # registries define strategy ids: always read them all (few files)
            for stem in files.get("registry", {}):
                self.summary("registry", stem)
        self.entries: dict[str, dict[str, list[tuple[str, Parts]]]] = {
            "strategy": defaultdict(list), "harmonization": defaultdict(list),
            "integration": defaultdict(list)}
        self.registries: dict[str, list[str]] = {"strategy": [], "harmonization": [],
                                                 "integration": []}
        for (kind, _stem), s in self._summaries.items():
            if kind != "registry" or s is None:
                continue
            self.registries["integration"].append(s.rel)
            for entry_id, parts in s.entries:  # any registry's entries (integrations.pipelines)
                self.entries["integration"][entry_id].append((s.rel, parts))
            if s.registry:
                self.registries[s.registry].append(s.rel)
                for entry_id, parts in s.entries:
                    self.entries[s.registry][entry_id].append((s.rel, parts))

    @property
    def n_documents(self) -> int:
        return sum(len(paths) for paths in self.files.values())

    def exists(self, target: str, ident: str) -> bool:
        if target in self.entries:
            return ident in self.entries[target]
        return ident in self.files.get(target, {}) or (
            target == "dataset" and builtin_card(ident) is not None)

    def known(self, target: str) -> Iterable[str]:
        return self.entries[target] if target in self.entries else self.files.get(target, {})

    def summary(self, kind: str, stem: str) -> Summary | None:
        key = (kind, stem)
        if key not in self._summaries:
            path = self.files.get(kind, {}).get(stem)
            self._summaries[key] = None if path is None else self._load(kind, path)
        return self._summaries[key]

    def _load(self, kind: str, path: Path) -> Summary | None:
        try:
            data = loads(read_text(path), string_keys=True)
        except (OSError, YAMLLoadError):
            return None  # reported when that file itself is validated
        if not isinstance(data, dict):
            return None
        rel = path.relative_to(self.root).as_posix()
        stem = _stem(kind, path)
        return summarize(kind, rel, stem, data)

    def listers(self, kind: str, target: str) -> list[Summary]:
        """Documents of ``kind`` whose reciprocal links include ``target``."""
        if self.complete:
            if self._listers is None:
                self._listers = defaultdict(list)
                for (k, _), s in self._summaries.items():
                    if s is not None and k in LINK_FIELD:
                        for link in s.links:
                            self._listers[(k, link)].append(s)
            return self._listers.get((kind, target), [])
        needle = target.encode()
        found = []
        for stem, path in self.files.get(kind, {}).items():
            key = (kind, stem)
            if key not in self._summaries:
                try:  # cheap filter before parsing (too-large files cannot be parsed anyway)
                    if path.stat().st_size > MAX_BYTES or needle not in path.read_bytes():
                        continue
                except OSError:
                    continue
            s = self.summary(kind, stem)
            if s is not None and target in s.links:
                found.append(s)
        return found


def _stem(kind: str, path: Path) -> str:
    return path.parent.name if KINDS_BY_NAME[kind].id_from == "parent" else path.stem


def cross_check(index: KBIndex, reported: list[Summary]) -> dict[str, list[Finding]]:
    """Reference findings for the reported documents, by relative path."""
    out: dict[str, list[Finding]] = defaultdict(list)
    reported_rels = {s.rel for s in reported}
    stems_by_kind = {k: index.files.get(k, {}) for k in CARD_KINDS}
    # Links from documents that are not reported are checked from the reported side only.
    partial = not index.complete or len(reported_rels) < index.n_documents
    for s in reported:
        found = out[s.rel]
        for parts, target, ident in s.refs:
            if not index.exists(target, ident):
                found.append(_unknown(index, target, ident, parts))
            elif (s.kind, target) in (("model", "paper"), ("paper", "model")):
                other = index.summary(target, ident)
                if other is not None and s.stem not in other.links:
                    found.append(_backlink(s, target, ident, parts))
        for parts, dataset, table in s.table_refs:
            ds = index.summary("dataset", dataset) if index.exists("dataset", dataset) else None
            if ds is not None and ds.tables is not None and table not in ds.tables:
                names = ", ".join(sorted(ds.tables)) or "none"
                found.append(Finding("ref.table",
                                     f"dataset `{dataset}` has no table `{table}`", parts,
                                     f"tables of {dataset}: {names}"))
        if s.kind in LINK_FIELD and partial:
            other_kind = "paper" if s.kind == "model" else "model"
            for lister in index.listers(other_kind, s.stem):
                if lister.rel not in reported_rels and lister.stem not in s.links:
                    field_name = LINK_FIELD[s.kind]
                    found.append(Finding(
                        "ref.backlink",
                        f"{other_kind} `{lister.stem}` lists this {s.kind}, but `{field_name}` "
                        f"here does not include it", (field_name,),
                        f"add `{lister.stem}` to {field_name}, or remove `{s.stem}` from "
                        f"{lister.rel}"))
        if s.kind in CARD_KINDS and not s.template:
            twins = [k for k in CARD_KINDS if k != s.kind and s.stem in stems_by_kind[k]
                     and not _is_template(index, k, s.stem)]
            if twins:
                found.append(Finding(
                    "id.duplicate", f"id `{s.stem}` is also used by a {' and a '.join(twins)} card",
                    ("id",), "ids are unique across the KB: rename one of the cards"))
        if s.kind == "registry" and s.registry:
            for entry_id, parts in s.entries:
                places = index.entries[s.registry].get(entry_id, [])
                if len(places) > 1:
                    elsewhere = sorted({rel for rel, _ in places if rel != s.rel})
                    also = f" (also in {', '.join(elsewhere)})" if elsewhere else ""
                    found.append(Finding(
                        "id.duplicate",
                        f"entry id `{entry_id}` appears {len(places)} times{also}", parts,
                        "give each entry its own id"))
    return {rel: f for rel, f in out.items() if f}


def _is_template(index: KBIndex, kind: str, stem: str) -> bool:
    """Whether the card of ``kind`` named ``stem`` says ``status: template`` (known summaries
    only: in path mode the other card is not parsed just for this)."""
    summary = index._summaries.get((kind, stem))
    return summary is not None and summary.template


def _unknown(index: KBIndex, target: str, ident: str, parts: Parts) -> Finding:
    """An unknown reference; its "did you mean" is added where it is located
    (:func:`with_near_miss`), in the worker processes."""
    noun = _NOUN[target]
    if target == "integration":
        message = f"unknown {noun} `{ident}` (no registry in the KB has an entry with this id)"
        fix = ("add an entry with this id to a registry (e.g. `registry: pipelines` in "
               "kb/registries/ or kb/integration_cards/), or fix the id")
        return Finding("ref.integration", message, parts, fix, near=(target, ident))
    if target in index.entries:
        registry = "embedding_strategies" if target == "strategy" else "harmonization_methods"
        files = index.registries[target]
        if files:
            message = f"unknown {noun} `{ident}` (not an entry of {', '.join(files)})"
            fix = f"add an entry with id `{ident}` to {files[0]}"
        else:
            message = (f"unknown {noun} `{ident}`: the KB has no {noun} registry (a file in "
                       f"kb/registries/ with `registry: {registry}`)")
            fix = (f"create it with `kbtools new registry {registry}` and add an entry with "
                   f"id `{ident}`")
        return Finding(f"ref.{target}", message, parts, fix, near=(target, ident))
    folder = KINDS_BY_NAME[target].pattern.rsplit("/", 1)[0]
    message = f"unknown {noun} `{ident}` (no {folder}/{ident}.yaml)"
    fix = f"add {folder}/{ident}.yaml (kbtools new {target} {ident})" if target != \
        "experiment" else f"restore {folder}/{ident}.yaml or fix the id"
    return Finding(f"ref.{target}", message, parts, fix, near=(target, ident))


def near_matchers(index: KBIndex, found: dict[str, list[Finding]]) -> dict[str, Any]:
    """A :class:`~kbtools.validation.hints.NearMatcher` of the known ids of each kind that an
    unknown reference among ``found`` names (built once, then shared with the workers)."""
    from kbtools.validation.hints import NearMatcher

    kinds = {f.near[0] for findings in found.values() for f in findings if f.near}
    return {kind: NearMatcher(sorted(index.known(kind))) for kind in sorted(kinds)}


def with_near_miss(findings: list[Finding], matchers: dict[str, Any]) -> list[Finding]:
    """``findings`` with "did you mean `id`?" before the hint of each unknown reference that
    is a near-miss of a known id."""
    from dataclasses import replace

    out = []
    for f in findings:
        matcher = matchers.get(f.near[0]) if f.near else None
        close = (matcher.match(f.near[1]) or matcher.same_words(f.near[1])) if matcher \
            else None  # a typo, or the same leading words (hg38 -> hg38_reference)
        out.append(replace(f, hint=f"did you mean `{close}`? Otherwise {f.hint}", near=None)
                   if close else f)
    return out


def _backlink(s: Summary, target: str, ident: str, parts: Parts) -> Finding:
    folder = KINDS_BY_NAME[target].pattern.rsplit("/", 1)[0]
    field_name = LINK_FIELD[target]
    return Finding(
        "ref.backlink",
        f"{target} `{ident}` does not list this {s.kind} back in its `{field_name}`", parts,
        f"add `{s.stem}` to `{field_name}` in {folder}/{ident}.yaml, or remove `{ident}` here")
