"""The ``kbtools pdf2md`` command: batches, failures, cache, paper cards, never overwriting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from kbtools.cli import main
from kbtools.pdf.cards import SCHEMA_LINE, card_id, draft, problems
from kbtools.schemas import load_schema
from kbtools.yamlio import load_file

from . import synthetic
from .conftest import SPECS


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(["pdf2md", *argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def _kb(tmp_path: Path, pdf_dir: Path, names: tuple[str, ...]) -> Path:
    root = tmp_path / "kb_root"
    (root / "kb" / "paper_cards").mkdir(parents=True)
    (root / "papers").mkdir()
    for name in names:
        shutil.copy(pdf_dir / f"{name}.pdf", root / "papers" / f"{name}.pdf")
    return root


def test_a_batch_reports_each_failure_and_converts_the_rest(
        capsys, tmp_path: Path, pdf_dir: Path, bad_dir: Path) -> None:
    out = tmp_path / "out"
    code, records = _run(capsys, str(pdf_dir / "one_column.pdf"), str(bad_dir), "--out-dir",
                         str(out))
    assert code == 1
    by_name = {Path(r["pdf"]).name: r for r in records}
    assert by_name["one_column.pdf"]["status"] == "converted"
    assert "encrypted" in by_name["encrypted.pdf"]["reason"]
    assert "damaged" in by_name["corrupt.pdf"]["reason"]
    assert "no pages" in by_name["zero_pages.pdf"]["reason"]
    assert "no text layer" in by_name["scanned.pdf"]["reason"]
    assert sorted(p.name for p in out.iterdir()) == [".kbtools-cache", "one_column.md"]


def test_all_converted_exits_zero_and_text_report(capsys, tmp_path: Path, pdf_dir: Path) -> None:
    code = main(["pdf2md", str(pdf_dir / "one_column.pdf"), "--out-dir", str(tmp_path)])
    assert code == 0
    captured = capsys.readouterr()
    assert "1 converted, 0 cached (unchanged), 0 failed" in captured.out
    assert captured.err == ""  # no progress bar when stderr is not a terminal


def test_cache_skips_unchanged_files_and_converts_changed_ones(
        capsys, tmp_path: Path, pdf_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("one_column", "info_doi_no_venue"):
        shutil.copy(pdf_dir / f"{name}.pdf", src)
    out = tmp_path / "out"
    _, first = _run(capsys, str(src), "--out-dir", str(out))
    assert [r["status"] for r in first] == ["converted", "converted"]
    stamp = (out / "one_column.md").stat().st_mtime_ns
    _, second = _run(capsys, str(src), "--out-dir", str(out))
    assert [r["status"] for r in second] == ["cached", "cached"]
    assert (out / "one_column.md").stat().st_mtime_ns == stamp
    # a changed PDF under the same name is converted again; the other stays cached
    (src / "one_column.pdf").write_bytes(synthetic.make_paper(SPECS["two_column"]))
    _, third = _run(capsys, str(src), "--out-dir", str(out))
    assert {Path(r["pdf"]).name: r["status"] for r in third} == {
        "info_doi_no_venue.pdf": "cached", "one_column.pdf": "converted"}
    assert SPECS["two_column"].title in (out / "one_column.md").read_text()
    # a deleted summary is rebuilt, --force converts everything
    (out / "info_doi_no_venue.md").unlink()
    _, fourth = _run(capsys, str(src), "--out-dir", str(out))
    assert [r["status"] for r in fourth] == ["converted", "cached"]
    _, fifth = _run(capsys, str(src), "--out-dir", str(out), "--force")
    assert [r["status"] for r in fifth] == ["converted", "converted"]


def test_parallel_jobs_write_the_same_files(capsys, tmp_path: Path, pdf_dir: Path) -> None:
    names = ["one_column", "info_doi_no_venue", "no_year"]
    paths = [str(pdf_dir / f"{n}.pdf") for n in names]
    _run(capsys, *paths, "--out-dir", str(tmp_path / "serial"))
    code, records = _run(capsys, *paths, "--out-dir", str(tmp_path / "parallel"), "--jobs", "2")
    assert code == 0 and [r["status"] for r in records] == ["converted"] * 3
    for n in names:
        assert (tmp_path / "serial" / f"{n}.md").read_text() == (
            tmp_path / "parallel" / f"{n}.md").read_text()


def test_a_markdown_file_not_written_by_pdf2md_is_not_overwritten(
        capsys, tmp_path: Path, pdf_dir: Path) -> None:
    mine = tmp_path / "one_column.md"
    mine.write_text("# my own notes\n")
    code, records = _run(capsys, str(pdf_dir / "one_column.pdf"), "--out-dir", str(tmp_path))
    assert code == 1 and "not written by pdf2md" in records[0]["reason"]
    assert mine.read_text() == "# my own notes\n"


def test_card_is_drafted_valid_and_never_overwritten(capsys, tmp_path: Path,
                                                     pdf_dir: Path) -> None:
    root = _kb(tmp_path, pdf_dir, ("two_column",))
    args = (str(root / "papers"), "--out-dir", str(root / "docs" / "papers"), "--card")
    code = main(["--kb-root", str(root), "pdf2md", *args])
    assert code == 0
    spec = SPECS["two_column"]
    card_path = root / "kb" / "paper_cards" / "scalable_foundation_models_2024.yaml"
    text = card_path.read_text()
    assert text.splitlines()[0] == SCHEMA_LINE
    card = load_file(card_path)
    jsonschema.Draft202012Validator(load_schema("paper_card")).validate(card)
    assert card["id"] == card_path.stem
    assert (card["status"], card["verified"]) == ("draft", False)
    assert "drafted from the pdf" in card["verification"]["notes"].lower()
    assert (card["title"], card["year"], card["doi"], card["arxiv"]) == (
        spec.title, spec.year, spec.doi, spec.arxiv)
    assert card["pdf"] == "papers/two_column.pdf"
    assert card["summary_md_path"] == "docs/papers/two_column.md"
    assert "authors" not in card  # cards carry no personal names
    capsys.readouterr()
    code = main(["--kb-root", str(root), "pdf2md", *args, "--force"])
    assert code == 0
    assert "exists, not overwritten" in capsys.readouterr().out
    assert card_path.read_text() == text


def test_update_fills_empty_fields_and_shows_disagreements(capsys, tmp_path: Path,
                                                           pdf_dir: Path) -> None:
    root = _kb(tmp_path, pdf_dir, ("two_column",))
    cards = root / "kb" / "paper_cards"
    card_path = cards / "scalable_foundation_models_2024.yaml"
    hand_made = (f"{SCHEMA_LINE}\n"
                 "# written by hand: keep this comment\n"
                 "id: scalable_foundation_models_2024\n"
                 "title: Scalable Foundation Models for Brain Imaging Genetics\n"
                 "status: draft\n"
                 "verified: false\n"
                 "year: 2024\n"
                 "venue: ''\n"
                 "doi: 10.9999/a.different.doi\n"
                 "summary: Our own words about the paper.\n"
                 "last_updated: 2026-11-01\n")
    card_path.write_text(hand_made)
    code = main(["--kb-root", str(root), "pdf2md", str(root / "papers"), "--card", "--update"])
    assert code == 0
    out = capsys.readouterr().out
    assert "- doi: 10.9999/a.different.doi" in out
    assert f"+ doi: {SPECS['two_column'].doi} (from first-page regex)" in out
    text = card_path.read_text()
    assert "# written by hand: keep this comment" in text
    card = load_file(card_path)
    assert card["venue"] == "ICLR"  # was empty: filled
    assert card["doi"] == "10.9999/a.different.doi"  # disagreed: left alone
    assert card["summary"] == "Our own words about the paper."
    assert card["arxiv"] == SPECS["two_column"].arxiv  # was missing: filled
    assert card["last_updated"] == "2026-11-01"
    jsonschema.Draft202012Validator(load_schema("paper_card")).validate(card)
    assert not [p for p in cards.iterdir() if p.name.startswith(".")]  # no temp files left


def test_existing_card_is_found_by_doi_under_another_id(capsys, tmp_path: Path,
                                                        pdf_dir: Path) -> None:
    root = _kb(tmp_path, pdf_dir, ("two_column",))
    other = root / "kb" / "paper_cards" / "fixed_handle_2024.yaml"
    other.write_text(f"{SCHEMA_LINE}\nid: fixed_handle_2024\ntitle: Other\nstatus: draft\n"
                     f"verified: false\nyear: 2024\nsummary: x\nlast_updated: 2026-11-01\n"
                     f"doi: {SPECS['two_column'].doi}\n")
    before = other.read_text()
    main(["--kb-root", str(root), "pdf2md", str(root / "papers"), "--card"])
    out = capsys.readouterr().out
    assert "fixed_handle_2024.yaml exists, not overwritten" in out
    assert "- title: Other" in out
    assert other.read_text() == before
    assert sorted(p.name for p in other.parent.iterdir()) == ["fixed_handle_2024.yaml"]


def test_kb_summary_pdf_card_uses_its_summary_section(capsys, tmp_path: Path,
                                                      pdf_dir: Path) -> None:
    root = _kb(tmp_path, pdf_dir, ("summary",))
    main(["--kb-root", str(root), "pdf2md", str(root / "papers"), "--out-dir",
          str(root / "summaries")])
    out = capsys.readouterr().out
    assert "[KB summary imported]" in out


def test_a_card_without_a_year_is_not_drafted(capsys, tmp_path: Path, pdf_dir: Path) -> None:
    root = _kb(tmp_path, pdf_dir, ("no_year",))
    code = main(["--kb-root", str(root), "pdf2md", str(root / "papers"), "--card"])
    assert code == 1
    assert "no year found" in capsys.readouterr().out
    assert list((root / "kb" / "paper_cards").iterdir()) == []


def test_usage_errors_exit_two(tmp_path: Path, pdf_dir: Path) -> None:
    assert main(["pdf2md", str(pdf_dir / "one_column.pdf"), "--update"]) == 2
    assert main(["pdf2md", str(tmp_path)]) == 2  # a folder without PDFs
    assert main(["pdf2md", str(pdf_dir), "--jobs", "0"]) == 2


@pytest.mark.parametrize(("title", "year", "expected"), [
    ("BrainLM: A foundation model for brain activity recordings", 2024, "brainlm_2024"),
    ("DNABERT-2: Efficient Foundation Model and Benchmark", 2023, "dnabert2_2023"),
    ("Genome modeling and design across all domains of life with Evo 2", 2025,
     "genome_modeling_design_2025"),
    ("The Caf\u00e9 Effect on Cortical Thickness", None, "cafe_effect_cortical"),
])
def test_card_id_rules(title: str, year: int | None, expected: str) -> None:
    assert card_id(title, year) == expected


def test_drafted_card_outside_the_kb_validates_and_says_so(tmp_path: Path) -> None:
    meta = {"title": "A Study of Old Identifiers", "year": 2001, "arxiv": "cs/0112017v2",
            "venue": "arXiv"}
    card = draft(meta, "It studies identifiers.", Path("/elsewhere/a.pdf"),
                 Path("/elsewhere/a.md"), tmp_path, "test")
    assert problems(card) == []
    assert card["arxiv"] == "cs/0112017"  # the schema has no version on old-style ids
    assert "pdf" not in card and "summary_md_path" not in card
    assert "outside the KB" in card["verification"]["notes"]
