"""A batch never stalls: time limit per file, Ctrl-C, failure reasons, reports that agree."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kbtools.cli import main
from kbtools.pdf import batch
from kbtools.pdf.cards import problems
from kbtools.pdf.convert import ConversionError, convert

from . import synthetic
from .conftest import SPECS

PLAIN_PAGES = [[f"Page {p + 1}, line {i}: cortical thickness and gene expression across sites."
                for i in range(40)] for p in range(13)]


@pytest.fixture(scope="module")
def slow_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slow") / "slow.pdf"
    path.write_bytes(synthetic.make_slow_pdf())
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_the_slow_file_really_is_slow(tmp_path: Path) -> None:
    """The fixture's premise: a shallower tree of the same shape already costs measurable time,
    and each level multiplies it by 16 (the test file is 3 levels deeper: hours)."""
    import pymupdf

    times = []
    for depth in (2, 3):
        doc = pymupdf.open("pdf", synthetic.make_slow_pdf(depth=depth))
        start = time.process_time()
        doc[0].get_text("dict")
        times.append(time.process_time() - start)
    assert times[1] > 4 * times[0]


def test_time_limit_kills_a_slow_file_and_the_batch_goes_on(
        tmp_path: Path, slow_pdf: Path, pdf_dir: Path) -> None:
    good = pdf_dir / "one_column.pdf"
    start = time.monotonic()
    results = batch.run([slow_pdf, good], tmp_path, time_limit=0.5)
    elapsed = time.monotonic() - start
    assert [r.status for r in results] == ["failed", "converted"]
    assert "time limit" in results[0].reason and "0.5 s per page" in results[0].reason
    assert elapsed < 30
    assert not (tmp_path / "slow.md").exists() and (tmp_path / "one_column.md").exists()
    assert _leftovers(tmp_path) == []


def test_parallel_workers_keep_going_past_a_slow_file(
        tmp_path: Path, slow_pdf: Path, pdf_dir: Path) -> None:
    names = ["one_column", "info_doi_no_venue", "no_year"]
    pdfs = [slow_pdf] + [pdf_dir / f"{n}.pdf" for n in names]
    results = batch.run(pdfs, tmp_path, jobs=2, time_limit=1.0)
    assert [r.status for r in results] == ["failed", "converted", "converted", "converted"]


def test_ctrl_c_stops_at_once_and_writes_nothing_partial(
        tmp_path: Path, slow_pdf: Path, pdf_dir: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # a time limit far beyond the bound below: a batch that waited for the slow file (or for
    # its limit) instead of stopping could not pass, however loaded the machine is
    proc = subprocess.Popen(
        [sys.executable, "-m", "kbtools", "pdf2md", str(pdf_dir / "one_column.pdf"),
         str(slow_pdf), "--out-dir", str(out), "--time-limit", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
        # as a terminal's foreground job: a suite started in the background (`cmd &` in a
        # script) ignores SIGINT, and a child inheriting that would never see Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed as soon as the first file is done
    assert first.startswith("converted ") and "one_column.pdf" in first
    time.sleep(0.5)  # the slow file is now being converted
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole group
    start = time.monotonic()
    rest, err = proc.communicate(timeout=120)
    assert time.monotonic() - start < 60  # the slow file's limit is 240 s (120 s per page + 1)
    assert proc.returncode == 130
    assert "interrupted: 1 converted" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [".kbtools-cache", "one_column.md"]
    with pytest.raises(ProcessLookupError):  # no worker left behind
        os.killpg(proc.pid, 0)


def test_a_non_pdf_named_pdf_says_what_it_is(tmp_path: Path) -> None:
    cases = {
        "page.pdf": (b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>", "HTML page"),
        "figure.pdf": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG image"),
        "notes.pdf": (b"Some notes that were never a PDF.\n", "plain-text file"),
        "empty.pdf": (b"", "empty file"),
    }
    for name, (data, what) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ConversionError) as info:
            convert(tmp_path / name)
        assert info.value.reason.startswith("not a PDF: the file is ")
        assert what in info.value.reason and "no text layer" not in info.value.reason


def test_a_blank_pdf_is_not_called_a_scan(tmp_path: Path) -> None:
    (tmp_path / "blank.pdf").write_bytes(synthetic.make_blank_pdf(2))
    with pytest.raises(ConversionError, match="blank: no page has text or images") as info:
        convert(tmp_path / "blank.pdf")
    assert "OCR" not in info.value.reason


def test_truncated_files_are_damaged_or_warned(tmp_path: Path) -> None:
    data = synthetic.make_plain_pdf(PLAIN_PAGES)
    (tmp_path / "whole.pdf").write_bytes(data)
    assert convert(tmp_path / "whole.pdf").warnings == []
    (tmp_path / "stub.pdf").write_bytes(data[:3000])
    with pytest.raises(ConversionError, match="damaged: the file is cut short"):
        convert(tmp_path / "stub.pdf")
    (tmp_path / "half.pdf").write_bytes(data[:len(data) // 2])
    conv = convert(tmp_path / "half.pdf")
    assert conv.pages == 13
    [warning] = conv.warnings
    assert "damaged" in warning and "pages 8-13 came out empty" in warning


def test_warnings_reach_the_report(capsys, tmp_path: Path) -> None:
    data = synthetic.make_plain_pdf(PLAIN_PAGES)
    (tmp_path / "half.pdf").write_bytes(data[:len(data) // 2])
    code = main(["pdf2md", str(tmp_path / "half.pdf"), "--out-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "  warning: the file is damaged" in out


def test_summary_files_get_the_umask_mode(tmp_path: Path, pdf_dir: Path) -> None:
    old = os.umask(0o022)
    try:
        batch.run([pdf_dir / "one_column.pdf"], tmp_path, time_limit=0)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "one_column.md").stat().st_mode) == 0o644


def test_a_card_failure_is_in_the_summary_line_and_the_exit_code(
        capsys, tmp_path: Path, pdf_dir: Path) -> None:
    root = tmp_path / "kb_root"
    (root / "kb" / "paper_cards").mkdir(parents=True)
    code = main(["--kb-root", str(root), "pdf2md", str(pdf_dir / "no_year.pdf"), "--out-dir",
                 str(tmp_path / "out"), "--card"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 1
    assert last == "1 converted, 0 cached (unchanged), 0 failed; 1 card not drafted"


def test_markup_in_a_pdf_title_stays_plain_text(capsys, tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script>Sparse [Encoders](javascript:alert(2)) {: onclick=x}"
    spec = SPECS["two_column"]
    spec = type(spec)(**{**spec.__dict__, "title": hostile + " of Cortex",
                         "info_title": "<h3>Sparse Encoders of Cortex</h3><img src=x onerror=y>"})
    root = tmp_path / "kb_root"
    (root / "kb" / "paper_cards").mkdir(parents=True)
    (root / "papers").mkdir()
    (root / "papers" / "hostile.pdf").write_bytes(synthetic.make_paper(spec))
    code = main(["--kb-root", str(root), "pdf2md", str(root / "papers"), "--card"])
    assert code == 0, capsys.readouterr().out
    md = (root / "papers" / "hostile.md").read_text()
    front = yaml.safe_load(md.split("---")[1])
    assert front["title"] == "Sparse Encoders of Cortex"
    for bad in ("<script", "<img", "<h3", "](javascript", "{:", "onerror"):
        assert bad not in md
    [card_path] = (root / "kb" / "paper_cards").iterdir()
    card = yaml.safe_load(card_path.read_text())
    assert card["title"] == "Sparse Encoders of Cortex" and problems(card) == []


def test_a_drafted_card_carrying_markup_is_refused() -> None:
    card = {"id": "x_2024", "title": "A <b>bold</b> claim", "status": "draft",
            "verified": False, "year": 2024, "summary": "[click](javascript:alert(1))",
            "last_updated": "2026-11-01"}
    found = problems(card)
    assert any(p.startswith("title: raw markup") for p in found)
    assert any(p.startswith("summary: raw markup") for p in found)


def test_card_notes_never_hold_an_absolute_path_outside_the_kb(
        capsys, tmp_path: Path, pdf_dir: Path) -> None:
    root = tmp_path / "kb_root"
    (root / "kb" / "paper_cards").mkdir(parents=True)
    code = main(["--kb-root", str(root), "pdf2md", str(pdf_dir / "two_column.pdf"),
                 "--out-dir", str(root / "summaries"), "--card", "--format", "json"])
    assert code == 0
    [record] = json.loads(capsys.readouterr().out)
    text = Path(record["card"]["path"]).read_text()
    assert str(pdf_dir) not in text and str(tmp_path) not in text
    card = yaml.safe_load(text)
    assert "(two_column.pdf) is outside the KB" in card["verification"]["notes"]
    assert "pdf" not in card


def test_one_paper_through_the_cli_imports_no_scikit_learn(tmp_path: Path, pdf_dir: Path) -> None:
    code = ("import sys; from kbtools.cli import main; "
            f"rc = main(['pdf2md', {str(pdf_dir / 'one_column.pdf')!r}, '--out-dir', "
            f"{str(tmp_path)!r}, '--time-limit', '0']); "
            "print(rc, 'sklearn' in sys.modules, 'scipy' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.strip().splitlines()[-1]
    assert out == "0 False False"


def test_a_conference_paper_with_an_arxiv_stamp_keeps_its_venue(tmp_path: Path) -> None:
    """An arXiv stamp names a preprint server, not the venue: page 1's "CHI '24" line wins."""
    spec = SPECS["two_column"]
    spec = type(spec)(**{**spec.__dict__, "venue_line": "CHI '24, May 11-16, 2024, Honolulu,"
                         " HI, USA", "arxiv": "2402.01234v1", "arxiv_tail": "[cs.HC] 2 Feb 2024"})
    (tmp_path / "chi.pdf").write_bytes(synthetic.make_paper(spec))
    meta = convert(tmp_path / "chi.pdf").metadata
    assert (meta.venue, meta.year, meta.arxiv) == ("CHI", 2024, "2402.01234v1")
