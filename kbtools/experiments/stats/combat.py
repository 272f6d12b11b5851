"""ComBat harmonisation (location/scale batch correction with empirical Bayes) as an estimator.

Model (Biostatistics 8:118, 2007; adapted to imaging in NeuroImage 167:104, 2018): for
feature v, subject i at site s,
``x_iv = alpha_v + z_i' beta_v + gamma_sv + sqrt(delta_sv) * e_iv``. ``fit`` estimates alpha,
beta (covariate effects, preserved) and the pooled variance on the training subjects, then the
site effects gamma/delta shrunk by parametric empirical Bayes. ``transform`` removes the site
effects from any subjects, keeping the training covariate effects. The estimates follow the
conventions of neuroCombat/neuroHarmonize (tested against neuroHarmonize).

Unseen sites (every test site under site-grouped CV): with ``new_sites="estimate"`` the new
site's gamma/delta are estimated from that site's own (unlabelled) features after removing the
*training* alpha, beta and variance, with empirical Bayes priors across its features, as
neuroHarmonize does when a model is extended to new sites. The site's labels are never used;
covariates given to ComBat must not include the outcome. ``new_sites="error"`` refuses them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def _aprior(delta_hat: np.ndarray) -> np.ndarray:
    m = delta_hat.mean(axis=1)
    s2 = delta_hat.var(axis=1, ddof=1)
    return (2 * s2 + m**2) / s2


def _bprior(delta_hat: np.ndarray) -> np.ndarray:
    m = delta_hat.mean(axis=1)
    s2 = delta_hat.var(axis=1, ddof=1)
    return (m * s2 + m**3) / s2


def _eb_site(s_site: np.ndarray, conv: float = 1e-4,
             max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """gamma_hat, delta_hat, gamma_star, delta_star of one site from its standardized rows."""
    n = s_site.shape[0]
    g_hat = s_site.mean(axis=0)
    d_hat = s_site.var(axis=0, ddof=1) if n > 1 else np.ones_like(g_hat)
    d_hat = np.where(d_hat == 0, 1.0, d_hat)
    if g_hat.size < 2:  # no features to borrow strength across: plain estimates
        return g_hat, d_hat, g_hat, d_hat
    g_bar = g_hat.mean()
    t2 = g_hat.var(ddof=1)
    a = float(_aprior(d_hat[None])[0])
    b = float(_bprior(d_hat[None])[0])
    g_old, d_old = g_hat.copy(), d_hat.copy()
    for _ in range(max_iter):
        g_new = (t2 * n * g_hat + d_old * g_bar) / (t2 * n + d_old)
        sum2 = ((s_site - g_new) ** 2).sum(axis=0)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = max(np.nanmax(np.abs(g_new - g_old) / np.abs(g_old)),
                         np.nanmax(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
        if change <= conv:
            break
    return g_hat, d_hat, g_old, d_old


class ComBat:
    """ComBat with ``fit(X, sites, covariates)`` on training subjects and ``transform``.

    ``covariates`` are numeric columns whose effects are preserved (e.g. age, sex); never the
    outcome being predicted. ``eb=False`` uses the plain per-site estimates.
    """

    def __init__(self, *, eb: bool = True,
                 new_sites: Literal["estimate", "error"] = "estimate") -> None:
        self.eb = eb
        self.new_sites = new_sites

    @staticmethod
    def _inputs(x, sites, covariates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=float)
        sites = np.asarray(sites)
        if sites.shape[0] != x.shape[0]:
            raise ValueError("sites and X differ in length")
        cov = (np.zeros((x.shape[0], 0)) if covariates is None
               else np.asarray(covariates, dtype=float).reshape(x.shape[0], -1))
        if not (np.isfinite(x).all() and np.isfinite(cov).all()):
            raise ValueError("ComBat input contains NaN or inf")
        return x, sites, cov

    def fit(self, x, sites, covariates=None) -> ComBat:
        x, sites, cov = self._inputs(x, sites, covariates)
        self.sites_, site_idx, counts = np.unique(sites, return_inverse=True, return_counts=True)
        if (counts < 2).any():
            bad = self.sites_[counts < 2].tolist()
            raise ValueError(f"ComBat needs at least 2 training subjects per site; sites {bad}")
        n, n_sites = x.shape[0], self.sites_.size
        design = np.hstack([np.eye(n_sites)[site_idx], cov])
        b_hat, *_ = np.linalg.lstsq(design, x, rcond=None)
        self.grand_mean_ = (counts / n) @ b_hat[:n_sites]
        self.beta_ = b_hat[n_sites:]
        self.var_pooled_ = ((x - design @ b_hat) ** 2).mean(axis=0)
        self.var_pooled_ = np.where(self.var_pooled_ == 0, 1.0, self.var_pooled_)
        s = self._standardize(x, cov)
        gamma, delta = [], []
        for k in range(n_sites):
            g_hat, d_hat, g_star, d_star = _eb_site(s[site_idx == k])
            gamma.append(g_star if self.eb else g_hat)
            delta.append(d_star if self.eb else d_hat)
        self.gamma_ = np.array(gamma)
        self.delta_ = np.array(delta)
        return self

    def _standardize(self, x: np.ndarray, cov: np.ndarray) -> np.ndarray:
        return (x - self.grand_mean_ - cov @ self.beta_) / np.sqrt(self.var_pooled_)

    def transform(self, x, sites, covariates=None) -> np.ndarray:
        x, sites, cov = self._inputs(x, sites, covariates)
        s = self._standardize(x, cov)
        out = np.empty_like(s)
        known = {site: k for k, site in enumerate(self.sites_.tolist())}
        unseen = sorted({v for v in sites.tolist() if v not in known}, key=str)
        if unseen and self.new_sites == "error":
            raise ValueError(f"sites not seen in training: {unseen}")
        for site in np.unique(sites):
            rows = sites == site
            if site in known:
                g, d = self.gamma_[known[site]], self.delta_[known[site]]
            else:
                if rows.sum() < 2:
                    raise ValueError(f"unseen site {site!r} has fewer than 2 subjects: its "
                                     "location/scale cannot be estimated")
                g_hat, d_hat, g_star, d_star = _eb_site(s[rows])
                g, d = (g_star, d_star) if self.eb else (g_hat, d_hat)
            out[rows] = (s[rows] - g) / np.sqrt(d)
        return out * np.sqrt(self.var_pooled_) + self.grand_mean_ + cov @ self.beta_

    def fit_transform(self, x, sites, covariates=None) -> np.ndarray:
        return self.fit(x, sites, covariates).transform(x, sites, covariates)
