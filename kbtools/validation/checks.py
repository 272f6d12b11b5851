"""Checks of one document on its own: YAML, schema, id, lint, local paths, method params, design.

:func:`check_file` runs in worker processes; it returns the file's problems (already located)
and the :class:`~kbtools.validation.references.Summary` the cross-reference checks need.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kbtools.errors import PathOutsideKB
from kbtools.kb import KINDS_BY_NAME, expected_id, resolve_inside
from kbtools.schemas.extensions import DEFAULT_EXTENSION_FILE, KB_PATH
from kbtools.validation.findings import Finding, Parts, to_problems
from kbtools.validation.hints import HintContext
from kbtools.validation.lint import lint
from kbtools.validation.problems import Problem
from kbtools.validation.references import Summary, summarize
from kbtools.validation.schema_check import Extended, check_params, check_schema
from kbtools.yamlio import MAX_BYTES, YAMLLoadError, decode, loads, read_text


@dataclass(slots=True)
class FileReport:
    """The outcome of checking one file on its own."""

    rel: str
    kind: str
    problems: list[Problem]
    summary: Summary | None  # None when the file could not be parsed into a mapping


def check_file(root: Path, kind_name: str, path: Path, today: dt.date,
               rel: str | None = None, extended: Extended | None = None,
               declare_in: str = DEFAULT_EXTENSION_FILE) -> FileReport:
    """Every single-file check of one document (``rel``: its path relative to ``root``)."""
    kind = KINDS_BY_NAME[kind_name]
    if rel is None:
        rel = path.relative_to(root).as_posix()
    stem = expected_id(kind, path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # never read a huge file whole
            if len(raw) > MAX_BYTES:
                size = os.fstat(fh.fileno()).st_size
                raise YAMLLoadError(f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                                    "yaml.too-large", hint="split it or move data out of the KB")
        text = decode(raw)
        data = loads(text, string_keys=True)
    except YAMLLoadError as exc:
        return FileReport(rel, kind_name, [Problem(rel, exc.line, exc.column, exc.rule,
                                                   exc.message, hint=exc.hint)], None)
    except OSError as exc:
        return FileReport(rel, kind_name, [Problem(
            rel, None, None, "yaml.encoding", f"cannot read the file: {exc.strerror}",
            hint="check that it is a readable file")], None)
    if data is None:
        return FileReport(rel, kind_name, [Problem(
            rel, None, None, "yaml.empty", "the file is empty",
            hint=f"write the card, e.g. with `kbtools new {kind_name} {stem}`")], None)
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else "a single value"
        return FileReport(rel, kind_name, [Problem(
            rel, 1, 1, "yaml.not-mapping", f"the top level is {what}, not a mapping of fields",
            hint="write `field: value` lines at the top level (id: ..., name: ...)")], None)
    try:
        findings = _document_findings(root, kind_name, kind.schema, stem, data, text, today,
                                      extended, HintContext(kind_name, declare_in))
    except Exception as exc:  # a crashing check must not stop the others
        findings = [Finding("internal", f"a check crashed: {exc!r}", (),
                            "this is a kbtools bug; please report it with this file")]
    return FileReport(rel, kind_name, to_problems(rel, findings, text),
                      summarize(kind_name, rel, stem, data))


def check_template_file(root: Path, path: Path) -> list[Problem]:
    """A template file (``template.yaml``, ``_template*``) is not a card: only its YAML is
    checked, so a copy of it starts from a file that parses."""
    rel = path.relative_to(root).as_posix()
    try:
        loads(read_text(path), string_keys=True)
    except YAMLLoadError as exc:
        return [Problem(rel, exc.line, exc.column, exc.rule, exc.message, hint=exc.hint)]
    except OSError as exc:
        return [Problem(rel, None, None, "yaml.encoding", f"cannot read the file: {exc.strerror}",
                        hint="check that it is a readable file")]
    return []


def _document_findings(root: Path, kind: str, schema: str, stem: str, data: dict[str, Any],
                       text: str, today: dt.date, extended: Extended | None,
                       context: HintContext) -> list[Finding]:
    findings = check_schema(schema, data, extended, context)
    schema_ok = not findings
    declared = data.get("id")
    if isinstance(declared, str) and declared != stem:
        run = KINDS_BY_NAME[kind].id_from == "parent"
        where = "the run folder" if run else "the file name"
        rename = f"the run folder to {declared}" if run else f"the file to {declared}.yaml"
        findings.append(Finding(
            "id.filename", f"id `{declared}` does not match {where} `{stem}`", ("id",),
            f"set `id: {stem}`, or rename {rename}"))
    taken = {f.parts for f in findings}
    findings.extend(f for f in lint(data, text, today) if f.parts not in taken)
    findings.extend(_local_paths(root, kind, data))
    findings.extend(_declared_paths(root, schema, data, extended, findings))
    # Templates are not runnable (runs refuse them): their design is checked once the status
    # says draft or complete.
    if kind == "experiment" and schema_ok and data.get("status") not in ("template", "planning") \
            and "method" in data:
        findings.extend(check_params(data["method"], data.get("params")))
        findings.extend(_design(data))
    return findings


def _local_paths(root: Path, kind: str, data: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    if kind == "paper":
        for key in ("pdf", "summary_md_path"):
            value = data.get(key)
            if isinstance(value, str) and value:
                out.extend(_check_path(root, value, (key,), relative_only=True, must_exist=True))
    elif kind == "dataset":
        storage = data.get("storage")
        tables = storage.get("tables") if isinstance(storage, dict) else None
        generated = bool(storage.get("generator")) if isinstance(storage, dict) else False
        for name, table in (tables.items() if isinstance(tables, dict) else ()):
            value = table.get("path") if isinstance(table, dict) else None
            if isinstance(value, str) and value:
                out.extend(_check_path(root, value, ("storage", "tables", name, "path"),
                                       relative_only=False, must_exist=not generated))
    return out


def _declared_paths(root: Path, schema: str, data: dict[str, Any],
                    extended: Extended | None, found: list[Finding]) -> list[Finding]:
    """Files named in fields the KB declares with ``format: kb-path`` (wherever they sit):
    checked like the built-in path fields."""
    if not extended or schema not in extended:
        return []
    merged = extended[schema][1]
    taken = {f.parts for f in found}
    out: list[Finding] = []
    for parts, value in _formatted(merged, merged, data, ()):
        if isinstance(value, str) and value and parts not in taken:
            out.extend(_check_path(root, value, parts, relative_only=True, must_exist=True))
    return out


def _formatted(node: Any, root: dict[str, Any], value: Any, parts: Parts
               ) -> Iterator[tuple[Parts, Any]]:
    """(parts, value) of every value whose schema node says ``format: kb-path``."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/"):
        node = root.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[1], {})
    if node.get("format") == KB_PATH:
        yield parts, value
        return
    if isinstance(value, dict):
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            yield from _formatted(sub, root, item, (*parts, str(key)))
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            yield from _formatted(node["items"], root, item, (*parts, index))


