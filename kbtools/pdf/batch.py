"""Convert many PDFs: cache look-up, time-limited worker processes, progress, per-file outcome.

Workers convert and write their markdown file atomically; the main process alone touches the
cache index and the paper cards, so there are no races on shared files.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.pdf.cache import Index
from kbtools.pdf.convert import CONVERTER_VERSION, ConversionError, sha256_file

#: PyMuPDF releases known to hang (``page.get_text("dict")`` never returns on some PDFs).
HANGING_PYMUPDF = ("1.28.",)

#: Seconds per page a file may take before its worker is killed (plus one page for start-up).
DEFAULT_TIME_LIMIT = 5.0


@dataclass
class Job:
    pdf: Path
    sha256: str
    output: Path


@dataclass
class FileResult:
    """The outcome for one input PDF."""

    pdf: Path
    status: str  # converted, cached, failed
    output: Path | None = None
    reason: str = ""
    seconds: float = 0.0
    pages: int = 0
    front_matter: dict[str, Any] = field(default_factory=dict)
    card_summary: str = ""
    headings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def pymupdf_warning() -> str | None:
    """A warning when the installed PyMuPDF is a release known to hang on some PDFs."""
    import pymupdf

    version = str(pymupdf.VersionBind)
    if version.startswith(HANGING_PYMUPDF):
        return (f"PyMuPDF {version} hangs on some PDFs (the time limit stops them); install "
                "the tested version: pip install 'pymupdf<1.28'")
    return None


def find_pdfs(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """PDF files named or found (recursively) in folders; missing paths become failures."""
    found: list[Path] = []
    missing: list[FileResult] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".pdf"
                and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        elif p.is_file():
            found.append(p)
        else:
            missing.append(FileResult(p, "failed", reason="no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for f in found:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique, missing


def _owned_by_pdf2md(path: Path) -> bool:
    try:
        head = path.read_text("utf-8")[:4000]
    except (OSError, UnicodeDecodeError):
        return False
    return head.startswith("---") and "converter_version: kbtools-pdf2md/" in head


def convert_one(job: Job, report: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Worker: convert ``job.pdf`` and write ``job.output``; a plain dict comes back."""
    from threadpoolctl import threadpool_limits

    from kbtools.pdf.convert import card_summary, convert
    from kbtools.pdf.files import write_atomic
    from kbtools.pdf.markdown import front_matter, render

    start = time.perf_counter()
    try:
        with threadpool_limits(1):
            conv = convert(job.pdf, job.sha256, on_open=report)
            text = render(conv)
        write_atomic(job.output, text)
    except ConversionError as exc:
        return {"status": "failed", "reason": exc.reason}
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return {"status": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}"}
    return {"status": "converted", "seconds": time.perf_counter() - start,
            "pages": conv.pages, "front_matter": front_matter(conv),
            "card_summary": card_summary(conv), "headings": [h.text for h in conv.headings],
            "warnings": list(conv.warnings)}


def remove_leftovers(job: Job) -> None:
    """Delete the temporary file a killed worker may have left beside ``job.output``."""
    for tmp in job.output.parent.glob(f".{job.output.name}.*.tmp"):
        tmp.unlink(missing_ok=True)


def plan(pdfs: list[Path], out_dir: Path | None) -> Iterator[tuple[Path, Path]]:
    """(pdf, output path) for each PDF; a name taken twice in one folder gets a path hash."""
    taken: dict[Path, Path] = {}
    for pdf in pdfs:
        folder = out_dir if out_dir is not None else pdf.parent
        out = folder / f"{pdf.stem}.md"
        if out.resolve() in taken and taken[out.resolve()] != pdf.resolve():
            tag = hashlib.sha256(str(pdf.resolve()).encode()).hexdigest()[:8]
            out = folder / f"{pdf.stem}-{tag}.md"
        taken[out.resolve()] = pdf.resolve()
        yield pdf, out


