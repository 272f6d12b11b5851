"""Lineage diagrams render in headless Chromium with every non-local request refused.

Material for MkDocs fetches mermaid from a CDN unless the page already has it; the plugin
publishes a vendored copy, so the diagram must become an SVG with no network at all.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbtools.site.assets import MERMAID_SHA256, MERMAID_URI, MERMAID_VERSION, mermaid_path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
#: Material renders diagrams into a closed shadow root; open it so the test can look inside.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, {...init, mode: "open"});
};
"""


def test_vendored_mermaid_is_the_recorded_file() -> None:
    data = mermaid_path().read_bytes()
    assert hashlib.sha256(data).hexdigest() == MERMAID_SHA256
    assert b'globalThis["mermaid"]' in data  # the browser build that defines window.mermaid
    readme = (mermaid_path().parent / "README.md").read_text()
    assert MERMAID_VERSION in readme and MERMAID_SHA256 in readme
    assert "MIT" in (mermaid_path().parent / "LICENSE").read_text()


def _build(root: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(config_file=str(root / "mkdocs.yml")))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@functools.cache
def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (install it with: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def serve_offline(tmp_path: Path) -> Iterator[object]:
    """Serve a built site and open a page in Chromium with all other hosts blocked."""
    import os

    missing = _browser_missing()
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run in CI: {missing}")
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    servers: list[http.server.ThreadingHTTPServer] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)

        def open_page(site: Path, path: str) -> tuple[object, list[str]]:
            handler = functools.partial(_QuietHandler, directory=str(site))
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            servers.append(server)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_address[1]}"
            blocked: list[str] = []

            def route(r) -> None:
                if r.request.url.startswith(base):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", route)
            context.add_init_script(OPEN_SHADOW_ROOTS)
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{base}/{path}")
            return page, blocked

        try:
            yield open_page
        finally:
            browser.close()
            for server in servers:
                server.shutdown()
                server.server_close()


def test_lineage_renders_as_svg_with_the_network_blocked(build_kb, tmp_path: Path,
                                                         serve_offline) -> None:
    from playwright.sync_api import expect

    root = build_kb(tmp_path / "kb")
    _build(root)
    assert (root / "site" / MERMAID_URI).read_bytes() == mermaid_path().read_bytes()
    page, blocked = serve_offline(root / "site", "registry/experiments/01_toy_cca/")
    svg = page.locator("article div.mermaid svg")
    expect(svg).to_have_count(1)
    expect(svg).to_contain_text("Toy cohort")  # a dataset node of the lineage
    expect(svg).to_contain_text("GeneMamba")  # a model node
    assert svg.bounding_box()["width"] > 300
    expect(page.locator("article pre.mermaid")).to_have_count(0)  # no raw source left
    assert not any("mermaid" in url for url in blocked), blocked
    page.screenshot(path=str(tmp_path / "lineage-offline.png"), full_page=True)


def test_without_the_bundled_copy_the_diagram_stays_source_offline(build_kb, tmp_path: Path,
                                                                   serve_offline) -> None:
    """The control: with ``offline_mermaid: false`` Material goes to its CDN and fails."""
    root = build_kb(tmp_path / "kb", options=":\n      offline_mermaid: false")
    _build(root)
    assert not (root / "site" / MERMAID_URI).exists()
    page, blocked = serve_offline(root / "site", "registry/experiments/01_toy_cca/")
    page.wait_for_timeout(1500)
    assert any("mermaid" in url for url in blocked), blocked
    assert page.locator("article div.mermaid svg").count() == 0
    assert "flowchart LR" in page.locator("article").inner_text()
