"""Every interval and p-value a run prints is either calibrated (with a row in the calibration
suite) or labelled descriptive in the run file itself (``summary.inference``), and headlines
carry calibrated numbers only.

The methods run on small cohorts of the suite's generator; the check walks every key of their
summaries, so a new interval or p-value added without a label fails here.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

#: Keys holding an interval, a p- or q-value or a test statistic.
INFERENTIAL = re.compile(r"^(?:p|q|ci\d*|z)$|^p_|_p$|_z$|(?:^|_)ci\d*$|^ci_")


def _paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every leaf (list items of scalars are one leaf: an interval)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return [p for i, v in enumerate(value) for p in _paths(v, f"{path}.{i}")]
    return [path]


def covered(path: str, pattern: str) -> bool:
    """``pattern`` (dotted; ``*`` one segment, ``a|b`` alternatives, globs within a segment)
    matches ``path`` or one of its parents."""
    parts, pats = path.split("."), pattern.split(".")
    return len(parts) >= len(pats) and all(
        any(fnmatchcase(part, alt) for alt in pat.split("|"))
        for part, pat in zip(parts, pats, strict=False))


#: Where the calibration suite measures each calibrated quantity: decision keys of
#: caldecisions.py whose call reads it.
MEASURED_BY = {
    "modes.*.p_fwer|significant": ["cca_mode1", "cca_mode2"],
    "arms.*.models.*.auroc.fold_combined": ["auroc_gene", "auroc_fusion", "auroc_early_5fold",
                                            "hgb_auroc_gene_5fold"],
    "comparisons.*.fold_test": ["fusion_vs_gene", "gain_below", "hgb_fusion_vs_gene_5fold",
                                "early_vs_gene_5fold", "boundary_vs_gene"],
    "escalation": ["escalation", "escalation_5fold", "boundary_escalation"],
    "delta.auroc_test": ["harmonization"],
    "nested_auroc.fold_combined": ["pca_nested"],
    "results.*.p|ci": ["partial_single", "partial_single_ci"],
    "results.*.q|significant": ["partial_phq9", "partial_mdd"],
    "genes.*.p_corrected_t|q|significant": ["logo"],
}
STUDIES = ["cca_null", "prediction_5fold", "harmonization", "pca", "partial", "logo"]


def _run(study_key: str) -> Any:
    import caldecisions as cal

    study = cal.BY_KEY[study_key]
    res, _ = cal.result(study, study.planted.but(n=300), 1)
    return res


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return {key: _run(key) for key in STUDIES}


@pytest.mark.parametrize("key", STUDIES)
def test_every_printed_interval_and_p_value_is_labelled(results: dict[str, Any],
                                                        key: str) -> None:
    summary = results[key].summary
    inference = summary["inference"]
    labelled = [*inference["calibrated"], *inference["descriptive"]]
    printed = [p for p in _paths(summary) if not p.startswith("inference.")
               and INFERENTIAL.search(p.rsplit(".", 1)[-1])]
    assert printed  # the walk finds the run's intervals and p-values
    unlabelled = [p for p in printed if not any(covered(p, pat) for pat in labelled)]
    assert unlabelled == []
    both = [p for p in printed if any(covered(p, c) for c in inference["calibrated"])
            and any(covered(p, d) for d in inference["descriptive"])]
    assert both == []  # nothing is both


@pytest.mark.parametrize("key", STUDIES)
def test_calibrated_quantities_have_calibration_rows(results: dict[str, Any], key: str) -> None:
    import caldecisions as cal

    for pattern in results[key].summary["inference"]["calibrated"]:
        rows = MEASURED_BY[pattern]
        assert rows and all(r in {d.key for d in cal.DECISIONS} for r in rows), pattern
        checks = {d.check for d in cal.DECISIONS if d.key in rows}
        assert checks <= {"exact", "at_most"}, pattern  # measured as tests, not references


def test_every_method_is_checked() -> None:
    """A method added to the registry without a study here would print unchecked numbers."""
    import caldecisions as cal

    from kbtools.experiments.methods import METHOD_MODULES

    assert {cal.BY_KEY[key].method for key in STUDIES} == set(METHOD_MODULES)


def test_headlines_carry_calibrated_numbers(results: dict[str, Any]) -> None:
    pred = results["prediction_5fold"]
    verdict = pred.summary["escalation"]
    decisive = [c for c in pred.summary["comparisons"] if c["fusion"] == verdict["fusion"]
                and c["model"] == verdict["model"] and c["single"] == verdict["decided_by"]]
    assert pred.headline == {"escalate": verdict["escalate"], "escalation_p": verdict["p"],
                             "fusion_gain": decisive[0]["fold_test"]["estimate"]}
    harm = results["harmonization"]
    test = harm.summary["delta"]["auroc_test"]
    assert (harm.headline["delta_auroc"], harm.headline["delta_auroc_p"]) == (
        test["estimate"], test["p"])
    cca = results["cca_null"]
    assert cca.headline["p1_fwer"] == cca.summary["modes"][0]["p_fwer"]
    pca = results["pca"]
    assert pca.headline["nested_auroc"] == pca.summary["nested_auroc"]["fold_combined"][
        "estimate"]


def test_logo_calls_from_an_uncalibrated_test_are_labelled_descriptive() -> None:
    from kbtools.experiments.methods.logo_gene_attribution import inference

    for test in ("delong", "wilcoxon"):
        labels = inference(test)
        assert labels["calibrated"] == {}
        assert any(covered("genes.3.q", pat) for pat in labels["descriptive"])


def test_comparisons_by_an_uncalibrated_test_are_labelled_descriptive() -> None:
    from kbtools.experiments.methods.prediction_baselines import DEFAULTS, inference

    assert DEFAULTS["comparison_test"] == "corrected_t"
    for test in ("hartung_knapp", "fixed_effect"):
        labels = inference(test)
        assert "comparisons.*.fold_test" not in labels["calibrated"]
        assert any(covered("comparisons.0.fold_test.p", pat) for pat in labels["descriptive"])
        assert any(covered("escalation.p", pat) for pat in labels["descriptive"])
    assert "comparisons.*.fold_test" in inference("corrected_t")["calibrated"]


def test_pattern_matching() -> None:
    assert covered("comparisons.3.fold_test.ci", "comparisons.*.fold_test")
    assert covered("arms.gene.models.hgb.auprc.pooled_ci95", "arms.*.models.*.*.pooled|pooled_ci95")
    assert not covered("arms.gene.models.hgb.auroc.fold_combined.ci",
                       "arms.*.models.*.*.pooled|pooled_ci95")
    assert covered("comparisons.0.pooled_delong_p", "comparisons.*.*_pooled|pooled_delong_*")
    assert not covered("comparisons", "comparisons.*.fold_test")