def run(pdfs: list[Path], out_dir: Path | None, *, jobs: int = 1, force: bool = False,
        progress: bool | None = None, time_limit: float = DEFAULT_TIME_LIMIT) -> list[FileResult]:
    """Convert ``pdfs`` and return one result each, in the order given."""
    results = list(convert_all(pdfs, out_dir, jobs=jobs, force=force, progress=progress,
                               time_limit=time_limit))
    order = {p.resolve(): i for i, p in enumerate(pdfs)}
    results.sort(key=lambda r: order.get(r.pdf.resolve(), -1))
    return results


def convert_all(pdfs: list[Path], out_dir: Path | None, *, jobs: int = 1, force: bool = False,
                progress: bool | None = None, time_limit: float = DEFAULT_TIME_LIMIT
                ) -> Iterator[FileResult]:
    """Yield one result per PDF as soon as it is known (cached ones first, then as they finish).

    Each file is converted in a worker process with ``time_limit`` seconds per page (0: no
    limit, converted in this process); a worker over its time is killed and the file reported
    as failed. Interrupting the iteration (Ctrl-C) kills the running workers at once: their
    files get no output, files finished before are kept and recorded in the cache index.
    """
    from tqdm import tqdm

    indexes: dict[Path, Index] = {}
    todo: list[Job] = []
    for pdf, out in plan(pdfs, out_dir):
        try:
            sha = sha256_file(pdf)
        except OSError as exc:
            yield FileResult(pdf, "failed", reason=f"cannot read file ({exc.strerror or exc})")
            continue
        index = indexes.setdefault(out.parent, Index.load(out.parent))
        hit = None if force else index.hit(sha, CONVERTER_VERSION)
        if hit is not None:
            cached_out = out.parent / hit["output"]
            yield FileResult(pdf, "cached", cached_out, pages=hit.get("pages", 0),
                             front_matter=hit.get("front_matter", {}),
                             card_summary=hit.get("card_summary", ""),
                             headings=hit.get("headings", []))
            continue
        if out.exists() and not _owned_by_pdf2md(out):
            yield FileResult(pdf, "failed", out, reason=(
                f"{out} exists and was not written by pdf2md; not overwritten "
                "(move it or choose another --out-dir)"))
            continue
        todo.append(Job(pdf, sha, out))

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(todo), unit="pdf", file=sys.stderr, disable=not show or not todo,
               desc="pdf2md")
    try:
        for job, outcome in _execute(todo, jobs, time_limit):
            bar.update(1)
            res = FileResult(job.pdf, outcome["status"], job.output,
                             reason=outcome.get("reason", ""),
                             seconds=outcome.get("seconds", 0.0), pages=outcome.get("pages", 0),
                             front_matter=outcome.get("front_matter", {}),
                             card_summary=outcome.get("card_summary", ""),
                             headings=outcome.get("headings", []),
                             warnings=outcome.get("warnings", []))
            if res.status == "converted":
                indexes[job.output.parent].put(job.sha256, {
                    "converter_version": CONVERTER_VERSION, "output": job.output.name,
                    "source": job.pdf.name, "pages": res.pages,
                    "front_matter": res.front_matter, "card_summary": res.card_summary,
                    "headings": res.headings})
            elif res.status == "failed":
                res.output = None
            yield res
    finally:
        bar.close()
        for index in indexes.values():
            index.save()


def _execute(todo: list[Job], jobs: int, time_limit: float
             ) -> Iterator[tuple[Job, dict[str, Any]]]:
    if time_limit <= 0:  # no limit asked for: convert here, one file after another
        for job in todo:
            yield job, convert_one(job)
        return
    from kbtools.pdf import convert as _preload  # noqa: F401 - workers inherit the imports
    from kbtools.pdf.supervise import Limit, run_limited

    yield from run_limited(convert_one, todo, jobs=jobs, limit=Limit(time_limit),
                           on_kill=remove_leftovers)
