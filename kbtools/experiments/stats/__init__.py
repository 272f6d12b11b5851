"""Pure statistical functions of the analysis core (no I/O, no cohort objects).

Submodules import numpy/scipy themselves; this package file imports nothing heavy. The
smallest attainable p- and q-values live with the design checks that use them
(:mod:`kbtools.config_rules.attainable`).
"""
