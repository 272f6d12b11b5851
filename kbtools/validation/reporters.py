"""Reporters: one :class:`ValidationResult`, three ways to print it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TextIO

from kbtools.validation.engine import ValidationResult
from kbtools.validation.problems import Problem


def printable(text: str) -> str:
    """``text`` safe to write to any UTF-8 stream.

    File names that are not UTF-8 reach Python as lone surrogates (``caf\\udce9.yaml``), which
    a UTF-8 stream refuses to encode; they are shown with their raw bytes escaped instead
    (``caf\\xe9.yaml``), so the report names the file rather than crashing.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the file name's original bytes
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _where(p: Problem) -> str:
    if p.line is None:
        return p.path
    return f"{p.path}:{p.line}" + (f":{p.column}" if p.column is not None else "")


def report_text(result: ValidationResult, out: TextIO) -> None:
    """``path:line:col: severity [rule] message (json path)`` plus an indented fix line."""
    for p in result.problems:
        at = f" (at {p.json_path})" if p.json_path != "$" else ""
        out.write(printable(f"{_where(p)}: {p.severity} [{p.rule}] {p.message}{at}\n"))
        if p.hint:
            out.write(printable("    fix: " + p.hint.replace("\n", "\n         ") + "\n"))
    files = f"{result.n_files} file{'s' if result.n_files != 1 else ''}"
    if not result.problems:
        out.write(f"checked {files}: no problems\n")
        return
    out.write(f"checked {files}: {_count(result.n_errors, 'error')}, "
              f"{_count(result.n_warnings, 'warning')}\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def report_json(result: ValidationResult, out: TextIO) -> None:
    """One JSON object: ok, counts, notes and the problems."""
    json.dump({
        "ok": result.ok,
        "n_files": result.n_files,
        "n_errors": result.n_errors,
        "n_warnings": result.n_warnings,
        "notes": result.notes,
        "problems": [p.to_dict() for p in result.problems],
    }, out, indent=2)
    out.write("\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report_github(result: ValidationResult, out: TextIO) -> None:
    """GitHub Actions workflow commands: ``::error file=..,line=..,col=..,title=rule::message``."""
    for p in result.problems:
        props = [f"file={_escape_property(p.path)}"]
        if p.line is not None:
            props.append(f"line={p.line}")
            if p.column is not None:
                props.append(f"col={p.column}")
        props.append(f"title={_escape_property(p.rule)}")
        message = p.message + (f" (at {p.json_path})" if p.json_path != "$" else "")
        if p.hint:
            message += f"\nfix: {p.hint}"
        out.write(printable(f"::{p.severity} {','.join(props)}::{_escape_data(message)}\n"))
    out.write(f"checked {result.n_files} files: {_count(result.n_errors, 'error')}, "
              f"{_count(result.n_warnings, 'warning')}\n")


REPORTERS: dict[str, Callable[[ValidationResult, TextIO], None]] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
