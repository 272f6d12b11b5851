"""Tables shaped like a UK Biobank user's export, written by the tests themselves.

Random content of our own (not :mod:`kbtools.experiments.synth`): what matters is the shape a
real user's tables have and the shipped generator never produces:

* keyed by ``eid``, 7-digit participant ids, in a different row order in every table;
* the site is an assessment-centre code in a ``centre`` column (no ``site`` column), and the
  outcome columns are named ``mdd_lifetime`` and ``phq9_total``;
* extra columns the configs do not use (text, dates, a numeric column full of NaN);
* missing values: a few covariate values, sporadic feature values, imaging rows that are all
  NaN (no scan), subjects without a gene or imaging row, and rows of withdrawn participants
  who are not in the subjects table;
* gene embedding columns named ``emb_<GENE>_<dim>`` (not ``GENE__eNN``).

The planted signal is modest (a gene-brain mode, MDD from two genes and one brain factor,
centre offsets on imaging), enough for every method to have something to find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CENTRES = (11025, 11026, 11027, 11028, 11009, 11010)
GENES = ("SOD2", "FKBP5", "BDNF", "NEGR1", "TCF4", "DCC", "COMT", "APOE")
DIMS = 4
ROIS = tuple(f"{h}_{kind}_{region}" for h in ("lh", "rh") for kind in ("thk", "vol")
             for region in ("amygdala", "hippocampus", "insula", "cuneus", "precuneus",
                            "fusiform", "entorhinal"))
GENE_PATTERN = r"^emb_(?P<gene>[A-Z0-9]+)_\d+$"


def make_tables(n: int = 420, seed: int = 3) -> dict[str, pd.DataFrame]:
    """subjects, genes and imaging tables (``eid`` as a column, as exported)."""
    rng = np.random.default_rng(seed)
    eid = rng.choice(np.arange(1_000_000, 6_000_000), size=n, replace=False)
    centre = np.array(CENTRES)[np.arange(n) % len(CENTRES)]
    rng.shuffle(centre)
    age = rng.uniform(45, 80, n).round(1)
    sex = rng.integers(0, 2, n)
    icv = rng.normal(1_500_000 + 80_000 * sex, 90_000).round(0)
    latent = rng.normal(size=n)  # the gene-brain mode
    gene_score = {g: rng.normal(size=n) for g in GENES}
    genes = {}
    for g in GENES:
        direction = rng.normal(size=DIMS)
        direction /= np.linalg.norm(direction)
        signal = gene_score[g] + (0.9 * latent if g in ("BDNF", "TCF4") else 0.0)
        for d in range(DIMS):
            genes[f"emb_{g}_{d}"] = signal * direction[d] + rng.normal(size=n)
    brain_factor = rng.normal(size=n)
    offsets = {c: rng.normal(scale=0.6, size=len(ROIS)) for c in CENTRES}
    imaging = {}
    for j, roi in enumerate(ROIS):
        value = rng.normal(size=n) + 0.02 * (age - 60) + np.array([offsets[c][j] for c in centre])
        if "hippocampus" in roi or "entorhinal" in roi:
            value += 0.8 * latent
        if "amygdala" in roi or "insula" in roi:
            value += 0.7 * brain_factor
        imaging[roi] = 3.0 + 0.5 * value if "thk" in roi else 4000 + 600 * value
    liability = -1.1 + 0.9 * gene_score["SOD2"] + 0.7 * gene_score["FKBP5"] + 0.8 * brain_factor
    mdd = (rng.uniform(size=n) < 1 / (1 + np.exp(-liability))).astype(int)
    phq9 = np.clip(np.round(4 + 5 * mdd + 2.5 * rng.normal(size=n)), 0, 27).astype(int)
    subjects = pd.DataFrame({
        "eid": eid, "centre": centre, "age": age, "sex": sex, "icv": icv,
        "mdd_lifetime": mdd, "phq9_total": phq9,
        "ethnic_background": rng.choice(["British", "Irish", "Any other white", "Indian",
                                         "Caribbean"], n),
        "date_attended": pd.Timestamp("2016-01-01")
        + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
        "townsend_index": np.where(rng.uniform(size=n) < 0.4, np.nan,
                                   rng.normal(-1.5, 3, n).round(2)),
    })
    subjects.loc[rng.choice(n, 6, replace=False), "icv"] = np.nan  # covariate gaps
    gene_df = pd.DataFrame({"eid": eid, **genes})
    brain_df = pd.DataFrame({"eid": eid, **imaging})
    no_gene = rng.uniform(size=n) < 0.05
    no_scan = rng.uniform(size=n) < 0.10
    gene_df = gene_df[~no_gene]
    empty_scan = rng.choice(np.flatnonzero(~no_scan), 8, replace=False)
    brain_df.iloc[empty_scan, 1:] = np.nan  # imaging rows exported with every value empty
    brain_df = brain_df[~no_scan]
    for df in (gene_df, brain_df):  # sporadic failed measurements
        values = df.iloc[:, 1:].to_numpy(copy=True)
        holes = rng.uniform(size=values.shape) < 0.004
        values[holes] = np.nan
        df.iloc[:, 1:] = values
    withdrawn = pd.DataFrame({"eid": rng.choice(np.arange(6_000_000, 6_400_000), 5,
                                                replace=False)})
    gene_df = pd.concat([gene_df, withdrawn.assign(**{c: 0.1 for c in genes})])
    return {"subjects": subjects.sample(frac=1, random_state=1),
            "gene": gene_df.sample(frac=1, random_state=2),
            "brain": brain_df.sample(frac=1, random_state=3)}


def write_tables(folder: Path, *, n: int = 420, seed: int = 3,
                 formats: tuple[str, str, str] = ("csv", "parquet", "csv")) -> dict[str, Path]:
    """Write subjects, gene and brain tables in the given formats; role -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    names = {"subjects": "ukb_subjects", "gene": "gene_embeddings", "brain": "idp_freesurfer"}
    for (role, df), fmt in zip(make_tables(n, seed).items(), formats, strict=True):
        path = folder / f"{names[role]}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
        out[role] = path
    return out


#: ``--set`` overrides that point a shipped config at these tables' column names (and at
#: their 6 centres: site-grouped CV can have at most one fold per centre).
COLUMN_OVERRIDES = (
    "cv.group_by=centre",
    "cv.n_splits=5",
    "outcome=mdd_lifetime",
    "cv.stratify_by=mdd_lifetime",
    "preprocessing.impute=median",
    "preprocessing.incomplete_subjects=drop",
)
