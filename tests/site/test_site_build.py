"""Whole builds: mkdocs --strict with the plugin, ProperDocs, `kbtools render`, rebuilds."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kbtools.cli import main

RUN_B = "20261121t100000z_01_toy_cca_bbbb"
BIN = Path(sys.executable).parent
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def build(root: Path) -> Path:
    """Build the site in-process with ``mkdocs build`` semantics (strict from mkdocs.yml)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    config = load_config(config_file=str(root / "mkdocs.yml"))
    mkdocs_build(config)
    return root / "site"


def test_build_with_a_broken_card(kb_site: Path) -> None:
    """With ``fail_on_problems: false`` (set by the conftest), broken cards still get pages."""
    site = build(kb_site)
    # file paths may wrap at their separators (<wbr>), never mid-word
    health = (site / "registry" / "health" / "index.html").read_text().replace("<wbr>", "")
    assert "kb/model_cards/brokenmodel.yaml" in health and "not-a-domain" in health
    assert "kb/paper_cards/unparsable.yaml" in health
    broken = (site / "registry" / "models" / "brokenmodel" / "index.html").read_text()
    assert "This card has 2 validation problems" in broken
    model = (site / "registry" / "models" / "genemamba" / "index.html").read_text()
    assert 'href="../../papers/genemamba_2024/"' in model
    assert (site / "registry" / "runs" / RUN_B / "null_distribution.png").read_bytes()[:4] \
        == b"\x89PNG"
    run = (site / "registry" / "runs" / RUN_B / "index.html").read_text()
    assert 'src="null_distribution.png"' in run
    assert (site / "assets" / "kbtools" / "kbtools.js").is_file()
    assert 'src="../../../assets/kbtools/kbtools.js"' in model
    experiment = (site / "registry" / "experiments" / "01_toy_cca" / "index.html").read_text()
    diagram = experiment.split('<pre class="mermaid"><code>', 1)[1].split("</code>", 1)[0]
    assert "\nflowchart LR\n" in diagram


def test_card_pages_stay_out_of_the_nav_but_in_search(kb_site: Path) -> None:
    site = build(kb_site)
    dashboard = (site / "registry" / "models" / "index.html").read_text()
    nav = dashboard.split('<nav class="md-nav md-nav--primary"', 1)[1].split("</nav>", 1)[0]
    assert "registry/health/" in nav or "../health/" in nav
    assert "genemamba" not in nav
    index = json.loads((site / "search" / "search_index.json").read_text())
    titles = {doc["location"]: doc["title"] for doc in index["docs"]}
    assert titles["registry/models/genemamba/"] == "GeneMamba"


def test_rebuild_rewrites_only_pages_whose_content_changed(kb_site: Path) -> None:
    build(kb_site)
    pages = kb_site / ".kbtools-cache" / "site" / "pages" / "registry"
    before = {p: p.stat().st_mtime_ns for p in pages.rglob("*.md")}
    card = kb_site / "kb" / "paper_cards" / "brainvit_2023.yaml"
    card.write_text(card.read_text().replace("venue: MICCAI", "venue: MIDL"))
    site = build(kb_site)
    changed = {p.relative_to(pages).as_posix() for p in before
               if p.stat().st_mtime_ns != before[p]}
    assert "papers/brainvit_2023.md" in changed and "papers.md" in changed
    assert "models/genemamba.md" not in changed and f"runs/{RUN_B}.md" not in changed
    assert "MIDL" in (site / "registry" / "papers" / "index.html").read_text()


