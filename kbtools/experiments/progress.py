"""Progress bars for long work: one tqdm bar on stderr, silent when disabled or not a TTY.

Below both the run context and the parallel layer, so neither imports the other for it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def progress_bar(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
                 unit: str = "it", enabled: bool = True, **kwargs: Any) -> Iterator[T]:
    """A tqdm progress bar that stays silent when disabled or when stderr is not a TTY."""
    from tqdm import tqdm

    show = enabled and sys.stderr.isatty()
    return iter(tqdm(iterable, total=total, desc=desc, unit=unit, disable=not show,
                     file=sys.stderr, leave=False, **kwargs))
