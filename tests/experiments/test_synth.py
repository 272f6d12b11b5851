"""The synthetic cohort: deterministic, documented truth, and the planted coupling is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kbtools.cli import main
from kbtools.experiments import synth
from kbtools.experiments.permutation import stepwise_permutation_test
from kbtools.experiments.preprocessing import build_pipeline, nuisance_design
from kbtools.yamlio import load_file


def test_deterministic_and_shaped_like_the_card() -> None:
    a = synth.generate(n_subjects=400, n_sites=4, seed=3)
    b = synth.generate(n_subjects=400, n_sites=4, seed=3)
    c = synth.generate(n_subjects=400, n_sites=4, seed=4)
    pd.testing.assert_frame_equal(a.gene_embeddings, b.gene_embeddings)
    assert not np.allclose(a.smri_rois.to_numpy(), c.smri_rois.to_numpy())
    assert a.gene_embeddings.shape == (400, 38 * 16)
    assert [f"SOD2__e{d:02d}" for d in range(16)] == list(a.gene_embeddings.columns[:16])
    assert a.smri_rois.shape[1] == 176 and "lh_superiorfrontal_thickness" in a.smri_rois
    assert {"site", "age", "sex", "icv", "gpc10", "mdd", "phq9"} <= set(a.subjects.columns)
    assert a.subjects["site"].nunique() == 4
    assert 0.1 < a.subjects["mdd"].mean() < 0.4
    assert a.ground_truth["synthetic"] is True
    assert "SOD2" in a.ground_truth["mdd"]["genes"]


def test_missing_fraction_drops_rows_per_modality() -> None:
    c = synth.generate(n_subjects=400, n_sites=4, seed=1, missing_fraction=0.25)
    assert 50 < 400 - len(c.gene_embeddings) < 150
    assert c.ground_truth["missing"]["gene_embeddings"] == 400 - len(c.gene_embeddings)


def test_cli_writes_tables_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cohort"
    args = ["synth-cohort", str(out), "--n-subjects", "200", "--n-sites", "4"]
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gene_embeddings.csv", "ground_truth.yaml", "smri_rois.csv",
                     "subjects.csv"]
    truth = load_file(out / "ground_truth.yaml")
    assert truth["params"]["n_subjects"] == 200
    before = (out / "subjects.csv").read_bytes()
    assert main(args) == 2
    assert "already exist" in capsys.readouterr().err
    assert (out / "subjects.csv").read_bytes() == before


def test_parquet_output_can_replace_a_role(small_kb, tmp_path: Path) -> None:
    from kbtools.experiments.cohort import load_cohort

    root, cfg = small_kb
    out = tmp_path / "pq"
    assert main(["synth-cohort", str(out), "--n-subjects", "300", "--n-sites", "5",
                 "--seed", "1", "--format", "parquet"]) == 0
    cohort = load_cohort(load_file(cfg), root, {"brain": out / "smri_rois.parquet"})
    assert cohort.sources["brain"]["path"].endswith("smri_rois.parquet")
    assert not cohort.sources["brain"]["generated"]
    assert cohort.blocks["brain"].shape == (300, 176)


def test_planted_coupling_is_found_and_names_the_planted_genes() -> None:
    c = synth.generate(n_subjects=1200, n_sites=6, seed=2)
    pre = {"covariates": ["age", "sex", "icv"], "site_onehot": True,
           "pca": {"gene": 40, "brain": 30}}
    ids = c.subjects.index
    px = build_pipeline("gene", pre, c.subjects).fit(c.gene_embeddings)
    py = build_pipeline("brain", pre, c.subjects).fit(c.smri_rois)
    x, y = px.transform(c.gene_embeddings), py.transform(c.smri_rois)
    res = stepwise_permutation_test(x.to_numpy(), y.to_numpy(), 99, n_modes=3,
                                    nuisance=nuisance_design(px, ids), seed=1)
    assert res.p_fwer[0] <= 0.01 and res.p_fwer[1] <= 0.01  # both planted modes
    assert res.p_fwer[2] > 0.05                               # nothing beyond them
    # the genes driving mode 1 are the planted mode-1 genes
    from kbtools.experiments.cca import fit_cca

    fit = fit_cca(x.to_numpy(), y.to_numpy(), 2)
    u, _ = fit.transform(x.to_numpy(), y.to_numpy())
    resid = px[:-1].transform(c.gene_embeddings)
    corr = np.abs(np.corrcoef(np.column_stack([resid.to_numpy(), u[:, 0]]),
                              rowvar=False)[-1, :-1])
    per_gene = pd.Series(corr, index=resid.columns).groupby(lambda s: s.split("__")[0]).max()
    top = set(per_gene.sort_values(ascending=False).index[:4])
    planted = {g for mode in synth.MODE_GENES for g in mode}
    assert len(top & planted) >= 3, top
