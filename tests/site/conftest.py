"""A small fake KB for the site tests: cards of every kind, two runs and one broken card."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import pytest

from kbtools.yamlio import dump

MKDOCS_YML = """\
site_name: Test KB
docs_dir: docs
strict: true
theme:
  name: material
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - pymdownx.details
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
plugins:
  - search
  - kbtools{options}
nav:
  - Home: index.md
  - Registry:
      - registry/index.md
      - Models: registry/models.md
      - Papers: registry/papers.md
      - Datasets: registry/datasets.md
      - Experiments: registry/experiments.md
      - Runs: registry/runs.md
      - KB health: registry/health.md
"""

COMMON = {"status": "complete", "verified": False, "last_updated": "2026-11-21",
          "verification": {"sources": ["https://example.org/paper"], "notes": "not yet checked"}}


def png_bytes(width: int = 8, height: int = 6) -> bytes:
    """A tiny valid grey PNG."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def write(path: Path, data: object, schema: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = f"# yaml-language-server: $schema=../../kbtools/schemas/{schema}.schema.json\n" \
        if schema else ""
    path.write_text(head + dump(data), encoding="utf-8")
    return path


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_run(root: Path, run_id: str, *, started: str, auc: float, n_test: list[int],
             gene_sha: str, n_components: int, counts: dict | None = None) -> Path:
    folder = root / "kb" / "runs" / run_id
    config = {"id": "01_toy_cca", "method": "cca_permutation",
              "preprocessing": {"pca": {"gene": n_components}}, "seed": 7}
    write(folder / "config_used.yaml", config)
    write(folder / "run.yaml", {
        "id": run_id, "experiment": "01_toy_cca", "method": "cca_permutation",
        "run_status": "completed", "started": started, "finished": started,
        "duration_s": 12.5, "seed": 7, "config_sha256": sha(str(config)),
        "inputs": [{"role": "gene", "dataset": "toy_cohort", "path": "gene.csv",
                    "sha256": gene_sha, "rows": 500},
                   {"role": "brain", "dataset": "toy_cohort", "path": "brain.csv",
                    "sha256": sha("brain"), "rows": 500}],
        "headline": {"rho1": auc, "p_mode1": 0.001},
        "warnings": ["pca capped at rank"],
        "disclosure": {"min_cell_size": 10, "suppressed_counts": 1,
                       "suppressed": ["metrics.yaml counts.n_cases"], "scanned_files": 5,
                       "subject_ids_found": 0},
        "files": ["run.yaml", "metrics.yaml", "null_distribution.png"],
    })
    write(folder / "metrics.yaml", {
        "id": run_id, "method": "cca_permutation",
        "summary": {"rho1": auc, "p_mode1": 0.001, "n_missing": 4},
        "per_fold": [{"fold": i + 1, "n_test": n, "rho1": auc + i / 100} for i, n in
                     enumerate(n_test)],
        "counts": counts or {"n_subjects": 500, "n_cases": "<10", "n_controls": 7},
        "suppressed": ["per_fold[2].rho1", "counts.n_cases"],
    })
    (folder / "null_distribution.png").write_bytes(png_bytes())
    return folder


