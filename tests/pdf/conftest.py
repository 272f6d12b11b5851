"""PDFs generated once per test session, each with known answers (see synthetic.py here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtools.pdf.convert import Conversion, convert

from . import synthetic
from .synthetic import PaperSpec

SPECS = {
    "two_column": PaperSpec(),
    "one_column": PaperSpec(columns=1, doi_in="xmp", info_title="Brainlm",
                            title="Long Context Genomic Encoders with Sparse Attention",
                            venue_line="Proceedings of MICCAI 2023", year=2023,
                            venue="MICCAI", arxiv="2305.01234v1", arxiv_tail="[q-bio.GN] 2 May"
                            " 2023", doi="10.5555/synth.2023.0007", seed=3),
    "info_doi_no_venue": PaperSpec(doi_in="info", venue_line=None, venue="arXiv", year=2022,
                                   arxiv="2210.54321v3", arxiv_tail="[cs.LG] 9 Jan 2023",
                                   info_title="paper_final_v3.pdf", seed=5, pages=2,
                                   table=False),
    "venue_in_header": PaperSpec(running_header="Published as a conference paper at ICLR 2025",
                                 header_on_first_page=True, venue_line=None, venue="ICLR",
                                 year=2025, arxiv="2409.11111v1", arxiv_tail="[cs.LG] 1 Oct"
                                 " 2024", seed=9, pages=2, table=False, doi_in="xmp"),
    "no_year": PaperSpec(venue_line=None, arxiv=None, doi="10.5555/undated", doi_in="page",
                         year=None, venue=None, seed=7, pages=2, table=False, figure=False),
}


@pytest.fixture(scope="session")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs")
    for name, spec in SPECS.items():
        (folder / f"{name}.pdf").write_bytes(synthetic.make_paper(spec))
    (folder / "summary.pdf").write_bytes(synthetic.make_summary_pdf("Sparse Encoders summary"))
    return folder


@pytest.fixture(scope="session")
def bad_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    (folder / "encrypted.pdf").write_bytes(synthetic.make_encrypted_pdf())
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< garbage")
    (folder / "zero_pages.pdf").write_bytes(synthetic.make_zero_page_pdf())
    (folder / "scanned.pdf").write_bytes(synthetic.make_image_only_pdf())
    return folder


_CONVERTED: dict[str, Conversion] = {}


@pytest.fixture(scope="session")
def converted(pdf_dir: Path):
    """Conversion of a generated PDF by name (each converted once per session)."""

    def get(name: str) -> Conversion:
        if name not in _CONVERTED:
            _CONVERTED[name] = convert(pdf_dir / f"{name}.pdf")
        return _CONVERTED[name]

    return get
