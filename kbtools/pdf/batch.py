"""Convert many PDFs: cache look-up, parallel conversion (joblib), progress, per-file outcome.

Workers convert and write their markdown file atomically; the main process alone touches the
cache index and the paper cards, so there are no races on shared files.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools.pdf.cache import Index
from kbtools.pdf.convert import CONVERTER_VERSION, ConversionError, sha256_file


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


def convert_one(pdf: str, sha256: str, output: str) -> dict[str, Any]:
    """Worker: convert ``pdf`` and write ``output``; a plain dict comes back (picklable)."""
    from threadpoolctl import threadpool_limits

    from kbtools.pdf.convert import card_summary, convert
    from kbtools.pdf.files import write_atomic
    from kbtools.pdf.markdown import front_matter, render

    start = time.perf_counter()
    try:
        with threadpool_limits(1):
            conv = convert(Path(pdf), sha256)
            text = render(conv)
        write_atomic(Path(output), text)
    except ConversionError as exc:
        return {"status": "failed", "reason": exc.reason}
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return {"status": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}"}
    return {"status": "converted", "seconds": time.perf_counter() - start,
            "pages": conv.pages, "front_matter": front_matter(conv),
            "card_summary": card_summary(conv), "headings": [h.text for h in conv.headings]}


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
        progress: bool | None = None) -> list[FileResult]:
    """Convert ``pdfs`` (skipping cached ones unless ``force``) and return one result each."""
    from tqdm import tqdm

    results: list[FileResult] = []
    indexes: dict[Path, Index] = {}
    todo: list[Job] = []
    for pdf, out in plan(pdfs, out_dir):
        try:
            sha = sha256_file(pdf)
        except OSError as exc:
            results.append(FileResult(pdf, "failed", reason=f"cannot read file ({exc})"))
            continue
        index = indexes.setdefault(out.parent, Index.load(out.parent))
        hit = None if force else index.hit(sha, CONVERTER_VERSION)
        if hit is not None:
            cached_out = out.parent / hit["output"]
            results.append(FileResult(pdf, "cached", cached_out, pages=hit.get("pages", 0),
                                      front_matter=hit.get("front_matter", {}),
                                      card_summary=hit.get("card_summary", ""),
                                      headings=hit.get("headings", [])))
            continue
        if out.exists() and not _owned_by_pdf2md(out):
            results.append(FileResult(pdf, "failed", out, reason=(
                f"{out} exists and was not written by pdf2md; not overwritten "
                "(move it or choose another --out-dir)")))
            continue
        todo.append(Job(pdf, sha, out))

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(todo), unit="pdf", file=sys.stderr, disable=not show or not todo,
               desc="pdf2md")
    try:
        for job, outcome in _execute(todo, jobs):
            bar.update(1)
            res = FileResult(job.pdf, outcome["status"], job.output,
                             reason=outcome.get("reason", ""),
                             seconds=outcome.get("seconds", 0.0), pages=outcome.get("pages", 0),
                             front_matter=outcome.get("front_matter", {}),
                             card_summary=outcome.get("card_summary", ""),
                             headings=outcome.get("headings", []))
            if res.status == "converted":
                indexes[job.output.parent].put(job.sha256, {
                    "converter_version": CONVERTER_VERSION, "output": job.output.name,
                    "source": str(job.pdf.resolve()), "pages": res.pages,
                    "front_matter": res.front_matter, "card_summary": res.card_summary,
                    "headings": res.headings})
            results.append(res)
    finally:
        bar.close()
        for index in indexes.values():
            index.save()
    order = {p.resolve(): i for i, p in enumerate(pdfs)}
    results.sort(key=lambda r: order.get(r.pdf.resolve(), -1))
    return results


def _execute(todo: list[Job], jobs: int) -> Iterator[tuple[Job, dict[str, Any]]]:
    if jobs <= 1 or len(todo) <= 1:
        for job in todo:
            yield job, convert_one(str(job.pdf), job.sha256, str(job.output))
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered", batch_size=1)

    for i, outcome in parallel(delayed(_tagged)(i, str(j.pdf), j.sha256, str(j.output))
                               for i, j in enumerate(todo)):
        yield todo[i], outcome


def _tagged(i: int, pdf: str, sha256: str, output: str) -> tuple[int, dict[str, Any]]:
    return i, convert_one(pdf, sha256, output)
