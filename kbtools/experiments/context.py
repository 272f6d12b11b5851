"""Run context: seed, parallelism and progress settings shared by every step of a run.

Randomness flows from one :class:`numpy.random.SeedSequence` root, so a run is identical for
the same seed whatever ``n_jobs`` or joblib backend is used: callers draw independent child
seeds with :meth:`RunContext.child_seeds` and hand one to each chunk of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from kbtools.experiments.progress import progress_bar

T = TypeVar("T")


@dataclass
class RunContext:
    """Settings of one run. ``n_jobs=None`` lets joblib's active ``parallel_config`` decide."""

    seed: int = 0
    n_jobs: int | None = 1
    progress: bool = True
    root: np.random.SeedSequence = field(init=False, repr=False)
    chunk_root: np.random.SeedSequence = field(init=False, repr=False)
    """Seeds of :meth:`map` chunks: a sequence of their own, so that mapping work in parallel
    leaves the draws of :meth:`child_seeds` and :meth:`rng` as they were."""

    def __post_init__(self) -> None:
        self.root = np.random.SeedSequence(self.seed)
        self.chunk_root = np.random.SeedSequence(self.seed, spawn_key=(2**32 - 1,))

    def child_seeds(self, n: int) -> list[np.random.SeedSequence]:
        """``n`` new independent seed sequences (each call spawns fresh ones)."""
        return self.root.spawn(n)

    def rng(self) -> np.random.Generator:
        """A generator seeded from a fresh child of the root."""
        return np.random.default_rng(self.child_seeds(1)[0])

    def map(self, fn: Any, chunks: Any, *, shared: Any = None, desc: str = "",
            unit: str = "chunk") -> list[Any]:
        """``fn(shared, chunk, rng)`` for each chunk through the run's parallel layer
        (:func:`kbtools.experiments.parallel.map_chunks`), each chunk with a fresh child seed,
        results in chunk order whatever ran where."""
        from kbtools.experiments.parallel import map_chunks

        chunks = list(chunks)
        return map_chunks(fn, chunks, self.n_jobs, self.chunk_root.spawn(len(chunks)),
                          shared=shared, progress=self.progress, desc=desc, unit=unit)

    def progress_bar(self, iterable: Iterable[T], *, total: int | None = None,
                     desc: str = "", unit: str = "it") -> Iterator[T]:
        """Wrap ``iterable`` in a tqdm bar on stderr; silent if disabled or not a terminal."""
        return progress_bar(iterable, total=total, desc=desc, unit=unit, enabled=self.progress)
