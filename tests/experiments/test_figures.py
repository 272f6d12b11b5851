"""Figures a lab meeting can use (issue 13), that never lose a run (issue 10), that obey the
small-cell rule."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kbtools.cli import main
from kbtools.experiments import disclosure
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.methods.cca_permutation import _null_figure, hist_bins
from kbtools.experiments.methods.logo_gene_attribution import _figure as logo_figure
from kbtools.experiments.methods.logo_gene_attribution import corrected_t_interval
from kbtools.experiments.methods.partial_correlations import _figure as partial_figure
from kbtools.experiments.methods.prediction_baselines import (
    _Arms,
    _plot,
    average_precision_weighted,
    merged_bins,
)
from kbtools.yamlio import load_file

matplotlib.use("Agg")


def _shown(**kw) -> disclosure.Shown:
    return disclosure.Shown(**kw)


# ---------------------------------------------------------------------------------------------
# runs fail early, and a plot never loses a run


def test_constant_null_draws_instead_of_too_many_bins() -> None:
    null = np.full(99, 1.0) - np.arange(99) * 1e-17  # every permuted rho ~1 (p+q >= n)
    with pytest.raises(ValueError, match="Too many bins"):
        np.histogram(null, bins=30)
    bins, span = hist_bins(null)
    assert np.histogram(null, bins=bins, range=span)[0].sum() == 99
    fig = _null_figure(null, np.array([1.0, 1.0]), 0.05)  # one test on all subjects
    fig.savefig(Path("/dev/null"), format="png")


def test_cca_too_wide_for_the_cohort_is_refused_before_computing(tmp_path: Path, kb_factory,
                                                                  capsys) -> None:
    cfg = kb_factory(tmp_path, n_subjects=600, pca_gene=512, pca_brain=512)
    args = ["--kb-root", str(tmp_path), "run-experiment", str(cfg), "--quiet"]
    assert main([*args, "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "CCA cannot be estimated in outer fold 1" in err
    assert "every canonical correlation is 1" in err and "preprocessing.pca" in err
    assert main(args) == 1
    assert list((tmp_path / "kb" / "runs").iterdir()) == []


def test_a_failing_figure_is_reported_and_the_run_kept(small_kb, monkeypatch) -> None:
    root, cfg = small_kb

    def method(cohort, config, ctx):
        def broken(shown):
            raise ValueError("Too many bins for data range")

        def fine(shown):
            from kbtools.experiments.methods._common import new_figure

            fig = new_figure()
            fig.subplots().plot([0, 1], [0, 1])
            return fig

        return MethodResult(summary={"rho": 0.3}, per_fold=[{"fold": 1, "n_test": 60}],
                            headline={"rho": 0.3}, counts={"n_subjects": 300},
                            figures={"broken.png": broken, "fine.png": fine})

    monkeypatch.setattr("kbtools.experiments.methods.get_method", lambda name: method)
    assert main(["--kb-root", str(root), "run-experiment", str(cfg), "--quiet"]) == 0
    (run,) = (root / "kb" / "runs").iterdir()
    log = load_file(run / "run.yaml")
    assert (run / "fine.png").is_file() and not (run / "broken.png").exists()
    assert "fine.png" in log["files"] and "broken.png" not in log["files"]
    assert any("broken.png was not drawn (ValueError: Too many bins" in w
               for w in log["warnings"])


# ---------------------------------------------------------------------------------------------
# partial correlations: correlations and odds ratios on separate axes with their own nulls


def _results() -> list[dict]:
    out = []
    for axis in ("cca1_gene", "cca2_gene"):
        for stat in ("pearson", "spearman"):
            out.append({"axis": axis, "outcome": "phq9", "statistic": stat, "estimate": 0.2,
                        "ci": [0.1, 0.3], "significant": True, "n_subjects": 400})
        out.append({"axis": axis, "outcome": "mdd", "statistic": "odds_ratio_per_sd",
                    "estimate": 1.5, "ci": [1.2, 1.9], "significant": False,
                    "n_subjects": 400, "n_cases": 100, "n_controls": 300})
    return out


def test_partial_figure_splits_correlations_and_odds_ratios() -> None:
    fig = partial_figure(_results(), _shown(), 0.95)
    corr_ax, or_ax = fig.axes
    assert "null: 0" in corr_ax.get_xlabel() and "null: 1" in or_ax.get_xlabel()
    assert or_ax.get_xscale() == "log"
    assert [ln.get_xdata()[0] for ln in corr_ax.lines if ln.get_linestyle() == "--"] == [0.0]
    assert [ln.get_xdata()[0] for ln in or_ax.lines if ln.get_linestyle() == "--"] == [1.0]
    assert len(corr_ax.get_yticklabels()) == 4 and len(or_ax.get_yticklabels()) == 2
    assert "null at 1" not in (fig._suptitle.get_text() if fig._suptitle else "")


def test_partial_figure_leaves_out_withheld_results() -> None:
    shown = _shown(hidden_summary={"summary.results[2]", "summary.results[5]"})
    fig = partial_figure(_results(), shown, 0.95)
    assert len(fig.axes) == 1  # both odds ratios withheld: no odds-ratio panel
    assert "2 withheld" in fig._suptitle.get_text()


# ---------------------------------------------------------------------------------------------
# ROC / PR / calibration


def _arms(n: int = 400, seed: int = 0) -> tuple[_Arms, pd.Series, dict]:
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"s{i}" for i in range(n)])
    y = pd.Series((rng.uniform(size=n) < 0.25).astype(int), index=ids)
    arms = _Arms(ids)
    summary = {"arms": {}}
    for arm, shift in (("gene", 0.8), ("brain", 0.5)):
        prob = 1 / (1 + np.exp(-(rng.normal(size=n) + shift * (2 * y.to_numpy() - 1) - 1)))
        arms.add(arm, "logistic", ids, prob)
        summary["arms"][arm] = {"models": {"logistic": {
            "auroc": {"pooled": 0.68, "pooled_ci95": [0.63, 0.73],
                      "fold_combined": {"estimate": 0.7, "ci": [0.65, 0.75]}},
            "auprc": {"pooled": 0.45, "pooled_ci95": [0.4, 0.5]},
            "ece": {"pooled": 0.05}}}}
    return arms, y, summary


def test_roc_and_pr_legends_carry_calibrated_numbers_and_pr_has_prevalence() -> None:
    """The ROC legend quotes the fold-combined AUROC and its 95% interval (calibrated), never
    the pooled one; the PR legend's pooled AP is labelled descriptive, without an interval."""
    arms, y, summary = _arms()
    p = {"calibration_bins": 10}
    roc = _plot(arms, y, p, summary, "logistic", "roc")(_shown())
    labels = [t.get_text() for t in roc.axes[0].get_legend().get_texts()]
    assert "Gene: AUROC 0.700 (0.650-0.750)" in labels
    assert not any("0.680" in label or "0.630" in label for label in labels)
    assert "AUROC over folds, 95% CI (corrected resampled t)" in roc.axes[0].get_title()
    assert "pooled out-of-fold curves (descriptive)" in roc.axes[0].get_title()
    pr = _plot(arms, y, p, summary, "logistic", "pr")(_shown())
    labels = [t.get_text() for t in pr.axes[0].get_legend().get_texts()]
    assert "Brain: AP 0.450" in labels and not any("0.400" in label for label in labels)
    assert "descriptive, no intervals" in pr.axes[0].get_title()
    prevalence = [ln for ln in pr.axes[0].lines if ln.get_linestyle() == ":"]
    assert len(prevalence) == 1
    assert prevalence[0].get_ydata()[0] == pytest.approx(y.mean(), abs=1e-3)


