"""A small fake KB for the site tests: cards of every kind, two runs and one broken card;
and a hostile-card corpus built on it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from kbtools.yamlio import dump, load_file

MKDOCS_YML = """\
site_name: Test KB
docs_dir: docs
strict: true
theme:
  name: material
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - pymdownx.details
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
plugins:
  - search
  - kbtools{options}
nav:
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
"""

COMMON = {"status": "complete", "verified": False, "last_updated": "2026-11-21",
          "verification": {"sources": ["https://example.org/paper"], "notes": "not yet checked"}}


def png_bytes(width: int = 8, height: int = 6) -> bytes:
    """A tiny valid grey PNG."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def write(path: Path, data: object, schema: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = f"# yaml-language-server: $schema=../../kbtools/schemas/{schema}.schema.json\n" \
        if schema else ""
    path.write_text(head + dump(data), encoding="utf-8")
    return path


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_run(root: Path, run_id: str, *, started: str, auc: float, n_test: list[int],
             gene_sha: str, n_components: int, counts: dict | None = None) -> Path:
    folder = root / "kb" / "runs" / run_id
    config = {"id": "01_toy_cca", "method": "cca_permutation",
              "preprocessing": {"pca": {"gene": n_components}}, "seed": 7}
    write(folder / "config_used.yaml", config)
    write(folder / "run.yaml", {
        "id": run_id, "experiment": "01_toy_cca", "method": "cca_permutation",
        "run_status": "completed", "started": started, "finished": started,
        "duration_s": 12.5, "seed": 7, "config_sha256": sha(str(config)),
        "inputs": [{"role": "gene", "dataset": "toy_cohort", "path": "gene.csv",
                    "sha256": gene_sha, "rows": 500},
                   {"role": "brain", "dataset": "toy_cohort", "path": "brain.csv",
                    "sha256": sha("brain"), "rows": 500}],
        "headline": {"rho1": auc, "p_mode1": 0.001},
        "warnings": ["pca capped at rank"],
        "disclosure": {"min_cell_size": 10, "suppressed_counts": 1,
                       "suppressed": ["metrics.yaml counts.n_cases"], "scanned_files": 5,
                       "subject_ids_found": 0},
        "files": ["run.yaml", "metrics.yaml", "null_distribution.png"],
    })
    write(folder / "metrics.yaml", {
        "id": run_id, "method": "cca_permutation",
        "summary": {"rho1": auc, "p_mode1": 0.001, "n_missing": 4},
        "per_fold": [{"fold": i + 1, "n_test": n, "rho1": auc + i / 100} for i, n in
                     enumerate(n_test)],
        "counts": counts or {"n_subjects": 500, "n_cases": "<10", "n_controls": 7},
        "suppressed": ["per_fold[2].rho1", "counts.n_cases"],
    })
    (folder / "null_distribution.png").write_bytes(png_bytes())
    return folder


