"""Cohort data: the tables an experiment config names, read, joined by subject id and checked.

A config's ``data`` maps roles to a dataset card and one of its tables. The role ``subjects``
is the subjects (manifest) table: one row per subject with site, covariates and phenotypes.
Every other role is a *block*: numeric features of one modality indexed by subject id. A block
may lack some subjects (missing modality); :attr:`Cohort.inventory` counts them.

Tables come from a card's ``storage.tables`` (CSV or Parquet, path relative to the KB root or
absolute), from ``--data ROLE=PATH`` overrides, or from a built-in generator
(``storage.generator``), whose tables are cached outside the KB.

Problems in the data raise :class:`kbtools.errors.DataError` naming table, column and count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError

SUBJECTS_ROLE = "subjects"
ID_NAME = "subject_id"
#: Smallest number of subjects a site may have (smaller sites cannot be residualized or shown).
MIN_SUBJECTS_PER_SITE = 10
#: Smallest number of subjects per outer test fold.
MIN_SUBJECTS_PER_FOLD = 10


@dataclass
class Cohort:
    """Subjects, feature blocks, a missingness inventory and what was read from where."""

    subjects: pd.DataFrame
    """Index: subject id (str, name ``subject_id``); columns: site, covariates, phenotypes."""
    blocks: dict[str, pd.DataFrame]
    """Role -> numeric features indexed by subject id (subset of ``subjects.index``)."""
    inventory: dict[str, Any] = field(default_factory=dict)
    """Missingness: ``n_subjects``, ``n_complete`` and per role ``present``/``missing``."""
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Role -> dataset, table, path, sha256, bytes, rows, generated (recorded in run.yaml)."""

    @property
    def roles(self) -> list[str]:
        """Block roles in config order."""
        return list(self.blocks)

    def complete_ids(self, roles: list[str] | None = None) -> pd.Index:
        """Subject ids (in subjects-table order) present in every block of ``roles``."""
        ids = self.subjects.index
        for role in roles if roles is not None else self.roles:
            ids = ids[ids.isin(self.blocks[role].index)]
        return ids

    def positions(self, ids: pd.Index) -> np.ndarray:
        """Row positions of ``ids`` in :attr:`subjects`."""
        pos = self.subjects.index.get_indexer(ids)
        if (pos < 0).any():
            raise KeyError("some ids are not in the subjects table")
        return pos

    def block_at(self, role: str, positions: np.ndarray) -> pd.DataFrame:
        """Rows of block ``role`` for the subjects at ``positions`` (all must have the block)."""
        return self.blocks[role].loc[self.subjects.index[positions]]


# ---------------------------------------------------------------------------------------------
# reading tables


def file_facts(path: Path) -> dict[str, Any]:
    """sha256 and size of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _format_of(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return "csv"
    raise DataError(f"cannot tell the format of {path.name}", path=str(path),
                    hint="use a .csv or .parquet file, or set `format` in the dataset card")


def read_table(path: Path, id_column: str, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV/Parquet table and index it by ``id_column`` as strings (name ``subject_id``)."""
    if not path.is_file():
        raise DataError("table file not found", path=str(path),
                        hint="check the dataset card's storage.tables path "
                             "or pass --data ROLE=PATH")
    kind = _format_of(path, fmt)
    try:
        if kind == "parquet":
            df = pd.read_parquet(path)
            if id_column not in df.columns and df.index.name == id_column:
                df = df.reset_index()
        else:
            sep = "\t" if path.name.lower().endswith(".tsv") else ","
            df = pd.read_csv(path, sep=sep, dtype={id_column: str}, low_memory=False)
    except DataError:
        raise
    except Exception as exc:  # parser errors from pandas/pyarrow
        raise DataError(f"cannot read {kind} table: {exc}", path=str(path)) from None
    if id_column not in df.columns:
        shown = ", ".join(map(str, df.columns[:8])) + (", ..." if df.shape[1] > 8 else "")
        raise DataError(f"no subject-id column {id_column!r} (columns: {shown})",
                        path=str(path), hint="set `id_column` in the dataset card's table entry")
    ids = df[id_column]
    if ids.isna().any():
        raise DataError(f"column {id_column!r}: {int(ids.isna().sum())} rows have no subject id",
                        path=str(path), hint="drop rows without an id")
    df.index = pd.Index(ids.astype(str).str.strip(), name=ID_NAME)
    df = df.drop(columns=[id_column])
    dup = df.index.duplicated(keep=False)
    if dup.any():
        raise DataError(f"column {id_column!r}: {int(df.index[dup].nunique())} subject ids occur "
                        f"more than once ({int(dup.sum())} rows)", path=str(path),
                        hint="keep one row per subject")
    return df


