"""One number rule for every page (kbtools.site.numbers): counts grouped, labels plain, estimates
to the precision their interval justifies, p-values in one style, never ``e`` notation.

Three layers: properties of the formatting functions against an independent oracle; counts of
any size put into every count-bearing field of a KB, found grouped on every page that shows
them; and a scan of every generated page of the shipped KB (and the test KB) for an ungrouped
count.
"""

from __future__ import annotations

import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.site import numbers
from kbtools.site.render import generate
from kbtools.site.results import Estimate

REPO = Path(__file__).resolve().parents[2]
#: A digit run of four or more that is not part of a grouped number, a decimal, a date, a
#: path or an id (run ids, hashes and file names carry letters, dashes or underscores).
UNGROUPED = re.compile(r"(?<![\w.,/:-])\d{4,}(?![\w,/:-]|\.\d)")
#: No page writes a number in e notation.
E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])")
DATE_LIKE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")

# -- the functions ---------------------------------------------------------------------------

counts = st.integers(min_value=1000, max_value=10**15).filter(
    lambda n: not DATE_LIKE.match(str(n)))
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@given(counts, st.sampled_from([None, "n_subjects", "rows", "bytes", "n_permutations",
                                "counts.subjects", "context_length"]))
def test_counts_are_grouped(n: int, key: str | None) -> None:
    shown = str(numbers.fmt(n, key))
    assert shown == f"{n:,}" and str(numbers.count(n)) == f"{n:,}"
    assert str(numbers.fmt(float(n), key)) == f"{n:,}" or n >= 10**15


@given(st.integers(min_value=0, max_value=10**9),
       st.sampled_from(["year", "seed", "random_state", "summary.modes.0.mode", "line", "pmid",
                        "fold", "git.commit"]))
def test_labels_are_written_as_they_are(n: int, key: str) -> None:
    assert str(numbers.fmt(n, key)) == str(n) == str(numbers.label(n))


@pytest.mark.parametrize("key,is_p", [
    ("p", True), ("q", True), ("p1_fwer", True), ("p_mode1", True), ("delta_auroc_p", True),
    ("summary.modes.0.p_fwer", True), ("p_value", True), ("delong_p", True),
    ("null_rho1_q95", False), ("rho1", False), ("pooled", False), ("top_gene", False),
    ("n_permutations", False)])
def test_p_values_are_known_by_their_key(key: str, is_p: bool) -> None:
    assert numbers.is_p_key(key) is is_p
    assert (str(numbers.fmt(0.001, key)) == "0.0010") is is_p  # p style: two digits


@given(finite, st.sampled_from([None, "rho", "auroc", "p", "delong_p", "q"]))
def test_no_number_is_written_in_e_notation(x: float, key: str | None) -> None:
    for shown in (numbers.fmt(x, key), numbers.p_value(x), numbers.delta(x),
                  numbers.estimate(Estimate(x)), numbers.estimate(Estimate(x, sd=abs(x) / 3))):
        assert not E_NOTATION.search(str(shown)), (x, str(shown))


def _oracle_decimals(spread: float) -> int:
    """Two significant digits of the spread, after rounding it to two digits."""
    return max(0, 1 - math.floor(math.log10(float(f"{spread:.1e}"))))


@given(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
       st.floats(min_value=1e-6, max_value=1e2, allow_nan=False))
def test_estimates_keep_the_digits_their_interval_justifies(value: float, half: float) -> None:
    d = _oracle_decimals(half)
    if d > 10:
        return
    low, high = value - half, value + half
    shown = str(numbers.estimate(Estimate(value, low, high)))
    point, rest = shown.split("\u00a0[")
    assert point.replace(",", "") == _fixed(value, d)
    assert rest.rstrip("]").split(",\u00a0")[0].replace(",", "") == _fixed(low, d)
    shown = str(numbers.estimate(Estimate(value, sd=half)))
    assert shown.split("\u00a0±\u00a0")[1].replace(",", "") == _fixed(half, d)


