"""The built site in a real browser: Debian's headless Chromium driven by Playwright.

Skipped (with the reason) when /usr/bin/chromium is missing, except under CI=true, where a
missing browser is a failure: CI installs it with apt (never `playwright install`).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
RUN_A = "20261120t100000z_01_toy_cca_aaaa"


def _require_browser() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} not found (install it with: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run in CI: {missing}")
    if missing:
        pytest.skip(missing)


def _build(root: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(config_file=str(root / "mkdocs.yml")))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free local port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def _offline_tab(base: str, width: int, height: int) -> Iterator[object]:
    """A Chromium tab that may load only what ``base`` serves (the site must work offline:
    anything else, e.g. a CDN, is refused)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(base) else route.abort())
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            browser.close()


@pytest.fixture
def served(kb_site: Path) -> Iterator[tuple[Path, str]]:
    _require_browser()
    _build(kb_site)
    with _serve(kb_site / "site") as base:
        yield kb_site, base


@pytest.fixture
def page(served: tuple[Path, str]) -> Iterator[object]:
    with _offline_tab(served[1], 1400, 900) as tab:
        yield tab


def test_dashboards_links_search_and_edits(served: tuple[Path, str], page, tmp_path: Path
                                            ) -> None:
    from playwright.sync_api import expect

    root, base = served

    # dashboards open and filter by modality
    page.goto(f"{base}/registry/models/")
    table = page.locator("article table").last
    expect(table.locator("tbody tr")).to_have_count(3)
    page.select_option("select[aria-label='Modality']", "fmri")
    expect(page.locator(".kb-filter__count")).to_have_text("1 of 3 shown")
    expect(table.locator("tbody tr:visible")).to_have_count(1)
    expect(table.locator("tbody tr:visible")).to_contain_text("BrainViT")
    page.screenshot(path=str(tmp_path / "models-dashboard.png"), full_page=True)
    page.goto(f"{base}/registry/models/?modality=genomics")
    expect(page.locator(".kb-filter__count")).to_have_text("2 of 3 shown")
    for name in ("papers", "datasets", "experiments", "runs", "health"):
        page.goto(f"{base}/registry/{name}/")
        expect(page.locator("article h1")).to_be_visible()

    # a model to its paper
    page.goto(f"{base}/registry/models/")
    page.locator("article table a", has_text="GeneMamba").first.click()
    expect(page).to_have_url(f"{base}/registry/models/genemamba/")
    page.locator("article a", has_text="GeneMamba: long DNA context").click()
    expect(page).to_have_url(f"{base}/registry/papers/genemamba_2024/")
    expect(page.locator("article h1")).to_have_text("GeneMamba: long DNA context")

    # a run to its experiment
    page.goto(f"{base}/registry/runs/")
    page.locator(f"article table a[href*='{RUN_A}']").click()  # the run, by its date
    expect(page).to_have_url(f"{base}/registry/runs/{RUN_A}/")
    page.locator("article table a", has_text="Toy gene-brain CCA").first.click()
    expect(page).to_have_url(f"{base}/registry/experiments/01_toy_cca/")
    assert "flowchart LR" in page.request.get(page.url).text()  # the lineage diagram

    # the search box finds a card page
    page.goto(f"{base}/")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("BrainViT", delay=30)  # the search reacts to key presses
    result = page.locator(".md-search-result__link[href$='/registry/models/brainvit/']")
    expect(result).to_be_visible()
    result.click()
    expect(page).to_have_url(f"{base}/registry/models/brainvit/")

    # edit a card, rebuild, reload: the change is there
    card = root / "kb" / "model_cards" / "brainvit.yaml"
    card.write_text(card.read_text().replace("name: BrainViT", "name: BrainViT Large"))
    _build(root)
    page.reload()
    expect(page.locator("article h1")).to_have_text("BrainViT Large")
    page.goto(f"{base}/registry/models/")
    expect(page.locator("article table")).to_contain_text("BrainViT Large")


# -- the hostile-card corpus in a real browser -------------------------------------------------

