"""Where things live in a knowledge base: the root and the folder of each card kind."""

from __future__ import annotations

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


def kind_of(path: Path, root: Path) -> CardKind | None:
    """The kind of the document at ``path`` (inside ``root``), or None if it is not a card."""
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return None
    for kind in KINDS:
        if rel.match(kind.pattern) and len(rel.parts) == len(Path(kind.pattern).parts):
            return kind
    return None


def iter_documents(root: Path) -> Iterator[tuple[CardKind, Path]]:
    """Every card, config and run log in the KB, sorted within each kind."""
    for kind in KINDS:
        for path in sorted(root.glob(kind.pattern)):
            if path.is_file():
                yield kind, path


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
    local paths named in cards) goes through this function.
    """
    root = Path(root).resolve()
    given = Path(path)
    candidate = given if given.is_absolute() else root / given
    real = candidate.resolve()
    if real == root or root in real.parents:
        return real
    lexical = Path(*_normalise(candidate.absolute().parts))
    via_link = lexical == root or root in lexical.parents
    err = PathOutsideKB(
        f"{'a symlink that points' if via_link else 'a path that resolves'} outside the KB root"
        f" ({root})",
        path=str(given),
        hint="keep files the KB uses inside the KB; replace the symlink with the file itself"
        if via_link else "give a path inside the KB root",
    )
    err.rule = "path.symlink-outside" if via_link else "path.outside-kb"
    raise err


def is_inside(root: Path, path: Path | str) -> bool:
    """Whether ``path`` resolves (symlinks followed) to a location inside ``root``."""
    try:
        resolve_inside(root, path)
    except PathOutsideKB:
        return False
    return True


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if len(out) > 1:
                out.pop()
        elif part != ".":
            out.append(part)
    return out