def test_roc_legend_without_enough_folds_says_pooled() -> None:
    arms, y, summary = _arms()
    for arm in summary["arms"].values():
        arm["models"]["logistic"]["auroc"]["fold_combined"] = {
            "method": "hartung_knapp", "estimate": float("nan"), "n_folds": 1}
    roc = _plot(arms, y, {"calibration_bins": 10}, summary, "logistic", "roc")(_shown())
    labels = [t.get_text() for t in roc.axes[0].get_legend().get_texts()]
    assert "Gene: AUROC 0.680 (pooled; too few folds to combine)" in labels


def test_curves_skip_thresholds_with_a_small_confusion_cell() -> None:
    arms, y, summary = _arms()
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    roc = _plot(arms, y, {"calibration_bins": 10}, summary, "logistic", "roc")(_shown())
    curves = [ln for ln in roc.axes[0].lines if ln.get_linestyle() == "-"]
    assert len(curves) == 2
    for line in curves:
        tp = np.rint(np.asarray(line.get_ydata()) * n_pos)
        fp = np.rint(np.asarray(line.get_xdata()) * n_neg)
        assert tp.min() >= 10 and fp.min() >= 10
        assert (n_pos - tp).min() >= 10 and (n_neg - fp).min() >= 10
    pr = _plot(arms, y, {"calibration_bins": 10}, summary, "logistic", "pr")(_shown())
    for line in [ln for ln in pr.axes[0].lines if ln.get_linestyle() == "-"]:
        assert np.rint(np.asarray(line.get_xdata()) * n_pos).min() >= 10  # recall * cases


