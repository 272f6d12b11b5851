"""``kbtools run-experiment``: resolve a config, load the cohort, run the method, publish a run.

Order of work: read the config -> apply ``--set`` overrides (unknown keys are errors) ->
refuse templates -> validate against the experiment and method-parameter schemas -> design
checks (errors refuse, warnings are printed and recorded) -> load and check the cohort ->
the method's preflight (everything it would refuse on this cohort) -> ``--dry-run`` prints the
plan and stops -> run the method -> disclosure guard -> draw the figures (each in isolation)
-> write the run directory in staging -> rename it into ``kb/runs``.

Inputs given with ``--data`` usually live outside the KB (restricted data): run.yaml records
them by role, dataset card, checksum, size and rows (the file name only with
``--record-data-names``), and no value of any run file holds a location outside the KB
(:mod:`.redaction`).
"""

from __future__ import annotations

import copy
import hashlib
import re
import shlex
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kbtools.errors import KBToolsError

PLACEHOLDER = re.compile(r"^\s*(<[^>]*>|TBD|TODO|FIXME|CHANGEME|FILL[ _-]?ME|\?\?+|\.\.\.)\s*$",
                         re.IGNORECASE)


class ConfigError(KBToolsError):
    """The config cannot run as written (exit 1)."""

    exit_code = 1


@dataclass
class RunOptions:
    config_path: Path
    kb_root: Path
    overrides: list[str] = field(default_factory=list)
    data: dict[str, Path] = field(default_factory=dict)
    id_columns: dict[str, str] = field(default_factory=dict)
    """Role (or ``*``) -> id column (``--id-column``)."""
    seed: int | None = None
    n_jobs: int | None = 1
    dask: str | None = None
    """``local:W`` or a scheduler address (``--dask``); None runs without Dask."""
    dry_run: bool = False
    runs_dir: Path | None = None
    quiet: bool = False
    command: str = ""
    record_data_names: bool = False
    """Record the file names of data outside the KB (``--record-data-names``)."""


# ---------------------------------------------------------------------------------------------
# config resolution


def load_config(path: Path) -> dict[str, Any]:
    from kbtools.yamlio import YAMLLoadError, load_file

    if not path.is_file():
        raise KBToolsError("config file not found", path=str(path))
    try:
        config = load_file(path)
    except YAMLLoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise ConfigError(exc.message, path=where, hint=exc.hint) from None
    if not isinstance(config, dict):
        raise ConfigError("an experiment config is a YAML mapping", path=str(path))
    return config


