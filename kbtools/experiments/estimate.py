"""What a run's plan will cost: peak memory and time, estimated before anything is computed.

``--dry-run`` prints these figures so that a config that would fill memory or run for a week
(``n_permutations: 1000000000000``) is caught before it starts. Memory is counted from the
sizes: the loaded tables, the working copies of one fold's feature matrices, and what a
method keeps per resample (a permutation null of 8 bytes per permutation and fold, bootstrap
chunks, drop-one predictions). Time is the number of repeated units of work (model fits,
permutations, bootstrap replicates) times the time of one unit, measured here on random data
of the planned shape (a fraction of a second). Both are estimates: expect the right order of
magnitude, not the exact figure.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Rows and columns used to time one unit; larger shapes are scaled linearly from these.
_TIME_ROWS = 1000
_TIME_COLS = 1000
#: Bytes a chunk of permutations costs besides its numbers (seed sequence, task, result).
_CHUNK_OVERHEAD = 2_000
#: Working copies of a fold's feature matrix (raw, scaled, residualised, projected).
_COPIES = 4
#: CPU seconds of a run besides its repeated units: start-up and imports, loading the tables,
#: folds, figures and the run log (measured on the shipped configs, 2026-12-06).
FIXED_CPU_SECONDS = 3.5
#: Measured CPU over estimated unit time, per method (shipped configs, loaded 2-core machine).
CALIBRATION = {"cca_permutation": 6.0, "prediction_baselines": 0.04,
               "logo_gene_attribution": 0.15, "partial_correlations": 1.4,
               "harmonization_ablation": 0.9, "pca_dimension_search": 0.7}
#: The measured runs took between these multiples of the calibrated estimate.
RANGE = (0.5, 2.0)
#: Resident memory of an idle worker process (Python, numpy, scipy, scikit-learn, pandas).
WORKER_BASE_BYTES = 180 * 2**20


@dataclass
class PlanCost:
    """Estimated peak memory (bytes), CPU seconds of the method's work and how they add up."""

    memory_bytes: float
    seconds: float | None
    basis: list[str] = field(default_factory=list)
    workers: int = 1
    worker_bytes: float = 0.0
    """Peak memory of one worker process (0: everything runs in this process)."""

    @property
    def wall_seconds(self) -> float | None:
        if self.seconds is None:
            return None
        return FIXED_CPU_SECONDS + (self.seconds - FIXED_CPU_SECONDS) / self.workers

    def lines(self) -> list[str]:
        if self.seconds is None:
            when = "unknown (no estimate for this method)"
        else:
            lo, hi = RANGE
            wall = self.wall_seconds or 0.0
            when = (f"~{human_time(wall)} wall on {self.workers} worker(s), "
                    f"{self.seconds / 3600:.3g} core-hours (measured runs took "
                    f"{lo:g}-{hi:g}x such estimates)")
        memory = f"~{human_bytes(self.memory_bytes)}" + (
            f" in this process, ~{human_bytes(self.worker_bytes)} per worker"
            if self.worker_bytes else "")
        return [f"estimated peak memory: {memory}; estimated time: {when}",
                *(f"  {b}" for b in self.basis)]


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


def human_time(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    if seconds < 86400 * 365 * 2:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / (86400 * 365):.3g} years"


def _timed(fn: Callable[[], Any], repeats: int = 2) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _random(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, max(1, cols)))


def fit_seconds(n: int, p: int) -> float:
    """One L2 logistic regression fit (lbfgs) on ``n`` x ``p``, timed on a subsample."""
    from sklearn.linear_model import LogisticRegression

    rows, cols = min(n, _TIME_ROWS), min(p, _TIME_COLS)
    x = _random(rows, cols)
    y = (x[:, 0] + np.random.default_rng(1).standard_normal(rows) > 0).astype(int)
    model = LogisticRegression(C=1.0, max_iter=200)
    return _timed(lambda: model.fit(x, y)) * (n / rows) * (max(p, 1) / cols)


