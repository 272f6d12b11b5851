"""The generated markdown: one page per card, two-way links, lineage, comparison, health."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kbtools.site.render import generate

RUN_A = "20261120t100000z_01_toy_cca_aaaa"
RUN_B = "20261121t100000z_01_toy_cca_bbbb"


@pytest.fixture
def pages(kb_site: Path) -> dict[str, str]:
    return generate(kb_site).pages


def links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_a_page_for_every_card_and_dashboard(pages: dict[str, str]) -> None:
    expected = {
        "registry/index.md", "registry/models.md", "registry/papers.md",
        "registry/datasets.md", "registry/registries.md", "registry/experiments.md",
        "registry/runs.md", "registry/health.md", "registry/registries/embedding_strategies.md",
        "registry/models/genemamba.md", "registry/models/brainvit.md",
        "registry/models/brokenmodel.md",
        "registry/papers/genemamba_2024.md", "registry/papers/brainvit_2023.md",
        "registry/papers/unparsable.md",  # it does not parse: its page says why
        "registry/datasets/toy_cohort.md", "registry/datasets/tiny_clinic.md",
        "registry/experiments/01_toy_cca.md", "registry/experiments/01_toy_cca-compare.md",
        f"registry/runs/{RUN_A}.md", f"registry/runs/{RUN_B}.md",
    }
    assert set(pages) == expected
    assert pages["registry/models/genemamba.md"].startswith('---\ntitle: "GeneMamba"\n---\n')
    assert "\n# GeneMamba\n" in pages["registry/models/genemamba.md"]
    assert "131,072 bp" in pages["registry/models/genemamba.md"]


def test_every_relative_link_points_at_a_generated_page(pages: dict[str, str]) -> None:
    import posixpath

    for path, text in pages.items():
        for target in links(text):
            if target.startswith(("http", "?", "#")) or target.endswith(".png"):
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            assert resolved in pages, f"{path} links to missing {target}"


@pytest.mark.parametrize(("a", "b"), [
    ("models/genemamba", "papers/genemamba_2024"),
    ("models/genemamba", "datasets/toy_cohort"),
    ("models/genemamba", "experiments/01_toy_cca"),
    ("papers/brainvit_2023", "experiments/01_toy_cca"),
    ("datasets/toy_cohort", "experiments/01_toy_cca"),
    ("experiments/01_toy_cca", f"runs/{RUN_A}"),
    ("models/genemamba", f"runs/{RUN_B}"),
    ("papers/genemamba_2024", "models/genemamba"),
])
def test_cross_links_go_both_ways(pages: dict[str, str], a: str, b: str) -> None:
    page_a, page_b = pages[f"registry/{a}.md"], pages[f"registry/{b}.md"]
    rel = "../" + b + ".md"
    back = "../" + a + ".md"
    assert rel in links(page_a), f"{a} does not link to {b}"
    assert back in links(page_b), f"{b} does not link back to {a}"


def test_model_linked_only_from_the_paper_side_still_links_back(kb_site: Path) -> None:
    card = kb_site / "kb" / "model_cards" / "brainvit.yaml"
    card.write_text(card.read_text().replace("papers:\n- brainvit_2023\n", ""))
    pages = generate(kb_site).pages
    assert "../papers/brainvit_2023.md" in links(pages["registry/models/brainvit.md"])


def test_lineage_diagram_runs_papers_to_runs(pages: dict[str, str]) -> None:
    text = pages["registry/experiments/01_toy_cca.md"]
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    # compact spacing in the diagram's own config (it draws the same under any mermaid loader)
    assert diagram.startswith("\n---\nconfig:\n  flowchart:\n") and "\nflowchart LR\n" in diagram
    nodes = dict(re.findall(r"^\s+(\w+)\[\"([^\"]+)\"\]", diagram, re.M))
    # labels wrap in lines of at most 18 characters, so the diagram stays narrow
    assert all(len(line) <= 18 for label in nodes.values() for line in label.split("<br>"))
    by_label = {re.sub(r"(?<=[_/-])<br>", "", label).replace("<br>", " "): node
                for node, label in nodes.items()}
    edges = set(re.findall(r"^\s+(\w+) --> (\w+)$", diagram, re.M))
    paper, model = by_label["GeneMamba: long DNA context"], by_label["GeneMamba"]
    dataset, config = by_label["Toy cohort"], by_label["01_toy_cca"]
    runs = [n for label, n in by_label.items() if label.startswith("2026-11-2")]
    assert len(runs) == 2
    assert {(paper, model), (model, dataset), (dataset, config)} <= edges
    assert {(config, run) for run in runs} <= edges
    # a paper cited by the config but with no model in the experiment joins the config directly
    assert (by_label["BrainViT for fMRI"], config) in edges


def test_comparison_page_shows_headline_and_what_differs(pages: dict[str, str]) -> None:
    text = pages["registry/experiments/01_toy_cca-compare.md"]
    rho = next(line for line in text.splitlines() if line.startswith("| rho1 |"))
    assert rho == "| rho1 | 0.3 | 0.35 |"  # runs as columns, oldest first
    assert f'data-runs="{RUN_A} {RUN_B}" data-shown="{RUN_A} {RUN_B}"' in text
    settings = text.split("## Settings that differ", 1)[1].split("## Inputs", 1)[0]
    assert re.search(r"<code>preprocessing\.pca\.gene</code> \| 16 \| 32 \|", settings)
    inputs = text.split("## Inputs that differ", 1)[1]
    assert "<code>gene.sha256</code>" in inputs and "brain.sha256" not in inputs
    assert "<code>seed</code>" not in settings


def test_run_page_has_results_figures_and_folded_metrics(pages: dict[str, str]) -> None:
    text = pages[f"registry/runs/{RUN_B}.md"]
    assert re.search(rf"!\[Permutation null distribution[^\]]*\]\({RUN_B}/null_distribution"
                     r"\.png\)\n\*Figure 1\. Permutation null", text)
    folded = text.split('<details class="kb-fold kb-all-metrics">', 1)[1].split("</details>")[0]
    folds = folded.split("<strong>Per fold</strong>", 1)[1].split("</table>", 1)[0]
    assert "<th>Metric</th><th>1</th><th>2</th><th>3</th>" in folds  # folds as columns
    assert "<tr><td>n_<wbr>test</td><td>100</td><td>&lt;10</td><td>100</td></tr>" in folds
    # fold 2 is built from 8 subjects; fold 3's rho1 is listed in metrics.yaml: suppressed
    assert "<tr><td>rho1</td><td>0.35</td><td>suppressed</td><td>suppressed</td></tr>" in folds
    assert "<tr><td>n_<wbr>subjects</td><td>500</td></tr>" in folded
    assert "<tr><td>n_<wbr>missing</td><td>&lt;10</td></tr>" in folded  # a small subgroup count
    assert "<tr><td>n_<wbr>controls</td><td>&lt;10</td></tr>" in folded  # 7: suppressed by the site
    for small in ("8", "4", "7"):  # n_test of fold 2, n_missing in summary, n_controls
        assert f"<td>{small}</td>" not in folded


def test_small_dataset_and_small_run_are_not_shown(build_kb, tmp_path: Path) -> None:
    root = build_kb(tmp_path / "kb2", broken=False)
    make_run = build_kb.__globals__["make_run"]  # the site conftest's helper
    make_run(root, "20261122t100000z_01_toy_cca_cccc", started="2026-11-22T10:00:00Z",
             auc=0.9, n_test=[3, 3], gene_sha="0" * 64, n_components=8,
             counts={"n_subjects": 6})
    pages = generate(root).pages
    assert "| [Tiny clinic](datasets/tiny_clinic.md) |" in pages["registry/datasets.md"]
    row = next(line for line in pages["registry/datasets.md"].splitlines()
               if "Tiny clinic" in line)
    assert "&lt;10" in row and "| 6 |" not in row
    run = pages["registry/runs/20261122t100000z_01_toy_cca_cccc.md"]
    assert "0.9" not in run
    dashboard_row = next(line for line in pages["registry/runs.md"].splitlines()
                         if "cccc" in line)
    assert "rho1 = suppressed" in dashboard_row


def test_dashboards_count_and_group(pages: dict[str, str]) -> None:
    models = pages["registry/models.md"]
    assert "3 model cards, 1 verified" in models
    assert "[genomics](?modality=genomics) (2)" in models
    assert '<div class="kb-filter" data-facets="Modality,Domain,Tags,Verified"></div>' in models
    experiments = pages["registry/experiments.md"]
    row = next(line for line in experiments.splitlines() if "01_toy_cca.md" in line)
    assert f"runs/{RUN_B}.md" in row and "rho1 = 0.35" in row and "| 2 |" in row
    runs = pages["registry/runs.md"]
    assert runs.index(RUN_B) < runs.index(RUN_A)  # newest first
    assert "2 runs, newest first: 2 completed, 0 failed" in runs


def test_health_page_lists_broken_cards_and_banner_marks_them(pages: dict[str, str]) -> None:
    health = pages["registry/health.md"]
    assert "[kb/<wbr>model_<wbr>cards/<wbr>brokenmodel.yaml](models/brokenmodel.md)" in health
    assert ("[kb/<wbr>paper_<wbr>cards/<wbr>unparsable.yaml](papers/unparsable.md) | 2 | error | "
            "<code>yaml.syntax</code>" in health)
    assert "not-a-domain" in health
    broken = pages["registry/models/brokenmodel.md"]
    assert '!!! warning "This card has' in broken
    assert "validation problem" not in pages["registry/models/genemamba.md"]
    assert "| [Broken](models/brokenmodel.md) ⚠ |" in pages["registry/models.md"]


def test_card_text_cannot_inject_html_or_break_tables(kb_site: Path) -> None:
    card = kb_site / "kb" / "model_cards" / "genemamba.yaml"
    card.write_text(card.read_text().replace(
        "name: GeneMamba", "name: 'Gene|Mamba <script>alert(1)</script>'"))
    pages = generate(kb_site).pages
    outside_code = re.sub(r"```.*?```", "", "".join(pages.values()), flags=re.S)
    assert "<script>" not in outside_code
    assert "Gene&#124;Mamba &lt;script&gt;" in pages["registry/models.md"]


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_site_templates_override_the_shipped_ones(kb_site: Path, tmp_path: Path,
                                                  where: str) -> None:
    overrides = (kb_site if where == "inside" else tmp_path) / "overrides"
    overrides.mkdir()
    (overrides / "paper.md.j2").write_text(
        "# Paper {{ card.id }} ({{ data.year|label }}, {{ models|length * 12345 }})\n\n"
        "{% for m in models %}{{ m.title }}{% endfor %}\n")
    pages = generate(kb_site, templates_dir=overrides).pages
    paper = pages["registry/papers/genemamba_2024.md"].split()
    if where == "inside":
        assert paper == ["#", "Paper", "genemamba_2024", "(2024,", "12,345)", "GeneMamba"]
    else:  # templates outside the KB are not read: the shipped one is used
        assert "Paper" not in paper and "GeneMamba: long DNA context" in " ".join(paper)
    assert "\n# GeneMamba\n" in pages["registry/models/genemamba.md"]  # not overridden


def test_unsafe_file_names_and_hidden_run_folders_get_no_page(kb_site: Path) -> None:
    good = kb_site / "kb" / "model_cards" / "genemamba.yaml"
    (kb_site / "kb" / "model_cards" / "Gene Mamba.yaml").write_text(good.read_text())
    hidden = kb_site / "kb" / "runs" / ".tmp-unfinished"
    hidden.mkdir()
    (hidden / "run.yaml").write_text("id: half\n")
    pages = generate(kb_site).pages
    assert not any("Gene Mamba" in path or "half" in path for path in pages)
    assert "kb/model_cards/Gene Mamba.yaml" in pages["registry/health.md"]


def test_cache_reparses_only_changed_files(kb_site: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtools.site import catalog

    cache = tmp_path / "cache"
    first = generate(kb_site, cache_dir=cache)
    parsed: list[str] = []
    real = catalog.load_file

    def counting(path: Path):
        parsed.append(path.name)
        return real(path)

    monkeypatch.setattr(catalog, "load_file", counting)
    second = generate(kb_site, cache_dir=cache)
    assert second.pages == first.pages
    assert parsed == []  # nothing changed: the previous pages are reused without loading
    assert second.unchanged == set(first.pages)
    card = kb_site / "kb" / "datasets" / "toy_cohort.yaml"
    card.write_text(card.read_text().replace("name: Toy cohort", "name: Toy cohort v2"))
    parsed.clear()
    third = generate(kb_site, cache_dir=cache)
    assert sorted(parsed) == ["toy_cohort.yaml", "unparsable.yaml"]
    assert "Toy cohort v2" in third.pages["registry/datasets/toy_cohort.md"]
    assert "Toy cohort v2" in third.pages["registry/models/genemamba.md"]  # linked title
    assert "registry/papers/brainvit_2023.md" in third.unchanged
    assert third.pages == generate(kb_site).pages  # same as an uncached build


def test_long_tag_clouds_are_folded(kb_site: Path) -> None:
    card = kb_site / "kb" / "model_cards" / "genemamba.yaml"
    tags = [f"tag-{i:02d}" for i in range(80)]
    card.write_text(card.read_text().replace("- dna\n- ssm\n", "".join(f"- {t}\n" for t in tags)))
    text = generate(kb_site).pages["registry/models.md"]
    line = next(line for line in text.splitlines() if line.startswith("**By tag:**"))
    assert line.count("](?tags=") == 12 and line.endswith("…")
    folded = text.split('<details class="kb-fold kb-facets">', 1)[1].split("</details>", 1)[0]
    assert "<summary>All 81 tags</summary>" in folded  # 80 + brainvit's own tag
    assert folded.count('<a href="?tags=') == 81
