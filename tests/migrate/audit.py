"""What a migration of the predecessor fixture (predecessor_kb/) did, measured from outside.

Each measure reads the cards before and after with readers of its own (PyYAML, a line
scanner for comments, a strict reading of numbers written as text), not with kbtools' code:

* errors ``kbtools validate`` reports before and after;
* invented numbers: a number in a migrated card that no source value states exactly (digits,
  or a decimal with an M/B/T suffix and nothing else) and the report does not list;
* lost values: a leaf value of a source card found nowhere in the migrated card;
* lost or duplicated comments;
* narrowings: source words the mapping translates to a narrower word, neither reported per
  value nor kept in the card;
* files a second run changes;
* plans whose analysis kbtools implements, dry-running with their data roles bound to tables.

Run it on this checkout, or on another (``--code /work/main`` for the numbers before):

    .venv/bin/python tests/migrate/audit.py [--code DIR]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXTURE = Path(__file__).parent / "predecessor_kb"
REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "kbtools/vocabulary/mappings/predecessor.yaml"
CARD_FOLDERS = ("kb/model_cards", "kb/paper_cards", "kb/datasets", "kb/integration_cards",
                "configs/experiments")
COMMITTED = "2025-11-12"


def _site_config() -> str:
    """The test sites' mkdocs.yml (tests/site/conftest.py), building a migrated fixture KB
    even though it names files it lacks (they are on the health page)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("kbtools_test_site_conftest",
                                                  REPO / "tests" / "site" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MKDOCS_YML.format(options=":\n      fail_on_problems: false").replace(
        "site_name: Test KB", "site_name: Migrated KB")


#: The site configuration a migrated fixture KB is built with (site tests, browser tests).
MKDOCS_YML = _site_config()

# ---------------------------------------------------------------------------------------------
# the fixture as a KB in git, and tables for its plans


def commit_all(root: Path, day: str = COMMITTED) -> None:
    """Make ``root`` a git repository with one commit of every file on ``day``."""
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{day}T10:00:00", "GIT_COMMITTER_DATE":
           f"{day}T10:00:00", "GIT_AUTHOR_NAME": "kb", "GIT_AUTHOR_EMAIL": "kb@example.org",
           "GIT_COMMITTER_NAME": "kb", "GIT_COMMITTER_EMAIL": "kb@example.org"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "cards"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env,
                       capture_output=True)


def plan_tables(folder: Path) -> dict[str, Path]:
    """Tables for the fixture's plans, shaped like a UK Biobank export (``eid``, ``centre``):
    role -> file, for the roles the migrated plans have (subjects, genetics, smri)."""
    sys.path.insert(0, str(REPO / "tests" / "experiments"))
    try:
        from ukb_like import make_tables
    finally:
        sys.path.pop(0)
    tables = make_tables(420, 3)
    subjects = tables["subjects"].rename(columns={"mdd_lifetime": "mdd", "phq9_total": "phq9"})
    subjects = subjects[["eid", "centre", "age", "sex", "icv", "mdd", "phq9"]].copy()
    subjects["icv"] = subjects["icv"].fillna(subjects["icv"].median())
    genes = tables["gene"][tables["gene"]["eid"].isin(subjects["eid"])].fillna(0.0)
    genes = genes.rename(columns=lambda c: re.sub(r"^emb_([A-Z0-9]+)_(\d+)$", r"\1__e0\2", c))
    brain = tables["brain"].dropna()
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for role, df in (("subjects", subjects), ("genetics", genes), ("smri", brain)):
        out[role] = folder / f"{role}.csv"
        df.to_csv(out[role], index=False)
    return out


# ---------------------------------------------------------------------------------------------
# readers of our own