def placeholders(data: Any, path: str = "") -> list[str]:
    """Dotted paths of placeholder values (``<...>``, TBD, TODO, ...)."""
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += placeholders(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += placeholders(v, f"{path}[{i}]")
    elif isinstance(data, str) and PLACEHOLDER.match(data):
        out.append(path)
    return out


def _schema_knows(schema: dict[str, Any], parts: list[str], root: dict[str, Any]) -> bool:
    node = schema
    for part in parts:
        if "$ref" in node:
            node = root.get("$defs", {}).get(str(node["$ref"]).rsplit("/", 1)[1], {})
        props = node.get("properties") or {}
        if part in props:
            node = props[part]
        elif part.isdigit() and isinstance(node.get("items"), dict):  # list index: outcomes.0
            node = node["items"]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            # a free-form object (e.g. params without a method schema) accepts any key
            return node.get("type") == "object" and "additionalProperties" not in node \
                and not props
    return True


def apply_overrides(config: dict[str, Any], overrides: list[str],
                    kb_root: Path | None = None) -> dict[str, Any]:
    """A copy of ``config`` with ``key.path=value`` overrides (values parsed as YAML); keys
    are those of the experiment schema, with the KB's own declared fields."""
    from kbtools.schemas import method_params_schema
    from kbtools.yamlio import YAMLLoadError, loads

    out = copy.deepcopy(config)
    schema = config_schema(kb_root)
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = [p for p in key.strip().split(".") if p]
        if not sep or not parts:
            raise KBToolsError(f"--set {item!r}: expected key.path=value",
                               hint="e.g. --set params.n_permutations=200")
        try:
            value = loads(raw) if raw.strip() else ""
        except YAMLLoadError as exc:
            raise KBToolsError(f"--set {item!r}: {exc.message}") from None
        if parts[0] == "params":
            method = str(out.get("method", ""))
            pschema = method_params_schema(method)
            known = (pschema is None and len(parts) > 1) or (
                pschema is not None and _schema_knows(pschema, parts[1:], pschema))
        elif parts[0] == "data" and len(parts) > 1 and parts[1] not in (out.get("data") or {}):
            known = False
        else:
            known = _schema_knows(schema, parts, schema)
        if not known:
            raise KBToolsError(f"--set {key}: unknown config key",
                               hint="use a key the experiment config (or the method's "
                                    "params schema) defines; see `kbtools schema show "
                                    "experiment`")
        _set_path(out, parts, value, key)
    return out


def _set_path(config: dict[str, Any], parts: list[str], value: Any, key: str) -> None:
    """Set ``config[parts...] = value``; a digit indexes an existing list item
    (``params.outcomes.0.column=phq9_total``)."""
    node: Any = config
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KBToolsError(f"--set {key}: the list at {'.'.join(parts[:i])} has "
                                   f"{len(node)} item(s); index {part} does not exist",
                                   hint="set the whole list instead, e.g. --set "
                                        f"{'.'.join(parts[:i])}='[...]'")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
            continue
        if last:
            node[part] = value
        else:
            if parts[i + 1].isdigit() and not isinstance(node.get(part), list):
                raise KBToolsError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a list in "
                                   "this config", hint="set the whole list, e.g. --set "
                                                       f"{'.'.join(parts[:i + 1])}='[...]'")
            if not isinstance(node.get(part), dict | list):
                node[part] = {}
            node = node[part]


def config_schema(kb_root: Path | None) -> dict[str, Any]:
    """The experiment config schema as ``kbtools validate`` applies it: built in, plus the
    fields the KB declares (kb/schemas/extensions.yaml)."""
    from kbtools.schemas import load_schema
    from kbtools.schemas.extensions import load_kb_schemas

    if kb_root is None:
        return load_schema("experiment_config")
    return load_kb_schemas(kb_root).schema("experiment_config")


def config_problems(config: Any, kb_root: Path | None = None) -> list[str]:
    """Schema problems of a config: the experiment schema (with the KB's extensions when
    ``kb_root`` is given) and the method's params schema."""
    from kbtools.schemas import method_params_schema
    from kbtools.schemas.engines import explaining_validator

    problems = []
    for err in explaining_validator(config_schema(kb_root), formats=False).iter_errors(config):
        problems.append(f"{'.'.join(map(str, err.absolute_path)) or '(top)'}: {err.message}")
    method = config.get("method") if isinstance(config, dict) else None
    pschema = method_params_schema(str(method))
    if pschema is not None and isinstance(config.get("params", {}), dict):
        for err in explaining_validator(pschema, formats=False).iter_errors(
                config.get("params", {})):
            loc = ".".join(["params", *map(str, err.absolute_path)])
            problems.append(f"{loc}: {err.message}")
    return problems


def validate_config(config: dict[str, Any], path: Path, kb_root: Path | None = None) -> None:
    """Schema validation of the config and its method params; ConfigError on the first few."""
    problems = config_problems(config, kb_root)
    if problems:
        raise ConfigError("config is not valid:\n  " + "\n  ".join(problems[:10]),
                          path=str(path), hint="fix the fields above (kbtools validate "
                                               "shows them with line numbers)")