def make_kb(root: Path, *, options: str = "", broken: bool = True) -> Path:
    """Write a small KB with a site into ``root`` and return it."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "index.md").write_text("# Test KB\n\nHome page.\n", encoding="utf-8")
    if broken and "fail_on_problems" not in options:
        # the broken cards below would fail the strict build; most tests build anyway
        options = ":\n      fail_on_problems: false" + options.removeprefix(":")
    (root / "mkdocs.yml").write_text(MKDOCS_YML.format(options=options), encoding="utf-8")
    kb = root / "kb"
    write(kb / "model_cards" / "genemamba.yaml", {
        "id": "genemamba", "name": "GeneMamba", "modality": "genomics", "domain": "genetics",
        "summary": "A toy DNA language model used by the site tests.",
        "arch": {"type": "Mamba", "num_parameters": 130_000_000},
        "context_length": 131072, "context_unit": "bp",
        "license": {"code": "Apache-2.0", "weights": "Apache-2.0"},
        "papers": ["genemamba_2024"], "datasets": ["toy_cohort"], "tags": ["dna", "ssm"],
        **COMMON}, "model_card")
    write(kb / "model_cards" / "brainvit.yaml", {
        "id": "brainvit", "name": "BrainViT", "modality": ["fmri", "smri"], "domain": "brain",
        "summary": "A toy brain imaging transformer.", "arch": {"num_parameters": 86_000_000},
        "license": {"code": "MIT"}, "papers": ["brainvit_2023"], "tags": ["vit"],
        **{**COMMON, "verified": True,
           "verification": {"by": "kb-maintainer", "date": "2026-11-20",
                            "sources": ["https://example.org/brainvit"]}}}, "model_card")
    write(kb / "paper_cards" / "genemamba_2024.yaml", {
        "id": "genemamba_2024", "title": "GeneMamba: long DNA context", "year": 2024,
        "venue": "ICML", "summary": "Introduces the toy DNA model.", "doi": "10.1234/gm.2024",
        "models": ["genemamba"], **COMMON}, "paper_card")
    write(kb / "paper_cards" / "brainvit_2023.yaml", {
        "id": "brainvit_2023", "title": "BrainViT for fMRI", "year": 2023, "venue": "MICCAI",
        "summary": "Introduces the toy brain model.", "models": ["brainvit"], **COMMON},
        "paper_card")
    write(kb / "datasets" / "toy_cohort.yaml", {
        "id": "toy_cohort", "name": "Toy cohort", "description": "Synthetic subjects.",
        "modalities": ["genomics", "smri"], "access": {"level": "synthetic"},
        "governance": {"classification": "synthetic"}, "counts": {"subjects": 500, "sites": 3},
        "models": ["genemamba"], **COMMON}, "dataset_card")
    write(kb / "datasets" / "tiny_clinic.yaml", {
        "id": "tiny_clinic", "name": "Tiny clinic", "description": "A very small cohort.",
        "modalities": ["clinical"], "access": {"level": "restricted"},
        "governance": {"classification": "restricted"}, "counts": {"subjects": 6},
        **COMMON}, "dataset_card")
    write(kb / "registries" / "embedding_strategies.yaml", {
        "id": "embedding_strategies", "registry": "embedding_strategies",
        "entries": [{"id": "gene_pca", "description": "Gene embeddings, PCA.",
                     "models": ["genemamba"], "datasets": ["toy_cohort"]}],
        **COMMON}, "integration_registry")
    write(root / "configs" / "experiments" / "01_toy_cca.yaml", {
        "id": "01_toy_cca", "name": "Toy gene-brain CCA", "method": "cca_permutation",
        "data": {"subjects": {"dataset": "toy_cohort", "table": "subjects"},
                 "gene": {"dataset": "toy_cohort", "table": "gene"},
                 "brain": {"dataset": "toy_cohort", "table": "smri"}},
        "embedding_strategies": {"gene": "gene_pca"}, "papers": ["brainvit_2023"],
        "outcome": "mdd", "seed": 7, "tags": ["cca"], **COMMON}, "experiment_config")
    make_run(root, "20261120t100000z_01_toy_cca_aaaa", started="2026-11-20T10:00:00Z",
             auc=0.30, n_test=[100, 100, 100], gene_sha=sha("gene-v1"), n_components=16)
    make_run(root, "20261121t100000z_01_toy_cca_bbbb", started="2026-11-21T10:00:00Z",
             auc=0.35, n_test=[100, 8, 100], gene_sha=sha("gene-v2"), n_components=32)
    if broken:
        broken_card = kb / "model_cards" / "brokenmodel.yaml"
        broken_card.write_text("id: brokenmodel\nname: Broken\nmodality: genomics\n"
                               "domain: not-a-domain\nsummary: missing fields\n",
                               encoding="utf-8")
        (kb / "paper_cards" / "unparsable.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    return root


@pytest.fixture
def kb_site(tmp_path: Path) -> Path:
    return make_kb(tmp_path / "site")


@pytest.fixture
def build_kb():
    """The :func:`make_kb` helper, for tests that need options or several KBs."""
    return make_kb


# -- the hostile-card corpus ---------------------------------------------------------------

#: payload class -> text. Numbers are unique so a failure names its payload.
PAYLOADS: dict[str, str] = {
    "md-link-javascript": "[click me](javascript:alert(101))",
    "md-link-mixed-case": "[click](JaVaScRiPt:alert(102))",
    "md-link-entity-scheme": "[click](&#106;avascript:alert(103))",
    "md-link-data": "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxMDQpPC9zY3JpcHQ+)",
    "md-image-javascript": "![pic](javascript:alert(105))",
    "md-autolink": "<javascript:alert(106)>",
    "md-reference-link": "[ref][x]\n\n[x]: javascript:alert(107)",
    "attr-list-onclick": 'hello{: onclick="alert(108)" }',
    "attr-list-onerror": '![p](x.png){: onerror="alert(109)" }',
    "attr-list-heading": "# Title {: onmouseover=alert(110) }",
    "raw-script": "<script>alert(111)</script>",
    "raw-img-onerror": '<img src="x" onerror="alert(112)">',
    "raw-svg-onload": "<svg onload=alert(113)>",
    "raw-details-ontoggle": "<details open ontoggle=alert(114)>",
    "md-in-html": '<div markdown="1">[x](javascript:alert(115))</div>',
    "backtick-breakout": "` <img src=x onerror=alert(116)> `",
    "entity-title-breakout": "&lt;/title&gt;&lt;script&gt;alert(117)&lt;/script&gt;",
    "pipe-table-break": "a | <img src=y onerror=alert(118)> | b",
    "mermaid-breakout": ('"] --> X["<img src=z onerror=alert(119)>"]\n'
                         'click X "javascript:alert(119)"'),
    "mermaid-directive": '%%{init: {"securityLevel": "loose"}}%% <b onclick=alert(120)>',
    "snippet-include": '--8<-- "/etc/hostname"',
    "html-entity-img": "&#60;img src=x onerror=alert(121)&#62;",
}

#: One line that carries every single-line payload (for fields shown on one line).
ONE_LINE = " ".join(p.replace("\n", " ") for p in PAYLOADS.values())
#: Multi-line text carrying every payload on its own lines (for prose fields).
PROSE = "\n\n".join(PAYLOADS.values())

#: Plot file names carrying markdown / attribute syntax.
PLOT_NAMES = (
    "x{: onerror=alert(201) }.png",
    "a) onerror=(alert(202).png",
    'q" onerror="alert(203).png',
    "[l](javascript:alert(204)).png",
)
#: A paper summary's front matter title as a PDF's layout might carry it.
PDF_TITLE = '<script>alert(301)</script><img src=x onerror="alert(302)"></title><b>'
#: A file name that cannot be a page (it is listed on the health page).
HOSTILE_FILE = "<img src=x onerror=alert(401)>.yaml"

MODEL = "evil_model"
PAPER = "evil_paper_2025"
DATASET = "evil_cohort"
EXPERIMENT = "02_evil"
RUN = "20261122t100000z_02_evil_cccc"

SITE_EXTENSIONS = """\
  - md_in_html
  - pymdownx.snippets
