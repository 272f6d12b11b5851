"""Complementary suppression of the totals a run writes: one rule, for the run files and the site.

The counts a run publishes add up. The subjects table's rows are the subjects kept plus those
dropped for a missing value; each role's table rows are its present, unmatched, empty and
incomplete rows; every subject is present or missing in each role; complete subjects have every
modality (so there are at most as many as any role has present). A count below the minimum cell
size is written as ``"<10"``, but beside ``n_subjects: 300`` and ``present: 293`` a
``missing: <10`` is 7 by subtraction, and ``n_subjects`` minus ``n_complete`` is a count of its
own (subjects lacking a modality) that nothing marks.

The rule, applied to what a reader sees: every count shown as ``"<10"``, and every count that
follows from the published ones (such as ``n_subjects - n_complete``), must keep the whole range
a ``"<10"`` claims — a reader who knows every relation below, every published number, that
counts are whole and not negative, and that ``"<10"`` means 0 to 9, must not be able to narrow a
small count to fewer values than 0..9 (zeros included). The audit solves two small linear
programs per protected count (scipy's HiGHS): its least and greatest possible value. While
some count is exposed, one more published number of a relation it takes part in is withheld
(``"suppressed"``), the cheapest first (table row counts, then per-role present counts, then
``n_subjects``; ``n_complete``, the analysed sample, last).

The same function runs when a run is written (:func:`kbtools.experiments.runner.guard`) and
when the site shows a run (for runs written before the rule existed).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WITHHELD = "suppressed"
#: An unpublished count that follows from published ones (its name starts with "~").
IMPLICIT = "~"
Cell = tuple[str, ...]
LACKING = (IMPLICIT, "subjects lacking a modality")
_MARKED = re.compile(r"^<(\d+)$")


@dataclass(frozen=True)
class Constraint:
    """``sum(coefficient * cell) == 0`` (``equal``) or ``<= 0``."""

    terms: tuple[tuple[Cell, int], ...]
    equal: bool = True

    @classmethod
    def total(cls, total: Cell, *parts: Cell) -> Constraint:
        return cls(((total, 1), *((p, -1) for p in parts)))

    @classmethod
    def at_most(cls, small: Cell, *large: Cell) -> Constraint:
        return cls(((small, 1), *((p, -1) for p in large)), equal=False)

    @property
    def cells(self) -> list[Cell]:
        return [name for name, _ in self.terms]


# ---------------------------------------------------------------------------------------------
# the relations of a run's counts


def run_cells(inventory: Mapping[str, Any] | None, counts: Mapping[str, Any] | None,
              inputs: list[Mapping[str, Any]] | None) -> dict[Cell, Any]:
    """The published counts a run's relations speak about, by path."""
    cells: dict[Cell, Any] = {}
    inventory = inventory if isinstance(inventory, Mapping) else {}
    for key in ("n_subjects", "n_complete", "dropped_incomplete"):
        if key in inventory:
            cells[("inventory", key)] = inventory[key]
    roles = inventory.get("roles") if isinstance(inventory.get("roles"), Mapping) else {}
    for role, facts in roles.items():
        if isinstance(facts, Mapping):
            for key in ("present", "missing", "unmatched", "empty_rows", "incomplete_rows"):
                if key in facts:
                    cells[("inventory", "roles", str(role), key)] = facts[key]
    for item in inputs or []:
        if isinstance(item, Mapping) and isinstance(item.get("role"), str) and "rows" in item:
            cells[("inputs", item["role"], "rows")] = item["rows"]
    for key in ("n_subjects", "n_complete"):
        if isinstance(counts, Mapping) and key in counts:
            cells[("counts", key)] = counts[key]
    return cells