def _check_path(root: Path, value: str, parts: Parts, *, relative_only: bool,
                must_exist: bool) -> list[Finding]:
    if value.lower().startswith(("http://", "https://")):
        return [Finding("path.missing", f"`{value}` is a URL, but this field holds a local path",
                        parts, "put links in `url`; give the local file relative to the KB root")]
    if os.path.isabs(value) or value.startswith("~"):
        if relative_only:
            return [Finding("path.outside-kb", f"`{value}` is an absolute path", parts,
                            "give the path relative to the KB root, for a file inside the KB")]
        return []  # data kept outside the KB (e.g. restricted cohorts) are named absolutely
    norm = os.path.normpath(value)
    if norm == ".." or norm.startswith(".." + os.sep):
        fix = ("keep the file inside the KB" if relative_only else
               "give data kept outside the KB an absolute path (e.g. /data/cohort/x.parquet), "
               "or pass it at run time with --data ROLE=PATH")
        return [Finding("path.outside-kb", f"`{value}` points outside the KB root", parts, fix)]
    if not os.path.lexists(root / norm):
        if must_exist:
            return [Finding("path.missing", f"`{value}` does not exist (paths are relative to "
                                            "the KB root)", parts, "fix the path or add the file")]
        return []
    try:  # the file itself, or a folder on the way, may be a symlink leading out of the KB
        resolve_inside(root, norm)
    except PathOutsideKB as exc:
        return [Finding(exc.rule, f"`{value}` {exc.message}", parts, exc.hint or "")]
    if must_exist and not (root / norm).exists():
        return [Finding("path.missing", f"`{value}` is a broken symlink", parts,
                        "fix the link or put the file itself there")]
    return []


def _design(config: dict[str, Any]) -> list[Finding]:
    from kbtools.config_rules.design_checks import check_design

    out = []
    try:
        issues = check_design(config)
    except Exception as exc:  # a design check is code written elsewhere: keep validating
        return [Finding("internal", f"a design check crashed: {exc!r}", ("method",),
                        "this is a bug in kbtools.config_rules.design_checks; please report it")]
    for issue in issues:
        rule = issue.rule if issue.rule.startswith("design") else f"design.{issue.rule}"
        out.append(Finding(rule, issue.message, tuple(issue.json_path), issue.hint,
                           issue.severity))
    return out
