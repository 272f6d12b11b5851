"""Who references whom: an undirected graph over cards, so every link shows on both pages.

A model that lists a paper, or a paper that lists a model, links them both ways. Experiments
reach models directly (``models:``) and through their embedding strategies; runs reach the
papers and models of their experiment.

Besides the fields made for it, a card links to every card it names anywhere else: a value
that is the id of a model, paper or dataset card (``feature_preparation.gene.model: helixlm``,
a KB's own fields), a path to one (``kb/datasets/adult_wes.yaml``), or the id of an embedding
strategy, which brings the strategy's models and datasets. Free text (names, summaries, notes,
tags) is not searched, so a tag that happens to equal a model id links nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from kbtools.site.catalog import Card, Catalog

Node = tuple[str, str]  # (kind, id)

#: Kinds a value elsewhere in a card may name.
NAMED_KINDS = ("model", "paper", "dataset")
#: Fields never read as references: free text, labels and facts about the card itself.
NOT_REFERENCES = frozenset({
    "id", "name", "title", "summary", "description", "notes", "kb_relevance",
    "key_contributions", "tags", "keywords", "modality", "modalities", "domain", "status",
    "verified", "verification", "license", "venue", "authors", "url", "doi", "arxiv", "repo",
    "last_updated", "tasks", "objective", "statement", "warnings", "command", "method",
    "outcome", "headline",
})
#: Registry fields that hold entries as a mapping ``{id: {...}}`` (older integration cards).
ENTRY_MAPS = ("entries", "strategies", "methods")
_CARD_PATH = re.compile(r"^(?:\./)?kb/(model_cards|paper_cards|datasets)/([^/]+)\.ya?ml$")
_FOLDER_KIND = {"model_cards": "model", "paper_cards": "paper", "datasets": "dataset"}


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """String leaves of a card, skipping free-text and label fields (and runaway nesting)."""
    if depth > 20:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_REFERENCES:
                yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)
    elif isinstance(value, str) and len(value) <= 200:
        yield value.strip()


class Links:
    """Neighbours of each card by kind, including ids of cards that do not exist."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._adj: dict[Node, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._strategies = self._strategy_entries()
        self._known = {(kind, card.id) for kind in NAMED_KINDS for card in catalog.of(kind)}
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
            self._link_all(card, "dataset", self.strategy_datasets(card))
        for kind in ("model", "paper", "dataset", "experiment"):
            for card in catalog.of(kind):
                for other_kind, other in self.named(card):
                    if (other_kind, other) != (card.kind, card.id):
                        self._link((card.kind, card.id), (other_kind, other))
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

    def neighbours(self, node: Node) -> set[Node]:
        """Every (kind, id) linked with ``node``, of any kind."""
        return {(kind, other) for kind, ids in self._adj.get(node, {}).items() for other in ids}

    def of(self, card: Card, kind: str) -> set[str]:
        """Ids of the ``kind`` cards linked with ``card`` (existing or not)."""
        return set(self._adj.get((card.kind, card.id), {}).get(kind, set()))

    def named(self, card: Card) -> set[Node]:
        """Existing cards a card names outside its reference fields (ids and card paths)."""
        found: set[Node] = set()
        for text in _strings(card.data):
            match = _CARD_PATH.match(text)
            if match:
                node = (_FOLDER_KIND[match[1]], match[2])
                if node in self._known:
                    found.add(node)
                continue
            for kind in NAMED_KINDS:
                if (kind, text) in self._known:
                    found.add((kind, text))
        return found

    # -- experiments -----------------------------------------------------------------------
    def _strategy_entries(self) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        for registry in self.catalog.of("registry"):
            kind = registry.get("registry")
            if kind is None:  # an integration card from before kbtools: its name says
                kind = registry.id
            if kind != "embedding_strategies":
                continue
            for key in ENTRY_MAPS:
                held = registry.get(key)
                if isinstance(held, list):
                    for entry in held:
                        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                            entries.setdefault(entry["id"], entry)
                elif isinstance(held, dict):
                    for entry_id, entry in held.items():
                        if isinstance(entry, dict):
                            entries.setdefault(str(entry_id), entry)
        return entries

    @staticmethod
    def experiment_datasets(card: Card) -> list[str]:
        data = card.get("data")
        if not isinstance(data, dict):
            return []
        return [r["dataset"] for r in data.values()
                if isinstance(r, dict) and isinstance(r.get("dataset"), str)]

    def strategy_ids(self, card: Card) -> list[str]:
        """Embedding strategies the card uses: ``embedding_strategies`` and any value naming one."""
        strategies = card.get("embedding_strategies")
        ids = _ids(list(strategies.values())) if isinstance(strategies, dict) else []
        ids += [text for text in _strings(card.data) if text in self._strategies]
        return list(dict.fromkeys(ids))

    def strategy_closure(self, card: Card) -> list[tuple[str, dict[str, Any]]]:
        """The card's strategies (id, entry; ``{}`` if unknown), fusions followed to inputs."""
        todo = list(reversed(self.strategy_ids(card)))
        seen: set[str] = set()
        found: list[tuple[str, dict[str, Any]]] = []
        while todo:
            sid = todo.pop()
            if sid in seen:
                continue
            seen.add(sid)
            entry = self._strategies.get(sid, {})
            found.append((sid, entry))
            todo += _ids(entry.get("inputs"))
        return found

    def strategy_models(self, card: Card) -> list[str]:
        """Models used by the experiment's embedding strategies (fusions followed to inputs)."""
        models: list[str] = []
        for _, entry in self.strategy_closure(card):
            models += [m for m in _ids(entry.get("models")) + _ids(entry.get("model"))
                       if m not in models]
        return models

    def strategy_datasets(self, card: Card, model_id: str | None = None) -> list[str]:
        """Datasets of the experiment's strategies (only those applying ``model_id``, if given)."""
        found: list[str] = []
        for _, entry in self.strategy_closure(card):
            if model_id is None or model_id in _ids(entry.get("models")) + _ids(
                    entry.get("model")):
                found += [d for d in _ids(entry.get("datasets")) if d not in found]
        return found
