"""Site build speed: the kbtools MkDocs plugin against plain MkDocs on the same pages.

For KBs of 100 and 1,000 generated cards, builds (each as a whole ``mkdocs build`` process):

* ``plain``: plain mkdocs-material building the same pages pre-written in docs/ (written once
  with ``kbtools render``), i.e. the reference a site without the plugin pays;
* ``plugin cold``: the plugin with no cache (YAML parsing, validation, template compilation);
* ``plugin edit``: the plugin after one card was edited (the ``mkdocs serve`` case: the card
  is re-parsed, the KB re-validated, every page re-rendered, only changed pages rewritten);
* ``plugin warm``: the plugin with nothing changed.

Runs are interleaved and repeated; medians are printed with seconds per card and the ratio
against ``plain``. Usage: ``.venv/bin/python benchmarks/bench_site.py [--sizes 100 1000]
[--repeats 3]``. Work folders go to benchmarks/_work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "site"
BIN = Path(sys.executable).parent
MKDOCS_YML = """\
site_name: Bench KB
docs_dir: docs
strict: true
theme:
  name: material
  features: [navigation.sections, navigation.indexes, search.suggest, content.code.copy]
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - toc:
      permalink: true
  - pymdownx.details
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
{extra}plugins:
  - search
{plugin}nav:
  - Home: index.md
  - Registry:
      - registry/index.md
      - Models: registry/models.md
      - Papers: registry/papers.md
      - Datasets: registry/datasets.md
      - Experiments: registry/experiments.md
      - Runs: registry/runs.md
      - KB health: registry/health.md
{not_in_nav}"""
PLAIN_EXTRA = """\
extra_css: [assets/kbtools/kbtools.css]
extra_javascript: [assets/kbtools/kbtools.js]
"""
NOT_IN_NAV = """\
not_in_nav: |
  /registry/*/
"""
MODALITIES = ["genomics", "smri", "fmri", "text", "pathology", "tabular"]


def _yaml(data: dict) -> str:
    from kbtools.yamlio import dump

    return dump(data)


def make_kb(root: Path, n_cards: int) -> None:
    """A valid KB of about ``n_cards`` cards: models, papers, datasets, configs and runs."""
    n_models = int(n_cards * 0.35)
    n_papers = int(n_cards * 0.35)
    n_datasets = int(n_cards * 0.1)
    n_experiments = max(2, int(n_cards * 0.05))
    n_runs = n_cards - n_models - n_papers - n_datasets - n_experiments
    common = {"status": "complete", "verified": False, "last_updated": "2026-11-20",
              "verification": {"sources": ["https://example.org/source"],
                               "notes": "generated for the benchmark"}}
    folders = {k: root / p for k, p in (("model", "kb/model_cards"), ("paper", "kb/paper_cards"),
                                        ("dataset", "kb/datasets"),
                                        ("experiment", "configs/experiments"))}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    (root / "kb" / "runs").mkdir(parents=True, exist_ok=True)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "index.md").write_text("# Bench KB\n\nA generated knowledge base.\n")
    for i in range(n_datasets):
        (folders["dataset"] / f"ds{i:04d}.yaml").write_text(_yaml({
            "id": f"ds{i:04d}", "name": f"Dataset {i}", "description": "A generated cohort. " * 5,
            "modalities": [MODALITIES[i % 6], MODALITIES[(i + 2) % 6]],
            "access": {"level": "registered", "how": "apply online"},
            "governance": {"classification": "restricted"},
            "counts": {"subjects": 1000 + i, "sites": 3}, "tags": [f"t{i % 7}"], **common}))
    for i in range(n_models):
        (folders["model"] / f"m{i:04d}.yaml").write_text(_yaml({
            "id": f"m{i:04d}", "name": f"Model {i}", "modality": MODALITIES[i % 6],
            "domain": "genetics" if i % 2 else "brain",
            "summary": "A generated foundation model card used to measure the site build. " * 3,
            "arch": {"type": "Transformer", "num_parameters": 10_000_000 * (i + 1),
                     "num_layers": 12, "hidden_size": 768, "objective": "masked modelling"},
            "context_length": 1024 * (1 + i % 8), "context_unit": "tokens",
            "license": {"code": "MIT", "weights": "Apache-2.0"},
            "repo": f"https://example.org/repo/{i}", "tasks": ["embedding", "classification"],
            "papers": [f"p{i:04d}"] if i < n_papers else [],
            "datasets": [f"ds{i % max(1, n_datasets):04d}"] if n_datasets else [],
            "tags": [f"t{i % 7}", f"u{i % 3}"], **common}))
    for i in range(n_papers):
        (folders["paper"] / f"p{i:04d}.yaml").write_text(_yaml({
            "id": f"p{i:04d}", "title": f"Paper number {i} on foundation models",
            "year": 2018 + i % 8,
            "venue": ["NeurIPS", "ICML", "Nature", "arXiv"][i % 4], "doi": f"10.1234/p.{i}",
            "summary": "A generated paper summary for the benchmark. " * 4,
            "key_contributions": ["one contribution", "another contribution"],
            "models": [f"m{i:04d}"] if i < n_models else [], **common}))
    for i in range(n_experiments):
        (folders["experiment"] / f"e{i:03d}.yaml").write_text(_yaml({
            "id": f"e{i:03d}", "name": f"Experiment {i}", "method": "cca_permutation",
            "data": {"subjects": {"dataset": f"ds{i % max(1, n_datasets):04d}",
                                  "table": "subjects"},
                     "gene": {"dataset": f"ds{i % max(1, n_datasets):04d}", "table": "gene"},
                     "brain": {"dataset": f"ds{(i + 1) % max(1, n_datasets):04d}",
                               "table": "smri"}},
            "models": [f"m{i:04d}"], "papers": [f"p{i:04d}"], "seed": i, "tags": ["cca"],
            "outcome": "mdd",
            **common}))
    for i in range(n_runs):
        exp = f"e{i % n_experiments:03d}"
        run_id = f"20261120t{i:06d}z_{exp}_{i:04x}"
        folder = root / "kb" / "runs" / run_id
        folder.mkdir()
        (folder / "run.yaml").write_text(_yaml({
            "id": run_id, "experiment": exp, "method": "cca_permutation",
            "run_status": "completed", "started": f"2026-11-20T{i % 24:02d}:00:00Z",
            "duration_s": 10.0 + i, "seed": i, "config_sha256": f"{i:064x}",
            "inputs": [{"role": "gene", "dataset": "ds0000", "sha256": f"{i % 3:064x}",
                        "rows": 5000}],
            "headline": {"rho1": 0.3 + i / 1e4, "p_mode1": 0.001}}))
        (folder / "metrics.yaml").write_text(_yaml({
            "id": run_id, "method": "cca_permutation",
            "summary": {"rho1": 0.3 + i / 1e4, "p_mode1": 0.001},
            "per_fold": [{"fold": k + 1, "n_test": 1000, "rho1": 0.3} for k in range(5)],
            "counts": {"n_subjects": 5000}}))
        (folder / "config_used.yaml").write_text(_yaml({"id": exp, "seed": i % 2}))


def build(site: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, the build and its workers) of one build."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "-q"], cwd=site, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"build failed in {site}:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def prepare(n_cards: int) -> tuple[Path, Path]:
    base = WORK / str(n_cards)
    shutil.rmtree(base, ignore_errors=True)
    plugin_site, plain_site = base / "plugin", base / "plain"
    make_kb(plugin_site, n_cards)
    (plugin_site / "mkdocs.yml").write_text(MKDOCS_YML.format(
        extra="", plugin="  - kbtools\n", not_in_nav=""))
    plain_site.mkdir(parents=True)
    shutil.copytree(plugin_site / "docs", plain_site / "docs")
    subprocess.run([str(BIN / "kbtools"), "--kb-root", str(plugin_site), "render", "--out",
                    str(plain_site / "docs")], check=True, capture_output=True)
    (plain_site / "mkdocs.yml").write_text(MKDOCS_YML.format(
        extra=PLAIN_EXTRA, plugin="", not_in_nav=NOT_IN_NAV))
    return plugin_site, plain_site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plugin-only", action="store_true",
                        help="skip the whole builds; time only the plugin's work in-process "
                             "against one plain build")
    args = parser.parse_args()
    if args.plugin_only:
        for n_cards in args.sizes:
            plugin_site, plain_site = prepare(n_cards)
            build(plain_site)
            plain_cpu = statistics.median(build(plain_site)[1] for _ in range(args.repeats))
            print(f"{n_cards:>6} plain build {plain_cpu:.2f} CPU s", flush=True)
            plugin_only(plugin_site, n_cards, plain_cpu)
        return
    print("Wall-clock seconds swing with other load on a shared machine; CPU seconds (user +")
    print("system of the build process and its workers) are the steadier basis for the ratio.")
    print(f"{'cards':>6} {'variant':<12} {'wall s':>7} {'CPU s':>7} {'CPU/card':>9} "
          f"{'wall ratio':>10} {'CPU ratio':>9}  CPU runs")
    for n_cards in args.sizes:
        plugin_site, plain_site = prepare(n_cards)
        n_pages = sum(1 for _ in (plain_site / "docs").rglob("*.md"))
        cache = plugin_site / ".kbtools-cache"
        card = next((plugin_site / "kb" / "model_cards").glob("*.yaml"))
        times: dict[str, list[tuple[float, float]]] = {
            "plain": [], "plugin cold": [], "plugin edit": [], "plugin warm": []}
        build(plain_site)  # warm the OS file cache and Python bytecode once
        for i in range(args.repeats):
            times["plain"].append(build(plain_site))
            shutil.rmtree(cache, ignore_errors=True)
            times["plugin cold"].append(build(plugin_site))
            text = card.read_text()
            card.write_text(text.replace("\nname: ", f"\nname: Edit {i} ", 1))
            assert card.read_text() != text
            times["plugin edit"].append(build(plugin_site))
            times["plugin warm"].append(build(plugin_site))
        plain_wall = statistics.median(w for w, _ in times["plain"])
        plain_cpu = statistics.median(c for _, c in times["plain"])
        for variant, values in times.items():
            wall = statistics.median(w for w, _ in values)
            cpu = statistics.median(c for _, c in values)
            shown = " ".join(f"{c:.2f}" for _, c in values)
            print(f"{n_cards:>6} {variant:<12} {wall:>7.2f} {cpu:>7.2f} "
                  f"{cpu / n_cards * 1000:>7.2f}ms {wall / plain_wall:>9.2f}x "
                  f"{cpu / plain_cpu:>8.2f}x  {shown}")
        print(f"{'':>6} ({n_pages} markdown pages per site)", flush=True)
        plugin_only(plugin_site, n_cards, plain_cpu)


def _cpu() -> float:
    own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def plugin_only(site: Path, n_cards: int, plain_cpu: float) -> None:
    """The plugin's own work (what ``on_files`` does), timed in-process, against plain's CPU."""
    from kbtools.site.render import generate
    from kbtools.site.sync import sync_folder

    cache = site / ".kbtools-cache" / "site"
    card = next((site / "kb" / "paper_cards").glob("*.yaml"))

    def once() -> float:
        started = _cpu()
        rendered = generate(site, cache_dir=cache)
        sync_folder(cache / "pages", {**rendered.pages, **rendered.assets},
                    overwrite_foreign=True, known=rendered.unchanged)
        return _cpu() - started

    shutil.rmtree(cache, ignore_errors=True)
    once()  # imports, first compilation of the templates
    results: dict[str, list[float]] = {"cold": [], "edit": [], "warm": []}
    for i in range(3):
        shutil.rmtree(cache, ignore_errors=True)
        results["cold"].append(once())
        text = card.read_text()
        card.write_text(text.replace("\ntitle: ", f"\ntitle: Edit {i} ", 1))
        results["edit"].append(once())
        results["warm"].append(once())
    for variant, values in results.items():
        median = statistics.median(values)
        print(f"{n_cards:>6} plugin work, {variant:<5} {median:>6.2f} CPU s "
              f"= {median / plain_cpu:>6.1%} of the plain build", flush=True)


if __name__ == "__main__":
    main()