# ---------------------------------------------------------------------------------------------
# data checks


def _table_label(role: str, source: dict[str, Any]) -> str:
    return f"table {source.get('table', role)!r} (role {role})"


def check_features(df: pd.DataFrame, role: str, source: dict[str, Any]) -> pd.DataFrame:
    """Numeric, finite, non-constant features; returns them as float64."""
    label = _table_label(role, source)
    where = source.get("path")
    if df.shape[1] == 0:
        raise DataError(f"{label}: no feature columns", path=where,
                        hint="check feature_prefix / feature_columns in the dataset card")
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
                   or pd.api.types.is_bool_dtype(df[c])]
    if non_numeric:
        raise DataError(f"{label}: {len(non_numeric)} non-numeric feature column(s), first "
                        f"{non_numeric[0]!r}", path=where,
                        hint="features must be numbers; list only numeric columns in "
                             "feature_columns or use feature_prefix")
    values = df.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        per_col = bad.sum(axis=0)
        cols = np.flatnonzero(per_col)
        first = df.columns[cols[0]]
        raise DataError(f"{label}: {int(bad.sum())} NaN/inf value(s) in {len(cols)} column(s); "
                        f"column {first!r} has {int(per_col[cols[0]])}", path=where,
                        hint="impute or drop these values before the run (missing modalities: "
                             "leave the subject's row out of this table)")
    if len(values) > 1:
        constant = np.flatnonzero(np.ptp(values, axis=0) == 0)
        if constant.size:
            raise DataError(f"{label}: {constant.size} constant column(s), first "
                            f"{df.columns[constant[0]]!r}", path=where,
                            hint="drop columns that do not vary; they carry no information")
    return pd.DataFrame(values, index=df.index, columns=[str(c) for c in df.columns])


def _needed_subject_columns(config: dict[str, Any]) -> dict[str, str]:
    """Column -> why it is needed."""
    pre = config.get("preprocessing") or {}
    cv = config.get("cv") or {}
    need: dict[str, str] = {}
    for c in pre.get("covariates") or []:
        need[c] = "covariate"
    if pre.get("site_onehot") or cv.get("scheme", "stratified_group_kfold") in (
            "stratified_group_kfold", "group_kfold"):
        need[cv.get("group_by", "site")] = "site/group"
    if config.get("outcome"):
        need[config["outcome"]] = "outcome"
    if cv.get("stratify_by") or cv.get("scheme", "stratified_group_kfold").startswith("stratified"):
        strat = cv.get("stratify_by") or config.get("outcome")
        if strat:
            need[strat] = "stratification"
    return need


