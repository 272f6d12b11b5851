"""Where things live in a knowledge base: the root and the folder of each card kind."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kbtools.errors import KBRootNotFound, PathOutsideKB


@dataclass(frozen=True)
class CardKind:
    """One kind of YAML document in the KB, its schema and where its files are."""

    name: str
    schema: str
    pattern: str
    id_from: str = "stem"  # "stem": id equals the file name; "parent": the run directory's name


#: Every kind of document kbtools knows, in the order they are reported.
KINDS: tuple[CardKind, ...] = (
    CardKind("model", "model_card", "kb/model_cards/*.yaml"),
    CardKind("paper", "paper_card", "kb/paper_cards/*.yaml"),
    CardKind("dataset", "dataset_card", "kb/datasets/*.yaml"),
    CardKind("registry", "integration_registry", "kb/registries/*.yaml"),
    CardKind("experiment", "experiment_config", "configs/experiments/*.yaml"),
    CardKind("run", "run_log", "kb/runs/*/run.yaml", id_from="parent"),
    CardKind("run_metrics", "run_metrics", "kb/runs/*/metrics.yaml", id_from="parent"),
)
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}

RUNS_DIR = "kb/runs"
ROOT_MARKERS = ("mkdocs.yml", "kb")


def find_kb_root(start: Path | None = None, explicit: Path | None = None) -> Path:
    """Return the KB root: ``explicit`` if given, else the first folder upward with a marker."""
    if explicit is not None:
        root = Path(explicit).resolve()
        if not root.is_dir():
            raise KBRootNotFound(f"--kb-root {explicit} is not a directory")
        return root
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    raise KBRootNotFound(
        f"no knowledge base found at or above {here}",
        hint="run inside a KB (a folder with mkdocs.yml or kb/) or pass --kb-root DIR",
    )


def kb_relative(root: Path, path: Path | str) -> Path | None:
    """``path`` relative to ``root`` as the user wrote it (symlinks not followed), else None.

    The place a file is *named* decides what it is (a card, a run file); where a symlink
    *leads* is checked separately by :func:`resolve_inside`. A path reaching the KB through a
    symlinked folder outside it (e.g. ``/tmp/kb-link/kb/...``) is taken at its real location.
    """
    root = Path(root).resolve()
    named = Path(os.path.abspath(path))
    if named == root or root in named.parents:
        return named.relative_to(root)
    try:
        real = Path(path).resolve()
    except (RuntimeError, OSError):  # a symlink loop: named outside, so not in the KB
        return None
    return real.relative_to(root) if real == root or root in real.parents else None


def kind_of(path: Path, root: Path) -> CardKind | None:
    """The kind of the document at ``path`` (inside ``root``), or None if it is not a card.

    A symlink named like a card is a card here, so that the caller can refuse it when it points
    outside the KB (rather than ignore it).
    """
    rel = kb_relative(root, path)
    if rel is None:
        return None
    for kind in KINDS:
        if rel.match(kind.pattern) and len(rel.parts) == len(Path(kind.pattern).parts):
            return kind
    return None


@dataclass(frozen=True)
class Document:
    """A card, config or run file found in the KB; ``refused`` when its real file is outside."""

    kind: CardKind
    path: Path  # where it is named inside the KB (a symlink is not followed)
    refused: PathOutsideKB | None = None


def scan_documents(root: Path) -> Iterator[Document]:
    """Every card, config and run log named in the KB, sorted within each kind.

    Documents whose real file lies outside the KB (a symlinked card, a symlinked card folder)
    are yielded with ``refused`` set, so validation can report them; nothing reads them.
    """
    root = Path(root).resolve()
    check = InsideCheck(root)
    for kind in KINDS:
        for path in sorted(root.glob(kind.pattern)):
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue  # hidden folders hold runs being staged
            if path.is_file() or path.is_symlink():
                yield Document(kind, path, check(path))


def iter_documents(root: Path) -> Iterator[tuple[CardKind, Path]]:
    """Every card, config and run log in the KB whose real file is inside it."""
    for doc in scan_documents(root):
        if doc.refused is None and doc.path.is_file():
            yield doc.kind, doc.path


def expected_id(kind: CardKind, path: Path) -> str:
    """The id a document must carry, given where it is stored."""
    return path.parent.name if kind.id_from == "parent" else path.stem


# ---------------------------------------------------------------------------------------------
# The one rule for every file kbtools reads or copies: its real location is inside the KB root.


def resolve_inside(root: Path, path: Path | str) -> Path:
    """The real path of ``path`` (relative paths are taken from ``root``), checked to be inside.

    Symlinks are followed to their target, and the target must be inside ``root`` too: a link to
    ``/proc/self/environ`` or to a card in another checkout is refused with
    :class:`PathOutsideKB` (rule ``path.outside-kb``; ``path.symlink-outside`` when a symlink
    is what leads out). The repository's ``.git`` folder is not part of the KB (CI checkouts
    keep access tokens in ``.git/config``). A symlink that loops (leads back to itself) is
    refused with rule ``path.symlink-loop``. Every reader and copier of KB files (cards,
    configs, run files, plots, local paths named in cards, the files the site publishes) goes
    through this function. Messages name ``path`` as given, never the KB root or the link's
    target, so they are safe to publish on the health page.
    """
    root = Path(root).resolve()
    given = Path(path)
    candidate = given if given.is_absolute() else root / given
    try:
        real = candidate.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a symlink loop
        raise symlink_loop(given) from None
    if _within(root, real):
        return real
    lexical = Path(*_normalise(candidate.absolute().parts))
    if _within(root, lexical):  # a symlink on the way leads out
        raise refusal("path.symlink-outside", given,
                      "is a symlink (or lies in a symlinked folder) that points outside the KB "
                      "root; kbtools never reads, copies or publishes files outside the KB",
                      "replace the symlink with a copy of the file (or remove it); files the "
                      "KB uses live inside the KB")
    raise refusal("path.outside-kb", given, "is outside the KB root; kbtools never reads, "
                  "copies or publishes files outside the KB", "give a path inside the KB root")


def _within(root: Path, real: Path) -> bool:
    """Whether ``real`` is ``root`` or below it, and not in the repository's ``.git``."""
    if real != root and root not in real.parents:
        return False
    git = root / ".git"
    return real != git and git not in real.parents


