"""Prediction baselines on the synthetic cohort: arms, missing modalities, DeLong, verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbtools.experiments import synth
from kbtools.experiments.cohort import Cohort
from kbtools.experiments.context import RunContext
from kbtools.experiments.cv import outer_folds
from kbtools.experiments.methods.prediction_baselines import _late, run

CV = {"scheme": "stratified_group_kfold", "n_splits": 3, "inner_splits": 2, "group_by": "site"}


def _cohort(n: int = 900, missing: float = 0.1, seed: int = 0) -> Cohort:
    sc = synth.generate(n_subjects=n, n_sites=6, seed=seed, missing_fraction=missing)
    return Cohort(subjects=sc.subjects, blocks={"gene": sc.gene_embeddings,
                                                "brain": sc.smri_rois})


def _config(**params) -> dict:
    return {"outcome": "mdd", "cv": CV,
            "preprocessing": {"zscore": True, "covariates": ["age", "sex", "icv"],
                              "site_onehot": True, "pca": {"gene": 16, "brain": 16}},
            "params": {"C_grid": [0.01, 0.1, 1.0], "n_boot": 200, **params},
            "outputs": {"plots": True}}


@pytest.fixture(scope="module")
def stacked_impute():
    cohort = _cohort()
    cfg = _config(models=["logistic", "hgb"], hgb={"max_iter": 15},
                  fusion={"early": True, "late": "stacked", "missing": "impute"})
    return cohort, cfg, run(cohort, cfg, RunContext(seed=3, progress=False))


def test_arms_use_identical_folds_and_report_subjects(stacked_impute) -> None:
    cohort, cfg, res = stacked_impute
    arms = res.summary["arms"]
    gene, brain = cohort.blocks["gene"].index, cohort.blocks["brain"].index
    assert arms["gene"]["n_subjects"] == len(gene)
    assert arms["brain"]["n_subjects"] == len(brain)
    union = len(gene.union(brain))
    assert arms["fusion_early"]["n_subjects"] == union  # impute: any modality
    assert arms["fusion_late"]["n_subjects"] == union  # late: what each subject has
    folds = outer_folds(cohort, CV, "mdd", 3)
    assert len(res.per_fold) == len(folds)
    for row, (_, te) in zip(res.per_fold, folds, strict=True):
        ids = cohort.subjects.index[te]
        assert row["n_test__gene__logistic"] == ids.isin(gene).sum()
        assert row["n_test__brain__hgb"] == ids.isin(brain).sum()
        assert row["n_test__fusion_late__logistic"] == ids.isin(gene.union(brain)).sum()
        for key in ("auroc", "auprc", "brier", "ece"):
            assert 0 <= row[f"gene__logistic__{key}"] <= 1
    assert res.counts["gene_subjects"] == len(gene)


def test_fusion_beats_single_modalities_on_planted_data(stacked_impute) -> None:
    _, _, res = stacked_impute
    comps = {(c["model"], c["fusion"], c["single"]): c for c in res.summary["comparisons"]}
    assert len(comps) == 2 * 2 * 2
    late = comps[("logistic", "fusion_late", "gene")]
    lo, hi = late["pooled_bootstrap_ci"]  # descriptive: the pooled difference and its bootstrap
    assert lo <= late["difference_pooled"] <= hi
    verdict = res.summary["escalation"]
    assert verdict["fusion"] == "fusion_late" and verdict["model"] == "logistic"
    # the verdict is the intersection-union of the one-sided fold-combined tests
    by_single = {c["single"]: c for c in res.summary["comparisons"]
                 if c["model"] == "logistic" and c["fusion"] == "fusion_late"}
    assert verdict["p"] == max(c["fold_test"]["p"] for c in by_single.values())
    assert verdict["p"] == by_single[verdict["decided_by"]]["fold_test"]["p"]
    assert verdict["escalate"] is (verdict["p"] <= 0.05)
    assert verdict["test"] == "corrected_t" and verdict["alternative"] == "greater"
    for single, c in by_single.items():
        test = c["fold_test"]
        assert len(c["fold_differences"]) == 3 == test["n_folds"]
        # the synthetic MDD liability has independent gene and brain parts: fusion gains;
        # the interval's lower end is the one-sided 5% bound (3 folds: too few to reject here,
        # see test_the_verdict_escalates_with_enough_folds)
        assert test["ci_level"] == pytest.approx(0.90) and test["ci"][0] < test["estimate"]
        assert test["estimate"] > 0 and (test["ci"][0] > 0) is (test["p"] <= 0.05)
        assert verdict["gains"][single] == {k: test[k] for k in ("estimate", "ci", "ci_level",
                                                                  "p")}
    arms = res.summary["arms"]
    fusion = arms["fusion_late"]["models"]["logistic"]["auroc"]["fold_combined"]
    for single in by_single:
        combined = arms[single]["models"]["logistic"]["auroc"]["fold_combined"]
        assert combined["ci"][0] <= combined["estimate"] <= combined["ci"][1]
        assert combined["n_folds"] == 3 and combined["df"] == 2
        assert fusion["estimate"] > combined["estimate"]
    assert res.headline == {"escalate": verdict["escalate"], "escalation_p": verdict["p"],
                            "fusion_gain": verdict["gains"][verdict["decided_by"]]["estimate"]}
    assert "pooled" not in verdict["statement"]
    assert any("fusion_late" in w for w in res.warnings)
    # probabilities that mean what they say: unweighted logistic fits, and ECE near the floor
    # a perfectly calibrated model shows at this size
    assert "unweighted" in res.summary["calibration"]["probabilities"]
    ece = res.summary["arms"]["gene"]["models"]["logistic"]["ece"]
    assert ece["pooled"] < ece["pooled_if_calibrated"] + 0.05
    logistic = res.summary["arms"]["gene"]["models"]["logistic"]
    assert logistic["auroc"]["mean"] > 0.5 and len(logistic["chosen_C"]) == 3
    assert {"roc_logistic.png", "pr_hgb.png", "calibration_logistic.png"} <= set(res.figures)


def test_early_fusion_drop_uses_complete_subjects_only() -> None:
    cohort = _cohort(n=600, missing=0.15, seed=1)
    cfg = _config(models=["logistic"], fusion={"early": True, "late": "average",
                                               "missing": "drop"})
    cfg["preprocessing"]["pca"] = {"gene": 8, "brain": 8}
    res = run(cohort, cfg, RunContext(seed=0, progress=False))
    complete = cohort.complete_ids(["gene", "brain"])
    assert res.summary["arms"]["fusion_early"]["n_subjects"] == len(complete)
    assert res.summary["missing_modality"]["early_fusion"] == "drop"


def test_late_average_uses_the_modalities_a_subject_has() -> None:
    ids = pd.Index(["a", "b", "c"])
    prob = {"gene": pd.Series([0.2, 0.6], index=ids[:2]),
            "brain": pd.Series([0.4, 0.9], index=ids[[0, 2]])}
    out_ids, out = _late(prob, {}, pd.Series([0, 1, 1], index=ids), stacked=False)
    got = dict(zip(out_ids, out, strict=True))
    assert got == pytest.approx({"a": 0.3, "b": 0.6, "c": 0.9})
    assert np.isfinite(out).all()


def test_balanced_class_weights_give_probabilities_at_the_training_odds() -> None:
    """Balanced weights make a logistic model predict for a 50:50 population; the run moves its
    probabilities back (prior correction), so calibration metrics describe real probabilities."""
    cohort = _cohort(n=600, missing=0.0, seed=4)
    cfg = _config(models=["logistic"], class_weight="balanced",
                  fusion={"early": False, "late": "average"})
    res = run(cohort, cfg, RunContext(seed=0, progress=False))
    assert "prior correction" in res.summary["calibration"]["probabilities"]
    gene = res.summary["arms"]["gene"]["models"]["logistic"]
    prevalence = cohort.subjects["mdd"].mean()
    assert prevalence < 0.4  # a 50:50 model would be far off
    assert gene["ece"]["pooled"] < 0.12 and gene["brier"]["pooled"] < 0.25


def _random_fold_test(rng: np.random.Generator, alpha: float) -> dict:
    """A fold-combined test as ``_fold_test`` writes it, anywhere in its range: gains of either
    sign, p at, below and above alpha, untestable comparisons (p NaN)."""
    kind = rng.integers(0, 5)
    if kind == 0:
        return {"method": "hartung_knapp", "p": float("nan"), "n_folds": int(rng.integers(0, 2))}
    est = float(np.round(rng.normal(0, 0.05), 6))
    half = float(np.round(rng.uniform(0.001, 0.08), 6))
    p = {1: alpha, 2: float(rng.uniform(0, alpha))}.get(int(kind), float(rng.uniform(0, 1)))
    return {"method": "hartung_knapp", "estimate": est, "ci": [est - half, est + half],
            "ci_level": 1 - 2 * alpha, "p": float(f"{p:.4g}"), "n_folds": 8}


def test_the_verdict_says_what_was_tested_and_quotes_those_numbers() -> None:
    """Any set of fold-combined tests: the statement names every comparison with its gain,
    interval and p, says "beats" exactly when every p <= alpha, gives the largest p as the
    verdict's, and quotes no pooled number."""
    from kbtools.experiments.methods.prediction_baselines import _verdict

    rng = np.random.default_rng(19)
    for _ in range(400):
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        singles = ["gene", "brain", "behaviour"][:int(rng.integers(1, 4))]
        rows = [{"single": s, "fold_test": _random_fold_test(rng, alpha)} for s in singles]
        v = _verdict(rows, "fusion_late", "logistic", {"alpha": alpha})
        ps = {r["single"]: (1.0 if np.isnan(r["fold_test"]["p"]) else r["fold_test"]["p"])
              for r in rows}
        assert v["p"] == max(ps.values()) and ps[v["decided_by"]] == v["p"]
        assert v["escalate"] is all(p <= alpha for p in ps.values())
        text = v["statement"]
        assert text.startswith("fusion_late (logistic) " + ("beats" if v["escalate"]
                                                             else "does not beat"))
        assert f"the verdict's p is the largest, {v['p']:.4g} (" in text
        assert "pooled" not in text
        for r in rows:
            t = r["fold_test"]
            if np.isnan(t["p"]):
                assert f"over {r['single']}: not tested" in text
                continue
            assert (f"over {r['single']} {t['estimate']:+.3f} ({t['ci_level']:.0%} CI "
                    f"{t['ci'][0]:+.3f} to {t['ci'][1]:+.3f}, p = {t['p']:.4g})") in text


