"""Site build speed: the kbtools MkDocs plugin against plain MkDocs on the same pages.

For KBs of 100 and 1,000 generated cards, builds (each as a whole ``mkdocs build`` process):

* ``plain``: plain mkdocs-material building the same pages pre-written in docs/ (written once
  with ``kbtools render``), i.e. the reference a site without the plugin pays;
* ``plugin cold``: the plugin with no cache (YAML parsing, validation, template compilation);
* ``plugin edit``: the plugin after one card was edited (the ``mkdocs serve`` case: the card
  is re-parsed, the KB re-validated, every page re-rendered, only changed pages rewritten);
* ``plugin warm``: the plugin with nothing changed.

Runs are interleaved and repeated; medians are printed with seconds per card and the ratio
against ``plain``. Usage: ``.venv/bin/python benchmarks/bench_site.py [--sizes shipped 10000]
[--repeats 3]`` (``shipped``: this repository's own KB, docs and mkdocs.yml). Work folders go
to benchmarks/_work/ (git-ignored).

With ``--reload`` it measures edit-to-reload instead: a ``mkdocs serve`` process per site, a
card saved, and the time until the server hands out the page with the new value (polled over
HTTP; the MkDocs server holds requests while it rebuilds, so a page is never read half-built).
Three servers on the same generated KB:

* ``plain mkdocs serve`` (the reference): the same pages pre-written in docs/, the card's page
  edited directly, plain MkDocs rebuilding the site;
* ``kbtools, whole rebuilds``: the plugin with ``fast_reload: false`` (MkDocs rebuilds every
  page after each edit: kbtools before the fast path);
* ``kbtools``: the plugin as shipped (only the changed pages are rebuilt).

For the plugin, the card's own page and then every page listing it (the models dashboard and
the search index) are timed. Usage: ``bench_site.py --reload --sizes 2000 10000``
(``--reference-edits 0`` skips the two whole-rebuild servers, which take minutes per edit at
10,000 cards; ``--no-whole-rebuilds`` keeps plain ``mkdocs serve`` as the reference and skips
only the plugin's whole-rebuild server).

Both tables in one run (the issue-23 figures)::

    nice -n 10 .venv/bin/python benchmarks/bench_site.py --sizes shipped 10000 --cold-only \
        --repeats 1 --reload-sizes 2000 10000 --reference-edits 1 --no-whole-rebuilds
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
      - Registries: registry/registries.md
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


REPO = HERE.parent
#: ``--sizes`` value for the KB shipped in this repository (its docs and mkdocs.yml too).
SHIPPED = 0


def size_arg(text: str) -> int:
    """A number of cards, or ``shipped`` (the repository's own KB)."""
    return SHIPPED if text == "shipped" else int(text)


def size_label(n_cards: int) -> str:
    return "shipped" if n_cards == SHIPPED else f"{n_cards:,}"


def prepare(n_cards: int) -> tuple[Path, Path]:
    """A KB with the plugin, and the same pages pre-written for plain MkDocs."""
    base = WORK / ("shipped" if n_cards == SHIPPED else str(n_cards))
    shutil.rmtree(base, ignore_errors=True)
    plugin_site, plain_site = base / "plugin", base / "plain"
    if n_cards == SHIPPED:
        for part in ("kb", "configs", "docs"):
            shutil.copytree(REPO / part, plugin_site / part)
        config = (REPO / "mkdocs.yml").read_text()
        (plugin_site / "mkdocs.yml").write_text(config)
        plain_config = config.replace("  - kbtools\n", "").replace(
            "plugins:\n", PLAIN_EXTRA + "plugins:\n", 1) + NOT_IN_NAV
    else:
        make_kb(plugin_site, n_cards)
        (plugin_site / "mkdocs.yml").write_text(MKDOCS_YML.format(
            extra="", plugin="  - kbtools\n", not_in_nav=""))
        plain_config = MKDOCS_YML.format(extra=PLAIN_EXTRA, plugin="", not_in_nav=NOT_IN_NAV)
    plain_site.mkdir(parents=True)
    shutil.copytree(plugin_site / "docs", plain_site / "docs")
    subprocess.run([str(BIN / "kbtools"), "--kb-root", str(plugin_site), "render", "--out",
                    str(plain_site / "docs")], check=True, capture_output=True)
    (plain_site / "mkdocs.yml").write_text(plain_config)
    return plugin_site, plain_site


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _until(url: str, token: str, started: float, limit: float = 900.0) -> float:
    """Seconds from ``started`` until ``url`` serves text containing ``token``."""
    while time.monotonic() - started < limit:
        text = _get(url)
        if text is not None and token in text:
            return time.monotonic() - started
        time.sleep(0.02)
    raise SystemExit(f"{url} did not show {token!r} within {limit} s")


class Server:
    """One ``mkdocs serve`` process on a free port, its output in a log file."""

    def __init__(self, site: Path, name: str):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.log = site.parent / f"{name}.log"
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([str(BIN / "mkdocs"), "serve", "-a", f"127.0.0.1:{port}"],
                                         cwd=site, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, page: str, token: str) -> float:
        started = time.monotonic()
        seconds = _until(f"{self.base}/{page}", token, started)
        time.sleep(1.0)  # let the watchers settle before the first edit
        return seconds

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _edit(path: Path, old: str, token: str) -> float:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, f"{old} {token}", 1))
    return time.monotonic()


