"""Benchmark ``kbtools pdf2md`` beside pymupdf4llm on papers typeset by LaTeX class files.

    nice -n 10 .venv/bin/python benchmarks/bench_pdf.py                   # kbtools only
    nice -n 10 .venv/bin/python benchmarks/bench_pdf.py --with-reference  # + pymupdf4llm

The corpus is ``tests/pdf/corpus``: papers typeset by pdflatex with TeX Live's class files
(IEEEtran, acmart, elsarticle, revtex4-2, llncs) and with article laid out like ACL, EACL,
NeurIPS, Cell, BMC, Hindawi, PeerJ, AAAI and a psychiatry journal (run-in headings, landscape
and sideways tables, two columns with full-width floats, plots with legends, long reference
lists), with our own content; and KB summaries printed from markdown by pandoc, WeasyPrint and
Chromium. Each PDF has its answers (title, authors, abstract, headings, venue, year, and every
table's cells, written down by hand) in a ``truth.json``.

Every tool runs in its own process, converts one PDF to warm up, then all of them (papers and
summaries) while its CPU time is measured (every thread and child process counts); the rate
is pages per CPU-second. kbtools runs the way the CLI does (a worker process per file, under
the time limit). Every tool's markdown is scored with ``kbtools.pdf.evaluate``: heading recall
and precision per journal style, each table right / partly / garbled / missing
(``judge_tables``) and tables invented, words in fragments, doubly escaped markup; for
kbtools also the metadata, the KB summaries recognised with all their tables, and the pages
flagged as thin.

pymupdf4llm is never a kbtools dependency: ``--with-reference`` installs it, at the version of
the PyMuPDF kbtools runs on, into a throwaway venv under benchmarks/_work/pdf/ (gitignored),
and runs it there. That release pulls pymupdf_layout, whose licence the team treats as
non-commercial: it is only measured there, never imported by kbtools. ``--reference-python``
points at an existing venv's python instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "pdf" / "corpus"
WORK = Path(__file__).resolve().parent / "_work" / "pdf"  # _work/ is gitignored

KBTOOLS_RUNNER = r'''
import json, resource, sys, time, pathlib
from kbtools.pdf import batch
pdfs = [pathlib.Path(p) for p in json.loads(sys.argv[1])]
out = pathlib.Path(sys.argv[2])
batch.run(pdfs[:1], out / "warm", force=True, progress=False)  # imports, first fork

def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

start = cpu()
results = batch.run(pdfs, out, force=True, progress=False)
seconds = cpu() - start
print(json.dumps({"seconds": seconds, "pages": sum(r.pages for r in results),
                  "failed": [r.reason for r in results if r.status != "converted"]}))
'''

REFERENCE_RUNNER = r'''
import json, sys, time, pathlib
mode, out = sys.argv[1], pathlib.Path(sys.argv[3])
pdfs = [pathlib.Path(p) for p in json.loads(sys.argv[2])]
import pymupdf, pymupdf4llm
pymupdf4llm.use_layout(mode == "layout")
pymupdf4llm.to_markdown(str(pdfs[0]))  # warm-up: imports, the layout model
out.mkdir(parents=True, exist_ok=True)
pages, start = 0, time.process_time()
for pdf in pdfs:
    (out / (pdf.stem + ".md")).write_text(pymupdf4llm.to_markdown(str(pdf)))
    pages += pymupdf.open(pdf).page_count
print(json.dumps({"seconds": time.process_time() - start, "pages": pages,
                  "version": pymupdf4llm.__version__}))
'''


def corpus() -> tuple[list[Path], dict, list[Path], dict]:
    papers = sorted((CORPUS / "papers").glob("*.pdf"))
    summaries = sorted((CORPUS / "summaries").glob("*.pdf")) + sorted(
        (CORPUS / "kb_summaries").glob("*.pdf"))
    s_truth = {**json.loads((CORPUS / "summaries" / "truth.json").read_text()),
               **json.loads((CORPUS / "kb_summaries" / "truth.json").read_text())}
    return (papers, json.loads((CORPUS / "papers" / "truth.json").read_text()),
            summaries, s_truth)


def fragments(md: str) -> tuple[int, int]:
    """(words in paragraphs of 12 words or fewer, all words) of the body text."""
    if "\n## Full text" in md:
        md = md.split("\n## Full text", 1)[1]
    md = re.sub(r"^---\n.*?\n---\n", "", md, flags=re.S)
    small = total = 0
    for block in re.split(r"\n\s*\n", md):
        b = block.strip()
        if not b or b.startswith(("#", "|", "<a id", "- ", "* ", "**[page", "_Imported")):
            continue
        n = len(re.findall(r"[A-Za-z]{2,}", b))
        total += n
        small += n if n <= 12 else 0
    return small, total


def glued(md: str, vocab: set[str]) -> int:
    """Words of the output that are two words of the source run together."""
    count = 0
    for w in set(re.findall(r"[a-z]{8,}", md.lower())):
        if w in vocab:
            continue
        if any(w[:i] in vocab and w[i:] in vocab for i in range(3, len(w) - 2)):
            count += 1
    return count


def source_vocab(truth: dict) -> set[str]:
    sys.path.insert(0, str(CORPUS))
    import content  # noqa: PLC0415 - the corpus's own sentences

    text = " ".join(content.SENTENCES + content.MATH_SENTENCES + content.MODELS)
    for t in truth.values():
        text += " " + " ".join([t["title"], t["abstract"], *t["authors"],
                                *(h["text"] for h in t["headings"])])
        for tab in t["tables"]:
            text += " " + tab["caption"] + " " + " ".join(tab["header"])
    return set(re.findall(r"[a-z]+", text.lower()))


def reference_python(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    version = pymupdf.VersionBind
    packages = [f"pymupdf=={version}", f"pymupdf4llm=={version}"]
    folder = WORK / "ref"
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


def run_json(cmd: list[str], env: dict | None = None) -> dict | None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"  failed: {proc.stderr.strip()[-500:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--with-reference", action="store_true",
                    help="also measure pymupdf4llm (layout and legacy modes) in a throwaway venv")
    ap.add_argument("--reference-python", help="python of a venv that has pymupdf4llm")
    ap.add_argument("--repeat", type=int, default=3, help="kbtools runs; the fastest counts")
    args = ap.parse_args()

    from kbtools.pdf.convert import convert
    from kbtools.pdf.evaluate import printed_page_numbers

    papers, truth, summaries, s_truth = corpus()
    WORK.mkdir(parents=True, exist_ok=True)
    n_pages = sum(pymupdf.open(p).page_count for p in papers)
    print(f"corpus: {len(papers)} papers, {n_pages} pages; {len(summaries)} KB summaries; "
          f"PyMuPDF {pymupdf.VersionBind}; cores: {os.cpu_count()}\n")
    printed = {p.stem: printed_page_numbers(p) for p in papers}
    vocab = source_vocab(truth)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    pdfs = papers + summaries
    all_pages = n_pages + sum(pymupdf.open(s).page_count for s in summaries)
    runs = []
    for _ in range(args.repeat):
        data = run_json([sys.executable, "-c", KBTOOLS_RUNNER,
                         json.dumps([str(p) for p in pdfs]), str(WORK / "out_kbtools")], env)
        if data is None:
            return 1
        runs.append(data)
    best = min(runs, key=lambda d: d["seconds"])
    kb_convs = {p.stem: convert(p) for p in pdfs}
    columns = {"kbtools": {"rate": best["pages"] / best["seconds"], "convs": kb_convs,
                           "md": {p.stem: (WORK / "out_kbtools" / f"{p.stem}.md").read_text()
                                  for p in pdfs}}}
    if args.with_reference or args.reference_python:
        python = reference_python(args.reference_python)
        script = WORK / "run_reference.py"
        script.write_text(REFERENCE_RUNNER)
        for mode in ("layout", "legacy"):
            if python is None:
                break
            out = WORK / f"out_ref_{mode}"
            data = run_json([str(python), str(script), mode,
                             json.dumps([str(p) for p in pdfs]), str(out)])
            if data is None:
                continue
            columns[f"pymupdf4llm {data['version']} {mode}"] = {
                "rate": data["pages"] / data["seconds"], "convs": None,
                "md": {p.stem: (out / f"{p.stem}.md").read_text() for p in pdfs}}

    print(f"pages converted per run: {all_pages}\n")
    rows = {name: score_column(col, papers, truth, summaries, s_truth, printed, vocab)
            for name, col in columns.items()}
    labels = list(next(iter(rows.values())))
    names = list(columns)
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label in labels:
        print(f"| {label} | " + " | ".join(rows[n].get(label, "-") for n in names) + " |")
    print()
    ours = columns["kbtools"]["rate"]
    for name in names[1:]:
        print(f"speed ratio kbtools / {name}: {ours / columns[name]['rate']:.1f}x "
              "(pages per CPU-second, papers and summaries, same run)")
    if best["failed"]:
        print("kbtools failures:", best["failed"])
    return 0


#: Markup escaped twice: an entity whose "&" was escaped again, or a tag shown as entities.
DOUBLY_ESCAPED = re.compile(r"&amp;(?:lt|gt|amp|quot|#\d+);|&lt;/?(?:h[1-6]|p|br|div|span|"
                            r"table|tr|td|th|em|strong|b|i)\b[^&]{0,80}&gt;", re.IGNORECASE)


def score_column(col: dict, papers: list[Path], truth: dict, summaries: list[Path],
                 s_truth: dict, printed: dict, vocab: set[str]) -> dict[str, str]:
    """Every figure of one converter's column, by label."""
    from kbtools.pdf.evaluate import judge_tables, score
    from kbtools.pdf.markdown import front_matter

    convs = col["convs"]
    kb = convs is not None
    scores, by_style = [], {}
    for p in papers:
        md, t = col["md"][p.stem], truth[p.stem]
        if kb:
            conv = convs[p.stem]
            s = score(md, t, printed[p.stem], front=front_matter(conv),
                      headings=[h.text for h in conv.headings],
                      abstract=conv.structure.abstract)
        else:
            s = score(md, t, printed[p.stem])
        scores.append(s)
        st = by_style.setdefault(t["class"], [0, 0, 0])
        st[0] += s.headings_hit
        st[1] += s.headings_true
        st[2] += s.headings_found
    total = {k: sum(getattr(s, k) for s in scores) for k in (
        "title", "authors_found", "authors_total", "authors_extra", "abstract",
        "headings_hit", "headings_true", "headings_found", "page_numbers_left",
        "pages_with_numbers", "running_left", "ids_found", "ids_true", "year_ok", "venue_ok")}
    verdicts: dict[str, int] = {"right": 0, "partly": 0, "garbled": 0, "missing": 0,
                                "invented": 0}
    recognised = 0
    for path, truth_of in [(p, truth) for p in papers] + [(s, s_truth) for s in summaries]:
        got, invented = judge_tables(truth_of[path.stem].get("tables", []), col["md"][path.stem])
        for v in got:
            verdicts[v.verdict] += 1
        verdicts["invented"] += invented
        if truth_of is s_truth and kb and convs[path.stem].kind == "kb-summary" and all(
                v.verdict == "right" for v in got):
            recognised += 1
    small, words = map(sum, zip(*(fragments(col["md"][p.stem]) for p in papers), strict=True))
    doubly = sum(bool(DOUBLY_ESCAPED.search(md)) for md in col["md"].values())
    n = len(papers)
    out = {
        "pages per CPU-second": f"{col['rate']:.1f}",
        f"titles exact ({n} papers)": f"{total['title']}/{n}",
        "authors found": f"{total['authors_found']}/{total['authors_total']}"
        + (f" (+{total['authors_extra']} wrong)" if kb else " (as text)"),
        f"abstracts found ({n})": f"{total['abstract']}/{n}",
        "heading recall / precision, all": f"{_pct(total['headings_hit'], total['headings_true'])}"
        f" / {_pct(total['headings_hit'], total['headings_found'])}",
    }
    for style, (hit, true, found) in sorted(by_style.items()):
        out[f"  headings {style}"] = f"{_pct(hit, true)} / {_pct(hit, found)}"
    n_tables = sum(v for k, v in verdicts.items() if k != "invented")
    out[f"tables right / partly / garbled / missing ({n_tables} eye-checked)"] = (
        f"{verdicts['right']} / {verdicts['partly']} / {verdicts['garbled']} / "
        f"{verdicts['missing']}")
    out["tables invented (plots, legends, text)"] = str(verdicts["invented"])
    out["words in fragments <= 12 words"] = f"{100 * small / max(1, words):.1f}%"
    out["glued words"] = str(sum(glued(col["md"][p.stem], vocab) for p in papers))
    out["page numbers left / pages with one"] = (f"{total['page_numbers_left']}/"
                                                 f"{total['pages_with_numbers']}")
    out["running-header lines left"] = str(total["running_left"])
    out[f"KB summaries recognised with all their tables ({len(summaries)})"] = (
        f"{recognised}/{len(summaries)}" if kb else "-")
    out["files with doubly escaped markup"] = f"{doubly}/{len(col['md'])}"
    if kb:
        out["DOI + arXiv ids found"] = f"{total['ids_found']}/{total['ids_true']}"
        out["year, venue right"] = f"{total['year_ok']}/{n}, {total['venue_ok']}/{n}"
        thin = sum(len(convs[p.stem].thin_pages) for p in papers + summaries)
        out["pages flagged as thin (warned)"] = str(thin)
    return out


def _pct(a: int, b: int) -> str:
    return f"{100 * a / max(1, b):.0f}%"


if __name__ == "__main__":
    sys.exit(main())