def _fixed(x: float, d: int) -> str:
    text = f"{x:.{d}f}"
    return text.removeprefix("-") if float(text) == 0 else text


@given(st.floats(min_value=1e-300, max_value=1.0, allow_nan=False))
def test_p_values_have_two_significant_digits(p: float) -> None:
    shown = str(numbers.p_value(p))
    if p < 1e-3:
        mantissa, power = shown.split("\u00a0×\u00a010")
        exponent = int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        assert float(mantissa) * 10**exponent == pytest.approx(float(f"{p:.1e}"), rel=1e-9)
        assert len(mantissa.replace(".", "").lstrip("-")) == 2
    else:
        assert float(shown) == pytest.approx(float(f"{p:.1e}"), rel=1e-9)
        assert len(shown.replace(".", "").lstrip("0")) == 2, shown


# -- any count in any count-bearing field, on every page ------------------------------------------

#: (file, path of keys, pages that show it) for fields whose numbers are counts.
COUNT_FIELDS = [
    ("kb/datasets/toy_cohort.yaml", ("counts", "subjects"),
     ["registry/datasets.md", "registry/datasets/toy_cohort.md"]),
    ("kb/datasets/toy_cohort.yaml", ("counts", "sites"), ["registry/datasets/toy_cohort.md"]),
    ("kb/model_cards/genemamba.yaml", ("context_length",),
     ["registry/models.md", "registry/models/genemamba.md"]),
    ("kb/model_cards/genemamba.yaml", ("tokenizer", "vocab_size"),
     ["registry/models/genemamba.md"]),
    ("RUN/run.yaml", ("inputs", 0, "rows"), ["RUNPAGE"]),
    ("RUN/run.yaml", ("inputs", 1, "bytes"), ["RUNPAGE"]),
    ("RUN/run.yaml", ("headline", "n_subjects"),
     ["registry/runs.md", "registry/experiments.md"]),
    ("RUN/metrics.yaml", ("counts", "n_subjects"), ["RUNPAGE"]),
    ("RUN/metrics.yaml", ("summary", "n_permutations"), ["RUNPAGE"]),
    ("RUN/metrics.yaml", ("per_fold", 0, "n_test"), ["RUNPAGE"]),
]
RUN = "kb/runs/20261121t100000z_01_toy_cca_bbbb"


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {}) if isinstance(data, dict) else data[key]
    data[path[-1]] = value


def _text_outside_code(markdown: str) -> str:
    markdown = re.sub(r"<code>.*?</code>|`[^`\n]*`|<pre.*?</pre>", " ", markdown, flags=re.S)
    return re.sub(r"\]\([^)]*\)|<[^>]+>", " ", markdown)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(counts.filter(lambda n: n < 10**12), min_size=len(COUNT_FIELDS),
                max_size=len(COUNT_FIELDS), unique=True))
def test_any_count_in_any_count_field_is_grouped_on_every_page(kb_site: Path,
                                                               values: list[int]) -> None:
    root = kb_site
    originals: dict[Path, str] = {}
    for (file, path, _), value in zip(COUNT_FIELDS, values, strict=True):
        target = root / file.replace("RUN", RUN)
        originals.setdefault(target, target.read_text(encoding="utf-8"))
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
        _set(data, path, value)
        target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        pages = generate(root, validate=False).pages
    finally:
        for target, text in originals.items():
            target.write_text(text, encoding="utf-8")
    for (file, path, shown_on), value in zip(COUNT_FIELDS, values, strict=True):
        for page in shown_on:
            page = f"registry/runs/{Path(RUN).name}.md" if page == "RUNPAGE" else page
            assert f"{value:,}" in pages[page], (file, path, page, value)
    before = generate(root, validate=False).pages  # numbers the fixture shows already
    for page, text in pages.items():
        visible = _text_outside_code(text)
        shown_before = _text_outside_code(before.get(page, ""))
        for value in values:
            bare = rf"(?<![\d,]){value}(?![\d,])"
            if re.search(bare, shown_before):
                continue  # the same digits as a label the fixture has (a year such as 2023)
            assert not re.search(bare, visible), (page, value)


