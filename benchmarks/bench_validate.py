"""Benchmark: `kbtools validate` against the PyYAML-C + jsonschema floor, in the same run.

Generates N model cards (~2 KB, ~40 fields, nested) plus the cards they reference (one paper per
20 models, listing them back; 20 datasets; the two registries) into a temporary KB, and a copy
where every model card also names a paper id that does not exist, one edit away from one that
does, and different in every card (so no cache can hide the cost of the "did you mean" search).
Then, interleaved in each repeat, it measures as whole process trees (wall, CPU seconds of the
process and its workers, peak memory of the tree, resident and proportional):

* ``kbtools validate --kb-root KB`` (every check: YAML, schema, ids, references, lint) on the
  clean KB and on the copy with problems (target: at most 1.5x the clean time);
* the floor on the same N model cards with as many worker processes as kbtools uses:
  ``yaml.load(CSafeLoader)`` + a reused ``jsonschema`` validator (schema only), and the same
  with ``jsonschema-rs``;
* ``check-jsonschema`` (the usual tool; two processes on halves of the cards) when it is
  installed (``pip install -e '.[dev]'``) and ``--quick`` is not given.

    .venv/bin/python benchmarks/bench_validate.py                 # 10,000 and 100,000 cards
    .venv/bin/python benchmarks/bench_validate.py --quick         # 10,000 cards, one repeat
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure  # noqa: E402

from kbtools.schemas import schema_text
from kbtools.yamlio import dump

MODELS_PER_PAPER = 20
N_DATASETS = 20
HEADER = "# yaml-language-server: $schema=../../kbtools/schemas/{}.schema.json\n"


def model_card(i: int, broken: bool = False) -> dict:
    card = _model_card(i)
    if broken:  # one reference problem per card, each different: a paper id one edit away
        paper = f"paper_{i // MODELS_PER_PAPER:05d}"
        card["papers"] = [paper, paper[:-1] + "abcdefghijklmnopqrst"[i % MODELS_PER_PAPER]]
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


def floor(validator: str, jobs: int, listing: str) -> None:
    """The floor: parse each card (paths listed in the file ``listing``) with PyYAML's C loader
    and validate it against the model card schema with a reused validator, over ``jobs``
    processes (run as a subprocess)."""
    from concurrent.futures import ProcessPoolExecutor

    files = Path(listing).read_text().split("\n")
    chunks = [files[i::jobs] for i in range(jobs)]
    with ProcessPoolExecutor(jobs) as pool:
        bad = sum(pool.map(_floor_chunk, [(validator, c) for c in chunks]))
    print(f"{len(files)} cards, {bad} invalid")


def _floor_chunk(args: tuple[str, list[str]]) -> int:
    import json

    import yaml

    validator, files = args
    schema = json.loads(schema_text("model_card"))
    if validator == "jsonschema-rs":
        import jsonschema_rs

        check = jsonschema_rs.validator_for(schema).is_valid
    else:
        import jsonschema

        v = jsonschema.Draft202012Validator(schema)
        check = v.is_valid
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as fh:
            bad += not check(yaml.load(fh.read(), Loader=yaml.CSafeLoader))
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="10,000 cards, one repeat, no check-jsonschema")
    parser.add_argument("--repeat", type=int, default=None, help="repeats (median)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of every tool")
    parser.add_argument("--kbtools-only", action="store_true",
                        help="skip the floors (their ratio is measured at the smaller sizes)")
    parser.add_argument("--floor", nargs=2, metavar=("VALIDATOR", "LISTING"),
                        help=argparse.SUPPRESS)  # internal: run the floor on these files
    args = parser.parse_args()
    if args.floor:
        floor(args.floor[0], args.jobs, args.floor[1])
        return
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000])
    repeat = args.repeat or (1 if args.quick else 3)
    bindir = Path(sys.executable).parent
    kbtools = str(bindir / "kbtools")
    checker = None if args.quick else (shutil.which("check-jsonschema", path=str(bindir))
                                       or shutil.which("check-jsonschema"))
    print(f"jobs = {args.jobs}; {_measure.load_note()}", flush=True)
    table = []
    with tempfile.TemporaryDirectory(prefix="kbtools-bench-") as tmp:
        schema = Path(tmp) / "model_card.schema.json"
        schema.write_text(schema_text("model_card"), encoding="utf-8")
        for n in sizes:
            root, broken = Path(tmp) / f"kb{n}", Path(tmp) / f"kb{n}_problems"
            models = [str(p) for p in write_kb(root, n)]
            listing = Path(tmp) / f"models{n}.txt"
            listing.write_text("\n".join(models))
            write_kb(broken, n, broken=True)
            n_files = sum(1 for _ in (root / "kb").rglob("*.yaml"))
            me = [kbtools, "validate", "--jobs", str(args.jobs), "--kb-root"]
            runs: dict[str, list[_measure.Measured]] = {}
            for _ in range(repeat):  # interleaved: every tool once per round
                for label, cmd, expect in (
                        ("kbtools clean", [*me, str(root)], 0),
                        ("kbtools, a near-miss per card", [*me, str(broken)], 1),
                        ("floor: PyYAML-C + jsonschema",
                         [sys.executable, __file__, "--jobs", str(args.jobs), "--floor",
                          "jsonschema", str(listing)], 0),
                        ("floor: PyYAML-C + jsonschema-rs",
                         [sys.executable, __file__, "--jobs", str(args.jobs), "--floor",
                          "jsonschema-rs", str(listing)], 0)):
                    if args.kbtools_only and not label.startswith("kbtools"):
                        continue
                    runs.setdefault(label, []).append(_measure.run(cmd, expect, pss=True))
            if checker:
                half = len(models) // 2
                cj = [_measure.run([sys.executable, "-c", _PAIR, checker, str(schema),
                                    str(listing), str(half)])]
                runs["check-jsonschema (2 processes)"] = cj
            problems = runs["kbtools, a near-miss per card"][0].stdout.count("did you mean")
            for label, ms in runs.items():
                wall = statistics.median(m.wall for m in ms)
                cpu = statistics.median(m.cpu for m in ms)
                peak = max(m.peak_mb for m in ms)
                pss = max(m.peak_pss_mb for m in ms)
                table.append((n, n_files, label, wall, cpu, (peak, pss), len(ms)))
                print(f"  {n:>7,} cards  {label:<34} {wall:8.2f} s wall {cpu:8.2f} CPU-s "
                      f"{peak:7.0f} MB peak RSS {pss:7.0f} MB peak PSS", flush=True)
            print(f"  ({problems:,} 'did you mean' hints printed with problems)")
            shutil.rmtree(root)
            shutil.rmtree(broken)
    print("\nmodel cards | files (kbtools) | tool | wall s | CPU-s | peak MB (tree RSS / PSS) | "
          "runs | CPU vs PyYAML-C + jsonschema floor")
    floors = {n: cpu for n, _, label, _, cpu, _, _ in table if label.endswith("+ jsonschema")}
    for n, n_files, label, wall, cpu, peak, k in table:
        ratio = f"{cpu / floors[n]:.2f}x" if n in floors else "-"
        print(f"{n:,} | {n_files:,} | {label} | {wall:.2f} | {cpu:.2f} | {peak[0]:.0f} / "
              f"{peak[1]:.0f} | {k} | {ratio}")
    clean = {n: (w, c) for n, _, label, w, c, _, _ in table if label == "kbtools clean"}
    for n, _, label, wall, cpu, _, _ in table:
        if label.startswith("kbtools,"):
            print(f"{n:,} cards with a distinct near-miss per card vs clean: wall "
                  f"{wall / clean[n][0]:.2f}x, CPU {cpu / clean[n][1]:.2f}x")
    print(f"\n{_measure.load_note()}. Shared machine: compare CPU-s and ratios, not wall time.")


#: Two check-jsonschema processes side by side, on the two halves of the cards.
_PAIR = """
import subprocess, sys
checker, schema, listing, half = sys.argv[1:]
files = open(listing).read().split("\\n")
def batches(part):  # command lines stay short: 2,000 cards per call
    for i in range(0, len(part), 2000):
        subprocess.run([checker, "--schemafile", schema, *part[i:i + 2000]],
                       stdout=subprocess.DEVNULL, check=True)
import threading
threads = [threading.Thread(target=batches, args=(p,)) for p in (files[:int(half)],
                                                                    files[int(half):])]
[t.start() for t in threads]
[t.join() for t in threads]
"""


if __name__ == "__main__":
    main()
