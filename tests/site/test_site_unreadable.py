"""A card whose YAML does not parse keeps its page (showing where and how to fix it) and its row
on its dashboard, flagged; whatever the card kind, whatever the mistake, wherever it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.site.render import generate
from kbtools.yamlio import YAMLLoadError, loads

RUN = "20261121t100000z_01_toy_cca_bbbb"
#: card file -> (its page, its dashboard)
CARDS = {
    "kb/model_cards/genemamba.yaml": ("registry/models/genemamba.md", "registry/models.md"),
    "kb/paper_cards/genemamba_2024.yaml": ("registry/papers/genemamba_2024.md",
                                           "registry/papers.md"),
    "kb/datasets/toy_cohort.yaml": ("registry/datasets/toy_cohort.md", "registry/datasets.md"),
    "configs/experiments/01_toy_cca.yaml": ("registry/experiments/01_toy_cca.md",
                                            "registry/experiments.md"),
    f"kb/runs/{RUN}/run.yaml": (f"registry/runs/{RUN}.md", "registry/runs.md"),
}
#: Mistakes people make in YAML, each as a line that breaks the document where it is put.
MISTAKES = [
    "notes: Results: good",            # an unquoted ': ' inside a value
    'notes: "an unclosed quote',
    "tags: [unclosed, list",
    "notes: {a: 1",
    "\tnotes: a tab",
    "notes: @handle",
    "notes: *alias",
    "  - stray: list item",
    " misindented: key",
    "notes: !!python/object:os.system x",
]


def _break(text: str, mistake: str, where: float) -> str:
    lines = text.splitlines()
    at = max(1, min(len(lines), int(where * len(lines))))  # after the first line
    lines.insert(at, mistake)
    return "\n".join(lines) + "\n"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(card=st.sampled_from(sorted(CARDS)), mistake=st.sampled_from(MISTAKES),
       where=st.floats(min_value=0.0, max_value=1.0))
def test_a_card_that_does_not_parse_keeps_its_page_and_its_row(kb_site: Path, card: str,
                                                               mistake: str, where: float
                                                               ) -> None:
    path = kb_site / card
    original = path.read_text(encoding="utf-8")
    broken = _break(original, mistake, where)
    try:
        loads(broken)
    except YAMLLoadError as exc:
        error = exc
    else:
        return  # this mistake happens to be valid YAML at this place
    path.write_text(broken, encoding="utf-8")
    try:
        pages = generate(kb_site, validate=False).pages
    finally:
        path.write_text(original, encoding="utf-8")
    page_path, dashboard = CARDS[card]
    page = pages[page_path]
    # the problem, where its content was: file, line, column, message and fix
    assert "cannot be read: its YAML does not parse" in page
    where_text = f"<code>{card}</code>"
    if error.line:
        where_text += f", line {error.line}"
        if error.column:
            where_text += f", column {error.column}"
    assert where_text + ":**" in page, page
    assert "**Fix:** " in page and error.rule
    if error.line:  # the lines around it, the failing one marked
        excerpt = page.split("<pre><code", 1)[1].split("</code></pre>", 1)[0]
        assert re.search(rf"&gt;\s*{error.line} &#124; ", excerpt), excerpt
    # still on its dashboard, flagged, linking the page
    link = page_path.removeprefix("registry/")
    row = next((line for line in pages[dashboard].splitlines() if f"]({link})" in line
                or f"]({link.split('/', 1)[1]})" in line), None)
    assert row is not None and "⚠ *YAML error*" in row, (dashboard, link)
    # and on the health page, linked to the card's page
    health_row = next(line for line in pages["registry/health.md"].splitlines()
                      if f"]({link})" in line)
    # the whole document: no JSON path ("$") to show in the Where column
    assert re.search(r"\| <code>yaml[^|]*</code> \| – \|", health_row), health_row


def test_the_page_comes_back_when_the_card_parses_again(kb_site: Path) -> None:
    card = kb_site / "kb" / "model_cards" / "genemamba.yaml"
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("name: GeneMamba", "name: GeneMamba: big"), encoding="utf-8")
    page = generate(kb_site, validate=False).pages["registry/models/genemamba.md"]
    assert "# GeneMamba: big" in page  # the name, read from the card's text
    assert "cannot be read" in page and "must be quoted" in page
    card.write_text(text, encoding="utf-8")
    page = generate(kb_site, validate=False).pages["registry/models/genemamba.md"]
    assert "cannot be read" not in page and "131,072 bp" in page


def test_a_document_that_is_not_a_mapping_keeps_its_page(kb_site: Path) -> None:
    card = kb_site / "kb" / "datasets" / "toy_cohort.yaml"
    card.write_text("- just\n- a list\n", encoding="utf-8")
    pages = generate(kb_site, validate=False).pages
    assert "not a YAML mapping" in pages["registry/datasets/toy_cohort.md"]
    assert "⚠ *YAML error*" in pages["registry/datasets.md"]


@pytest.mark.parametrize("text,fix", [
    ("name: a: b\n", "must be quoted"),
    ("id: [unclosed\n", "close the list"),
    ('a: "x\n', "close the quote"),
    ('a: "\\q"\n', "backslash"),
    ("a: @x\n", "quote the value"),
    ("a:\n  b: 1\n c: 2\n", "indent this line"),
])
def test_syntax_errors_say_how_to_fix_them(text: str, fix: str) -> None:
    with pytest.raises(YAMLLoadError) as caught:
        loads(text)
    assert fix in (caught.value.hint or "") and caught.value.line and caught.value.column
