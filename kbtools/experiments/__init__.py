"""The analysis core: cohort data, fold-safe preprocessing, analyses, and run logs."""
