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

``--docs DIR`` rewrites the calibration blocks of ``DIR/*.md``: the rows of the studies just
measured replace their old rows, the other studies' rows stay (each study's cohort counts and
date are listed under the table), so one study can be re-measured alone.

``--power`` instead measures the escalation verdict's power over a grid of cohort sizes and
effect sizes (``--power-n``, ``--power-effects``: multiples of the planted gene and brain
effects of the ``prediction`` study, ``--power-cohorts`` cohorts per cell) and, with
``--docs``, writes the power table into the ``calibration:power`` block and the figure
``DIR/img/escalation_power.png``.

    .venv/bin/python benchmarks/bench_calibration.py [--null 200] [--planted 100] [--n-jobs 2]
        [--studies cca_null prediction ...] [--n 600] [--dask local:2 [--check-dask 8]]
        [--markdown table.md] [--docs docs/analysis]
    .venv/bin/python benchmarks/bench_calibration.py --power [--power-n 600 1200 2400 4800]
        [--power-effects 0.5 0.75 1 1.25] [--power-cohorts 40] [--power-cache cells.json]
        [--docs docs/analysis]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "experiments" / "calibration"))

import caldecisions as cal  # noqa: E402

#: Docs blocks ``<!-- calibration:KEY -->`` ... ``<!-- /calibration:KEY -->`` and their studies.
DOC_BLOCKS = {"cca": ("cca_null", "cca_one_mode", "cca_hetero", "cca_hetero_previous",
                      "cca_age_centre", "cca_age_slope", "cca_messy", "cca_mislabelled",
                      "cca_ukb", "cca_ukb_age"),
              "prediction": ("prediction", "prediction_5fold", "prediction_boundary"),
              "logo": ("logo",), "partial": ("partial",), "harmonization": ("harmonization",),
              "pca": ("pca",), "all": tuple(cal.BY_KEY)}
_ROW = re.compile(r"^\| (?P<label>[^|]+?) \|")
_SOURCE = re.compile(r"^- `(?P<key>[a-z0-9_]+)`: ")


def merge_block(old: str, keys: tuple[str, ...], rows: list, sources: dict[str, str]) -> str:
    """The block's table with the rows of the studies just measured (``rows``) in place of
    their old rows, the other studies' rows kept, in the order of ``keys``; and the list of
    where each study's rows come from (``sources``: study -> cohorts and date)."""
    old_rows = {m["label"]: line for line in old.splitlines() if (m := _ROW.match(line))}
    old_sources = {m["key"]: line for line in old.splitlines() if (m := _SOURCE.match(line))}
    new_rows = {d.label: line for (d, _, _), line in
                zip(rows, cal.table(rows).splitlines()[2:], strict=True)}
    lines = cal.table([]).splitlines()
    listed = []
    for key in keys:
        study = cal.BY_KEY[key]
        kept = [new_rows.get(d.label) or old_rows.get(d.label) for d in study.decisions]
        lines += [line for line in kept if line]
        if key in sources:
            listed.append(f"- `{key}`: {sources[key]}")
        elif key in old_sources and any(kept):
            listed.append(old_sources[key])
    return "\n".join(lines) + "\n\nCohorts behind each study's rows:\n\n" + "\n".join(listed)


def write_docs(folder: Path, rows: list, sources: dict[str, str]) -> list[Path]:
    """Update every calibration block in ``folder/*.md`` with the rows just measured."""
    changed = []
    for page in sorted(folder.glob("*.md")):
        text = page.read_text()
        new = text
        for key, keys in DOC_BLOCKS.items():
            if not set(keys) & set(sources):
                continue
            pattern = re.compile(rf"<!-- calibration:{key} -->\n(.*?)<!-- /calibration:{key} -->",
                                 re.S)
            new = pattern.sub(lambda m, k=key, ks=keys: (
                f"<!-- calibration:{k} -->\n{merge_block(m.group(1), ks, rows, sources)}\n"
                f"<!-- /calibration:{k} -->"), new)
        if new != text:
            page.write_text(new)
            changed.append(page)
    return changed


def power_grid(sizes: list[int], effects: list[float], cohorts: int, n_jobs: int,
               cache: Path | None = None) -> list[dict[str, float]]:
    """The escalation verdict on the ``prediction`` study's planted scenario with its gene
    and brain effects scaled by each of ``effects``, at each cohort size: how often it fires
    and the AUROC gain that decided it (median over cohorts). Cells already in ``cache`` (a
    JSON file the grid writes after every cell) are not measured again."""
    import json

    study = cal.BY_KEY["prediction"]
    base = study.planted
    done = json.loads(cache.read_text()) if cache and cache.exists() else {}
    out = []
    for effect in effects:
        for n in sizes:
            key = f"x{effect:g} N={n} cohorts={cohorts}"
            if key in done:
                out.append(done[key])
                continue
            start = time.perf_counter()
            got = cal.numbers(study, "planted", cohorts, "verdict", n_jobs=n_jobs,
                              progress=True, n=n,
                              gene_mdd=tuple(effect * g for g in base.gene_mdd),
                              brain_mdd=effect * base.brain_mdd)
            out.append({"effect": effect, "n": n, "hits": int(got[:, 0].sum()),
                        "cohorts": cohorts, "gain": float(np.nanmedian(got[:, 2])),
                        "seconds": time.perf_counter() - start})
            print(f"power: effect x{effect} N = {n}: {out[-1]['hits']}/{cohorts}, median "
                  f"gain {out[-1]['gain']:+.3f} ({out[-1]['seconds']:.0f} s)", file=sys.stderr,
                  flush=True)
            if cache:
                done[key] = out[-1]
                cache.write_text(json.dumps(done, indent=1))
    return out


def power_table(grid: list[dict[str, float]]) -> str:
    """Rows: effect (its gene and brain log-odds, the median gain at the largest N); columns:
    cohort size; cells: the verdict's rate with its count."""
    base = cal.BY_KEY["prediction"].planted
    sizes = sorted({int(g["n"]) for g in grid})
    effects = sorted({g["effect"] for g in grid})
    lines = ["| effect (gene, brain log-odds per SD) | median decisive gain, N = "
             f"{sizes[-1]:,} | " + " | ".join(f"N = {n:,}" for n in sizes) + " |",
             "|---|---|" + "---|" * len(sizes)]
    for effect in effects:
        cells = {int(g["n"]): g for g in grid if g["effect"] == effect}
        top = cells[sizes[-1]]["gain"]
        lines.append(f"| x{effect:g} ({effect * base.gene_mdd[0]:.2g}, "
                     f"{effect * base.brain_mdd:.2g}) | {top:+.3f} | " + " | ".join(
                         f"{cells[n]['hits'] / cells[n]['cohorts']:.0%} "
                         f"({cells[n]['hits']}/{cells[n]['cohorts']})" for n in sizes) + " |")
    return "\n".join(lines)


def power_figure(grid: list[dict[str, float]], path: Path) -> None:
    """Power of the verdict against cohort size, one line per effect, with 95% Wilson bands."""
    from matplotlib.figure import Figure
    from statsmodels.stats.proportion import proportion_confint

    base = cal.BY_KEY["prediction"].planted
    fig = Figure(figsize=(6.4, 4.4), dpi=110, layout="constrained")
    ax = fig.subplots()
    for effect in sorted({g["effect"] for g in grid}):
        cells = sorted((g for g in grid if g["effect"] == effect), key=lambda g: g["n"])
        n = np.array([g["n"] for g in cells])
        hits = np.array([g["hits"] for g in cells])
        total = np.array([g["cohorts"] for g in cells])
        lo, hi = proportion_confint(hits, total, method="wilson")
        gene, brain = effect * base.gene_mdd[0], effect * base.brain_mdd
        (line,) = ax.plot(n, hits / total, "o-", label=f"x{effect:g}: gene {gene:.2g}, brain "
                          f"{brain:.2g} (gain {cells[-1]['gain']:+.3f})")
        ax.fill_between(n, lo, hi, color=line.get_color(), alpha=0.12)
    ax.axhline(0.8, color="0.5", ls=":", label="80% power")
    ax.set_xscale("log")
    ax.minorticks_off()  # the cohort sizes are the only ticks
    ax.set_xticks(sorted({g["n"] for g in grid}), [f"{int(v):,}" for v in
                                                   sorted({g["n"] for g in grid})])
    ax.set(ylim=(0, 1.02), xlabel="subjects (12 centres, 10 site-grouped folds)",
           ylabel="escalation verdict fires",
           title="Power of the escalation verdict (alpha = 0.05)\nlegend: effect multiple: MDD "
                 "log-odds per SD\n(median decisive AUROC gain at the largest N)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


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
    ap.add_argument("--power", action="store_true",
                    help="measure the escalation verdict's power over --power-n x "
                         "--power-effects instead of the calibration table")
    ap.add_argument("--power-n", type=int, nargs="+", default=[600, 1200, 2400, 4800])
    ap.add_argument("--power-effects", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.25])
    ap.add_argument("--power-cohorts", type=int, default=40)
    ap.add_argument("--power-cache", type=Path, default=None, metavar="JSON",
                    help="cells measured so far (read, and written after each cell)")
    args = ap.parse_args()
    if args.power:
        power_main(args)
        return
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
        sources = {key: f"{args.null} null and {args.planted} planted cohorts, N = "
                        f"{cal.BY_KEY[key].null.but(**changes).n:,} "
                        f"(`benchmarks/bench_calibration.py`, {time.strftime('%Y-%m-%d')}, "
                        f"{seconds:.0f} s wall)" for key, seconds, _ in timing}
        for page in write_docs(args.docs, rows, sources):
            print(f"updated {page}", file=sys.stderr)
    if args.markdown:
        args.markdown.write_text(text + "\n\n" + scenarios + "\n\n" + notes + "\n" + footer
                                 + "\n")
    sys.exit(1 if failed else 0)


def power_main(args: argparse.Namespace) -> None:
    grid = power_grid(args.power_n, args.power_effects, args.power_cohorts, args.n_jobs,
                      args.power_cache)
    table = power_table(grid)
    seconds = sum(g["seconds"] for g in grid)
    footer = (f"{args.power_cohorts} planted cohorts per cell (`benchmarks/bench_calibration.py "
              f"--power`, {time.strftime('%Y-%m-%d')}, {seconds:.0f} s wall over the cells, "
              f"n_jobs = {args.n_jobs}).")
    print(table + "\n\n" + footer)
    if args.docs:
        power_figure(grid, args.docs / "img" / "escalation_power.png")
        for page in sorted(args.docs.glob("*.md")):
            text = page.read_text()
            new = re.sub(r"<!-- calibration:power -->\n.*?<!-- /calibration:power -->",
                         lambda _m: f"<!-- calibration:power -->\n{table}\n\n{footer}\n"
                                    "<!-- /calibration:power -->", text, flags=re.S)
            if new != text:
                page.write_text(new)
                print(f"updated {page}", file=sys.stderr)


if __name__ == "__main__":
    main()
