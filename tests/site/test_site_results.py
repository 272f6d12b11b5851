"""Run pages lead with a results table shaped for their method, checked against metrics.yaml.

The runs are the ones shipped in kb/runs/, written by the analysis core itself; the oracle is
their metrics.yaml, read independently here.
"""

from __future__ import annotations

import html
import math
import re
import shutil
from pathlib import Path

import pytest
import yaml

from kbtools.site.render import generate
from kbtools.site.results import TOP_GENES

REPO = Path(__file__).resolve().parents[2]


def shipped_run(method: str) -> Path:
    for run in sorted((REPO / "kb" / "runs").glob("*/run.yaml")):
        if yaml.safe_load(run.read_text())["method"] == method:
            return run.parent
    pytest.skip(f"no shipped run of {method}")


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return generate(REPO, validate=False).pages


def page_of(pages: dict[str, str], folder: Path) -> str:
    return pages[f"registry/runs/{folder.name}.md"]


def results(text: str) -> str:
    """The page from its Results heading to the first heading after it."""
    return text.split("\n## Results\n", 1)[1].split("\n## ", 1)[0]


def table(section: str, first: str) -> list[list[str]]:
    """Rows (cells stripped) of the markdown table whose header starts with ``| first |``."""
    lines = section.split(f"\n| {first} |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]


def columns(section: str, first: str) -> list[str]:
    """Header cells of the markdown table whose header starts with ``| first |``."""
    line = f"| {first} |" + section.split(f"\n| {first} |", 1)[1].split("\n", 1)[0]
    return [c.strip() for c in line.strip().strip("|").split("|")]


def decimals(spread: float) -> int:
    """The rule's decimals: two significant digits of the interval's half-width (or SD)."""
    return 1 - math.floor(math.log10(float(f"{spread:.1e}")))


def with_interval(value: float, low: float, high: float) -> str:
    d = decimals((high - low) / 2)
    return f"{value:.{d}f}\u00a0[{low:.{d}f},\u00a0{high:.{d}f}]"


def with_sd(value: float, sd: float) -> str:
    d = decimals(sd)
    return f"{value:.{d}f}\u00a0±\u00a0{sd:.{d}f}"


def cell_of(value: dict) -> tuple[str, int]:
    """How a results cell shows a metric, and its decimals: pooled value with its 95% interval
    when the run has one, else with the SD across folds."""
    if value.get("pooled_ci95"):
        low, high = value["pooled_ci95"]
        return with_interval(value["pooled"], low, high), decimals((high - low) / 2)
    return with_sd(value["pooled"], value["sd"]), decimals(value["sd"])


def p_style(p: float) -> str:
    """p-values: two significant digits, a power of ten below 0.001."""
    if p < 1e-3:
        mantissa, exponent = f"{p:.1e}".split("e")
        digits = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return f"{mantissa}\u00a0×\u00a010{digits}"
    return f"{p:.{1 - math.floor(math.log10(float(f'{p:.1e}')))}f}"


def three_significant(x: float) -> str:
    """A plain number without interval or SD: three significant digits (0.0123, 0.200)."""
    d = max(0, 2 - math.floor(math.log10(abs(x)))) if x else 0
    return f"{x:.{d}f}"


def interval(estimate: float, ci: list[float]) -> str:
    """How a results cell shows a number with its interval (the number rule's decimals)."""
    return with_interval(estimate, ci[0], ci[1])


def spread(value: dict) -> str:
    """How a results cell shows the mean ± SD across folds."""
    return with_sd(value["mean"], value["sd"])


def metrics(folder: Path) -> dict:
    return yaml.safe_load((folder / "metrics.yaml").read_text())["summary"]


def test_results_come_first(pages: dict[str, str]) -> None:
    for folder in sorted((REPO / "kb" / "runs").glob("*/")):
        text = page_of(pages, folder)
        assert text.index("## Results") < text.index("## Figures") < text.index("## Run details")
        assert text.index("## Run details") < text.index("All metrics (")
        # nothing but the title line and the one-line summary before the results
        head = text.split("## Results", 1)[0].split("\n---\n", 1)[1]
        assert len([line for line in head.splitlines() if line.strip()]) == 2, head


def test_prediction_page_leads_with_the_calibrated_numbers(pages: dict[str, str]) -> None:
    """The verdict, then the fold-combined gains (the verdict's comparisons first), then each
    arm's fold-combined AUROC; pooled numbers only under their descriptive heading."""
    folder = shipped_run("prediction_baselines")
    summary = metrics(folder)
    section = results(page_of(pages, folder))
    order = ["Escalation verdict:", "### Fusion against each single modality", "### Each arm",
             "### Descriptive: pooled out-of-fold predictions"]
    assert [section.index(h) for h in order] == sorted(section.index(h) for h in order)
    calibrated, descriptive = section.split(order[-1])
    assert "pooled" not in calibrated.lower()
    verdict = summary["escalation"]
    assert ("Escalation verdict: escalate beyond late fusion" in section) is verdict["escalate"]
    assert verdict["statement"] in html.unescape(calibrated)

    gains = table(calibrated, "Model")
    assert len(gains) == len(summary["comparisons"])
    primary = [c for c in summary["comparisons"]
               if (c["fusion"], c["model"]) == (verdict["fusion"], verdict["model"])]
    by_key = {(c["model"], c["fusion"], c["single"]): c for c in summary["comparisons"]}
    for i, (model, fusion, single, gain, p, folds) in enumerate(gains):
        truth = by_key[(model, fusion.strip("*"), single)]
        assert (truth in primary) is (i < len(primary))  # the verdict's comparisons first
        test = truth["fold_test"]
        assert gain == interval(test["estimate"], test["ci"])
        assert p == p_style(test["p"]) and int(folds) == test["n_folds"]
    assert columns(calibrated, "Model")[3] == "AUROC gain [90% CI]"

    rows = table(calibrated, "Arm")
    expected = {(arm, model): m for arm, a in summary["arms"].items()
                for model, m in a["models"].items()}
    assert {(r[0], r[1]) for r in rows} == set(expected)
    assert columns(calibrated, "Arm")[3:] == ["AUROC [95% CI]", "AUPRC ↑", "Brier ↓"]
    for arm, model, n, auroc, auprc, brier in rows:
        truth = expected[(arm, model)]
        assert n == f"{summary['arms'][arm]['n_subjects']:,}"
        combined = truth["auroc"]["fold_combined"]
        assert auroc.replace("**", "") == interval(combined["estimate"], combined["ci"])
        assert (auprc, brier) == (spread(truth["auprc"]), spread(truth["brier"]))
    best = max((r for r in rows if r[1] == "logistic"),
               key=lambda r: float(r[3].strip("*").split("\u00a0")[0]))
    assert best[3].startswith("**")  # the best AUROC of a model is bold

    pooled = table(descriptive, "Arm")
    for arm, model, auroc, auprc, brier, ece in pooled:
        truth = expected[(arm, model)]
        assert auroc == interval(truth["auroc"]["pooled"], truth["auroc"]["pooled_ci95"])
        assert brier == three_significant(truth["brier"]["pooled"])
        assert auprc == interval(truth["auprc"]["pooled"], truth["auprc"]["pooled_ci95"])
        assert ece == (f"{three_significant(truth['ece']['pooled'])} "
                       f"(floor {three_significant(truth['ece']['pooled_if_calibrated'])})")
    first = by_key[tuple(table(descriptive, "Model")[0][:3])]
    assert table(descriptive, "Model")[0][5] == interval(first["difference_pooled"],
                                                          first["pooled_bootstrap_ci"])


def test_cca_rows_per_mode(pages: dict[str, str]) -> None:
    folder = shipped_run("cca_permutation")
    summary = metrics(folder)
    section = results(page_of(pages, folder))
    header = columns(section, "Mode")
    rows = [dict(zip(header, r, strict=True)) for r in table(section, "Mode")]
    assert [int(r["Mode"]) for r in rows] == [m["mode"] for m in summary["modes"]]
    for row, mode in zip(rows, summary["modes"], strict=True):
        for column, key in (("ρ out of sample", "rho_out_of_sample"),
                            ("ρ in sample", "rho_in_sample")):
            value = mode[key]
            assert row[column] == with_sd(value["mean"], value["sd"])
        p = mode["p_fwer"]
        p = p["median"] if isinstance(p, dict) else p
        assert row["p<sub>FWER</sub>"].startswith(p_style(p))
        if "rho_all_subjects" in mode:  # the test's own statistic, on every subject
            rho = mode["rho_all_subjects"]  # three significant digits
            rounded = float(f"{rho:.2e}")
            assert row["ρ all subjects"] == f"{rho:.{2 - math.floor(math.log10(rounded))}f}"
            assert row["Significant"] == ("yes" if mode["significant"] else "no")
        if "folds_significant" in mode:
            assert row["Folds significant"] == \
                f"{mode['folds_significant']} of {summary['n_folds']}"


def test_logo_genes_in_the_runs_one_ranking(pages: dict[str, str]) -> None:
    """One ranking, named: the run's rank (mean ΔAUC over folds), as its figure draws it."""
    folder = shipped_run("logo_gene_attribution")
    summary = metrics(folder)
    section = results(page_of(pages, folder))
    rows = table(section, "Rank")
    genes = summary["genes"]  # in the run's rank order
    assert [g["rank"] for g in genes] == list(range(1, len(genes) + 1))
    means = [g["delta_auc_folds"]["mean"] for g in genes]
    assert means == sorted(means, reverse=True)  # the rank is the mean over folds
    significant = [g["gene"] for g in genes if g["significant"]]
    assert len(rows) == max(TOP_GENES, len(significant))
    assert [r[1] for r in rows] == [g["gene"] for g in genes[: len(rows)]]
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    header = columns(section, "Rank")
    assert header[2].startswith("ΔAUC, mean over folds")
    assert "ranked by ΔAUC, the mean over" in section
    for row, gene in zip(rows, genes, strict=False):
        folds = gene["delta_auc_folds"]
        expected = (with_interval(folds["mean"], *folds["ci95"]) if "ci95" in folds
                    else with_sd(folds["mean"], folds["sd"]))
        assert row[2] == expected, gene["gene"]
        assert row[3] == p_style(gene["p_corrected_t"]) and row[4] == p_style(gene["q"])
    assert all(r[5] == "yes" for r in rows if r[1] in significant)
    assert f"{len(genes) - len(rows)} more genes" in section


def test_partial_harmonization_and_pca(pages: dict[str, str]) -> None:
    folder = shipped_run("partial_correlations")
    summary = metrics(folder)
    rows = table(results(page_of(pages, folder)), "Outcome")
    assert len(rows) == len(summary["results"])
    first = summary["results"][0]
    assert rows[0][3] == with_interval(first["estimate"], *first["ci"])

    folder = shipped_run("harmonization_ablation")
    summary = metrics(folder)
    section = results(page_of(pages, folder))
    arms = table(section, "Arm")
    assert [r[0] for r in arms] == list(summary["arms"])
    assert spread(summary["delta"]["rho1_test_folds"]) in section
    changes = table(section, "Change with harmonization")
    test = summary["delta"]["auroc_test"]  # the calibrated change first, with its p
    assert changes[0][0].startswith("ΔAUROC combined over folds")
    assert changes[0][1] == f"{interval(test['estimate'], test['ci'])}; p = {test['p']:.3g}"
    pooled = [r for r in changes if "pooled" in r[0]]
    assert pooled and "descriptive" in pooled[0][0] and changes.index(pooled[0]) > 0
    # the calibrated change leads the page, the arms' descriptive means follow
    assert section.index("Change with harmonization") < section.index("| Arm |")

    folder = shipped_run("pca_dimension_search")
    summary = metrics(folder)
    section = results(page_of(pages, folder))
    nested = summary["nested_auroc"]["fold_combined"]
    assert (f"Nested cross-validation AUROC {interval(nested['estimate'], nested['ci'])} "
            "(combined over the outer folds, 95% CI)") in section
    rows = table(section, "Components")
    # the calibrated nested AUROC leads, the descriptive curve follows
    assert section.index("Nested cross-validation AUROC") < section.index("| Components |")
    chosen = [r for r in rows if "chosen" in r[3]]
    assert [int(r[0]) for r in chosen] == [summary["chosen_dim"]]
    assert [int(r[0]) for r in rows] == [c["dim"] for c in summary["curve"]]


def test_figures_have_captions_in_reading_order(pages: dict[str, str]) -> None:
    folder = shipped_run("prediction_baselines")
    text = page_of(pages, folder)
    figures = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)\n\*Figure (\d+)\. ([^*]+)\*", text)
    names = [Path(src).name for _, src, _, _ in figures]
    assert names[:2] == ["roc_logistic.png", "roc_hgb.png"]
    assert [int(n) for _, _, n, _ in figures] == list(range(1, len(figures) + 1))
    assert all(alt == caption and len(caption) > 20 for alt, _, _, caption in figures)


