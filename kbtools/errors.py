"""Exceptions that the CLI turns into clear messages and exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class KBToolsError(Exception):
    """An error the user can fix: says what went wrong, where, and how to fix it.

    ``exit_code`` is 2 (usage or environment) unless a subclass says otherwise.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        fix = f"\n  fix: {self.hint}" if self.hint else ""
        return f"{where}{self.message}{fix}"


class KBRootNotFound(KBToolsError):
    """No folder with mkdocs.yml or kb/ above the working directory."""


class DataError(KBToolsError):
    """Input data cannot be used as it is (missing file, NaN, duplicate ids, ...)."""

    exit_code = EXIT_PROBLEMS


class PathOutsideKB(KBToolsError):
    """A path kbtools was asked to read or copy resolves outside the KB root (symlinks included)."""

    exit_code = EXIT_PROBLEMS
    rule = "path.outside-kb"

    def __str__(self) -> str:  # the rule id, as validate reports it, for the docs' rule table
        where = f"{self.path}: " if self.path else ""
        fix = f"\n  fix: {self.hint}" if self.hint else ""
        return f"{where}{self.message} [{self.rule}]{fix}"