def _config_inside_kb(path: Path, kb_root: Path) -> None:
    """A run records its config's path and hash, so the config must be a file of the KB."""
    from kbtools.errors import PathOutsideKB
    from kbtools.kb import resolve_inside

    if not Path(path).exists():
        return  # load_config says the file is missing
    try:
        resolve_inside(kb_root, Path(path).absolute())
    except PathOutsideKB as exc:
        raise ConfigError(f"the config {exc.message} [{exc.rule}]", path=str(path),
                          hint="copy the config into configs/experiments/ of the KB and run "
                               "that copy") from None


def resolve(opts: RunOptions) -> tuple[dict[str, Any], list[str]]:
    """The resolved config and the design warnings; raises on anything that cannot run."""
    from kbtools.config_rules import design_checks

    _config_inside_kb(opts.config_path, opts.kb_root)
    raw = load_config(opts.config_path)
    from kbtools.config_rules.runnable import not_runnable, status_note

    plan_only = not_runnable(raw, opts.kb_root, str(opts.config_path), bound=set(opts.data),
                             dry_run=opts.dry_run)
    if plan_only is not None:  # a plan (status: planning, no method or tables): say what it needs
        raise plan_only
    fields = placeholders(raw)
    if fields or (raw.get("status") == "template" and not opts.dry_run):
        raise ConfigError("this config is a template and cannot run"
                          + (f"; fill in: {', '.join(fields)}" if fields else
                             " (status: template)"),
                          path=str(opts.config_path),
                          hint="copy it, fill the fields listed and set status: complete")
    config = apply_overrides(raw, opts.overrides, opts.kb_root)
    if opts.seed is not None:
        config["seed"] = int(opts.seed)
    config.setdefault("seed", 0)
    validate_config(config, opts.config_path, opts.kb_root)
    from kbtools.experiments.cv import resolve_columns

    config = resolve_columns(config)
    issues = design_checks.check_design(config)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise ConfigError("the design cannot work:\n  " + "\n  ".join(
            f"{'.'.join(map(str, i.json_path))}: {i.message} (fix: {i.hint})" for i in errors),
            path=str(opts.config_path))
    warnings = [f"{'.'.join(map(str, i.json_path))}: {i.message}" for i in issues
                if i.severity == "warning"]
    note = status_note(raw) if opts.dry_run else None
    return config, warnings + ([note] if note else [])


# ---------------------------------------------------------------------------------------------
# running


def _say(opts: RunOptions, text: str) -> None:
    if not opts.quiet:
        print(text, file=sys.stderr)


def plan(config: dict[str, Any], cohort: Any, n_jobs: int | None = 1) -> str:
    """A human-readable plan: subjects, folds, feature dimensions, permutations, and the
    estimated peak memory and time."""
    from kbtools.experiments import cv, estimate

    lines = [f"experiment {config['id']} ({config['method']}), seed {config['seed']}",
             f"subjects: {cohort.inventory['n_subjects']}, with every modality: "
             f"{cohort.inventory['n_complete']}"
             + (f" ({cohort.inventory['dropped_incomplete']} left out for missing values)"
                if cohort.inventory.get("dropped_incomplete") else ""),
             f"site column: {cv.site_column(config)!r}; folds grouped by "
             f"{cv.group_column(config)!r}" if (config.get("cv") or {}).get(
                 "scheme", cv.DEFAULT_SCHEME) in cv.GROUPED else
             f"site column: {cv.site_column(config)!r}",
             "id columns: " + ", ".join(f"{r} {s['id_column']!r}"
                                        for r, s in cohort.sources.items())]
    for role, inv in cohort.inventory["roles"].items():
        pcs = ((config.get("preprocessing") or {}).get("pca") or {}).get(role)
        dim = f"{inv['features']} features" + (
            " -> PCA auto (one component per 10 training subjects, split over two blocks)"
            if pcs == "auto" else
            f" -> PCA {pcs}" + (" (capped at the training rank)" if pcs < inv["features"] else
                                f" (capped at the {inv['features']} features)")
            if pcs else "")
        extra = "".join(f", {inv[k]} {label}" for k, label in (
            ("empty_rows", "empty rows"), ("incomplete_rows", "rows dropped for missing values"),
            ("imputed_values", "missing values imputed within each training fold"))
            if inv.get(k))
        lines.append(f"  {role}: {inv['present']} present, {inv['missing']} missing{extra}; "
                     f"{dim}")
    folds = cv.outer_folds(cohort, config.get("cv") or {}, config.get("outcome"),
                           config["seed"])
    complete = cohort.positions(cohort.complete_ids())
    for i, (tr, te) in enumerate(folds, 1):
        lines.append(f"  fold {i}: train {len(tr)} ({len(set(tr) & set(complete))} complete), "
                     f"test {len(te)} ({len(set(te) & set(complete))} complete)")
    params = config.get("params") or {}
    if "n_permutations" in params:
        lines.append(f"permutations (one test on every complete subject): "
                     f"{params['n_permutations']} "
                     f"(smallest p = {1 / (params['n_permutations'] + 1):.4g})")
    lines += estimate.estimate(config, cohort, folds, n_jobs).lines()
    return "\n".join(lines)


