"""Benchmark: `kbtools validate` against check-jsonschema on generated KBs.

Generates N model cards (~2 KB, ~40 fields, nested) plus the cards they reference (one paper per
20 models, listing them back; 20 datasets; the two registries) into a temporary KB, then times
as whole processes, in the same run:

* ``kbtools validate --kb-root KB`` (every check: YAML, schema, ids, references, lint),
* the same on a copy where every model card has one reference problem (a dataset id that no
  card has, one letter away from one that exists: a KB in the middle of a migration), which
  must stay within 2x of the clean case, and
* ``check-jsonschema --schemafile model_card.schema.json <the N model cards>`` (schema only).

kbtools checks the extra paper/dataset/registry cards too; cards/s is each tool's own count.
``--quick`` times check-jsonschema on the first 1,000 model cards only and extrapolates to the
larger sizes (labelled as such): at ~64 cards/s it needs ~2.5 minutes for 10,000.

    .venv/bin/python benchmarks/bench_validate.py            # 1,000 and 10,000 cards
    .venv/bin/python benchmarks/bench_validate.py --quick    # extrapolate check-jsonschema
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kbtools.schemas import schema_text
from kbtools.yamlio import dump

MODELS_PER_PAPER = 20
N_DATASETS = 20
HEADER = "# yaml-language-server: $schema=../../kbtools/schemas/{}.schema.json\n"


def model_card(i: int, broken: bool = False) -> dict:
    card = _model_card(i)
    if broken:  # one reference problem: a dataset id one edit away from an existing one
        card["datasets"] = [f"dataset_{i % N_DATASETS:02d}b"]
    return card


def _model_card(i: int) -> dict:
    return {
        "id": f"model_{i:05d}", "name": f"Generated model {i}", "status": "complete",
        "modality": ["genomics", "fmri"] if i % 3 == 0 else "smri", "domain": "genetics",
        "summary": ("A generated foundation model card, shaped like the real ones, used to "
                    "measure how fast a large knowledge base validates. ") * 2,
        "arch": {"type": "Transformer encoder", "backbone": "ViT-B/16", "num_parameters": 10**6 + i,
                 "num_layers": 12, "hidden_size": 768, "objective": "masked modelling",
                 "notes": "generated"},
        "repo": f"https://github.com/example/model-{i}",
        "weights": {"url": f"https://huggingface.co/example/model-{i}",
                    "hub_id": f"example/model-{i}", "access": "open", "format": "safetensors"},
        "checkpoints": [
            {"name": f"m{i}-small", "num_parameters": 1000, "context_length": 1024,
             "url": f"https://example.org/ckpt/{i}/small"},
            {"name": f"m{i}-base", "num_parameters": 10000, "context_length": 2048,
             "url": f"https://example.org/ckpt/{i}/base"},
            {"name": f"m{i}-large", "num_parameters": 100000, "context_length": 4096,
             "notes": "largest released checkpoint"},
        ],
        "license": {"code": "Apache-2.0", "weights": "CC-BY-4.0", "data": "mixed"},
        "library_name": "transformers", "pipeline_tag": "feature-extraction",
        "tasks": ["embedding", "classification", "regression"],
        "tokenizer": {"type": "BPE", "vocab_size": 4096, "details": "byte-pair encoding"},
        "context_length": 4096, "context_unit": "tokens",
        "datasets": [f"dataset_{i % N_DATASETS:02d}"],
        "papers": [f"paper_{i // MODELS_PER_PAPER:05d}"],
        "integrations": {
            "embedding_extraction": {"level": "gene", "layer": "last", "pooling": "mean",
                                     "rc_averaging": True, "dim": 768},
            "strategies": ["strategy_a"]},
        "tags": ["generated", "benchmark", f"group{i % 7}"], "verified": False,
        "verification": {"sources": ["https://example.org/paper (abstract)"],
                         "checked_fields": ["name", "repo"], "notes": "generated card"},
        "last_updated": "2026-11-01", "notes": "Generated for the validation benchmark.",
    }


def paper_card(j: int, n_models: int) -> dict:
    models = [f"model_{i:05d}" for i in range(j * MODELS_PER_PAPER,
                                              min(n_models, (j + 1) * MODELS_PER_PAPER))]
    return {"id": f"paper_{j:05d}", "title": f"Generated paper {j}", "status": "complete",
            "year": 2024, "doi": f"10.1234/bench.{j}", "summary": "A generated paper card.",
            "models": models, "verified": False, "last_updated": "2026-11-01"}


def dataset_card(k: int) -> dict:
    return {"id": f"dataset_{k:02d}", "name": f"Generated dataset {k}", "status": "complete",
            "description": "A generated dataset card.", "access": {"level": "open"},
            "governance": {"classification": "public"}, "verified": False,
            "last_updated": "2026-11-01"}


def registry(ident: str, kind: str, entries: list[str]) -> dict:
    return {"id": ident, "registry": kind, "status": "complete", "verified": False,
            "last_updated": "2026-11-01",
            "entries": [{"id": e, "description": "generated entry"} for e in entries]}


def write_kb(root: Path, n_models: int, broken: bool = False) -> list[Path]:
    """Write the KB; return the model card paths."""
    folders = {k: root / "kb" / k for k in ("model_cards", "paper_cards", "datasets",
                                             "registries")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    models = []
    for i in range(n_models):
        path = folders["model_cards"] / f"model_{i:05d}.yaml"
        path.write_text(HEADER.format("model_card") + dump(model_card(i, broken)),
                        encoding="utf-8")
        models.append(path)
    for j in range((n_models + MODELS_PER_PAPER - 1) // MODELS_PER_PAPER):
        (folders["paper_cards"] / f"paper_{j:05d}.yaml").write_text(
            HEADER.format("paper_card") + dump(paper_card(j, n_models)), encoding="utf-8")
    for k in range(N_DATASETS):
        (folders["datasets"] / f"dataset_{k:02d}.yaml").write_text(
            HEADER.format("dataset_card") + dump(dataset_card(k)), encoding="utf-8")
    for ident, kind, entries in (("embedding_strategies", "embedding_strategies", ["strategy_a"]),
                                 ("harmonization_methods", "harmonization_methods", ["combat"])):
        (folders["registries"] / f"{ident}.yaml").write_text(
            dump(registry(ident, kind, entries)), encoding="utf-8")
    return models


def timed(cmd: list[str], expect: int = 0) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, the process and its workers) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != expect:
        sys.exit(f"{cmd[0]} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--quick", action="store_true",
                        help="time check-jsonschema on 1,000 cards and extrapolate")
    parser.add_argument("--repeat", type=int, default=3, help="kbtools runs per size (median)")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    kbtools = str(bindir / "kbtools")
    checker = shutil.which("check-jsonschema", path=str(bindir)) or shutil.which(
        "check-jsonschema")
    if checker is None:
        sys.exit("check-jsonschema not found: pip install -e '.[dev]'")
    rows = []
    problems: list[tuple[int, float, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="kbtools-bench-") as tmp:
        schema = Path(tmp) / "model_card.schema.json"
        schema.write_text(schema_text("model_card"), encoding="utf-8")
        reference_rate = None
        for n in args.sizes:
            root = Path(tmp) / f"kb{n}"
            models = write_kb(root, n)
            n_files = sum(1 for _ in (root / "kb").rglob("*.yaml"))
            runs = [timed([kbtools, "--kb-root", str(root), "validate"])
                    for _ in range(args.repeat)]
            kb_s = statistics.median(r[0] for r in runs)
            kb_cpu = statistics.median(r[1] for r in runs)
            broken_root = Path(tmp) / f"kb{n}_problems"
            write_kb(broken_root, n, broken=True)
            bad = [timed([kbtools, "--kb-root", str(broken_root), "validate"], expect=1)
                   for _ in range(args.repeat)]
            bad_s = statistics.median(r[0] for r in bad)
            bad_cpu = statistics.median(r[1] for r in bad)
            problems.append((n, kb_s, kb_cpu, bad_s, bad_cpu))
            shutil.rmtree(broken_root)
            if args.quick and n > 1000 and reference_rate is not None:
                cj_s, cj_cpu = n / reference_rate[0], n / reference_rate[1]
                label = "extrapolated from 1,000"
            else:
                cj_s, cj_cpu = timed([checker, "--schemafile", str(schema), *map(str, models)])
                label = "measured"
                if n == 1000 or reference_rate is None:
                    reference_rate = (n / cj_s, n / cj_cpu)
            rows.append((n, n_files, kb_s, min(r[0] for r in runs), kb_cpu, cj_s, cj_cpu, label))
            print(f"  {n:>6} model cards: kbtools {kb_s:.2f} s wall, {kb_cpu:.2f} s CPU (median "
                  f"of {args.repeat}); check-jsonschema {cj_s:.1f} s wall, {cj_cpu:.1f} s CPU "
                  f"({label})", flush=True)
    print("\nmodel cards | files (kbtools) | kbtools wall s (median, best) | kbtools CPU s | "
          "kbtools cards/s | check-jsonschema wall s | CPU s | cards/s | wall-time ratio")
    for n, n_files, kb_s, best, kb_cpu, cj_s, cj_cpu, label in rows:
        note = " (check-jsonschema extrapolated)" if label != "measured" else ""
        print(f"{n:>11,} | {n_files:>15,} | {kb_s:>20.2f}, {best:>6.2f} | {kb_cpu:>13.2f} | "
              f"{n_files / kb_s:>15,.0f} | {cj_s:>23.1f} | {cj_cpu:>5.1f} | {n / cj_s:>7,.0f} | "
              f"{cj_s / kb_s:>6.1f}x{note}")
    print("\nwith one reference problem in every model card (exit 1; must stay within 2x):")
    print("model cards | clean wall s | with problems wall s | ratio | clean CPU s | "
          "with problems CPU s | ratio")
    for n, kb_s, kb_cpu, bad_s, bad_cpu in problems:
        print(f"{n:>11,} | {kb_s:>12.2f} | {bad_s:>20.2f} | {bad_s / kb_s:>4.2f}x | "
              f"{kb_cpu:>11.2f} | {bad_cpu:>19.2f} | {bad_cpu / kb_cpu:>4.2f}x")
    print("\nWall clock of whole processes on a shared machine: expect noise between runs.")


if __name__ == "__main__":
    main()
