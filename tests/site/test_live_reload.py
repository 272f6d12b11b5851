"""Fast rebuilds under `mkdocs serve`: after any KB change, the site equals a whole build.

Each test builds a site the way `mkdocs serve` does, changes the KB, lets the fast path
rebuild only the pages it thinks changed, then builds the same KB from scratch into another
folder and compares every HTML page, the search index, the sitemap and the copied files.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from kbtools.site.live import LiveReloader

RUN_A = "20261120t100000z_01_toy_cca_aaaa"
RUN_B = "20261121t100000z_01_toy_cca_bbbb"


class Serve:
    """A site built as `mkdocs serve` builds it, with the fast rebuilder attached."""

    def __init__(self, root: Path):
        from mkdocs.commands.build import build

        self.root = root
        self.site = root / "served"
        config = self._config(self.site)
        self.plugin = config.plugins["kbtools"]
        self.plugin.on_startup(command="serve", dirty=False)
        build(config)
        self.full_builds = 0

        def builder() -> None:
            self.full_builds += 1
            build(self._config(self.site))

        self.reloader = LiveReloader(self.plugin, builder)
        self.reloader.max_share = 1.0  # the test KB is small: an edit changes many of its pages
        self.reloader.snapshot_others()

    def _config(self, site: Path):
        from mkdocs.config import load_config

        return load_config(config_file=str(self.root / "mkdocs.yml"), site_dir=str(site))

    def rebuild(self):
        return self.reloader.rebuild()

    def reference(self) -> Path:
        """The same KB built from scratch (as `mkdocs build`) into another folder."""
        from mkdocs.commands.build import build

        out = self.root / "reference"
        shutil.rmtree(out, ignore_errors=True)
        self.plugin.command = "build"
        try:
            build(self._config(out))
        finally:
            self.plugin.command = "serve"
        return out

    def assert_same_as_whole_build(self) -> None:
        ref = self.reference()
        ours = {p.relative_to(self.site).as_posix() for p in self.site.rglob("*") if p.is_file()
                and not p.name.endswith(".gz")}
        theirs = {p.relative_to(ref).as_posix() for p in ref.rglob("*") if p.is_file()
                  and not p.name.endswith(".gz")}
        assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))
        for rel in sorted(theirs):
            if rel.endswith((".html", ".xml", ".png", ".md", ".css", ".js")):
                assert (self.site / rel).read_bytes() == (ref / rel).read_bytes(), rel

        def docs(site: Path) -> Counter[str]:
            data = json.loads((site / "search" / "search_index.json").read_text())
            return Counter(json.dumps(d, sort_keys=True) for d in data["docs"])

        assert docs(self.site) == docs(ref)

    def close(self) -> None:
        self.plugin.on_shutdown()


@pytest.fixture
def served(build_kb, tmp_path: Path):
    server = Serve(build_kb(tmp_path / "kb"))
    server.helpers = build_kb.__globals__  # the site conftest's writers
    yield server
    server.close()


def _html(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text()


def test_a_name_edit_rebuilds_the_card_first_then_every_page_that_shows_it(served) -> None:
    card = served.root / "kb" / "model_cards" / "genemamba.yaml"
    card.write_text(card.read_text().replace("name: GeneMamba", "name: GeneMamba XL"))
    outcome = served.rebuild()
    assert outcome.kind == "fast" and served.full_builds == 0
    assert outcome.first == ["registry/models/genemamba.md"]
    # the dashboards, the paper that lists it, the dataset and the experiment's lineage
    for page in ("registry/models.md", "registry/papers/genemamba_2024.md",
                 "registry/datasets/toy_cohort.md", "registry/experiments/01_toy_cca.md"):
        assert page in outcome.rest, outcome.rest
    assert "registry/models/brainvit.md" not in outcome.rest
    for page in ("registry/models/genemamba", "registry/models", "registry/papers",
                 "registry/papers/genemamba_2024", "registry/experiments/01_toy_cca"):
        assert "GeneMamba XL" in _html(served.site, page), page
    index = (served.site / "search" / "search_index.json").read_text()
    assert "GeneMamba XL" in index
    served.assert_same_as_whole_build()


def test_nothing_changed_does_nothing(served) -> None:
    before = {p: p.stat().st_mtime_ns for p in served.site.rglob("*.html")}
    outcome = served.rebuild()
    assert outcome.kind == "none" and served.full_builds == 0
    assert before == {p: p.stat().st_mtime_ns for p in served.site.rglob("*.html")}


def test_a_new_card_a_deleted_card_and_a_renamed_card(served) -> None:
    kb = served.root / "kb"
    served.helpers["write"](kb / "paper_cards" / "newpaper_2026.yaml", {
        "id": "newpaper_2026", "title": "A brand new paper", "year": 2026, "venue": "arXiv",
        "summary": "New.", "models": ["brainvit"], "status": "complete", "verified": False,
        "last_updated": "2026-11-21"}, "paper_card")
    outcome = served.rebuild()
    assert outcome.kind == "fast" and "registry/papers/newpaper_2026.md" in outcome.first
    assert "A brand new paper" in _html(served.site, "registry/papers/newpaper_2026")
    assert "A brand new paper" in _html(served.site, "registry/models/brainvit")
    served.assert_same_as_whole_build()

    (kb / "datasets" / "tiny_clinic.yaml").unlink()
    outcome = served.rebuild()
    assert outcome.kind == "fast" and outcome.removed == ["registry/datasets/tiny_clinic.md"]
    assert not (served.site / "registry" / "datasets" / "tiny_clinic").exists()
    served.assert_same_as_whole_build()

    # a rename is a deletion and a new file; references to the old id now dangle
    (kb / "model_cards" / "brainvit.yaml").rename(kb / "model_cards" / "brainvit2.yaml")
    outcome = served.rebuild()
    assert outcome.kind == "fast" and served.full_builds == 0
    assert not (served.site / "registry" / "models" / "brainvit").exists()
    assert (served.site / "registry" / "models" / "brainvit2" / "index.html").is_file()
    served.assert_same_as_whole_build()


def test_a_broken_edit_a_new_run_with_a_plot_and_a_config_edit(served) -> None:
    card = served.root / "kb" / "model_cards" / "genemamba.yaml"
    good = card.read_text()
    card.write_text(good + "arch: [unclosed\n")
    assert served.rebuild().kind == "fast"
    assert "genemamba.yaml" in _html(served.site, "registry/health")
    # the card keeps its page, which says why, and its row on the dashboard, flagged
    assert "cannot be read" in _html(served.site, "registry/models/genemamba")
    assert "YAML error" in _html(served.site, "registry/models")
    served.assert_same_as_whole_build()
    card.write_text(good)
    assert served.rebuild().kind == "fast"
    served.assert_same_as_whole_build()

    served.helpers["make_run"](
        served.root, "20261122t100000z_01_toy_cca_cccc", started="2026-11-22T10:00:00Z",
        auc=0.41, n_test=[100, 100, 100], gene_sha=served.helpers["sha"]("gene-v3"),
        n_components=8)
    outcome = served.rebuild()
    assert outcome.kind == "fast"
    assert (served.site / "registry" / "runs" / "20261122t100000z_01_toy_cca_cccc"
            / "null_distribution.png").is_file()
    served.assert_same_as_whole_build()

    shutil.rmtree(served.root / "kb" / "runs" / RUN_A)
    config = served.root / "configs" / "experiments" / "01_toy_cca.yaml"
    config.write_text(config.read_text().replace("name: Toy gene-brain CCA",
                                                 "name: Toy CCA, renamed"))
    outcome = served.rebuild()
    assert outcome.kind == "fast"
    assert not (served.site / "registry" / "runs" / RUN_A).exists()
    # the experiment's title heads its runs' pages (the runs dashboard shows its id)
    assert "Toy CCA, renamed" in _html(served.site, f"registry/runs/{RUN_B}")
    assert "Toy CCA, renamed" in _html(served.site, "registry/experiments")
    served.assert_same_as_whole_build()


def test_docs_or_config_changes_get_a_whole_build(served) -> None:
    (served.root / "docs" / "index.md").write_text("# Test KB\n\nA new home page.\n")
    assert served.rebuild().kind == "full" and served.full_builds == 1
    assert "A new home page." in (served.site / "index.html").read_text()
    card = served.root / "kb" / "model_cards" / "genemamba.yaml"
    card.write_text(card.read_text().replace("name: GeneMamba", "name: GeneMamba XL"))
    assert served.rebuild().kind == "fast" and served.full_builds == 1
    served.assert_same_as_whole_build()


def test_counts_and_health_rerender_only_the_pages_that_read_them(build_kb,
                                                                 tmp_path: Path) -> None:
    from kbtools.site.generator import SiteGenerator

    root = build_kb(tmp_path / "kb")
    generator = SiteGenerator(root, templates_dir=None, cache_dir=tmp_path / "cache",
                              validate=True, min_cell_size=10)
    generator.run()
    build_kb.__globals__["write"](root / "kb" / "datasets" / "third.yaml", {
        "id": "third", "name": "Third cohort", "description": "Another.",
        "modalities": ["smri"], "access": {"level": "open"}, "counts": {"subjects": 40}},
        "dataset_card")
    generation = generator.run()
    rendered = set(generation.rendered.pages) - generation.rendered.unchanged
    # the index shows the number of datasets and the health page the new card's problems
    assert {"registry/index.md", "registry/health.md", "registry/datasets.md",
            "registry/datasets/third.md"} <= rendered
    # pages that do not read the counts or the health are taken from the memo
    assert "registry/models/genemamba.md" not in rendered
    assert "registry/papers/brainvit_2023.md" not in rendered