def check_memory(config: dict[str, Any], cohort: Any) -> None:
    """Refuse, before computing, a plan whose estimated memory exceeds this machine's RAM."""
    from kbtools.experiments import cv, estimate

    ram = estimate.physical_memory()
    if ram is None:
        return
    folds = cv.outer_folds(cohort, config.get("cv") or {}, config.get("outcome"),
                           config["seed"])
    need = estimate.estimate(config, cohort, folds, timed=False).memory_bytes
    if need > ram:
        raise KBToolsError(
            f"the plan needs about {estimate.human_bytes(need)} of memory; this machine has "
            f"{estimate.human_bytes(ram)}", hint="lower the counts (permutations, bootstraps, "
            "PCA dimensions) or use a larger machine; --dry-run shows the estimate")


def execute(opts: RunOptions) -> Path | None:
    """Run the experiment; return the published run directory (None for a dry run).

    BLAS is pinned to one thread throughout (parallelism comes from ``--n-jobs`` processes):
    two BLAS threads per process made small SVDs hundreds of times slower on shared cores.
    """
    import signal
    import threading

    from kbtools.experiments.parallel import single_threaded_blas

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through the staging cleanup like Ctrl-C

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        with single_threaded_blas():
            return _execute(opts)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _execute(opts: RunOptions) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")

    from kbtools import __version__
    from kbtools.experiments import disclosure, runlog
    from kbtools.experiments.cohort import load_cohort, source_record
    from kbtools.experiments.context import RunContext
    from kbtools.experiments.methods import get_method, method_subject_columns, preflight
    from kbtools.experiments.parallel import open_backend
    from kbtools.experiments.redaction import redactor_for
    from kbtools.run_folders import prepare as prepare_runs_dir
    from kbtools.yamlio import dump

    config, design_warnings = resolve(opts)
    for w in design_warnings:
        _say(opts, f"warning: {w}")
    seed = int(config["seed"])
    cohort = load_cohort(config, opts.kb_root, opts.data, seed, opts.id_columns,
                         method_subject_columns(config))
    data_warnings = list(cohort.notes) + preflight(cohort, config)
    # Before any computing: the run must be writable where it will be published.
    runs_dir, stale = prepare_runs_dir(opts.runs_dir or (opts.kb_root / "kb" / "runs"),
                                       opts.kb_root, dry_run=opts.dry_run)
    if stale:
        _say(opts, f"{'found' if opts.dry_run else 'removed'} {len(stale)} staging folder(s) "
                   "left by killed runs: " + ", ".join(p.name for p in stale))
    redactor = redactor_for(cohort, opts.kb_root, record_names=opts.record_data_names,
                            extra=[runs_dir])
    config_used = redactor.value(runlog.plain(config))
    recorded = config_problems(config_used, opts.kb_root)
    if recorded:  # e.g. a KB field whose pattern wants the very path that is taken out
        raise ConfigError("the config as the run would record it (config_used.yaml, locations "
                          "outside the KB taken out) does not match the experiment schema: "
                          + "; ".join(recorded[:3]), path=str(opts.config_path),
                          hint="keep locations outside the KB out of config values (give "
                               "data with --data); nothing was computed")
    if not opts.dry_run:
        check_memory(config, cohort)
    if opts.dry_run:
        from kbtools.experiments.methods import diagnostics

        print(plan(config, cohort, _planned_workers(opts)))
        for line in diagnostics(cohort, config):
            print(f"sites: {line}")
        for w in design_warnings + data_warnings:
            print(f"warning: {w}")
        print("dry run: nothing computed, nothing written")
        return None
    with open_backend(opts.n_jobs, opts.dask) as backend:
        started = runlog.utc_now()
        ctx = RunContext(seed=seed, n_jobs=backend.n_jobs, progress=not opts.quiet)
        where = "" if backend.kind == "in-process" else (
            f" with {backend.workers} {backend.kind} worker(s)" if backend.kind == "processes"
            else f" on Dask ({backend.scheduler}, {backend.workers} worker(s))")
        _say(opts, f"running {config['id']} ({config['method']}) on "
                   f"{cohort.inventory['n_complete']} complete subjects{where} ...")
        result = get_method(config["method"])(cohort, config, ctx)
        finished = runlog.utc_now()
    inputs = [runlog.plain(source_record(src, opts.kb_root, opts.record_data_names))
              for src in cohort.sources.values()]
    guarded = guard(result, cohort, inputs=inputs)
    report = guarded.report
    config_text = opts.config_path.read_bytes()
    name = runlog.run_id(config["id"], started)
    warnings = design_warnings + data_warnings + list(result.warnings)
    outside = outside_locations(cohort, opts.kb_root)
    with runlog.staged_run_dir(runs_dir) as staging:
        files = ["run.yaml", "config_used.yaml", "metrics.yaml", "per_fold_metrics.csv"]
        metrics = redactor.value({
            "id": name, "method": config["method"], "experiment": config["id"],
            "summary": guarded.summary, "per_fold": guarded.per_fold, "counts": guarded.counts,
            "inventory": guarded.inventory, "suppressed": list(report.suppressed)})
        runlog.write_text_atomic(staging / "config_used.yaml",
                                 "# Resolved config of this run (overrides applied).\n"
                                 + dump(config_used))
        runlog.write_text_atomic(staging / "metrics.yaml", dump(metrics))
        runlog.write_text_atomic(staging / "per_fold_metrics.csv",
                                 runlog.per_fold_csv(metrics["per_fold"]))
        for fname, problem in draw_figures(result.figures, guarded.shown, staging):
            if problem is None:
                files.append(fname)
            else:
                warnings.append(f"figure {fname} was not drawn ({problem}); the run's numbers "
                                "are unaffected")
        run = RunRecord(
            id=name, experiment=config["id"], method=config["method"], command=opts.command,
            seed=seed, n_jobs=opts.n_jobs, execution=backend.record(),
            config_path=kb_relative(opts.config_path, opts.kb_root),
            config_sha256=hashlib.sha256(config_text).hexdigest(),
            overrides=[redact_setting(o, opts.kb_root, opts.record_data_names)
                       for o in opts.overrides],
            started=runlog.iso(started), finished=runlog.iso(finished),
            duration_s=round((finished - started).total_seconds(), 2),
            kbtools_version=__version__, python=sys.version.split()[0],
            packages=runlog.package_versions(), git=runlog.git_state(opts.kb_root),
            inputs=guarded.inputs,
            datasets=sorted({s["dataset"] for s in cohort.sources.values()}),
            headline=guarded.headline, warnings=warnings, files=files)
        # metrics and csv are scanned before run.yaml is finalised with the scan's result
        disclosure.scan_folder(staging, _scan_ids(cohort), report, outside, redactor.leaks)
        run.disclosure = report.as_dict() | {"scanned_files": report.scanned_files + 1}
        record = redactor.value(run.as_dict())
        text = dump(record)
        disclosure.scan_values("run.yaml", record, _scan_ids(cohort), redactor.leaks)
        disclosure.scan_text("run.yaml", text, _scan_ids(cohort), outside)
        runlog.write_text_atomic(staging / "run.yaml", text)
        _validate_outputs(staging, opts.kb_root)
        target = runlog.publish(staging, runs_dir, name)
    _say(opts, _summary_text(guarded.headline, report, target))
    for w in warnings:
        _say(opts, f"warning: {w}")
    print(target)
    return target


