"""Pure statistical functions of the analysis core (no I/O, no cohort objects).

Submodules import numpy/scipy themselves; this package file imports nothing heavy so that
:mod:`kbtools.experiments.stats.attainable` stays usable from the numpy-free design checks.
"""
