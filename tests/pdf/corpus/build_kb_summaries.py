"""Build KB summary PDFs the way many research KBs print them: markdown -> HTML -> WeasyPrint.

    /path/to/venv/bin/python tests/pdf/corpus/build_kb_summaries.py

Needs ``weasyprint`` and ``markdown-it-py`` in the running Python (WeasyPrint is not a kbtools
dependency: use a throwaway venv). Twelve summaries in four house styles: numbered or plain
section names ("Executive Summary", "Key Takeaways", "Why it matters"), and tables with a
border under every cell, with shaded rows, or ruled as a grid, none with a "Table N"
caption. The markdown sources (``kb_summaries/*.md``, our own words) hold the answers: the
title, the section headings, the year, and every table's cells.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent / "kb_summaries"

BASE = """
@page { size: A4; margin: 2cm 2.2cm; @bottom-center { content: counter(page); font-size: 9pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.6; }
h1 { font-size: 20pt; line-height: 1.25; margin: 0 0 0.5em; }
h2 { font-size: 14pt; margin: 1em 0 0.3em; }
h3 { font-size: 11.5pt; margin: 0.8em 0 0.2em; }
p { margin: 0.35em 0; }
table { border-collapse: collapse; margin: 0.7em 0; font-size: 9.5pt; }
th { text-align: left; }
"""
STYLES = {
    "rules": BASE + "th, td { border-bottom: 1px solid #888; padding: 3px 12px; }"
                    "th { border-bottom: 1.5px solid #222; }",
    "shaded": BASE + "th { border-bottom: 1.5px solid #333; padding: 4px 12px; }"
                     "td { padding: 4px 12px; } tr:nth-child(even) td { background: #e8e8e8; }"
                     "table { border-bottom: 1px solid #333; }",
    "grid": BASE + "th, td { border: 1px solid #555; padding: 3px 10px; }"
                   "th { background: #f0f0f0; }",
    "serif": BASE.replace('"DejaVu Sans", sans-serif', '"DejaVu Serif", serif')
    + "th, td { border-bottom: 0.8px solid #999; padding: 2px 14px; } h2 { color: #224; }",
}


def answers(md: str) -> dict:
    title = re.search(r"^# (.+)$", md, re.MULTILINE).group(1)  # type: ignore[union-attr]
    heads = [m.group(2).strip() for m in re.finditer(r"^(##|###) (.+)$", md, re.MULTILINE)]
    year = re.search(r"\*\*Year:?\*\*:? (\d{4})", md)
    tables = []
    for block in re.findall(r"((?:^\|.*\|\n)+)", md, re.MULTILINE):
        rows = [[c.strip() for c in line.strip()[1:-1].split("|")]
                for line in block.strip().splitlines()]
        rows = [r for r in rows if not all(re.fullmatch(r":?-{3,}:?", c) for c in r)]
        tables.append({"caption": "", "header": rows[0], "rows": rows[1:]})
    return {"title": title, "headings": heads, "year": int(year.group(1)) if year else None,
            "kind": "kb-summary", "tables": tables}


def main() -> int:
    import weasyprint
    from markdown_it import MarkdownIt

    md_to_html = MarkdownIt("commonmark").enable("table")
    truth = {}
    for src in sorted(HERE.glob("*.md")):
        md = src.read_text()
        style = re.search(r"<!-- style: (\w+) -->", md).group(1)  # type: ignore[union-attr]
        body = md_to_html.render(md)
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>{answers(md)['title']}</title><style>{STYLES[style]}</style></head>"
                f"<body>{body}</body></html>")
        out = HERE / f"{src.stem}.pdf"
        weasyprint.HTML(string=page).write_pdf(out)
        truth[src.stem] = answers(md)
        print(f"{out.name}: {out.stat().st_size // 1024} kB")
    (HERE / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