def run_constraints(cells: Mapping[Cell, Any], subjects_role: str = "subjects"
                    ) -> list[Constraint]:
    """How the counts of :func:`run_cells` add up (only relations whose cells are present)."""
    out: list[Constraint] = []
    roles = sorted({name[2] for name in cells if name[:2] == ("inventory", "roles")})
    n, complete = ("inventory", "n_subjects"), ("inventory", "n_complete")

    def have(*names: Cell) -> bool:
        return all(name in cells or name[0] == IMPLICIT for name in names)

    rows = ("inputs", subjects_role, "rows")
    if have(rows, n, ("inventory", "dropped_incomplete")):
        out.append(Constraint.total(rows, n, ("inventory", "dropped_incomplete")))
    missing = []
    for role in roles:
        present, lacking = ("inventory", "roles", role, "present"), (
            "inventory", "roles", role, "missing")
        if have(n, present, lacking):
            out.append(Constraint.total(n, present, lacking))
        parts = [("inventory", "roles", role, k)
                 for k in ("present", "unmatched", "empty_rows", "incomplete_rows")]
        if have(("inputs", role, "rows"), *parts):
            out.append(Constraint.total(("inputs", role, "rows"), *parts))
        if have(complete, present):
            out.append(Constraint.at_most(complete, present))
        if have(lacking):
            missing.append(lacking)
            out.append(Constraint.at_most(lacking, LACKING))
    if roles and have(n, complete):
        out.append(Constraint.total(n, complete, LACKING))
        if missing:
            out.append(Constraint.at_most(LACKING, *missing))
    for key in ("n_subjects", "n_complete"):
        if ("counts", key) in cells and ("inventory", key) in cells:
            out.append(Constraint.total(("counts", key), ("inventory", key)))
    return out


def dotted(name: Cell) -> str:
    """``inventory.roles.gene.present`` (how reports list a cell)."""
    return ".".join(name)


def cost(name: Cell) -> int:
    """How much withholding a published count costs a reader (cheapest withheld first)."""
    return {"rows": 1, "present": 2, "n_subjects": 3, "n_complete": 9}.get(name[-1], 5)


# ---------------------------------------------------------------------------------------------
# the audit