def _planned_workers(opts: RunOptions) -> int | None:
    """Workers a run would use: ``--n-jobs``, the W of ``--dask local:W``, or the worker
    threads of a running scheduler (asked, nothing is computed)."""
    from kbtools.experiments.parallel import open_backend, parse_dask

    if not opts.dask:
        return opts.n_jobs
    local = parse_dask(opts.dask)
    if local is not None:
        return local
    with open_backend(dask=opts.dask) as backend:
        return backend.workers


@dataclass
class RunRecord:
    """What run.yaml says about a run (schema ``run_log``), in the order it is written."""

    id: str
    experiment: str
    method: str
    command: str
    seed: int
    n_jobs: int | None
    execution: dict[str, Any]
    """Where it ran: backend, workers, threads per worker (and the Dask scheduler, hosts)."""
    config_path: str
    config_sha256: str
    overrides: list[str]
    started: str
    finished: str
    duration_s: float
    kbtools_version: str
    python: str
    packages: dict[str, str]
    git: dict[str, Any]
    inputs: list[dict[str, Any]]
    datasets: list[str]
    headline: dict[str, Any]
    warnings: list[str]
    files: list[str]
    run_status: str = "completed"
    disclosure: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in ("id", "experiment", "method", "run_status",
                                             "command", "seed", "n_jobs", "execution")}
        out |= {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in out and f.name != "files"}
        return out | {"files": self.files}