_LIVE_DOM = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
      if (name.startsWith("on")) found.push(`${el.tagName} ${name}`);
      if (["href", "src", "action", "formaction", "xlink:href"].includes(name)
          && /^(javascript|vbscript|data):/.test(value)) {
        found.push(`${el.tagName} ${name}=${value}`);
      }
    }
    if (el.tagName === "SCRIPT" && el.textContent.includes("alert(")) found.push("SCRIPT");
  }
  return found;
}"""


@pytest.fixture
def hostile_served(hostile) -> Iterator[tuple[object, str]]:
    _require_browser()
    _build(hostile.root)
    with _serve(hostile.root / "site") as base:
        yield hostile, base


def test_hostile_cards_run_nothing_in_the_browser(hostile_served, tmp_path: Path) -> None:
    hostile, base = hostile_served
    site = hostile.root / "site"
    urls = sorted(f"{base}/{p.parent.relative_to(site).as_posix()}/".replace("/./", "/")
                  for p in site.rglob("index.html"))
    assert len(urls) > 20
    dialogs: list[str] = []
    live: dict[str, list[str]] = {}
    with _offline_tab(base, 1280, 800) as tab:

        def on_dialog(dialog) -> None:
            dialogs.append(f"{tab.url}: {dialog.type} {dialog.message}")
            dialog.dismiss()

        tab.on("dialog", on_dialog)
        for url in urls:
            tab.goto(url, wait_until="load")
            tab.wait_for_timeout(150)  # let page scripts (filters, search, diagrams) run
            # hover and focus everything, as a reader moving over the page would
            tab.evaluate("""() => { for (const el of document.querySelectorAll(
                "article *")) { for (const t of ["mouseover", "focus", "click"]) {
                if (t === "click" && el.closest("a")) continue;
                el.dispatchEvent(new Event(t, {bubbles: true})); } } }""")
            found = tab.evaluate(_LIVE_DOM)
            if found:
                live[url] = found
        tab.goto(f"{base}/registry/models/evil_model/")
        tab.screenshot(path=str(tmp_path / "hostile-model.png"), full_page=True)
        # the search box shows hostile titles in its results
        box = tab.locator("input.md-search__input")
        box.click()
        box.press_sequentially("javascript", delay=20)
        tab.wait_for_timeout(800)
        found = tab.evaluate(_LIVE_DOM)
        if found:
            live["search"] = found
    assert dialogs == []
    assert live == {}


# -- results first: every method's run page and a comparison page --------------------------------

REPO = Path(__file__).resolve().parents[2]

_FIRST_TABLE_AFTER = """(heading) => {
  const h = document.getElementById(heading);
  if (!h) return null;
  const tables = Array.from(document.querySelectorAll("article table"));
  const t = tables.find((t) => h.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
  if (!t) return null;
  const box = t.getBoundingClientRect();
  const row = t.tBodies[0] && t.tBodies[0].rows[0];
  return {top: box.top, height: box.height, rowBottom: row ? row.getBoundingClientRect().bottom : 0,
          scrollX: window.scrollX, scrollY: window.scrollY};
}"""


def _copy_repo_kb(root: Path) -> list[str]:
    """The shipped KB with two more runs of the CCA experiment; returns every run id."""
    import shutil

    import yaml

    for part in ("kb", "configs", "docs"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    cca = next((root / "kb" / "runs").glob("*_01_cca_gene_smri_*"))
    for n, stamp in enumerate(("20991201-000000", "20991202-000000")):
        run_id = f"{stamp}_01_cca_gene_smri_00000{n}"
        folder = root / "kb" / "runs" / run_id
        shutil.copytree(cca, folder)
        for name in ("run.yaml", "metrics.yaml"):
            data = yaml.safe_load((folder / name).read_text())
            data["id"] = run_id
            if name == "run.yaml":
                data["started"] = f"{stamp[:4]}-12-0{n + 1}T00:00:00Z"
            else:
                data["summary"]["modes"][0]["rho_out_of_sample"]["mean"] += 0.01 * (n + 1)
            (folder / name).write_text(yaml.safe_dump(data, sort_keys=False))
        config = yaml.safe_load((folder / "config_used.yaml").read_text())
        config["params"]["n_permutations"] = 99 + n
        (folder / "config_used.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sorted(p.name for p in (root / "kb" / "runs").iterdir() if p.is_dir())


def test_results_table_is_in_the_first_screen(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _require_browser()
    root = tmp_path / "repo"
    runs = _copy_repo_kb(root)
    _build(root)  # strict, as the repository's mkdocs.yml says
    methods: dict[str, str] = {}
    for run in runs:
        method = run.split("_", 2)[2].rsplit("_", 1)[0]
        methods.setdefault(method, run)
    assert len(methods) == 6
    with _serve(root / "site") as base, _offline_tab(base, 1280, 800) as tab:
        for method, run in sorted(methods.items()):
            tab.goto(f"{base}/registry/runs/{run}/")
            box = tab.evaluate(_FIRST_TABLE_AFTER, "results")
            assert box is not None, method
            # the table starts, and its first row ends, inside the first 1280x800 screen
            assert 0 < box["top"] < 800 and box["rowBottom"] < 800, (method, box)
            tab.screenshot(path=str(tmp_path / f"run-{method}.png"))
            if method == "prediction_baselines":
                # the calibrated table comes first, and no results table scrolls sideways
                assert "AUROC gain" in tab.locator("article table").first.inner_text()
                overflow = tab.evaluate("""() => {
                    const end = document.querySelector("article h2#figures");
                    return Array.from(
                        document.querySelectorAll("article .md-typeset__scrollwrap"))
                      .filter((w) => w.compareDocumentPosition(end)
                                     & Node.DOCUMENT_POSITION_FOLLOWING)
                      .map((w) => w.scrollWidth - w.clientWidth);
                }""")
                assert len(overflow) == 4 and max(overflow) <= 1, overflow

        tab.goto(f"{base}/registry/experiments/01_cca_gene_smri-compare/")
        box = tab.evaluate(_FIRST_TABLE_AFTER, "headline-metrics")
        assert box is not None and 0 < box["top"] < 800 and box["rowBottom"] < 800, box
        table = tab.locator("article table").first
        headers = table.locator("thead th")
        n_runs = sum("_01_cca_gene_smri_" in run for run in runs)
        expect(headers).to_have_count(1 + n_runs)  # the metric and each run
        for i in range(1, n_runs - 1):  # latest vs previous by default
            expect(headers.nth(i)).to_be_hidden()
        expect(headers.nth(n_runs - 1)).to_be_visible()
        expect(headers.nth(n_runs)).to_be_visible()
        # the table fits the page: no sideways scrolling
        assert tab.evaluate("document.documentElement.scrollWidth") <= 1280
        rho1 = table.locator("tbody tr").first
        # the change, to the decimals the values are shown with
        expect(rho1.locator(".kb-delta")).to_have_text(" (+0.010)")
        settings = tab.locator("article table").nth(1)
        permutations = settings.locator("tr", has_text="params.n_permutations")
        expect(permutations).to_be_visible()  # 99 vs 100 differ
        # the default view shows no header-only table: the two latest runs agree on every
        # run detail, and the page says so instead
        empty = tab.evaluate("""() => Array.from(document.querySelectorAll("article table"))
            .filter((t) => t.offsetParent !== null && t.tBodies.length
                    && !Array.from(t.tBodies[0].rows).some((r) => !r.hidden)).length""")
        assert empty == 0
        expect(tab.locator(".kb-compare-same", has_text="agree on method")).to_be_visible()
        pick = tab.locator(".kb-compare input").first
        pick.check()
        expect(headers.nth(1)).to_be_visible()
        expect(rho1.locator(".kb-delta").first).to_be_visible()
        tab.locator(".kb-compare input").nth(2).uncheck()
        tab.screenshot(path=str(tmp_path / "compare.png"), full_page=True)

        # dashboards fit the page: no table needs sideways scrolling to its last column
        for name in ("experiments", "runs", "models", "papers", "datasets"):
            tab.goto(f"{base}/registry/{name}/")
            overflow = tab.evaluate("""() => Array.from(
                document.querySelectorAll("article .md-typeset__scrollwrap"),
                (w) => w.scrollWidth - w.clientWidth)""")
            assert overflow and max(overflow) <= 1, (name, overflow)


def test_no_page_of_a_migrated_kb_scrolls_sideways(tmp_path: Path) -> None:
    """Every page of the predecessor fixture after `kbtools migrate --write` (cards with long
    code lines and paths, registries, plans) fits 1280 px: nothing scrolls sideways, neither
    the page nor a block inside it (the code of a card field wraps in its column)."""
    import shutil
    import sys

    from kbtools.cli import main

    _require_browser()
    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "kb"
    shutil.copytree(repo / "tests/migrate/predecessor_kb", root)
    sys.path.insert(0, str(repo / "tests" / "migrate"))
    try:
        from audit import MKDOCS_YML, commit_all
    finally:
        sys.path.pop(0)
    commit_all(root)
    assert main(["migrate", "--write", "--no-diff", "--kb-root", str(root)]) == 0
    (root / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    (root / "docs" / "index.md").write_text("# Migrated KB\n", encoding="utf-8")
    _build(root)
    pages = sorted(p.parent.relative_to(root / "site").as_posix()
                   for p in (root / "site" / "registry").rglob("index.html"))
    assert any(p.startswith("registry/registries/") for p in pages)
    wide = {}
    with _serve(root / "site") as base, _offline_tab(base, 1280, 900) as tab:
        for rel in pages:
            tab.goto(f"{base}/{rel}/")
            page_width = tab.evaluate("document.documentElement.scrollWidth")
            inner = tab.evaluate("""() => Math.max(0, ...Array.from(document.querySelectorAll(
                "article .kb-fields, article .kb-fields pre, article dl"),
                (e) => e.scrollWidth - e.clientWidth))""")
            if page_width > 1280 or inner > 1:
                wide[rel] = (page_width, inner)
    assert wide == {}


# -- a card broken under `mkdocs serve` ---------------------------------------------------------

def test_a_card_broken_under_mkdocs_serve_keeps_its_page_and_its_row(build_kb, serve_site,
                                                                     tmp_path: Path) -> None:
    """An unquoted colon while the page is open: the page reloads to the problem (no 404), the
    dashboard keeps the card, flagged, and the terminal names file, line, column and fix."""
    from playwright.sync_api import expect

    _require_browser()
    root = build_kb(tmp_path / "kb", broken=False)
    card = root / "kb" / "model_cards" / "genemamba.yaml"
    good = card.read_text()
    with serve_site(root) as server, _offline_tab(server.base, 1280, 900) as tab:
        server.wait(lambda: "GeneMamba" in server.get("registry/models/genemamba/")[1], 180,
                    "the first build")
        tab.goto(f"{server.base}/registry/models/genemamba/")
        expect(tab.locator("article h1")).to_have_text("GeneMamba")
        tab.wait_for_timeout(1000)  # the live-reload script connects; the watchers settle

        card.write_text(good.replace("name: GeneMamba", "name: GeneMamba: large"))
        line = next(i for i, text in enumerate(good.splitlines(), 1)
                    if text.startswith("name: "))
        article = tab.locator("article")
        # the open page reloads by itself and shows the problem where the card was
        expect(article).to_contain_text("cannot be read", timeout=60_000)
        expect(article).to_contain_text(
            f"kb/model_cards/genemamba.yaml, line {line}, column 16:")
        expect(article).to_contain_text("must be quoted")
        expect(tab.locator("article h1")).to_have_text("GeneMamba: large")
        assert "404" not in tab.title()
        tab.screenshot(path=str(tmp_path / "unreadable-card.png"), full_page=True)

        tab.goto(f"{server.base}/registry/models/")
        row = tab.locator("article table tbody tr", has_text="GeneMamba: large")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("YAML error")
        row.locator("a").first.click()
        expect(tab).to_have_url(f"{server.base}/registry/models/genemamba/")
        expect(tab.locator("article")).to_contain_text("cannot be read")

        card.write_text(good)  # fixed: the card's fields are back
        expect(tab.locator("article")).to_contain_text("131,072 bp", timeout=60_000)
    log = server.log.read_text()
    assert (f"kbtools: kb/model_cards/genemamba.yaml:{line}:16: cannot read this card: "
            in log), log[-3000:]
    assert "fix: a value that contains `: ` must be quoted" in log


# -- every page kind readable at 1280 px ----------------------------------------------------------

_OPEN_SHADOWS = """const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, Object.assign({}, init, {mode: "open"}));
};"""  # Material draws diagrams in closed shadow roots: open them so the test can measure

_SMALLEST_TEXT = """() => {
  for (const d of document.querySelectorAll("article details")) d.open = true;
  const out = {text: null, where: "", svg: [], images: [],
               scroll: document.documentElement.scrollWidth,
               wraps: Array.from(document.querySelectorAll("article .md-typeset__scrollwrap"),
                                 (w) => w.scrollWidth - w.clientWidth)};
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden"
      && !el.closest("[hidden], details:not([open]) > :not(summary), .md-skip");
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (out.text === null || size < out.text) {
      out.text = size; out.where = el.tagName + ": " + node.textContent.trim().slice(0, 40);
    }
  }
  for (const host of document.querySelectorAll("article .mermaid")) {
    const svg = host.shadowRoot && host.shadowRoot.querySelector("svg");
    if (!svg) { out.svg.push(null); continue; }
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    let smallest = null;
    for (const el of svg.querySelectorAll("text, foreignObject span, foreignObject p")) {
      if (!el.textContent.trim()) continue;
      const size = parseFloat(getComputedStyle(el).fontSize) * scale;
      if (smallest === null || size < smallest) smallest = size;
    }
    out.svg.push(smallest);
  }
  for (const img of document.querySelectorAll("article img")) {
    out.images.push([img.getAttribute("src"), img.naturalWidth,
                     img.getBoundingClientRect().width]);
  }
  return out;
}"""


def test_every_page_kind_is_readable_at_1280_px(tmp_path: Path) -> None:
    """The smallest text a reader sees is at least 10 px on every page kind at a 1280 px
    window: page text as rendered, figures by the text size each PNG records times its
    displayed over drawn width, lineage diagrams by their SVG text as drawn; and nothing
    scrolls sideways."""
    import posixpath

    from kbtools.experiments.figures import smallest_text_of

    _require_browser()
    root = tmp_path / "repo"
    runs = _copy_repo_kb(root)
    broken = next((root / "kb" / "model_cards").glob("*.yaml"))
    broken.write_text(broken.read_text() + "notes: a: b\n")  # a card that does not parse
    plan = root / "configs" / "experiments" / "07_plan.yaml"  # a plan: its own page kind
    plan.write_text((root / "configs" / "experiments" / "02_prediction_baselines.yaml")
                    .read_text().replace("id: 02_prediction_baselines", "id: 07_plan")
                    .replace("status: complete", "status: planning"))
    (root / "mkdocs.yml").write_text((root / "mkdocs.yml").read_text().replace(
        "  - kbtools\n", "  - kbtools:\n      fail_on_problems: false\n"))
    _build(root)
    site = root / "site"
    pages = ["registry/", *(f"registry/{d}/" for d in ("models", "papers", "datasets",
                                                       "registries", "experiments", "runs",
                                                       "health"))]
    for kind in ("models", "papers", "datasets", "registries"):
        first = sorted(p.name for p in (site / "registry" / kind).iterdir() if p.is_dir())[0]
        pages.append(f"registry/{kind}/{first}/")
    pages.append(f"registry/models/{broken.stem}/")
    pages += [f"registry/experiments/{p.stem}/" for p in (root / "configs" / "experiments")
              .glob("*.yaml")]
    pages.append("registry/experiments/01_cca_gene_smri-compare/")
    pages += [f"registry/runs/{run}/" for run in runs]
    measured: dict[str, dict] = {}
    with _serve(site) as base, _offline_tab(base, 1280, 900) as tab:
        tab.add_init_script(_OPEN_SHADOWS)
        for page in pages:
            tab.goto(f"{base}/{page}", wait_until="load")
            if "experiments/" in page and "compare" not in page and page.count("/") > 2:
                tab.wait_for_function("""() => { const h = document.querySelector(
                    "article .mermaid"); return !h || h.shadowRoot
                    && h.shadowRoot.querySelector("svg"); }""", timeout=30_000)
            tab.wait_for_timeout(200)
            measured[page] = tab.evaluate(_SMALLEST_TEXT)
            if page in ("registry/models/", f"registry/runs/{runs[1]}/",
                        "registry/experiments/02_prediction_baselines/"):
                tab.screenshot(path=str(tmp_path / f"{page.replace('/', '_')}.png"),
                               full_page=True)
    problems = []
    for page, m in measured.items():
        if m["text"] < 10:
            problems.append(f"{page}: text {m['text']} px ({m['where']})")
        if m["scroll"] > 1280 or (m["wraps"] and max(m["wraps"]) > 1):
            problems.append(f"{page}: scrolls sideways ({m['scroll']}, {m['wraps']})")
        for svg in m["svg"]:
            if svg is None or svg < 10:
                problems.append(f"{page}: diagram text {svg} px")
        for src, natural, shown in m["images"]:
            png = site / posixpath.normpath(posixpath.join(page, src))
            smallest = smallest_text_of(png)
            if smallest is None or smallest * shown / natural < 10:
                problems.append(f"{page}: figure {src}: {smallest} px drawn, "
                                f"{natural} px wide shown at {shown:.0f}")
    assert problems == [], "\n".join(problems)
    assert sum(len(m["images"]) for m in measured.values()) >= 10
    assert sum(len(m["svg"]) for m in measured.values()) >= 5
