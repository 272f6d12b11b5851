"""The hostile-card corpus built into a whole site: the HTML holds nothing that could run.

The browser test (test_browser.py) loads the same site in Chromium and waits for dialogs; this
test reads every built page and the search index, so it also runs where no browser is
installed.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest


def build(root: Path) -> Path:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    mkdocs_build(load_config(config_file=str(root / "mkdocs.yml")))
    return root / "site"


@pytest.fixture
def hostile_site(hostile: SimpleNamespace) -> SimpleNamespace:
    hostile.site = build(hostile.root)
    return hostile


def page(site: Path, rel: str) -> str:
    return (site / rel / "index.html").read_text(encoding="utf-8")


def visible_text(markup: str) -> str:
    """The text a reader sees (tags dropped, references decoded, blanks collapsed)."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_no_page_holds_live_markup_from_card_data(hostile_site: SimpleNamespace,
                                                  find_live_markup) -> None:
    pages = sorted(hostile_site.site.rglob("*.html"))
    assert len(pages) > 20
    found = {str(p.relative_to(hostile_site.site)): live for p in pages
             if (live := find_live_markup(p.read_text(encoding="utf-8")))}
    assert found == {}
    # and no script element anywhere mentions a payload's call (not even as its own text)
    for p in pages:
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", p.read_text(), flags=re.S)
        assert not any("alert(" in s for s in scripts), p


@pytest.mark.parametrize("rel", ["registry/models/evil_model", "registry/papers/evil_paper_2025",
                                 "registry/datasets/evil_cohort", "registry/experiments/02_evil",
                                 "registry/runs/20261122t100000z_02_evil_cccc"])
def test_card_pages_show_the_payloads_as_text(hostile_site: SimpleNamespace, rel: str) -> None:
    text = visible_text(page(hostile_site.site, rel))
    # the name/title is shown as written, every payload included
    for name, payload in hostile_site.payloads.items():
        if "\n" in payload:
            continue
        assert payload in text or " ".join(payload.split()) in text, name


def test_titles_and_search_index_hold_text_only(hostile_site: SimpleNamespace) -> None:
    site = hostile_site.site
    for path in site.rglob("*.html"):
        markup = path.read_text(encoding="utf-8")
        title = re.search(r"<title>(.*?)</title>", markup, flags=re.S)
        assert title and "<" not in title[1], path
    summary = page(site, "papers-md/evil_paper_2025")
    title = re.search(r"<title>(.*?)</title>", summary, flags=re.S)[1]
    assert html.unescape(title).startswith(hostile_site.pdf_title)
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        assert "<script" not in doc["title"] and "<img" not in doc["title"], doc["location"]


def test_lineage_diagram_has_only_nodes_and_edges(hostile_site: SimpleNamespace) -> None:
    markup = page(hostile_site.site, "registry/experiments/02_evil")
    source = html.unescape(re.search(r'<pre class="mermaid"><code>(.*?)</code></pre>', markup,
                                     flags=re.S)[1])
    grammar = re.compile(r'(---|config:|flowchart:|(nodeSpacing|rankSpacing|padding): \d+'
                         r'|flowchart LR|\w+\["[^"\n%`]*"\]'
                         r'|\w+ --> \w+|classDef missing stroke-dasharray: 4 4'
                         r'|class [\w,]+ missing)')
    for line in source.strip().splitlines():
        assert grammar.fullmatch(line.strip()), line


def test_plot_file_names_never_reach_a_page_as_syntax(hostile_site: SimpleNamespace) -> None:
    folder = hostile_site.site / "registry" / "runs" / hostile_site.run
    copied = sorted(p.name for p in folder.glob("*.png"))
    assert len(copied) == len(hostile_site.plot_names) + 1
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+\.png", name) for name in copied)
    markup = page(hostile_site.site, f"registry/runs/{hostile_site.run}")
    figures = markup.split('class="kb-figures', 1)[1].split('id="run-details"', 1)[0]
    images = re.findall(r"<img ([^>]*)>", figures)
    sources = sorted(re.search(r'src="([^"]+)"', i)[1] for i in images)
    assert sources == copied
    alts = {html.unescape(re.search(r'alt="([^"]*)"', i)[1]).removesuffix(".") for i in images}
    # unknown figures are captioned with their original names, shown as text
    assert {name.removesuffix(".png") for name in hostile_site.plot_names} <= alts


def test_health_page_lists_the_hostile_file_name_as_text(hostile_site: SimpleNamespace) -> None:
    text = visible_text(page(hostile_site.site, "registry/health"))
    assert f"kb/model_cards/{hostile_site.hostile_file}" in text
    assert "text.unsafe-markup" in text
