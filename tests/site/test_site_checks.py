"""What a site build says is wrong: KB validation errors under --strict, missing extensions."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mkdocs.exceptions import Abort

from kbtools.site import extensions


def _config(root: Path):
    from mkdocs.config import load_config

    return load_config(config_file=str(root / "mkdocs.yml"))


def build(root: Path) -> None:
    from mkdocs.commands.build import build as mkdocs_build

    mkdocs_build(_config(root))


def test_strict_build_fails_on_kb_errors_and_names_them(build_kb, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    root = build_kb(tmp_path / "kb", options=":\n      fail_on_problems: true")
    with caplog.at_level(logging.INFO), pytest.raises(Abort, match="strict mode"):
        build(root)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("kbtools: kb/model_cards/brokenmodel.yaml:4:")
               and "not-a-domain" in m for m in warnings), warnings
    assert any(m.startswith("kbtools: kb/paper_cards/unparsable.yaml:2:1: ") and "fix: " in m
               for m in warnings), warnings
    assert any("fail_on_problems: false" in m and "kbtools validate" in m for m in warnings)
    # the pages were still written, so the health page can be read
    assert "not-a-domain" in (root / "site" / "registry" / "health" / "index.html").read_text()


def test_problems_are_only_information_when_turned_off_or_serving(
        build_kb, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = build_kb(tmp_path / "kb", options=":\n      fail_on_problems: false")
    with caplog.at_level(logging.INFO):
        build(root)  # strict: true in mkdocs.yml, and no Abort
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "validation problem(s): see registry/health.md" in caplog.text

    caplog.clear()
    served = build_kb(tmp_path / "served", options=":\n      fail_on_problems: true")
    config = _config(served)
    plugin = config.plugins["kbtools"]
    plugin.on_startup(command="serve", dirty=False)
    try:
        from mkdocs.commands.build import build as mkdocs_build

        with caplog.at_level(logging.INFO):
            mkdocs_build(config)  # `mkdocs serve` keeps serving while cards are being fixed
    finally:
        plugin.on_shutdown()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "`mkdocs build --strict` fails until they are fixed" in caplog.text
    # the card that does not parse is named, with where and how to fix it
    assert "kbtools: kb/paper_cards/unparsable.yaml:2:1: cannot read this card: " in caplog.text
    assert "; fix: close the list with" in caplog.text


def test_a_valid_kb_builds_strict_with_the_default(build_kb, tmp_path: Path) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    assert "fail_on_problems" not in (root / "mkdocs.yml").read_text()
    build(root)
    assert (root / "site" / "registry" / "models" / "genemamba" / "index.html").is_file()


MINIMAL_YML = """\
site_name: Minimal
theme:
  name: material
{extensions}plugins:
  - search
  - kbtools:
      fail_on_problems: false
"""


def test_missing_extensions_are_named_with_the_lines_to_add(
        build_kb, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = build_kb(tmp_path / "kb")
    yml = root / "mkdocs.yml"
    yml.write_text(MINIMAL_YML.format(extensions=""))
    with caplog.at_level(logging.WARNING):
        build(root)
    message = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(yml) in message
    for line in ("  - admonition", "  - pymdownx.superfences:", "        - name: mermaid"):
        assert line in message, message
    # the shipped templates fold blocks with plain HTML <details>: no extension needed
    assert "pymdownx.details" not in message
    page = (root / "site" / "registry" / "models" / "brokenmodel" / "index.html").read_text()
    assert "!!! warning" in page  # what the warning is about: the box is plain text
    assert '<details class="kb-fold kb-source">' in page

    # strict builds fail on it
    yml.write_text("strict: true\n" + MINIMAL_YML.format(extensions=""))
    with pytest.raises(Abort):
        build(root)

    # superfences without the mermaid fence: the message says to add the fence entry only
    caplog.clear()
    yml.write_text(MINIMAL_YML.format(extensions=(
        "markdown_extensions:\n  - admonition\n  - pymdownx.details\n"
        "  - pymdownx.superfences\n")))
    with caplog.at_level(logging.WARNING):
        build(root)
    message = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "add this entry to its custom_fences list" in message
    assert "  - admonition" not in message and "  - pymdownx.details" not in message


def test_complete_extensions_give_no_warning(build_kb, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    root = build_kb(tmp_path / "kb")  # the conftest site enables everything the pages use
    with caplog.at_level(logging.WARNING):
        build(root)
    assert "Markdown extensions" not in caplog.text
    page = (root / "site" / "registry" / "models" / "genemamba" / "index.html").read_text()
    assert "??? note" not in page and "<details" in page


def test_needed_follows_the_templates_in_use() -> None:
    found = extensions.needed(["# Title\n\n!!! warning \"x\"\n", "plain text"])
    assert [r.extension for r in found] == ["admonition"]
    found = extensions.needed(['<details><summary>Source</summary>\n\n```yaml\na: 1\n```\n'
                               "</details>\n"])
    assert found == []  # raw HTML needs no extension
    found = extensions.needed(["??? note \"s\"\n\n    {{ text|fence }}yaml\n"])
    assert {r.extension for r in found} == {"pymdownx.details", "pymdownx.superfences"}
    assert extensions.missing(found, ["markdown.extensions.admonition", "pymdownx.details",
                                      "pymdownx.superfences"], {}) == []
