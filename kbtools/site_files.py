"""The files a KB's site publishes besides its registry pages, and which of them it may not.

MkDocs publishes every file under ``docs_dir`` (it follows folder symlinks as it walks), the
static files of the theme's ``custom_dir`` and the templates there; the kbtools plugin renders
the page templates of its ``templates_dir``. Each such file must pass the one inside-the-root
gate (:class:`kbtools.kb.InsideCheck`): its real location, symlinks followed, is inside the
*site root*, it is not a broken link or a symlink loop, and it has no other hard link.

The site root is the KB root (the plugin's ``kb_root``, by default the folder holding
``mkdocs.yml``) together with the folder holding ``mkdocs.yml``: the two are the same folder
unless ``kb_root`` says otherwise, and a ``docs_dir`` beside ``mkdocs.yml`` is then inside it.
A ``docs_dir`` (or ``custom_dir``) that is itself outside is refused as a whole.

``kbtools validate`` reads ``mkdocs.yml`` at the KB root for these folders (:func:`from_config`,
without running anything it names) and reports every refused file in them and in the KB's own
folders (:func:`kb_refusals`); the plugin checks the same site folders from the configuration
MkDocs loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kbtools.errors import PathOutsideKB
from kbtools.kb import InsideCheck, symlink_loop

CONFIG_FILES = ("mkdocs.yml", "mkdocs.yaml")


@dataclass(frozen=True)
class SiteFolder:
    """A folder the site publishes files from: its setting (``docs_dir``...) and path; or,
    with ``published`` false, a KB folder kbtools reads (``kb/``, ``configs/``)."""

    setting: str
    path: Path  # absolute, symlinks not followed
    published: bool = True


@dataclass(frozen=True)
class SiteLayout:
    """Where a site's files come from and the roots they must stay inside."""

    roots: tuple[Path, ...]  # resolved
    folders: tuple[SiteFolder, ...]

    @classmethod
    def of(cls, kb_root: Path, config_dir: Path, folders: dict[str, Path | None]
           ) -> SiteLayout:
        roots = tuple(dict.fromkeys(Path(p).resolve() for p in (kb_root, config_dir)))
        kept = tuple(SiteFolder(name, Path(os.path.abspath(config_dir / path)))
                     for name, path in folders.items() if path is not None)
        return cls(roots, kept)

    def check(self) -> SiteCheck:
        return SiteCheck(self.roots)


class SiteCheck:
    """:meth:`kbtools.kb.InsideCheck.publishable` against every root of the site."""

    def __init__(self, roots: tuple[Path, ...]):
        self.checks = [InsideCheck(root) for root in roots]

    def __call__(self, path: Path, is_link: bool | None = None) -> PathOutsideKB | None:
        """None when ``path`` may be published, else why not (as for the first root)."""
        return self.root_of(path, is_link)[1]

    def root_of(self, path: Path, is_link: bool | None = None
                ) -> tuple[Path | None, PathOutsideKB | None]:
        """The root ``path`` may be published from, or None and why not."""
        first = None
        for check in self.checks:
            error = check.publishable(path, is_link)
            if error is None:
                return check.root, None
            first = first or error
        return None, first


def from_config(root: Path) -> SiteLayout:
    """The site layout ``mkdocs.yml`` at ``root`` describes (``docs/`` when there is none)."""
    root = Path(root).resolve()
    config: dict[str, Any] = {}
    for name in CONFIG_FILES:
        if (root / name).is_file():
            config = _read_config(root / name)
            break
    theme = config.get("theme")
    custom = theme.get("custom_dir") if isinstance(theme, dict) else None
    plugin = _plugin_options(config.get("plugins"), "kbtools")
    folders: dict[str, Path | None] = {
        "docs_dir": Path(_text(config.get("docs_dir")) or "docs"),
        "theme.custom_dir": Path(custom) if _text(custom) else None,
        "kbtools templates_dir": (Path(plugin["templates_dir"])
                                  if _text(plugin.get("templates_dir")) else None),
    }
    kb_root = root / plugin["kb_root"] if _text(plugin.get("kb_root")) else root
    return SiteLayout.of(kb_root, root, folders)


