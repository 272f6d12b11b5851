"""Wald's sequential test of a decision's false-positive rate, as CI runs it: null cohorts one
after another until the decision is shown to hold alpha or to exceed it (a doubled rate fails
with probability 0.80)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SequentialTest:
    """Wald's sequential probability ratio test of a decision's rate on null cohorts.

    H0: the rate is at most ``p0`` (alpha = 0.05); H1: it is ``p1`` = 2 alpha (doubled). After
    n cohorts with x calls the log likelihood ratio is
    ``x log(p1/p0) + (n - x) log((1 - p1)/(1 - p0))`` (+0.693 a call, -0.0541 a non-call).
    The test fails the decision once it reaches ``upper`` and passes it once it falls to
    ``lower``; at ``n_max`` cohorts it fails if more than ``c_max`` calls were made.

    Operating characteristic, computed exactly by :meth:`operating_characteristic` (dynamic
    programming over (cohorts, calls); the test checks these numbers and a simulation of them):

    ======================  ==========================  ======================
    true rate of the calls  probability the test fails  expected cohorts run
    ======================  ==========================  ======================
    0 (never called)        0                           37
    0.03                    < 0.0001                    63.6
    0.05 (alpha: valid)     0.0097                      111.8
    0.07                    0.193                       180.4
    0.10 (doubled)          0.801                       176.3
    ======================  ==========================  ======================

    So a decision whose false-positive rate is doubled fails CI with probability 0.80, and a
    decision at exactly alpha fails it with probability 0.0097 (the 40-cohort band it replaces
    failed a doubled rate with probability 0.10: P(X >= 7 | n = 40, p = 0.10)). Wald's
    boundaries log((1 - beta)/alpha) = 4.38 and log(beta/(1 - alpha)) = -1.60 for alpha = 0.01,
    beta = 0.2 give these errors only without truncation; ``upper``, ``lower``, ``n_max`` and
    ``c_max`` are the design with the fewest expected cohorts at p0 among those meeting
    P(fail | p0) <= 0.01 and P(fail | p1) >= 0.80 on the grid upper 2.0-5.0, lower -3.0 to -1.0
    (steps of 0.25), n_max 150-300, c_max 6.5-8% of n_max.
    """

    p0: float = 0.05
    p1: float = 0.10
    upper: float = 4.75
    lower: float = -2.0
    n_max: int = 300
    c_max: int = 24

    def llr(self, calls: int, n: int) -> float:
        return (calls * np.log(self.p1 / self.p0)
                + (n - calls) * np.log((1 - self.p1) / (1 - self.p0)))

    def state(self, calls: int, n: int) -> str:
        """``fail``, ``pass`` or ``continue`` after ``calls`` calls in ``n`` cohorts."""
        llr = self.llr(calls, n)
        if llr >= self.upper:
            return "fail"
        if n >= self.n_max:
            return "fail" if calls > self.c_max else "pass"
        return "pass" if llr <= self.lower else "continue"

    def operating_characteristic(self, p: float) -> tuple[float, float]:
        """(probability of failing, expected number of cohorts) when each cohort's call is an
        independent Bernoulli(p), by dynamic programming over the calls so far."""
        alive = {0: 1.0}
        fail = expected = 0.0
        for n in range(1, self.n_max + 1):
            step: dict[int, float] = {}
            for calls, prob in alive.items():
                step[calls + 1] = step.get(calls + 1, 0.0) + prob * p
                step[calls] = step.get(calls, 0.0) + prob * (1 - p)
            alive = {}
            for calls, prob in step.items():
                state = self.state(calls, n)
                if state == "continue":
                    alive[calls] = prob
                else:
                    fail += prob if state == "fail" else 0.0
                    expected += n * prob
        return fail, expected

    def simulate(self, p: float, runs: int, rng: np.random.Generator) -> tuple[float, float]:
        """The same by simulating ``runs`` streams of calls (the oracle of the test)."""
        calls = (rng.uniform(size=(runs, self.n_max)) < p).cumsum(axis=1)
        failed, stopped = np.zeros(runs, bool), np.full(runs, self.n_max)
        for r in range(runs):
            for n in range(1, self.n_max + 1):
                state = self.state(int(calls[r, n - 1]), n)
                if state != "continue":
                    failed[r], stopped[r] = state == "fail", n
                    break
        return float(failed.mean()), float(stopped.mean())


SEQUENTIAL = SequentialTest()


def run_until_decided(call: Callable[[int], bool], test: SequentialTest = SEQUENTIAL
                      ) -> tuple[str, int, int]:
    """``call(seed)`` on null cohorts 0, 1, 2, ... until ``test`` decides: (``pass`` or
    ``fail``, calls made, cohorts run)."""
    calls = n = 0
    while True:
        calls += bool(call(n))
        n += 1
        state = test.state(calls, n)
        if state != "continue":
            return state, calls, n
