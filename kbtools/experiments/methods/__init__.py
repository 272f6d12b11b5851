"""Registry of analysis methods that ``kbtools run-experiment`` can run.

A method is a function ``run(cohort, config, ctx) -> MethodResult`` registered under the
name an experiment config gives in ``method``. The runner loads the cohort, resolves the
config, calls the method, passes the result through the disclosure guard and writes the
run log; methods never write files themselves.

A method module may also define

* ``subject_columns(config) -> {column: why}``: columns of the subjects table it reads besides
  those the config's top level names (site, covariates, ``outcome``), so that loading checks
  them (and ``--dry-run`` refuses a missing one);
* ``preflight(cohort, config) -> list[str]``: every refusal the method would raise on this
  cohort, raised as :class:`kbtools.errors.DataError` before anything is computed (the runner
  calls it for ``--dry-run`` too); returns warnings for the plan;
* ``diagnostics(cohort, config) -> list[str]``: what the data show that bears on the design
  (e.g. how sites differ) and what the run will do about it, printed by ``--dry-run`` (a run
  states the same in its summary).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType

    from matplotlib.figure import Figure

    from kbtools.experiments.cohort import Cohort
    from kbtools.experiments.context import RunContext


@dataclass
class MethodResult:
    """What a method hands back: aggregates only, never subject-level rows."""

    summary: dict[str, Any]
    """Summary metrics (nested plain data) -> metrics.yaml ``summary``."""
    per_fold: list[dict[str, Any]] = field(default_factory=list)
    """Flat aggregates per outer fold -> metrics.yaml ``per_fold`` and per_fold_metrics.csv."""
    headline: dict[str, Any] = field(default_factory=dict)
    """One to three key numbers for dashboards -> run.yaml ``headline``."""
    counts: dict[str, int] = field(default_factory=dict)
    """Subject counts (checked by the disclosure guard: below 10 is suppressed)."""
    warnings: list[str] = field(default_factory=list)
    """Design or data caveats the run must state (e.g. a test that cannot reach alpha)."""
    figures: dict[str, Figure | FigureMaker] = field(default_factory=dict)
    """File name (``*.png``) -> a figure, or a function drawing it once the disclosure guard
    has decided what may be shown (it receives a :class:`kbtools.experiments.disclosure.Shown`).
    The runner draws each in isolation: a plot that fails is reported, never loses the run."""


MethodFn = Callable[["Cohort", dict[str, Any], "RunContext"], MethodResult]
FigureMaker = Callable[[Any], "Figure"]

#: method name -> module that defines ``run``; modules import lazily so the CLI stays fast.
METHOD_MODULES: dict[str, str] = {
    "cca_permutation": "kbtools.experiments.methods.cca_permutation",
    "prediction_baselines": "kbtools.experiments.methods.prediction_baselines",
    "logo_gene_attribution": "kbtools.experiments.methods.logo_gene_attribution",
    "partial_correlations": "kbtools.experiments.methods.partial_correlations",
    "harmonization_ablation": "kbtools.experiments.methods.harmonization_ablation",
    "pca_dimension_search": "kbtools.experiments.methods.pca_dimension_search",
}


def method_module(name: str) -> ModuleType:
    """The module of method ``name``; KeyError if no such method."""
    return importlib.import_module(METHOD_MODULES[name])


def get_method(name: str) -> MethodFn:
    """The ``run`` function of method ``name``; KeyError if no such method."""
    return method_module(name).run


def method_subject_columns(config: dict[str, Any]) -> dict[str, str]:
    """Subjects-table columns the config's method reads itself (column -> why)."""
    name = str(config.get("method"))
    if name not in METHOD_MODULES:
        return {}
    fn = getattr(method_module(name), "subject_columns", None)
    return dict(fn(config)) if fn else {}


def preflight(cohort: Cohort, config: dict[str, Any]) -> list[str]:
    """Raise what the method would refuse on ``cohort``; warnings for the plan."""
    fn = getattr(method_module(str(config["method"])), "preflight", None)
    return list(fn(cohort, config)) if fn else []


def diagnostics(cohort: Cohort, config: dict[str, Any]) -> list[str]:
    """The method's statements about the data for ``--dry-run`` (none if it has no hook)."""
    fn = getattr(method_module(str(config["method"])), "diagnostics", None)
    return list(fn(cohort, config)) if fn else []
