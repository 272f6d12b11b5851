"""Generated hostile KBs, built into whole sites (issue 18: close each class, not its instances).

* any Unicode (every plane, controls, format characters, bidi overrides) and fragments of
  markdown, HTML, attribute lists, mermaid and Jinja, in every string of every card, in an
  extension field name and in file names: the built site holds no event handler, no script that
  is not the theme's, no URL with a scheme other than http, https or mailto, in any page or in
  the search index; the front matter of every generated page reads back; the model card's title
  shows intact as page title, heading and search entry; ``kbtools validate`` finishes in bounded
  time without a traceback;
* any file-system shape (symlinks out of the KB, to ``/proc/self/environ``, hard links, loops,
  folder loops, dangling links) over ``kb/``, ``docs/``, ``kb/runs``, page templates, theme
  overrides and the schema extension file: ``kbtools validate`` exits 1 naming the file, a
  strict build fails, and nothing from outside reaches ``site/``.

CI runs a few derandomised examples of each (one build per example); the soak script
(tests/soak/soak_hostile.py) runs the same checks on many random ones.
"""

from __future__ import annotations

import contextlib
import functools
import html
import io
import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from hostile_gen import (
    build,
    fs_hazards,
    holds_outside_content,
    hostile_text,
    one_line,
    place_hazard,
    site_findings,
    theme_inline_scripts,
    write_fs_kb,
    write_text_kb,
)
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from mkdocs.exceptions import Abort

from kbtools.cli import main

#: Examples per property in CI; the soak script raises it.
EXAMPLES = int(os.environ.get("KBTOOLS_HOSTILE_EXAMPLES", "12"))
#: Longest a validation of a small hostile KB may take (it takes well under a second).
VALIDATE_BOUND_S = 60
#: One site build per example: derandomised in CI (the soak script draws at random), and no
#: shrinking (a failing example is printed as drawn; shrinking would rebuild for minutes).
BUILD_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                          phases=(Phase.explicit, Phase.generate),
                          derandomize=os.environ.get("KBTOOLS_HOSTILE_RANDOM") != "1",
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])


@functools.cache
def clean_scripts() -> frozenset[str]:
    """The inline scripts of a clean build of the site-test KB (the theme's own)."""
    from conftest import make_kb

    with tempfile.TemporaryDirectory() as tmp:
        return frozenset(theme_inline_scripts(build(make_kb(Path(tmp) / "s", broken=False))))


def validate_cli(root: Path, *paths: Path) -> tuple[int, dict, float]:
    """``kbtools validate --format json [PATH...]`` in this process: exit code, report,
    seconds."""
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--kb-root", str(root), "validate", "--format", "json",
                     *map(str, paths)])
    return code, json.loads(out.getvalue()), time.perf_counter() - started


def _visible(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def check_text_site(texts: list[str], key: str, name: str) -> None:
    """The properties of a site built from a KB holding ``texts`` everywhere."""
    from mkdocs.utils.meta import get_data

    with tempfile.TemporaryDirectory() as tmp:
        kb = write_text_kb(Path(tmp) / "kb", texts, key, name)
        code, report, seconds = validate_cli(kb.root)
        assert code in (0, 1) and seconds < VALIDATE_BOUND_S
        assert not [p for p in report["problems"] if p["rule"] == "internal"]
        site = build(kb.root)
        assert site_findings(site, set(clean_scripts())) == {}
        for page in (kb.root / ".kbtools-cache" / "site" / "pages").rglob("*.md"):
            text = page.read_text(encoding="utf-8")
            if text.startswith("---\n"):
                body, meta = get_data(text)
                assert meta and not body.startswith("---"), page  # the front matter parsed
        expected = one_line(kb.title)
        if not expected:
            return
        page = (site / kb.model_page / "index.html").read_text(encoding="utf-8")
        title = re.search(r"<title>(.*?)</title>", page, re.S)
        assert title is not None and html.unescape(title[1]) == f"{expected} - Test KB"
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
        assert heading is not None and _visible(heading[1]) == expected
        index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
        [entry] = [d for d in index["docs"] if d["location"] == kb.model_page]
        assert html.unescape(entry["title"]) == expected


@BUILD_SETTINGS
@given(texts=st.lists(hostile_text, min_size=2, max_size=4), key=hostile_text,
       name=hostile_text)
def test_any_text_in_any_field_builds_an_inert_site(texts: list[str], key: str,
                                                    name: str) -> None:
    check_text_site(texts, key, name)


def check_fs_kb(hazards: list[tuple[str, tuple[str, str]]]) -> None:
    """The properties of a KB with ``hazards`` placed in it."""
    with tempfile.TemporaryDirectory() as tmp:
        outside = Path(tmp) / "outside"
        root = write_fs_kb(Path(tmp) / "kb", outside)
        named = [place_hazard(root, outside, hazard, place) for hazard, place in hazards]
        code, report, seconds = validate_cli(root)
        assert code == 1 and seconds < VALIDATE_BOUND_S
        reported = {p["path"] for p in report["problems"]}
        for path in named:
            assert path.relative_to(root).as_posix() in reported, (path, reported)
        assert not [p for p in report["problems"] if p["rule"] == "internal"]
        for path in named:  # as the pre-commit hook runs it: the changed file alone
            code, report, _ = validate_cli(root, path)
            assert code == 1, path
            assert path.relative_to(root).as_posix() in {p["path"] for p in report["problems"]}
        with pytest.raises(Abort):
            build(root, strict=True)
        if (root / "site").exists():  # a strict build writes the site, then fails
            assert holds_outside_content(root / "site") == []


@BUILD_SETTINGS
@given(hazards=fs_hazards)
@example(hazards=[("hardlink-out", ("kb/model_cards", "leak.yaml"))])  # found by the soak
def test_any_file_system_shape_is_refused_by_validate_and_the_build(
        hazards: list[tuple[str, tuple[str, str]]]) -> None:
    check_fs_kb(hazards)


def test_clean_fs_kb_validates_and_builds_strict(tmp_path: Path) -> None:
    """The KB the file-system generator starts from passes, so every failure is the hazard's."""
    root = write_fs_kb(tmp_path / "kb", tmp_path / "outside")
    code, report, _ = validate_cli(root)
    assert code == 0, report
    site = build(root, strict=True)
    assert (site / "assets" / "site.css").is_file()  # the theme override is published
    assert "Dataset toy_cohort" in (site / "registry" / "datasets" / "toy_cohort"
                                    / "index.html").read_text()  # the page template is used
