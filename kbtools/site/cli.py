"""``kbtools render --out DIR``: write the registry pages to disk for sites that commit them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kbtools.errors import EXIT_OK, KBToolsError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render", help="write the registry pages (markdown) the MkDocs plugin generates",
        description="Render the registry dashboards, card pages and KB health page to DIR, the "
                    "same pages the `kbtools` MkDocs plugin generates at build time. Only files "
                    "whose content changed are rewritten; pages of deleted cards are removed.")
    p.add_argument("--out", required=True, metavar="DIR", type=Path,
                   help="output folder, e.g. docs (pages go to DIR/registry/...)")
    p.add_argument("--templates", metavar="DIR", type=Path,
                   help="folder of templates that override the shipped ones")
    p.add_argument("--no-validate", action="store_true",
                   help="skip validation (the health page then lists only unreadable files)")
    p.add_argument("--min-cell-size", type=int, default=10, metavar="N",
                   help="smallest subject count shown in tables (default 10)")
    p.add_argument("--force", action="store_true",
                   help="replace files in DIR that kbtools did not write")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kbtools.kb import find_kb_root
    from kbtools.site.assets import MERMAID_URI, MERMAID_VERSION, mermaid_path
    from kbtools.site.render import generate
    from kbtools.site.sync import sync_folder

    root = find_kb_root(explicit=Path(args.kb_root) if args.kb_root else None)
    if args.templates is not None and not args.templates.is_dir():
        raise KBToolsError(f"--templates {args.templates} is not a directory",
                           hint="pass the folder holding your *.md.j2 overrides")
    if args.min_cell_size < 1:
        raise KBToolsError("--min-cell-size must be at least 1")
    out = args.out.resolve()
    rendered = generate(root, templates_dir=args.templates, cache_dir=None,
                        validate=not args.no_validate, min_cell_size=args.min_cell_size,
                        docs_dir=out)
    texts = {**rendered.pages, **rendered.assets}
    copies = {**rendered.files, MERMAID_URI: mermaid_path()}
    report = sync_folder(out, texts, copies, overwrite_foreign=args.force, inside=root)
    for rel, why in report.refused.items():
        print(f"not copied: {rel}: {why}", file=sys.stderr)
    print(f"{len(rendered.pages)} pages and {len(rendered.files)} plots in {out}: "
          f"{len(report.written)} written, {report.unchanged} unchanged, "
          f"{len(report.removed)} removed")
    if rendered.problems:
        print(f"the KB has {rendered.problems} validation problem(s): see "
              f"{out / 'registry' / 'health.md'}")
    print("without the plugin, add to mkdocs.yml: extra_css: [assets/kbtools/kbtools.css] and "
          f"extra_javascript: [assets/kbtools/kbtools.js, {MERMAID_URI}] (mermaid "
          f"{MERMAID_VERSION}, so diagrams render offline)")
    return EXIT_OK