def _known(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _small(value: Any) -> int | None:
    """The bound of a count shown as ``"<N"`` (N), else None."""
    match = _MARKED.match(value.strip()) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


class _Program:
    """The linear program of what a reader knows: unknown counts, relations, bounds."""

    def __init__(self, cells: Mapping[Cell, Any], constraints: list[Constraint]):
        import numpy as np

        self.names = sorted({c for k in constraints for c in k.cells}
                            - {c for c in cells if _known(cells[c]) is not None})
        self.index = {name: i for i, name in enumerate(self.names)}
        eq_rows, eq_rhs, ub_rows, ub_rhs = [], [], [], []
        for constraint in constraints:
            row = np.zeros(len(self.names))
            rhs = 0.0
            for name, coefficient in constraint.terms:
                value = _known(cells.get(name))
                if value is None:
                    row[self.index[name]] += coefficient
                else:
                    rhs -= coefficient * value
            if row.any():
                (eq_rows if constraint.equal else ub_rows).append(row)
                (eq_rhs if constraint.equal else ub_rhs).append(rhs)
            elif (rhs != 0) if constraint.equal else (rhs < 0):
                self.consistent = False  # published numbers break a relation
        bounds = []
        for name in self.names:
            limit = _small(cells.get(name))
            bounds.append((0, limit - 1 if limit else None))
        self.problem = {"A_eq": np.array(eq_rows) if eq_rows else None,
                        "b_eq": eq_rhs or None,
                        "A_ub": np.array(ub_rows) if ub_rows else None,
                        "b_ub": ub_rhs or None, "bounds": bounds, "method": "highs"}

    consistent = True

    def propagated(self, rounds: int = 50) -> list[tuple[float, float]]:
        """Outer bounds of every unknown by interval propagation (cheap; the true range of a
        count lies inside, so a narrow one here is narrow for the linear program too)."""
        lo = [b[0] for b in self.problem["bounds"]]
        hi = [math.inf if b[1] is None else b[1] for b in self.problem["bounds"]]
        rows = [(row, rhs, True) for row, rhs in zip(self.problem["A_eq"] if self.problem[
            "A_eq"] is not None else [], self.problem["b_eq"] or [], strict=True)]
        rows += [(row, rhs, False) for row, rhs in zip(self.problem["A_ub"] if self.problem[
            "A_ub"] is not None else [], self.problem["b_ub"] or [], strict=True)]
        for _ in range(rounds):
            changed = False
            for row, rhs, equal in rows:
                terms = [(j, a) for j, a in enumerate(row) if a]
                for j, a in terms:
                    # a*x_j = rhs - sum(others) (equal) or <= (inequality)
                    rest_lo = sum(b * (lo[i] if b > 0 else hi[i]) for i, b in terms if i != j)
                    rest_hi = sum(b * (hi[i] if b > 0 else lo[i]) for i, b in terms if i != j)
                    top, bottom = rhs - rest_lo, rhs - rest_hi  # a*x_j lies in [bottom, top]
                    new_lo, new_hi = lo[j], hi[j]
                    if a > 0:
                        new_hi = min(hi[j], top / a)
                        if equal:
                            new_lo = max(lo[j], bottom / a)
                    else:
                        new_lo = max(lo[j], top / a)
                        if equal:
                            new_hi = min(hi[j], bottom / a)
                    if new_lo > lo[j] + 1e-9 or new_hi < hi[j] - 1e-9:
                        lo[j], hi[j], changed = new_lo, new_hi, True
            if not changed:
                break
        return list(zip(lo, hi, strict=True))

    def witness(self, names: list[Cell], sign: int, cap: float | None = None
                ) -> list[float] | None:
        """A feasible point minimising (``sign=1``) or maximising (``-1``) the sum of ``names``
        (each capped at ``cap`` when maximising); None if there is none."""
        import numpy as np
        from scipy.optimize import linprog

        c = np.zeros(len(self.names))
        problem = dict(self.problem)
        bounds = list(problem["bounds"])
        for name in names:
            i = self.index[name]
            c[i] = sign
            if cap is not None:
                top = bounds[i][1]
                bounds[i] = (bounds[i][0], cap if top is None else min(top, cap))
        problem["bounds"] = bounds
        result = linprog(c, **problem)
        return list(result.x) if result.status == 0 else None

    def extreme(self, name: Cell, sign: int) -> float | None:
        """The least (``sign=1``) or greatest (``-1``) value of ``name``; None if infeasible."""
        import numpy as np
        from scipy.optimize import linprog

        c = np.zeros(len(self.names))
        c[self.index[name]] = sign
        result = linprog(c, **self.problem)
        if result.status == 2:
            return None
        if result.status != 0:  # unbounded
            return 0.0 if sign > 0 else math.inf
        return sign * result.fun


def exposed(cells: Mapping[Cell, Any], constraints: list[Constraint], min_cell: int,
            first: bool = False) -> list[Cell]:
    """Small counts a reader can narrow: shown as ``"<N"``, or following from the published
    numbers, with fewer possible values left than 0..N-1 (all of them, or the first)."""
    program = _Program(cells, constraints)
    if not program.consistent:
        return []
    protected = [name for name in program.names
                 if _small(cells.get(name)) is not None or name[0] == IMPLICIT]
    if not protected:
        return []
    quick = program.propagated()
    narrow = [name for name in protected if _narrow(*quick[program.index[name]], min_cell)]
    if first and narrow:
        return narrow[:1]
    # two witnesses settle most counts at once: one point where they are as small as can be,
    # one where they are as large (up to min_cell - 1); only the rest get programs of their own
    low = program.witness(protected, 1)
    if low is None:
        return []  # the published numbers contradict the relations: nothing follows
    high = program.witness(protected, -1, cap=min_cell - 1) or [0.0] * len(program.names)
    settled = {name for name in protected if low[program.index[name]] <= 1e-9
               and high[program.index[name]] >= min_cell - 1 - 1e-9}
    out = []
    for name in protected:
        if name in settled:
            continue
        if quick[program.index[name]][0] >= min_cell:
            continue  # a derived count, but not a small one
        lo = program.extreme(name, 1)
        if lo is None:
            return []  # the published numbers contradict the relations: nothing follows
        if lo >= min_cell:
            continue
        hi = program.extreme(name, -1)
        hi = math.inf if hi is None else hi
        if _narrow(lo, hi, min_cell):
            out.append(name)
            if first:
                break
    return out


def _narrow(lo: float, hi: float, min_cell: int) -> bool:
    """A small count (it can be below ``min_cell``) left fewer values than 0..min_cell-1."""
    if not lo < min_cell or math.isinf(hi):
        return False
    return math.floor(hi + 1e-9) - math.ceil(lo - 1e-9) < min_cell - 1


def protect(cells: Mapping[Cell, Any], constraints: list[Constraint], min_cell: int
            ) -> list[Cell]:
    """Names of the published counts to withhold so that no small count is exposed (see
    :func:`_protect`; identical views, e.g. runs of one cohort, are worked out once)."""
    view = tuple(sorted((k, v if _known(v) is not None or _small(v) else WITHHELD)
                        for k, v in cells.items()))
    return list(_protect_cached(view, tuple(constraints), min_cell))


@functools.lru_cache(maxsize=256)
def _protect_cached(view: tuple[tuple[Cell, Any], ...], constraints: tuple[Constraint, ...],
                    min_cell: int) -> tuple[Cell, ...]:
    return tuple(_protect(dict(view), list(constraints), min_cell))


def _protect(cells: Mapping[Cell, Any], constraints: list[Constraint], min_cell: int
             ) -> list[Cell]:
    """Names of the published counts to withhold so that no small count is exposed: withhold
    the cheapest near count while one is exposed, then give back, most valuable first, each
    withheld count whose return exposes nothing."""
    view = dict(cells)
    withheld: list[Cell] = []
    while True:
        bare = exposed(view, constraints, min_cell, first=True)
        if not bare:
            break
        pick = _complement(view, constraints, bare[0])
        if pick is None:
            break
        view[pick] = WITHHELD
        withheld.append(pick)
    for name in sorted(withheld, key=lambda c: -cost(c)):
        view[name] = cells[name]
        if exposed(view, constraints, min_cell, first=True):
            view[name] = WITHHELD
    return [name for name in withheld if view[name] == WITHHELD]


def _complement(view: Mapping[Cell, Any], constraints: list[Constraint], cell: Cell
                ) -> Cell | None:
    """The cheapest published count in a relation of ``cell``, looking further out (relations
    of relations) when every count near it is already withheld."""
    reached, frontier = {cell}, {cell}
    while frontier:
        near = {c for k in constraints if frontier & set(k.cells) for c in k.cells} - reached
        shown = [c for c in near if _known(view.get(c)) is not None]
        if shown:
            return min(shown, key=lambda c: (cost(c), view[c], c))
        reached |= near
        frontier = near
    return None


# ---------------------------------------------------------------------------------------------
# applying it to a run


def withhold_run(inventory: Any, counts: Any, inputs: Any, min_cell: int
                 ) -> tuple[Any, Any, Any, list[str]]:
    """Copies of a run's ``inventory``, ``counts`` and ``inputs`` with complementary cells
    withheld, and their dotted names (``inventory.roles.gene.present``, ``inputs.gene.rows``)."""
    import copy

    cells = run_cells(inventory, counts, inputs if isinstance(inputs, list) else None)
    names = protect(cells, run_constraints(cells), min_cell)
    if not names:
        return inventory, counts, inputs, []
    inventory, counts, inputs = (copy.deepcopy(v) for v in (inventory, counts, inputs))
    for name in names:
        head, *path, last = name
        if head == "inventory":
            node = inventory
            for step in path:
                node = next(v for k, v in node.items() if str(k) == step)
            node[next(k for k in node if str(k) == last)] = WITHHELD
        elif head == "counts":
            counts[last] = WITHHELD
        elif head == "inputs":
            for item in inputs:
                if isinstance(item, Mapping) and item.get("role") == path[0]:
                    item["rows"] = WITHHELD
    return inventory, counts, inputs, [dotted(n) for n in names]
