"""``kbtools pdf2md``: research-paper PDFs to markdown summaries and draft paper cards."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

from kbtools.errors import EXIT_OK, EXIT_PROBLEMS, KBToolsError

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pdf2md", help="convert paper PDFs to markdown summaries (and draft paper cards)",
        description="Convert research-paper PDFs to markdown summaries with YAML front matter; "
                    "optionally draft kb/paper_cards/<id>.yaml. Already converted PDFs "
                    "(same sha256, same converter version) are skipped.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PDF|DIR",
                   help="PDF files, or folders searched recursively for *.pdf")
    p.add_argument("--out-dir", type=Path, metavar="DIR",
                   help="where the .md files go (default: next to each PDF)")
    p.add_argument("--card", action="store_true",
                   help="draft kb/paper_cards/<id>.yaml for each paper; never overwrites")
    p.add_argument("--update", action="store_true",
                   help="with --card: fill empty fields of existing cards and show conflicts")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="convert N files in parallel (default 1; -1 = all cores)")
    p.add_argument("--force", action="store_true", help="convert again even if cached")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="seconds per page a file may take before its worker is killed and the "
                        "file reported as failed (default 5; 0 = no limit, no worker process)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="report format on stdout (default text)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kbtools.pdf import batch

    if args.update and not args.card:
        raise KBToolsError("--update only applies with --card", hint="add --card")
    if args.jobs == 0 or args.jobs < -1:
        raise KBToolsError(f"--jobs {args.jobs} is not a number of processes",
                           hint="use a positive number, or -1 for all cores")
    limit = batch.DEFAULT_TIME_LIMIT if args.time_limit is None else args.time_limit
    if not limit >= 0:  # also refuses NaN
        raise KBToolsError(f"--time-limit {args.time_limit} is not a number of seconds",
                           hint="give seconds per page, e.g. --time-limit 10 (0: no limit)")
    root = None
    if args.card:
        from kbtools.kb import find_kb_root

        root = find_kb_root(explicit=args.kb_root)
    if args.out_dir is not None and args.out_dir.exists() and not args.out_dir.is_dir():
        raise KBToolsError(f"--out-dir {args.out_dir} is not a folder")
    pdfs, missing = batch.find_pdfs(args.paths)
    if not pdfs and not missing:
        raise KBToolsError("no PDF files found in " + ", ".join(map(str, args.paths)),
                           hint="pass PDF files or folders that contain *.pdf")
    jobs = (os.cpu_count() or 1) if args.jobs == -1 else args.jobs
    warning = batch.pymupdf_warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    report = _Report(args.format, [m.pdf for m in missing] + pdfs)
    results = batch.convert_all(pdfs, args.out_dir, jobs=jobs, force=args.force,
                                time_limit=limit)
    try:
        for res in itertools.chain(missing, results):
            record = _record(res)
            if args.card and root is not None and res.status in ("converted", "cached"):
                record["card"], record["_card_lines"] = _card(res, root, args.update)
            report.add(record)
    except KeyboardInterrupt:
        results.close()  # kills the running workers; their files get no output
        report.interrupted()
        return EXIT_INTERRUPTED
    return report.finish()


def _record(res: Any) -> dict[str, Any]:
    fm = res.front_matter
    return {"pdf": str(res.pdf), "status": res.status,
            "output": str(res.output) if res.output else None, "reason": res.reason,
            "pages": res.pages, "seconds": round(res.seconds, 3), "title": fm.get("title"),
            "kind": fm.get("kind"), "warnings": list(getattr(res, "warnings", []))}


def _card(res: Any, root: Path, update: bool) -> tuple[dict[str, Any], list[str]]:
    from kbtools.pdf import cards
    from kbtools.pdf.convert import CONVERTER_VERSION

    fm = res.front_matter
    cards_dir = root / cards.CARDS_DIR
    if not fm.get("title"):
        return {"action": "failed", "path": None,
                "message": "no title found; cannot derive the card id"}, [
            "  card: not drafted: no title found (write the card by hand)"]
    card = cards.draft(fm, res.card_summary, res.pdf, res.output, root, CONVERTER_VERSION)
    if "year" not in card:
        return {"action": "failed", "path": None, "message": "no year found"}, [
            "  card: not drafted: no year found in the PDF (the schema requires one)"]
    outcome = cards.apply(card, cards_dir, update, fm.get("provenance", {}))
    info = {"action": outcome.action, "path": str(outcome.path), "filled": outcome.filled,
            "disagreements": [{"field": k, "card": old, "pdf": new, "pdf_source": src}
                              for k, old, new, src in outcome.disagreements],
            "message": outcome.message}
    return info, cards.describe(outcome, root)


class _Report:
    """Prints one line per file as it finishes (text) or one JSON list at the end."""

    def __init__(self, fmt: str, order: list[Path]):
        self.fmt = fmt
        self.records: list[dict[str, Any]] = []
        self.order = {str(p): i for i, p in enumerate(order)}

    def add(self, r: dict[str, Any]) -> None:
        self.records.append(r)
        if self.fmt != "text":
            return
        if r["status"] == "failed":
            print(f"FAILED {r['pdf']}: {r['reason']}")
        elif r["status"] == "cached":
            print(f"cached {r['pdf']} -> {r['output']}")
        else:
            note = " [KB summary imported]" if r["kind"] == "kb-summary" else ""
            print(f"converted {r['pdf']} -> {r['output']} ({r['pages']} pages, "
                  f"{r['seconds']:.2f} s){note}")
        for warning in r.get("warnings", []):
            print(f"  warning: {warning}")
        for line in r.get("_card_lines", []):
            print(line)
        sys.stdout.flush()

    def counts(self) -> dict[str, int]:
        counts = {"converted": 0, "cached": 0, "failed": 0, "cards_failed": 0}
        for r in self.records:
            counts[r["status"]] += 1
            counts["cards_failed"] += r.get("card", {}).get("action") == "failed"
        return counts

    def summary(self) -> str:
        c = self.counts()
        line = (f"{c['converted']} converted, {c['cached']} cached (unchanged), "
                f"{c['failed']} failed")
        if c["cards_failed"]:
            line += f"; {c['cards_failed']} card{'s' * (c['cards_failed'] > 1)} not drafted"
        return line

    def finish(self) -> int:
        """Print the summary (or the JSON list); the exit code says the same as the summary."""
        c = self.counts()
        if self.fmt == "json":
            ordered = sorted(self.records, key=lambda r: self.order.get(r["pdf"], -1))
            clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in ordered]
            json.dump(clean, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        else:
            print(self.summary())
        return EXIT_PROBLEMS if c["failed"] or c["cards_failed"] else EXIT_OK

    def interrupted(self) -> None:
        if self.fmt == "json":
            self.finish()
        print(f"interrupted: {self.summary()} before Ctrl-C; the files being converted were "
              "stopped and nothing of them was written", file=sys.stderr)