def hgb_seconds(n: int, p: int, max_iter: int) -> float:
    """One histogram gradient boosting fit, from two short fits on a subsample: the
    difference gives the time per boosting iteration, the rest is the fixed cost (binning)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows, cols = min(n, _TIME_ROWS), min(p, 200)
    x = _random(rows, cols)
    y = (x[:, 0] + np.random.default_rng(1).standard_normal(rows) > 0).astype(int)

    def fit(iters: int) -> float:
        model = HistGradientBoostingClassifier(max_iter=iters, early_stopping=False)
        return _timed(lambda: model.fit(x, y), 1)

    short, longer = fit(2), fit(8)
    per_iter = max(longer - short, 0.0) / 6
    fixed = max(short - 2 * per_iter, 0.0)
    return (fixed + per_iter * max_iter) * (n / rows) * (max(p, 1) / cols)


def permutation_seconds(m: int, rx: int, ry: int) -> float:
    """One CCA permutation: the product U.T @ P @ V and its largest singular value."""
    rows = min(m, 4 * _TIME_ROWS)
    u, v = _random(rows, min(rx, rows)), _random(rows, min(ry, rows), 1)
    perm = np.random.default_rng(2).permutation(rows)

    def unit() -> None:
        np.linalg.svd(u.T @ v[perm], compute_uv=False)

    return _timed(unit) * (m / rows)


def bootstrap_seconds(n: int) -> float:
    """One paired bootstrap replicate of an AUC difference on ``n`` subjects."""
    from kbtools.experiments.stats.bootstrap import paired_bootstrap_auc_difference

    rows = min(n, 4 * _TIME_ROWS)
    rng = np.random.default_rng(3)
    y = np.r_[np.ones(rows // 2), np.zeros(rows - rows // 2)].astype(int)
    a, b = rng.random(rows), rng.random(rows)
    reps = 100
    seconds = _timed(lambda: paired_bootstrap_auc_difference(y, a, b, n_boot=reps, rng=0), 1)
    return seconds / reps * (n / rows)


@dataclass
class _Shape:
    """Sizes of the plan: subjects, folds, feature dimension per role."""

    n_subjects: int
    n_train: int
    n_folds: int
    dims: dict[str, int]  # role -> features after PCA (capped by the training size)
    raw: dict[str, int]  # role -> features in the table
    jobs: int
    data_bytes: float
    columns: dict[str, list[str]]  # role -> feature column names
    timed: bool = True  # False: count memory only, time no unit (seconds come out as 0)

    def unit(self, fn: Callable[..., float], *args: Any) -> float:
        return fn(*args) if self.timed else 0.0


def _shape(config: dict[str, Any], cohort: Any, folds: list[Any], n_jobs: int | None,
           timed: bool) -> _Shape:
    from joblib import effective_n_jobs

    n_train = max((len(tr) for tr, _ in folds), default=len(cohort.subjects))
    pca = (config.get("preprocessing") or {}).get("pca") or {}
    raw = {role: int(block.shape[1]) for role, block in cohort.blocks.items()}
    default = "auto" if config.get("method") == "cca_permutation" else None
    dims = {role: min(_components(pca.get(role, default), n_train, p), n_train, p)
            for role, p in raw.items()}
    data = float(cohort.subjects.memory_usage(deep=True).sum()) + sum(
        float(block.memory_usage(deep=False).sum()) for block in cohort.blocks.values())
    columns = {role: [str(c) for c in block.columns] for role, block in cohort.blocks.items()}
    return _Shape(len(cohort.subjects), n_train, len(folds), dims, raw,
                  max(1, int(effective_n_jobs(n_jobs))), data, columns, timed)


def _components(setting: Any, n_train: int, width: int) -> int:
    """Features after ``preprocessing.pca`` (a number, ``auto`` or unset)."""
    from kbtools.experiments.preprocessing import auto_components

    if setting == "auto":
        return auto_components(n_train)
    return int(setting or width)


def _defaults(method: str) -> dict[str, Any]:
    import importlib

    from kbtools.experiments.methods import METHOD_MODULES

    module = importlib.import_module(METHOD_MODULES[method])
    return dict(getattr(module, "DEFAULTS", {}))


def _params(config: dict[str, Any]) -> dict[str, Any]:
    out = _defaults(config["method"])
    for key, value in (config.get("params") or {}).items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def _inner(config: dict[str, Any]) -> int:
    return int((config.get("cv") or {}).get("inner_splits", 3))


def _cca(config: dict[str, Any], s: _Shape) -> tuple[float, float, list[str]]:
    p = _params(config)
    roles = list(p.get("modalities") or [r for r in s.dims][:2])
    rx, ry = (s.dims.get(r, 1) for r in roles[:2])
    n_perm, chunk = int(p["n_permutations"]), max(1, int(p.get("chunk_size", 50)))
    # one permutation test on every subject (the folds only refit the CCA)
    unit = s.unit(permutation_seconds, s.n_subjects, rx, ry)
    seconds = n_perm * unit
    memory = (n_perm * 8.0 + math.ceil(n_perm / chunk) * _CHUNK_OVERHEAD
              + s.jobs * s.n_subjects * (rx + ry) * 8.0 + chunk * rx * ry * 8.0)
    return memory, seconds, [
        f"one test: {n_perm:,} permutations of {s.n_subjects:,} x ({rx} + {ry}) "
        f"at {unit * 1e3:.2f} ms each, over {s.jobs} worker(s)",
        f"permutation null kept: {human_bytes(n_perm * 8.0)}"]


def _prediction(config: dict[str, Any], s: _Shape) -> tuple[float, float, list[str]]:
    p = _params(config)
    modalities = list(dict(p.get("modalities") or {}).values())
    fusion = p.get("fusion") or {}
    widths = [s.dims.get(r, 1) for r in modalities]
    if fusion.get("early", True):
        widths.append(sum(widths))
    grid, inner = len(p.get("C_grid") or [1]), _inner(config)
    seconds, fits = 0.0, 0
    for width in widths:
        if "logistic" in p["models"]:
            n_fit = grid * inner + 1
            seconds += n_fit * s.unit(fit_seconds, s.n_train, width)
            fits += n_fit
        if "hgb" in p["models"]:
            n_fit = inner + 1
            iters = int(p["hgb"].get("max_iter", 50))
            seconds += n_fit * s.unit(hgb_seconds, s.n_train, width, iters)
            fits += n_fit
    seconds *= s.n_folds
    n_boot = int(p.get("n_boot", 1000))
    comparisons = len(p["models"]) * (1 + int(bool(fusion.get("early", True)))) * len(modalities)
    boot = comparisons * n_boot * s.unit(bootstrap_seconds, s.n_subjects)
    memory = n_boot * 8.0 * comparisons + 250 * s.n_subjects * 8.0 * 5
    return memory, seconds + boot, [
        f"{s.n_folds} fold(s) x {fits} model fits ({len(widths)} arms, C grid of {grid} x "
        f"{inner} inner folds)",
        f"{comparisons} comparisons x {n_boot:,} bootstrap replicates: ~{human_time(boot)}"]


def _logo(config: dict[str, Any], s: _Shape) -> tuple[float, float, list[str]]:
    import re

    p = _params(config)
    role = p.get("role", "gene")
    pattern = re.compile(p.get("gene_pattern", r"^(?P<gene>[^_]+)__"))
    genes = max(1, len({m.group("gene") for c in s.columns.get(role, [])
                        if (m := pattern.match(c))}))
    width = s.raw.get(role, 1)
    per_drop = (len(p.get("C_grid") or [1]) * _inner(config) + 1) if p.get("tune") == "retune" \
        else 1
    unit = s.unit(fit_seconds, s.n_train, width - width // genes)
    seconds = s.n_folds * (genes * per_drop + 1) * unit
    memory = genes * s.n_subjects * 8.0 + s.jobs * s.n_train * width * 8.0
    return memory, seconds, [
        f"{s.n_folds} fold(s) x ({genes} genes x {per_drop} fit(s) + 1) at "
        f"{unit * 1e3:.0f} ms a fit, over {s.jobs} worker(s)"]


def _harmonization(config: dict[str, Any], s: _Shape) -> tuple[float, float, list[str]]:
    p = _params(config)
    role = p.get("predict_role", "brain")
    fits = len(p.get("arms") or [1]) * (len(p.get("C_grid") or [1]) * _inner(config) + 1)
    seconds = s.n_folds * fits * s.unit(fit_seconds, s.n_train, s.dims.get(role, 1))
    n_boot = int(p.get("n_boot", 1000))
    boot = n_boot * s.unit(bootstrap_seconds, s.n_subjects)
    return n_boot * 8.0 + 250 * s.n_subjects * 8.0 * 5, seconds + boot, [
        f"{s.n_folds} fold(s) x {fits} model fits; {n_boot:,} bootstrap replicates"]


def _pca_search(config: dict[str, Any], s: _Shape) -> tuple[float, float, list[str]]:
    p = _params(config)
    dims = sorted({int(d) for d in p.get("dims") or [1]})
    inner = _inner(config)
    seconds = s.n_folds * (inner + 1) * sum(s.unit(fit_seconds, s.n_train, d) for d in dims)
    return 0.0, seconds, [f"{s.n_folds} fold(s) x {inner + 1} fits x {len(dims)} dimensions"]


def _partial(config: dict[str, Any], s: _Shape) -> tuple[float, float, list[str]]:
    width = max(s.dims.values(), default=1)
    seconds = s.n_folds * 3 * s.unit(fit_seconds, s.n_train, width)
    return 0.0, seconds, [f"{s.n_folds} fold(s) of decompositions and correlations"]


ESTIMATORS: dict[str, Callable[[dict[str, Any], _Shape], tuple[float, float, list[str]]]] = {
    "cca_permutation": _cca,
    "prediction_baselines": _prediction,
    "logo_gene_attribution": _logo,
    "harmonization_ablation": _harmonization,
    "pca_dimension_search": _pca_search,
    "partial_correlations": _partial,
}


def estimate(config: dict[str, Any], cohort: Any, folds: list[Any],
             n_jobs: int | None = 1, *, timed: bool = True) -> PlanCost:
    """Estimated peak memory and time of running ``config`` on ``cohort`` with ``folds``.

    With ``timed=False`` only memory is estimated (instantly); ``seconds`` is None.
    """
    s = _shape(config, cohort, folds, n_jobs, timed)
    # The process already holds Python, the libraries and the loaded tables.
    now = max(process_bytes(), s.data_bytes)
    working = _COPIES * s.n_train * sum(s.raw.values()) * 8.0
    basis = [f"this process now {human_bytes(now)} (tables {human_bytes(s.data_bytes)}) + "
             f"working copies of a fold {human_bytes(working)}"]
    method = config.get("method", "")
    estimator = ESTIMATORS.get(method)
    if estimator is None:
        return PlanCost(now + working, None, basis, s.jobs)
    extra, seconds, more = estimator(config, s)
    # a worker holds the libraries, the data scattered to it and one chunk's working copies
    worker = WORKER_BASE_BYTES + s.data_bytes + working if s.jobs > 1 else 0.0
    if not timed:
        return PlanCost(now + working + extra, None, basis, s.jobs, worker)
    cpu = FIXED_CPU_SECONDS + CALIBRATION.get(method, 1.0) * seconds
    return PlanCost(now + working + extra, cpu, basis + more, s.jobs, worker)


def process_bytes() -> float:
    """The largest resident memory of this process so far (0 where unknown)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return 0.0
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KB


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the platform does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