def reload_variant(site: Path, name: str, n_edits: int, card: Path, old: str,
                   listing: str | None) -> tuple[list[float], list[float]]:
    """Save ``card`` ``n_edits`` times; seconds until its page, and until ``listing``, are new."""
    server = Server(site, name)
    page = "registry/models/m0003/"
    try:
        server.wait_ready(page, "Model 3")
        card_times, all_times = [], []
        for _ in range(n_edits):
            token = f"e{secrets.token_hex(4)}"
            started = _edit(card, old, token)
            card_times.append(_until(f"{server.base}/{page}", token, started))
            if listing is not None:
                worst = max(_until(f"{server.base}/{listing}", token, started),
                            _until(f"{server.base}/search/search_index.json", token, started))
                all_times.append(worst)
            time.sleep(0.5)
            old = f"{old} {token}"
    finally:
        server.stop()
    return card_times, all_times


def reload_main(args: argparse.Namespace, sizes: list[int]) -> None:
    print("Seconds from saving a card to `mkdocs serve` handing out its page with the new value")
    print("(median of the edits; 'listing' = the models dashboard and the search index too).")
    print(f"{'cards':>6} {'variant':<28} {'edits':>5} {'card page s':>12} {'listing s':>10} "
          f"{'speed-up':>9}  card page runs")
    for n_cards in sizes:
        if n_cards == SHIPPED:
            raise SystemExit("--reload times generated KBs: give numbers of cards")
        plugin_site, plain_site = prepare(n_cards)
        whole_site = plugin_site.parent / "whole"
        shutil.copytree(plugin_site, whole_site)
        (whole_site / "mkdocs.yml").write_text(MKDOCS_YML.format(
            extra="", plugin="  - kbtools:\n      fast_reload: false\n", not_in_nav=""))
        name = "\nname: Model 3\n"
        variants = [
            ("plain mkdocs serve (ref.)", plain_site,
             plain_site / "docs" / "registry" / "models" / "m0003.md", "# Model 3", None,
             args.reference_edits),
            ("kbtools, whole rebuilds", whole_site,
             whole_site / "kb" / "model_cards" / "m0003.yaml", name.strip("\n"),
             "registry/models/", 0 if args.no_whole_rebuilds else args.reference_edits),
            ("kbtools (fast rebuilds)", plugin_site,
             plugin_site / "kb" / "model_cards" / "m0003.yaml", name.strip("\n"),
             "registry/models/", args.edits),
        ]
        reference = None
        for label, site, card, old, listing, n_edits in variants:
            if n_edits <= 0:
                continue
            card_times, all_times = reload_variant(site, label.split()[0], n_edits, card, old,
                                                   listing)
            median = statistics.median(card_times)
            if label.startswith("plain"):
                reference = median
            speed_up = f"{reference / median:>8.1f}x" if reference else f"{'–':>9}"
            shown = " ".join(f"{t:.2f}" for t in card_times)
            listing_s = f"{statistics.median(all_times):.2f}" if all_times else "–"
            print(f"{size_label(n_cards):>7} {label:<28} {n_edits:>5} {median:>12.2f} "
                  f"{listing_s:>10} {speed_up}  {shown}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=size_arg, nargs="+", default=[SHIPPED, 1000],
                        help="numbers of generated cards, or 'shipped' for this repository's "
                             "KB (default: shipped 1000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reload", action="store_true",
                        help="time edit-to-reload under `mkdocs serve` instead of builds")
    parser.add_argument("--edits", type=int, default=7,
                        help="edits timed with the fast path (--reload)")
    parser.add_argument("--reference-edits", type=int, default=3,
                        help="edits timed on each whole-rebuild server (--reload; 0 skips)")
    parser.add_argument("--cold-only", action="store_true",
                        help="time only plain MkDocs and the plugin's cold build (no edit or "
                             "warm builds, no in-process timing)")
    parser.add_argument("--plugin-only", action="store_true",
                        help="skip the whole builds; time only the plugin's work in-process "
                             "against one plain build")
    parser.add_argument("--reload-sizes", type=int, nargs="+", default=[],
                        help="after the build table, time edit-to-reload at these sizes in "
                             "the same run (as --reload does)")
    parser.add_argument("--no-whole-rebuilds", action="store_true",
                        help="--reload: skip the plugin with fast_reload: false (plain "
                             "mkdocs serve stays the reference)")
    args = parser.parse_args()
    if args.reload:
        reload_main(args, args.sizes)
        return
    if args.plugin_only:
        for n_cards in args.sizes:
            plugin_site, plain_site = prepare(n_cards)
            build(plain_site)
            plain_cpu = statistics.median(build(plain_site)[1] for _ in range(args.repeats))
            print(f"{size_label(n_cards):>7} plain build {plain_cpu:.2f} CPU s", flush=True)
            plugin_only(plugin_site, n_cards, plain_cpu)
        return
    print("Wall-clock seconds swing with other load on a shared machine; CPU seconds (user +")
    print("system of the build process and its workers) are the steadier basis for the ratio.")
    print(f"{'cards':>6} {'variant':<12} {'wall s':>7} {'CPU s':>7} {'CPU/card':>9} "
          f"{'wall ratio':>10} {'CPU ratio':>9}  CPU runs")
    for n_cards in args.sizes:
        plugin_site, plain_site = prepare(n_cards)
        n_pages = sum(1 for _ in (plain_site / "docs").rglob("*.md"))
        cards = n_cards or sum(1 for _ in (plugin_site / "kb").rglob("*.yaml")) + sum(
            1 for _ in (plugin_site / "configs").rglob("*.yaml"))
        cache = plugin_site / ".kbtools-cache"
        card = next((plugin_site / "kb" / "model_cards").glob("*.yaml"))
        times: dict[str, list[tuple[float, float]]] = {
            "plain": [], "plugin cold": [], "plugin edit": [], "plugin warm": []}
        build(plain_site)  # warm the OS file cache and Python bytecode once
        if args.cold_only:
            del times["plugin edit"], times["plugin warm"]
        for i in range(args.repeats):
            times["plain"].append(build(plain_site))
            shutil.rmtree(cache, ignore_errors=True)
            times["plugin cold"].append(build(plugin_site))
            if args.cold_only:
                continue
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
            print(f"{size_label(n_cards):>7} {variant:<12} {wall:>7.2f} {cpu:>7.2f} "
                  f"{cpu / cards * 1000:>7.2f}ms {wall / plain_wall:>9.2f}x "
                  f"{cpu / plain_cpu:>8.2f}x  {shown}")
        print(f"{'':>7} ({n_pages:,} markdown pages per site, {cards:,} cards)", flush=True)
        if not args.cold_only:
            plugin_only(plugin_site, n_cards, plain_cpu)
    if args.reload_sizes:
        print()
        reload_main(args, args.reload_sizes)


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
        print(f"{size_label(n_cards):>7} plugin work, {variant:<5} {median:>6.2f} CPU s "
              f"= {median / plain_cpu:>6.1%} of the plain build", flush=True)


if __name__ == "__main__":
    main()
