"""Dataset cards kbtools knows without a file in the KB: the built-in synthetic cohort.

A config may name ``dataset: synthetic_cohort`` in a KB that has no card of that id
(``kbtools new experiment ID --method METHOD`` writes such configs): runs generate the cohort,
and validation knows its tables. A card of the same id in the KB takes precedence.
"""

from __future__ import annotations

import copy
from typing import Any

SYNTHETIC_COHORT = "synthetic_cohort"

_CARDS: dict[str, dict[str, Any]] = {
    SYNTHETIC_COHORT: {
        "id": SYNTHETIC_COHORT,
        "name": "Built-in synthetic gene-brain cohort (not real data)",
        "storage": {
            "generator": {"name": SYNTHETIC_COHORT,
                          "params": {"n_subjects": 2000, "n_sites": 8, "seed": 0,
                                     "missing_fraction": 0.0}},
            "tables": {name: {"path": f"{name}.csv", "id_column": "subject_id"}
                       for name in ("subjects", "gene_embeddings", "smri_rois")},
        },
    },
}


def builtin_card(dataset: str) -> dict[str, Any] | None:
    """The built-in card of ``dataset`` (a copy), or None."""
    card = _CARDS.get(dataset)
    return copy.deepcopy(card) if card is not None else None


def builtin_tables(dataset: str) -> list[str]:
    card = _CARDS.get(dataset)
    return list(card["storage"]["tables"]) if card else []
