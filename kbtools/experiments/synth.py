"""The built-in synthetic cohort: UK Biobank-shaped tables with a planted, documented truth.

Entirely synthetic (random numbers, no real person or measurement behind any row). Three tables:

* ``subjects``: subject_id, site, age, sex (0 female / 1 male), icv (mm^3), gpc01..gpc10
  (genetic principal components), mdd (0/1) and phq9 (0-27);
* ``gene_embeddings``: 38 candidate genes x 16 embedding dimensions, columns ``GENE__e00``..;
* ``smri_rois``: 176 FreeSurfer-like ROI features (cortical thickness and area per hemisphere
  and region, subcortical and global volumes).

Planted truth (returned by :func:`generate` and written to ground_truth.yaml):

* gene-brain coupling through ``n_modes`` latent modes ``z``: each mode loads on a few genes
  (one 16-dim direction per gene) and a few ROIs; population canonical correlations are
  computed exactly from the model's covariance matrices;
* nuisance effects on both modalities: site offsets, a linear age effect, and ICV on areas
  and volumes (sex acts through ICV), all removable by residualizing on age, sex, ICV + site;
* MDD: a logistic liability from a gene signal (independent per-gene scores of the planted
  MDD genes, SOD2 among them) plus a brain signal (a latent factor shown by a few ROIs), so
  fusion of both modalities predicts better than either alone; PHQ-9 follows MDD;
* optional missing modalities: a fraction of subjects lacks each block.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Bump when the generator's output changes, so cached tables are regenerated.
GENERATOR_VERSION = 2
NAME = "synthetic_cohort"

GENES = (
    "SOD2", "BDNF", "SLC6A4", "COMT", "FKBP5", "HTR2A", "NR3C1", "CRHR1", "TPH2", "MTHFR",
    "APOE", "DRD2", "DRD4", "GRIK4", "HTR1A", "MAOA", "NPY", "OXTR", "P2RX7", "CACNA1C",
    "ANK3", "NEGR1", "OLFM4", "LRFN5", "SORCS3", "DCC", "TCF4", "RBFOX1", "PCLO", "SIRT1",
    "LHPP", "GRM5", "CREB1", "GNB3", "IL6", "TNF", "CRP", "SLC6A3",
)
EMBED_DIM = 16
#: Genes whose independent scores raise MDD liability (the LOGO ground truth).
MDD_GENES = ("SOD2", "FKBP5", "NEGR1")
MDD_GENE_BETA = (1.2, 1.0, 0.8)
#: Weight of each MDD gene's own score in its embedding direction.
MDD_SCORE_WEIGHT = 1.5
#: Genes carrying each coupling mode.
MODE_GENES = (("BDNF", "CACNA1C", "TCF4", "DCC"), ("SORCS3", "LRFN5", "RBFOX1"))
MODE_STRENGTH = (0.9, 0.7)

DK_REGIONS = (
    "bankssts", "caudalanteriorcingulate", "caudalmiddlefrontal", "cuneus", "entorhinal",
    "fusiform", "inferiorparietal", "inferiortemporal", "isthmuscingulate", "lateraloccipital",
    "lateralorbitofrontal", "lingual", "medialorbitofrontal", "middletemporal", "parahippocampal",
    "paracentral", "parsopercularis", "parsorbitalis", "parstriangularis", "pericalcarine",
    "postcentral", "posteriorcingulate", "precentral", "precuneus", "rostralanteriorcingulate",
    "rostralmiddlefrontal", "superiorfrontal", "superiorparietal", "superiortemporal",
    "supramarginal", "frontalpole", "temporalpole", "transversetemporal", "insula",
)
SUBCORTICAL = ("thalamus", "caudate", "putamen", "pallidum", "hippocampus", "amygdala",
               "accumbens", "ventraldc", "lateral_ventricle", "cerebellum_cortex")
GLOBAL = ("brainstem_volume", "csf_volume", "third_ventricle_volume", "fourth_ventricle_volume",
          "lh_cerebral_white_matter_volume", "rh_cerebral_white_matter_volume",
          "lh_cortex_volume", "rh_cortex_volume", "total_gray_volume", "supratentorial_volume",
          "lh_mean_thickness", "rh_mean_thickness", "lh_total_area", "rh_total_area",
          "cc_posterior_volume", "cc_mid_posterior_volume", "cc_central_volume",
          "cc_mid_anterior_volume", "cc_anterior_volume", "wm_hypointensities_volume")
#: ROIs showing each coupling mode.
MODE_ROIS = (("lh_hippocampus_volume", "rh_hippocampus_volume", "lh_entorhinal_thickness",
              "rh_entorhinal_thickness", "lh_parahippocampal_thickness"),
             ("lh_superiorfrontal_thickness", "rh_superiorfrontal_thickness",
              "lh_caudalmiddlefrontal_thickness", "rh_rostralmiddlefrontal_thickness"))
#: ROIs showing the latent brain MDD factor.
MDD_ROIS = ("lh_amygdala_volume", "rh_amygdala_volume", "lh_medialorbitofrontal_thickness",
            "rh_medialorbitofrontal_thickness", "lh_rostralanteriorcingulate_thickness",
            "rh_rostralanteriorcingulate_thickness", "lh_insula_thickness", "rh_insula_thickness")
MDD_BRAIN_BETA = 1.2
ANCESTRY = 0.15
MDD_INTERCEPT = -1.5

DEFAULTS: dict[str, Any] = {"n_subjects": 2000, "n_sites": 8, "seed": 0,
                            "missing_fraction": 0.0}


def roi_names() -> list[str]:
    """The 176 sMRI feature names."""
    names = [f"{h}_{r}_{m}" for m in ("thickness", "area") for h in ("lh", "rh")
             for r in DK_REGIONS]
    names += [f"{h}_{s}_volume" for h in ("lh", "rh") for s in SUBCORTICAL]
    return names + list(GLOBAL)


def gene_columns() -> list[str]:
    """``GENE__eNN`` column names, gene-major."""
    return [f"{g}__e{d:02d}" for g in GENES for d in range(EMBED_DIM)]


@dataclass
class SyntheticCohort:
    """The three tables and the planted ground truth."""

    subjects: pd.DataFrame
    gene_embeddings: pd.DataFrame
    smri_rois: pd.DataFrame
    ground_truth: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"subjects": self.subjects, "gene_embeddings": self.gene_embeddings,
                "smri_rois": self.smri_rois}


def _orthonormal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _site_sizes(rng: np.random.Generator, n: int, n_sites: int) -> np.ndarray:
    share = rng.dirichlet(np.full(n_sites, 4.0))
    floor = min(20, n // n_sites)
    sizes = np.floor(share * (n - floor * n_sites)).astype(int) + floor
    sizes[np.argmax(sizes)] += n - sizes.sum()
    return sizes


def _population_cancorr(wg0: np.ndarray, wg_bg: np.ndarray, gene_noise: float,
                        a: np.ndarray, score_var: np.ndarray, b: np.ndarray,
                        brain_factors: np.ndarray, mdd_load: np.ndarray,
                        brain_noise: np.ndarray, k: int) -> list[float]:
    """Exact canonical correlations of the residual (nuisance-free) gene and brain blocks."""
    n_genes = wg0.shape[0]
    p = n_genes * EMBED_DIM
    w0 = np.zeros((p, n_genes))
    for g in range(n_genes):
        w0[g * EMBED_DIM:(g + 1) * EMBED_DIM, g] = wg0[g]
    # genes x genes; the ancestry term is the within-site part of 0.15 * gpc01
    score_cov = a.T @ a + np.diag(score_var) + ANCESTRY**2
    sxx = w0 @ score_cov @ w0.T + gene_noise**2 * np.eye(p)
    for g in range(n_genes):
        sl = slice(g * EMBED_DIM, (g + 1) * EMBED_DIM)
        sxx[sl, sl] += wg_bg[g] @ wg_bg[g].T
    syy = b.T @ b + brain_factors.T @ brain_factors + np.outer(mdd_load, mdd_load) \
        + np.diag(brain_noise**2)
    sxy = w0 @ a.T @ b

    def inv_sqrt(s: np.ndarray) -> np.ndarray:
        vals, vecs = np.linalg.eigh(s)
        return (vecs / np.sqrt(vals)) @ vecs.T

    rho = np.linalg.svd(inv_sqrt(sxx) @ sxy @ inv_sqrt(syy), compute_uv=False)
    return [round(float(r), 4) for r in rho[:k]]


def generate(n_subjects: int = 2000, n_sites: int = 8, seed: int = 0,
             missing_fraction: float = 0.0) -> SyntheticCohort:
    """Make the cohort; identical output for identical arguments."""
    if n_subjects < 20 * n_sites:
        raise ValueError(f"n_subjects must be at least 20 per site ({20 * n_sites})")
    if not 0 <= missing_fraction < 0.5:
        raise ValueError("missing_fraction must be in [0, 0.5)")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    r_subj, r_gene_model, r_brain_model, r_latent, r_gene, r_brain, r_pheno, r_miss = streams
    n = n_subjects
    n_genes = len(GENES)
    rois = roi_names()
    q = len(rois)
    gidx = {g: i for i, g in enumerate(GENES)}
    ridx = {r: i for i, r in enumerate(rois)}

    # --- subjects --------------------------------------------------------------------------
    sizes = _site_sizes(r_subj, n, n_sites)
    site_codes = np.repeat(np.arange(n_sites), sizes)
    r_subj.shuffle(site_codes)
    site_age_shift = r_subj.normal(0, 2.5, n_sites)
    age = np.clip(r_subj.normal(62, 7.5, n) + site_age_shift[site_codes], 40, 80)
    sex = r_subj.integers(0, 2, n)
    icv = 1.40e6 + 1.5e5 * sex + r_subj.normal(0, 1.2e5, n)
    site_anc = r_subj.normal(0, 0.6, (n_sites, 2))
    gpcs = r_subj.standard_normal((n, 10))
    gpcs[:, :2] += site_anc[site_codes]
    age_z = (age - 62) / 7.5
    icv_z = (icv - 1.475e6) / 1.5e5

    # --- latent variables --------------------------------------------------------------------
    n_modes = len(MODE_GENES)
    z = r_latent.standard_normal((n, n_modes))            # coupling modes
    u_mdd = r_latent.standard_normal((n, len(MDD_GENES)))  # per-gene MDD scores
    b_mdd = r_latent.standard_normal(n)                    # brain MDD factor
    brain_f = r_latent.standard_normal((n, 6))             # anatomy factors

    # --- gene embeddings ---------------------------------------------------------------------
    bases = np.stack([_orthonormal(r_gene_model, EMBED_DIM) for _ in range(n_genes)])
    wg0 = bases[:, :, 0]                       # the direction carrying each gene's score
    wg_bg = bases[:, :, 1:4] * 0.6             # background structure within a gene
    a = np.zeros((n_modes, n_genes))
    for m, genes in enumerate(MODE_GENES):
        for g in genes:
            a[m, gidx[g]] = MODE_STRENGTH[m]
    score_var = np.ones(n_genes)
    for g in MDD_GENES:
        score_var[gidx[g]] += MDD_SCORE_WEIGHT**2  # own MDD score
    mdd_gene_pos = [gidx[g] for g in MDD_GENES]
    scores = z @ a + r_gene.standard_normal((n, n_genes))
    scores[:, mdd_gene_pos] += MDD_SCORE_WEIGHT * u_mdd
    scores += ANCESTRY * gpcs[:, :1]           # mild ancestry structure in every gene
    gene_noise = 0.5
    x = np.einsum("ng,gd->ngd", scores, wg0)
    x += np.einsum("ngk,gdk->ngd", r_gene.standard_normal((n, n_genes, 3)), wg_bg)
    x = x.reshape(n, -1) + gene_noise * r_gene.standard_normal((n, n_genes * EMBED_DIM))
    p = x.shape[1]
    gene_site = r_gene_model.normal(0, 0.35, (n_sites, p))
    gene_age = r_gene_model.normal(0, 0.15, p)
    x += gene_site[site_codes] + np.outer(age_z, gene_age)
    x = 0.1 * x + r_gene_model.normal(0, 0.05, p)   # embedding-like scale

    # --- sMRI ROIs -----------------------------------------------------------------------------
    b = np.zeros((n_modes, q))
    for m, names in enumerate(MODE_ROIS):
        for r in names:
            b[m, ridx[r]] = 0.8
    factors = r_brain_model.normal(0, 0.45, (6, q))
    mdd_load = np.zeros(q)
    for r in MDD_ROIS:
        mdd_load[ridx[r]] = -0.6
    brain_noise = np.full(q, 0.7)
    y = z @ b + brain_f @ factors + np.outer(b_mdd, mdd_load) \
        + brain_noise * r_brain.standard_normal((n, q))
    brain_site = r_brain_model.normal(0, 0.4, (n_sites, q))
    is_thick = np.array(["thickness" in r for r in rois])
    brain_age = np.where(is_thick, -0.45, -0.25) + r_brain_model.normal(0, 0.05, q)
    brain_icv = np.where(is_thick, 0.0, 0.6)
    y += brain_site[site_codes] + np.outer(age_z, brain_age) + np.outer(icv_z, brain_icv)
    centre = np.where(is_thick, 2.5, np.where([r.endswith("area") for r in rois], 1800.0, 4500.0))
    spread = np.where(is_thick, 0.12, np.where([r.endswith("area") for r in rois], 250.0, 600.0))
    y = centre + spread * y

    # --- phenotypes ----------------------------------------------------------------------------
    gene_liab = u_mdd @ np.asarray(MDD_GENE_BETA)
    liability = MDD_INTERCEPT + gene_liab + MDD_BRAIN_BETA * b_mdd - 0.3 * sex + 0.1 * age_z
    mdd = (r_pheno.random(n) < 1 / (1 + np.exp(-liability))).astype(int)
    phq9 = np.clip(np.rint(3 + 7 * mdd + 0.8 * b_mdd + r_pheno.normal(0, 3, n)), 0, 27).astype(int)

    ids = pd.Index([f"sub-{i + 1:05d}" for i in range(n)], name="subject_id")
    subjects = pd.DataFrame({"site": [f"site{c + 1:02d}" for c in site_codes],
                             "age": np.round(age, 1), "sex": sex, "icv": np.round(icv, 0)},
                            index=ids)
    for j in range(10):
        subjects[f"gpc{j + 1:02d}"] = gpcs[:, j]
    subjects["mdd"] = mdd
    subjects["phq9"] = phq9
    genes = pd.DataFrame(x, index=ids, columns=gene_columns())
    brain = pd.DataFrame(y, index=ids, columns=rois)
    missing = {}
    if missing_fraction > 0:
        for name, df in (("gene_embeddings", genes), ("smri_rois", brain)):
            drop = r_miss.random(n) < missing_fraction
            missing[name] = int(drop.sum())
            if name == "gene_embeddings":
                genes = df[~drop]
            else:
                brain = df[~drop]
    rho = _population_cancorr(wg0, wg_bg, gene_noise, a, score_var, b, factors, mdd_load,
                              brain_noise, n_modes + 1)
    truth = {
        "synthetic": True,
        "generator": NAME,
        "generator_version": GENERATOR_VERSION,
        "params": {"n_subjects": n, "n_sites": n_sites, "seed": seed,
                   "missing_fraction": missing_fraction},
        "coupling": {
            "n_modes": n_modes,
            "population_canonical_correlations": rho,
            "note": "exact canonical correlations of the nuisance-free blocks; the last value "
                    "is the first null mode (0)",
            "modes": [{"genes": list(MODE_GENES[m]), "rois": list(MODE_ROIS[m]),
                       "gene_loading": MODE_STRENGTH[m], "roi_loading": 0.8}
                      for m in range(n_modes)],
        },
        "mdd": {
            "model": "logit P(mdd) = intercept + sum(beta_g * u_g) + beta_brain * b - 0.3*sex "
                     "+ 0.1*age_z",
            "intercept": MDD_INTERCEPT,
            "genes": dict(zip(MDD_GENES, MDD_GENE_BETA, strict=True)),
            "brain_beta": MDD_BRAIN_BETA,
            "brain_rois": list(MDD_ROIS),
            "prevalence": round(float(mdd.mean()), 3),
            "null_genes": [g for g in GENES if g not in MDD_GENES],
        },
        "nuisance": {
            "site": "per-site offsets on every gene and ROI feature (SD 0.35 and 0.4 "
                    "in standardised units); sites also differ in mean age and genetic PCs",
            "age": "linear on both modalities (ROIs: thickness -0.45, volumes/areas -0.25 "
                   "SD per age SD)",
            "icv": "areas and volumes +0.6 SD per ICV SD; sex acts through ICV",
        },
        "missing": missing,
    }
    return SyntheticCohort(subjects, genes, brain, truth)


# ---------------------------------------------------------------------------------------------
# writing and caching


def write(cohort: SyntheticCohort, outdir: Path, fmt: str = "csv") -> list[Path]:
    """Write the tables and ground_truth.yaml to ``outdir``; never overwrites a file."""
    from kbtools.errors import KBToolsError
    from kbtools.yamlio import dump

    outdir = Path(outdir)
    ext = {"csv": ".csv", "parquet": ".parquet"}[fmt]
    targets = [outdir / f"{name}{ext}" for name in cohort.tables()] + [outdir / "ground_truth.yaml"]
    existing = [t for t in targets if t.exists()]
    if existing:
        raise KBToolsError(f"{len(existing)} file(s) already exist, first {existing[0].name}",
                           path=str(outdir), hint="choose an empty folder or remove them")
    outdir.mkdir(parents=True, exist_ok=True)
    for (_name, df), target in zip(cohort.tables().items(), targets, strict=False):
        tmp = target.with_name(f".{target.name}.tmp")
        if fmt == "csv":
            df.to_csv(tmp, float_format="%.6g")
        else:
            df.to_parquet(tmp)
        os.replace(tmp, target)
    gt = targets[-1]
    gt.write_text("# Synthetic data: planted ground truth (no real subjects).\n"
                  + dump(cohort.ground_truth), encoding="utf-8")
    return targets


def cache_root() -> Path:
    """Where generated tables are cached: $KBTOOLS_CACHE_DIR, else the user cache dir."""
    env = os.environ.get("KBTOOLS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kbtools"


def ensure_cached(name: str, params: dict[str, Any]) -> Path:
    """Folder holding the generated tables for ``params`` (made once, atomically)."""
    if name != NAME:
        raise ValueError(f"unknown generator {name!r}")
    full = {**DEFAULTS, **params}
    unknown = set(full) - set(DEFAULTS)
    if unknown:
        from kbtools.errors import DataError

        raise DataError(f"unknown synthetic_cohort parameter(s): {', '.join(sorted(unknown))}",
                        hint=f"use {', '.join(DEFAULTS)}")
    key = hashlib.sha256(json.dumps({"v": GENERATOR_VERSION, **full}, sort_keys=True)
                         .encode()).hexdigest()[:16]
    root = cache_root()
    folder = root / f"{name}-{key}"
    if (folder / "ground_truth.yaml").is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        write(generate(**full), tmp / "t", "csv")
        try:
            os.rename(tmp / "t", folder)
        except OSError:
            if not (folder / "ground_truth.yaml").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