#: KB folders walked like the site's: every file below them is read by kbtools or may be.
KB_FOLDERS = ("kb", "configs")


def kb_refusals(root: Path) -> list[Refusal]:
    """Every refused file or folder symlink of the KB (``kb/``, ``configs/``; hidden folders,
    such as runs being staged, left out) and of its site (``mkdocs.yml``'s folders)."""
    layout = from_config(root)
    kb_folders = tuple(SiteFolder(name, Path(root).resolve() / name, published=False)
                       for name in KB_FOLDERS)
    return list(refusals(SiteLayout(layout.roots, kb_folders + layout.folders)))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _plugin_options(plugins: Any, name: str) -> dict[str, Any]:
    entries = plugins.items() if isinstance(plugins, dict) else (
        (next(iter(p.items())) if isinstance(p, dict) and len(p) == 1 else (p, None))
        for p in plugins or ())
    for key, options in entries:
        if key == name:
            return options if isinstance(options, dict) else {}
    return {}


def _read_config(path: Path) -> dict[str, Any]:
    """``mkdocs.yml`` as plain data; tags (``!!python/name:``, ``!ENV``) are kept as the plain
    values under them and nothing they name is imported or run."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("", plain)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506
    except (OSError, ValueError, RecursionError, yaml.YAMLError):
        return {}  # MkDocs reports an unreadable config itself
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Refusal:
    """A file or folder of the site that may not be published, and why."""

    folder: SiteFolder
    path: Path  # as found (symlinks not followed)
    error: PathOutsideKB
    is_folder: bool = False  # MkDocs would walk into it (a folder symlink, or the folder itself)


def refusals(layout: SiteLayout) -> Iterator[Refusal]:
    """Every file or folder of the site's folders that the site may not publish.

    Folders are walked as MkDocs walks ``docs_dir`` (folder symlinks followed), but a folder
    symlink that leads outside the site root or back to a folder it sits in (which would make
    MkDocs walk forever) is reported and not entered, and each real folder is entered once.
    """
    check = layout.check()
    entered: set[tuple[int, int]] = set()
    for folder in layout.folders:
        if not os.path.lexists(folder.path):
            continue
        error = check(folder.path)
        if error is None and not folder.path.is_dir():
            continue
        if error is not None:
            yield Refusal(folder, folder.path, error, is_folder=True)
            continue
        yield from _walk(folder, folder.path, (folder.path.resolve(),), check, entered)


def _walk(folder: SiteFolder, here: Path, chain: tuple[Path, ...], check: SiteCheck,
          entered: set[tuple[int, int]]) -> Iterator[Refusal]:
    try:
        info = here.stat()
        entries = sorted(os.scandir(here), key=lambda e: e.name)
    except OSError:
        return
    if (info.st_dev, info.st_ino) in entered:
        return
    entered.add((info.st_dev, info.st_ino))
    for entry in entries:
        if not folder.published and entry.name.startswith("."):
            continue  # e.g. kb/.run-staging-*: a run being written
        path = Path(entry.path)
        is_link = entry.is_symlink()
        if is_link:
            error = check(path, True)
            if error is not None:
                yield Refusal(folder, path, error, is_folder=_points_to_folder(path))
                continue
            if not path.is_dir():
                continue
            real = path.resolve()
            if any(real == seen or real in seen.parents for seen in chain):
                yield Refusal(folder, path, symlink_loop(path), is_folder=True)
                continue
            yield from _walk(folder, path, (*chain, real), check, entered)
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(folder, path, (*chain, chain[-1] / entry.name), check, entered)
        elif entry.is_file(follow_symlinks=False):
            error = check(path, False)
            if error is not None:
                yield Refusal(folder, path, error)


def _points_to_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False
