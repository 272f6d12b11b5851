"""Cross-validation folds: identical for every experiment with the same seed and data.

Folds are row positions into ``cohort.subjects`` (all subjects, whatever modality they have;
a method restricts them to the subjects it can use). The default scheme is scikit-learn's
``StratifiedGroupKFold``: grouped by site (a site is never in both train and test) and
stratified by the phenotype, shuffled with the seed. Repeats (``n_repeats``) reshuffle with
seeds derived from the run seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError

Fold = tuple[np.ndarray, np.ndarray]

DEFAULT_SCHEME = "stratified_group_kfold"
GROUPED = ("stratified_group_kfold", "group_kfold")
STRATIFIED = ("stratified_group_kfold", "stratified_kfold")
DEFAULT_SITE_COLUMN = "site"
#: Smallest number of subjects per outer test fold.
MIN_SUBJECTS_PER_FOLD = 10


# ---------------------------------------------------------------------------------------------
# which columns hold the site and the fold groups (one answer for every step of a run)


def site_column(config: dict[str, Any]) -> str:
    """The subjects-table column holding the acquisition site (centre).

    ``preprocessing.site_column`` if set, else ``cv.group_by`` (folds grouped by site is the
    usual design), else ``site``. Residualization, ComBat, site blocks of the permutation test
    and site terms of held-out models all use this one column.
    """
    pre = config.get("preprocessing") or {}
    cv = config.get("cv") or {}
    return str(pre.get("site_column") or cv.get("group_by") or DEFAULT_SITE_COLUMN)


def group_column(config: dict[str, Any]) -> str:
    """The column folds are grouped by: ``cv.group_by``, else the site column."""
    return str((config.get("cv") or {}).get("group_by") or site_column(config))


def resolve_columns(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with ``preprocessing.site_column`` and (for grouped schemes)
    ``cv.group_by`` written out, so config_used.yaml says which columns the run used."""
    out = dict(config)
    pre = dict(out.get("preprocessing") or {})
    cv = dict(out.get("cv") or {})
    pre["site_column"] = site_column(config)
    if cv.get("scheme", DEFAULT_SCHEME) in GROUPED:
        cv["group_by"] = group_column(config)
    out["preprocessing"], out["cv"] = pre, cv
    return out