@dataclass
class Guarded:
    """A method's result after the disclosure guard (what may be published)."""

    summary: dict[str, Any]
    per_fold: list[dict[str, Any]]
    counts: dict[str, Any]
    inventory: dict[str, Any]
    headline: dict[str, Any]
    report: Any
    shown: Any
    inputs: list[dict[str, Any]] = field(default_factory=list)
    """run.yaml's ``inputs``, row counts withheld where the totals rule needs it."""


def guard(result: Any, cohort: Any, min_cell: int | None = None,
          inputs: list[dict[str, Any]] | None = None) -> Guarded:
    """Withhold small rows, then small counts (see :mod:`kbtools.experiments.disclosure`),
    then the totals from which a withheld count would follow (:mod:`.totals`).

    The headline is withheld whole when any summary entry was, or when the run's own class
    counts (``counts``) are below the minimum: it repeats summary numbers.
    """
    from kbtools.experiments import disclosure, runlog, totals

    report = disclosure.DisclosureReport(**({"min_cell": min_cell} if min_cell else {}))
    shown = disclosure.Shown(min_cell=report.min_cell)
    per_fold = disclosure.suppress_small_rows([runlog.plain(r) for r in result.per_fold],
                                              "per_fold", report, shown)
    summary = disclosure.suppress_small_entries(runlog.plain(result.summary), "summary",
                                                report, shown)
    headline = runlog.plain(result.headline)
    counts = runlog.plain(result.counts)
    run_cells = disclosure.row_cells(counts).get("")
    small_run = run_cells is not None and run_cells["classes"] \
        and min(run_cells["classes"]) < report.min_cell
    if headline and (shown.hidden_summary or small_run):
        headline = {k: disclosure.WITHHELD for k in headline}
        report.rows.append(disclosure.RowSuppression(
            "headline", "repeats summary numbers that were withheld" if shown.hidden_summary
            else f"smallest class count below {report.min_cell}"))
        shown.hidden_summary.add("headline")
    counts = disclosure.suppress_small_counts(counts, "counts", report, all_counts=True)
    inventory = disclosure.suppress_small_counts(runlog.plain(cohort.inventory), "inventory",
                                                 report, all_counts=True)
    inventory, counts, inputs, complementary = totals.withhold_run(
        inventory, counts, list(inputs or []), report.min_cell)
    report.complementary.extend(complementary)
    return Guarded(
        summary=disclosure.suppress_small_counts(summary, "summary", report),
        per_fold=[disclosure.suppress_small_counts(r, f"per_fold[{i}]", report)
                  for i, r in enumerate(per_fold)],
        counts=counts, inventory=inventory,
        headline=disclosure.suppress_small_counts(headline, "headline", report),
        report=report, shown=shown, inputs=inputs)


