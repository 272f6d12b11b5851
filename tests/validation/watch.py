"""Watch what a piece of kbtools opens and connects to (Python audit events).

An audit hook cannot be removed, so one hook is installed once and records only while a
:func:`watching` block is active. Rust code (jsonschema-rs) raises no audit events, so tests
also check that a sentinel value from an outside file never shows up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Seen:
    opened: list[str] = field(default_factory=list)
    connected: list[Any] = field(default_factory=list)

    def opened_under(self, folder: Path) -> list[str]:
        real = os.path.realpath(folder)
        return [p for p in self.opened
                if os.path.realpath(p) == real or os.path.realpath(p).startswith(real + os.sep)]


_ACTIVE: list[Seen] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _ACTIVE:
        return
    if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        path = os.fsdecode(args[0]) if not isinstance(args[0], str) else args[0]
        _ACTIVE[-1].opened.append(path)
    elif event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        _ACTIVE[-1].connected.append(args[:2])


_INSTALLED = False


@contextmanager
def watching() -> Iterator[Seen]:
    global _INSTALLED
    if not _INSTALLED:
        sys.addaudithook(_hook)
        _INSTALLED = True
    seen = Seen()
    _ACTIVE.append(seen)
    try:
        yield seen
    finally:
        _ACTIVE.remove(seen)
