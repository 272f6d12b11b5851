"""What each generated page shows, as plain data for the templates (no markup here).

:func:`site_pages` yields ``(page path, template name, context)`` for every page; the
renderer turns them into markdown with Jinja2.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from kbtools.experiments import totals
from kbtools.kb import KINDS_BY_NAME, is_inside, resolve_inside
from kbtools.schemas import load_schema
from kbtools.schemas.extensions import extension_fields, extension_values
from kbtools.site import disclosure
from kbtools.site.catalog import PAGE_KINDS, PREFIX, Card, Catalog
from kbtools.site.links import Links
from kbtools.site.numbers import is_p_key
from kbtools.site.results import (
    Metric,
    figure_order,
    headline_pairs,
    key_metrics,
    results_template,
    results_view,
)
from kbtools.validation.problems import Problem

#: Most runs shown side by side on a comparison page and in a lineage diagram.
MAX_COMPARED_RUNS = 12
MAX_LINEAGE_RUNS = 10
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.png$")


class Ref(NamedTuple):
    """A link target: a card that may or may not exist (``page`` is None when it does not)."""

    kind: str
    id: str
    title: str
    page: str | None
    invalid: bool = False
    #: The card's file does not parse: its page shows why instead of its fields.
    broken: bool = False


def dashboard_page(kind: str) -> str:
    return f"{PREFIX}/{PAGE_KINDS[kind]}.md"


def compare_page(experiment_id: str) -> str:
    return f"{PREFIX}/experiments/{experiment_id}-compare.md"


def plot_uri(run_id: str, name: str) -> str:
    """Where a run's plot is copied to in the site: a plain file name, whatever the original.

    A name with characters outside ``[A-Za-z0-9_.-]`` is replaced by a slug plus a short hash
    of the original, so file names never carry markup into a page or a URL.
    """
    if not _PLAIN_NAME.match(name):
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name.removesuffix(".png")).strip("_")[:40]
        digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        name = f"{stem or 'plot'}-{digest}.png"
    return f"{PREFIX}/runs/{run_id}/{name}"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in _list(value) if isinstance(v, str | int | float) and v != ""]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> int | float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; lists of mappings indexed; other lists kept as leaves."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        if not value and prefix:
            out[prefix] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{i}" if prefix else str(i)))
    elif prefix:
        out[prefix] = value
    return out


class SiteData:
    """The catalog, its links and its validation problems, viewed page by page."""

    def __init__(self, catalog: Catalog, problems: list[Problem], *,
                 min_cell_size: int = disclosure.MIN_CELL_SIZE, docs_dir: Path | None = None):
        self.catalog = catalog
        #: The site's docs folder: local files of cards inside it are published with the site.
        self.docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None
        self.problems = sorted(problems, key=lambda p: (p.path, p.line or 0, p.column or 0))
        self.minimum = min_cell_size
        catalog.attach(self.problems)
        self.links = Links(catalog)
        self._refs: dict[tuple[str, str], Ref] = {}
        self._metrics: dict[str, dict[str, Any]] = {}
        self._published: dict[str, tuple[dict[str, Any], list[Any]]] = {}
        self._summaries: dict[str, dict[str, Any]] = {}
        self._headlines: dict[str, list[tuple[str, Any]]] = {}
        self._runs_by_experiment: dict[str, list[Card]] = {}
        for run in sorted(catalog.of("run"), key=self.run_sort_key):
            exp = run.get("experiment")
            if isinstance(exp, str):
                self._runs_by_experiment.setdefault(exp, []).append(run)

    # -- references ------------------------------------------------------------------------
    def ref(self, kind: str, card_id: str) -> Ref:
        key = (kind, card_id)
        if key not in self._refs:
            card = self.catalog.find(kind, card_id)
            self._refs[key] = (Ref(kind, str(card_id), str(card_id), None) if card is None
                               else Ref(kind, card.id, card.title, card.page,
                                        bool(card.errors) or card.broken is not None,
                                        card.broken is not None))
        return self._refs[key]

    def refs(self, kind: str, ids: Any) -> list[Ref]:
        refs = [self.ref(kind, i) for i in sorted(set(_str_list(ids)))]
        return sorted(refs, key=lambda r: (r.page is None, r.title.lower()))

    def linked(self, card: Card, kind: str) -> list[Ref]:
        return self.refs(kind, sorted(self.links.of(card, kind)))

    @staticmethod
    def run_sort_key(run: Card) -> tuple[str, str]:
        started = run.get("started")
        return (started if isinstance(started, str) else "", run.id)

    def runs_of(self, experiment_id: str) -> list[Card]:
        return list(self._runs_by_experiment.get(experiment_id, []))

    # -- disclosure ------------------------------------------------------------------------
    def published(self, run: Card) -> tuple[dict[str, Any], list[Any]]:
        """The run's metrics and inputs with the totals rule applied
        (:mod:`kbtools.experiments.totals`): runs written before it get it here."""
        if run.id not in self._published:
            metrics = dict(run.metrics or {})
            inputs = _list(run.get("inputs"))
            record = run.get("disclosure")
            if metrics and not (isinstance(record, Mapping) and "complementary" in record):
                inventory, counts, inputs, _ = totals.withhold_run(
                    metrics.get("inventory"), metrics.get("counts"), inputs, self.minimum)
                metrics.update({k: v for k, v in (("inventory", inventory),
                                                   ("counts", counts)) if k in metrics})
            self._published[run.id] = (metrics, inputs)
        return self._published[run.id]

    def _run_counts(self, run: Card) -> tuple[set[str], bool]:
        metrics = self.published(run)[0]
        listed = disclosure.suppressed_names(metrics.get("suppressed"))
        total = disclosure.total_subjects(metrics.get("counts"))
        return listed, disclosure.small(total, self.minimum)

    def headline(self, run: Card) -> list[tuple[str, Any]]:
        if run.id not in self._headlines:
            self._headlines[run.id] = self._headline(run)
        return self._headlines[run.id]

    def _headline(self, run: Card) -> list[tuple[str, Any]]:
        listed, run_small = self._run_counts(run)
        guarded = disclosure.guard_tree(_dict(run.get("headline")), listed=listed,
                                        minimum=self.minimum, small_parent=run_small)
        return headline_pairs(guarded)

    def metrics(self, run: Card) -> dict[str, Any]:
        """The run's metrics tables, every cell through the disclosure guard."""
        if run.id not in self._metrics:
            self._metrics[run.id] = self._guarded_metrics(run)
        return self._metrics[run.id]

    def _guarded_metrics(self, run: Card) -> dict[str, Any]:
        metrics = self.published(run)[0]
        listed, run_small = self._run_counts(run)

        def guard(section: str, **kw: Any) -> Any:
            return disclosure.guard_tree(metrics.get(section), path=section, listed=listed,
                                         minimum=self.minimum, **kw)

        summary = flatten(self.guarded_summary(run)) if metrics else {}
        counts = {k.removeprefix("counts."): v for k, v in flatten(guard("counts")).items()}
        folds = []
        for i, row in enumerate(_list(metrics.get("per_fold"))):
            if isinstance(row, Mapping):
                flat = flatten(row)
                folds.append(disclosure.guard_row(flat, listed=listed, prefix=f"per_fold.{i}.",
                                                  minimum=self.minimum, force_small=run_small))
        columns: list[str] = []
        for row in folds:
            columns += [k for k in row if k not in columns]
        extra = {k: v for k, v in metrics.items()
                 if k not in {"id", "method", "summary", "per_fold", "counts", "suppressed"}}
        return {
            "summary": list(summary.items()),
            "counts": list(counts.items()),
            "fold_columns": columns,
            "folds": [[row.get(c) for c in columns] for row in folds],
            "suppressed": sorted(listed),
            "other": list(flatten(disclosure.guard_tree(extra, listed=listed,
                                                        minimum=self.minimum,
                                                        small_parent=run_small)).items()),
            "present": bool(metrics),
        }

    def guarded_summary(self, run: Card) -> dict[str, Any]:
        """``metrics.yaml: summary`` with every cell through the disclosure guard."""
        if run.id not in self._summaries:
            metrics = run.metrics or {}
            listed, run_small = self._run_counts(run)
            guarded = disclosure.guard_tree(metrics.get("summary"), path="summary",
                                            listed=listed, minimum=self.minimum,
                                            small_parent=run_small)
            self._summaries[run.id] = guarded if isinstance(guarded, dict) else {}
        return self._summaries[run.id]

    def results(self, run: Card) -> dict[str, Any] | None:
        """The run's results shaped for its method (:mod:`kbtools.site.results`)."""
        return results_view(run.get("method"), self.guarded_summary(run))

    def local_file(self, value: Any) -> dict[str, Any] | None:
        """Where a card's local file (a paper's ``pdf``, ``summary_md_path``) can be read.

        ``site`` is its path in the site when the file is inside the KB (symlinks followed)
        and inside the docs folder, so MkDocs publishes it; ``None`` otherwise, with
        ``reason`` saying why the page does not link it.
        """
        if not isinstance(value, str) or not value.strip():
            return None
        root = self.catalog.root
        shown = {"path": value, "site": None, "reason": None}
        if not is_inside(root, value):
            return {**shown, "reason": "outside the KB: not linked"}
        real = resolve_inside(root, value)
        if not real.is_file():
            return {**shown, "reason": "missing"}
        docs = self.docs_dir
        if docs is None or not (real == docs or docs in real.parents):
            return {**shown, "reason": "in the KB, not published with the site"}
        return {**shown, "site": real.relative_to(docs).as_posix()}

    def card_fields(self, card: Card) -> list[dict[str, Any]]:
        """Every field of a card for the "more fields" section, in card order.

        A top-level field is ``extension`` when the built-in schema does not define it (the
        KB declared it, or it is not declared at all); fields the KB declared inside built-in
        objects (``arch.special_features``, ``checkpoints[].dtype``) come after, each with its
        path. Descriptions come from the KB's declarations, else from the built-in schema.
        """
        builtin = self._builtin_properties(card.kind)
        declared = self.extension_fields.get(card.kind, [])
        top = {f.path[0]: f for f in declared if len(f.path) == 1}
        out = []
        for name, value in card.data.items():
            decl = top.get(name)
            description = (decl.description if decl else None) or _dict(
                builtin.get(name)).get("description")
            out.append({"name": name, "label": name.replace("_", " "), "value": value,
                        "description": description, "extension": name not in builtin,
                        "top": name, "nested": False})
        for ext in extension_values([f for f in declared if len(f.path) > 1], card.data):
            out.append({"name": ext.name, "label": ext.name.replace("_", " "),
                        "value": ext.value, "description": ext.field.description,
                        "extension": True, "top": str(ext.path[0]), "nested": True})
        return out

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one SiteData per build
    def _builtin_properties(self, kind_name: str) -> dict[str, Any]:
        kind = KINDS_BY_NAME.get(kind_name)
        return _dict(load_schema(kind.schema).get("properties")) if kind else {}

    @functools.cached_property
    def extension_fields(self) -> dict[str, list[Any]]:
        try:
            return extension_fields(self.catalog.root)
        except Exception:  # noqa: BLE001 - a broken declaration file is validate's to report
            return {}

    def inputs(self, run: Card) -> list[dict[str, Any]]:
        rows = []
        for item in self.published(run)[1]:
            if not isinstance(item, Mapping):
                continue
            guarded = disclosure.guard_row(
                {k: v for k, v in item.items() if k != "role"}, minimum=self.minimum)
            guarded["role"] = item.get("role")
            guarded["dataset_ref"] = (self.ref("dataset", item["dataset"])
                                      if isinstance(item.get("dataset"), str) else None)
            rows.append(guarded)
        return rows

    def subjects(self, dataset: Card) -> Any:
        total = disclosure.total_subjects(dataset.get("counts"))
        if total is None:
            return None
        return disclosure.guard_cell("subjects", total, minimum=self.minimum)

    # -- dashboards ------------------------------------------------------------------------
    def facets(self, rows: list[dict[str, Any]], key: str) -> list[tuple[str, int]]:
        counter: Counter[str] = Counter()
        for row in rows:
            counter.update(set(row[key]))
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

    def model_rows(self) -> list[dict[str, Any]]:
        rows = []
        for card in self.catalog.of("model"):
            arch = _dict(card.get("arch"))
            license_ = _dict(card.get("license"))
            rows.append({
                "ref": self.ref("model", card.id),
                "modality": _str_list(card.get("modality")),
                "domain": card.get("domain"),
                "parameters": _number(arch.get("num_parameters")),
                "context_length": _number(card.get("context_length")),
                "context_unit": card.get("context_unit"),
                "license": license_.get("weights") or license_.get("code"),
                "verified": card.get("verified") is True,
                "status": card.get("status"),
                "tags": _str_list(card.get("tags")),
                "papers": self.linked(card, "paper"),
            })
        return sorted(rows, key=lambda r: r["ref"].title.lower())

    def paper_rows(self) -> list[dict[str, Any]]:
        rows = []
        for card in self.catalog.of("paper"):
            rows.append({
                "ref": self.ref("paper", card.id),
                "year": _number(card.get("year")),
                "venue": card.get("venue"),
                "models": self.linked(card, "model"),
                "modality": sorted({m for ref in self.linked(card, "model")
                                    for m in self._modalities("model", ref.id)}),
                "verified": card.get("verified") is True,
                "tags": _str_list(card.get("tags")),
            })
        return sorted(rows, key=lambda r: (-(r["year"] or 0), r["ref"].title.lower()))

    def _modalities(self, kind: str, card_id: str) -> list[str]:
        card = self.catalog.find(kind, card_id)
        if card is None:
            return []
        return _str_list(card.get("modality" if kind == "model" else "modalities"))

    def dataset_rows(self) -> list[dict[str, Any]]:
        rows = []
        for card in self.catalog.of("dataset"):
            rows.append({
                "ref": self.ref("dataset", card.id),
                "modality": _str_list(card.get("modalities")),
                "access": _dict(card.get("access")).get("level"),
                "classification": _dict(card.get("governance")).get("classification"),
                "subjects": self.subjects(card),
                "verified": card.get("verified") is True,
                "tags": _str_list(card.get("tags")),
            })
        return sorted(rows, key=lambda r: r["ref"].title.lower())

    def registry_rows(self) -> list[dict[str, Any]]:
        rows = []
        for card in self.catalog.of("registry"):
            entries = [e for e in _list(card.get("entries")) if isinstance(e, Mapping)]
            rows.append({
                "ref": self.ref("registry", card.id),
                "registry": card.get("registry"),
                "entries": len(entries),
                "status": card.get("status"),
                "verified": card.get("verified") is True,
                "tags": _str_list(card.get("tags")),
            })
        return sorted(rows, key=lambda r: (str(r["registry"]), r["ref"].title.lower()))

    def registry_entries(self, card: Card) -> list[dict[str, Any]]:
        """Each entry of a registry: its id, description, linked cards and other fields."""
        out = []
        for entry in _list(card.get("entries")):
            if not isinstance(entry, Mapping):
                continue
            shown = ("id", "description", "models", "datasets", "inputs")
            out.append({
                "id": entry.get("id"), "description": entry.get("description"),
                "models": self.refs("model", entry.get("models")),
                "datasets": self.refs("dataset", entry.get("datasets")),
                "inputs": _str_list(entry.get("inputs")),
                "fields": {k: v for k, v in entry.items() if k not in shown},
            })
        return out

    def experiment_rows(self) -> list[dict[str, Any]]:
        rows = []
        for card in self.catalog.of("experiment"):
            runs = self.runs_of(card.id)
            last = runs[-1] if runs else None
            rows.append({
                "ref": self.ref("experiment", card.id),
                "method": card.get("method"),
                "status": card.get("status"),
                "runs": len(runs),
                "last_run": self.ref("run", last.id) if last else None,
                "last_status": last.get("run_status") if last else None,
                "last_started": last.get("started") if last else None,
                "headline": self.headline(last) if last else [],
                "modality": sorted({m for ref in self.linked(card, "dataset")
                                    for m in self._modalities("dataset", ref.id)}),
                "tags": _str_list(card.get("tags")),
            })
        return sorted(rows, key=lambda r: r["ref"].id)

    def run_row(self, card: Card) -> dict[str, Any]:
        exp = card.get("experiment")
        return {
            "ref": self.ref("run", card.id),
            "started": card.get("started"),
            "experiment": self.ref("experiment", exp) if isinstance(exp, str) else None,
            "method": card.get("method"),
            "run_status": card.get("run_status"),
            "duration_s": _number(card.get("duration_s")),
            "headline": self.headline(card),
            "warnings": len(_list(card.get("warnings"))),
            "tags": _str_list(card.get("tags")),
        }

    def run_rows(self) -> list[dict[str, Any]]:
        runs = sorted(self.catalog.of("run"), key=self.run_sort_key, reverse=True)
        return [self.run_row(card) for card in runs]

    def health(self) -> dict[str, Any]:
        pages = {card.path: card.page for card in self.catalog.by_path().values()}
        items = []
        for p in self.problems:
            page = pages.get(p.path)
            if page is None and p.path.endswith(("/metrics.yaml", "/config_used.yaml")):
                page = pages.get(p.path.rsplit("/", 1)[0] + "/run.yaml")
            items.append({"problem": p, "page": page})
        by_rule = Counter(p.rule for p in self.problems)
        return {
            "problems": items,
            "errors": sum(p.severity == "error" for p in self.problems),
            "warnings": sum(p.severity != "error" for p in self.problems),
            "files": len({p.path for p in self.problems}),
            "by_rule": sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])),
        }

    # -- experiments -----------------------------------------------------------------------
    def lineage(self, exp: Card) -> dict[str, Any]:
        """Nodes and edges of papers -> models -> datasets and strategies -> config -> runs."""
        datasets = sorted(self.links.of(exp, "dataset"))
        models = sorted(self.links.of(exp, "model"))
        papers = self.links.of(exp, "paper")
        model_cards = {m: self.catalog.find("model", m) for m in models}
        for card in model_cards.values():
            if card is not None:
                papers |= self.links.of(card, "paper")
        runs = self.runs_of(exp.id)
        shown_runs = runs[-MAX_LINEAGE_RUNS:]
        nodes: dict[tuple[str, str], dict[str, Any]] = {}

        def node(kind: str, card_id: str, label: str) -> str:
            key = (kind, card_id)
            if key not in nodes:
                nodes[key] = {"kind": kind, "id": card_id, "label": label,
                              "node": f"{kind[0]}{len(nodes)}",
                              "missing": kind != "strategy"
                              and self.catalog.find(kind, card_id) is None}
            return nodes[key]["node"]

        config = node("experiment", exp.id, exp.id)
        edges: list[tuple[str, str]] = []
        for paper in sorted(papers):
            p = node("paper", paper, self.ref("paper", paper).title)
            targets = [m for m in models if model_cards[m] is not None
                       and paper in self.links.of(model_cards[m], "paper")]
            edges += [(p, node("model", m, self.ref("model", m).title)) for m in targets]
            if not targets:
                edges.append((p, config))
        strategy_models = set(self.links.strategy_models(exp))
        for model in models:
            m = node("model", model, self.ref("model", model).title)
            card = model_cards[model]
            used = set(self.links.strategy_datasets(exp, model))
            if card is not None:
                used |= self.links.of(card, "dataset")
            targets = [d for d in datasets if d in used]
            edges += [(m, node("dataset", d, self.ref("dataset", d).title)) for d in targets]
            if not targets and model not in strategy_models:
                edges.append((m, config))
        for dataset in datasets:
            edges.append((node("dataset", dataset, self.ref("dataset", dataset).title), config))
        # embedding strategies: models feed them, fusions take other strategies as inputs
        strategies = self.links.strategy_closure(exp)
        for sid, entry in strategies:
            s = node("strategy", sid, sid)
            nodes[("strategy", sid)]["missing"] = not entry
            inputs = [i for i in _str_list(entry.get("inputs")) if i in dict(strategies)]
            edges += [(node("strategy", i, i), s) for i in inputs]
            for model in _str_list(entry.get("models")) + _str_list(entry.get("model")):
                if model in models:
                    edges.append((node("model", model, self.ref("model", model).title), s))
        used_inputs = {i for _, e in strategies for i in _str_list(e.get("inputs"))}
        for sid, _ in strategies:
            if sid not in used_inputs:
                edges.append((node("strategy", sid, sid), config))
        for run in shown_runs:
            started = run.get("started")
            label = f"{started[:16] if isinstance(started, str) else run.id} "
            label += f"({run.get('run_status') or 'unknown'})"
            edges.append((config, node("run", run.id, label)))
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in nodes.values():
            groups.setdefault(item["kind"], []).append(item)
        return {
            "groups": [(kind, groups.get(kind, []))
                       for kind in ("paper", "model", "dataset", "strategy", "experiment",
                                    "run")],
            "edges": list(dict.fromkeys(edges)),
            "hidden_runs": len(runs) - len(shown_runs),
        }

    def comparison(self, exp: Card) -> dict[str, Any]:
        """Runs of one experiment side by side: headline metrics, then what differs.

        Headline metrics are the method's key numbers (:func:`kbtools.site.results.key_metrics`,
        else the run's ``headline``); settings, inputs and run details keep only the rows whose
        values are not the same in every run. The page shows the latest two runs by default.
        """
        all_runs = self.runs_of(exp.id)
        runs = all_runs[-MAX_COMPARED_RUNS:]
        headline: list[dict[str, Any]] = []
        by_label: dict[str, dict[str, Any]] = {}
        for i, run in enumerate(runs):
            pairs = key_metrics(run.get("method"), self.results(run)) or [
                Metric(key, value, is_p_key(key)) for key, value in self.headline(run)]
            for label, value, is_p in pairs:
                if label not in by_label:
                    by_label[label] = {"key": label, "by_run": [None] * len(runs), "p": is_p}
                    headline.append(by_label[label])
                by_label[label]["by_run"][i] = value
        summaries = [dict(self.metrics(r)["summary"]) for r in runs]
        configs = [flatten(r.config_used or {}) for r in runs]
        facts = [{"method": r.get("method"), "run_status": r.get("run_status"),
                  "seed": r.get("seed"), "config_sha256": _short(r.get("config_sha256")),
                  "kbtools_version": r.get("kbtools_version"),
                  "git_commit": _short(_dict(r.get("git")).get("commit"))} for r in runs]
        inputs = []
        for run in runs:
            row: dict[str, Any] = {}
            for item in self.inputs(run):
                role = item.get("role")
                row[f"{role}.sha256"] = _short(item.get("sha256"))
                if "rows" in item:
                    row[f"{role}.rows"] = item["rows"]
                if item.get("dataset"):
                    row[f"{role}.dataset"] = item["dataset"]
            inputs.append(row)
        return {
            "runs": [self.ref("run", r.id) for r in runs],
            "started": [r.get("started") for r in runs],
            "shown": [r.id for r in runs[-2:]],
            "hidden_runs": len(all_runs) - len(runs),
            "headline": headline,
            "metrics": _differing(summaries),
            "settings": _differing(configs),
            "facts": _differing(facts),
            "inputs": _differing(inputs),
        }

    # -- pages -----------------------------------------------------------------------------
    def card_context(self, card: Card) -> dict[str, Any]:
        ctx: dict[str, Any] = {"card": card, "data": card.data, "problems": card.problems,
                               "kind": card.kind}
        for kind in PAGE_KINDS:
            if kind != card.kind:
                ctx[PAGE_KINDS[kind]] = self.linked(card, kind)
        ctx["fields"] = self.card_fields(card)
        if card.kind in {"model", "paper", "experiment"}:
            ctx["source_file"] = card.path
        if card.kind == "paper":
            ctx["pdf"] = self.local_file(card.get("pdf") or card.get("local_pdf_path"))
            ctx["summary_md"] = self.local_file(card.get("summary_md_path"))
        if card.kind == "dataset":
            ctx["subjects"] = self.subjects(card)
            guarded = disclosure.guard_tree(_dict(card.get("counts")), minimum=self.minimum)
            ctx["dataset_counts"] = list(flatten(guarded).items())
        if card.kind == "registry":
            ctx["entries"] = self.registry_entries(card)
        if card.kind == "experiment":
            ctx["run_rows"] = [self.run_row(r) for r in reversed(self.runs_of(card.id))]
            ctx["lineage"] = self.lineage(card)
            ctx["compare_page"] = compare_page(card.id)
            ctx["strategies"] = sorted(_dict(card.get("embedding_strategies")).items())
            ctx["data_roles"] = [
                (role, self.ref("dataset", spec["dataset"])
                 if isinstance(spec.get("dataset"), str) else None, spec.get("table"))
                for role, spec in sorted(_dict(card.get("data")).items())
                if isinstance(spec, dict)]
        if card.kind == "run":
            ctx["metrics"] = self.metrics(card)
            ctx["inputs"] = self.inputs(card)
            ctx["headline"] = self.headline(card)
            ctx["plots"] = [{"name": n, "path": plot_uri(card.id, n),
                             "stem": n.rsplit(".", 1)[0]} for n in figure_order(card.plots)]
            ctx["results"] = self.results(card)
            ctx["results_template"] = (results_template(card.get("method"))
                                       if ctx["results"] is not None
                                       else "results/_generic.md.j2")
            config_path = card.path.rsplit("/", 1)[0] + "/config_used.yaml"
            ctx["config_file"] = config_path if card.config_used else None
            exp = card.get("experiment")
            ctx["experiment"] = self.ref("experiment", exp) if isinstance(exp, str) else None
            has_config = isinstance(exp, str) and self.catalog.find("experiment", exp)
            ctx["compare_page"] = compare_page(exp) if has_config else None
        return ctx

    def unreadable_context(self, card: Card) -> dict[str, Any]:
        """A card whose file does not parse: the problem, the lines around it, its dashboard."""
        problem = card.broken
        assert problem is not None
        return {"card": card, "problem": problem, "kind": card.kind,
                "problems": [p for p in card.problems if p != problem],
                "dashboard": dashboard_page(card.kind),
                "excerpt": source_excerpt(self.catalog.root, card.path, problem.line,
                                          problem.column)}

    def counts(self) -> dict[str, int]:
        return {kind: len(self.catalog.of(kind)) for kind in PAGE_KINDS}