def draw_figures(figures: dict[str, Any], shown: Any,
                 folder: Path) -> list[tuple[str, str | None]]:
    """Draw and save each figure on its own; (file name, problem or None) per figure.

    A figure is a matplotlib Figure or a function of :class:`disclosure.Shown` returning
    one. Any failure while drawing or saving is reported, never raised: a plot must not
    lose a run's numbers.
    """
    from kbtools.experiments.figures import save as save_figure

    out: list[tuple[str, str | None]] = []
    for fname, fig in figures.items():
        target = folder / fname
        try:
            made = fig(shown) if callable(fig) and not hasattr(fig, "savefig") else fig
            if made is None:  # nothing may be shown
                out.append((fname, "everything it would show was withheld by the "
                                   "disclosure guard"))
                continue
            save_figure(made, target)  # readable on the site (kbtools.experiments.figures)
            out.append((fname, None))
        except Exception as exc:  # noqa: BLE001 - any plotting bug is reported, not fatal
            target.unlink(missing_ok=True)
            out.append((fname, f"{type(exc).__name__}: {exc}"))
    return out


def outside_locations(cohort: Any, kb_root: Path) -> list[str]:
    """Absolute paths (and their folders) of inputs read from outside the KB."""
    from kbtools.kb import is_inside

    places: set[str] = set()
    for src in cohort.sources.values():
        if src.get("generated") or is_inside(kb_root, src["path"]):
            continue
        for path in {Path(src["path"]).absolute(), Path(src["path"]).resolve()}:
            places.add(str(path))
            if str(path.parent) not in ("/", ""):
                places.add(str(path.parent))
    return sorted(places, key=len, reverse=True)


def kb_relative(path: Path | str, kb_root: Path, record_names: bool = False) -> str:
    """``path`` relative to the KB root; a path outside it is ``<outside-kb>``
    (``<outside-kb>/NAME`` with ``record_names``)."""
    from kbtools.experiments.redaction import OUTSIDE
    from kbtools.kb import is_inside

    p = Path(path).expanduser().absolute()  # command-line paths are relative to the cwd
    if is_inside(kb_root, p):
        return p.resolve().relative_to(Path(kb_root).resolve()).as_posix()
    return f"{OUTSIDE}/{p.name}" if record_names else OUTSIDE


def _scan_ids(cohort: Any) -> list[str]:
    ids = set(cohort.subjects.index)
    for block in cohort.blocks.values():
        ids.update(block.index)
    return list(ids)


def _validate_outputs(folder: Path, kb_root: Path) -> None:
    """Every YAML file of the staged run against its schema, before the run is published:
    run.yaml, metrics.yaml, and config_used.yaml against the experiment schema with the KB's
    extensions and the method's params schema."""
    from kbtools.schemas import load_schema
    from kbtools.schemas.engines import explaining_validator
    from kbtools.yamlio import load_file

    for fname, schema in (("run.yaml", "run_log"), ("metrics.yaml", "run_metrics")):
        errors = list(explaining_validator(load_schema(schema), formats=False)
                      .iter_errors(load_file(folder / fname)))
        if errors:  # a bug in kbtools, not in the user's input
            raise KBToolsError(f"internal error: {fname} does not match the {schema} schema: "
                               f"{errors[0].message} at {list(errors[0].absolute_path)}")
    problems = config_problems(load_file(folder / "config_used.yaml"), kb_root)
    if problems:
        raise KBToolsError("config_used.yaml does not match the experiment schema (with this "
                           f"KB's extensions): {problems[0]}; nothing was published",
                           hint="this is a kbtools bug; please report it with the config")


