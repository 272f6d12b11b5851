"""``kbtools run-experiment``: resolve a config, load the cohort, run the method, publish a run.

Order of work: read the config -> apply ``--set`` overrides (unknown keys are errors) ->
refuse templates -> validate against the experiment and method-parameter schemas -> design
checks (errors refuse, warnings are printed and recorded) -> load and check the cohort ->
``--dry-run`` prints the plan and stops -> run the method -> disclosure guard -> write the run
directory in staging -> rename it into ``kb/runs``.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shlex
import sys
from dataclasses import dataclass, field
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
    seed: int | None = None
    n_jobs: int | None = 1
    dry_run: bool = False
    runs_dir: Path | None = None
    quiet: bool = False
    command: str = ""


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
            node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
        props = node.get("properties") or {}
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            # a free-form object (e.g. params without a method schema) accepts any key
            return node.get("type") == "object" and "additionalProperties" not in node \
                and not props
    return True


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``config`` with ``key.path=value`` overrides (values parsed as YAML)."""
    from kbtools.schemas import load_schema, method_params_schema
    from kbtools.yamlio import YAMLLoadError, loads

    out = copy.deepcopy(config)
    schema = load_schema("experiment_config")
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
                                    "params schema) defines; see `kbtools schema "
                                    "experiment_config`")
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def validate_config(config: dict[str, Any], path: Path) -> None:
    """Schema validation of the config and its method params; ConfigError on the first few."""
    import jsonschema

    from kbtools.schemas import load_schema, method_params_schema

    problems = []
    validator = jsonschema.Draft202012Validator(load_schema("experiment_config"))
    for err in validator.iter_errors(config):
        problems.append(f"{'.'.join(map(str, err.absolute_path)) or '(top)'}: {err.message}")
    pschema = method_params_schema(str(config.get("method")))
    if pschema is not None and isinstance(config.get("params", {}), dict):
        for err in jsonschema.Draft202012Validator(pschema).iter_errors(config.get("params", {})):
            loc = ".".join(["params", *map(str, err.absolute_path)])
            problems.append(f"{loc}: {err.message}")
    if problems:
        raise ConfigError("config is not valid:\n  " + "\n  ".join(problems[:10]),
                          path=str(path), hint="fix the fields above (kbtools validate "
                                               "shows them with line numbers)")


def resolve(opts: RunOptions) -> tuple[dict[str, Any], list[str]]:
    """The resolved config and the design warnings; raises on anything that cannot run."""
    from kbtools.experiments import design_checks

    raw = load_config(opts.config_path)
    if raw.get("status") == "template" or placeholders(raw):
        fields = placeholders(raw)
        raise ConfigError("this config is a template and cannot run"
                          + (f"; fill in: {', '.join(fields)}" if fields else
                             " (status: template)"),
                          path=str(opts.config_path),
                          hint="copy it, fill the fields listed and set status: complete")
    config = apply_overrides(raw, opts.overrides)
    if opts.seed is not None:
        config["seed"] = int(opts.seed)
    config.setdefault("seed", 0)
    validate_config(config, opts.config_path)
    issues = design_checks.check_design(config)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise ConfigError("the design cannot work:\n  " + "\n  ".join(
            f"{'.'.join(map(str, i.json_path))}: {i.message} (fix: {i.hint})" for i in errors),
            path=str(opts.config_path))
    warnings = [f"{'.'.join(map(str, i.json_path))}: {i.message}" for i in issues
                if i.severity == "warning"]
    return config, warnings


# ---------------------------------------------------------------------------------------------
# running


def _say(opts: RunOptions, text: str) -> None:
    if not opts.quiet:
        print(text, file=sys.stderr)


