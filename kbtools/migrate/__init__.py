"""``kbtools migrate``: rewrite a KB's cards to the kbtools schemas through a declarative mapping.

Layers: :mod:`.mapping` loads the mapping (a YAML data file; the built-in one describes the card
format used before kbtools), :mod:`.rules` applies its rules to round-trip YAML trees
(:mod:`.tree`, comments and key order kept), :mod:`.fit` sets aside what still does not fit,
:mod:`.declare` declares every value left without a kbtools field as the KB's own field, and
:mod:`.engine` runs it over the KB, reporting what it could not map.
"""
