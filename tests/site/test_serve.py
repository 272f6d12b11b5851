"""`mkdocs serve` and `properdocs serve` as a person runs them: edit a card, read the pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def _wait(check: Callable[[], bool], seconds: float, what: str, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"not within {seconds} s: {what}\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("tool", ["mkdocs", "properdocs"])
def test_serve_shows_an_edit_on_every_page_that_lists_it(build_kb, tmp_path: Path,
                                                          tool: str) -> None:
    root = build_kb(tmp_path / "kb")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(BIN / tool), "serve", "-f", "mkdocs.yml", "-a",
                                 f"127.0.0.1:{port}"], cwd=root, env=QUIET, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        card_url = f"{base}/registry/models/genemamba/"
        _wait(lambda: "GeneMamba" in _get(card_url)[1], 180, "the first build", log)
        time.sleep(1.0)  # let the file watchers settle

        card = root / "kb" / "model_cards" / "genemamba.yaml"
        card.write_text(card.read_text().replace("name: GeneMamba", "name: GeneMamba XL"))
        _wait(lambda: "GeneMamba XL" in _get(card_url)[1], 60, "the edited card page", log)
        # every other page that shows the name is current as soon as it is asked for
        for page in ("registry/models/", "registry/papers/", "registry/papers/genemamba_2024/",
                     "registry/experiments/01_toy_cca/", "search/search_index.json"):
            status, text = _get(f"{base}/{page}")
            assert status == 200 and "GeneMamba XL" in text, page

        (root / "kb" / "datasets" / "tiny_clinic.yaml").unlink()
        _wait(lambda: _get(f"{base}/registry/datasets/tiny_clinic/")[0] == 404, 60,
              "the deleted card's page to go", log)
        status, text = _get(f"{base}/registry/datasets/")
        assert status == 200 and "Tiny clinic" not in text and "Toy cohort" in text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "page(s) rebuilt in" in text, text[-3000:]  # the fast path did the work
    assert text.count("Building documentation") == 1, text[-3000:]  # no whole rebuild