def test_numbers_that_are_labels_are_not_quantities(pages: dict[str, str]) -> None:
    folder = shipped_run("prediction_baselines")
    text = page_of(pages, folder)
    seed = yaml.safe_load((folder / "run.yaml").read_text())["seed"]
    assert f"| Seed | {seed} |" in text and f"{seed:,}" not in text
    assert "| 263,112 |" in text  # file sizes are a quantity (rows are withheld: totals rule)
    papers = pages["registry/papers.md"]
    assert re.search(r"\| 20\d\d \|", papers) and not re.search(r"2,0\d\d", papers)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    for part in ("kb", "configs"):
        shutil.copytree(REPO / part, root / part)
    return root


def _drop(value: object, keys: set[str]) -> object:
    if isinstance(value, dict):
        return {k: _drop(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_drop(v, keys) for v in value]
    return value


@pytest.mark.parametrize("drop", [
    {"sd"}, {"pooled"}, {"comparisons", "escalation"}, {"modes"}, {"genes"}, {"curve"},
    {"arms"}, {"mean", "median"}, {"summary"}, {"ci", "bootstrap_ci", "delta"},
])
def test_runs_missing_keys_still_render(kb_copy: Path, drop: set[str]) -> None:
    for path in kb_copy.glob("kb/runs/*/metrics.yaml"):
        data = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump(_drop(data, drop)))
    pages = generate(kb_copy, validate=False).pages
    for folder in kb_copy.glob("kb/runs/*/"):
        assert "## Results" in pages[f"registry/runs/{folder.name}.md"]