def _labels(values: pd.Series) -> np.ndarray:
    """Stratification labels: categories as they are; continuous values in quintiles."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 10:
        return pd.qcut(values, 5, labels=False, duplicates="drop").to_numpy()
    return pd.factorize(values)[0]


def _splitter(scheme: str, n_splits: int, seed: int) -> Any:
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    if scheme == "stratified_group_kfold":
        return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    if scheme == "stratified_kfold":
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    if scheme == "group_kfold":
        return GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    if scheme == "kfold":
        return KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    raise DataError(f"unknown cv scheme {scheme!r}",
                    hint="use stratified_group_kfold, stratified_kfold, group_kfold or kfold")


def _split(subjects: pd.DataFrame, positions: np.ndarray, cv_config: dict[str, Any],
           outcome: str | None, n_splits: int, seed: int, what: str) -> list[Fold]:
    scheme = cv_config.get("scheme", DEFAULT_SCHEME)
    rows = subjects.iloc[positions]
    y = None
    groups = None
    if scheme in STRATIFIED:
        strat = cv_config.get("stratify_by") or outcome
        if not strat:
            raise DataError(f"cv scheme {scheme} needs cv.stratify_by or an outcome",
                            hint="set cv.stratify_by (e.g. mdd) or use group_kfold")
        y = _labels(rows[strat])
    if scheme in GROUPED:
        group_col = cv_config.get("group_by", DEFAULT_SITE_COLUMN)
        groups = rows[group_col].to_numpy()
        n_groups = len(pd.unique(groups))
        if n_groups < n_splits:
            raise DataError(f"{what}: {n_groups} sites ({group_col!r}) for {n_splits} "
                            f"site-grouped folds", hint="use fewer folds or more sites")
    splitter = _splitter(scheme, n_splits, seed)
    dummy = np.zeros((len(positions), 1))
    folds = []
    for train, test in splitter.split(dummy, y, groups):
        if len(test) < MIN_SUBJECTS_PER_FOLD:
            raise DataError(f"{what}: a test fold has only {len(test)} subjects (fewer than "
                            f"{MIN_SUBJECTS_PER_FOLD})", hint="use fewer folds or more subjects")
        if y is not None and len(np.unique(y[train])) < 2:
            raise DataError(f"{what}: a training fold has one class of the stratification "
                            "column only", hint="use fewer folds or check the phenotype")
        folds.append((positions[np.sort(train)], positions[np.sort(test)]))
    return folds


def repeat_seeds(seed: int, n_repeats: int) -> list[int]:
    """Seed of each CV repeat: the run seed first, then integers derived from it."""
    extra = np.random.SeedSequence(seed).generate_state(max(0, n_repeats - 1), dtype=np.uint32)
    return [int(seed)] + [int(s) for s in extra]


def outer_folds(cohort: Any, cv_config: dict[str, Any] | None, outcome: str | None,
                seed: int) -> list[Fold]:
    """Outer folds as ``(train_positions, test_positions)`` into ``cohort.subjects``.

    With ``n_repeats > 1`` the repeats follow one another (``n_splits`` folds each).
    """
    cv_config = cv_config or {}
    n_splits = int(cv_config.get("n_splits", 5))
    positions = np.arange(len(cohort.subjects))
    folds: list[Fold] = []
    for r, s in enumerate(repeat_seeds(seed, int(cv_config.get("n_repeats", 1)))):
        folds += _split(cohort.subjects, positions, cv_config, outcome, n_splits, s,
                        f"outer cv (repeat {r + 1})")
    return folds


def first_repeat(cohort: Any, cv_config: dict[str, Any] | None, outcome: str | None,
                 seed: int) -> list[Fold]:
    """The outer folds of the first repeat only (disjoint test sets), for methods whose fold
    tests treat folds as independent: with ``n_repeats > 1`` a subject is tested once per
    repeat, and a test that combined the repeats' folds as independent would be too narrow.
    """
    return outer_folds(cohort, {**(cv_config or {}), "n_repeats": 1}, outcome, seed)


def repeat_note(cv_config: dict[str, Any] | None) -> list[str]:
    """The run's warning when ``cv.n_repeats`` asks for repeats :func:`first_repeat` drops."""
    repeats = int((cv_config or {}).get("n_repeats", 1))
    if repeats <= 1:
        return []
    return [f"cv.n_repeats: {repeats} is not used by this method: its fold tests combine "
            "folds as independent, which needs disjoint test sets, so it runs the first "
            "repeat's folds only"]


def distinct_folds(folds: list[Fold]) -> list[int]:
    """Indices of the folds whose test set no earlier fold had, in order.

    Repeats of site-grouped CV over few sites often repeat a partition (scikit-learn's
    ``StratifiedGroupKFold`` shuffles only groups that tie on their class balance), so a
    repeat can hold the very folds of the one before it. A test over folds must count such a
    fold once: a copy is no new evidence, and counting it twice halves the variance of the
    mean and doubles the degrees of freedom.
    """
    seen: set[bytes] = set()
    keep = []
    for k, (_, test) in enumerate(folds):
        key = np.sort(np.asarray(test)).tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(k)
    return keep


def inner(cohort: Any, train_positions: np.ndarray, cv_config: dict[str, Any] | None,
          outcome: str | None, seed: int) -> list[Fold]:
    """Inner folds for nested CV within one outer training fold (positions into subjects).

    Same scheme as the outer loop with ``cv.inner_splits`` folds (default 3).
    """
    cv_config = cv_config or {}
    n_splits = int(cv_config.get("inner_splits", 3))
    return _split(cohort.subjects, np.asarray(train_positions), cv_config, outcome, n_splits,
                  seed, "inner cv")
