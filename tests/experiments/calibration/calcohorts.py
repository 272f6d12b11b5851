"""Null, confounded and planted cohorts for the calibration suite, shaped like a user's tables.

Written independently of :mod:`kbtools.experiments.synth` (different model, names and scales),
so that the methods are not checked only against the generator they were developed on.

Every cohort is built from independent standard normals through known linear maps, so the
population truth is exact:

* a subjects table keyed by UK Biobank-like 7-digit ``eid`` values with an assessment-centre
  column (numeric codes, unequal sizes), age in years, sex 0/1, intracranial volume in mm^3,
  MDD (0/1) and PHQ-9 (integers 0-27, so rank statistics meet ties);
* a gene block (``n_genes`` genes x ``gene_dim`` embedding dimensions, columns ``GENE__eN``,
  correlated within a gene, embedding-like scale) and a brain block (ROI thickness / area /
  volume in raw units with a shared "head size" factor);
* confounding: each centre shifts every feature of both modalities, the MDD liability and
  PHQ-9; age drives both modalities and both outcomes; ICV drives areas and volumes;
* missing modalities: ``missing`` of the subjects lack one block (half gene, half brain), at
  rates that differ between centres;
* planted effects only where a scenario asks for them: gene-brain coupling modes, genes and a
  brain factor raising MDD liability, PHQ-9 and MDD tracking the first coupling mode, and extra
  brain-only centre effects (offsets and scales) that harmonization should remove;
* site structure beyond additive shifts, each off by default and drawn from its own random
  stream (so turning one on leaves every other ingredient of the cohort as it was):
  multiplicative centre effects (a centre scales the subject-level noise of both blocks by one
  shared factor, ``site_scale``; or of each block by its own, ``block_scale``; optionally after
  the age effect, ``scale_after_age``, which makes a shared age x centre interaction), a shared
  centre-specific age slope (``site_age``), centre-specific covariance of the noise
  (``site_cov``), centres that mostly lack imaging (``site_missing``), subjects filed under the
  wrong centre (``label_noise``) and heavy-tailed or skewed noise (``noise``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from kbtools.experiments.cohort import Cohort

GENE_NAMES = ("ARX1", "BTL2", "CMP7", "DRQ4", "EFN3", "FGL9", "GHT2", "HMS5", "IKR8", "JNV1",
              "KLP6", "LMX3")
ROI_REGIONS = ("frontal", "parietal", "temporal", "occipital", "cingulate", "insula",
               "hippocampus", "amygdala", "thalamus", "caudate", "putamen", "pallidum")


@dataclass(frozen=True)
class Scenario:
    """One kind of cohort. Effects are in SD units of the feature or liability they act on."""

    name: str
    n: int = 600
    n_sites: int = 6
    site_shift: float = 0.5
    """SD of each centre's offset on every feature of both blocks."""
    site_outcome: float = 0.5
    """SD of each centre's shift of the MDD liability (logit) and of PHQ-9 (in its SDs)."""
    age_effect: float = 0.4
    """Loading of standardised age on every feature and on both outcomes."""
    missing: float = 0.10
    coupling: tuple[float, ...] = ()
    """Loadings of planted gene-brain modes (one latent each; 0.6 gives rho about 0.3)."""
    gene_mdd: tuple[float, ...] = ()
    """Log-odds of MDD per SD of each planted gene's score (genes 1, 2, ...)."""
    brain_mdd: float = 0.0
    """Log-odds of MDD per SD of a brain factor shown by a few ROIs."""
    phq9_mode: float = 0.0
    """Effect of the first coupling latent on PHQ-9 (in PHQ-9 noise SDs)."""
    mdd_mode: float = 0.0
    """Log-odds of MDD per SD of the first coupling latent."""
    brain_site_noise: float = 0.0
    """Extra brain-only centre offsets (SD) and log-scales (SD/2): what ComBat should remove."""
    site_scale: float = 0.0
    """SD of the log of each centre's noise scale, one factor shared by both blocks."""
    block_scale: float = 0.0
    """SD of the log of each centre's noise scale drawn separately for each block."""
    scale_after_age: bool = False
    """Apply the centre scales after the age effect (a shared age x centre interaction)."""
    site_age: float = 0.0
    """SD of each centre's deviation of the age slope (relative), shared by both blocks."""
    site_cov: float = 0.0
    """Strength of each centre's own mixing of the noise columns (centre covariances differ)."""
    site_missing: float = 0.0
    """Rate at which subjects of a third of the centres lack the brain block (no imaging)."""
    label_noise: float = 0.0
    """Fraction of subjects whose centre column names a wrong centre."""
    noise: str = "gaussian"
    """Subject-level noise: gaussian, t (5 df, unit variance) or skewed (centred chi2, 3 df)."""
    n_genes: int = 8
    gene_dim: int = 4
    n_rois: int = 24
    site_column: str = "centre"
    id_name: str = "eid"

    covariates: tuple[str, ...] = ("age", "sex", "icv")

    def but(self, **changes: Any) -> Scenario:
        return replace(self, **changes)

    def generate(self, seed: int) -> CalCohort:
        return generate(self, seed)


