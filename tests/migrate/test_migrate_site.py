"""`mkdocs build --strict` on the migrated fixture KB: it builds, and the card pages show the
migrated fields and the KB's own (extension) fields."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.schemas.extensions import card_extension_values
from kbtools.yamlio import load_file

from .audit import MKDOCS_YML, commit_all

FIXTURE = Path(__file__).parent / "predecessor_kb"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site") / "kb_repo"
    shutil.copytree(FIXTURE, root)
    commit_all(root)
    assert main(["migrate", "--write", "--no-diff", "--kb-root", str(root)]) == 0
    (root / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "index.md").write_text("# Migrated KB\n", encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=root,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root


def page_text(site: Path, rel: str) -> str:
    raw = (site / "site" / rel).read_text(encoding="utf-8")
    body = raw[raw.find("<article"):raw.find("</article>")]
    body = body.replace("<wbr>", "")  # a line-break opportunity, not a space
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def test_card_pages_show_migrated_fields(site: Path) -> None:
    helix = page_text(site, "registry/models/helixlm/index.html")
    assert "Modality genomics" in helix and "Domain genetics" in helix
    assert "Parameters 650M" in helix  # from arch.parameters "111M / 650M"
    assert "HelixLM: long-context DNA language modelling" in helix  # paper linked back
    paper = page_text(site, "registry/papers/codonbert_2023/index.html")
    assert "2023" in paper and "CodonBERT-X" in paper
    dataset = page_text(site, "registry/datasets/adult_fmri_tensor/index.html")
    assert "restricted" in dataset


def test_every_plan_has_a_page_and_is_listed(site: Path) -> None:
    """Plans with status planning or template are on the dashboard and have a page saying
    they are plans; template cards of other kinds are named on the registry index."""
    board = page_text(site, "registry/experiments/index.html")
    for path in sorted((site / "configs" / "experiments").glob("*.yaml")):
        config = load_file(path)
        assert config["name"] in board, path.name
        page = page_text(site, f"registry/experiments/{path.stem}/index.html")
        if config["status"] in ("planning", "template"):
            assert f"A plan, not a finished config (status: {config['status']})" in page
            if config.get("method"):
                assert f"kbtools run-experiment configs/experiments/{path.name} --dry-run" \
                    in page
    assert "planning" in board and "template" in board
    index = page_text(site, "registry/index.html")
    assert "have no page" in index and "kb/datasets/followup_visit.yaml" in index
    assert "kb/model_cards/template.yaml" not in index  # template files are no cards


def test_every_integration_registry_has_a_page(site: Path) -> None:
    board = page_text(site, "registry/registries/index.html")
    for path in sorted((site / "kb" / "integration_cards").glob("*.yaml")):
        if path.name == "template.yaml":
            continue
        card = load_file(path)
        assert card["name"] in board, path.name
        page = page_text(site, f"registry/registries/{path.stem}/index.html")
        for entry in card["entries"]:
            assert entry["id"] in page
    strategies = page_text(site, "registry/registries/embedding_strategies/index.html")
    assert "gene_fm_pca512_v1, smri_rois_pca512_v1" in strategies  # the fusion's inputs


def test_a_line_starting_with_plus_is_text(site: Path) -> None:
    page = page_text(site, "registry/papers/genomeweaver_2025/index.html")
    assert "+ Context grows to hundreds of thousands of bases." in page
    html_text = (site / "site/registry/papers/genomeweaver_2025/index.html").read_text()
    summary = html_text[html_text.index("Announces a family"):]
    assert "<li>Context grows" not in summary[:600]


def test_extension_values_reach_the_page(site: Path) -> None:
    card = load_file(site / "kb/model_cards/helixlm.yaml")
    values = card_extension_values(site, "model", card)
    assert {v.name for v in values} >= {"how_to_infer", "embedding_recipe", "inference_api"}
    text = page_text(site, "registry/models/helixlm/index.html")
    assert "python -m helixlm.embed --fasta genes.fa" in text


def test_extension_fields_are_shown_as_fields(site: Path) -> None:
    text = page_text(site, "registry/models/helixlm/index.html")
    shown = text.split("Card source")[0]
    assert "python -m helixlm.embed --fasta genes.fa" in shown
    assert "Commands or code that run the model" in shown
