"""What an experiment config needs before ``kbtools run-experiment`` can run it.

A config written as a plan (``status: planning``, often migrated from a narrative plan) names
no method, or data roles without tables. :func:`not_runnable` lists, in one message, what is
missing: a method from the list, data roles that each name a dataset card and a table, the
parameters the method needs, and a status other than planning or template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kbtools.errors import KBToolsError


def methods() -> list[str]:
    from kbtools.schemas import load_schema

    return list(load_schema("experiment_config")["properties"]["method"]["enum"])


def requirements(config: dict[str, Any], root: Path | None = None,
                 bound: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """One line per thing the config lacks to run (empty if it has all of them).

    ``bound``: roles given a file at run time (``--data ROLE=FILE``), which need no table.
    """
    out: list[str] = []
    known = methods()
    method = config.get("method")
    if method not in known:
        given = f" (`{method}` is not one)" if method is not None else ""
        out.append(f"method: one of {', '.join(known)}{given}")
    data = config.get("data")
    if not isinstance(data, dict) or not data:
        out.append("data: each role (subjects, gene, brain, ...) names a dataset card and a "
                   "table, e.g. `subjects: {dataset: synthetic_cohort, table: subjects}`")
    else:
        for role, spec in data.items():
            spec = spec if isinstance(spec, dict) else {}
            if not spec.get("dataset"):
                out.append(f"data.{role}: a dataset card id (`dataset:`)")
            elif not spec.get("table") and role not in bound:
                tables = _tables(root, str(spec["dataset"]))
                listed = f" (tables of {spec['dataset']}: {', '.join(tables)})" if tables else ""
                out.append(f"data.{role}: the table to read (`table:`){listed}, or a file "
                           f"given with --data {role}=FILE")
    if method in known:
        from kbtools.schemas import method_params_schema

        schema = method_params_schema(str(method)) or {}
        params = config.get("params") if isinstance(config.get("params"), dict) else {}
        missing = [name for name in schema.get("required", []) if name not in params]
        if missing:
            out.append(f"params: {', '.join(missing)} (see `kbtools schema show "
                       f"method_params/{method}`)")
    if config.get("status") in ("planning", "template"):
        out.append(f"status: draft or complete (now `{config.get('status')}`)")
    return out


def not_runnable(config: dict[str, Any], root: Path | None, where: str,
                 bound: set[str] | frozenset[str] = frozenset(),
                 dry_run: bool = False) -> KBToolsError | None:
    """The error to raise for a config that is still a plan, or None if it could run.

    A plan's status (``planning``, ``template``) never stops a dry run: ``--dry-run`` shows
    the plan a complete config would run, and says that the status must change before a real
    run."""
    needs = requirements(config, root, bound)
    structural = [n for n in needs if not n.startswith("status:")]
    if not structural and (dry_run or config.get("status") != "planning"):
        return None  # templates keep their own message (placeholders to fill)
    what = "a plan (status: planning)" if config.get("status") == "planning" else "not complete"
    error = KBToolsError(
        f"this config is {what} and cannot run yet; a runnable config needs:\n  - "
        + "\n  - ".join(structural if dry_run else needs), path=where,
        hint="fill these in, or start from `kbtools new experiment ID --method METHOD`, which "
             "writes a config that runs (then copy the plan's text into its description)")
    error.exit_code = 1
    return error


def status_note(config: dict[str, Any]) -> str | None:
    """What a dry run says about a plan's status (None when the config may run as it is)."""
    status = config.get("status")
    if status in ("planning", "template"):
        return (f"status is `{status}`: this is the plan a run would follow; set status to "
                "draft or complete to run it")
    return None


def _tables(root: Path | None, dataset: str) -> list[str]:
    if root is None:
        return []
    from kbtools.kb import is_inside
    from kbtools.yamlio import YAMLLoadError, load_file

    path = Path(root) / "kb" / "datasets" / f"{dataset}.yaml"
    if not path.is_file() or not is_inside(root, path):
        return []
    try:
        card = load_file(path)
    except (OSError, YAMLLoadError):
        return []
    storage = card.get("storage") if isinstance(card, dict) else None
    tables = storage.get("tables") if isinstance(storage, dict) else None
    return sorted(map(str, tables)) if isinstance(tables, dict) else []