def check_subjects(subjects: pd.DataFrame, config: dict[str, Any], source: dict[str, Any]) -> None:
    """Columns the config uses exist, are complete, and can be split as configured."""
    label = _table_label(SUBJECTS_ROLE, source)
    where = source.get("path")
    need = _needed_subject_columns(config)
    for col, why in need.items():
        if col not in subjects.columns:
            raise DataError(f"{label}: no column {col!r} (needed as {why})", path=where,
                            hint=f"add the column or change the config ({why})")
        n_missing = int(subjects[col].isna().sum())
        if n_missing:
            raise DataError(f"{label}: column {col!r} has {n_missing} missing value(s)",
                            path=where, hint="drop or impute these subjects before the run")
        if why == "covariate" and not pd.api.types.is_numeric_dtype(subjects[col]):
            raise DataError(f"{label}: covariate column {col!r} is not numeric", path=where,
                            hint="code it as numbers (e.g. sex as 0/1)")
    for col, why in need.items():
        if why in ("outcome", "stratification"):
            n_classes = subjects[col].nunique()
            if n_classes < 2:
                raise DataError(f"{label}: column {col!r} ({why}) has one class only "
                                f"({len(subjects)} subjects)", path=where,
                                hint="a phenotype needs at least two classes")
    cv = config.get("cv") or {}
    n_splits = int(cv.get("n_splits", 5))
    group = cv.get("group_by", "site")
    if group in subjects.columns and group in need:
        sizes = subjects[group].value_counts()
        small = sizes[sizes < MIN_SUBJECTS_PER_SITE]
        if len(small):
            raise DataError(f"{label}: column {group!r}: {len(small)} site(s) have fewer than "
                            f"{MIN_SUBJECTS_PER_SITE} subjects", path=where,
                            hint="merge small sites or drop them; site effects cannot be "
                                 "estimated (or shown) from so few subjects")
        if cv.get("scheme", "stratified_group_kfold") in ("stratified_group_kfold",
                                                           "group_kfold") \
                and len(sizes) < n_splits:
            raise DataError(f"{label}: column {group!r} has {len(sizes)} sites but cv.n_splits "
                            f"is {n_splits}", path=where,
                            hint="site-grouped folds need at least as many sites as folds")
    if len(subjects) < n_splits * MIN_SUBJECTS_PER_FOLD:
        raise DataError(f"{label}: {len(subjects)} subjects are too few for {n_splits} folds "
                        f"(need {MIN_SUBJECTS_PER_FOLD} per fold)", path=where,
                        hint="lower cv.n_splits or use more subjects")


# ---------------------------------------------------------------------------------------------
# loading


def _load_card(kb_root: Path, dataset: str) -> tuple[dict[str, Any], Path]:
    from kbtools.yamlio import YAMLLoadError, load_file

    path = kb_root / "kb" / "datasets" / f"{dataset}.yaml"
    if not path.is_file():
        raise DataError(f"dataset card {dataset!r} not found", path=str(path),
                        hint="check the config's data.<role>.dataset id")
    try:
        card = load_file(path)
    except YAMLLoadError as exc:
        raise DataError(f"cannot read dataset card: {exc.message}", path=str(path)) from None
    if not isinstance(card, dict):
        raise DataError("dataset card is not a mapping", path=str(path))
    return card, path


def _select_features(df: pd.DataFrame, spec: dict[str, Any], role: str,
                     source: dict[str, Any]) -> pd.DataFrame:
    if spec.get("feature_columns"):
        cols = list(spec["feature_columns"])
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{_table_label(role, source)}: {len(missing)} listed feature "
                            f"column(s) missing, first {missing[0]!r}", path=source.get("path"),
                            hint="fix feature_columns in the dataset card")
        return df[cols]
    if spec.get("feature_prefix"):
        cols = [c for c in df.columns if str(c).startswith(spec["feature_prefix"])]
        return df[cols]
    return df


