"""Rules of experiment configs that validation and the analysis core both apply.

* :mod:`.design_checks`: designs that cannot work (``design.*`` problems of ``kbtools
  validate``, refusals of ``kbtools run-experiment``);
* :mod:`.runnable`: what a config needs before it can run;
* :mod:`.attainable`: the smallest p- and q-values a design can reach.

Light on purpose (no numpy): validation imports them for every config. Nothing here imports
:mod:`kbtools.validation` or :mod:`kbtools.experiments`.
"""
