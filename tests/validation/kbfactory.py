"""A small, valid KB written into a folder (tests never use the shipped cards)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kbtools.yamlio import dump

RUN_ID = "20261101-120000_exp_cca_ab12"
HEADER = "# yaml-language-server: $schema=../../kbtools/schemas/{}.schema.json\n"

BASE: dict[str, dict[str, Any]] = {
    "kb/model_cards/alpha.yaml": {
        "id": "alpha", "name": "Alpha", "status": "complete", "modality": "genomics",
        "domain": "genetics", "summary": "A DNA language model used for gene embeddings.",
        "repo": "https://github.com/example/alpha",
        "license": {"code": "MIT", "weights": "CC-BY-4.0"},
        "datasets": ["cohort"], "papers": ["alpha_2024"],
        "integrations": {"strategies": ["gene_pca"]},
        "verified": False, "last_updated": "2026-11-01",
        "verification": {"sources": ["https://arxiv.org/abs/2403.03234 (abstract)"],
                         "notes": "checked the name"},
    },
    "kb/model_cards/beta.yaml": {
        "id": "beta", "name": "Beta", "status": "complete", "modality": ["smri", "fmri"],
        "domain": "brain", "summary": "A brain imaging model.", "papers": [],
        "verified": True, "last_updated": "2026-10-01",
        "verification": {"by": "kb-maintainer", "date": "2026-10-01"},
    },
    "kb/paper_cards/alpha_2024.yaml": {
        "id": "alpha_2024", "title": "Alpha: a DNA model", "status": "complete", "year": 2024,
        "doi": "10.1234/alpha.2024", "url": "https://example.org/alpha",
        "pdf": "docs/papers/alpha.pdf", "summary_md_path": "docs/papers/alpha.md",
        "summary": "Introduces the Alpha model.", "models": ["alpha"], "datasets": ["cohort"],
        "verified": False, "last_updated": "2026-11-01",
    },
    "kb/datasets/cohort.yaml": {
        "id": "cohort", "name": "Synthetic cohort", "status": "complete",
        "description": "Generated subjects with planted effects.",
        "access": {"level": "synthetic"}, "governance": {"classification": "synthetic"},
        "storage": {"tables": {"subjects": {"path": "data/subjects.csv", "format": "csv"},
                               "genes": {"path": "/data/elsewhere/genes.parquet"}}},
        "models": ["alpha"], "papers": ["alpha_2024"],
        "integrations": {"embedding_strategies": ["gene_pca"],
                         "harmonization_methods": ["combat"]},
        "verified": False, "last_updated": "2026-11-01",
    },
    "kb/registries/embedding_strategies.yaml": {
        "id": "embedding_strategies", "registry": "embedding_strategies", "status": "complete",
        "entries": [{"id": "gene_pca", "description": "Gene embeddings, PCA to 512.",
                     "models": ["alpha"], "datasets": ["cohort"]},
                    {"id": "fusion", "description": "Concatenation.", "inputs": ["gene_pca"]}],
        "verified": False, "last_updated": "2026-11-01",
    },
    "kb/registries/harmonization_methods.yaml": {
        "id": "harmonization_methods", "registry": "harmonization_methods",
        "status": "complete",
        "entries": [{"id": "combat", "description": "ComBat."},
                    {"id": "none_baseline", "description": "No harmonization."}],
        "verified": False, "last_updated": "2026-11-01",
    },
    "configs/experiments/exp_cca.yaml": {
        "id": "exp_cca", "name": "CCA", "status": "complete", "method": "cca_permutation",
        "data": {"subjects": {"dataset": "cohort", "table": "subjects"}},
        "embedding_strategies": {"gene": "gene_pca"}, "harmonization": "combat",
        "papers": ["alpha_2024"], "models": ["alpha"], "seed": 1,
        "verified": False, "last_updated": "2026-11-01",
    },
    f"kb/runs/{RUN_ID}/run.yaml": {
        "id": RUN_ID, "experiment": "exp_cca", "run_status": "completed",
        "started": "2026-11-01T12:00:00Z", "config_sha256": "a" * 64, "datasets": ["cohort"],
    },
    f"kb/runs/{RUN_ID}/metrics.yaml": {"id": RUN_ID, "method": "cca_permutation"},
}
SCHEMAS = {"model_cards": "model_card", "paper_cards": "paper_card", "datasets": "dataset_card",
           "registries": "integration_registry", "experiments": "experiment_config"}


class KB:
    """A KB folder with helpers to write and break documents."""

    def __init__(self, root: Path):
        self.root = root
        self.docs = copy.deepcopy(BASE)
        for rel, data in self.docs.items():
            self.write(rel, data)
        for rel in ("data/subjects.csv", "docs/papers/alpha.pdf", "docs/papers/alpha.md"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text("x\n")
        (root / "mkdocs.yml").write_text("site_name: test\n")

    def path(self, rel: str) -> Path:
        return self.root / rel

    def write(self, rel: str, data: Any) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str | bytes):
            text = data
        else:
            folder = Path(rel).parent.name
            header = HEADER.format(SCHEMAS[folder]) if folder in SCHEMAS else ""
            text = header + dump(data)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def edit(self, rel: str, change: Callable[[dict[str, Any]], None]) -> Path:
        data = copy.deepcopy(self.docs[rel])
        change(data)
        return self.write(rel, data)
