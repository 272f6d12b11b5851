"""Run one task per worker process under a time limit; kill a worker whose time is up.

A PDF can make MuPDF loop for hours (PyMuPDF 1.28.2 never returned from ``get_text("dict")``
on some markdown-rendered PDFs), and a call into C cannot be interrupted from Python. So each
file is converted in a child process that the parent can kill: the child reports its page
count as soon as the file is open (the time limit is per page), then its result. The parent
waits on all children at once, yields each outcome as it arrives, kills a child whose time is
up, and kills every child at once when it is interrupted (Ctrl-C) or stopped.

joblib's backends have no per-task kill (loky's ``timeout`` aborts the whole call), which is
why this module forks its own workers. Children are forked from a parent that has already
imported the converter, so a worker starts in milliseconds; BLAS is pinned to one thread
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
class _Running:
    task: Any
    process: Any
    conn: Connection
    started: float
    pages: int | None = None


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _child(conn: Connection, func: Callable[..., Any], task: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it kills us on Ctrl-C
    try:
        result = func(task, lambda pages: conn.send(("pages", pages)))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        result = {"status": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}"}
    try:
        conn.send(("done", result))
    finally:
        conn.close()


def run_limited(func: Callable[[Any, Report], dict[str, Any]], tasks: list[Any], *,
                jobs: int = 1, limit: Limit | None = None,
                on_kill: Callable[[Any], None] | None = None
                ) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Yield ``(task, outcome)`` as each ``func(task, report)`` finishes in its own process.

    A task over its time limit is killed and yields ``{"status": "failed", "reason": ...}``;
    a worker that dies yields a failure too. ``on_kill(task)`` runs after a worker was killed
    (to remove what it may have left). On any exception in the caller (KeyboardInterrupt,
    GeneratorExit) every running worker is killed before the exception goes on.
    """
    limit = limit or Limit()
    ctx = _context()
    pending = deque(tasks)
    running: dict[Connection, _Running] = {}

    def start(task: Any) -> None:
        parent_end, child_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child_end, func, task), daemon=True)
        proc.start()
        child_end.close()
        running[parent_end] = _Running(task, proc, parent_end, time.monotonic())

    def stop(run: _Running) -> None:
        run.process.kill()
        run.process.join()
        run.conn.close()
        if on_kill is not None:
            on_kill(run.task)

    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                start(pending.popleft())
            now = time.monotonic()
            deadline = min(r.started + limit.seconds(r.pages) for r in running.values())
            ready = wait(list(running), timeout=max(0.0, deadline - now))
            for conn in ready:
                run = running[conn]  # type: ignore[index]
                try:
                    kind, value = conn.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    run.process.join()
                    del running[conn]  # type: ignore[arg-type]
                    conn.close()  # type: ignore[union-attr]
                    code = run.process.exitcode
                    how = (f"killed by signal {-code}" if code is not None and code < 0
                           else f"exit code {code}")
                    yield run.task, {"status": "failed", "reason": (
                        f"the worker converting it died ({how}); the file may be too large "
                        "for memory or trigger a MuPDF bug")}
                    continue
                if kind == "pages":
                    run.pages = int(value)
                    continue
                del running[conn]  # type: ignore[arg-type]
                conn.close()  # type: ignore[union-attr]
                run.process.join()
                yield run.task, value
            now = time.monotonic()
            for conn, run in list(running.items()):
                allowed = limit.seconds(run.pages)
                if now - run.started >= allowed:
                    del running[conn]
                    stop(run)
                    pages = f"{run.pages} pages" if run.pages is not None else "before opening"
                    yield run.task, {"status": "failed", "reason": (
                        f"stopped after {allowed:.0f} s, the time limit ({limit.per_page:g} s "
                        f"per page, {pages}); the PDF makes the text extractor loop or is "
                        "unusually heavy (a larger --time-limit gives it more time)")}
    finally:
        for run in list(running.values()):
            stop(run)
        running.clear()
