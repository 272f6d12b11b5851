"""Where things live in a knowledge base: the root and the folder of each card kind."""

from __future__ import annotations

import os
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
    for candidate in (Path(os.path.abspath(path)), Path(path).resolve()):
        try:
            return candidate.relative_to(root)
        except ValueError:
            continue
    return None


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
    is what leads out). Every reader and copier of KB files (cards, configs, run files, plots,
    local paths named in cards) goes through this function. Messages name ``path`` as given,
    never the KB root or the link's target, so they are safe to publish on the health page.
    """
    root = Path(root).resolve()
    given = Path(path)
    candidate = given if given.is_absolute() else root / given
    real = candidate.resolve()
    if real == root or root in real.parents:
        return real
    lexical = Path(*_normalise(candidate.absolute().parts))
    via_link = lexical == root or root in lexical.parents
    if via_link:
        err = PathOutsideKB(
            "is a symlink (or lies in a symlinked folder) that points outside the KB root; "
            "kbtools never reads, copies or publishes files outside the KB",
            path=str(given),
            hint="replace the symlink with a copy of the file (or remove it); files the KB "
                 "uses live inside the KB")
        err.rule = "path.symlink-outside"
    else:
        err = PathOutsideKB(
            "is outside the KB root; kbtools never reads, copies or publishes files outside "
            "the KB", path=str(given), hint="give a path inside the KB root")
        err.rule = "path.outside-kb"
    raise err


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
            real = path.parent.resolve()
            folder_inside = real == self.root or self.root in real.parents
            self._folders[path.parent] = folder_inside
        if folder_inside and not (path.is_symlink() if is_link is None else is_link):
            return None
        try:
            resolve_inside(self.root, path)
        except PathOutsideKB as exc:
            return exc
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