"""


def make_hostile_kb(root: Path) -> Path:
    """The site-test KB plus hostile cards of every kind; returns the site root."""
    make_kb(root, broken=False)
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.replace("strict: true\n", "")  # the hostile cards fail validation
    config = config.replace("  - tables\n", "  - tables\n" + SITE_EXTENSIONS)
    # the summary is in the nav without a nav title: its own (hostile) title is used
    config = config.replace("nav:\n", "nav:\n  - papers-md/evil_paper_2025.md\n")
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    kb = root / "kb"
    sources = [f"https://example.org/{i} {p}" for i, p in enumerate(PAYLOADS.values())]
    sources += list(PAYLOADS.values())
    verification = {"by": ONE_LINE, "date": "2026-11-20", "sources": sources, "notes": PROSE,
                    "checked_fields": [ONE_LINE]}
    common = {**COMMON, "verification": verification, "notes": PROSE}
    write(kb / "model_cards" / f"{MODEL}.yaml", {
        "id": MODEL, "name": ONE_LINE, "modality": "genomics", "domain": ONE_LINE,
        "summary": PROSE, "arch": {"type": ONE_LINE, "num_parameters": 7, "objective": ONE_LINE,
                                   "notes": PROSE},
        "context_unit": ONE_LINE, "context_length": 1000,
        "license": {"code": ONE_LINE, "weights": ONE_LINE},
        "weights": {"access": ONE_LINE, "url": "javascript:alert(501)", "hub_id": ONE_LINE},
        "repo": "javascript:alert(502)", "tasks": list(PAYLOADS.values()),
        "checkpoints": [{"name": ONE_LINE, "url": "https://example.org/a\"onmouseover=alert(503)",
                         "notes": PROSE}],
        "papers": [PAPER], "datasets": [DATASET, ONE_LINE[:40]],
        "tags": list(PAYLOADS.values()), **common}, "model_card")
    summary_md = root / "docs" / "papers-md" / f"{PAPER}.md"
    summary_md.parent.mkdir(parents=True, exist_ok=True)
    summary_md.write_text(
        "---\n" + f"title: {json.dumps(PDF_TITLE)}\n" + "source: evil.pdf\n---\n\n"
        "Summary text of the paper.\n", encoding="utf-8")
    write(kb / "paper_cards" / f"{PAPER}.yaml", {
        "id": PAPER, "title": ONE_LINE, "year": 2025, "venue": ONE_LINE, "summary": PROSE,
        "key_contributions": list(PAYLOADS.values()), "kb_relevance": PROSE,
        "doi": '10.1234/x")onmouseover=alert(504)', "url": "javascript:alert(505)",
        "summary_md_path": f"docs/papers-md/{PAPER}.md", "models": [MODEL],
        "tags": list(PAYLOADS.values()), **common}, "paper_card")
    write(kb / "datasets" / f"{DATASET}.yaml", {
        "id": DATASET, "name": ONE_LINE, "description": PROSE, "modalities": [ONE_LINE],
        "access": {"level": ONE_LINE, "how": ONE_LINE, "url": "data:text/html,alert(506)"},
        "governance": {"classification": ONE_LINE, "notes": PROSE},
        "counts": {"subjects": 500, ONE_LINE[:60]: 50},
        "phenotypes": [{"name": ONE_LINE, "type": ONE_LINE, "description": PROSE}],
        "required_columns": [{"name": ONE_LINE, "table": ONE_LINE, "dtype": ONE_LINE,
                              "description": PROSE}],
        "covariates": list(PAYLOADS.values()), "license": ONE_LINE,
        "models": [MODEL], "tags": list(PAYLOADS.values()), **common}, "dataset_card")
    write(kb / "registries" / "evil_registry.yaml", {
        "id": "evil_registry", "registry": "embedding_strategies", "description": PROSE,
        "entries": [{"id": "evil_strategy", "description": PROSE, "models": [MODEL],
                     "datasets": [DATASET], "notes": PROSE}], **common}, "integration_registry")
    write(root / "configs" / "experiments" / f"{EXPERIMENT}.yaml", {
        "id": EXPERIMENT, "name": ONE_LINE, "method": "cca_permutation", "description": PROSE,
        "data": {"subjects": {"dataset": DATASET, "table": ONE_LINE},
                 ONE_LINE[:30]: {"dataset": DATASET, "table": "gene"}},
        "embedding_strategies": {"gene": "evil_strategy"}, "papers": [PAPER],
        "models": [MODEL], "outcome": ONE_LINE, "harmonization": ONE_LINE, "seed": 7,
        "tags": list(PAYLOADS.values()), **common}, "experiment_config")
    folder = make_run(root, RUN, started="2026-11-22T10:00:00Z", auc=0.4, n_test=[100, 100],
                      gene_sha=sha("evil"), n_components=8)
    run = folder / "run.yaml"
    data = load_file(run)
    data.update({
        "experiment": EXPERIMENT, "command": ONE_LINE, "warnings": list(PAYLOADS.values()),
        "tags": list(PAYLOADS.values()), "method": ONE_LINE, "run_status": ONE_LINE,
        "kbtools_version": ONE_LINE, "notes": PROSE,
        "headline": {ONE_LINE[:50]: ONE_LINE, "rho1": 0.4},
        "inputs": [{"role": ONE_LINE, "dataset": DATASET, "path": "gene.csv",
                    "sha256": ONE_LINE, "rows": 500}],
    })
    write(run, data)
    metrics = load_file(folder / "metrics.yaml")
    metrics["summary"][ONE_LINE[:80]] = ONE_LINE
    metrics["notes"] = {ONE_LINE[:40]: PROSE}
    write(folder / "metrics.yaml", metrics)
    for name in PLOT_NAMES:
        (folder / name).write_bytes(png_bytes())
    # a second run so the comparison page is populated with hostile settings
    second = make_run(root, RUN.replace("cccc", "dddd").replace("t10", "t11"),
                      started="2026-11-22T11:00:00Z", auc=0.5, n_test=[100, 100],
                      gene_sha=sha("evil2"), n_components=9)
    data2 = load_file(second / "run.yaml")
    data2.update({"experiment": EXPERIMENT, "seed": ONE_LINE[:30]})
    write(second / "run.yaml", data2)
    config_used = load_file(second / "config_used.yaml")
    config_used["preprocessing"] = {ONE_LINE[:50]: ONE_LINE}
    write(second / "config_used.yaml", config_used)
    (kb / "model_cards" / HOSTILE_FILE).write_text("id: x\n", encoding="utf-8")
    return root


@pytest.fixture
def hostile(tmp_path: Path) -> SimpleNamespace:
    """The hostile KB (``root``) and what was planted in it."""
    root = make_hostile_kb(tmp_path / "hostile")
    return SimpleNamespace(root=root, payloads=PAYLOADS, plot_names=PLOT_NAMES,
                           pdf_title=PDF_TITLE, model=MODEL, paper=PAPER, dataset=DATASET,
                           experiment=EXPERIMENT, run=RUN, hostile_file=HOSTILE_FILE)


# -- finding live markup in built HTML -------------------------------------------------------

_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data"}


def _scheme(value: str) -> str:
    """The URL as a browser reads its scheme: entities decoded, blanks and controls dropped."""
    import html

    return "".join(ch for ch in html.unescape(value) if ch > " ").lower()


class _LiveMarkup(__import__("html.parser").parser.HTMLParser):
    """Collects event-handler attributes, script URLs and scripts or frames from card data."""

    def __init__(self, marker: str) -> None:
        super().__init__(convert_charrefs=True)
        self.marker = marker
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in _URL_ATTRS and value and _scheme(value).startswith(_SCRIPT_SCHEMES):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")
        if tag in {"iframe", "object", "embed", "frame", "base"}:
            self.found.append(f"<{tag}>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self.marker in data:
            self.found.append(f"<script>{data[:80]!r}")


def live_markup(html_text: str, marker: str = "alert(") -> list[str]:
    """Every piece of ``html_text`` that could run script: on* attributes, javascript:/data:
    URLs, frames, and ``<script>`` elements that carry ``marker`` (the payloads' call)."""
    parser = _LiveMarkup(marker)
    parser.feed(html_text)
    parser.close()
    return parser.found


@pytest.fixture(scope="session")
def find_live_markup():
    return live_markup


@pytest.fixture(scope="session")
def hostile_payloads() -> dict[str, str]:
    return PAYLOADS


# -- `mkdocs serve` as a person runs it ------------------------------------------------------------

BIN = Path(sys.executable).parent
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


class ServeProcess:
    """A running `mkdocs serve` (or `properdocs serve`): its base URL and its log."""

    def __init__(self, base: str, log: Path):
        self.base, self.log = base, log

    def get(self, page: str) -> tuple[int, str]:
        """Status and text of ``page`` (a path under the site, or a whole URL)."""
        url = page if page.startswith("http") else f"{self.base}/{page}"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, ""

    def wait(self, check: Callable[[], bool], seconds: float, what: str) -> float:
        """Seconds until ``check()`` holds; fails the test (with the log) after ``seconds``."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if check():
                return time.monotonic() - started
            time.sleep(0.05)
        pytest.fail(f"not within {seconds} s: {what}\n{self.log.read_text()[-3000:]}")


@contextlib.contextmanager
def mkdocs_serve(root: Path, tool: str = "mkdocs") -> Iterator[ServeProcess]:
    """``tool serve`` on the site at ``root`` on a free port, stopped afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = root.parent / f"{root.name}-{tool}-serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(BIN / tool), "serve", "-f", "mkdocs.yml", "-a",
                                 f"127.0.0.1:{port}"], cwd=root, env=QUIET, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        yield ServeProcess(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def serve_site():
    """The :func:`mkdocs_serve` helper."""
    return mkdocs_serve