def test_plugin_options_kb_root_and_templates_dir(build_kb, tmp_path: Path) -> None:
    root = build_kb(tmp_path / "kb", options=":\n      kb_root: ..\n      templates_dir: ../tpl")
    site_dir = root / "website"
    site_dir.mkdir()
    shutil.move(root / "mkdocs.yml", site_dir / "mkdocs.yml")
    shutil.move(root / "docs", site_dir / "docs")
    (root / "tpl").mkdir()
    (root / "tpl" / "dataset.md.j2").write_text("# Dataset {{ card.id }}\n\nOverridden layout.\n")
    site = build(site_dir)
    page = (site_dir / "site" / "registry" / "datasets" / "toy_cohort" / "index.html").read_text()
    assert "Overridden layout." in page
    assert (site / "registry" / "models" / "genemamba" / "index.html").is_file()


def test_template_error_names_the_template(build_kb, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    from mkdocs.exceptions import Abort

    root = build_kb(tmp_path / "kb", options=":\n      templates_dir: tpl")
    (root / "tpl").mkdir()
    (root / "tpl" / "paper.md.j2").write_text("# {{ card.id }\n")
    with pytest.raises(Abort):
        build(root)
    assert "kbtools: template error (paper.md.j2, line 1)" in caplog.text


def test_properdocs_loads_the_plugin(kb_site: Path) -> None:
    done = subprocess.run([str(BIN / "properdocs"), "build", "--strict", "-f", "mkdocs.yml"],
                          cwd=kb_site, capture_output=True, text=True, env=QUIET, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "kbtools: generated" in done.stderr
    assert (kb_site / "site" / "registry" / "models" / "genemamba" / "index.html").is_file()


def test_render_command_writes_the_same_pages(kb_site: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["--kb-root", str(kb_site), "render", "--out", str(out)]) == 0
    assert "21 pages and 2 plots" in capsys.readouterr().out  # the unparsable card too
    page = out / "registry" / "models" / "genemamba.md"
    assert page.read_text().startswith('---\ntitle: "GeneMamba"\n---\n\n# GeneMamba\n')
    assert (out / "registry" / "runs" / RUN_B / "null_distribution.png").is_file()
    assert (out / "assets" / "kbtools" / "kbtools.css").is_file()
    stamp = page.stat().st_mtime_ns
    assert main(["--kb-root", str(kb_site), "render", "--out", str(out)]) == 0
    assert "0 written, 26 unchanged, 0 removed" in capsys.readouterr().out
    assert page.stat().st_mtime_ns == stamp
    (kb_site / "kb" / "model_cards" / "brainvit.yaml").unlink()
    assert main(["--kb-root", str(kb_site), "render", "--out", str(out)]) == 0
    assert not (out / "registry" / "models" / "brainvit.md").exists()


def test_render_refuses_to_overwrite_files_it_did_not_write(kb_site: Path, tmp_path: Path,
                                                            capsys) -> None:
    out = tmp_path / "docs"
    mine = out / "registry" / "models.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("# My hand-written models page\n")
    assert main(["--kb-root", str(kb_site), "render", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "registry/models.md" in err and "--force" in err
    assert mine.read_text() == "# My hand-written models page\n"
    assert not (out / "registry" / "papers.md").exists()
    assert main(["--kb-root", str(kb_site), "render", "--out", str(out), "--force"]) == 0
    assert mine.read_text().startswith("---\nhide:")


def test_rendered_pages_build_with_plain_mkdocs(kb_site: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "docs").mkdir(parents=True)
    (plain / "docs" / "index.md").write_text("# Plain\n")
    assert main(["--kb-root", str(kb_site), "render", "--out", str(plain / "docs")]) == 0
    config = re.sub(r"  - kbtools(:\n(?:      .*\n)*|\n)", "", (kb_site / "mkdocs.yml").read_text())
    assert "kbtools" not in config
    config += ("extra_css: [assets/kbtools/kbtools.css]\n"
               "extra_javascript: [assets/kbtools/kbtools.js, assets/kbtools/mermaid.min.js]\n"
               "not_in_nav: |\n  /registry/*/\n")
    (plain / "mkdocs.yml").write_text(config)
    site = build(plain)
    assert (site / "registry" / "models" / "genemamba" / "index.html").is_file()