def cards(root: Path) -> list[Path]:
    return sorted(p for folder in CARD_FOLDERS for p in (root / folder).glob("*.yaml"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every scalar; dates as ISO text."""
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in leaves(v, (*path, str(k)))]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in leaves(v, (*path, i))]
    return [(path, node.isoformat() if isinstance(node, dt.date) else node)]


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


_EXACT = re.compile(r"^(?:(\d{1,3}(?:,\d{3})+|\d+)|(\d+(?:\.\d+)?)\s*([MBT]))$", re.I)


def exact_number(text: str) -> int | None:
    """A number a text states exactly: ``1,206``, ``650M``, ``1.2B``; nothing else."""
    match = _EXACT.match(text.strip())
    if not match:
        return None
    if match.group(1):
        return int(match.group(1).replace(",", ""))
    scale = {"m": 10**6, "b": 10**9, "t": 10**12}[match.group(3).lower()]
    return int(round(float(match.group(2)) * scale))


_BLOCK = re.compile(r"^(\s*)(?:-\s+)?(?:[^#'\"]*:\s+)?[|>][-+]?\d*\s*(?:#.*)?$")


def block_lines(text: str) -> set[int]:
    """Lines of the text of block scalars (``key: |`` and the lines indented under it)."""
    out: set[int] = set()
    block: int | None = None  # indentation of the line that opened a block scalar
    body: int | None = None  # indentation of the block's text (its first line's)
    for number, line in enumerate(text.splitlines()):
        indent = len(line) - len(line.lstrip())
        if block is not None:
            if body is None and line.strip():
                body = indent if indent > block else None
            if not line.strip() or (body is not None and indent >= body):
                out.add(number)
                continue
            block = body = None
        if _BLOCK.match(line.split(" #")[0] if " #" in line else line):
            block = indent
    return out


def comments(text: str) -> Counter[str]:
    """The comments of a YAML text (full-line and end-of-line), outside block scalars."""
    found: Counter[str] = Counter()
    inside = block_lines(text)
    for number, line in enumerate(text.splitlines()):
        if number in inside:
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            found[stripped.lstrip("#").strip()] += 1
            continue
        quote = None
        for i, char in enumerate(line):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"" and (i == 0 or line[i - 1] in " :[{,-"):
                quote = char
            elif char == "#" and i and line[i - 1] in " \t":
                found[line[i + 1:].strip()] += 1
                break
    return found


def narrower_words() -> set[str]:
    """Words the mapping translates to a narrower kbtools word."""
    data = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    return {str(w).lower() for name, table in data["vocabularies"].items()
            if name.endswith("_narrower") for w in table}


# ---------------------------------------------------------------------------------------------
# the measures


@dataclass
class Measures:
    errors_before: int = 0
    errors_after: int = 0
    invented: list[tuple[str, str, Any]] = field(default_factory=list)
    lost_values: list[tuple[str, Any]] = field(default_factory=list)
    lost_comments: list[tuple[str, str]] = field(default_factory=list)
    duplicated_comments: list[tuple[str, str]] = field(default_factory=list)
    narrowed: int = 0  # narrowing words in the source
    narrowings_unreported: list[tuple[str, str]] = field(default_factory=list)
    second_run_changed: list[str] = field(default_factory=list)
    fabricated_dates: list[tuple[str, str]] = field(default_factory=list)
    missing_files: int = 0  # local files the source cards name that the KB lacks
    missing_files_reported: int = 0  # path.missing errors of validate after the migration
    plans: int = 0  # plans naming an analysis kbtools implements
    plans_dry_running: int = 0
    plan_failures: dict[str, str] = field(default_factory=dict)


def _reported(report: dict[str, Any]) -> tuple[set[tuple[str, str]], list[dict[str, Any]]]:
    filled = {(f["file"], f["field"]) for f in report.get("filled", [])}
    return filled, report.get("notes", [])


def invented_numbers(source: Path, migrated: Path, report: dict[str, Any]
                     ) -> list[tuple[str, str, Any]]:
    filled, notes = _reported(report)
    listed = {(n["rel"], n["path"]) for n in notes}
    out = []
    for path in cards(source):
        rel = path.relative_to(source).as_posix()
        before = [v for _, v in leaves(load(path))]
        numbers = {v for v in before if isinstance(v, int | float) and not isinstance(v, bool)}
        texts = [v for v in before if isinstance(v, str)]
        after = load(migrated / rel)
        out_texts = {v for _, v in leaves(after) if isinstance(v, str)}
        stated = {exact_number(t) for t in texts} - {None}
        stated |= {exact_number(part) for t in texts if t in out_texts  # kept beside
                   for part in re.split(r"\s*/\s*", t)} - {None}
        years = {int(y) for t in texts for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", t)}
        years |= {2000 + int(m) for t in texts for m in re.findall(r"(\d\d)\d\d\.\d{4,5}", t)}
        for where, value in leaves(after):
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            name = dotted(where)
            prefixes = {name[:i] for i in range(len(name) + 1)
                        if i == len(name) or name[i] in ".["}
            if value in numbers or value in stated or value in years \
                    or (rel, name) in filled or any((rel, p) in listed for p in prefixes):
                continue
            out.append((rel, name, value))
    return out


def lost_values(source: Path, migrated: Path, vocabulary: dict[str, set[str]]
                ) -> list[tuple[str, Any]]:
    lost = []
    for path in cards(source):
        rel = path.relative_to(source).as_posix()
        out_values = [v for _, v in leaves(load(migrated / rel))]
        out_texts = [v if isinstance(v, str) else str(v) for v in out_values]
        for _, value in leaves(load(path)):
            if value in ("", None) or (isinstance(value, str) and re.match(
                    r"^\s*(TBD|TODO|FIXME|XXX)\s*$", value, re.I)):
                continue  # no content: listed in the report instead
            if not _accounted(value, out_values, out_texts, vocabulary):
                lost.append((rel, value))
    return lost


def _accounted(value: Any, out_values: list[Any], out_texts: list[str],
               vocabulary: dict[str, set[str]]) -> bool:
    if any(type(value) is type(v) and value == v for v in out_values):
        return True
    if isinstance(value, bool) or value is None:
        return value in out_values or value is None
    if isinstance(value, int | float):
        return str(value) in out_texts or value in out_values
    text = str(value)
    if len(text) >= 4 and any(text in t for t in out_texts):
        return True
    doi = re.match(r"(?:https?://(?:dx\.)?doi\.org/|arXiv:)(.+)$", text)
    card = re.match(r"kb/(?:model_cards|datasets|paper_cards)/(.+)\.yaml$", text)
    if (doi and doi.group(1) in out_values) or (card and card.group(1) in out_values):
        return True
    if exact_number(text) is not None and exact_number(text) in out_values:
        return True
    if "," in text and all(part.strip() in out_values for part in text.split(",")):
        return True
    return any(word in out_values for word in vocabulary.get(text.lower(), ()))


def vocabulary() -> dict[str, set[str]]:
    """Every word of the mapping's tables, with the words it may become."""
    out: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("map", "narrower", "methods") and isinstance(value, dict):
                    for k, v in value.items():
                        out.setdefault(str(k).lower(), set()).add(v)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    data = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    walk({"map": {k: v for t in data["vocabularies"].values() for k, v in t.items()}})
    walk(data["kinds"])
    return out


def comment_changes(source: Path, migrated: Path) -> tuple[list[tuple[str, str]],
                                                          list[tuple[str, str]]]:
    lost, duplicated = [], []
    for path in cards(source):
        rel = path.relative_to(source).as_posix()
        before = comments(path.read_text(encoding="utf-8"))
        after = comments((migrated / rel).read_text(encoding="utf-8"))
        lost += [(rel, c) for c, n in before.items() if after[c] < n]
        duplicated += [(rel, c) for c, n in before.items() if after[c] > n]
    return lost, duplicated


def unreported_narrowings(source: Path, migrated: Path, report: dict[str, Any]
                          ) -> tuple[int, list[tuple[str, str]]]:
    words = narrower_words()
    notes = report.get("notes", [])
    found, unreported = 0, []
    for path in cards(source):
        rel = path.relative_to(source).as_posix()
        kept = {v.lower() for _, v in leaves(load(migrated / rel)) if isinstance(v, str)}
        for _, value in leaves(load(path)):
            if not isinstance(value, str) or value.lower() not in words:
                continue
            found += 1
            said = any(n["rel"] == rel and n["category"] == "narrowed" and f"`{value}`" in
                       n["message"] for n in notes)
            if not said and value.lower() not in kept:
                unreported.append((rel, value))
    return found, unreported


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def implemented_plans(source: Path) -> list[str]:
    """Plans of the fixture whose `analysis.method` names an analysis kbtools implements."""
    out = []
    for path in sorted((source / "configs" / "experiments").glob("*.yaml")):
        analysis = (load(path) or {}).get("analysis")
        if isinstance(analysis, dict) and analysis.get("method"):
            out.append(path.relative_to(source).as_posix())
    return out


# ---------------------------------------------------------------------------------------------
# running kbtools (this checkout, or another with --code)


def kbtools(args: list[str], code: Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return subprocess.run([sys.executable, "-m", "kbtools", *args], capture_output=True,
                          text=True, env=env, timeout=900, cwd=tempfile.gettempdir())


def validation(root: Path, code: Path | None) -> dict[str, Any]:
    done = kbtools(["validate", "--format", "json", "--kb-root", str(root)], code)
    return json.loads(done.stdout)


def fabricated_dates(source: Path, migrated: Path, committed: str = COMMITTED
                     ) -> list[tuple[str, str]]:
    """Cards whose migrated last_updated is no date the card or git gives."""
    out = []
    for path in cards(source):
        rel = path.relative_to(source).as_posix()
        before = load(path) or {}
        after = load(migrated / rel) or {}
        value = after.get("last_updated")
        if value is None:
            continue
        value = value.isoformat() if isinstance(value, dt.date) else str(value)
        given = {str(v.isoformat() if isinstance(v, dt.date) else v)
                 for v in (before.get("last_updated"), before.get("created")) if v}
        if value not in given | {committed}:
            out.append((rel, value))
    return out


def missing_files(source: Path) -> set[tuple[str, str]]:
    """(card, file) of the local files the source cards name that the KB does not have."""
    out = set()
    for path in cards(source):
        for _, value in leaves(load(path)):
            if isinstance(value, str) and re.fullmatch(r"docs/[\w./-]+\.(?:pdf|md)", value) \
                    and not (source / value).is_file():
                out.add((path.relative_to(source).as_posix(), value))
    return out


def dry_runs(root: Path, plans: list[str], tables: dict[str, Path], code: Path | None
             ) -> dict[str, str]:
    """Plan -> "" when it dry-runs with its roles bound to ``tables``, else the error."""
    out = {}
    for rel in plans:
        config = load(root / rel) or {}
        roles = config.get("data") if isinstance(config.get("data"), dict) else {}
        bound = [f"--data={r}={tables[r]}" for r in roles if r in tables]
        done = kbtools(["run-experiment", str(root / rel), "--dry-run", *bound,
                        "--kb-root", str(root)], code)
        out[rel] = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[0]
    return out


def measure(code: Path | None = None) -> Measures:
    m = Measures()
    with tempfile.TemporaryDirectory(prefix="kbtools-audit-") as tmp:
        root = Path(tmp) / "kb_repo"
        shutil.copytree(FIXTURE, root)
        commit_all(root)
        m.errors_before = validation(root, code)["n_errors"]
        report_file = Path(tmp) / "report.json"
        done = kbtools(["migrate", "--write", "--no-diff", "--report", str(report_file),
                        "--kb-root", str(root)], code)
        if done.returncode != 0:
            raise SystemExit(f"migrate failed: {done.stderr}")
        report = json.loads(report_file.read_text())
        after_validation = validation(root, code)
        m.errors_after = after_validation["n_errors"]
        m.missing_files = len(missing_files(FIXTURE))
        m.missing_files_reported = sum(p["rule"] == "path.missing"
                                       for p in after_validation["problems"])
        m.fabricated_dates = fabricated_dates(FIXTURE, root)
        m.invented = invented_numbers(FIXTURE, root, report)
        m.lost_values = lost_values(FIXTURE, root, vocabulary())
        m.lost_comments, m.duplicated_comments = comment_changes(FIXTURE, root)
        m.narrowed, m.narrowings_unreported = unreported_narrowings(FIXTURE, root, report)
        before = digest(root)
        kbtools(["migrate", "--write", "--no-diff", "--kb-root", str(root)], code)
        after = digest(root)
        m.second_run_changed = sorted(k for k in before.keys() | after.keys()
                                      if before.get(k) != after.get(k))
        plans = implemented_plans(FIXTURE)
        failures = dry_runs(root, plans, plan_tables(Path(tmp) / "tables"), code)
        m.plans = len(plans)
        m.plans_dry_running = sum(not e for e in failures.values())
        m.plan_failures = {k: v for k, v in failures.items() if v}
    return m


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, help="a kbtools checkout to measure instead")
    args = parser.parse_args(argv)
    m = measure(args.code)
    rows = [
        ("validate errors before migrate", m.errors_before),
        ("validate errors after migrate", m.errors_after),
        ("invented numbers", len(m.invented)),
        ("lost values", len(m.lost_values)),
        ("lost comments", len(m.lost_comments)),
        ("duplicated comments", len(m.duplicated_comments)),
        ("narrowing words in the source", m.narrowed),
        ("narrowings neither reported nor kept", len(m.narrowings_unreported)),
        ("files a second run changes", len(m.second_run_changed)),
        ("last_updated dates no card or git gives", len(m.fabricated_dates)),
        ("missing local files reported by validate", f"{m.missing_files_reported}/"
                                                     f"{m.missing_files}"),
        ("plans (implemented analyses) dry-running", f"{m.plans_dry_running}/{m.plans}"),
    ]
    for label, value in rows:
        print(f"{label:44} {value}")
    for name in ("invented", "lost_values", "lost_comments", "duplicated_comments",
                 "narrowings_unreported", "second_run_changed", "fabricated_dates"):
        for item in getattr(m, name)[:12]:
            print(f"  {name}: {item}")
    for plan, error in m.plan_failures.items():
        print(f"  plan failing: {plan}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
