"""`mkdocs serve` and `properdocs serve` as a person runs them: edit a card, read the pages."""

from __future__ import annotations

import time
from pathlib import Path

import pytest


@pytest.mark.parametrize("tool", ["mkdocs", "properdocs"])
def test_serve_shows_an_edit_on_every_page_that_lists_it(build_kb, serve_site, tmp_path: Path,
                                                          tool: str) -> None:
    root = build_kb(tmp_path / "kb")
    with serve_site(root, tool) as server:
        card_url = "registry/models/genemamba/"
        server.wait(lambda: "GeneMamba" in server.get(card_url)[1], 180, "the first build")
        time.sleep(1.0)  # let the file watchers settle

        card = root / "kb" / "model_cards" / "genemamba.yaml"
        card.write_text(card.read_text().replace("name: GeneMamba", "name: GeneMamba XL"))
        server.wait(lambda: "GeneMamba XL" in server.get(card_url)[1], 60,
                    "the edited card page")
        # every other page that shows the name is current as soon as it is asked for
        for page in ("registry/models/", "registry/papers/", "registry/papers/genemamba_2024/",
                     "registry/experiments/01_toy_cca/", "search/search_index.json"):
            status, text = server.get(page)
            assert status == 200 and "GeneMamba XL" in text, page

        (root / "kb" / "datasets" / "tiny_clinic.yaml").unlink()
        server.wait(lambda: server.get("registry/datasets/tiny_clinic/")[0] == 404, 60,
                    "the deleted card's page to go")
        status, text = server.get("registry/datasets/")
        assert status == 200 and "Tiny clinic" not in text and "Toy cohort" in text
    text = server.log.read_text()
    assert "page(s) rebuilt in" in text, text[-3000:]  # the fast path did the work
    assert text.count("Building documentation") == 1, text[-3000:]  # no whole rebuild
