"""Every link the cards give reaches the pages: lineage, paper files, the KB's own fields."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.site.render import generate
from kbtools.yamlio import dump, load_file

PREDECESSOR = Path(__file__).resolve().parents[1] / "migrate" / "predecessor_kb"


def lineage(page: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Node id -> decoded label, and the edges, of a page's mermaid diagram."""
    source = page.split("```mermaid", 1)[1].split("```", 1)[0]
    # labels wrap over lines (<br>) at spaces or after _ - and /
    labels = {m[1]: re.sub(r"#(\d+);", lambda c: chr(int(c[1])),
                           re.sub(r"(?<=[_/-])<br>", "", m[2]).replace("<br>", " "))
              for m in re.finditer(r"^\s+(\w+)\[\"([^\"]*)\"\]$", source, flags=re.M)}
    edges = set(re.findall(r"^\s+(\w+) --> (\w+)$", source, flags=re.M))
    return labels, edges


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The KB written before kbtools existed, migrated, as a user would have it."""
    root = tmp_path_factory.mktemp("pred") / "kb_repo"
    shutil.copytree(PREDECESSOR, root)
    assert main(["migrate", "--write", "--no-diff", "--kb-root", str(root)]) == 0
    return root


def test_lineage_shows_models_and_strategies_named_anywhere(migrated: Path) -> None:
    pages = generate(migrated, validate=False, docs_dir=migrated / "docs").pages
    labels, edges = lineage(pages["registry/experiments/01_cca_gene_smri.md"])
    by_label = {v: k for k, v in labels.items()}
    # feature_preparation.genetics.model: helixlm (a field of the KB's own) links the model,
    # and the model's paper comes with it
    assert "HelixLM" in by_label
    assert any(label.startswith("HelixLM: long-context") for label in labels.values())
    for strategy in ("gene_fm_pca512_v1", "smri_rois_pca512_v1"):  # named in the same place
        assert (by_label[strategy], by_label["01_cca_gene_smri"]) in edges
    labels, edges = lineage(pages["registry/experiments/10_fusion_escalation.md"])
    by_label = {v: k for k, v in labels.items()}
    fusion = by_label["fusion_concat_gene_brain_v1"]
    assert {(by_label["gene_fm_pca512_v1"], fusion), (by_label["smri_rois_pca512_v1"], fusion),
            (fusion, by_label["10_fusion_escalation"])} <= edges


def test_names_in_own_fields_link_both_ways_but_tags_do_not(kb_site: Path) -> None:
    exp = kb_site / "configs" / "experiments" / "01_toy_cca.yaml"
    data = load_file(exp)
    data["feature_preparation"] = {"gene": {"model": "brainvit"}}
    data["tags"] = ["cca", "genemamba"]  # a tag equal to a model id is not a link
    exp.write_text(dump(data))
    pages = generate(kb_site, validate=False).pages
    assert "[BrainViT](../models/brainvit.md)" in pages["registry/experiments/01_toy_cca.md"]
    assert "[Toy gene-brain CCA](../experiments/01_toy_cca.md)" in pages[
        "registry/models/brainvit.md"]
    # genemamba is linked through the embedding strategy, never through the tag alone
    model_page = pages["registry/models/genemamba.md"]
    data["embedding_strategies"] = {}
    exp.write_text(dump(data))
    assert "01_toy_cca" in model_page
    assert "01_toy_cca" not in generate(kb_site, validate=False).pages[
        "registry/models/genemamba.md"]


def _paper(root: Path, **fields: str) -> None:
    card = root / "kb" / "paper_cards" / "genemamba_2024.yaml"
    data = load_file(card)
    data.update(fields)
    card.write_text(dump(data))


def test_paper_pages_link_the_pdf_and_summary_published_with_the_site(kb_site: Path) -> None:
    docs = kb_site / "docs"
    (docs / "papers").mkdir()
    (docs / "papers" / "genemamba.pdf").write_bytes(b"%PDF-1.4\n")
    (docs / "papers" / "genemamba.md").write_text("# GeneMamba summary\n")
    _paper(kb_site, pdf="docs/papers/genemamba.pdf", summary_md_path="docs/papers/genemamba.md")
    page = generate(kb_site, validate=False, docs_dir=docs).pages[
        "registry/papers/genemamba_2024.md"]
    assert "| PDF | [PDF](../../papers/genemamba.pdf)" in page
    assert "| Summary | [markdown summary](../../papers/genemamba.md)" in page
    # a strict MkDocs build accepts both links (the files are in docs/, so they are published)
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(config_file=str(kb_site / "mkdocs.yml")))
    built = (kb_site / "site" / "registry" / "papers" / "genemamba_2024" / "index.html")
    assert 'href="../../../papers/genemamba.pdf"' in built.read_text()
    assert (kb_site / "site" / "papers" / "genemamba.pdf").is_file()


def test_paper_files_outside_the_site_or_the_kb_are_not_linked(kb_site: Path,
                                                                tmp_path: Path) -> None:
    (kb_site / "papers").mkdir()
    (kb_site / "papers" / "kept.pdf").write_bytes(b"%PDF-1.4\n")
    outside = tmp_path / "secret.md"
    outside.write_text("# not part of the KB\n")
    (kb_site / "docs" / "papers").mkdir()
    os.symlink(outside, kb_site / "docs" / "papers" / "linked.md")
    _paper(kb_site, pdf="papers/kept.pdf", summary_md_path="docs/papers/linked.md")
    page = generate(kb_site, validate=False, docs_dir=kb_site / "docs").pages[
        "registry/papers/genemamba_2024.md"]
    assert "| PDF | <code>papers/kept.pdf</code> (in the KB, not published with the site) |" \
        in page
    assert ("| Summary | <code>docs/papers/linked.md</code> (outside the KB: not linked) |"
            in page)
    assert "](../../papers/" not in page


def test_own_fields_and_nested_values_are_shown_readably(kb_site: Path) -> None:
    (kb_site / "kb" / "schemas").mkdir()
    (kb_site / "kb" / "schemas" / "extensions.yaml").write_text(dump({"model": {"properties": {
        "how_to_infer": {"type": "object", "description": "Commands that run the model."},
        "arch": {"properties": {"special_features": {
            "type": "array", "items": {"type": "string"},
            "description": "What sets it apart."}}}}}}))
    card = kb_site / "kb" / "model_cards" / "genemamba.yaml"
    data = load_file(card)
    data["how_to_infer"] = {"cli": "genemamba embed --fasta x.fa",
                            "python": "import genemamba\nmodel = genemamba.load()\n"}
    data["arch"]["special_features"] = ["bidirectional <b>scan</b>", "RC equivariance"]
    data["integrations"] = {"embeddings": [{"level": "gene", "pooling": "mean", "dim": 512},
                                           {"level": "exon", "pooling": "max", "dim": 256}]}
    card.write_text(dump(data))
    page = generate(kb_site, validate=False).pages["registry/models/genemamba.md"]
    more = page.split("## More fields", 1)[1].split("## ", 1)[0]
    assert "how to infer <small>(this KB's field)</small>" in more
    assert "Commands that run the model." in more
    assert "<dt>cli</dt><dd>genemamba embed --fasta x.fa</dd>" in more
    assert "<pre><code>import genemamba" in more  # code keeps its lines
    assert "arch.special features" in more and "What sets it apart." in more
    assert "bidirectional &lt;b&gt;scan&lt;/b&gt;" in more  # values stay text
    # a list of mappings is a table with a column per key
    assert "<th>level</th><th>pooling</th><th>dim</th>" in more
    assert "<td>exon</td><td>max</td><td>256</td>" in more
    # fields the page shows in its own tables are not repeated
    assert "<dt>summary" not in more and "<dt>context length" not in more
