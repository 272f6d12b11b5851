"""Site structure of the two blocks a CCA test relates: what it is, and what a run does about it.

A permutation test is exact only when the rows it permutes are exchangeable. Sites break that in
three ways the additive nuisance model (intercept, covariates, site offsets) does not remove:

* **variance**: a site that scales the subject-level noise of both blocks by one factor inflates
  every cross-covariance by about ``kappa = sum_b w_b vx_b vy_b / (sum_b w_b vx_b)(sum_b w_b
  vy_b)`` (w_b the site's share of subjects, v its total variance relative to the pooled one)
  relative to a null that permutes subjects freely, so such a null is too narrow;
* **covariance**: sites may differ in how features co-vary, not only in scale;
* **covariate x site interactions**: a site-specific covariate slope (e.g. age) shared by both
  blocks couples their residuals within the site; no permutation scheme fixes that, only a
  nuisance model with centre x covariate terms does.

:func:`diagnose` measures each from the data the test sees (per-site variance ratios of both
blocks, a Brown-Forsythe test of equal dispersion on each subject's distance to its site's
median, a test of centre x covariate terms by Pillai's trace with per-site weights), and
:meth:`SiteStructure.statement` says in one paragraph what the run does about it.
Per-site figures are given only for sites with at least ``MIN_SITE`` subjects (fewer are noisy,
and a published cell needs 10 subjects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Sites with fewer subjects get no per-site figure and are left out of the tests below.
MIN_SITE = 10
#: The interaction test uses at most this many leading columns (components) of each block.
INTERACTION_COLUMNS = 10
#: Level at which the diagnostic calls a structure present (it informs, it decides nothing).
DIAGNOSTIC_ALPHA = 0.01


@dataclass
class BlockSites:
    """Site structure of one block."""

    role: str
    ratios: dict[str, float]
    """Site -> total within-site variance relative to the pooled within-site variance."""
    dispersion_p: float | None
    """Brown-Forsythe test of equal dispersion across sites (distances to the site median)."""
    interaction_p: float | None
    """Test of centre x covariate terms (Pillai's trace, sites weighted by their variance)."""

    @property
    def span(self) -> tuple[float, float] | None:
        values = list(self.ratios.values())
        return (min(values), max(values)) if values else None


@dataclass
class TestDesign:
    """What the permutation test of a run does about sites."""

    blocks: bool
    """Permutations within sites (exchangeability blocks)."""
    covariate_method: str
    n_sites: int = 0
    rows_lost: int = 0
    """Rows the nuisance removal costs (sum of R_b within blocks, R globally)."""
    dropped_subjects: int = 0
    """Subjects of sites too small to keep a row after the within-site projection."""
    normalized: bool = False
    interactions: bool = False
    """The test's nuisance model has centre x covariate terms (given by within-site Huh-Jhun)."""
    cv_interactions: bool = False
    """Preprocessing removes them too (training folds; each held-out site its own slopes)."""
    site_column: str | None = None
    reason: str = ""
    """Why the design is what it is (e.g. no site column)."""


@dataclass
class SiteStructure:
    blocks: list[BlockSites]
    n_sites: int
    n_small: int
    """Sites below ``MIN_SITE`` subjects (no per-site figures)."""
    inflation: float | None
    covariates: list[str] = field(default_factory=list)

    def heteroscedastic(self) -> bool:
        return any(b.dispersion_p is not None and b.dispersion_p <= DIAGNOSTIC_ALPHA
                   for b in self.blocks)

    def shared_interaction(self) -> bool:
        return all(b.interaction_p is not None and b.interaction_p <= DIAGNOSTIC_ALPHA
                   for b in self.blocks)

    def as_summary(self, design: TestDesign) -> dict[str, Any]:
        return {
            "n_sites": self.n_sites,
            "sites_below_min": self.n_small,
            "variance_inflation_free_permutation": _round(self.inflation),
            "blocks": {b.role: {"variance_ratio_min": _round(b.span[0]) if b.span else None,
                                "variance_ratio_max": _round(b.span[1]) if b.span else None,
                                "dispersion_p": _round_p(b.dispersion_p),
                                "interaction_p": _round_p(b.interaction_p)}
                       for b in self.blocks},
            "variance_ratios": [{"name": str(site),
                                 **{b.role: _round(b.ratios.get(site)) for b in self.blocks}}
                                for site in (self.blocks[0].ratios if self.blocks else {})],
            "design": {"permutation": "within sites" if design.blocks else "free",
                       "covariate_method": design.covariate_method,
                       "site_covariate_terms": design.interactions,
                       "normalized_per_site": design.normalized,
                       "rows_lost_to_nuisance": design.rows_lost,
                       "subjects_in_sites_too_small": design.dropped_subjects},
            "statement": self.statement(design),
        }

    def statement(self, design: TestDesign) -> str:
        """What the data show about sites and what this run does about it."""
        parts = []
        spans = [f"{b.role} {b.span[0]:.2f}-{b.span[1]:.2f}" for b in self.blocks if b.span]
        if spans:
            parts.append(f"Site-wise total variance of the residualised blocks relative to the "
                         f"pooled one ({self.n_sites - self.n_small} sites with at least "
                         f"{MIN_SITE} subjects): {', '.join(spans)}.")
        tests = [f"{b.role} {_p(b.dispersion_p)}" for b in self.blocks
                 if b.dispersion_p is not None]
        if tests:
            verdict = "differ" if self.heteroscedastic() else "no clear difference"
            parts.append(f"Equal dispersion across sites (Brown-Forsythe): {'; '.join(tests)} "
                         f"({verdict}).")
        if self.inflation is not None:
            parts.append(f"Shared site scales would inflate cross-covariances by about "
                         f"{self.inflation:.2f}x relative to a free permutation null.")
        parts.append(_what_the_test_does(design, self))
        inter = [f"{b.role} {_p(b.interaction_p)}" for b in self.blocks
                 if b.interaction_p is not None]
        covs = " x ".join(["centre", "/".join(self.covariates) or "covariates"])
        if design.cv_interactions:
            parts.append(f"Centre x covariate terms ({covs}) are part of the nuisance model "
                         "(preprocessing.site_covariate_interactions): removed in training "
                         "folds, in the test and, for held-out correlations, within each "
                         "held-out site.")
        elif inter:
            if not self.shared_interaction():
                parts.append(f"Centre x covariate terms ({covs}): {'; '.join(inter)}; "
                             "no interaction shared by both blocks.")
            elif design.interactions:
                parts.append(f"Centre x covariate terms ({covs}) in both blocks: "
                             f"{'; '.join(inter)}. The test's nuisance model has them (each "
                             "site its own covariate slopes), so they cannot pass for a mode; "
                             "held-out correlations still include them (set preprocessing."
                             "site_covariate_interactions: true to remove them there too).")
            else:
                parts.append(f"Centre x covariate terms ({covs}) in both blocks: "
                             f"{'; '.join(inter)}. The additive nuisance model misses them and "
                             "a significant mode may be site structure; use params."
                             "permute_within: site (the projection within sites removes each "
                             "site's covariate slopes) or preprocessing."
                             "site_covariate_interactions: true.")
        return " ".join(parts)


def _what_the_test_does(design: TestDesign, found: SiteStructure) -> str:
    if design.blocks:
        how = ("after a Huh-Jhun projection within each site (each site's intercept and "
               "covariate slopes removed; " f"{design.rows_lost} rows lost"
               + (f", {design.dropped_subjects} subjects of sites too small to keep a row "
                  "left out" if design.dropped_subjects else "") + ")"
               if design.covariate_method == "huh_jhun" else
               f"after {design.covariate_method.replace('_', ' ')} nuisance removal")
        norm = ("; each site's rows are rescaled to the pooled variance first"
                if design.normalized else "")
        return (f"This run permutes subjects within {design.n_sites} sites {how}{norm}, so its "
                "test is valid when sites differ in mean, variance and covariance.")
    why = f" ({design.reason})" if design.reason else ""
    risk = (" The sites differ in dispersion, so its p-values may be too small; use params."
            "permute_within: site." if found.heteroscedastic() else "")
    return (f"This run permutes subjects freely{why}: its test assumes equal error variance "
            f"across sites.{risk}")


def _round(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 3)


def _round_p(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.3g}")


def _p(value: float | None) -> str:
    """``p = 0.03`` or ``p < 1e-4``."""
    return "p n/a" if value is None else (f"p = {value:.2g}" if value >= 1e-4 else "p < 1e-4")


# ---------------------------------------------------------------------------------------------
# the statistics (small pure functions)


def variance_ratios(a: np.ndarray, labels: np.ndarray, min_size: int = MIN_SITE
                    ) -> dict[Any, float]:
    """Site -> total variance of its site-centred rows (ddof 1) over the pooled within-site
    total variance, for sites with at least ``min_size`` rows."""
    a = np.asarray(a, dtype=np.float64)
    sites, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    sums = np.zeros((len(sites), a.shape[1]))
    np.add.at(sums, inverse, a)
    centred = a - (sums / counts[:, None])[inverse]
    ss = np.bincount(inverse, weights=np.sum(centred**2, axis=1), minlength=len(sites))
    pooled = ss.sum() / max(len(a) - len(sites), 1)
    if pooled <= 0:
        return {}
    return {site: float(ss[i] / (counts[i] - 1) / pooled)
            for i, site in enumerate(sites) if counts[i] >= max(min_size, 2)}


def dispersion_test(a: np.ndarray, labels: np.ndarray, min_size: int = MIN_SITE
                    ) -> float | None:
    """p of the Brown-Forsythe test of equal dispersion across sites: one-way ANOVA of each
    row's Euclidean distance to its site's coordinate-wise median (for one column exactly
    ``scipy.stats.levene(center="median")``; for several, a PERMDISP-style test)."""
    from scipy.stats import f_oneway

    a = np.asarray(a, dtype=np.float64)
    labels = np.asarray(labels)
    groups = []
    for site in np.unique(labels):
        rows = a[labels == site]
        if len(rows) >= min_size:
            groups.append(np.linalg.norm(rows - np.median(rows, axis=0), axis=1))
    if len(groups) < 2:
        return None
    p = f_oneway(*groups).pvalue
    return None if not np.isfinite(p) else float(p)


def inflation(rx: dict[Any, float], ry: dict[Any, float], sizes: dict[Any, int]
              ) -> float | None:
    """Expected variance inflation of cross-covariances under shared site scales relative to
    a free permutation null (1: none), from the two blocks' per-site variance ratios."""
    sites = [s for s in rx if s in ry]
    if len(sites) < 2:
        return None
    w = np.array([sizes[s] for s in sites], dtype=float)
    w /= w.sum()
    x, y = np.array([rx[s] for s in sites]), np.array([ry[s] for s in sites])
    return float(np.sum(w * x * y) / (np.sum(w * x) * np.sum(w * y)))


def interaction_design(covariates: np.ndarray, labels: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(additive design, centre x covariate columns): ``[1, covariates, site effect coding]``
    and the products of the site coding with each (centred) covariate."""
    cov = np.asarray(covariates, dtype=np.float64).reshape(len(labels), -1)
    cov = cov - cov.mean(axis=0)
    sites, inverse = np.unique(labels, return_inverse=True)
    k = len(sites)
    coding = np.zeros((len(labels), k - 1))
    inside = inverse < k - 1
    coding[np.flatnonzero(inside), inverse[inside]] = 1.0
    coding[inverse == k - 1] = -1.0
    additive = np.column_stack([np.ones(len(labels)), cov, coding])
    products = [coding * cov[:, [j]] for j in range(cov.shape[1])]
    return additive, np.column_stack(products) if products else np.zeros((len(labels), 0))


def site_weights(a: np.ndarray, full: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-row weight 1 / sigma_b^2, sigma_b^2 the site's residual mean square (over every
    column) in a model with its own intercept and covariate slopes (``full``)."""
    a = np.asarray(a, dtype=np.float64)
    w = np.ones(len(a))
    for site in np.unique(labels):
        rows = labels == site
        design = full[rows][:, np.any(full[rows] != 0, axis=0)]
        beta, *_ = np.linalg.lstsq(design, a[rows], rcond=None)
        resid = a[rows] - design @ beta
        dof = max(int(rows.sum()) - np.linalg.matrix_rank(design), 1)
        ms = float(np.sum(resid**2)) / (dof * a.shape[1])
        w[rows] = 1.0 / ms if ms > 0 else 1.0
    return w


def interaction_test(a: np.ndarray, covariates: np.ndarray, labels: np.ndarray,
                     min_size: int = MIN_SITE, max_columns: int = INTERACTION_COLUMNS
                     ) -> float | None:
    """p of centre x covariate terms on the leading ``max_columns`` columns of ``a``.

    Weighted least squares with one weight per site (its own residual variance), so sites
    that differ in variance do not pass for sites that differ in slope; Pillai's trace
    (statsmodels ``MANOVA``) for several columns, the F test of ``WLS`` for one. Sites with
    fewer than ``min_size`` rows are left out.
    """
    import statsmodels.api as sm
    from statsmodels.multivariate.manova import MANOVA

    labels = np.asarray(labels)
    sites, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, sites[counts >= min_size])
    cov = np.asarray(covariates, dtype=np.float64).reshape(len(labels), -1)
    if keep.sum() < 3 or cov.shape[1] == 0 or len(np.unique(labels[keep])) < 2:
        return None
    a = np.asarray(a, dtype=np.float64)[keep][:, :max_columns]
    additive, products = interaction_design(cov[keep], labels[keep])
    exog = np.column_stack([additive, products])
    if np.linalg.matrix_rank(exog) < exog.shape[1] or len(a) - exog.shape[1] < a.shape[1] + 2:
        return None
    full = np.column_stack([(labels[keep] == s)[:, None] * np.column_stack(
        [np.ones(keep.sum()), cov[keep]]) for s in np.unique(labels[keep])])
    w = site_weights(a, full, labels[keep])
    contrast = np.zeros((products.shape[1], exog.shape[1]))
    contrast[:, additive.shape[1]:] = np.eye(products.shape[1])
    if a.shape[1] == 1:
        return float(sm.WLS(a[:, 0], exog, weights=w).fit().f_test(contrast).pvalue)
    root = np.sqrt(w)[:, None]
    try:
        test = MANOVA(a * root, exog * root).mv_test([("site x covariate", contrast)])
    except (ValueError, np.linalg.LinAlgError):  # e.g. blocks already free of the terms
        return None
    p = test.results["site x covariate"]["stat"].loc["Pillai's trace", "Pr > F"]
    return float(p) if np.isfinite(p) else None


def diagnose(x: np.ndarray, y: np.ndarray, labels: np.ndarray,
             covariates: np.ndarray | None, roles: tuple[str, str],
             covariate_names: list[str] | None = None) -> SiteStructure:
    """Site structure of blocks ``x`` and ``y`` (rows = subjects, ``labels`` their sites)."""
    labels = np.asarray(labels)
    sites, counts = np.unique(labels, return_counts=True)
    sizes = dict(zip(sites, counts.tolist(), strict=True))
    cov = np.zeros((len(labels), 0)) if covariates is None else np.asarray(covariates)
    blocks = []
    for role, a in zip(roles, (x, y), strict=True):
        blocks.append(BlockSites(role, {str(s): r for s, r in variance_ratios(a, labels).items()},
                                 dispersion_test(a, labels),
                                 interaction_test(a, cov, labels)))
    rx, ry = blocks[0].ratios, blocks[1].ratios
    return SiteStructure(blocks, len(sites), int(np.sum(counts < MIN_SITE)),
                         inflation(rx, ry, {str(s): n for s, n in sizes.items()}),
                         list(covariate_names or []))
