"""Calibration suite: every decision the analysis methods print, on null and planted cohorts.

For each study (a method with a small config) the null scenario is run on ``--null`` cohorts
and the planted one on ``--planted`` cohorts from the suite's own generator
(``tests/experiments/calibration/calcohorts.py``: UK Biobank-shaped tables, confounded by
centre and age, several unseen centres per test fold, 10% missing a modality). The table gives
each decision's rate under the null with the 99% binomial band of an exact test at alpha = 0.05,
whether it is calibrated, and its rate on the planted cohorts (power). The reference row is
the earlier escalation test (DeLong on predictions pooled over the folds), measured on the same
cohorts in the same run.

Work goes through the parallel layer (``--n-jobs``); ``--dask local:W`` runs the same chunks
on a local Dask cluster of W worker processes and ``--dask tcp://HOST:PORT`` on a running
scheduler (an HPC allocation, see docs/analysis/scaling.md), and ``--check-dask K`` also reruns
the first K null cohorts of each study in this process and checks that the decisions are
identical.

    .venv/bin/python benchmarks/bench_calibration.py [--null 200] [--planted 100] [--n-jobs 2]
        [--studies cca_null prediction ...] [--n 600] [--dask local:2 [--check-dask 8]]
        [--markdown table.md] [--docs docs/analysis]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "experiments" / "calibration"))

import caldecisions as cal  # noqa: E402

#: Docs blocks ``<!-- calibration:KEY -->`` ... ``<!-- /calibration:KEY -->`` and their studies.
DOC_BLOCKS = {"cca": ("cca_null", "cca_one_mode", "cca_hetero", "cca_hetero_previous",
                      "cca_age_centre", "cca_age_slope", "cca_messy", "cca_mislabelled",
                      "cca_ukb", "cca_ukb_age"),
              "prediction": ("prediction", "prediction_5fold"), "logo": ("logo",),
              "partial": ("partial",), "harmonization": ("harmonization",), "pca": ("pca",),
              "all": tuple(cal.BY_KEY)}


def write_docs(folder: Path, rows: list, header: str) -> list[Path]:
    """Replace every calibration block in ``folder/*.md`` with the table of its studies."""
    import re

    by_study = {s.key: [r for r in rows if r[0] in s.decisions] for s in cal.STUDIES}
    changed = []
    for page in sorted(folder.glob("*.md")):
        text = page.read_text()
        new = text
        for key, keys in DOC_BLOCKS.items():
            chosen = [r for k in keys for r in by_study.get(k, [])]
            if not chosen:
                continue
            block = (f"<!-- calibration:{key} -->\n{header}\n\n{cal.table(chosen)}\n"
                     f"<!-- /calibration:{key} -->")
            new = re.sub(rf"<!-- calibration:{key} -->(?:.*?<!-- /calibration:{key} -->)?",
                         lambda _m, b=block: b, new, flags=re.S)
        if new != text:
            page.write_text(new)
            changed.append(page)
    return changed


@contextlib.contextmanager
def dask_backend(spec: str):
    """The parallel layer's Dask backend (``local:W`` or a scheduler address); the suite's own
    modules travel by value (the workers cannot import them from tests/)."""
    import calcohorts
    import cloudpickle

    from kbtools.experiments.parallel import open_backend

    cloudpickle.register_pickle_by_value(calcohorts)
    cloudpickle.register_pickle_by_value(cal)
    with open_backend(dask=spec) as backend:
        print(f"dask: {backend.workers} worker(s) at {backend.scheduler}", file=sys.stderr)
        yield


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=200, help="null cohorts per study")
    ap.add_argument("--planted", type=int, default=100, help="planted cohorts per study")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--n", type=int, default=None, help="subjects per cohort (default: 600)")
    ap.add_argument("--studies", nargs="*", default=None, choices=list(cal.BY_KEY))
    ap.add_argument("--dask", default=None, metavar="SCHEDULER",
                    help="local:W (a local cluster) or a scheduler address")
    ap.add_argument("--check-dask", type=int, default=0, metavar="K")
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--docs", type=Path, default=None, metavar="DIR",
                    help="rewrite the calibration blocks of DIR/*.md (docs/analysis)")
    args = ap.parse_args()
    changes = {"n": args.n} if args.n else {}
    studies = [cal.BY_KEY[k] for k in (args.studies or list(cal.BY_KEY))]
    backend = dask_backend(args.dask) if args.dask else contextlib.nullcontext()
    n_jobs = -1 if args.dask else args.n_jobs
    rows = []
    timing = []
    with backend:
        for study in studies:
            start = time.perf_counter()
            null = cal.measure(study, "null", args.null, n_jobs=n_jobs, progress=True,
                               **changes)
            planted = cal.measure(study, "planted", args.planted, n_jobs=n_jobs,
                                  progress=True, **changes)
            seconds = time.perf_counter() - start
            timing.append((study.key, seconds, args.null + args.planted))
            for d, rn, rp in zip(study.decisions, null, planted, strict=True):
                rows.append((d, rn, rp))
            print(f"{study.key}: {args.null} null + {args.planted} planted cohorts in "
                  f"{seconds:.0f} s", file=sys.stderr, flush=True)
            if args.dask and args.check_dask:
                k = min(args.check_dask, args.null)
                on_dask = cal.calls(study, "null", k, n_jobs=n_jobs, **changes)
                local = cal.calls(study, "null", k, n_jobs=1, **changes)
                same = bool((on_dask == local).all())
                print(f"  dask vs in-process, {k} null cohorts x {on_dask.shape[1]} "
                      f"decision(s): {'identical' if same else 'DIFFERENT'}", file=sys.stderr)
    text = cal.table(rows)
    scenarios = "\n".join(f"- {s.key} ({s.method}): null = {s.null.but(**changes).name} "
                          f"(N = {s.null.but(**changes).n}, {s.null.n_sites} centres); planted = "
                          f"{s.planted.but(**changes).name}" for s in studies)
    notes = "\n".join(f"- {d.label}: {d.note}" for d, _, _ in rows if d.note)
    total = sum(t for _, t, _ in timing)
    runs = sum(n for _, _, n in timing)
    footer = (f"\n{runs} cohorts in {total:.0f} s wall "
              f"({'dask ' + args.dask if args.dask else f'n_jobs={n_jobs}'})")
    print(text)
    print("\nScenarios:\n" + scenarios)
    print("\nNotes:\n" + notes)
    print(footer)
    failed = [d.label for d, rn, _ in rows if not cal.within(d, rn)]
    if failed:
        print("\nOUTSIDE THE BAND: " + "; ".join(failed))
    if args.docs:
        header = (f"{args.null} null and {args.planted} planted cohorts per study "
                  f"(`benchmarks/bench_calibration.py`, {time.strftime('%Y-%m-%d')}).")
        for page in write_docs(args.docs, rows, header):
            print(f"updated {page}", file=sys.stderr)
    if args.markdown:
        args.markdown.write_text(text + "\n\n" + scenarios + "\n\n" + notes + "\n" + footer
                                 + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
