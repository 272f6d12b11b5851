"""A second cohort generator for the calibration suite, written from another description of UK
Biobank than :mod:`calcohorts` (separate code and a different causal structure), so that the
suite is not tuned to one generator.

The description it follows:

* recruitment ran through 22 assessment centres of very unequal size (the largest several times
  the smallest, a few centres tiny); a participant's centre is field 54 and the export names
  columns by field, instance and array (``54-2.0``, ``21003-2.0`` age at the visit, ``31-0.0``
  sex, ``25000-2.0`` the volumetric scaling factor of the T1 image, which falls as head size
  grows); ``eid`` is an integer column of the subjects table and the index of the others;
* genetics comes as per-gene embeddings (``<GENE>.<k>``) computed from genotype dosages: each
  gene's variants have allele frequencies that drift with ancestry, and ancestry differs between
  centres (a centre's mean and spread of two ancestry axes), so centres differ in the mean *and*
  the spread of the gene block; the embedding is a bounded (tanh) function of the dosages, so
  the gene features are not Gaussian;
* imaging IDPs (field-like names ``idp_<k>``) are log-normal volumes and thicknesses that scale
  with head size, shrink with age along a curve (quadratic), and carry scanner effects: each
  centre's scanner went through software epochs (batches within a centre) that shift and
  rescale the IDPs, and the centre column does not record them;
* only part of the cohort was imaged and imaging uptake differs by centre; a few per cent of
  genotypes fail quality control;
* a binary depression status (``depression``) depends on age, sex and centre.

Null cohorts: the gene and imaging blocks share only the centre (through the modelled offsets,
and through whatever site structure a scenario adds: a centre-level factor scaling the
subject-level variation of both blocks, ``shared_scale``; a centre-specific age slope on both,
``age_centre``). Planted cohorts add coupling modes: a latent trait moving a pathway of genes
and a network of IDPs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from calcohorts import CalCohort, cohort_of

CENTRE_CODES = (11001, 11002, 11003, 11004, 11005, 11006, 11007, 11008, 11009, 11010, 11011,
                11012, 11013, 11014, 11016, 11017, 11018, 11020, 11021, 11022, 11023, 10003)
GENES = ("NRXN1", "CACNA1C", "GRIN2A", "SHANK3", "DISC1", "NEGR1", "TCF4", "ZNF804A", "CNTNAP2",
         "RBFOX1")
SITE, AGE, SEX, SCALING, OUTCOME = "54-2.0", "21003-2.0", "31-0.0", "25000-2.0", "depression"


@dataclass(frozen=True)
class Design:
    """One kind of UK Biobank-like cohort (second generator)."""

    name: str
    n: int = 600
    n_sites: int = 22
    shared_scale: float = 0.0
    """SD of the log of a centre factor scaling the subject-level variation of both blocks."""
    age_centre: float = 0.0
    """SD of a centre's relative deviation of the age slope, on both blocks."""
    coupling: tuple[float, ...] = ()
    """Strength of each planted gene-imaging mode (latent trait loading)."""
    imaged: float = 0.85
    """Mean share of participants with imaging (varies by centre)."""
    n_genes: int = 10
    variants: int = 12
    embed_dim: int = 3
    n_idps: int = 30
    site_column: str = SITE
    covariates: tuple[str, ...] = (AGE, SEX, SCALING)
    outcome: str = OUTCOME

    def but(self, **changes: Any) -> Design:
        return replace(self, **changes)

    def generate(self, seed: int) -> CalCohort:
        return build(self, seed)


def _centre_shares(rng: np.random.Generator, k: int) -> np.ndarray:
    """Zipf-like shares: a few large centres, a tail of small ones."""
    share = 1.0 / np.arange(1, k + 1) ** 0.9 * rng.uniform(0.7, 1.3, k)
    return rng.permutation(share / share.sum())


