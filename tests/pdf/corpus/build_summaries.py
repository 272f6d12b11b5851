"""Build KB summary PDFs the way research KBs make them: markdown -> pandoc -> WeasyPrint.

    python tests/pdf/corpus/build_summaries.py [--weasyprint PATH] [--chromium PATH]

Each ``summaries/*.md`` is turned into HTML by pandoc with a KB-like style sheet (generous
line height, numbered sections, page numbers) and printed to PDF by WeasyPrint, except
``site_effects.md``, which headless Chromium prints (the other common route). WeasyPrint is
not a kbtools dependency: point ``--weasyprint`` at the executable of a throwaway venv.
The answers (title, numbered headings, year, tables) go to ``summaries/truth.json``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "summaries"
CSS = """
@page { size: A4; margin: 2.2cm 2.4cm; @bottom-center { content: counter(page); font-size: 9pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.75; }
h1 { font-size: 21pt; line-height: 1.3; margin: 0 0 0.6em; }
h2 { font-size: 15pt; margin: 1.1em 0 0.3em; }
h3 { font-size: 12.5pt; margin: 0.9em 0 0.2em; }
p { margin: 0.35em 0; }
li { margin: 0.1em 0; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border-bottom: 1px solid #999; padding: 2px 10px; text-align: left; }
"""
CHROMIUM = {"site_effects"}


def answers(md: str) -> dict:
    title = re.search(r"^# (.+)$", md, re.MULTILINE).group(1)  # type: ignore[union-attr]
    title = re.sub(r"<[^>]+>", "", html.unescape(title)).strip()
    heads = [m.group(2).strip() for m in re.finditer(r"^(##|###) (.+)$", md, re.MULTILINE)]
    year = re.search(r"\*\*Year:\*\* (\d{4})", md) or re.search(r"\((\d{4})\)", md)
    from build_kb_summaries import answers as with_tables

    return {"title": title, "headings": heads, "year": int(year.group(1)) if year else None,
            "kind": "kb-summary", "tables": with_tables(md)["tables"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weasyprint", default="weasyprint")
    ap.add_argument("--chromium", default="chromium")
    args = ap.parse_args()
    truth = {}
    for src in sorted(HERE.glob("*.md")):
        md = src.read_text()
        body = subprocess.run(["pandoc", "-f", "markdown", "-t", "html5", str(src)],
                              capture_output=True, text=True, check=True).stdout
        title = re.sub(r"<[^>]+>", "", html.unescape(answers(md)["title"]))
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                f"</title><style>{CSS}</style></head><body>{body}</body></html>")
        out = HERE / f"{src.stem}.pdf"
        with tempfile.TemporaryDirectory() as tmp:
            page_path = Path(tmp) / "page.html"
            page_path.write_text(page)
            if src.stem in CHROMIUM:
                subprocess.run([args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                "--no-pdf-header-footer", f"--print-to-pdf={out}",
                                page_path.as_uri()], capture_output=True, check=True)
            else:
                subprocess.run([args.weasyprint, str(page_path), str(out)], check=True,
                               capture_output=True)
        truth[src.stem] = answers(md)
        print(f"{out.name}: {out.stat().st_size // 1024} kB")
    (HERE / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