# -- every generated page of a built site -------------------------------------------------------

_SKIP_TAGS = {"code", "pre", "script", "style", "svg", "kbd", "samp", "head", "title"}
_VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source"}
_SKIP_CLASSES = ("kb-when", "md-header", "md-footer", "md-nav", "md-sidebar")


class _Visible(HTMLParser):
    """The text a reader sees in a page's content (not code, dates, navigation)."""

    def __init__(self) -> None:
        super().__init__()
        self.skipping: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        cls = dict(attrs).get("class") or ""
        self.skipping.append(tag in _SKIP_TAGS or any(c in cls for c in _SKIP_CLASSES))

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self.skipping:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not any(self.skipping):
            self.text.append(data)


def _authored(root: Path) -> set[str]:
    """Digit runs the KB's authors wrote themselves (text fields), and label numbers (years,
    seeds, ids: written as they are by the rule)."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                found.update(re.findall(r"\d+", str(k)))
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            found.update(re.findall(r"\d+", value))
        elif isinstance(value, int) and not isinstance(value, bool) and (
                numbers.is_label(key) or DATE_LIKE.match(str(value))):
            found.add(str(value))

    for path in [*root.glob("kb/**/*.yaml"), *root.glob("configs/**/*.yaml")]:
        try:
            walk(yaml.safe_load(path.read_text(encoding="utf-8")))
        except yaml.YAMLError:
            found.update(re.findall(r"\d+", path.read_text(encoding="utf-8")))
    return found


def ungrouped_counts(site: Path, root: Path) -> dict[str, list[str]]:
    """Per generated page: digit runs of 4+ that no author wrote and no label explains."""
    allowed = _authored(root)
    bad: dict[str, list[str]] = {}
    for page in sorted((site / "registry").rglob("*.html")):
        parser = _Visible()
        parser.feed(page.read_text(encoding="utf-8"))
        text = " ".join(parser.text)
        hits = [t for t in UNGROUPED.findall(text) if t not in allowed]
        hits += E_NOTATION.findall(text)
        if hits:
            bad[page.relative_to(site).as_posix()] = sorted(set(hits))
    return bad


def _build(root: Path) -> Path:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(config_file=str(root / "mkdocs.yml")))
    return root / "site"


def test_every_count_on_every_page_of_the_shipped_kb_is_grouped(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for part in ("kb", "configs", "docs"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    plan = root / "configs" / "experiments" / "07_plan.yaml"  # every page kind: a plan too
    plan.write_text((root / "configs" / "experiments" / "02_prediction_baselines.yaml")
                    .read_text().replace("id: 02_prediction_baselines", "id: 07_plan")
                    .replace("status: complete", "status: planning"))
    site = _build(root)
    assert len(list((site / "registry").rglob("*.html"))) > 50
    assert "A plan, not a finished config" in (
        site / "registry" / "experiments" / "07_plan" / "index.html").read_text()
    assert (site / "registry" / "registries" / "embedding_strategies" / "index.html").is_file()
    assert ungrouped_counts(site, root) == {}


def test_every_count_on_every_page_of_the_test_kb_is_grouped(kb_site: Path) -> None:
    for path in kb_site.glob("kb/runs/*/metrics.yaml"):  # counts in the thousands
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["counts"]["n_subjects"] = 12_345
        data["per_fold"][0]["n_test"] = 4_321
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    site = _build(kb_site)
    assert ungrouped_counts(site, kb_site) == {}
    run = next((site / "registry" / "runs").glob("*/index.html")).read_text(encoding="utf-8")
    assert "12,345" in run and "4,321" in run


def test_the_scan_finds_an_ungrouped_count(kb_site: Path) -> None:
    """The scan itself can fail: a page with a bare count is reported."""
    site = _build(kb_site)
    page = site / "registry" / "datasets" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</article>", "<p>123456 subjects, 8.000e-04</p></article>"), encoding="utf-8")
    assert ungrouped_counts(site, kb_site) == {
        "registry/datasets/index.html": ["123456", "8.000e-04"]}
