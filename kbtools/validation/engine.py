"""``validate_kb``: find the documents, check each (in parallel when there are many),
resolve references across the KB, and return every problem sorted by file and line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbtools import layout
from kbtools.errors import KBToolsError, PathOutsideKB
from kbtools.kb import KINDS, CardKind, InsideCheck, expected_id, kb_relative, refusal
from kbtools.layout import kind_of as layout_kind_of
from kbtools.run_folders import kb_leftovers
from kbtools.schemas.extensions import EXTENSION_FILES, KBSchemas, load_kb_schemas
from kbtools.site_files import Refusal, kb_refusals
from kbtools.validation.checks import FileReport, check_file, check_template_file
from kbtools.validation.findings import Finding, to_problems
from kbtools.validation.problems import Problem, sorted_problems
from kbtools.validation.references import KBIndex, cross_check, near_matchers, with_near_miss
from kbtools.validation.schema_check import Extended
from kbtools.yamlio import decode

#: Per-file reports kept between calls: relative path -> (file and check stamp, report).
ReportMemo = dict[str, tuple[Any, FileReport]]

#: Below this many files, a process pool costs more than it saves.
PARALLEL_MIN_FILES = 200
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class ValidationResult:
    """Problems sorted by path and line; ``n_files`` documents were checked."""

    problems: list[Problem]
    n_files: int
    notes: list[str] = field(default_factory=list)  # e.g. paths given that are not KB documents

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def n_errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def n_warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)


def validate_kb(root: Path, paths: Sequence[Path] | None = None,
                jobs: int | None = None, *, memo: ReportMemo | None = None) -> ValidationResult:
    """Validate the whole KB at ``root``, or only ``paths`` (references still resolve KB-wide).

    ``memo`` (a dict the caller keeps, e.g. the site under ``mkdocs serve``) holds each file's
    single-file report with the file's size and modification time: a later call re-checks only
    files that changed, then resolves references across the whole KB as usual. Single-file
    checks also look at files a card names (local paths); a caller that sees such files change
    clears the memo.
    """
    root = Path(root).resolve()
    # A card dated today in any time zone is not "in the future": allow the later of the
    # local and the UTC date.
    today = max(dt.date.today(), dt.datetime.now(dt.UTC).date())
    scanned = _scan(root)
    kb_schemas = load_kb_schemas(root)
    notes: list[str] = []
    if paths is None:
        targets = [(kind, path) for kind in KINDS for path in scanned.files[kind.name].values()]
        strays, templates, refused = scanned.strays, scanned.templates, scanned.refused
    else:
        targets, strays, templates, refused, notes = _select(root, paths, scanned)
    with _pool(jobs, len(targets)) as pool:
        reports = _check_all(root, targets, today, pool,
                             (kb_schemas.for_workers(), kb_schemas.declare_in), memo)
        workers = 1 if pool is None else pool.n_jobs
    # the checking workers have exited: locating forks its own, after the near-miss indexes
    problems = [p for r in reports for p in r.problems]
    summaries = {(r.kind, _stem_of(r)): r.summary for r in reports}
    index = KBIndex(root, {k: dict(v) for k, v in scanned.files.items()}, summaries,
                    complete=paths is None)
    reported = [r.summary for r in reports if r.summary is not None]
    del reports
    problems.extend(_locate_all(root, cross_check(index, reported), workers, index))
    problems.extend(_declaration_problems(root, kb_schemas))
    problems.extend(_stray_problem(root, path) for path in strays)
    problems.extend(p for path in templates for p in check_template_file(root, path))
    problems.extend(_refused_problem(root, path, error) for path, error in refused.items())
    site = [r for r in _site_refusals(root, paths) if r.path not in scanned.refused]
    problems.extend(_site_problem(root, refusal) for refusal in site)
    if paths is None:  # leftovers are no file's problem: reported when the whole KB is checked
        problems.extend(_staging_problem(root, path) for path in scanned.staging)
    checked = {path for _, path in targets}
    problems.extend(_clash_problem(root, path, other) for path, other in scanned.clashes
                    if path in checked or other in checked)
    return ValidationResult(sorted_problems(problems),
                            len(targets) + len(templates) + len(refused) + len(site), notes)


def _site_refusals(root: Path, paths: Sequence[Path] | None) -> list[Refusal]:
    """The files of the KB's folders and of the site's (docs_dir, theme overrides, page
    templates) that may not be read or published: all of them, or those among ``paths``."""
    found = kb_refusals(root)
    if paths is None:
        return found
    given = [Path(os.path.abspath(p)) for p in paths]
    return [r for r in found if any(r.path == p or p in r.path.parents for p in given)]


def _site_problem(root: Path, refusal: Refusal) -> Problem:
    error = refusal.error
    if refusal.path == refusal.folder.path:  # the configured folder itself
        return Problem("mkdocs.yml", None, None, error.rule,
                       f"`{refusal.folder.setting}` {error.message}", hint=error.hint)
    rel = Path(os.path.relpath(refusal.path, root)).as_posix()
    what = "folder symlink" if refusal.is_folder else "file"
    where = f" ({what} the site would publish)" if refusal.folder.published else ""
    return Problem(rel, None, None, error.rule, f"`{rel}`{where} {error.message}",
                   hint=error.hint)


def _stem_of(report: FileReport) -> str:
    if report.summary is not None:
        return report.summary.stem
    kind = next(k for k in KINDS if k.name == report.kind)
    return expected_id(kind, Path(report.rel))


def _read(path: Path) -> str | None:
    try:
        return decode(path.read_bytes())
    except Exception:
        return None


@dataclass
class _Layout:
    files: dict[str, dict[str, Path]]  # kind -> id (from the path) -> file
    strays: list[Path]  # YAML files in card folders that match no kind
    card_dirs: tuple[Path, ...]
    templates: list[Path] = field(default_factory=list)  # template files (template.yaml, ...)
    clashes: list[tuple[Path, Path]] = field(default_factory=list)  # same id, two folders
    #: Documents (and run files) whose real file is outside the KB: reported, never read.
    refused: dict[Path, PathOutsideKB] = field(default_factory=dict)
    staging: list[Path] = field(default_factory=list)  # leftover kb/.run-staging-* folders


#: Files of a run directory besides run.yaml and metrics.yaml that kbtools reads or copies.
RUN_FILES = ("config_used.yaml", "*.png", "*.csv")


#: The last listing of each KB root, with the stamps of the folders it listed: a long-lived
#: caller (`mkdocs serve` validating after every edit) lists the KB again only when a folder
#: changed (a file added, removed, renamed or re-linked changes its folder's stamp).
_LISTINGS: dict[Path, tuple[Any, _Layout]] = {}
#: Folders changed this recently may change again within their timestamp's resolution: such
#: a listing is not reused (the "racy" case of git's index).
RACY_SECONDS = 2.0


def _scan(root: Path) -> _Layout:
    """:func:`_scan_folders`, reused while none of the folders it lists has changed."""
    stamps, newest = _folder_stamps(root)
    hit = _LISTINGS.get(root)
    if hit is not None and hit[0] == stamps:
        return hit[1]
    listing = _scan_folders(root)
    if newest < time.time() - RACY_SECONDS:
        _LISTINGS[root] = (stamps, listing)
    else:
        _LISTINGS.pop(root, None)
    return listing


def _folder_stamps(root: Path) -> tuple[tuple[Any, ...], float]:
    """Identity and modification time of every folder :func:`_scan_folders` lists (and of the
    run folders and card subfolders), and the newest of those times (seconds)."""
    stamps: list[Any] = []
    newest = 0.0
    todo = [root, root / "kb", root / "configs", root / "kb" / "runs",
            *(root / folder for kind in KINDS for folder in layout.folders(kind.name))]
    seen: set[Path] = set()
    while todo:
        folder = todo.pop()
        if folder in seen:
            continue
        seen.add(folder)
        try:
            st = os.stat(folder)
            link = os.path.islink(folder)
        except OSError:
            stamps.append((str(folder), None))
            continue
        stamps.append((str(folder), st.st_ino, st.st_mtime_ns, link))
        newest = max(newest, st.st_mtime)
        if folder == root or folder.name in ("kb", "configs"):
            continue  # their own entries are stamped above; card folders' subfolders below
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            todo.extend(Path(e.path) for e in entries if e.is_dir())
    return tuple(sorted(stamps, key=lambda s: s[0])), newest


def _scan_folders(root: Path) -> _Layout:
    """Every document of every kind, by listing each card folder once."""
    files: dict[str, dict[str, Path]] = {}
    strays: list[Path] = []
    templates: list[Path] = []
    clashes: list[tuple[Path, Path]] = []
    card_dirs = []
    refused: dict[Path, PathOutsideKB] = {}
    check = InsideCheck(root)
    for kind in KINDS:
        found: dict[str, Path] = {}
        for pattern in layout.patterns(kind.name):
            folder, _, name = pattern.rpartition("/")
            if "*" not in folder and name == "*.yaml":  # a flat card folder
                base = root / folder
                card_dirs.append(base)
                entries = sorted(os.scandir(base), key=lambda e: e.name) if base.is_dir() else []
                for entry in entries:
                    if entry.is_symlink() and entry.name.endswith(".yaml"):
                        error = check.publishable(Path(entry.path), True)
                        if error is not None:  # a symlinked card (or template) leading out,
                            refused[Path(entry.path)] = error  # looping or leading nowhere
                            continue
                    if entry.is_file() and layout.is_template_file(entry.name):
                        templates.append(Path(entry.path))
                    elif entry.is_file() and entry.name.endswith(".yaml") \
                            and (error := check.publishable(Path(entry.path), False)):
                        refused[Path(entry.path)] = error  # in a symlinked card folder, or
                        # a hard link (its other name may be outside the KB)
                    elif entry.is_file() and entry.name.endswith(".yaml"):
                        stem = entry.name[:-5]
                        if stem in found:
                            clashes.append((Path(entry.path), found[stem]))
                        else:
                            found[stem] = Path(entry.path)
                    elif entry.is_dir():
                        strays.extend(p for p in sorted(Path(entry.path).rglob("*"))
                                      if p.suffix in _YAML_SUFFIXES and p.is_file())
                    elif entry.name.endswith(".yml"):
                        strays.append(Path(entry.path))
            else:
                for path in sorted(root.glob(pattern)):
                    if _hidden(root, path):
                        continue  # a run being staged inside kb/runs (a mount point of its own)
                    error = check.publishable(path) if path.is_file() or path.is_symlink() \
                        else None
                    if error is not None:
                        refused[path] = error
                    elif path.is_file():
                        found[expected_id(kind, path)] = path
        files[kind.name] = found
    for pattern in RUN_FILES:  # plots, tables and configs the site copies or reads
        for path in sorted(root.glob(f"kb/runs/*/{pattern}")):
            error = None if _hidden(root, path) else check.publishable(path)
            if error is not None:
                refused[path] = error
    for name in EXTENSION_FILES:  # the KB's own schema, read by every check
        path = root / name
        if path.is_symlink() or path.is_file():
            error = check.publishable(path)
            if error is not None:
                refused[path] = error
    return _Layout(files, strays, tuple(card_dirs), templates, clashes, refused,
                   kb_leftovers(root))


def _hidden(root: Path, path: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _select(root: Path, paths: Sequence[Path], scanned: _Layout
            ) -> tuple[list[tuple[CardKind, Path]], list[Path], list[Path],
                       dict[Path, PathOutsideKB], list[str]]:
    """The documents among ``paths`` (files or folders), stray YAML files, template files,
    refused files (real file outside the KB) and notes."""
    targets: dict[Path, CardKind] = {}
    strays: list[Path] = []
    templates: list[Path] = []
    refused: dict[Path, PathOutsideKB] = {}
    notes: list[str] = []
    for given in paths:
        if not os.path.lexists(given):
            raise KBToolsError(f"no such file or folder: {given}",
                               hint="give paths of cards or configs inside the KB")
        rel = kb_relative(root, given)  # where it is named: a symlink is not followed
        path = root / rel if rel is not None else Path(os.path.abspath(given))
        if path.is_dir() and not path.is_symlink():
            before = len(targets) + len(refused)
            for kind in KINDS:
                for doc in scanned.files[kind.name].values():
                    if path == doc or path in doc.parents:
                        targets.setdefault(doc, kind)
            refused.update((p, e) for p, e in scanned.refused.items() if path in p.parents)
            strays.extend(s for s in scanned.strays if path in s.parents)
            templates.extend(t for t in scanned.templates if path in t.parents)
            if len(targets) + len(refused) == before and not templates:
                notes.append(f"{given}: no KB documents in this folder")
            continue
        if path in scanned.refused:
            refused[path] = scanned.refused[path]
            continue
        kind = layout_kind_of(path, root)
        if kind is not None and not path.is_file():  # a symlink to a folder, or dangling
            refused[path] = _not_a_file(given)
        elif kind is not None and layout.is_template_file(path):
            templates.append(path)
        elif kind is not None:
            targets.setdefault(path, kind)
        elif path.suffix in _YAML_SUFFIXES and any(d in path.parents for d in scanned.card_dirs):
            strays.append(path)
        else:
            notes.append(f"{given}: ignored (not a card, config or run log of this KB)")
    return ([(kind, path) for path, kind in targets.items()], sorted(set(strays)),
            sorted(set(templates)), refused, notes)


def _not_a_file(given: Path) -> PathOutsideKB:
    return refusal("path.symlink-outside", given, "is a symlink that leads to no file inside "
                   "the KB", "replace the symlink with the card file itself")


def _refused_problem(root: Path, path: Path, error: PathOutsideKB) -> Problem:
    rel = path.relative_to(root).as_posix()
    return Problem(rel, None, None, error.rule, f"`{rel}` {error.message}", hint=error.hint)


def _staging_problem(root: Path, path: Path) -> Problem:
    rel = path.relative_to(root).as_posix()
    return Problem(rel, None, None, "kb.staging-leftover",
                   "an unfinished run's staging folder was left behind (the run was killed "
                   "before it could clean up)", hint=(
                       "the next `kbtools run-experiment` removes it once its process is gone; "
                       f"or delete it: rm -r {rel}"), severity="warning")


def _clash_problem(root: Path, path: Path, other: Path) -> Problem:
    rel, other_rel = (p.relative_to(root).as_posix() for p in (path, other))
    return Problem(rel, None, None, "id.duplicate",
                   f"id `{path.stem}` is also the id of {other_rel} (both are read as the "
                   "same kind of card)", hint="rename one of the two files and its id")


def _stray_problem(root: Path, path: Path) -> Problem:
    rel = path.relative_to(root).as_posix()
    folder = rel.split("/")
    return Problem(rel, None, None, "kb.unknown-file",
                   "this YAML file is in a card folder but is not read as a card "
                   "(cards are <id>.yaml directly in the folder)", hint=(
                       f"rename it to {'/'.join(folder[:2])}/{Path(rel).stem}.yaml, "
                       "or move it out of the card folder"), severity="warning")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _declaration_problems(root: Path, kb_schemas: KBSchemas) -> list[Problem]:
    """Problems of the KB's extension file, located in it."""
    if not kb_schemas.problems or kb_schemas.file is None:
        return []
    findings = [Finding("schema.extension", p.message, p.parts, p.hint)
                for p in kb_schemas.problems]
    return to_problems(kb_schemas.file, findings, _read(root / kb_schemas.file))


