"""Validation: load documents, check them (schema, ids, references, lint, design), report problems.

Layers, as in check-jsonschema: :mod:`kbtools.yamlio` loads; :mod:`.checks`,
:mod:`.schema_check`, :mod:`.lint` and :mod:`.references` check; :mod:`.reporters` print.
"""

from kbtools.validation.engine import ValidationResult, validate_kb
from kbtools.validation.problems import Problem

__all__ = ["Problem", "ValidationResult", "validate_kb"]
