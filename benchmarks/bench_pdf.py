"""Benchmark ``kbtools pdf2md``: speed and quality on generated papers, beside the references.

    .venv/bin/python benchmarks/bench_pdf.py                   # ours + raw PyMuPDF text
    .venv/bin/python benchmarks/bench_pdf.py --with-reference  # + pymupdf4llm legacy mode
    .venv/bin/python benchmarks/bench_pdf.py --with-reference --with-layout-reference

A folder of synthetic papers (default 20 PDFs of about 10 pages: one and two columns, running
headers, tables, numbered sections, DOIs and arXiv stamps; see kbtools.pdf.synthetic) is
generated under benchmarks/_work/pdf/ (gitignored), converted, and scored against the known
answers: title found, section-heading recall and precision.

pymupdf4llm is never a project dependency. ``--with-reference`` installs it (0.3.x, whose
default is the legacy mode without pymupdf_layout) with the same PyMuPDF version into a
throwaway venv under benchmarks/_work/pdf/ and runs it there in the same run.
``--with-layout-reference`` also installs pymupdf_layout into a second throwaway venv to
measure the layout mode; the team treats pymupdf_layout's licence as non-commercial, so it is
opt-in, only ever measured, and never imported by kbtools. If a reference cannot be installed
the figures measured earlier on real papers (FINDINGS) are printed, labelled as not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pymupdf

from kbtools.pdf import batch, synthetic
from kbtools.pdf.convert import convert

WORK = Path(__file__).resolve().parent / "_work" / "pdf"  # _work/ is gitignored
REFERENCE_VERSION = "pymupdf4llm==0.3.4"
FINDINGS = {  # measured on 7 real papers on a machine like this one; not measured here
    "pymupdf4llm layout mode": (1.6, "7/7", "90%"),
    "pymupdf4llm legacy mode": (7.5, "-", "1%"),
    "raw page.get_text()": (538.0, "-", "-"),
}

RUNNER = r'''
import json, sys, time, pathlib
mode, src, out = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
if mode == "layout":
    import pymupdf.layout  # noqa: F401  (switches pymupdf4llm to its layout mode)
import pymupdf, pymupdf4llm
pdfs = sorted(src.glob("*.pdf"))
pymupdf4llm.to_markdown(str(pdfs[0]))  # warm-up: imports, models
out.mkdir(parents=True, exist_ok=True)
pages, start = 0, time.perf_counter()
for pdf in pdfs:
    md = pymupdf4llm.to_markdown(str(pdf))
    (out / (pdf.stem + ".md")).write_text(md)
    pages += pymupdf.open(pdf).page_count
print(json.dumps({"seconds": time.perf_counter() - start, "pages": pages,
                  "version": pymupdf4llm.__version__}))
'''


def norm(text: str) -> str:
    text = re.sub(r"[*_`#]+", " ", text)
    return re.sub(r"\s+", " ", text).strip().rstrip(".:").lower()


def score(found_title: bool, headings: list[str], expected: list[str]) -> tuple[int, int, int]:
    got = {norm(h) for h in headings}
    want = {norm(h) for h in expected}
    return int(found_title), len(got & want), len(got)


def markdown_headings(md: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^#{1,6}\s+(.+)$", md, re.MULTILINE)]


def make_corpus(folder: Path, n: int, pages: int) -> dict[str, synthetic.PaperSpec]:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    specs = {}
    for seed in range(n):
        spec = synthetic.random_spec(seed, pages=pages)
        name = f"paper_{seed:03d}"
        (folder / f"{name}.pdf").write_bytes(synthetic.make_paper(spec))
        specs[name] = spec
    return specs


def count_pages(folder: Path) -> int:
    return sum(pymupdf.open(p).page_count for p in folder.glob("*.pdf"))


def bench_ours(corpus: Path, out: Path, jobs: int) -> tuple[float, list[batch.FileResult]]:
    if out.exists():
        shutil.rmtree(out)
    pdfs = sorted(corpus.glob("*.pdf"))
    start = time.perf_counter()
    results = batch.run(pdfs, out, jobs=jobs, force=True, progress=False)
    return time.perf_counter() - start, results


def bench_raw(corpus: Path) -> float:
    start = time.perf_counter()
    for pdf in sorted(corpus.glob("*.pdf")):
        with pymupdf.open(pdf) as doc:
            for page in doc:
                page.get_text()
    return time.perf_counter() - start


def reference_venv(name: str, packages: list[str]) -> Path | None:
    """A throwaway venv under _work/ with ``packages``; None (and why) if pip fails."""
    folder = WORK / name
    python = folder / "bin" / "python"
    stamp = folder / "installed.txt"
    if stamp.exists() and stamp.read_text() == " ".join(packages):
        return python
    if folder.exists():
        shutil.rmtree(folder)
    venv.create(folder, with_pip=True)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *packages],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  could not install {' '.join(packages)}: {proc.stderr.strip()[-300:]}")
        return None
    stamp.write_text(" ".join(packages))
    return python


def bench_reference(python: Path, mode: str, corpus: Path) -> dict | None:
    script = WORK / "run_reference.py"
    script.write_text(RUNNER)
    out = WORK / f"out_ref_{mode}"
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYMUPDF_SUGGEST_LAYOUT_ANALYZER": "0"}
    proc = subprocess.run([str(python), str(script), mode, str(corpus), str(out)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"  pymupdf4llm {mode} mode failed: {proc.stderr.strip()[-400:]}")
        return None
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["out"] = out
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdfs", type=int, default=20)
    ap.add_argument("--pages", type=int, default=10, help="approximate pages per PDF")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of kbtools and raw text; the best counts (default 3)")
    ap.add_argument("--with-reference", action="store_true",
                    help="measure pymupdf4llm legacy mode in a throwaway venv")
    ap.add_argument("--with-layout-reference", action="store_true",
                    help="also measure pymupdf4llm layout mode (installs pymupdf_layout, "
                         "non-commercial per the team's licence review, into a throwaway venv)")
    args = ap.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    corpus = WORK / "corpus"
    print(f"generating {args.pdfs} PDFs of ~{args.pages} pages in {corpus} ...")
    specs = make_corpus(corpus, args.pdfs, args.pages)
    pages = count_pages(corpus)
    print(f"{pages} pages; cores: {os.cpu_count()}; PyMuPDF {pymupdf.VersionBind}\n")
    convert(next(iter(sorted(corpus.glob("*.pdf")))))  # warm-up: imports

    rows: list[tuple[str, float, float, str, str, str]] = []

    def quality(scores: list[tuple[int, int, int]]) -> tuple[str, str, str]:
        titles = sum(s[0] for s in scores)
        hit = sum(s[1] for s in scores)
        found = sum(s[2] for s in scores)
        expected = sum(len(sp.headings) for sp in specs.values())
        return (f"{titles}/{len(scores)}", f"{100 * hit / expected:.0f}%",
                f"{100 * hit / max(found, 1):.0f}%")

    # start the two joblib (loky) workers and their imports once, untimed; they are reused
    start = time.perf_counter()
    bench_ours(corpus, WORK / "out_warmup", 2)
    print(f"cold start of 2 workers + one pass: {time.perf_counter() - start:.1f} s")
    # ours and raw text are interleaved and repeated; the best run of each counts (the
    # machine is shared, and the minimum is the least disturbed measurement)
    best: dict[str, float] = {}
    last: dict[int, list[batch.FileResult]] = {}
    for _ in range(args.repeat):
        for jobs in (1, 2):
            seconds, last[jobs] = bench_ours(corpus, WORK / f"out_ours_j{jobs}", jobs)
            best[f"j{jobs}"] = min(best.get(f"j{jobs}", seconds), seconds)
        seconds = bench_raw(corpus)
        best["raw"] = min(best.get("raw", seconds), seconds)
    for jobs in (1, 2):
        results = last[jobs]
        failed = [r for r in results if r.status != "converted"]
        if failed:
            print(f"  {len(failed)} files failed: {failed[0].reason}")
        scores = [score(r.front_matter.get("title") == specs[r.pdf.stem].title, r.headings,
                        specs[r.pdf.stem].headings) for r in results]
        rate = pages / best[f"j{jobs}"]
        rows.append((f"kbtools pdf2md (jobs={jobs})", rate, rate / jobs, *quality(scores)))
        if jobs == 1:
            meta_ok = sum(r.front_matter.get(k) == getattr(specs[r.pdf.stem], k)
                          for r in results for k in ("doi", "arxiv", "year", "venue"))
            print(f"kbtools metadata: {meta_ok}/{4 * len(results)} of doi/arxiv/year/venue "
                  f"exact; best of {args.repeat} runs\n")

    raw = pages / best["raw"]
    rows.append(("raw PyMuPDF page.get_text()", raw, raw, "-", "-", "-"))

    measured_ref: dict[str, float] = {}
    if args.with_reference or args.with_layout_reference:
        modes = [("legacy", [f"pymupdf=={pymupdf.VersionBind}", REFERENCE_VERSION])]
        if args.with_layout_reference:
            print("note: pymupdf4llm's layout mode needs pymupdf_layout; the team treats its "
                  "licence as non-commercial. It is installed only into a throwaway venv, "
                  "measured, and never used by kbtools.")
            modes.append(("layout", [f"pymupdf=={pymupdf.VersionBind}", REFERENCE_VERSION,
                                     f"pymupdf-layout=={pymupdf.VersionBind}"]))
        for mode, packages in modes:
            print(f"installing {' '.join(packages)} into a throwaway venv ...")
            python = reference_venv(f"ref_{mode}", packages)
            data = bench_reference(python, mode, corpus) if python else None
            if data is None:
                continue
            scores = []
            for name, spec in specs.items():
                md = (data["out"] / f"{name}.md").read_text()
                heads = markdown_headings(md)
                first = " ".join(norm(h) for h in heads[:3])
                has_title = norm(spec.title) in first
                scores.append(score(has_title, [h for h in heads if norm(h) != norm(spec.title)],
                                    spec.headings))
            rate = data["pages"] / data["seconds"]
            measured_ref[mode] = rate
            rows.append((f"pymupdf4llm {data['version']} {mode} mode (measured)", rate, rate,
                         *quality(scores)))

    print(f"{'tool':46s} {'pages/s':>8s} {'per core':>9s} {'title':>6s} {'head.rec':>9s}"
          f" {'head.prec':>9s}")
    for name, rate, per_core, title, rec, prec in rows:
        print(f"{name:46s} {rate:8.1f} {per_core:9.1f} {title:>6s} {rec:>9s} {prec:>9s}")
    for name, (rate, title, heads) in FINDINGS.items():
        mode = "layout" if "layout" in name else "legacy" if "legacy" in name else "raw"
        if mode not in measured_ref:
            label = f"{name} (FINDINGS, real papers; NOT measured here)"
            print(f"{label:46s} {rate:8.1f} {'':9s} {title:>6s} {heads:>9s}")

    ours = rows[0][2]
    print()
    for mode, rate in measured_ref.items():
        print(f"ratio kbtools (jobs=1) / pymupdf4llm {mode} mode, same run: {ours / rate:.1f}x")
    for name, (rate, _, _) in FINDINGS.items():
        if "pymupdf4llm" in name and name.split()[1] not in measured_ref:
            print(f"ratio kbtools (jobs=1) / {name} (FINDINGS, not measured here): "
                  f"{ours / rate:.1f}x")
    print(f"ratio kbtools (jobs=1) / raw get_text, same run: {ours / raw:.2f}x")
    print(f"target: >= 50 pages/s per core -> {'met' if ours >= 50 else 'NOT met'} "
          f"({ours:.0f} pages/s on one core)")
    print(f"scaled to the FINDINGS machine (raw get_text 538 pages/s): about "
          f"{ours / raw * 538:.0f} pages/s on one core (estimate, not a measurement)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