def make_kb(root: Path, *, options: str = "", broken: bool = True) -> Path:
    """Write a small KB with a site into ``root`` and return it."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "index.md").write_text("# Test KB\n\nHome page.\n", encoding="utf-8")
    if broken and "fail_on_problems" not in options:
        # the broken cards below would fail the strict build; most tests build anyway
        options = ":\n      fail_on_problems: false" + options.removeprefix(":")
    (root / "mkdocs.yml").write_text(MKDOCS_YML.format(options=options), encoding="utf-8")
    kb = root / "kb"
    write(kb / "model_cards" / "genemamba.yaml", {
        "id": "genemamba", "name": "GeneMamba", "modality": "genomics", "domain": "genetics",
        "summary": "A toy DNA language model used by the site tests.",
        "arch": {"type": "Mamba", "num_parameters": 130_000_000},
        "context_length": 131072, "context_unit": "bp",
        "license": {"code": "Apache-2.0", "weights": "Apache-2.0"},
        "papers": ["genemamba_2024"], "datasets": ["toy_cohort"], "tags": ["dna", "ssm"],
        **COMMON}, "model_card")
    write(kb / "model_cards" / "brainvit.yaml", {
        "id": "brainvit", "name": "BrainViT", "modality": ["fmri", "smri"], "domain": "brain",
        "summary": "A toy brain imaging transformer.", "arch": {"num_parameters": 86_000_000},
        "license": {"code": "MIT"}, "papers": ["brainvit_2023"], "tags": ["vit"],
        **{**COMMON, "verified": True,
           "verification": {"by": "kb-maintainer", "date": "2026-11-20",
                            "sources": ["https://example.org/brainvit"]}}}, "model_card")
    write(kb / "paper_cards" / "genemamba_2024.yaml", {
        "id": "genemamba_2024", "title": "GeneMamba: long DNA context", "year": 2024,
        "venue": "ICML", "summary": "Introduces the toy DNA model.", "doi": "10.1234/gm.2024",
        "models": ["genemamba"], **COMMON}, "paper_card")
    write(kb / "paper_cards" / "brainvit_2023.yaml", {
        "id": "brainvit_2023", "title": "BrainViT for fMRI", "year": 2023, "venue": "MICCAI",
        "summary": "Introduces the toy brain model.", "models": ["brainvit"], **COMMON},
        "paper_card")
    write(kb / "datasets" / "toy_cohort.yaml", {
        "id": "toy_cohort", "name": "Toy cohort", "description": "Synthetic subjects.",
        "modalities": ["genomics", "smri"], "access": {"level": "synthetic"},
        "governance": {"classification": "synthetic"}, "counts": {"subjects": 500, "sites": 3},
        "models": ["genemamba"], **COMMON}, "dataset_card")
    write(kb / "datasets" / "tiny_clinic.yaml", {
        "id": "tiny_clinic", "name": "Tiny clinic", "description": "A very small cohort.",
        "modalities": ["clinical"], "access": {"level": "restricted"},
        "governance": {"classification": "restricted"}, "counts": {"subjects": 6},
        **COMMON}, "dataset_card")
    write(kb / "registries" / "embedding_strategies.yaml", {
        "id": "embedding_strategies", "registry": "embedding_strategies",
        "entries": [{"id": "gene_pca", "description": "Gene embeddings, PCA.",
                     "models": ["genemamba"], "datasets": ["toy_cohort"]}],
        **COMMON}, "integration_registry")
    write(root / "configs" / "experiments" / "01_toy_cca.yaml", {
        "id": "01_toy_cca", "name": "Toy gene-brain CCA", "method": "cca_permutation",
        "data": {"subjects": {"dataset": "toy_cohort", "table": "subjects"},
                 "gene": {"dataset": "toy_cohort", "table": "gene"},
                 "brain": {"dataset": "toy_cohort", "table": "smri"}},
        "embedding_strategies": {"gene": "gene_pca"}, "papers": ["brainvit_2023"],
        "outcome": "mdd", "seed": 7, "tags": ["cca"], **COMMON}, "experiment_config")
    make_run(root, "20261120t100000z_01_toy_cca_aaaa", started="2026-11-20T10:00:00Z",
             auc=0.30, n_test=[100, 100, 100], gene_sha=sha("gene-v1"), n_components=16)
    make_run(root, "20261121t100000z_01_toy_cca_bbbb", started="2026-11-21T10:00:00Z",
             auc=0.35, n_test=[100, 8, 100], gene_sha=sha("gene-v2"), n_components=32)
    if broken:
        broken_card = kb / "model_cards" / "brokenmodel.yaml"
        broken_card.write_text("id: brokenmodel\nname: Broken\nmodality: genomics\n"
                               "domain: not-a-domain\nsummary: missing fields\n",
                               encoding="utf-8")
        (kb / "paper_cards" / "unparsable.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    return root


@pytest.fixture
def kb_site(tmp_path: Path) -> Path:
    return make_kb(tmp_path / "site")


@pytest.fixture
def build_kb():
    """The :func:`make_kb` helper, for tests that need options or several KBs."""
    return make_kb
