"""Our own prose for the LaTeX corpus: sentences, tables and papers with their answers.

Nothing here is copied from a paper: the sentences were written for this corpus, the numbers
are made up, and the people are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SENTENCES = [
    "Cortical thickness varies across the lifespan in ways that imaging genetics can only "
    "partly explain.",
    "We pair each structural scan with a genotype panel and ask how much of the variance a "
    "joint model recovers.",
    "The gene branch reads dosages of common variants and compresses them into a short "
    "embedding.",
    "The imaging branch sees parcel-wise thickness values after site harmonisation.",
    "Both branches are trained with a contrastive objective that rewards agreement between "
    "the two views of one participant.",
    "Held-out sites never contribute to the scaler, the harmonisation model or the choice of "
    "the regularisation strength.",
    "A linear probe on the frozen embedding predicts fluid intelligence with a modest but "
    "stable effect size.",
    "Permutation tests with shuffled labels inside each site give the null distribution of "
    "every reported score.",
    "Sample sizes below a few hundred participants make the estimates too noisy to rank "
    "models reliably.",
    "The confounds include age, sex, scanner, head motion and the first ten genetic principal "
    "components.",
    "Residualising confounds on the training fold only avoids a subtle leak into the test "
    "estimate.",
    "Polygenic scores alone explain less than two percent of the variance in most cognitive "
    "phenotypes.",
    "Fusion helps most when the imaging signal is weak, for instance in the youngest age "
    "bracket.",
    "We report the area under the precision-recall curve because the diagnostic classes are "
    "unbalanced.",
    "Each experiment is repeated over five random seeds and the spread across seeds is shown "
    "as an interval.",
    "Grouped cross-validation keeps all scans of one participant on the same side of every "
    "split.",
    "Attention weights concentrate on a handful of parcels in the temporal and frontal lobes.",
    "The transcriptomic prior maps each parcel to the expression profile of the nearest "
    "tissue sample.",
    "Spatial autocorrelation inflates naive correlations between brain maps, so we use spin "
    "permutations.",
    "Longer genomic contexts improve the gene branch until the window reaches about eight "
    "thousand bases.",
    "Training on two cores takes about an hour per seed, which keeps the study within a "
    "modest budget.",
    "The smallest cohort contributes only forty participants and is therefore used for "
    "evaluation alone.",
    "Scanner upgrades in the middle of data collection appear as a step change in the raw "
    "thickness values.",
    "ComBat removes the mean and variance shift of each site while keeping the biological "
    "covariates.",
    "We release the code, the configuration files and the aggregate results but no "
    "participant-level data.",
    "Ablating the gene branch lowers the score by a margin comparable to the seed-to-seed "
    "spread.",
    "Ablating the imaging branch is far more damaging, which matches the earlier literature.",
    "Calibration curves show that the fused model is slightly overconfident at high scores.",
    "Temperature scaling on the validation fold removes most of the miscalibration.",
    "Effect sizes shrink when the analysis is restricted to participants of one ancestry "
    "group.",
    "The association between the embedding and the phenotype survives correction for "
    "multiple comparisons.",
    "Missing genotypes are imputed with a reference panel before any model sees them.",
    "Quality control removes scans with excessive motion and genotypes with low call rates.",
    "The resting-state branch summarises each time series with a small set of connectivity "
    "features.",
    "Sparse canonical correlation analysis finds a single mode linking symptom scores to "
    "connectivity.",
    "The mode generalises to the held-out site with a correlation about half its in-sample "
    "value.",
    "Shrinkage of the canonical correlation out of sample is expected and reported as such.",
    "Our comparison includes ridge regression, gradient boosting and the two foundation "
    "encoders.",
    "Ridge regression remains a strong baseline when the number of participants is small.",
    "Gradient boosting gains little from the embedding once the confounds are regressed out.",
    "Foundation encoders pretrained on unrelated cohorts transfer better than those trained "
    "from scratch.",
    "The learning curve flattens after roughly three thousand participants in every "
    "configuration.",
    "Some phenotypes are measured only at one site, which limits the grouped evaluation.",
    "A preregistered analysis plan fixed the primary outcome before the test folds were "
    "opened.",
    "Secondary analyses are exploratory and are labelled as such in every table.",
    "Figures show medians across seeds with interquartile ranges as shaded bands.",
    "The protocol follows the reporting checklist for neuroimaging prediction studies.",
    "Ethics approval covers secondary analysis of the shared cohorts under their data use "
    "agreements.",
    "Participants with a neurological diagnosis are excluded from the normative model.",
    "Normative deviations are computed as z-scores relative to age- and sex-matched "
    "references.",
    "Extreme deviations cluster in a small subset of participants rather than spreading "
    "evenly.",
    "A gene set enrichment test relates the attention map to cell-type marker genes.",
    "Marker genes of excitatory neurons are enriched among the most attended parcels.",
    "We caution that enrichment of this kind depends on the null model of the test.",
    "The pipeline writes every intermediate result with a checksum so runs can be audited.",
    "Hyperparameters are chosen by nested cross-validation with three inner folds.",
    "Early stopping monitors the validation loss with a patience of ten epochs.",
    "Dropout and weight decay together prevent the encoders from memorising the small "
    "cohorts.",
    "We found no benefit from larger embeddings beyond two hundred and fifty-six "
    "dimensions.",
    "Results on the replication cohort agree in sign with the discovery cohort for every "
    "outcome.",
]

MATH_SENTENCES = [
    r"The loss is $\mathcal{L} = -\sum_{i} \log \sigma(z_i^\top w_i / \tau)$ with temperature "
    r"$\tau = 0.07$.",
    r"Scores are compared at $\alpha = 0.05$ after a Bonferroni correction over $k$ outcomes.",
    r"The effect size is $\hat{\beta} \approx 0.12$ with a standard error below $0.02$.",
    r"We set $\lambda \in \{10^{-3}, 10^{-2}, 10^{-1}\}$ and keep the best value per fold.",
]

MODELS = ["Ridge", "Gradient boosting", "Gene encoder", "Imaging encoder", "Fusion (ours)",
          "Fusion, no prior", "Polygenic score", "Connectivity CCA"]


def paragraphs(rng: random.Random, n: int, math: bool = False) -> list[str]:
    """``n`` paragraphs of 4 to 7 sentences; a maths sentence in some when ``math``."""
    out = []
    for _ in range(n):
        picked = rng.sample(SENTENCES, k=rng.randint(4, 7))
        if math and rng.random() < 0.5:
            picked.insert(rng.randint(1, len(picked)), rng.choice(MATH_SENTENCES))
        out.append(" ".join(picked))
    return out


@dataclass
class Table:
    """A booktabs table: caption, header row, body rows (all text as printed)."""

    caption: str
    header: list[str]
    rows: list[list[str]]
    wide: bool = False  # spans both columns (table*)
    group_header: list[tuple[str, int]] | None = None  # a \multicolumn row above the header

    def latex(self, label: str, caption_prefix: str = "") -> str:
        cols = "l" + "r" * (len(self.header) - 1)
        env = "table*" if self.wide else "table"
        lines = [rf"\begin{{{env}}}[t]", r"\centering", rf"\caption{{{self.caption}}}",
                 rf"\label{{{label}}}", r"\small", rf"\begin{{tabular}}{{{cols}}}", r"\toprule"]
        if self.group_header:
            cells = []
            rules = []
            col = 1
            for text, span in self.group_header:
                cells.append(rf"\multicolumn{{{span}}}{{c}}{{{text}}}" if span > 1 else text)
                if text and span > 1:
                    rules.append(rf"\cmidrule(lr){{{col}-{col + span - 1}}}")
                col += span
            lines.append(" & ".join(cells) + r" \\")
            lines.append(" ".join(rules))
        lines.append(" & ".join(self.header) + r" \\")
        lines.append(r"\midrule")
        for row in self.rows:
            lines.append(" & ".join(c.replace("%", r"\%") for c in row) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", rf"\end{{{env}}}"]
        return "\n".join(lines)


def metric_table(rng: random.Random, caption: str, metrics: list[str], n_rows: int,
                 wide: bool = False, group: list[tuple[str, int]] | None = None) -> Table:
    rows = []
    for name in rng.sample(MODELS, k=n_rows):
        rows.append([name] + [f"{rng.uniform(0.5, 0.9):.3f}" for _ in metrics])
    return Table(caption, ["Model", *metrics], rows, wide, group)


@dataclass
class Section:
    title: str
    level: int = 1
    paragraphs: int = 2
    tables: list[Table] = field(default_factory=list)
    figure: str | None = None  # caption of a TikZ figure with labels inside
    math: bool = False


@dataclass
class Paper:
    """A paper's content and the answers a converter should find in its PDF."""

    name: str
    title: str
    authors: list[str]
    abstract: str
    sections: list[Section]
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv: str | None = None
    seed: int = 0
    extra: dict = field(default_factory=dict)
