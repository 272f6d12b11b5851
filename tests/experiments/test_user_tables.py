"""Tables shaped like a UK Biobank user's (issue 11, defects 3 and 7; issue 10, bad input).

``eid``-keyed tables with a ``centre`` column, 7-digit ids, NaNs, extra columns, CSV and
Parquet (see ukb_like.py): the configured site column is used everywhere, the id column can be
named, ``--dry-run`` refuses what a run would refuse, missing values follow a stated policy,
and every shipped config runs on them through the CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ukb_like

from kbtools.cli import main
from kbtools.errors import DataError
from kbtools.experiments.cohort import load_cohort, read_table
from kbtools.experiments.cv import group_column, outer_folds, resolve_columns, site_column
from kbtools.experiments.methods._common import RoleFeaturizer
from kbtools.yamlio import load_file

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ["01_cca_gene_smri", "02_prediction_baselines", "03_logo_gene_attribution",
           "04_partial_correlations", "05_harmonization_ablation",
           "06_smri_pca_dimension_search"]


def _kb(root: Path) -> Path:
    (root / "kb" / "datasets").mkdir(parents=True)
    (root / "kb" / "runs").mkdir()
    shutil.copy(REPO / "kb" / "datasets" / "synthetic_cohort.yaml", root / "kb" / "datasets")
    shutil.copytree(REPO / "configs", root / "configs")
    return root


@pytest.fixture(scope="module")
def ukb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """(KB root, role -> table outside the KB) with 300 UKB-shaped subjects."""
    base = tmp_path_factory.mktemp("ukb")
    return _kb(base / "kb_root"), ukb_like.write_tables(base / "secure", n=300)


def _config(name: str, *overrides: str) -> dict:
    from kbtools.experiments.runner import apply_overrides

    config = load_file(REPO / "configs" / "experiments" / f"{name}.yaml")
    return resolve_columns(apply_overrides(config, list(overrides)))


def _data_args(data: dict[str, Path], roles: list[str]) -> list[str]:
    return [a for r in roles for a in ("--data", f"{r}={data[r]}")]


# ---------------------------------------------------------------------------------------------
# defect 3: one site column


def test_group_by_centre_is_the_site_column_everywhere(ukb) -> None:
    root, data = ukb
    config = _config("02_prediction_baselines", *ukb_like.COLUMN_OVERRIDES)
    assert site_column(config) == group_column(config) == "centre"
    cohort = load_cohort(config, root, data, id_columns={"*": "eid"})
    assert "site" not in cohort.subjects.columns
    feat = RoleFeaturizer(cohort, "brain", config["preprocessing"]).fit(
        cohort.blocks["brain"].index[:200])
    assert feat.pipeline_.named_steps["residualize"].site_column == "centre"
    centre = cohort.subjects["centre"].to_numpy()
    for train, test in outer_folds(cohort, config["cv"], config["outcome"], 1):
        assert not set(centre[train]) & set(centre[test])


def test_a_table_with_site_and_centre_uses_the_configured_one_and_says_so(
        ukb, tmp_path: Path) -> None:
    root, data = ukb
    subjects = pd.read_csv(data["subjects"])
    subjects["site"] = np.where(subjects.index % 2 == 0, "A", "B")  # a stale, coarser column
    path = tmp_path / "subjects_two_site_columns.csv"
    subjects.to_csv(path, index=False)
    config = _config("06_smri_pca_dimension_search", *ukb_like.COLUMN_OVERRIDES)
    cohort = load_cohort(config, root, {"subjects": path, "brain": data["brain"]},
                         id_columns={"*": "eid"})
    assert any("'centre'" in n and "'site' column is not used" in n for n in cohort.notes)
    feat = RoleFeaturizer(cohort, "brain", config["preprocessing"]).fit(
        cohort.blocks["brain"].index[:200])
    residualizer = feat.pipeline_.named_steps["residualize"]
    assert residualizer.site_column == "centre" and len(residualizer.site_levels_) > 2


def test_site_column_can_differ_from_the_fold_groups(ukb) -> None:
    config = resolve_columns({"preprocessing": {"site_column": "centre"},
                              "cv": {"group_by": "family"}})
    assert site_column(config) == "centre" and group_column(config) == "family"
    root, data = ukb
    config = _config("06_smri_pca_dimension_search", *ukb_like.COLUMN_OVERRIDES,
                     "preprocessing.site_column=centre", "cv.group_by=sex",
                     "cv.scheme=group_kfold", "cv.n_splits=2")
    cohort = load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]})
    assert "folds are grouped by 'sex' (cv.group_by) while site effects use 'centre' " \
        "(preprocessing.site_column)" in cohort.notes
    config = resolve_columns({"preprocessing": {"site_column": "centre"}, "cv": {}})
    assert config["cv"]["group_by"] == "centre"


# ---------------------------------------------------------------------------------------------
# defect 7: id columns, outcomes, dry run, missing values


def test_eid_is_found_without_configuration_and_said(ukb) -> None:
    root, data = ukb
    config = _config("06_smri_pca_dimension_search", *ukb_like.COLUMN_OVERRIDES)
    cohort = load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]})
    assert {s["id_column"] for s in cohort.sources.values()} == {"eid"}
    assert any("joined on its 'eid' column" in n for n in cohort.notes)
    assert all(len(i) == 7 and i.isdigit() for i in cohort.subjects.index)


def test_explicit_id_column_must_exist(ukb) -> None:
    root, data = ukb
    config = _config("06_smri_pca_dimension_search", *ukb_like.COLUMN_OVERRIDES)
    with pytest.raises(DataError, match=r"no id column 'participant'") as exc:
        load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]},
                    id_columns={"subjects": "participant"})
    assert "--id-column" in exc.value.hint


def test_parquet_float_ids_join_csv_integer_ids(tmp_path: Path) -> None:
    ids = pd.Series([1234567.0, 2345678.0, np.nan])
    pd.DataFrame({"eid": ids.iloc[:2], "x": [1.0, 2.0]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"eid": [1234567, 2345678], "y": [3, 4]}).to_csv(tmp_path / "b.csv",
                                                                   index=False)
    a = read_table(tmp_path / "a.parquet", None)
    b = read_table(tmp_path / "b.csv", None)
    assert list(a.index) == list(b.index) == ["1234567", "2345678"]


def test_dry_run_refuses_missing_outcomes_of_config_04(ukb, capsys) -> None:
    root, data = ukb
    cfg = root / "configs" / "experiments" / "04_partial_correlations.yaml"
    args = ["--kb-root", str(root), "run-experiment", str(cfg), "--quiet", "--dry-run",
            *_data_args(data, ["subjects", "gene", "brain"]),
            *[a for o in ukb_like.COLUMN_OVERRIDES for a in ("--set", o)]]
    assert main(args) == 1  # the table has phq9_total, not phq9
    err = capsys.readouterr().err
    assert "'phq9' (continuous outcome)" in err and "phq9_total" in err
    fixed = ["--set", "params.outcomes=[{column: phq9_total, type: continuous}, "
                      "{column: mdd_lifetime, type: binary}]"]
    assert main(args + fixed) == 0
    assert "fold 1: train" in capsys.readouterr().out
    by_item = ["--set", "params.outcomes.0.column=phq9_total",
               "--set", "params.outcomes.1.column=mdd_lifetime"]
    assert main(args + by_item) == 0
    assert main([*args, "--set", "params.outcomes.5.column=x"]) == 2
    assert "index 5 does not exist" in capsys.readouterr().err


def test_dry_run_refuses_what_the_method_would(ukb, capsys) -> None:
    root, data = ukb
    cfg = root / "configs" / "experiments" / "03_logo_gene_attribution.yaml"
    args = ["--kb-root", str(root), "run-experiment", str(cfg), "--quiet", "--dry-run",
            *_data_args(data, ["subjects", "gene"]),
            *[a for o in ukb_like.COLUMN_OVERRIDES for a in ("--set", o)]]
    assert main(args) == 1  # the shipped gene pattern GENE__eNN does not fit emb_GENE_N
    assert "gene_pattern" in capsys.readouterr().err
    assert main([*args, "--set", f"params.gene_pattern={ukb_like.GENE_PATTERN}"]) == 0


def test_missing_values_are_listed_with_counts_by_default(ukb, tmp_path: Path) -> None:
    root, data = ukb
    config = _config("06_smri_pca_dimension_search", "cv.group_by=centre",
                     "outcome=mdd_lifetime", "cv.stratify_by=mdd_lifetime")
    with pytest.raises(DataError, match=r"have a missing value .*'icv' \(6\)") as exc:
        load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]})
    assert "incomplete_subjects: drop" in exc.value.hint
    complete = tmp_path / "complete_subjects.csv"
    pd.read_csv(data["subjects"]).dropna(subset=["icv"]).to_csv(complete, index=False)
    brain = pd.read_csv(data["brain"]).set_index("eid")
    partial = brain[brain.notna().any(axis=1)].isna().sum()
    worst = partial.idxmax()
    with pytest.raises(DataError, match=rf"missing value\(s\) in {(partial > 0).sum()} "
                                        rf"column\(s\).*'{worst}' \({partial.max()}\)") as exc:
        load_cohort(config, root, {"subjects": complete, "brain": data["brain"]})
    assert "preprocessing.impute: median" in exc.value.hint


def test_drop_and_impute_policies_are_counted(ukb) -> None:
    root, data = ukb
    config = _config("06_smri_pca_dimension_search", *ukb_like.COLUMN_OVERRIDES)
    cohort = load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]})
    inv = cohort.inventory
    raw = pd.read_csv(data["subjects"])
    assert inv["dropped_incomplete"] == int(raw["icv"].isna().sum())
    assert inv["n_subjects"] == len(raw) - inv["dropped_incomplete"]
    brain = inv["roles"]["brain"]
    assert brain["empty_rows"] == 8 and brain["imputed_values"] > 0
    assert cohort.blocks["brain"].isna().to_numpy().any()  # left for the fold-safe imputer
    config["preprocessing"]["impute"] = "none"
    dropped = load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]})
    assert dropped.inventory["roles"]["brain"]["incomplete_rows"] > 0
    assert not dropped.blocks["brain"].isna().to_numpy().any()


def test_imputation_is_fit_on_the_training_fold_only(ukb) -> None:
    root, data = ukb
    config = _config("06_smri_pca_dimension_search", *ukb_like.COLUMN_OVERRIDES)
    cohort = load_cohort(config, root, {"subjects": data["subjects"], "brain": data["brain"]})
    block = cohort.blocks["brain"]
    train, test = block.index[:150], block.index[150:]
    feat = RoleFeaturizer(cohort, "brain", config["preprocessing"], pca=False).fit(train)
    imputer = feat.pipeline_.named_steps["impute"]
    assert np.allclose(imputer.statistics_, block.loc[train].median().to_numpy())
    assert not np.allclose(imputer.statistics_, block.median().to_numpy())
    assert np.isfinite(feat.transform(test)).all()


# ---------------------------------------------------------------------------------------------
# bad input says what the file is


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda p: p.write_bytes(b""), r"empty \(0 bytes\)"),
    (lambda p: p.write_text("eid,age\n"), r"header \(2 column\(s\)\) but no rows"),
    (lambda p: p.write_text("\n\n"), r"no header row"),
    (lambda p: p.mkdir(), r"a directory, not a table file"),
])
def test_unusable_table_files_say_what_they_are(tmp_path: Path, make, pattern) -> None:
    path = tmp_path / "subjects.csv"
    make(path)
    with pytest.raises(DataError, match=pattern):
        read_table(path, None)


def test_delimiter_mismatches_are_named(tmp_path: Path) -> None:
    tsv = tmp_path / "subjects.tsv"
    tsv.write_text("eid,age\n1234567,50\n")
    with pytest.raises(DataError, match=r"has commas and no tabs: it is a comma-separated"):
        read_table(tsv, None)
    csv_ = tmp_path / "subjects.csv"
    csv_.write_text("eid\tage\n1234567\t50\n")
    with pytest.raises(DataError, match=r"has tabs and no commas: it is a tab-separated"):
        read_table(csv_, None)
    good = tmp_path / "good.tsv"
    good.write_text("eid\tage\n1234567\t50\n")
    assert read_table(good, None).loc["1234567", "age"] == 50
    fake = tmp_path / "t.parquet"
    fake.write_text("eid,age\n1,2\n")
    with pytest.raises(DataError, match="not a Parquet file"):
        read_table(fake, None)


# ---------------------------------------------------------------------------------------------
# every shipped config on these tables, through the CLI


SMALL = {
    "01_cca_gene_smri": ["params.n_permutations=19"],
    "02_prediction_baselines": ["params.n_boot=100", "params.hgb.max_iter=5",
                                "params.C_grid=[0.01, 1.0]", "cv.n_splits=5"],  # 6 centres
    "03_logo_gene_attribution": [f"params.gene_pattern={ukb_like.GENE_PATTERN}",
                                 "params.C_grid=[0.01, 1.0]"],
    "04_partial_correlations": ["params.outcomes=[{column: phq9_total, type: continuous}, "
                                "{column: mdd_lifetime, type: binary}]"],
    "05_harmonization_ablation": ["params.n_boot=100", "params.C_grid=[0.01, 1.0]",
                                  "cv.n_splits=5"],
    "06_smri_pca_dimension_search": [],
}


@pytest.mark.parametrize("name", CONFIGS)
def test_every_shipped_config_runs_on_ukb_shaped_tables(ukb, name: str) -> None:
    root, data = ukb
    config = load_file(REPO / "configs" / "experiments" / f"{name}.yaml")
    roles = list(config["data"])
    sets = [*ukb_like.COLUMN_OVERRIDES, *SMALL[name]]
    before = set((root / "kb" / "runs").iterdir())
    code = main(["--kb-root", str(root), "run-experiment",
                 str(root / "configs" / "experiments" / f"{name}.yaml"), "--quiet",
                 *_data_args(data, roles), "--id-column", "eid",
                 *[a for o in sets for a in ("--set", o)]])
    assert code == 0
    (run,) = set((root / "kb" / "runs").iterdir()) - before
    log = load_file(run / "run.yaml")
    assert {i["id_column"] for i in log["inputs"]} == {"eid"}
    assert all("path" not in i for i in log["inputs"])
    assert str(data["subjects"].parent) not in (run / "run.yaml").read_text()
    used = load_file(run / "config_used.yaml")
    assert used["preprocessing"]["site_column"] == "centre"
    assert [f for f in log["files"] if f.endswith(".png")], "no figure was drawn"
    assert not [w for w in log["warnings"] if "was not drawn" in w]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_only_the_columns_a_run_needs_are_read(tmp_path, fmt) -> None:
    """A UK Biobank-style table has thousands of columns; the run reads its own few (and the
    header, for messages), whatever else the file holds."""
    import pandas as pd

    from kbtools.experiments.cohort import read_table

    wide = pd.DataFrame({"eid": [1000001, 1000002, 1000003], "centre": [11, 11, 12],
                         "age": [50.0, 61.0, 70.0]})
    for j in range(300):
        wide[f"f{j}-0.0"] = ["text"] * 3 if j % 2 else [j, j, j]
    path = tmp_path / f"subjects.{fmt}"
    wide.to_csv(path, index=False) if fmt == "csv" else wide.to_parquet(path, index=False)
    seen: list[list[str]] = []

    def keep(header: list[str]) -> list[str]:
        seen.append(header)
        return ["age", "centre"]

    df = read_table(path, "eid", keep=keep)
    assert sorted(df.columns) == ["age", "centre"] and list(df.index) == ["1000001", "1000002",
                                                                          "1000003"]
    assert df.attrs["header"] == [c for c in wide.columns if c != "eid"]
    assert seen and "f299-0.0" in seen[0]
    full = read_table(path, "eid")
    assert full.shape[1] == wide.shape[1] - 1
