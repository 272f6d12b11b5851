"""Subcommands of the analysis core: ``run-experiment`` and ``synth-cohort``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run-experiment", help="run an experiment config and write a run log into kb/runs",
        description="Run an experiment config on the built-in analysis core. The run directory "
                    "is built in staging and appears in kb/runs only when complete.")
    p.add_argument("config", type=Path, help="experiment config (configs/experiments/*.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE",
                   help="override a config value (YAML value), e.g. params.n_permutations=200")
    p.add_argument("--data", action="append", default=[], metavar="ROLE=PATH",
                   help="read a data role from this CSV/TSV/Parquet file instead of the card's "
                        "(run.yaml records its checksum, size and rows, never its location)")
    p.add_argument("--id-column", action="append", default=[], metavar="[ROLE=]COLUMN",
                   help="the subject-id column of a role's table (e.g. subjects=eid), or of "
                        "every table (eid); default: the card's id_column, subject_id, or the "
                        "one well-known id column a table has (eid, participant_id, ...)")
    p.add_argument("--seed", type=int, help="seed (default: the config's seed, else 0)")
    p.add_argument("--n-jobs", type=int, default=1,
                   help="parallel worker processes on this machine through joblib (-1: all "
                        "cores; default 1)")
    p.add_argument("--dask", metavar="SCHEDULER",
                   help="run the long work on Dask: local:W starts a local cluster of W "
                        "single-threaded workers, tcp://HOST:PORT joins a running scheduler "
                        "(e.g. on an HPC allocation; see docs/analysis/scaling.md). Results "
                        "are identical to an in-process run")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and print the plan without computing or writing")
    p.add_argument("--runs-dir", type=Path, help="where run directories go (default kb/runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summaries")
    p.add_argument("--record-data-names", action="store_true",
                   help="record the file names of data outside the KB in the run log (by "
                        "default only role, checksum, size and rows: names can be sensitive)")
    p.set_defaults(handler=_run_experiment)

    s = subparsers.add_parser(
        "synth-cohort", help="write the built-in synthetic cohort (tables + ground truth)",
        description="Write the synthetic cohort (no real subjects): subjects, gene_embeddings "
                    "and smri_rois tables and ground_truth.yaml. Existing files are never "
                    "overwritten.")
    s.add_argument("outdir", type=Path)
    s.add_argument("--n-subjects", type=int, default=2000)
    s.add_argument("--n-sites", type=int, default=8)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--missing-fraction", type=float, default=0.0,
                   help="fraction of subjects lacking each modality (default 0)")
    s.add_argument("--format", choices=("csv", "parquet"), default="csv")
    s.set_defaults(handler=_synth_cohort)


def _run_experiment(args: argparse.Namespace) -> int:
    from kbtools.experiments.runner import (
        RunOptions,
        command_line,
        execute,
        parse_data,
        parse_id_columns,
    )
    from kbtools.kb import find_kb_root

    kb_root = find_kb_root(explicit=Path(args.kb_root) if args.kb_root else None)
    opts = RunOptions(config_path=args.config, kb_root=kb_root, overrides=args.overrides,
                      data=parse_data(args.data), id_columns=parse_id_columns(args.id_column),
                      seed=args.seed, n_jobs=args.n_jobs, dask=args.dask,
                      dry_run=args.dry_run,
                      runs_dir=args.runs_dir, quiet=args.quiet,
                      command=command_line(_words(args), kb_root, args.record_data_names),
                      record_data_names=args.record_data_names)
    execute(opts)
    return 0


def _words(args: argparse.Namespace) -> list[str]:
    """The run-experiment command line rebuilt from the parsed options (recorded in run.yaml
    after redaction; independent of how kbtools was invoked)."""
    words = ["run-experiment", str(args.config)]
    for flag, values in (("--set", args.overrides), ("--data", args.data),
                         ("--id-column", args.id_column)):
        for value in values:
            words += [flag, value]
    if args.seed is not None:
        words += ["--seed", str(args.seed)]
    if args.n_jobs != 1:
        words += ["--n-jobs", str(args.n_jobs)]
    if args.dask:
        words += ["--dask", args.dask]
    if args.runs_dir is not None:
        words += ["--runs-dir", str(args.runs_dir)]
    if args.record_data_names:
        words += ["--record-data-names"]
    return words


def _synth_cohort(args: argparse.Namespace) -> int:
    from kbtools.errors import KBToolsError
    from kbtools.experiments import synth
    from kbtools.experiments.parallel import single_threaded_blas

    try:
        with single_threaded_blas():
            cohort = synth.generate(n_subjects=args.n_subjects, n_sites=args.n_sites,
                                    seed=args.seed, missing_fraction=args.missing_fraction)
    except ValueError as exc:
        raise KBToolsError(str(exc), hint="see kbtools synth-cohort --help") from None
    for path in synth.write(cohort, args.outdir, args.format):
        print(path)
    return 0