def test_small_arm_is_suppressed_in_the_results(kb_copy: Path) -> None:
    folder = next(p.parent for p in kb_copy.glob("kb/runs/*/metrics.yaml")
                  if "prediction" in p.parent.name)
    data = yaml.safe_load((folder / "metrics.yaml").read_text())
    data["summary"]["arms"]["brain"]["n_subjects"] = 8
    (folder / "metrics.yaml").write_text(yaml.safe_dump(data))
    text = generate(kb_copy, validate=False).pages[f"registry/runs/{folder.name}.md"]
    rows = table(results(text), "Arm")
    brain = [r for r in rows if r[0] == "brain"]
    assert brain and all(r[2] == "&lt;10" for r in brain)
    assert all(cell == "suppressed" for r in brain for cell in r[3:])
    assert all("suppressed" not in cell for r in rows if r[0] != "brain" for cell in r)


def test_unknown_method_falls_back_to_the_headline(kb_copy: Path) -> None:
    folder = next(kb_copy.glob("kb/runs/*cca*/"))
    run = yaml.safe_load((folder / "run.yaml").read_text())
    run["method"] = "my_lab_method"
    (folder / "run.yaml").write_text(yaml.safe_dump(run))
    text = generate(kb_copy, validate=False).pages[f"registry/runs/{folder.name}.md"]
    rows = table(results(text), "Result")
    assert sorted(r[0] for r in rows) == sorted(run["headline"])