#: Lines shown before and after the line a parse error points at.
EXCERPT_LINES = 3


def source_excerpt(root: Path, rel: str, line: int | None, column: int | None) -> str:
    """The lines of a KB file around ``line``, numbered, with a caret under ``column``."""
    try:
        text = resolve_inside(root, rel).read_bytes()[:1024 * 1024].decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    lines = text.splitlines() or [""]
    if not line:
        line, column = 1, None
    while len(lines) < line:  # the parser stopped at the end of the file
        lines.append("")
    first = max(1, line - EXCERPT_LINES)
    last = min(len(lines), line + EXCERPT_LINES)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        mark = ">" if number == line else " "
        out.append(f"{mark}{number:>{width}} | {lines[number - 1]}")
        if number == line and column:
            out.append(f" {'':>{width}} | {' ' * (column - 1)}^")
    return "\n".join(out)


def _short(value: Any) -> Any:
    return value[:12] if isinstance(value, str) and len(value) > 12 else value


def _differing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keys whose values are not the same in every row, with each row's value."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    out = []
    for key in keys:
        values = [row.get(key) for row in rows]
        if len(rows) > 1 and any(v != values[0] for v in values[1:]):
            out.append({"key": key, "by_run": values})
    return out


def common_context(site: SiteData) -> dict[str, Any]:
    """What every page may show: counts of cards, the KB's health, the minimum cell size."""
    return {"counts": site.counts(), "health": site.health(), "min_cell_size": site.minimum}


