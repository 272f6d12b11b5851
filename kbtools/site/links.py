"""Who references whom: an undirected graph over cards, so every link shows on both pages.

A model that lists a paper, or a paper that lists a model, links them both ways. Experiments
reach models directly (``models:``) and through their embedding strategies; runs reach the
papers and models of their experiment.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kbtools.site.catalog import Card, Catalog

Node = tuple[str, str]  # (kind, id)


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class Links:
    """Neighbours of each card by kind, including ids of cards that do not exist."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._adj: dict[Node, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._strategies = self._strategy_entries()
        for card in catalog.of("model"):
            self._link_all(card, "paper", card.get("papers"))
            self._link_all(card, "dataset", card.get("datasets"))
        for card in catalog.of("paper"):
            self._link_all(card, "model", card.get("models"))
            self._link_all(card, "dataset", card.get("datasets"))
        for card in catalog.of("dataset"):
            self._link_all(card, "model", card.get("models"))
            self._link_all(card, "paper", card.get("papers"))
        for card in catalog.of("experiment"):
            self._link_all(card, "paper", card.get("papers"))
            self._link_all(card, "model", card.get("models"))
            self._link_all(card, "dataset", self.experiment_datasets(card))
            self._link_all(card, "model", self.strategy_models(card))
        for card in catalog.of("run"):
            exp_id = card.get("experiment")
            self._link_all(card, "experiment", exp_id)
            self._link_all(card, "dataset", card.get("datasets"))
            inputs = card.get("inputs")
            if isinstance(inputs, list):
                self._link_all(card, "dataset",
                               [i.get("dataset") for i in inputs if isinstance(i, dict)])
            exp = catalog.find("experiment", exp_id)
            if exp is not None:
                for kind in ("paper", "model", "dataset"):
                    self._link_all(card, kind, sorted(self.of(exp, kind)))

    def _link(self, a: Node, b: Node) -> None:
        self._adj[a][b[0]].add(b[1])
        self._adj[b][a[0]].add(a[1])

    def _link_all(self, card: Card, kind: str, ids: Any) -> None:
        for other in _ids(ids):
            self._link((card.kind, card.id), (kind, other))

    def of(self, card: Card, kind: str) -> set[str]:
        """Ids of the ``kind`` cards linked with ``card`` (existing or not)."""
        return set(self._adj.get((card.kind, card.id), {}).get(kind, set()))

    # -- experiments -----------------------------------------------------------------------
    def _strategy_entries(self) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        for registry in self.catalog.of("registry"):
            for entry in registry.get("entries") or []:
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    entries.setdefault(entry["id"], entry)
        return entries

    @staticmethod
    def experiment_datasets(card: Card) -> list[str]:
        data = card.get("data")
        if not isinstance(data, dict):
            return []
        return [r["dataset"] for r in data.values()
                if isinstance(r, dict) and isinstance(r.get("dataset"), str)]

    def strategy_models(self, card: Card) -> list[str]:
        """Models used by the experiment's embedding strategies (fusions followed to inputs)."""
        strategies = card.get("embedding_strategies")
        todo = list(_ids(list(strategies.values()))) if isinstance(strategies, dict) else []
        seen: set[str] = set()
        models: list[str] = []
        while todo:
            sid = todo.pop()
            if sid in seen:
                continue
            seen.add(sid)
            entry = self._strategies.get(sid, {})
            models += [m for m in _ids(entry.get("models")) if m not in models]
            todo += _ids(entry.get("inputs"))
        return models

    def strategy_datasets(self, card: Card, model_id: str) -> set[str]:
        """Datasets an experiment's strategies apply ``model_id`` to."""
        strategies = card.get("embedding_strategies")
        found: set[str] = set()
        if not isinstance(strategies, dict):
            return found
        for sid in _ids(list(strategies.values())):
            entry = self._strategies.get(sid, {})
            if model_id in _ids(entry.get("models")):
                found.update(_ids(entry.get("datasets")))
        return found
