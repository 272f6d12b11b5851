"""The display-time disclosure guard: no cell from fewer than 10 subjects."""

from __future__ import annotations

import pytest

from kbtools.site import disclosure as d


@pytest.mark.parametrize("key", ["n", "n_test", "n_train", "subjects", "n_subjects", "rows",
                                 "n_cases", "sample_size", "summary.n_controls"])
def test_subject_counts_are_recognised(key: str) -> None:
    assert d.is_subject_count(key)


@pytest.mark.parametrize("key", ["n_features", "n_components", "n_permutations", "n_sites",
                                 "fold", "feature_count", "rho1", "p_mode1", "auc",
                                 "n_modes_significant", "n_significant_genes"])
def test_other_keys_are_not_subject_counts(key: str) -> None:
    assert not d.is_subject_count(key)


def test_small_counts_show_as_less_than_minimum() -> None:
    assert d.guard_cell("n_test", 9) == "<10"
    assert d.guard_cell("n_test", 0) == "<10"
    assert d.guard_cell("n_test", 10) == 10
    assert d.guard_cell("n_test", 7, minimum=5) == 7
    assert d.guard_cell("n_features", 3) == 3


def test_row_with_small_sample_suppresses_its_metrics_but_keeps_labels() -> None:
    row = d.guard_row({"fold": 2, "arm": "gene", "n_test": 8, "auc": 0.71, "n_features": 4})
    assert row == {"fold": 2, "arm": "gene", "n_test": "<10", "auc": d.SUPPRESSED,
                   "n_features": 4}


def test_small_subgroup_does_not_suppress_the_row() -> None:
    row = d.guard_row({"n_test": 500, "n_missing": 4, "auc": 0.71})
    assert row == {"n_test": 500, "n_missing": "<10", "auc": 0.71}


def test_small_outcome_class_suppresses_the_row() -> None:
    # 4 cases beside an AUPRC: a constant score's AUPRC is the case fraction (issue 10)
    row = d.guard_row({"n_test": 500, "n_cases": 4, "auprc": 0.008})
    assert row == {"n_test": 500, "n_cases": "<10", "auprc": d.SUPPRESSED}
    row = d.guard_row({"fold": 1, "n_test": 30, "n_test_controls": 9, "auc": 0.6})
    assert row["auc"] == d.SUPPRESSED and row["fold"] == 1


def test_listed_null_and_marked_values_are_suppressed() -> None:
    listed = d.suppressed_names(["per_fold[1].auc", "summary.delta_auc", {"key": "ece"}])
    assert listed == {"per_fold.1.auc", "summary.delta_auc", "ece"}
    assert d.guard_cell("auc", 0.7, listed=listed, path="per_fold.1.auc") == d.SUPPRESSED
    assert d.guard_cell("auc", 0.7, listed=listed, path="per_fold.0.auc") == 0.7
    assert d.guard_cell("ece", 0.1, listed=listed, path="summary.gene.ece") == d.SUPPRESSED
    assert d.guard_cell("auc", None) == d.SUPPRESSED
    assert d.guard_cell("auc", "withheld") == d.SUPPRESSED
    assert d.guard_cell("auc", {"suppressed": True}) == d.SUPPRESSED


def test_guard_tree_applies_row_rule_per_nested_mapping() -> None:
    tree = {"gene": {"n_test": 500, "auc": 0.6},
            "tiny_site": {"n_test": 6, "auc": 0.9, "ci": [0.8, 1.0]},
            "per_arm": [{"arm": "a", "n": 3, "r": 0.2}]}
    out = d.guard_tree(tree)
    assert out["gene"] == {"n_test": 500, "auc": 0.6}
    assert out["tiny_site"] == {"n_test": "<10", "auc": d.SUPPRESSED, "ci": d.SUPPRESSED}
    assert out["per_arm"] == [{"arm": "a", "n": "<10", "r": d.SUPPRESSED}]


def test_small_run_suppresses_everything_numeric() -> None:
    assert d.small(d.total_subjects({"n_subjects": 9}))
    out = d.guard_tree({"rho1": 0.4, "mode": 1}, small_parent=True)
    assert out == {"rho1": d.SUPPRESSED, "mode": 1}


def test_headline_counts_of_results_are_not_mistaken_for_subjects() -> None:
    # A run headline reports how many modes or genes were significant: not a subject count,
    # so it must neither show as "<10" nor suppress the row's other numbers.
    row = d.guard_row({"rho1_out_of_sample": 0.6, "n_modes_significant": 2})
    assert row == {"rho1_out_of_sample": 0.6, "n_modes_significant": 2}
    row = d.guard_row({"auroc_full": 0.67, "n_significant_genes": 2, "n_test": 9})
    assert row == {"auroc_full": d.SUPPRESSED, "n_significant_genes": 2, "n_test": "<10"}