@contextlib.contextmanager
def _pool(jobs: int | None, n_files: int) -> Iterator[Any]:
    """Worker processes for a large KB (None below ``PARALLEL_MIN_FILES`` or with one job).
    Checking and locating each fork their own, so that no idle worker outlives its phase."""
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1 or n_files < PARALLEL_MIN_FILES:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = (multiprocessing.get_context("fork")
               if sys.platform.startswith("linux") else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pool.n_jobs = jobs  # type: ignore[attr-defined]
        yield pool


def _check_all(root: Path, targets: list[tuple[CardKind, Path]], today: dt.date,
               pool: Any, schemas: tuple[Extended, str],
               memo: ReportMemo | None = None) -> list[FileReport]:
    if memo is not None:
        return _check_memoized(root, targets, today, pool, schemas, memo)
    prefix = len(str(root)) + 1
    items = [(kind.name, path, str(path)[prefix:].replace(os.sep, "/")) for kind, path in targets]
    if pool is None or len(items) < PARALLEL_MIN_FILES:
        return _check_chunk((root, items, today, schemas))
    n_chunks = min(len(items), pool.n_jobs * 8)
    chunks = [items[i::n_chunks] for i in range(n_chunks)]
    _warm_up(targets, schemas[0])
    results = pool.map(_check_chunk, [(root, chunk, today, schemas) for chunk in chunks])
    return [report for chunk in results for report in chunk]


def _check_memoized(root: Path, targets: list[tuple[CardKind, Path]], today: dt.date,
                    pool: Any, schemas: tuple[Extended, str],
                    memo: ReportMemo) -> list[FileReport]:
    """:func:`_check_all`, reusing the reports of files unchanged since they were memoized."""
    checks = (today, tuple(sorted((name, key) for name, (key, _) in schemas[0].items())),
              schemas[1])
    prefix = len(str(root)) + 1
    keys: dict[str, Any] = {}
    todo: list[tuple[CardKind, Path]] = []
    reports: dict[str, FileReport] = {}
    for kind, path in targets:
        rel = str(path)[prefix:].replace(os.sep, "/")
        try:
            stat = path.stat()
            keys[rel] = (kind.name, stat.st_size, stat.st_mtime_ns, checks)
        except OSError:
            keys[rel] = None  # checked every time; check_file reports the error
        hit = memo.get(rel)
        if keys[rel] is not None and hit is not None and hit[0] == keys[rel]:
            reports[rel] = hit[1]
        else:
            todo.append((kind, path))
    for report in _check_all(root, todo, today, pool, schemas):
        reports[report.rel] = report
        memo[report.rel] = (keys.get(report.rel), report)
    return [reports[str(path)[prefix:].replace(os.sep, "/")] for _, path in targets]


def _check_chunk(args: tuple[Path, list[tuple[str, Path, str]], dt.date, tuple[Extended, str]]
                 ) -> list[FileReport]:
    root, items, today, (extended, declare_in) = args
    return [check_file(root, kind, path, today, rel, extended, declare_in)
            for kind, path, rel in items]


def _locate_all(root: Path, found: dict[str, list[Finding]], jobs: int,
                index: KBIndex) -> list[Problem]:
    """Cross-reference findings as problems with line numbers and "did you mean" hints.
    Locating parses the file again (about half a millisecond each) and a near-miss search
    costs about a tenth of a millisecond, so many files are handled by worker processes: a
    fresh pool, forked once the near-miss indexes exist, so that every worker shares them
    instead of building or receiving its own."""
    global _MATCHERS
    items = list(found.items())
    _MATCHERS = near_matchers(index, found)
    try:
        if jobs == 1 or len(items) < PARALLEL_MIN_FILES:
            return _locate_chunk((root, items))
        if not sys.platform.startswith("linux"):  # spawned workers cannot share the indexes
            items = [(rel, with_near_miss(fs, _MATCHERS)) for rel, fs in items]
        n_chunks = min(len(items), jobs * 4)
        chunks = [items[i::n_chunks] for i in range(n_chunks)]
        with _pool(jobs, len(items)) as fresh:
            return [p for part in fresh.map(_locate_chunk, [(root, c) for c in chunks])
                    for p in part]
    finally:
        _MATCHERS = {}


#: Near-miss indexes of the current :func:`_locate_all` (inherited by forked workers).
_MATCHERS: dict[str, Any] = {}


def _locate_chunk(args: tuple[Path, list[tuple[str, list[Finding]]]]) -> list[Problem]:
    root, items = args
    return [p for rel, findings in items
            for p in to_problems(rel, with_near_miss(findings, _MATCHERS), _read(root / rel))]


def _warm_up(targets: list[tuple[CardKind, Path]], extended: Extended) -> None:
    """Compile the schemas once before forking, so workers inherit them."""
    from kbtools.validation.schema_check import warm_up

    for schema in {kind.schema for kind, _ in targets}:
        warm_up(schema, extended)
