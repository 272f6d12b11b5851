"""Run one task per worker process under a time limit; kill a worker whose time is up.

A PDF can make MuPDF loop for hours (PyMuPDF 1.28.2 never returned from ``get_text("dict")``
on some markdown-rendered PDFs), and a call into C cannot be interrupted from Python. So files
are converted in worker processes that the parent can kill: a worker reports a file's page
count as soon as it is open (the time limit is per page), then its result, then takes the next
file. The parent waits on all workers at once, yields each outcome as it arrives, kills (and
replaces) a worker whose time is up, and kills every worker at once when it is interrupted
(Ctrl-C) or stopped.

joblib's backends have no per-task kill (loky's ``timeout`` aborts the whole call), which is
why this module forks its own workers. Children are forked from a parent that has already
imported the converter, so a worker starts in milliseconds, and each worker serves many files
(a fork per file cost about 75 ms of copy-on-write page faults); BLAS is pinned to one thread
inside each worker by the caller.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

#: What a task reports while it runs: ``report(pages)`` once the page count is known.
Report = Callable[[int], None]


@dataclass
class Limit:
    """The time a task may take: ``per_page`` seconds per page, plus one page for start-up."""

    per_page: float = 5.0

    def seconds(self, pages: int | None) -> float:
        return self.per_page * ((pages or 0) + 1)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: Any = None
    busy: bool = False
    started: float = 0.0
    pages: int | None = None


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _serve(conn: Connection, func: Callable[..., Any]) -> None:
    """A worker: run tasks from ``conn`` until told to stop (None) or killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it kills us on Ctrl-C
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = func(task, lambda pages: conn.send(("pages", pages)))
        except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
            result = {"status": "failed",
                      "reason": f"internal error: {type(exc).__name__}: {exc}"}
        conn.send(("done", result))


def run_limited(func: Callable[[Any, Report], dict[str, Any]], tasks: list[Any], *,
                jobs: int = 1, limit: Limit | None = None,
                on_kill: Callable[[Any], None] | None = None
                ) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Yield ``(task, outcome)`` as each ``func(task, report)`` finishes in a worker process.

    Up to ``jobs`` workers each convert one task after another (a worker is forked once, not
    per task). A task over its time limit has its worker killed (and replaced) and yields
    ``{"status": "failed", "reason": ...}``; a worker that dies yields a failure too.
    ``on_kill(task)`` runs after a worker was killed (to remove what it may have left). On any
    exception in the caller (KeyboardInterrupt, GeneratorExit) every worker is killed before
    the exception goes on.
    """
    limit = limit or Limit()
    ctx = _context()
    pending = deque(tasks)
    workers: list[_Worker] = []

    def spawn() -> _Worker:
        parent_end, child_end = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_serve, args=(child_end, func), daemon=True)
        proc.start()
        child_end.close()
        worker = _Worker(proc, parent_end)
        workers.append(worker)
        return worker

    def kill(worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
        workers.remove(worker)

    try:
        while pending or any(w.busy for w in workers):
            for worker in [w for w in workers if not w.busy]:
                if not pending:
                    break
                worker.task, worker.busy = pending.popleft(), True
                worker.started, worker.pages = time.monotonic(), None
                worker.conn.send(worker.task)
            while pending and len(workers) < max(1, jobs):
                worker = spawn()
                worker.task, worker.busy = pending.popleft(), True
                worker.started, worker.pages = time.monotonic(), None
                worker.conn.send(worker.task)
            busy = [w for w in workers if w.busy]
            deadline = min(w.started + limit.seconds(w.pages) for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
            for worker in [w for w in busy if w.conn in ready]:
                try:
                    kind, value = worker.conn.recv()
                except (EOFError, OSError):
                    worker.process.join()
                    code = worker.process.exitcode
                    task = worker.task
                    kill(worker)
                    how = (f"killed by signal {-code}" if code is not None and code < 0
                           else f"exit code {code}")
                    yield task, {"status": "failed", "reason": (
                        f"the worker converting it died ({how}); the file may be too large "
                        "for memory or trigger a MuPDF bug")}
                    continue
                if kind == "pages":
                    worker.pages = int(value)
                    continue
                worker.busy = False
                yield worker.task, value
            now = time.monotonic()
            for worker in [w for w in workers if w.busy]:
                allowed = limit.seconds(worker.pages)
                if now - worker.started >= allowed:
                    task, pages = worker.task, worker.pages
                    kill(worker)
                    if on_kill is not None:
                        on_kill(task)
                    counted = f"{pages} pages" if pages is not None else "before opening"
                    yield task, {"status": "failed", "reason": (
                        f"stopped after {allowed:.0f} s, the time limit ({limit.per_page:g} s "
                        f"per page, {counted}); the PDF makes the text extractor loop or is "
                        "unusually heavy (a larger --time-limit gives it more time)")}
    finally:
        for worker in list(workers):
            task, busy = worker.task, worker.busy
            kill(worker)
            if busy and on_kill is not None:
                on_kill(task)