def plan(config: dict[str, Any], cohort: Any) -> str:
    """A human-readable plan: subjects, folds, feature dimensions, permutations."""
    from kbtools.experiments import cv

    lines = [f"experiment {config['id']} ({config['method']}), seed {config['seed']}",
             f"subjects: {cohort.inventory['n_subjects']}, with every modality: "
             f"{cohort.inventory['n_complete']}"]
    for role, inv in cohort.inventory["roles"].items():
        pcs = ((config.get("preprocessing") or {}).get("pca") or {}).get(role)
        dim = f"{inv['features']} features" + (f" -> PCA {pcs} (capped at the training rank)"
                                              if pcs else "")
        lines.append(f"  {role}: {inv['present']} present, {inv['missing']} missing; {dim}")
    folds = cv.outer_folds(cohort, config.get("cv") or {}, config.get("outcome"),
                           config["seed"])
    complete = cohort.positions(cohort.complete_ids())
    for i, (tr, te) in enumerate(folds, 1):
        lines.append(f"  fold {i}: train {len(tr)} ({len(set(tr) & set(complete))} complete), "
                     f"test {len(te)} ({len(set(te) & set(complete))} complete)")
    params = config.get("params") or {}
    if "n_permutations" in params:
        lines.append(f"permutations per fold: {params['n_permutations']} "
                     f"(smallest p = {1 / (params['n_permutations'] + 1):.4g})")
    return "\n".join(lines)


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
    from kbtools.experiments.cohort import load_cohort
    from kbtools.experiments.context import RunContext
    from kbtools.experiments.methods import get_method
    from kbtools.yamlio import dump

    config, design_warnings = resolve(opts)
    for w in design_warnings:
        _say(opts, f"warning: {w}")
    seed = int(config["seed"])
    cohort = load_cohort(config, opts.kb_root, opts.data, seed)
    if opts.dry_run:
        print(plan(config, cohort))
        print("dry run: nothing computed, nothing written")
        return None
    runs_dir = opts.runs_dir or (opts.kb_root / "kb" / "runs")
    started = runlog.utc_now()
    ctx = RunContext(seed=seed, n_jobs=opts.n_jobs, progress=not opts.quiet)
    _say(opts, f"running {config['id']} ({config['method']}) on "
               f"{cohort.inventory['n_complete']} complete subjects ...")
    result = get_method(config["method"])(cohort, config, ctx)
    finished = runlog.utc_now()
    report = disclosure.DisclosureReport()
    counts = disclosure.suppress_small_counts(runlog.plain(result.counts), "counts", report,
                                              all_counts=True)
    inventory = disclosure.suppress_small_counts(runlog.plain(cohort.inventory), "inventory",
                                                 report, all_counts=True)
    summary = disclosure.suppress_small_counts(runlog.plain(result.summary), "summary", report)
    per_fold = [disclosure.suppress_small_counts(runlog.plain(r), f"per_fold[{i}]", report)
                for i, r in enumerate(result.per_fold)]
    headline = disclosure.suppress_small_counts(runlog.plain(result.headline), "headline",
                                                report)
    config_text = opts.config_path.read_bytes()
    name = runlog.run_id(config["id"], started)
    warnings = design_warnings + list(result.warnings)
    with runlog.staged_run_dir(runs_dir) as staging:
        files = ["run.yaml", "config_used.yaml", "metrics.yaml", "per_fold_metrics.csv"]
        metrics = {"id": name, "method": config["method"], "experiment": config["id"],
                   "summary": summary, "per_fold": per_fold, "counts": counts,
                   "inventory": inventory, "suppressed": list(report.suppressed)}
        runlog.write_text_atomic(staging / "config_used.yaml",
                                 "# Resolved config of this run (overrides applied).\n"
                                 + dump(runlog.plain(config)))
        runlog.write_text_atomic(staging / "metrics.yaml", dump(metrics))
        runlog.write_text_atomic(staging / "per_fold_metrics.csv", runlog.per_fold_csv(per_fold))
        for fname, fig in result.figures.items():
            fig.savefig(staging / fname, dpi=110)
            files.append(fname)
        inputs = []
        for src in cohort.sources.values():
            entry = {k: src[k] for k in ("role", "dataset", "table", "path", "sha256", "bytes",
                                         "rows", "generated") if k in src}
            inputs.append(runlog.plain(entry))
        run = {
            "id": name,
            "experiment": config["id"],
            "method": config["method"],
            "run_status": "completed",
            "command": opts.command,
            "seed": seed,
            "n_jobs": opts.n_jobs,
            "config_path": _rel(opts.config_path, opts.kb_root),
            "config_sha256": hashlib.sha256(config_text).hexdigest(),
            "overrides": list(opts.overrides),
            "started": runlog.iso(started),
            "finished": runlog.iso(finished),
            "duration_s": round((finished - started).total_seconds(), 2),
            "kbtools_version": __version__,
            "python": sys.version.split()[0],
            "packages": runlog.package_versions(),
            "git": runlog.git_state(opts.kb_root),
            "inputs": inputs,
            "datasets": sorted({s["dataset"] for s in cohort.sources.values()}),
            "headline": headline,
            "warnings": warnings,
            "disclosure": {},
            "files": files,
        }
        # metrics and csv are scanned before run.yaml is finalised with the scan's result
        disclosure.scan_folder(staging, _scan_ids(cohort), report)
        run["disclosure"] = report.as_dict() | {"scanned_files": report.scanned_files + 1}
        text = dump(run)
        disclosure.scan_text("run.yaml", text, _scan_ids(cohort))
        runlog.write_text_atomic(staging / "run.yaml", text)
        _validate_outputs(staging)
        target = runlog.publish(staging, runs_dir, name)
    _say(opts, _summary_text(result, report, target))
    for w in warnings:
        _say(opts, f"warning: {w}")
    print(target)
    return target


def _scan_ids(cohort: Any) -> list[str]:
    ids = set(cohort.subjects.index)
    for block in cohort.blocks.values():
        ids.update(block.index)
    return list(ids)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _validate_outputs(folder: Path) -> None:
    import jsonschema

    from kbtools.schemas import load_schema
    from kbtools.yamlio import load_file

    for fname, schema in (("run.yaml", "run_log"), ("metrics.yaml", "run_metrics")):
        errors = list(jsonschema.Draft202012Validator(load_schema(schema))
                      .iter_errors(load_file(folder / fname)))
        if errors:  # a bug in kbtools, not in the user's input
            raise KBToolsError(f"internal error: {fname} does not match the {schema} schema: "
                               f"{errors[0].message} at {list(errors[0].absolute_path)}")


def _summary_text(result: Any, report: Any, target: Path) -> str:
    head = ", ".join(f"{k}={v}" for k, v in result.headline.items())
    withheld = (f"; disclosure guard withheld {len(report.suppressed)} small count(s)"
                if report.suppressed else "")
    return f"done: {head}{withheld}\nrun log:"


def command_line(argv: list[str] | None = None) -> str:
    return shlex.join(["kbtools", *(argv if argv is not None else sys.argv[1:])])


def parse_data(items: list[str]) -> dict[str, Path]:
    out = {}
    for item in items:
        role, sep, path = item.partition("=")
        if not sep or not role or not path:
            raise KBToolsError(f"--data {item!r}: expected ROLE=PATH")
        out[role.strip()] = Path(path)
    return out

