"""Measure a command as a whole process tree: wall time, CPU seconds (user + system of the
process and every descendant it waited for: worker pools, Dask nannies and workers) and peak
memory of the tree (sampled every 50 ms with psutil): resident (RSS, summed over processes)
and proportional (PSS: a page shared by k processes counts 1/k). Forked workers share the
parent's pages, so the RSS sum counts those pages once per worker; PSS is what the tree
actually holds."""

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
    peak_pss_mb: float = 0.0


def _tree_memory(pid: int, pss: bool) -> tuple[int, int]:
    """(RSS summed over the tree, PSS summed over the tree or 0) in bytes."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    rss = proportional = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error, AttributeError):
            rss += proc.memory_info().rss
            if pss:
                proportional += proc.memory_full_info().pss
    return rss, proportional


def run(cmd: list[str], expect: int | None = 0, env: dict[str, str] | None = None,
        pss: bool = False) -> Measured:
    """Run ``cmd`` (niced like every long job on the shared machine) and measure it (with
    ``pss``, the tree's proportional memory too: reading it costs a little CPU per sample)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(["nice", "-n", "10", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, proportional = _tree_memory(proc.pid, pss)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], proportional)
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
    return Measured(wall, cpu, peak[0] / 2**20, proc.returncode, out, err, peak[1] / 2**20)


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
    """Print the parallel-efficiency ratios issue 22 sets, with the load: 2 workers' wall-time
    speed-up over 1 (target >= 1.7x), and each backend's wall time, extra CPU (target <= 15%)
    and peak memory (target <= 1.3x) against the in-process run."""
    import statistics

    def med(label: str, attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in runs[key.format(label)])

    def peak(label: str) -> float:
        return max(m.peak_mb for m in runs[key.format(label)])

    if "local:1" in backends and "local:2" in backends:
        print(f"  2 workers vs 1 (local:2 vs local:1): wall "
              f"{med('local:1', 'wall') / med('local:2', 'wall'):.2f}x faster (target >= 1.7x)")
    if "in-process" in backends:
        for b in backends:
            if b == "in-process":
                continue
            print(f"  {b} vs in-process: wall {med('in-process', 'wall') / med(b, 'wall'):.2f}x "
                  f"faster, CPU {med(b, 'cpu') / med('in-process', 'cpu') - 1:+.0%} (target <= "
                  f"+15%), peak memory {peak(b) / peak('in-process'):.2f}x (target <= 1.3x)")
    print(f"  ({load_note()})")