@pytest.mark.parametrize("method", ["hartung_knapp", "fixed_effect", "corrected_t"])
def test_the_gain_interval_agrees_with_its_one_sided_test(method: str) -> None:
    """Whatever the folds say: the lower end of the printed 1 - 2 alpha interval is above 0
    exactly when the one-sided test rejects at alpha (so a statement quoting both cannot
    contradict itself)."""
    from kbtools.experiments.methods.prediction_baselines import _fold_test

    rng = np.random.default_rng(23)
    for _ in range(300):
        k = int(rng.integers(2, 12))
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        var = rng.uniform(1e-5, 2e-3, k) * (rng.uniform(size=k) > 0.05)  # some variance 0
        d = rng.normal(rng.normal(0, 0.03), rng.uniform(0, 0.05), k)
        t = _fold_test(d, var, float(rng.uniform(0.1, 0.3)), method, alpha)
        assert t["ci_level"] == pytest.approx(1 - 2 * alpha) and t["n_folds"] == k
        lo, hi = t["ci"]
        assert lo <= t["estimate"] <= hi
        if abs(lo) > 1e-5 and abs(t["p"] - alpha) > 1e-3 * alpha:  # clear of rounding
            assert (lo > 0) is (t["p"] < alpha)


def test_the_verdict_escalates_with_enough_folds() -> None:
    """Planted independent gene and brain signals, 2,000 subjects in 8 site-grouped folds (the
    shipped config's design): the corrected-t comparisons find the gain over both modalities
    and the verdict escalates, with the interval's lower end above 0."""
    cv = {**CV, "n_splits": 8, "inner_splits": 3}
    cfg = {**_config(models=["logistic"], fusion={"early": False, "late": "average"}),
           "cv": cv, "outputs": {"plots": False}}
    sc = synth.generate(n_subjects=2000, n_sites=8, seed=1, missing_fraction=0.0)
    cohort = Cohort(subjects=sc.subjects, blocks={"gene": sc.gene_embeddings,
                                                  "brain": sc.smri_rois})
    res = run(cohort, cfg, RunContext(seed=1, progress=False))
    verdict = res.summary["escalation"]
    assert verdict["test"] == "corrected_t" and verdict["escalate"] is True
    for gain in verdict["gains"].values():
        assert gain["ci"][0] > 0 and gain["p"] <= 0.05
