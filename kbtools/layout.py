"""Which files of a KB are documents of each kind, and which are templates.

:data:`kbtools.kb.KINDS` names each kind's folder. A KB laid out before kbtools existed keeps
its integration cards in ``kb/integration_cards/``: that folder is read as registries too.
Template files (``template.yaml``, ``_template*.yaml``) are templates wherever they sit: they
are never cards, so they take part in no id or reference check and never reach a dashboard;
cards with ``status: template`` are checked but are not listed either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kbtools.kb import KINDS, KINDS_BY_NAME, CardKind

#: Folders read for a kind besides the one in :data:`kbtools.kb.KINDS` (older layouts).
EXTRA_PATTERNS: dict[str, tuple[str, ...]] = {
    "registry": ("kb/integration_cards/*.yaml",),
}
_TEMPLATE_NAMES = ("template.yaml", "template.yml")
_TEMPLATE_PREFIX = "_template"


def patterns(kind: str) -> tuple[str, ...]:
    """Glob patterns (relative to the KB root) of the documents of ``kind``."""
    return (KINDS_BY_NAME[kind].pattern, *EXTRA_PATTERNS.get(kind, ()))


def folders(kind: str) -> tuple[str, ...]:
    """The folders ``kind``'s documents live in (flat kinds only; runs have one per run)."""
    return tuple(p.rsplit("/", 1)[0] for p in patterns(kind))


def is_template_file(path: Path | str) -> bool:
    """Whether the file is a template by its name (``template.yaml``, ``_template*.yaml``)."""
    name = Path(path).name.lower()
    return name in _TEMPLATE_NAMES or name.startswith(_TEMPLATE_PREFIX)


def is_template(data: Any) -> bool:
    """Whether a parsed card says it is a template (``status: template``)."""
    return isinstance(data, dict) and data.get("status") == "template"


def documents(root: Path, kind: str) -> list[Path]:
    """Every document of ``kind`` in the KB (template files left out), sorted."""
    found: list[Path] = []
    for pattern in patterns(kind):
        # symlinks too (dangling ones included): readers refuse those leading outside the KB
        found.extend(p for p in sorted(Path(root).glob(pattern), key=_parts)
                     if (p.is_file() or p.is_symlink()) and not is_template_file(p))
    return found


def _parts(path: Path) -> tuple[str, ...]:
    """Sort key: the order of paths (by their parts), without pathlib's slower comparison."""
    return path.parts


def template_files(root: Path) -> list[tuple[CardKind, Path]]:
    """Template files in card folders, with the kind of the folder they sit in."""
    out = []
    for kind in KINDS:
        for pattern in patterns(kind.name):
            out.extend((kind, p) for p in sorted(Path(root).glob(pattern))
                       if p.is_file() and is_template_file(p))
    return out


def kind_of(path: Path, root: Path) -> CardKind | None:
    """The kind of the document at ``path`` (inside ``root``), or None if it is not one.

    Where a file is *named* decides its kind (a symlinked card is still a card, so that it can
    be refused when it leads outside the KB, see :func:`kbtools.kb.resolve_inside`).
    """
    from kbtools.kb import kb_relative

    rel = kb_relative(root, path)
    if rel is None:
        return None
    for kind in KINDS:
        for pattern in patterns(kind.name):
            if rel.match(pattern) and len(rel.parts) == len(Path(pattern).parts):
                return kind
    return None