def test_method_templates_are_overridable(kb_copy: Path) -> None:
    overrides = kb_copy / "templates" / "results"  # templates live inside the KB
    overrides.mkdir(parents=True)
    (overrides / "cca_permutation.md.j2").write_text(
        "Our CCA layout: {{ results.modes|length }} modes.\n")
    pages = generate(kb_copy, templates_dir=kb_copy / "templates", validate=False).pages
    folder = next(kb_copy.glob("kb/runs/*cca*/"))
    assert "Our CCA layout: 5 modes." in pages[f"registry/runs/{folder.name}.md"]


@pytest.mark.parametrize("value,key,shown", [
    (2025, "year", "2025"), (20261121, "seed", "20261121"), (20261121, None, "20261121"),
    (42, "random_state", "42"), (3, "summary.modes.2.mode", "3"), (512, "chosen_dim", "512"),
    (2000, "n_subjects", "2,000"), (131072, "context_length", "131,072"),
    (12465641, "bytes", "12,465,641"), (1999, "n_permutations", "1,999"),
    (0.68505, "auroc", "0.6851"), (3.753e-07, "delong_p", "3.8\u00a0×\u00a010⁻⁷"),
    (8.0e-04, "rho", "0.0008"), (3.2e-05, "rho", "3.2\u00a0×\u00a010⁻⁵"), (0.0499, "q", "0.050"),
    (1234.56, "bytes_per_s", "1,235"), (2000.0, "n_subjects", "2,000"), (True, "x", "yes"),
    ([2025, 2026], "year", "2025, 2026"), ("<10", "n_cases", "&lt;10"),
])
def test_number_formats(value: object, key: str | None, shown: str) -> None:
    from kbtools.site.numbers import fmt

    assert fmt(value, key) == shown