def card_page(site: SiteData, card: Card) -> tuple[str, str, dict[str, Any]]:
    """A card's page: (path in the site, template name, page-specific context). A card whose
    file does not parse keeps its page: it shows where the file fails and how to fix it."""
    if card.broken is not None:
        return card.page or "", card_template(card), site.unreadable_context(card)
    return card.page or "", card_template(card), site.card_context(card)


def card_template(card: Card) -> str:
    """The template of a card's page."""
    return "unreadable.md.j2" if card.broken is not None else f"{card.kind}.md.j2"


class Later:
    """A page's context not computed yet: the renderer may take the page from its memo."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], dict[str, Any]]):
        self.make = make


def site_pages(site: SiteData, wanted: Callable[[str], bool] | None = None
               ) -> Iterator[tuple[str, str, dict[str, Any] | Later]]:
    """Every generated page: (path in the site, template name, page-specific context).

    With ``wanted``, the contexts of card and comparison pages it rejects are left
    :class:`Later` (a caller that knows those pages cannot have changed skips the work).
    """
    models, papers = site.model_rows(), site.paper_rows()
    datasets, experiments, runs = site.dataset_rows(), site.experiment_rows(), site.run_rows()
    yield f"{PREFIX}/index.md", "registry_index.md.j2", {
        "recent_runs": runs[:5], "experiments": experiments,
        "templates": site.catalog.templates}
    yield dashboard_page("model"), "models.md.j2", {
        "rows": models, "by_modality": site.facets(models, "modality"),
        "by_tag": site.facets(models, "tags")}
    yield dashboard_page("paper"), "papers.md.j2", {
        "rows": papers, "by_modality": site.facets(papers, "modality"),
        "by_tag": site.facets(papers, "tags")}
    yield dashboard_page("dataset"), "datasets.md.j2", {
        "rows": datasets, "by_modality": site.facets(datasets, "modality"),
        "by_tag": site.facets(datasets, "tags")}
    registries = site.registry_rows()
    yield dashboard_page("registry"), "registries.md.j2", {
        "rows": registries, "by_tag": site.facets(registries, "tags")}
    yield dashboard_page("experiment"), "experiments.md.j2", {
        "rows": experiments, "by_modality": site.facets(experiments, "modality"),
        "by_tag": site.facets(experiments, "tags")}
    yield dashboard_page("run"), "runs.md.j2", {
        "rows": runs, "by_tag": site.facets(runs, "tags")}
    yield f"{PREFIX}/health.md", "health.md.j2", {}
    for kind in PAGE_KINDS:
        for card in site.catalog.of(kind):
            if wanted is None or wanted(card.page or ""):
                yield card_page(site, card)
            else:
                yield (card.page or "", card_template(card),
                       Later(functools.partial(lambda c: card_page(site, c)[2], card)))
    for card in site.catalog.of("experiment"):
        path = compare_page(card.id)

        def compare(card: Card = card) -> dict[str, Any]:
            return {"card": card, "compare": site.comparison(card)}

        yield path, "experiment_compare.md.j2", (
            compare() if wanted is None or wanted(path) else Later(compare))