def refusal(rule: str, given: Path | str, message: str, hint: str) -> PathOutsideKB:
    """A :class:`PathOutsideKB` for ``given`` under validation rule ``rule``."""
    err = PathOutsideKB(message, path=str(given), hint=hint)
    err.rule = rule
    return err


def symlink_loop(given: Path | str) -> PathOutsideKB:
    """The refusal of a path that is, or goes through, a symlink loop."""
    return refusal("path.symlink-loop", given,
                   "is a symlink loop (it leads back to itself, or to a folder it sits in, "
                   "directly or through other links), so it names nothing to read",
                   "remove the symlink, or point it at a file inside the KB")


def symlink_broken(given: Path | str) -> PathOutsideKB:
    """The refusal of a symlink whose target does not exist."""
    return refusal("path.symlink-broken", given, "is a symlink to a file that does not exist",
                   "remove the symlink, or replace it with the file itself")


def hardlinked(given: Path | str, nlink: int) -> PathOutsideKB:
    """The refusal of a regular file that has other names (hard links) besides this one."""
    return refusal("path.hardlink", given,
                   f"is a hard link (the same file has {nlink - 1} other name(s), which may be "
                   "outside the KB); kbtools neither publishes nor trusts such a file",
                   "replace it with a copy of its own: cp FILE FILE.tmp && mv FILE.tmp FILE")


def _changed(given: Path | str) -> PathOutsideKB:
    return refusal("path.symlink-outside", given,
                   "changed between the check and the read (a symlink or another file was put "
                   "in its place); it is not read",
                   "build again; if it happens again, something is swapping files in the KB")


