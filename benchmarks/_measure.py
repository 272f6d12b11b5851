"""Measure a command as a whole process tree: wall time, CPU seconds (user + system of the
process and every descendant it waited for: worker pools, Dask nannies and workers) and peak
resident memory of the tree (sampled every 50 ms with psutil)."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def run(cmd: list[str], expect: int | None = 0, env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd`` (niced like every long job on the shared machine) and measure it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(["nice", "-n", "10", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if expect is not None and proc.returncode != expect:
        sys.exit(f"{cmd[0]} exited {proc.returncode}:\n{out[-2000:]}{err[-2000:]}")
    return Measured(wall, cpu, peak[0] / 2**20, proc.returncode, out, err)


def load_note() -> str:
    """The machine's load, to print beside figures measured on a shared machine."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def add_backend_options(ap) -> None:
    """The options every backend benchmark takes: where to run, how often, and the internal
    ``--one`` that runs one configuration in a subprocess."""
    import argparse

    ap.add_argument("--backends", nargs="+", default=["in-process", "local:1", "local:2"])
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds (median)")
    ap.add_argument("--one", help=argparse.SUPPRESS)


def compare_backends(runs: dict[str, list[Measured]], backends: list[str],
                     key: str = "{}") -> None:
    """Print each backend's wall-time speed-up and extra CPU over the one before it."""
    import statistics

    for a, b in zip(backends, backends[1:], strict=False):
        ra, rb = runs[key.format(a)], runs[key.format(b)]
        wa, wb = (statistics.median(m.wall for m in r) for r in (ra, rb))
        ca, cb = (statistics.median(m.cpu for m in r) for r in (ra, rb))
        print(f"  {b} vs {a}: wall {wa / wb:.2f}x faster, CPU {cb / ca - 1:+.0%}")
