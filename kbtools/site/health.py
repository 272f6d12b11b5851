"""The KB's validation problems for the health page, cached while no document changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

from kbtools import __version__, layout
from kbtools.kb import KINDS
from kbtools.schemas.extensions import EXTENSION_FILES
from kbtools.site_files import kb_refusals
from kbtools.validation.problems import Problem

log = logging.getLogger("mkdocs.plugins.kbtools")
CACHE_FILE = "problems.json"


def kb_fingerprint(root: Path) -> str:
    """Changes whenever any document of the KB, or its schema extensions, is added, removed,
    resized or touched."""
    digest = hashlib.sha256(f"{__version__}\0{dt.date.today()}".encode())
    for kind in KINDS:
        for path in layout.documents(root, kind.name):
            digest.update(_stamp(root, path))
    # the KB's own schema extensions decide what is valid too
    for name in EXTENSION_FILES:
        digest.update(_stamp(root, root / name))
    for extra in sorted([*root.glob("kb/runs/*/config_used.yaml"), *root.glob("kb/runs/*/*.png"),
                         *root.glob("kb/runs/*/*.csv"), *root.glob("kb/.run-staging-*"),
                         *root.glob("kb/runs/.run-staging-*")]):
        digest.update(_stamp(root, extra))
    # files validation refuses besides documents (a docs/ symlink leading out, a loop...)
    for refusal in kb_refusals(root):
        digest.update(f"{refusal.path}\0{refusal.error.rule}\n".encode())
    return digest.hexdigest()


def _stamp(root: Path, path: Path) -> bytes:
    """Name, size, time and link count of a file and, for a symlink, of the link and where
    it leads."""
    parts = [str(path.relative_to(root))]
    for follow in (False, True):
        try:
            stat = path.stat(follow_symlinks=follow)
            parts += [str(stat.st_size), str(stat.st_mtime_ns), str(stat.st_nlink)]
        except OSError:
            parts += ["-", "-"]
    if path.is_symlink():
        try:
            parts.append(str(path.resolve()))
        except (RuntimeError, OSError):  # a symlink loop: validation reports it
            parts.append("loop")
    return ("\0".join(parts) + "\n").encode()


def validation_problems(root: Path, cache_dir: Path | None = None) -> list[Problem]:
    """Every problem ``kbtools validate`` reports for the KB at ``root``.

    The result is reused from ``cache_dir`` while no document changed. A crash of the
    validator is reported as one problem so the site still builds and shows it.
    """
    cache = cache_dir / CACHE_FILE if cache_dir else None
    fingerprint = kb_fingerprint(root)
    if cache and cache.is_file():
        try:
            stored = json.loads(cache.read_text(encoding="utf-8"))
            if stored.get("fingerprint") == fingerprint:
                return [Problem(**item) for item in stored["problems"]]
        except (OSError, ValueError, TypeError, KeyError):
            pass
    try:
        from kbtools.validation import validate_kb

        problems = list(validate_kb(root).problems)
    except Exception as exc:  # noqa: BLE001 - a validator bug must not hide the site
        log.info("kbtools: validation failed: %s", exc)
        return [Problem(".", None, None, "site.validation-crashed",
                        f"the validator stopped with {type(exc).__name__}: {exc}",
                        hint="run `kbtools validate` to see the error; please report it")]
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fingerprint": fingerprint,
                                   "problems": [p.to_dict() for p in problems]}),
                       encoding="utf-8")
        tmp.replace(cache)
    return problems


def merge(validation: list[Problem], loading: list[Problem]) -> list[Problem]:
    """Validation problems plus load failures the validator did not report for that file."""
    reported = {p.path for p in validation}
    return [*validation, *(p for p in loading if p.path not in reported)]