#: Flags for opening a file to copy it: never through a final symlink, never blocking on a
#: FIFO put in its place, not inherited by child processes.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))


@contextlib.contextmanager
def _open_checked(root: Path, path: Path | str) -> Iterator[tuple[int, os.stat_result]]:
    """A file descriptor of ``path``, opened once and checked as it was opened, and its
    status."""
    root = Path(root).resolve()
    real = resolve_inside(root, path)
    try:
        checked = os.stat(real, follow_symlinks=False)
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the real path became a symlink
            raise _changed(path) from None
        raise
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) \
                or (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
            raise _changed(path)
        if opened.st_nlink > 1:
            raise hardlinked(path, opened.st_nlink)
        where = _opened_path(fd)
        if where is not None and not _within(root, where):
            raise _changed(path)
        os.set_blocking(fd, True)
        yield fd, opened
    finally:
        os.close(fd)


def read_inside(root: Path, path: Path | str) -> bytes:
    """The bytes of a file the site publishes, opened once and checked as it was opened.

    :func:`resolve_inside` checks where ``path`` leads; the real path is then opened with
    ``O_NOFOLLOW``, and what was opened must be the regular file that was checked (same device
    and inode), with a single link and, where the system tells (``/proc/self/fd``), still at a
    path inside the KB. A symlink or another file swapped in between the check and the copy is
    therefore never read. Raises :class:`PathOutsideKB` (or ``OSError`` if unreadable).
    """
    with _open_checked(root, path) as (fd, _), os.fdopen(os.dup(fd), "rb") as handle:
        return handle.read()


def copy_inside(root: Path, path: Path | str, target: Path | str) -> None:
    """Copy ``path`` to ``target`` with the checks of :func:`read_inside` (streamed; the
    modification time is kept, as ``shutil.copy2`` keeps it)."""
    with _open_checked(root, path) as (fd, opened), os.fdopen(os.dup(fd), "rb") as source:
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out)
        os.utime(target, ns=(opened.st_atime_ns, opened.st_mtime_ns))


def _opened_path(fd: int) -> Path | None:
    """Where the kernel says the open file ``fd`` is (Linux), else None."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


def is_inside(root: Path, path: Path | str) -> bool:
    """Whether ``path`` resolves (symlinks followed) to a location inside ``root``."""
    try:
        resolve_inside(root, path)
    except PathOutsideKB:
        return False
    return True


class InsideCheck:
    """:func:`resolve_inside` for many files, resolving each folder once.

    Calling it with a path returns None when the file's real location is inside the root, else
    the :class:`PathOutsideKB` error. Only symlinks among the files themselves cost a full
    resolution, so scanning 10,000 cards stays cheap.
    """

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._folders: dict[Path, bool] = {}

    def __call__(self, path: Path, is_link: bool | None = None) -> PathOutsideKB | None:
        path = Path(path)
        folder_inside = self._folders.get(path.parent)
        if folder_inside is None:
            try:
                folder_inside = _within(self.root, path.parent.resolve())
            except (RuntimeError, OSError):
                folder_inside = False  # a folder symlink loop: resolve_inside reports it
            self._folders[path.parent] = folder_inside
        if folder_inside and not (path.is_symlink() if is_link is None else is_link):
            return None
        try:
            resolve_inside(self.root, path)
        except PathOutsideKB as exc:
            return exc
        return None

    def publishable(self, path: Path, is_link: bool | None = None) -> PathOutsideKB | None:
        """Like calling the check, and also refuses a broken symlink and a hard-linked file
        (whose other names may be outside the KB): the test for every file the site
        publishes and every file validation finds."""
        error = self(path, is_link)
        if error is not None:
            return error
        try:
            info = os.stat(path)
        except OSError:
            return symlink_broken(path) if os.path.islink(path) else None
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            return hardlinked(path, info.st_nlink)
        return None


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if len(out) > 1:
                out.pop()
        elif part != ".":
            out.append(part)
    return out
