"""Figures a person can read on a 1280 px page (kbtools.experiments.figures): every method's
figures are drawn at most 880 px wide with no text under 8 pt (12 px), whatever the plotting
code asked for; each says what its intervals are; calibration and harmonization figures carry
error bars checked against independent formulas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.container import ErrorbarContainer
from scipy import stats

from kbtools.experiments import disclosure, figures
from kbtools.experiments.methods.cca_permutation import _loadings_figure, _null_figure
from kbtools.experiments.methods.harmonization_ablation import _figure as harmonization_figure
from kbtools.experiments.methods.logo_gene_attribution import _figure as logo_figure
from kbtools.experiments.methods.partial_correlations import _figure as partial_figure
from kbtools.experiments.methods.pca_dimension_search import _figure as pca_figure
from kbtools.experiments.methods.prediction_baselines import _Arms, _plot

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[2]
#: The run page's content column at a 1280 px window (Material, no side TOC).
CONTENT_PX = 938


def _shown(**kw: Any) -> disclosure.Shown:
    return disclosure.Shown(**kw)


def _prediction(kind: str) -> Any:
    rng = np.random.default_rng(0)
    n = 600
    ids = pd.Index([f"s{i}" for i in range(n)])
    y = pd.Series((rng.uniform(size=n) < 0.3).astype(int), index=ids)
    arms = _Arms(ids)
    summary: dict[str, Any] = {"arms": {}}
    for arm, shift in (("gene", 0.8), ("brain", 0.5), ("fusion_late", 1.0)):
        prob = 1 / (1 + np.exp(-(rng.normal(size=n) + shift * (2 * y.to_numpy() - 1) - 1)))
        arms.add(arm, "logistic", ids, prob)
        summary["arms"][arm] = {"models": {"logistic": {
            "auroc": {"pooled": 0.7, "pooled_ci95": [0.65, 0.75]},
            "auprc": {"pooled": 0.45, "pooled_ci95": [0.4, 0.5]}, "ece": {"pooled": 0.05}}}}
    return _plot(arms, y, {"calibration_bins": 10}, summary, "logistic", kind)(_shown())


def _partial() -> Any:
    rows = []
    for k, axis in enumerate(("cca1_gene", "cca1_brain", "cca2_gene", "cca2_brain")):
        for stat in ("pearson", "spearman"):
            rows.append({"axis": axis, "outcome": "phq9", "statistic": stat,
                         "estimate": 0.02 * k, "ci": [0.02 * k - 0.04, 0.02 * k + 0.04],
                         "significant": False})
        rows.append({"axis": axis, "outcome": "mdd", "statistic": "odds_ratio_per_sd",
                     "estimate": 0.86, "ci": [0.77, 0.98], "significant": False})
    return partial_figure(rows, _shown(), 0.95)


def _loadings() -> Any:
    rng = np.random.default_rng(1)
    names = [f"lh_superior_temporal_thickness_roi_{i:02d}" for i in range(40)]
    frames = [pd.DataFrame(rng.uniform(-1, 1, size=(40, 5)), index=names,
                           columns=[f"mode{m}" for m in range(1, 6)]) for _ in range(5)]
    return _loadings_figure("brain", frames, "__", _shown())


def _harmonization() -> Any:
    rng = np.random.default_rng(2)
    rows = [{"fold": k + 1, "n_train": 1600, "n_test": 400,
             **{f"{m}__{arm}": rng.uniform(0.5, 0.8) for m in ("rho1_test", "auroc")
                for arm in ("none", "combat")}} for k in range(5)]
    return harmonization_figure(rows, ["none", "combat"], _shown())


def _logo() -> Any:
    rng = np.random.default_rng(3)
    genes = [f"GENE{i}" for i in range(38)]
    delta = rng.normal(0.001, 0.004, size=(10, 38))
    rows = [{"gene": g, "significant": i < 2, "q": 0.01 if i < 2 else 0.9}
            for i, g in enumerate(genes[:10])]
    return logo_figure(rows, delta, genes, 0.25, 0.05, "corrected_t", _shown(), list(range(10)))


def _pca() -> Any:
    rng = np.random.default_rng(4)
    dims = [2, 4, 8, 16, 32, 64, 128]
    outer = rng.uniform(0.6, 0.7, size=(8, len(dims)))
    return pca_figure(dims, outer, 8, _shown(), list(rng.uniform(0.6, 0.7, size=8)))


FIGURES = {
    "roc": lambda: _prediction("roc"), "pr": lambda: _prediction("pr"),
    "calibration": lambda: _prediction("calibration"),
    "null_distributions": lambda: _null_figure(np.random.default_rng(5).uniform(0.3, 0.5, 999),
                                               np.array([0.8, 0.6, 0.1]), 0.05),
    "loadings": _loadings, "partial_correlations": _partial,
    "harmonization_ablation": _harmonization, "logo_delta_auc": _logo,
    "pca_dimension_curve": _pca,
}
#: Words each figure uses to say what its intervals are (or that it has none).
INTERVALS = {
    "roc": "95% CI", "pr": "descriptive, no intervals", "calibration": "95% Wilson interval",
    "null_distributions": "no intervals", "loadings": "no intervals",
    "partial_correlations": "95% CI", "harmonization_ablation": "95% CI",
    "logo_delta_auc": "95% CI", "pca_dimension_curve": "standard error",
}


def _all_text(fig: Any) -> str:
    return " ".join(t.get_text() for t in figures.texts(fig))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_method_figure_is_readable_on_a_1280_px_page(name: str, tmp_path: Path) -> None:
    fig = FIGURES[name]()
    target = tmp_path / f"{name}.png"
    figures.save(fig, target)
    from PIL import Image

    with Image.open(target) as image:
        width, _ = image.size
    smallest = figures.smallest_text_of(target)
    assert smallest is not None
    displayed = min(width, CONTENT_PX)  # one figure per row, never scaled up
    assert smallest * displayed / width >= 10, (name, smallest, width)
    assert width <= figures.MAX_WIDTH_IN * figures.DPI + 1
    assert INTERVALS[name] in _all_text(fig), (name, _all_text(fig))
    assert figures.clipped_texts(fig) == [], name  # no title or label cut off at the edge


@settings(max_examples=30, deadline=None)
@given(width=st.floats(min_value=2.0, max_value=20.0), height=st.floats(2.0, 10.0),
       sizes=st.lists(st.floats(min_value=1.0, max_value=30.0), min_size=1, max_size=6))
def test_any_figure_is_saved_readable(width: float, height: float, sizes: list[float]) -> None:
    """Whatever sizes the plotting code picks, the saved PNG keeps the rule."""
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    for k, size in enumerate(sizes):
        ax.text(0.1, 0.1 * k, f"label {k}", fontsize=size)
    ax.set_title("title", fontsize=sizes[0])
    ax.tick_params(labelsize=sizes[-1])
    buffer = io.BytesIO()
    figures.save(fig, buffer)
    buffer.seek(0)
    with Image.open(buffer) as image:
        shown_width = image.size[0]
        smallest = float(image.info[figures.SMALLEST_TEXT_KEY])
    assert shown_width <= figures.MAX_WIDTH_IN * figures.DPI + 1
    assert smallest >= figures.MIN_FONT_PT * figures.DPI / 72 - 0.001


def test_calibration_bars_are_wilson_intervals() -> None:
    fig = _prediction("calibration")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3  # one per arm
    for container in bars:
        line = container.lines[0]
        xs, ys = line.get_xdata(), line.get_ydata()
        segments = container.lines[2][0].get_segments()
        assert len(segments) == len(xs) >= 2
        for y, segment in zip(ys, segments, strict=True):
            low, high = sorted(segment[:, 1])
            assert low <= y <= high and high - low > 0


def test_wilson_interval_matches_scipy() -> None:
    from kbtools.experiments.methods.prediction_baselines import wilson_interval

    cases, n = np.array([3, 12, 40, 0]), np.array([20, 30, 41, 15])
    low, high = wilson_interval(cases, n)
    for k, m, lo, hi in zip(cases, n, low, high, strict=True):
        ref = stats.binomtest(int(k), int(m)).proportion_ci(0.95, method="wilson")
        assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_harmonization_bars_are_corrected_resampled_intervals() -> None:
    fig = _harmonization()
    ax = fig.axes[0]
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segment = bars.lines[2][0].get_segments()[0]
    low, high = sorted(segment[:, 1])
    rng = np.random.default_rng(2)  # the same values _harmonization drew
    values = [[rng.uniform(0.5, 0.8) for _ in range(4)] for _ in range(5)]
    arm = np.array([row[0] for row in values])  # rho1_test__none of each fold
    half = stats.t.ppf(0.975, 4) * np.sqrt((1 / 5 + 400 / 1600) * arm.var(ddof=1))
    assert (low, high) == pytest.approx((arm.mean() - half, arm.mean() + half), rel=1e-9)
    assert "corrected resampled t" in fig._suptitle.get_text()


def test_partial_figure_says_why_an_interval_clear_of_the_null_is_not_significant() -> None:
    fig = _partial()
    note = " ".join(fig._supxlabel.get_text().split())
    assert "Benjamini–Hochberg" in note and "excludes the null" in note
    assert "not significant after BH correction" in _all_text(fig)
    # the shipped case: an odds ratio whose interval excludes 1, not significant
    or_ax = fig.axes[1]
    assert or_ax.get_xscale() == "log"


def test_shipped_run_figures_are_readable() -> None:
    """Every figure of the runs shipped in kb/runs/ was saved by the rule."""
    from PIL import Image

    pngs = sorted((REPO / "kb" / "runs").glob("*/*.png"))
    assert pngs
    for png in pngs:
        with Image.open(png) as image:
            width = image.size[0]
        smallest = figures.smallest_text_of(png)
        assert smallest is not None, png
        assert smallest * min(width, CONTENT_PX) / width >= 10, (png, smallest, width)
