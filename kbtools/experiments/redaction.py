"""Locations outside the KB taken out of every value a run writes.

A run's files (run.yaml, config_used.yaml, metrics.yaml, CSV) are built from records; this
module rewrites the *values* of those records (mapping keys, list items, text), not the lines of
a file, so a YAML emitter folding a long line can never split a path past the check:

* the known places — each input read from outside the KB and its folder, an outside
  ``--runs-dir`` — are replaced wherever they occur inside a text;
* a text that is itself a path (``notes: /secure/ukb/readme.txt``) is replaced whole;
* any other absolute path inside a text (a ``--set`` value such as ``notes=data from /secure/my
  data/x.csv``) that exists on this machine outside the KB is replaced too; the longest existing
  path wins, so folder names with spaces are taken whole;
* the file names of data outside the KB are withheld (they can be sensitive: an application
  number, a case-list name) unless the user asked for them (``--record-data-names``).

A replaced location reads ``<outside-kb>`` (``<outside-kb>/NAME`` with names recorded).
:meth:`Redactor.leaks` is the disclosure guard's last check on the written files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTSIDE = "<outside-kb>"
#: Where an absolute path (or one in the home folder) can start inside a text.
_STARTS = re.compile(r"(?:^|(?<=[\s'\"=(\[{,;:|]))(?=/|~/)")
#: Where an absolute path can end: before these, before a folder separator, or at the end.
_ENDS = re.compile(r"(?=[\s'\"()\[\]{},;:<>|/])|$")
#: Longest text searched for embedded paths, and most candidate paths tried in one text.
MAX_TEXT = 8192
MAX_CANDIDATES = 4096
#: Bare file names shorter than this are not hunted for inside texts (too many false hits).
MIN_NAME = 5


def _exists(candidate: str) -> bool:
    try:
        return os.path.lexists(os.path.expanduser(candidate))
    except (OSError, ValueError):
        return False


@dataclass
class Redactor:
    """Rewrites record values so no location outside ``kb_root`` remains."""

    kb_root: Path
    places: list[str] = field(default_factory=list)
    """Known outside locations (absolute paths of files and folders)."""
    names: list[str] = field(default_factory=list)
    """File names of data read from outside the KB."""
    record_names: bool = False

    def __post_init__(self) -> None:
        self.kb_root = Path(self.kb_root).resolve()
        self.places = sorted({p for p in self.places if p and p not in ("/", ".")},
                             key=len, reverse=True)
        hidden = [] if self.record_names else self.names
        self._names = [re.compile(re.escape(n))  # anywhere: taking out too much is safe
                       for n in sorted(set(hidden), key=len, reverse=True) if len(n) >= MIN_NAME]

    # -- what replaces a location ----------------------------------------------------------------
    def label(self, path: str | Path) -> str:
        """``<outside-kb>``, or ``<outside-kb>/NAME`` when names are recorded."""
        name = Path(str(path).rstrip("/")).name
        return f"{OUTSIDE}/{name}" if self.record_names and name else OUTSIDE

    def outside(self, path: str | Path) -> bool:
        from kbtools.kb import is_inside

        try:
            return not is_inside(self.kb_root, Path(path).expanduser())
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: not the KB's
            return True

    def relative(self, path: str) -> str:
        """A path inside the KB, relative to its root (the root itself is ``.``)."""
        real = Path(os.path.expanduser(path)).resolve()
        return real.relative_to(self.kb_root).as_posix() if real != self.kb_root else "."

    # -- rewriting -----------------------------------------------------------------------------
    def text(self, text: str) -> str:
        """``text`` with every outside location (and hidden file name) replaced. A text that is
        itself a path (it starts with ``/`` or ``~/``) is taken whole, like a path option."""
        if text.startswith(("/", "~/")) and "\n" not in text:
            return self.label(text) if self.outside(text) else self.relative(text)
        for place in self.places:
            if place in text:
                text = text.replace(place, self.label(place))
        text = self._embedded(text)
        for pattern in self._names:
            text = pattern.sub(OUTSIDE, text)
        return text

    def value(self, value: Any) -> Any:
        """``value`` (a record: mappings, lists, texts) with :meth:`text` applied throughout."""
        if isinstance(value, dict):
            return {self.value(k) if isinstance(k, str) else k: self.value(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def _embedded(self, text: str) -> str:
        if "/" not in text or len(text) > MAX_TEXT:
            return text if "/" not in text else self._long(text)
        out, last = [], 0
        tried = 0
        for start in (m.start() for m in _STARTS.finditer(text)):
            if start < last:
                continue
            found = None
            for end in (m.start() for m in _ENDS.finditer(text, start + 1)):
                tried += 1
                if tried > MAX_CANDIDATES:
                    break
                candidate = text[start:end]
                if candidate.rstrip("/") and _exists(candidate):
                    found = candidate
            if found:
                out += [text[last:start], self.label(found) if self.outside(found)
                        else self.relative(found)]
                last = start + len(found)
        return "".join(out) + text[last:]

    def _long(self, text: str) -> str:
        """A text too long to search path by path: split it at whitespace and check the words."""
        return " ".join(self._embedded(word) for word in text.split(" "))

    # -- the last check --------------------------------------------------------------------------
    def leaks(self, text: str) -> str | None:
        """The first outside location (or hidden name) still in ``text``, or None."""
        for place in self.places:
            if place in text:
                return place
        if OUTSIDE not in text and self._embedded(text) != text:
            return "an absolute path"
        if OUTSIDE in text and self._embedded(text.replace(OUTSIDE, "")) != text.replace(
                OUTSIDE, ""):
            return "an absolute path"
        for pattern in self._names:
            if pattern.search(text):
                return "the file name of data outside the KB"
        return None


def redactor_for(cohort: Any, kb_root: Path, *, record_names: bool = False,
                 extra: list[str | Path] = ()) -> Redactor:
    """The redactor of one run: its inputs from outside the KB (and ``extra`` locations)."""
    from kbtools.kb import is_inside

    places: set[str] = set()
    names: list[str] = []
    for src in cohort.sources.values():
        if src.get("generated") or is_inside(kb_root, src["path"]):
            continue
        names.append(Path(src["path"]).name)
        for path in {Path(src["path"]).absolute(), Path(src["path"]).resolve()}:
            places.add(str(path))
            if str(path.parent) not in ("/", ""):
                places.add(str(path.parent))
    for item in extra:
        path = Path(item).absolute()
        if not is_inside(kb_root, path):
            places.update({str(path), str(path.resolve())})
    return Redactor(kb_root, sorted(places), names, record_names)