def _resolve_table(role: str, entry: dict[str, Any], kb_root: Path,
                   overrides: dict[str, Path], seed: int | None,
                   cards: dict[str, tuple[dict[str, Any], Path]]) -> tuple[Path, dict[str, Any],
                                                                           dict[str, Any]]:
    """The file of one role, its table spec and its source record."""
    dataset, table = entry["dataset"], entry["table"]
    if dataset not in cards:
        cards[dataset] = _load_card(kb_root, dataset)
    card, card_path = cards[dataset]
    storage = card.get("storage") or {}
    tables = storage.get("tables") or {}
    spec = dict(tables.get(table) or {})
    source: dict[str, Any] = {"role": role, "dataset": dataset, "table": table,
                              "generated": False}
    if role in overrides:
        path = Path(overrides[role]).expanduser().resolve()
        spec.pop("format", None)
    else:
        if table not in tables:
            raise DataError(f"dataset card {dataset!r} has no table {table!r} "
                            f"(tables: {', '.join(tables) or 'none'})", path=str(card_path),
                            hint="fix the config's data.<role>.table")
        if "path" not in spec:
            raise DataError(f"table {table!r} has no path", path=str(card_path))
        generator = storage.get("generator")
        if generator:
            from kbtools.experiments import synth

            params = dict(generator.get("params") or {})
            if "seed" not in params and seed is not None:
                params["seed"] = int(seed)
            folder = synth.ensure_cached(generator["name"], params)
            path = folder / spec["path"]
            source["generated"] = True
            source["generator"] = {"name": generator["name"], "params": params}
        else:
            path = Path(spec["path"]).expanduser()
            if not path.is_absolute():
                path = kb_root / path
            if not path.is_file():
                raise DataError(f"table {table!r} of dataset {dataset!r}: file not found",
                                path=str(path),
                                hint=f"put the file there or pass --data {role}=PATH")
    spec.setdefault("id_column", ID_NAME)
    source["path"] = (f"<generated:{source['generator']['name']}>/{path.name}"
                      if source["generated"] else str(path))
    return path, spec, source


def load_cohort(config: dict[str, Any], kb_root: Path,
                data_overrides: dict[str, Path] | None = None,
                seed: int | None = None) -> Cohort:
    """Read, join and check the tables of ``config['data']``.

    ``data_overrides`` maps roles to files replacing the card's table (``--data ROLE=PATH``).
    ``seed`` seeds a generator whose card params give none.
    """
    overrides = {k: Path(v) for k, v in (data_overrides or {}).items()}
    data = config.get("data") or {}
    unknown = sorted(set(overrides) - set(data))
    if unknown:
        raise DataError(f"--data names role(s) {', '.join(unknown)} that the config does not "
                        f"have (roles: {', '.join(data)})", hint="use one of the config's roles")
    if SUBJECTS_ROLE not in data:
        raise DataError(f"config data has no {SUBJECTS_ROLE!r} role",
                        hint="add data.subjects: {dataset: ..., table: ...} (the subjects table "
                             "with site, covariates and phenotypes)")
    cards: dict[str, tuple[dict[str, Any], Path]] = {}
    sources: dict[str, dict[str, Any]] = {}
    frames: dict[str, pd.DataFrame] = {}
    for role, entry in data.items():
        path, spec, source = _resolve_table(role, entry, kb_root, overrides, seed, cards)
        df = read_table(path, spec["id_column"], spec.get("format"))
        source.update(file_facts(path))
        source["rows"] = len(df)
        sources[role] = source
        frames[role] = df if role == SUBJECTS_ROLE else _select_features(df, spec, role, source)

    subjects = frames.pop(SUBJECTS_ROLE)
    check_subjects(subjects, config, sources[SUBJECTS_ROLE])
    blocks: dict[str, pd.DataFrame] = {}
    roles_inv: dict[str, dict[str, int]] = {}
    for role, df in frames.items():
        block = check_features(df, role, sources[role])
        inside = block.index.isin(subjects.index)
        block = block[inside]
        # keep subjects-table order so folds index blocks consistently
        block = block.loc[subjects.index[subjects.index.isin(block.index)]]
        blocks[role] = block
        roles_inv[role] = {"present": len(block), "missing": len(subjects) - len(block),
                           "unmatched": int((~inside).sum()), "features": block.shape[1]}
    cohort = Cohort(subjects=subjects, blocks=blocks, sources=sources)
    cohort.inventory = {"n_subjects": len(subjects),
                        "n_complete": len(cohort.complete_ids()),
                        "roles": roles_inv}
    if blocks and cohort.inventory["n_complete"] == 0:
        raise DataError("no subject has every modality (" + ", ".join(
            f"{r}: {v['present']} present" for r, v in roles_inv.items()) + ")",
            hint="check that the tables share subject ids")
    return cohort