def test_arms_too_small_for_any_point_are_named_not_drawn() -> None:
    arms, y, summary = _arms(n=60, seed=4)  # about 15 cases: no threshold has 10 on each side
    assert 10 <= y.sum() < 20
    for kind in ("roc", "pr"):
        fig = _plot(arms, y, {"calibration_bins": 10}, summary, "logistic", kind)(_shown())
        ax = fig.axes[0]
        assert not [ln for ln in ax.lines if ln.get_linestyle() == "-"]
        (note,) = [t.get_text() for t in ax.texts if "not drawn (" in t.get_text()]
        assert "Gene:" in note and "Brain:" in note


def test_roc_leaves_out_a_withheld_arm_and_says_so() -> None:
    arms, y, summary = _arms()
    fig = _plot(arms, y, {"calibration_bins": 10}, summary, "logistic", "roc")(
        _shown(hidden_summary={"summary.arms.brain"}))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert not any(lab.startswith("Brain") for lab in labels)
    assert any("withheld" in t.get_text() and "Brain" in t.get_text() for t in fig.axes[0].texts)


def test_calibration_points_hold_at_least_10_cases_and_controls() -> None:
    rng = np.random.default_rng(3)
    p = rng.beta(1, 4, 600)
    y = (rng.uniform(size=600) < p).astype(int)
    points = merged_bins(y, p, 10, 10)
    assert sum(n for _, _, n in points) == 600 and len(points) >= 3
    for _, fraction, n in points:
        cases = round(fraction * n)
        assert cases >= 10 and n - cases >= 10
    idx = np.clip((p * 10).astype(int), 0, 9)
    assert ((idx == 9) & (y == 0)).sum() < 10  # a raw top bin would show a small class


def test_weighted_average_precision_matches_scikit_learn() -> None:
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(5)
    y = (rng.uniform(size=300) < 0.3).astype(int)
    p = np.round(rng.uniform(size=300) + 0.4 * y, 2)  # ties included
    idx = rng.integers(0, 300, size=(20, 300))
    weights = np.stack([np.bincount(i, minlength=300) for i in idx]).astype(float)
    ours = average_precision_weighted(y, p, weights)
    ref = [average_precision_score(y[i], p[i]) for i in idx]
    assert np.allclose(ours, ref, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# LOGO


def test_logo_bars_follow_the_runs_ranking_with_corrected_t_intervals() -> None:
    """One ranking: the bars are in the order of the run's table (``rows``, by mean ΔAUC
    over all folds), the first on top, even when hidden folds would reorder the means."""
    rng = np.random.default_rng(2)
    genes = ["A", "B", "C", "D"]
    delta = rng.normal(0, 0.004, size=(10, 4)) + np.array([0.001, 0.02, -0.002, 0.01])
    order = np.argsort(-delta.mean(axis=0))  # the run's rank: mean over all folds
    rows = [{"gene": genes[i], "significant": genes[i] == "B",
             "q": 0.01 if genes[i] == "B" else 0.5} for i in order]
    fig = logo_figure(rows, delta, genes, 0.25, 0.05, "corrected_t", _shown(), list(range(10)))
    ax = fig.axes[0]
    shown = [t.get_text().split()[0] for t in ax.get_yticklabels()][::-1]  # top first
    assert shown == [r["gene"] for r in rows]
    lo, hi = corrected_t_interval(delta[:, 1], 0.25)
    # the oracle: mean ± t(0.975, J-1) * sqrt((1/J + ratio) * var)
    d = delta[:, 1]
    half = stats.t.ppf(0.975, 9) * np.sqrt((1 / 10 + 0.25) * d.var(ddof=1))
    assert (lo, hi) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-12)
    from matplotlib.container import ErrorbarContainer

    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars.lines[2][0].get_segments()) == 4  # one interval per gene
    assert "95% CI (corrected resampled t)" in ax.get_xlabel()
    assert "ranked by" in ax.get_title() and "results table" in ax.get_title()
    hidden = logo_figure(rows, delta, genes, 0.25, 0.05, "corrected_t",
                         _shown(hidden_folds={1, 2}), list(range(10)))
    assert "8 distinct folds" in hidden.axes[0].get_xlabel()
    assert [t.get_text().split()[0] for t in hidden.axes[0].get_yticklabels()][::-1] == \
        [r["gene"] for r in rows]
    # a repeat that copied the first five folds: bars and intervals over the five only
    copied = np.vstack([delta[:5], delta[:5]])
    once = logo_figure(rows, copied, genes, 0.25, 0.05, "corrected_t", _shown(), [0, 1, 2, 3, 4])
    assert "5 distinct folds" in once.axes[0].get_xlabel()
    want = sorted(copied[:5].mean(axis=0))
    assert sorted(bar.get_width() for bar in once.axes[0].patches) == pytest.approx(want)
