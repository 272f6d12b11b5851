"""The ``kbtools`` command: one parser, subcommands contributed by each part of the package.

Each part's ``cli`` module exposes ``register(subparsers)`` and keeps its heavy imports
(numpy, pymupdf, mkdocs) inside the handler, so ``kbtools validate`` starts fast.
Handlers return an exit code: 0 success, 1 problems found, 2 usage or environment error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kbtools import __version__
from kbtools.errors import EXIT_USAGE, KBToolsError

#: Modules that contribute subcommands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "kbtools.validation.cli",  # validate, schema, new
    "kbtools.experiments.cli",  # run-experiment, synth-cohort
    "kbtools.pdf.cli",  # pdf2md
    "kbtools.site.cli",  # render
    "kbtools.migrate.cli",  # migrate
)


DESCRIPTION = (
    "Tools for a code-first neurogenomics knowledge base: validate cards, run experiments "
    "on the analysis core, turn paper PDFs into summaries and cards, render the site."
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with the usage line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kbtools", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"kbtools {__version__}")
    parser.add_argument("--kb-root", metavar="DIR", help=KB_ROOT_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _add_global_options(sub)
    return parser


KB_ROOT_HELP = "KB root folder (default: first folder upward with mkdocs.yml or kb/)"


def _add_global_options(subparsers: argparse._SubParsersAction) -> None:
    """Accept the global options after the subcommand too (``kbtools validate --kb-root DIR``).

    ``SUPPRESS`` as default keeps a value given before the subcommand when none comes after.
    """
    for parser in subparsers.choices.values():
        known = {opt for action in parser._actions for opt in action.option_strings}
        if "--kb-root" not in known:
            parser.add_argument("--kb-root", metavar="DIR", default=argparse.SUPPRESS,
                                help=KB_ROOT_HELP)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_global_options(action)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except KBToolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
