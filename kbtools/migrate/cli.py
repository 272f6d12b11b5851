"""Subcommand ``migrate``: rewrite the KB's cards to the kbtools schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kbtools.errors import EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "migrate", help="rewrite the KB's cards to the kbtools schemas (dry run by default)",
        description="Rewrite every card of the KB to the kbtools schemas through a declarative "
                    "mapping (built in: the card format used before kbtools). Without --write, "
                    "print a diff per file and the report, and change nothing. Comments and key "
                    "order are kept; values without a kbtools field are kept as the KB's own "
                    "fields and declared in kb/schemas/extensions.yaml. Running it twice changes "
                    "nothing.")
    p.add_argument("--write", action="store_true", help="apply the changes")
    p.add_argument("--mapping", metavar="FILE",
                   help="a mapping file of your own (default: the built-in `predecessor`)")
    p.add_argument("--no-diff", action="store_true", help="print only the report")
    p.add_argument("--report", type=Path, metavar="FILE",
                   help="also write the report as JSON to FILE")
    p.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    from kbtools.kb import find_kb_root
    from kbtools.migrate.engine import plan, write
    from kbtools.migrate.mapping import load_mapping

    root = find_kb_root(explicit=Path(args.kb_root) if args.kb_root else None)
    result = plan(root, load_mapping(args.mapping))
    if not args.no_diff:
        for rel in result.changed:
            sys.stdout.write(result.diff(rel))
    sys.stdout.write(result.report.text())
    if args.report:
        args.report.write_text(json.dumps(result.report.to_dict(), indent=2), encoding="utf-8")
    if not result.changed:
        print("nothing to change: the KB is already in the kbtools shape")
        return EXIT_OK
    if not args.write:
        print(f"dry run: {len(result.changed)} file(s) would change; run again with --write "
              "to apply")
        return EXIT_OK
    written = write(result)
    print(f"wrote {len(written)} file(s); now run `kbtools validate`")
    return EXIT_OK