def test_views_read_the_newer_metric_shapes() -> None:
    """Keys written by newer methods: fold-combined AUROCs and gains, pooled (descriptive)
    intervals, ECE floors, one CCA permutation test on all subjects, a harmonization test with
    its method; and the keys of runs written before the fold-combined AUROC."""
    from kbtools.site import results as r

    pred = r.prediction_baselines({
        "arms": {"gene": {"n_subjects": 2000, "models": {"logistic": {
            "auroc": {"fold_combined": {"estimate": 0.695, "ci": [0.66, 0.73]},
                      "mean": 0.69, "sd": 0.02, "pooled": 0.683, "pooled_ci95": [0.657, 0.709]},
            "ece": {"mean": 0.04, "sd": 0.01, "pooled": 0.036, "pooled_if_calibrated": 0.016}}}}},
        "comparisons": [
            {"model": "hgb", "fusion": "fusion_late", "single": "gene",
             "fold_test": {"method": "hartung_knapp", "estimate": 0.01, "ci": [-0.01, 0.03],
                           "ci_level": 0.9, "p": 0.21, "n_folds": 8}},
            {"model": "logistic", "fusion": "fusion_late", "single": "gene",
             "difference_pooled": 0.062, "pooled_bootstrap_ci": [0.038, 0.085],
             "pooled_delong_z": 4.83, "pooled_delong_p": 1.4e-06,
             "fold_test": {"method": "hartung_knapp", "estimate": 0.05, "ci": [0.02, 0.08],
                           "ci_level": 0.9, "p": 0.0033, "n_folds": 8}}],
        "escalation": {"escalate": True, "test": "hartung_knapp", "p": 0.0033, "alpha": 0.05,
                       "fusion": "fusion_late", "model": "logistic", "decided_by": "gene",
                       "statement": "fusion wins"}})
    row = pred["rows"][0]
    assert (row["auroc"].value, row["auroc"].low, row["auroc"].high) == (0.695, 0.66, 0.73)
    pooled = row["pooled"]["auroc"]
    assert (pooled.value, pooled.low, pooled.high) == (0.683, 0.657, 0.709)
    assert row["folds"]["auroc"].sd == 0.02
    assert row["ece_floor"] == 0.016 and pred["has_ece_floor"]
    first = pred["comparisons"][0]  # the verdict's comparison first
    assert (first["model"], first["primary"], first["gain"].value, first["gain"].low) == (
        "logistic", True, 0.05, 0.02)
    assert (first["delong_z"], first["delong_p"], first["fold_test"], first["fold_p"]) == (
        4.83, 1.4e-06, "hartung_knapp", 0.0033)
    assert first["difference"].value == 0.062 and pred["gain_level"] == "90%"
    assert pred["verdict"]["decided_by"] == "gene" and pred["verdict"]["p"] == 0.0033
    keys = {m.label: m for m in r.key_metrics("prediction_baselines", pred)}
    assert keys["Escalation p"].value == 0.0033 and keys["Escalation p"].is_p
    assert keys["AUROC gain over gene"].value.value == 0.05
    assert keys["AUROC gene · logistic"].value.value == 0.695  # fold-combined, not pooled

    old = r.prediction_baselines({  # a run written before fold-combined AUROCs
        "arms": {"gene": {"models": {"logistic": {"auroc": {"pooled": 0.683}}}}},
        "comparisons": [{"model": "logistic", "fusion": "fusion_late", "single": "gene",
                         "difference": 0.062, "bootstrap_ci": [0.038, 0.085],
                         "fold_test": {"method": "hartung_knapp", "p": 0.0033}}],
        "escalation": {"escalate": True, "best_single": "gene", "p": 0.0033}})
    assert old["rows"][0]["auroc"] is None and old["rows"][0]["pooled"]["auroc"].value == 0.683
    assert old["comparisons"][0]["difference"].low == 0.038
    assert old["comparisons"][0]["gain"] is None and not old["has_gain"]
    assert old["verdict"]["decided_by"] == "gene"

    cca = r.cca_permutation({"n_permutations": 999, "test": {"n_subjects": 2000,
                                                               "null_rho1_q95": 0.44},
                             "modes": [{"mode": 1, "rho_all_subjects": 0.816,
                                        "rho_in_sample": {"mean": 0.81, "sd": 0.007},
                                        "rho_out_of_sample": {"mean": 0.77, "sd": 0.03},
                                        "p_fwer": 0.001, "significant": True}]})
    mode = cca["modes"][0]
    assert mode["rho_all"].value == 0.816 and mode["p_fwer"].value == 0.001
    assert cca["has_all"] and cca["has_significant"] and not cca["has_folds"]
    assert cca["test_subjects"] == 2000

    harm = r.harmonization_ablation({"delta": {"auroc_pooled": 0.008,
                                               "bootstrap_ci": [0.0003, 0.016],
                                               "auroc_test": {"method": "hartung_knapp",
                                                              "p": 0.81}}})
    assert harm["tests"] == [("auroc test p (hartung_knapp)", 0.81)]
    assert harm["deltas"][0]["value"].low == 0.0003  # an older run: pooled only
    harm = r.harmonization_ablation({"delta": {
        "auroc_test": {"method": "hartung_knapp", "estimate": 0.001, "ci": [-0.004, 0.006],
                       "p": 0.7}, "auroc_pooled": 0.008, "pooled_bootstrap_ci": [0.0003, 0.016]}})
    assert harm["tests"] == [] and harm["deltas"][0]["p"] == 0.7
    assert (harm["deltas"][0]["value"].value, harm["deltas"][1]["value"].low) == (0.001, 0.0003)
