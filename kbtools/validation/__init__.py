"""Validation: load documents, check them (schema, references, lint), report problems."""
