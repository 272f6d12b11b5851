"""Run logs: a run directory staged beside ``kb/runs`` and renamed into place when complete.

``kb/runs/<YYYYmmdd-HHMMSS>_<experiment id>_<6 hex chars>/`` holds run.yaml (provenance),
config_used.yaml (the resolved config), metrics.yaml (aggregates per fold and summary),
per_fold_metrics.csv and PNG plots. The staging folder is a sibling of the resolved ``kb/runs``
on the same filesystem (``kb/.run-staging-<pid>-<host>-*``, see :mod:`.staging`), so publishing
is one atomic ``rename``; a failed or interrupted run removes it and never touches another run,
and a run killed outright leaves a folder the next run removes. The random suffix keeps runs started
in the same second apart; the rename refuses to replace an existing directory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from kbtools.errors import KBToolsError

PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "statsmodels", "joblib", "matplotlib",
            "threadpoolctl", "pyarrow")
TIME_FORMAT = "%Y%m%d-%H%M%S"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_id(experiment: str, started: dt.datetime, suffix: str | None = None) -> str:
    """``<UTC timestamp>_<experiment id>_<6 hex chars>`` (lower case, a valid KB id)."""
    return f"{started.strftime(TIME_FORMAT)}_{experiment}_{suffix or secrets.token_hex(3)}"


def plain(value: Any) -> Any:
    """Numpy scalars/arrays and tuples as plain YAML-safe Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if not np.isfinite(f) else f
    if isinstance(value, Path):
        return str(value)
    return value


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_state(root: Path) -> dict[str, Any]:
    """Commit and dirty flag of the KB's git checkout (None when not a git checkout)."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True,
                                timeout=30)
        return {"commit": commit.stdout.strip(),
                "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a text starting like a formula gets a leading
    ``'`` (numbers, negative ones included, are left as they are)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value if value.strip() == value else "'" + value


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV (union of keys, first-seen order), headers and cells spreadsheet-safe. Every
    CSV a run writes goes through here."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    plain_rows = csv.writer(buf, lineterminator="\n")
    quoted_rows = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)  # a lone CR

    def write(cells: list[Any]) -> None:
        odd = any(isinstance(c, str) and "\r" in c for c in cells)
        (quoted_rows if odd else plain_rows).writerow(cells)

    write([spreadsheet_safe(str(k)) for k in keys])
    for row in rows:
        write([spreadsheet_safe(plain(row.get(k))) for k in keys])
    return buf.getvalue()


def per_fold_csv(rows: list[dict[str, Any]]) -> str:
    """Per-fold metrics as CSV (see :func:`csv_text`)."""
    return csv_text(rows)


@contextmanager
def staged_run_dir(runs_dir: Path) -> Iterator[Path]:
    """A fresh staging folder next to ``runs_dir``; removed unless it was published.

    See :mod:`kbtools.run_folders` (same filesystem as the resolved runs folder,
    write errors as messages).
    """
    from kbtools.run_folders import staged_run_dir as _staged

    with _staged(runs_dir) as staging:
        yield staging


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def publish(staging: Path, runs_dir: Path, name: str) -> Path:
    """Rename the staged folder to ``runs_dir/name`` atomically; never replaces a run."""
    target = runs_dir / name
    if target.exists():
        raise KBToolsError(f"run directory {name} already exists", path=str(runs_dir))
    try:
        # os.rename replaces an *empty* directory on POSIX; the check above and the random
        # suffix make that a non-issue, and a non-empty target raises OSError.
        os.rename(staging, target)
    except OSError as exc:
        from kbtools.run_folders import write_error

        raise write_error(exc, runs_dir) from None
    return target