@dataclass
class CalCohort:
    cohort: Cohort
    truth: dict[str, Any] = field(default_factory=dict)


def cohort_of(subjects: pd.DataFrame, blocks: dict[str, pd.DataFrame]) -> Cohort:
    """A :class:`Cohort` of generated tables with the inventory a loaded one has."""
    cohort = Cohort(subjects=subjects, blocks=blocks)
    n = len(subjects)
    cohort.inventory = {"n_subjects": n, "n_complete": len(cohort.complete_ids()),
                        "roles": {r: {"present": len(b), "missing": n - len(b),
                                      "features": b.shape[1]}
                                  for r, b in cohort.blocks.items()}}
    return cohort


def _site_sizes(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    share = rng.dirichlet(np.full(k, 3.0))
    floor = max(15, n // (4 * k))
    sizes = floor + np.floor(share * (n - floor * k)).astype(int)
    sizes[np.argmax(sizes)] += n - sizes.sum()
    return sizes


def _draw(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Unit-variance noise of ``kind`` (gaussian draws are exactly ``standard_normal``)."""
    if kind == "gaussian":
        return rng.standard_normal(shape)
    if kind == "t":
        return rng.standard_t(5, shape) / np.sqrt(5 / 3)
    if kind == "skewed":
        return (rng.chisquare(3, shape) - 3) / np.sqrt(6)
    raise ValueError(f"unknown noise {kind!r}")


def _mixing(rng: np.random.Generator, k: int, width: int, strength: float) -> np.ndarray:
    """(k, width, width) centre-specific mixing matrices, identity at strength 0."""
    return np.eye(width) + strength * rng.standard_normal((k, width, width)) / np.sqrt(width)


def _mix_by_site(noise: np.ndarray, mixing: np.ndarray, site_idx: np.ndarray) -> np.ndarray:
    out = np.empty_like(noise)
    for b in range(len(mixing)):
        rows = site_idx == b
        out[rows] = noise[rows] @ mixing[b]
    # keep the average variance of a column at its level without mixing
    return out / np.sqrt(np.mean(np.sum(mixing**2, axis=1), axis=0))


def generate(sc: Scenario, seed: int) -> CalCohort:
    """One cohort of scenario ``sc``; identical for identical ``seed``."""
    # one stream per ingredient: a planted scenario is its null cohort plus the planted effect
    streams = np.random.SeedSequence([seed, 7_112_026]).spawn(12)
    (r_subj, r_gene, r_brain, r_site, r_age, r_out, r_miss, r_ids,
     r_latent, r_scale, r_struct, r_label) = (np.random.default_rng(s) for s in streams)
    n, k = sc.n, sc.n_sites
    p, q = sc.n_genes * sc.gene_dim, sc.n_rois

    # subjects: centres of unequal size, age in years, sex, ICV in mm^3
    codes = 11_001 + r_subj.choice(30, size=k, replace=False)
    site_idx = np.repeat(np.arange(k), _site_sizes(r_subj, n, k))
    r_subj.shuffle(site_idx)
    age = 40 + 30 * r_subj.beta(2.0, 2.0, n) + r_subj.normal(0, 2.0, k)[site_idx]
    age_z = (age - 55.0) / 6.5
    sex = r_subj.integers(0, 2, n)
    icv = 1.45e6 + 1.2e5 * sex + r_subj.normal(0, 1.1e5, n)
    icv_z = (icv - 1.51e6) / 1.25e5

    # latents (a fixed number of draws each, so adding one mode keeps the others)
    z = r_latent.standard_normal((n, 4))[:, :len(sc.coupling)]
    u = r_latent.standard_normal((n, 4))[:, :len(sc.gene_mdd)]
    b_mdd = r_latent.standard_normal(n)
    rng = r_gene

    # gene block: per gene, correlated dimensions; planted signals on each gene's direction 0
    gene = np.empty((n, p))
    for g in range(sc.n_genes):
        mix = rng.normal(0, 0.5, (sc.gene_dim, sc.gene_dim)) + np.eye(sc.gene_dim)
        cols = slice(g * sc.gene_dim, (g + 1) * sc.gene_dim)
        gene[:, cols] = _draw(rng, (n, sc.gene_dim), sc.noise) @ mix
    gene_signal = np.zeros((n, p))
    for m, load in enumerate(sc.coupling):  # mode m on genes m and m + 3, dim 0
        for g in (m, m + 3):
            gene_signal[:, ((g % sc.n_genes) * sc.gene_dim)] += load * z[:, m]
    for j, _ in enumerate(sc.gene_mdd):     # MDD genes: the last ones, dim 1
        gene_signal[:, (sc.n_genes - 1 - j) * sc.gene_dim + 1] += 1.0 * u[:, j]

    # brain block: a shared factor plus noise; planted ROIs for modes and the MDD factor
    rng = r_brain
    rois = [f"{h}_{r}_{m}" for r in ROI_REGIONS for h in ("lh", "rh")
            for m in ("thickness",)][:q // 2]
    rois += [f"{h}_{r}_{m}" for r in ROI_REGIONS for h in ("lh", "rh")
             for m in ("volume",)][:q - len(rois)]
    is_vol = np.array([r.endswith("volume") for r in rois])
    head = _draw(rng, (n,), sc.noise)
    brain = np.outer(head, rng.normal(0.5, 0.15, q)) + _draw(rng, (n, q), sc.noise)
    brain_signal = np.zeros((n, q))
    for m, load in enumerate(sc.coupling):  # mode m on ROIs 2m and 2m + 1
        brain_signal[:, [2 * m, 2 * m + 1]] += load * z[:, [m]]
    if sc.brain_mdd:
        brain_signal[:, q - 4:] += 0.8 * b_mdd[:, None]

    # centre structure of the subject-level noise: covariances, scales, age slopes
    mix_gene, mix_brain = _mixing(r_struct, k, p, sc.site_cov), _mixing(r_struct, k, q,
                                                                        sc.site_cov)
    if sc.site_cov:
        gene, brain = _mix_by_site(gene, mix_gene, site_idx), _mix_by_site(brain, mix_brain,
                                                                           site_idx)
    shared, own_gene, own_brain, slope = r_scale.standard_normal((4, k))
    scale_gene = np.exp(sc.site_scale * shared + sc.block_scale * own_gene)[site_idx, None]
    scale_brain = np.exp(sc.site_scale * shared + sc.block_scale * own_brain)[site_idx, None]
    age_gain = (1.0 + sc.site_age * slope)[site_idx]
    gene_age = np.outer(age_gain * age_z, sc.age_effect + 0.1 * r_age.standard_normal(p))
    brain_age = np.outer(age_gain * age_z, -sc.age_effect + 0.1 * r_age.standard_normal(q))
    if sc.scale_after_age:  # the age effect is scaled too, and then not added again below
        gene, brain = (gene + gene_age) * scale_gene, (brain + brain_age) * scale_brain
        gene_age, brain_age = np.zeros_like(gene), np.zeros_like(brain)
    else:
        gene, brain = gene * scale_gene, brain * scale_brain
    gene, brain = gene + gene_signal, brain + brain_signal

    # confounders: centre offsets and age on both blocks, ICV on volumes
    gene += sc.site_shift * r_site.standard_normal((k, p))[site_idx]
    brain += sc.site_shift * r_site.standard_normal((k, q))[site_idx]
    gene += gene_age
    brain += brain_age
    brain += np.outer(icv_z, np.where(is_vol, 0.6, 0.0))
    extra_offset, extra_scale = r_site.standard_normal((2, k, q))
    if sc.brain_site_noise:
        brain += sc.brain_site_noise * extra_offset[site_idx]
        brain *= np.exp(sc.brain_site_noise / 2 * extra_scale)[site_idx]

    # outcomes
    site_liability, site_phq = r_out.standard_normal((2, k))
    liability = (-1.1 + u @ np.asarray(sc.gene_mdd, float) + sc.brain_mdd * b_mdd
                 + (sc.mdd_mode * z[:, 0] if sc.coupling else 0.0)
                 + sc.age_effect * age_z + sc.site_outcome * site_liability[site_idx])
    mdd = (r_out.uniform(size=n) < 1 / (1 + np.exp(-liability))).astype(int)
    phq = (0.8 * mdd + sc.age_effect * age_z + sc.site_outcome * site_phq[site_idx]
           + r_out.standard_normal(n))
    if sc.phq9_mode and sc.coupling:
        phq += sc.phq9_mode * z[:, 0]
    phq9 = np.clip(np.round(6 + 3.5 * phq), 0, 27).astype(int)

    # user-shaped tables: ids, raw units, column names
    eids = pd.Index((1_000_000 + r_ids.choice(5_500_000, size=n, replace=False)).astype(str),
                    name=sc.id_name)
    filed = site_idx.copy()  # the centre the table names (batch-label noise: a wrong one)
    wrong = r_label.uniform(size=n) < sc.label_noise
    filed[wrong] = (site_idx[wrong] + r_label.integers(1, max(k, 2), wrong.sum())) % k
    subjects = pd.DataFrame({sc.site_column: codes[filed], "age": np.round(age, 1),
                             "sex": sex, "icv": np.round(icv), "mdd": mdd, "phq9": phq9},
                            index=eids)
    gene_cols = [f"{GENE_NAMES[g]}__e{d}" for g in range(sc.n_genes) for d in range(sc.gene_dim)]
    gene_df = pd.DataFrame(0.08 * gene + r_ids.normal(0, 0.02, p), index=eids,
                           columns=gene_cols)
    unit = np.where(is_vol, 450.0, 0.12)
    centre = np.where(is_vol, 4200.0, 2.6)
    brain_df = pd.DataFrame(centre + unit * brain, index=eids, columns=rois)

    # missing modality: rates differ between centres (mean = sc.missing)
    rate = np.clip(sc.missing * r_miss.uniform(0.5, 1.5, k), 0, 0.4)[site_idx]
    lacks = r_miss.uniform(size=n) < rate
    which = r_miss.integers(0, 2, n)
    if sc.site_missing:  # a third of the centres (at least one) mostly without imaging
        no_scan = r_label.choice(k, size=max(1, k // 3), replace=False)
        extra = np.isin(site_idx, no_scan) & (r_label.uniform(size=n) < sc.site_missing)
        lacks, which = lacks | extra, np.where(extra, 1, which)
    gene_df = gene_df[~(lacks & (which == 0))]
    brain_df = brain_df[~(lacks & (which == 1))]
    cohort = cohort_of(subjects, {"gene": gene_df, "brain": brain_df})
    truth = {"coupling_genes": [[GENE_NAMES[m % sc.n_genes], GENE_NAMES[(m + 3) % sc.n_genes]]
                                for m in range(len(sc.coupling))],
             "mdd_genes": [GENE_NAMES[sc.n_genes - 1 - j] for j in range(len(sc.gene_mdd))],
             "n_modes": len(sc.coupling)}
    return CalCohort(cohort, truth)
