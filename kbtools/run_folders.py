"""Where a run is staged, checks that it can be written before any computing, and cleanup.

The run-folder rules that ``kbtools run-experiment`` (writing) and ``kbtools validate``
(stale staging folders) both apply; this module imports neither of them.

A run directory is built in a staging folder and renamed into the runs folder when complete.
A rename only works within one filesystem, so the staging folder is a sibling of the *resolved*
runs folder (``kb/.run-staging-*`` for ``kb/runs``), or a hidden folder inside it when the runs
folder is a mount point of its own. The folder's name carries the process id and a tag of the
host that made it, so a later run (or ``kbtools validate``) can tell a folder left by a killed
run from one still in use. :func:`prepare` checks all of this before the computation starts,
so a run that cannot be written fails in a second with a message and exit 2, not after an hour
with a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kbtools.errors import KBToolsError, PathOutsideKB

PREFIX = ".run-staging-"
#: A staging folder whose owner cannot be checked (another host, no pid in the name) is stale
#: after this many hours; one whose process is gone is stale at once.
STALE_HOURS = 24
#: Runs write a few MB (YAML, CSV, PNG plots); refuse to start with less free space than this.
MIN_FREE_BYTES = 20 * 1024 * 1024


class RunWriteError(KBToolsError):
    """The run directory cannot be written (read-only, full, no permission, ...): exit 2."""


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def staging_prefix() -> str:
    """``.run-staging-<pid>-<host tag>-`` for this process (tempfile adds a random part)."""
    return f"{PREFIX}{os.getpid()}-{_host_tag()}-"


def staging_parent(runs_dir: Path) -> Path:
    """The folder to stage in: next to the (resolved) runs folder, on its filesystem."""
    real = runs_dir.resolve()
    try:
        same = os.stat(real.parent).st_dev == os.stat(real).st_dev
    except OSError:
        same = True  # the runs folder does not exist yet: it will be made in its parent
    return real.parent if same else real


def _owner(path: Path) -> tuple[int, str] | None:
    parts = path.name[len(PREFIX):].split("-")
    if len(parts) >= 3 and parts[0].isdigit() and len(parts[1]) == 8:
        return int(parts[0]), parts[1]
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether a staging folder was left by a run that is no longer running."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    owner = _owner(path)
    if owner is not None and owner[1] == _host_tag():
        return owner[0] != os.getpid() and not _alive(owner[0])
    return age > STALE_HOURS * 3600


def leftovers(*folders: Path) -> list[Path]:
    """Stale staging folders directly inside ``folders``."""
    found: set[Path] = set()
    for folder in folders:
        if folder.is_dir():
            found.update(p for p in folder.glob(f"{PREFIX}*")
                         if p.is_dir() and not p.is_symlink() and is_stale(p))
    return sorted(found)


def kb_leftovers(root: Path) -> list[Path]:
    """Stale staging folders of the KB's default runs folder (for ``kbtools validate``)."""
    return leftovers(root / "kb", root / "kb" / "runs")


def write_error(exc: OSError, folder: Path) -> RunWriteError:
    """A clear message for an error writing into ``folder`` (the runs folder or staging)."""
    code = exc.errno
    where = str(folder)
    if code == errno.EROFS:
        return RunWriteError("the runs folder is on a read-only filesystem", path=where,
                             hint="remount it read-write, or pass --runs-dir DIR on a "
                                  "writable disk")
    if code in (errno.EACCES, errno.EPERM):
        return RunWriteError("no permission to write in the runs folder", path=where,
                             hint="fix the folder's permissions, or pass --runs-dir DIR")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return RunWriteError("no space left on the device holding the runs folder (or the "
                             "disk quota is used up)", path=where,
                             hint="free some space and run again; nothing was published")
    if code == errno.EXDEV:
        return RunWriteError("the staging folder and the runs folder are on different "
                             "filesystems, so the finished run cannot be moved into place",
                             path=where, hint="pass --runs-dir DIR for a folder on one disk")
    return RunWriteError(f"cannot write the run: {exc.strerror or exc}", path=where,
                         hint="check the runs folder, or pass --runs-dir DIR")


def prepare(runs_dir: Path, kb_root: Path, *, dry_run: bool = False) -> tuple[Path, list[Path]]:
    """Check, before any computing, that a run can be written into ``runs_dir``.

    Returns the resolved runs folder and the stale staging folders found (removed unless
    ``dry_run``). Raises :class:`RunWriteError` when the folder is a symlink out of the KB,
    cannot be created or written, or its disk is nearly full.
    """
    from kbtools.kb import resolve_inside

    root = Path(kb_root).resolve()
    named = Path(os.path.abspath(runs_dir))
    if named == root or root in named.parents:  # a folder of the KB: the KB's file rule holds
        try:
            real = resolve_inside(root, named)
        except PathOutsideKB as exc:
            raise RunWriteError(
                f"the runs folder {exc.message}, so validate and the site would refuse every "
                f"run written there [{exc.rule}]", path=str(runs_dir),
                hint="make it a real folder of the KB (a disk can be mounted at that path), "
                     "or pass --runs-dir DIR to keep runs outside the KB") from None
    else:  # an explicit --runs-dir outside the KB
        real = named.resolve()
    if dry_run and not real.exists():  # a dry run creates nothing: check where it would go
        existing = next((p for p in real.parents if p.exists()), Path("/"))
        if not (existing.is_dir() and os.access(existing, os.W_OK)):
            raise write_error(OSError(errno.EACCES, "cannot create the runs folder"), existing)
        return real, []
    try:
        real.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RunWriteError("the runs folder exists but is not a folder", path=str(runs_dir),
                            hint="remove or rename that file") from None
    except OSError as exc:
        raise write_error(exc, real) from None
    parent = staging_parent(real)
    stale = leftovers(parent, real)
    if not dry_run:
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
    try:  # can we make the staging folder, and then rename into the runs folder?
        probe = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=parent))
        try:
            (probe / ".write-check").write_bytes(b"ok")
            check = real / f".write-check-{os.getpid()}-{probe.name[-8:]}"
            check.mkdir()
            check.rmdir()
        finally:
            shutil.rmtree(probe, ignore_errors=True)
    except OSError as exc:
        raise write_error(exc, real) from None
    try:
        stat = os.statvfs(real)
    except (OSError, AttributeError):  # pragma: no cover - not POSIX
        return real, stale
    free = stat.f_bavail * stat.f_frsize
    if free < MIN_FREE_BYTES:
        raise RunWriteError(f"only {free / 1e6:.1f} MB free on the disk holding the runs "
                            f"folder (a run needs up to {MIN_FREE_BYTES / 1e6:.0f} MB)",
                            path=str(real), hint="free some space and run again")
    return real, stale


@contextmanager
def staged_run_dir(runs_dir: Path) -> Iterator[Path]:
    """A fresh staging folder on the runs folder's filesystem; removed unless published.

    Any error writing into it becomes a :class:`RunWriteError` (exit 2) naming the folder.
    """
    runs_dir = runs_dir.resolve()
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=staging_parent(runs_dir)))
    except OSError as exc:
        raise write_error(exc, runs_dir) from None
    try:
        yield staging
    except OSError as exc:
        raise write_error(exc, runs_dir) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
