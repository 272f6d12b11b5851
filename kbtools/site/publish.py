"""What the site may publish: the inside-the-root gate applied to MkDocs' own files.

MkDocs copies every file of ``docs_dir`` and of the theme's ``custom_dir`` into the site, and
renders the templates of ``custom_dir`` and of the kbtools ``templates_dir``. Each goes through
the gate of :mod:`kbtools.site_files` (real location inside the site root, no loop, no broken
link, no second hard link):

* :func:`stop_walks` (``on_config``): a folder symlink in ``docs_dir`` that leads out of the
  site root or loops, or a ``docs_dir`` outside it, stops the build before MkDocs walks it
  (MkDocs follows folder symlinks: it would walk the target, or forever);
* :class:`Gate` (``on_files``): a file MkDocs found that the gate refuses is dropped with a
  warning, so ``mkdocs build --strict`` fails; every kept file, and every run plot kbtools
  adds, is read and copied *open-then-check* (:func:`kbtools.kb.read_inside`), so a symlink
  swapped in after the check is never followed;
* :class:`InsideLoader`: an override template the gate refuses (outside the site root, a
  loop, a hard link) is not used; the shipped template is, with a warning.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from kbtools.errors import PathOutsideKB
from kbtools.kb import copy_inside, read_inside
from kbtools.site_files import Refusal, SiteCheck, SiteLayout, refusals

log = logging.getLogger("mkdocs.plugins.kbtools")


def describe(refusal: Refusal | None, path: str, error: PathOutsideKB) -> str:
    """One log line for a refused file."""
    what = f"{refusal.folder.setting} " if refusal is not None and \
        refusal.path == refusal.folder.path else ""
    hint = f" (fix: {error.hint})" if error.hint else ""
    return f"{what}{path}: {error.message} [{error.rule}]{hint}"


def stop_walks(layout: SiteLayout, config_dir: Path) -> list[Refusal]:
    """Every refused file of the site's folders; raises :class:`PluginError` when MkDocs would
    walk into a folder outside the site root or around a loop."""
    found = list(refusals(layout))
    walks = [r for r in found if r.is_folder and r.folder.setting == "docs_dir"]
    if walks:
        lines = "; ".join(describe(r, _shown(r.path, config_dir), r.error) for r in walks)
        raise PluginError(f"kbtools: refusing to build, MkDocs would walk outside the site "
                          f"or in circles: {lines}")
    return found


def _shown(path: Path | str, config_dir: Path) -> str:
    return Path(os.path.relpath(path, config_dir)).as_posix()


class Gate:
    """Drops refused files from MkDocs' file list and makes the rest copy open-then-check."""

    def __init__(self, layout: SiteLayout, config_dir: Path, gated_dirs: Iterable[str]):
        self.check = layout.check()
        self.config_dir = config_dir
        self.gated = {os.path.normpath(d) for d in gated_dirs}

    def filter(self, files: Files) -> list[str]:
        """Remove refused files from ``files``; the others become checked copies. Returns
        the warnings logged."""
        warnings = []
        for file in list(files):
            if file.generated_by is not None or file.abs_src_path is None \
                    or file.src_dir is None or os.path.normpath(file.src_dir) not in self.gated:
                continue  # a plugin's own file, or one of an installed theme
            root, error = self.check.root_of(Path(file.abs_src_path))
            if root is None:
                assert error is not None
                files.remove(file)
                message = describe(None, _shown(file.abs_src_path, self.config_dir), error)
                log.warning("kbtools: not publishing %s", message)
                warnings.append(message)
            else:
                checked(file, root)
        return warnings


class CheckedFile(File):
    """A MkDocs file whose content is read, and copied, open-then-check from a KB root."""

    kb_root: Path

    @property
    def content_bytes(self) -> bytes:
        if self._content is None and self.abs_src_path is not None:
            return self._read()
        return File.content_bytes.fget(self)  # type: ignore[attr-defined]

    @content_bytes.setter
    def content_bytes(self, value: bytes) -> None:
        File.content_bytes.fset(self, value)  # type: ignore[attr-defined]

    @property
    def content_string(self) -> str:
        if self._content is None and self.abs_src_path is not None:
            return self._read().decode("utf-8-sig")
        return File.content_string.fget(self)  # type: ignore[attr-defined]

    @content_string.setter
    def content_string(self, value: str) -> None:
        File.content_string.fset(self, value)  # type: ignore[attr-defined]

    def _read(self) -> bytes:
        assert self.abs_src_path is not None
        try:
            return read_inside(self.kb_root, self.abs_src_path)
        except PathOutsideKB as exc:
            raise PluginError(f"kbtools: not reading {self.src_uri}: {exc.message} "
                              f"[{exc.rule}]") from None

    def copy_file(self, dirty: bool = False) -> None:
        if self._content is not None or self.abs_src_path is None:
            return super().copy_file(dirty)
        if dirty and not self.is_modified():
            return None
        target = self.abs_dest_path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            copy_inside(self.kb_root, self.abs_src_path, target)
        except PathOutsideKB as exc:
            if os.path.lexists(target):
                os.unlink(target)
            log.warning("kbtools: not publishing %s: %s [%s]", self.src_uri, exc.message,
                        exc.rule)
        return None


def checked(file: File, root: Path) -> File:
    """``file``, made to read and copy its source open-then-check from ``root``."""
    file.__class__ = CheckedFile  # keeps every attribute MkDocs and other plugins set
    file.kb_root = root  # type: ignore[attr-defined]
    return file


class InsideLoader(jinja2.FileSystemLoader):
    """A :class:`jinja2.FileSystemLoader` whose ``gated`` folders only serve templates that
    pass ``check`` (inside the site root, no symlink out, no loop, one hard link), read
    open-then-check; a refused template is skipped (the next folder's is used) with a warning.
    """

    def __init__(self, searchpath: list[str], gated: Iterable[str], check: SiteCheck,
                 warn: Callable[[str], Any] | None = None):
        super().__init__(searchpath)
        self._gated = {os.path.normpath(p) for p in gated}
        self._check = check
        self._warn = warn or log.warning
        self._warned: set[str] = set()

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for searchpath in self.searchpath:
            filename = posixpath.join(searchpath, *pieces)
            if os.path.normpath(searchpath) not in self._gated:
                if os.path.isfile(filename):
                    return self._plain(filename)
                continue
            if not os.path.lexists(filename):
                continue
            root, error = self._check.root_of(Path(filename))
            if root is None:
                assert error is not None
                self._refuse(filename, error)
                continue
            if not os.path.isfile(filename):
                continue
            try:
                contents = read_inside(root, filename).decode(self.encoding)
            except PathOutsideKB as exc:
                self._refuse(filename, exc)
                continue
            return contents, os.path.normpath(filename), _uptodate(filename)
        raise jinja2.TemplateNotFound(template)

    def _plain(self, filename: str) -> tuple[str, str, Callable[[], bool]]:
        with open(filename, encoding=self.encoding) as handle:
            contents = handle.read()
        return contents, os.path.normpath(filename), _uptodate(filename)

    def _refuse(self, filename: str, error: PathOutsideKB) -> None:
        if filename not in self._warned:
            self._warned.add(filename)
            self._warn(f"kbtools: not using template {filename}: {error.message} "
                       f"[{error.rule}]")


def _uptodate(filename: str) -> Callable[[], bool]:
    try:
        mtime = os.path.getmtime(filename)
    except OSError:
        mtime = None

    def uptodate() -> bool:
        try:
            return os.path.getmtime(filename) == mtime
        except OSError:
            return False

    return uptodate
