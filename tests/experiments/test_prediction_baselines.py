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
    lo, hi = late["bootstrap_ci"]
    assert lo <= late["difference"] <= hi
    verdict = res.summary["escalation"]
    assert verdict["fusion"] == "fusion_late" and verdict["model"] == "logistic"
    # the synthetic MDD liability has independent gene and brain parts: fusion must win
    assert verdict["auroc_fusion"] > verdict["auroc_best_single"]
    # the verdict is the intersection-union of the one-sided fold-combined tests
    by_single = {c["single"]: c for c in res.summary["comparisons"]
                 if c["model"] == "logistic" and c["fusion"] == "fusion_late"}
    assert verdict["p"] == max(c["fold_test"]["p"] for c in by_single.values())
    assert verdict["escalate"] is (verdict["p"] <= 0.05) and verdict["escalate"]
    assert verdict["test"] == "hartung_knapp" and verdict["alternative"] == "greater"
    for c in by_single.values():
        assert len(c["fold_differences"]) == 3 == c["fold_test"]["n_folds"]
    assert res.headline["escalate"] == verdict["escalate"]
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