def _summary_text(headline: dict[str, Any], report: Any, target: Path) -> str:
    head = ", ".join(f"{k}={v}" for k, v in headline.items())
    parts = []
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} small count(s)")
    if report.rows:
        parts.append(f"{len(report.rows)} row(s) built from too few subjects")
    withheld = f"; disclosure guard withheld {' and '.join(parts)}" if parts else ""
    return f"done: {head}{withheld}\nrun log:"


def _starts_like_path(text: str) -> bool:
    return text.startswith(("/", "~", "./", "../")) or text[1:3] in (":\\", ":/")


def redact_setting(item: str, kb_root: Path, record_names: bool = False) -> str:
    """A ``--set key=value`` with a value that is a path outside the KB reduced to
    ``<outside-kb>`` (values that merely contain a slash, e.g. regexes, are kept; paths inside
    texts are taken out by :mod:`.redaction`)."""
    key, sep, value = item.partition("=")
    if sep and _starts_like_path(value):
        return f"{key}={kb_relative(value, kb_root, record_names)}"
    return item


def command_line(argv: list[str] | None = None, kb_root: Path | None = None,
                 record_names: bool = False) -> str:
    """The command as run, for run.yaml: paths inside the KB relative to its root, paths
    outside it (restricted data, scratch folders) as ``<outside-kb>`` (``<outside-kb>/NAME``
    with ``record_names``).

    Paths are the config, ``--data`` values, ``--runs-dir`` / ``--kb-root`` and ``--set``
    values that start like a path.
    """
    words = list(argv if argv is not None else sys.argv[1:])
    if kb_root is not None:
        out = []
        for i, word in enumerate(words):
            prev = words[i - 1] if i else ""
            if prev == "--data":
                role, _, path = word.partition("=")
                word = f"{role}={kb_relative(path, kb_root, record_names)}"
            elif prev in ("--runs-dir", "--kb-root"):
                word = kb_relative(word, kb_root, record_names)
            elif prev == "--set":
                word = redact_setting(word, kb_root, record_names)
            elif not word.startswith("-") and prev not in VALUE_FLAGS and (
                    "/" in word or Path(word).exists()):
                word = kb_relative(word, kb_root, record_names)
            out.append(word)
        words = out
    return shlex.join(["kbtools", *words])


#: Options of run-experiment that take a value (the word after them is not a path of its own).
VALUE_FLAGS = ("--set", "--data", "--id-column", "--seed", "--n-jobs", "--dask", "--runs-dir",
               "--kb-root")


def parse_data(items: list[str]) -> dict[str, Path]:
    out = {}
    for item in items:
        role, sep, path = item.partition("=")
        if not sep or not role.strip() or not path:
            raise KBToolsError(f"--data {item!r}: expected ROLE=PATH",
                               hint="e.g. --data subjects=/secure/ukb/subjects.csv")
        if role.strip() in out:
            raise KBToolsError(f"--data gives role {role.strip()!r} twice")
        out[role.strip()] = Path(path)
    return out


def parse_id_columns(items: list[str]) -> dict[str, str]:
    """``--id-column`` values: ``ROLE=COLUMN`` for one role, or ``COLUMN`` for every role."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, column = item.partition("=")
        role, column = (role.strip(), column.strip()) if sep else ("*", role.strip())
        if not role or not column:
            raise KBToolsError(f"--id-column {item!r}: expected ROLE=COLUMN or COLUMN",
                               hint="e.g. --id-column eid (every table) or "
                                    "--id-column subjects=eid")
        out[role] = column
    return out

