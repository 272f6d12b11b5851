"""The card vocabulary that validation and migration share, below both of them.

* :mod:`.counts` reads counts written as text (``"650M"``, ``"12,500"``);
* :mod:`.older_format` says what a field of the card format used before kbtools is called
  now, from the built-in mapping (``mappings/predecessor.yaml``, data that
  :mod:`kbtools.migrate` runs and :mod:`kbtools.validation.hints` quotes).

Nothing here imports :mod:`kbtools.validation` or :mod:`kbtools.migrate`.
"""