def build(d: Design, seed: int) -> CalCohort:
    """One cohort of design ``d`` (identical for identical ``seed``)."""
    seq = np.random.SeedSequence([seed, 54_2026])
    r_people, r_genes, r_img, r_struct, r_plant, r_miss = (
        np.random.default_rng(s) for s in seq.spawn(6))
    n, k = d.n, min(d.n_sites, len(CENTRE_CODES))
    centre = r_people.choice(k, size=n, p=_centre_shares(r_people, k))
    # people: age drifts with centre (recruitment areas), head size with sex
    age = np.clip(r_people.normal(63 + r_people.normal(0, 2.5, k)[centre], 7.5), 45, 82)
    sex = (r_people.uniform(size=n) < 0.47).astype(int)
    head = r_people.normal(0, 1, n) + 0.9 * sex
    scaling = np.exp(0.35 - 0.09 * head + r_people.normal(0, 0.01, n))
    ancestry = (r_people.normal(0, 1, (k, 2)) * [0.6, 0.3])[centre] + r_people.normal(
        0, 1, (n, 2)) * np.exp(r_people.normal(0, 0.3, (k, 2)))[centre]

    # centre structure shared by both blocks (zero unless asked for)
    factor = np.exp(d.shared_scale * r_struct.standard_normal(k))[centre]
    slope = 1.0 + d.age_centre * r_struct.standard_normal(k)[centre]
    age_s = (age - 63.0) / 7.5
    latent = r_plant.standard_normal((n, 4))[:, :len(d.coupling)]

    # genes: dosages whose allele frequency follows ancestry, embedded through tanh
    gene_cols, gene_vals = [], []
    for g, gene in enumerate(GENES[:d.n_genes]):
        base = r_genes.uniform(0.05, 0.5, d.variants)
        tilt = r_genes.normal(0, 0.25, (2, d.variants))
        freq = np.clip(base + ancestry @ tilt * 0.2, 0.01, 0.99)
        dosage = r_genes.binomial(2, freq)
        z = (dosage - dosage.mean(axis=0)) / (dosage.std(axis=0) + 1e-9)
        weights = r_genes.normal(0, 1, (d.variants, d.embed_dim)) / np.sqrt(d.variants)
        pre = z @ weights
        for m, strength in enumerate(d.coupling):
            if g in (2 * m, 2 * m + 1):  # the pathway of mode m: two genes
                pre[:, 0] += strength * latent[:, m]
        # centre structure outside the tanh, so that age stays a linear (modelled) effect
        gene_vals.append(factor[:, None] * np.tanh(pre) / factor.mean()
                         + 0.3 * d.age_centre * (slope * age_s)[:, None])
        gene_cols += [f"{gene}.{j}" for j in range(d.embed_dim)]
    genes = np.hstack(gene_vals)

    # imaging: log-normal IDPs with head size, a curved age effect, scanner epochs per centre
    q = d.n_idps
    epochs = r_img.integers(1, 4, k)
    epoch = np.floor(r_img.uniform(size=n) * epochs[centre]).astype(int)
    epoch_shift = r_img.normal(0, 0.15, (k, 4, q))[centre, epoch]
    epoch_scale = np.exp(r_img.normal(0, 0.1, (k, 4)))[centre, epoch]
    load = r_img.normal(0, 1, (3, q))
    noise = r_img.standard_normal((n, 3)) @ load * 0.5 + r_img.standard_normal((n, q))
    log_idp = (0.02 * np.outer(head, np.abs(load[0]))
               - 0.012 * np.outer(age - 63, np.ones(q)) - 0.0006 * np.outer((age - 63) ** 2,
                                                                            np.ones(q))
               + 0.05 * factor[:, None] * epoch_scale[:, None] * noise + 0.05 * epoch_shift
               + 0.02 * d.age_centre * (slope * age_s)[:, None])
    for m, strength in enumerate(d.coupling):
        net = slice(3 * m, 3 * m + 3)  # the network of mode m: three IDPs
        log_idp[:, net] += 0.05 * strength * latent[:, [m]]
    idps = np.exp(np.log(r_img.uniform(800, 9000, q)) + log_idp)

    # outcome, tables, missingness
    liability = -1.2 + 0.02 * (age - 63) + 0.4 * (1 - sex) + r_people.normal(0, 0.4, k)[centre]
    depression = (r_people.uniform(size=n) < 1 / (1 + np.exp(-liability))).astype(int)
    eid = np.sort(r_people.choice(np.arange(1_000_000, 6_000_000), n, replace=False))
    subjects = pd.DataFrame({"eid": eid, SITE: np.array(CENTRE_CODES)[centre],
                             AGE: np.round(age).astype(int), SEX: sex,
                             SCALING: np.round(scaling, 5), OUTCOME: depression})
    uptake = np.clip(d.imaged + r_miss.normal(0, 0.08, k), 0.3, 1.0)[centre]
    has_img = r_miss.uniform(size=n) < uptake
    has_gene = r_miss.uniform(size=n) > 0.03
    index = pd.Index(eid, name="eid")
    imaging = pd.DataFrame(np.round(idps, 2), index=index,
                           columns=[f"idp_{j + 1}" for j in range(q)])[has_img]
    gene_df = pd.DataFrame(genes, index=index, columns=gene_cols)[has_gene]
    cohort = cohort_of(subjects.set_index("eid"), {"gene": gene_df, "brain": imaging})
    truth = {"n_modes": len(d.coupling), "mdd_genes": [],
             "coupling_genes": [[GENES[2 * m], GENES[2 * m + 1]]
                                for m in range(len(d.coupling))]}
    return CalCohort(cohort, truth)
