"""The inside-the-root gate covers every file the site publishes (issue 18, items 1, 2, 6, 7).

The reproducers of the issue, one by one: a ``docs/`` image linked to the build's environment
and a ``docs/`` page linked out of the repository; an emoji in a card's name; a card that is a
symlink to itself; folder symlinks MkDocs would walk forever; a file swapped for a symlink
between the check and the copy. The generators of their neighbours are in
test_site_generative.py.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from pathlib import Path

import pytest
from hostile_gen import build
from mkdocs.exceptions import Abort

from kbtools.cli import main
from kbtools.errors import PathOutsideKB

SECRET = "outside-secret-91c2"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "notes.md").write_text(f"# Notes\n\n{SECRET}\n")
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


def _validate(root: Path, capsys: pytest.CaptureFixture[str], *paths: Path
              ) -> tuple[int, list[dict]]:
    code = main(["--kb-root", str(root), "validate", "--format", "json", *map(str, paths)])
    out = capsys.readouterr().out
    return code, json.loads(out[out.index("{"):])["problems"]


def _environ_in(site: Path) -> bool:
    environ = Path("/proc/self/environ").read_bytes()
    return any(p.read_bytes() == environ for p in site.rglob("*") if p.is_file())


def _site_text(site: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in site.rglob("*")
                     if p.is_file())


def test_docs_symlinks_out_are_reported_refused_and_fail_strict(
        build_kb, tmp_path: Path, outside: Path, capsys, caplog) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    (root / "docs" / "img").mkdir()
    (root / "docs" / "img" / "logo.png").symlink_to("/proc/self/environ")
    (root / "docs" / "notes.md").symlink_to(outside / "notes.md")
    code, problems = _validate(root, capsys)
    assert code == 1
    assert {(p["path"], p["rule"]) for p in problems} == {
        ("docs/img/logo.png", "path.symlink-outside"), ("docs/notes.md", "path.symlink-outside")}
    assert all(p["hint"] for p in problems)
    with pytest.raises(Abort):
        build(root, strict=True)
    assert "not publishing docs/img/logo.png" in caplog.text
    site = build(root)  # not strict: built, without them
    assert not (site / "img" / "logo.png").exists() and not (site / "notes").exists()
    assert SECRET not in _site_text(site) and not _environ_in(site)


@pytest.mark.parametrize("flags", [["--strict", "-q"], ["--strict"]])
def test_a_quiet_strict_build_still_fails_on_a_refused_file(build_kb, tmp_path: Path,
                                                            flags: list[str]) -> None:
    """``-q`` hides warnings from MkDocs' strict counter; kbtools' refusals still count."""
    import subprocess
    import sys

    root = build_kb(tmp_path / "kb", broken=False)
    (root / "docs" / "img").mkdir()
    (root / "docs" / "img" / "logo.png").symlink_to("/proc/self/environ")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", *flags, "-d",
                          str(tmp_path / "site")], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "not publishing docs/img/logo.png" in run.stderr
    assert not (tmp_path / "site" / "img" / "logo.png").exists()


def test_theme_overrides_and_page_templates_pass_the_gate(build_kb, tmp_path: Path,
                                                          outside: Path, capsys,
                                                          caplog) -> None:
    root = build_kb(tmp_path / "kb", broken=False, options=":\n      templates_dir: tpl")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace(
        "  name: material\n", "  name: material\n  custom_dir: overrides\n"))
    (root / "overrides").mkdir()
    (root / "overrides" / "main.html").symlink_to(outside / "secret.txt")
    (root / "overrides" / "extra.css").symlink_to(outside / "secret.txt")
    (root / "tpl").mkdir()
    (root / "tpl" / "model.md.j2").symlink_to(outside / "notes.md")
    code, problems = _validate(root, capsys)
    assert code == 1
    assert {p["path"] for p in problems} == {"overrides/main.html", "overrides/extra.css",
                                             "tpl/model.md.j2"}
    with pytest.raises(Abort):
        build(root, strict=True)
    assert "not using template" in caplog.text
    site = build(root)
    assert SECRET not in _site_text(site)
    assert (site / "registry" / "models" / "genemamba" / "index.html").is_file()  # shipped


@pytest.mark.parametrize("target", [".", "..", "../docs"])
def test_a_docs_folder_loop_stops_the_build_with_a_message(build_kb, tmp_path: Path,
                                                           target: str, capsys) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    (root / "docs" / "loop").symlink_to(target, target_is_directory=True)
    (root / "docs" / "sub").mkdir()
    (root / "docs" / "sub" / "back").symlink_to("../..", target_is_directory=True)
    code, problems = _validate(root, capsys)
    assert code == 1
    assert {(p["path"], p["rule"]) for p in problems} == {
        ("docs/loop", "path.symlink-loop"), ("docs/sub/back", "path.symlink-loop")}
    with pytest.raises(Abort):  # before MkDocs walks docs/ (it would go round for ever)
        build(root)


def test_a_docs_folder_symlink_out_stops_the_build(build_kb, tmp_path: Path, outside: Path,
                                                   capsys) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    (root / "docs" / "shared").symlink_to(outside, target_is_directory=True)
    code, problems = _validate(root, capsys)
    assert code == 1 and [p["path"] for p in problems] == ["docs/shared"]
    with pytest.raises(Abort):
        build(root)
    assert not (root / "site").exists()


@pytest.mark.parametrize("shape", ["self", "pair", "dangling"])
def test_looping_or_dangling_card_symlinks_give_a_problem_not_a_traceback(
        build_kb, tmp_path: Path, shape: str, capsys, caplog) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    cards = root / "kb" / "model_cards"
    if shape == "self":
        (cards / "loop.yaml").symlink_to("loop.yaml")
    elif shape == "pair":
        (cards / "loop.yaml").symlink_to("other.yaml")
        (cards / "other.yaml").symlink_to("loop.yaml")
    else:
        (cards / "loop.yaml").symlink_to("gone.yaml")
    rule = "path.symlink-broken" if shape == "dangling" else "path.symlink-loop"
    code, problems = _validate(root, capsys)
    assert code == 1
    assert ("kb/model_cards/loop.yaml", rule) in {(p["path"], p["rule"]) for p in problems}
    code, problems = _validate(root, capsys, cards / "loop.yaml")  # as the pre-commit hook
    assert code == 1 and [(p["path"], p["rule"]) for p in problems] == [
        ("kb/model_cards/loop.yaml", rule)]
    with pytest.raises(Abort):
        build(root, strict=True)
    assert "Traceback" not in caplog.text and "kb/model_cards/loop.yaml" in caplog.text
    health = (root / "site" / "registry" / "health" / "index.html").read_text()
    assert "kb/model_cards/loop.yaml" in health


def test_an_emoji_title_keeps_heading_page_title_and_search_entry(build_kb,
                                                                  tmp_path: Path) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    card = root / "kb" / "model_cards" / "genemamba.yaml"
    name = "Gene\U0001F600 \U0001D400 Mamba \U00020000"
    card.write_text(card.read_text().replace("name: GeneMamba", f"name: {name}"))
    site = build(root, strict=True)
    page = (site / "registry" / "models" / "genemamba" / "index.html").read_text()
    assert html.unescape(re.search(r"<title>(.*?)</title>", page)[1]) == f"{name} - Test KB"
    assert re.search(r"<h1[^>]*>(.*?)</h1>", page)[1] == name
    index = json.loads((site / "search" / "search_index.json").read_text())
    [entry] = [d for d in index["docs"] if d["location"] == "registry/models/genemamba/"]
    assert entry["title"] == name
    assert "title:" not in page  # the front matter was read, not rendered as a heading


def test_a_control_character_cannot_hide_markup_from_the_check(build_kb, tmp_path: Path,
                                                               capsys) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    card = root / "kb" / "model_cards" / "genemamba.yaml"
    card.write_text(card.read_text().replace(
        "name: GeneMamba", 'name: "\U0001F600 x{: on\\x01click=alert(1) } [a]\\x01(javascript:'
                           'alert(2))"'))
    code, problems = _validate(root, capsys)
    assert code == 1
    assert [p["rule"] for p in problems if p["path"] == "kb/model_cards/genemamba.yaml"] == [
        "text.unsafe-markup"]


def test_a_hardlinked_docs_file_is_reported_and_not_published(build_kb, tmp_path: Path,
                                                              outside: Path, capsys) -> None:
    root = build_kb(tmp_path / "kb", broken=False)
    os.link(outside / "secret.txt", root / "docs" / "copy.txt")
    code, problems = _validate(root, capsys)
    assert code == 1 and [(p["path"], p["rule"]) for p in problems] == [
        ("docs/copy.txt", "path.hardlink")]
    with pytest.raises(Abort):
        build(root, strict=True)
    assert SECRET not in _site_text(root / "site")


# -- open, then check: a swap between the check and the copy is not followed ------------------

def _swap_after_check(monkeypatch: pytest.MonkeyPatch, swap) -> None:
    """Run ``swap`` right after the gate has resolved and checked a path."""
    import kbtools.kb as kb

    original = kb.resolve_inside

    def resolve_then_swap(root, path):
        real = original(root, path)
        swap()
        return real

    monkeypatch.setattr(kb, "resolve_inside", resolve_then_swap)


def test_a_file_swapped_for_a_symlink_after_the_check_is_not_read(
        tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtools.kb import read_inside

    root = tmp_path / "kb"
    (root / "docs").mkdir(parents=True)
    plot = root / "docs" / "plot.png"
    plot.write_bytes(b"inside")
    assert read_inside(root, plot) == b"inside"

    def swap() -> None:
        plot.unlink()
        plot.symlink_to(outside / "secret.txt")

    _swap_after_check(monkeypatch, swap)
    with pytest.raises(PathOutsideKB) as exc:
        read_inside(root, plot)
    assert exc.value.rule == "path.symlink-outside"


def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_read(
        tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtools.kb import read_inside

    root = tmp_path / "kb"
    (root / "docs" / "img").mkdir(parents=True)
    (root / "docs" / "img" / "secret.txt").write_text("inside")
    (outside / "img").mkdir()
    (outside / "img" / "secret.txt").write_text(SECRET)

    def swap() -> None:
        (root / "docs" / "img").rename(root / "docs" / "img-old")
        (root / "docs" / "img").symlink_to(outside / "img", target_is_directory=True)

    _swap_after_check(monkeypatch, swap)
    with pytest.raises(PathOutsideKB):
        read_inside(root, root / "docs" / "img" / "secret.txt")


def test_a_fifo_or_a_new_file_swapped_in_is_not_read(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtools.kb import read_inside

    root = tmp_path / "kb"
    root.mkdir()
    target = root / "page.md"
    target.write_text("inside")

    def fifo() -> None:
        target.unlink()
        os.mkfifo(target)

    _swap_after_check(monkeypatch, fifo)
    with pytest.raises(PathOutsideKB):  # and does not block on the FIFO
        read_inside(root, target)


def test_a_checked_site_file_is_not_copied_after_a_swap(tmp_path: Path, outside: Path,
                                                        caplog) -> None:
    from mkdocs.structure.files import File

    from kbtools.site.publish import checked

    root = tmp_path / "kb"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.png").write_bytes(b"inside")
    file = checked(File("a.png", str(root / "docs"), str(tmp_path / "site"), True), root)
    file.copy_file()
    assert (tmp_path / "site" / "a.png").read_bytes() == b"inside"
    (root / "docs" / "a.png").unlink()
    (root / "docs" / "a.png").symlink_to(outside / "secret.txt")
    (tmp_path / "site" / "a.png").unlink()
    with caplog.at_level(logging.WARNING):
        file.copy_file()
    assert not (tmp_path / "site" / "a.png").exists()
    assert "not publishing a.png" in caplog.text


def test_kbtools_render_copies_plots_open_then_check(tmp_path: Path, outside: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtools.site.sync import sync_folder

    root = tmp_path / "kb"
    (root / "kb" / "runs" / "r").mkdir(parents=True)
    plot = root / "kb" / "runs" / "r" / "plot.png"
    plot.write_bytes(b"inside")
    out = tmp_path / "out"
    report = sync_folder(out, {}, {"runs/r/plot.png": plot}, inside=root)
    assert (out / "runs" / "r" / "plot.png").read_bytes() == b"inside" and not report.refused
    assert sync_folder(out, {}, {"runs/r/plot.png": plot}, inside=root).unchanged == 1

    def swap() -> None:
        plot.unlink()
        plot.symlink_to(outside / "secret.txt")

    plot.write_bytes(b"changed")  # so the copy is made again
    _swap_after_check(monkeypatch, swap)
    report = sync_folder(out, {}, {"runs/r/plot.png": plot}, inside=root)
    assert list(report.refused) == ["runs/r/plot.png"]
    assert not (out / "runs" / "r" / "plot.png").exists()


@pytest.mark.parametrize("setting", ["custom_dir", "templates_dir"])
def test_a_theme_or_templates_folder_outside_the_kb_is_not_used(
        build_kb, tmp_path: Path, outside: Path, setting: str, capsys, caplog) -> None:
    (outside / "main.html").write_text(f"<html>{SECRET}</html>")
    (outside / "model.md.j2").write_text(f"# {SECRET}\n")
    options = f":\n      templates_dir: {outside}" if setting == "templates_dir" else ""
    root = build_kb(tmp_path / "kb", broken=False, options=options)
    if setting == "custom_dir":
        config = root / "mkdocs.yml"
        config.write_text(config.read_text().replace(
            "  name: material\n", f"  name: material\n  custom_dir: {outside}\n"))
    code, problems = _validate(root, capsys)
    assert code == 1 and [(p["path"], p["rule"]) for p in problems] == [
        ("mkdocs.yml", "path.outside-kb")]
    with pytest.raises(Abort):
        build(root, strict=True)
    assert "it is not used" in caplog.text
    assert SECRET not in _site_text(root / "site")
