"""Cohort data: the tables an experiment config names, read, joined by subject id and checked.

A config's ``data`` maps roles to a dataset card and one of its tables. The role ``subjects``
is the subjects (manifest) table: one row per subject with site, covariates and phenotypes.
Every other role is a *block*: numeric features of one modality indexed by subject id. A block
may lack some subjects (missing modality); :attr:`Cohort.inventory` counts them.

Tables come from a card's ``storage.tables`` (CSV or Parquet, path relative to the KB root or
absolute), from ``--data ROLE=PATH`` overrides, or from a built-in generator
(``storage.generator``), whose tables are cached outside the KB.

The id column of a table is, in order: ``--id-column [ROLE=]COLUMN``, the card's
``id_column`` (when the file has it), ``subject_id``, or the one well-known id column the file
has (``eid``, ``participant_id``, ...). Ids are compared as text; integer-valued ids read as
floats (``1234567.0``, Parquet with NaN) are written as integers, so CSV and Parquet tables of
one cohort join.

Missing values (``preprocessing.impute`` and ``preprocessing.incomplete_subjects``): a row whose
features are all missing is a missing modality. Otherwise, by default, a missing value in a
column the run uses stops the run with every such column and its count. ``impute: mean|median``
lets feature NaNs through to a fold-safe imputer (fit on each training fold);
``incomplete_subjects: drop`` leaves out subjects with a missing site, covariate or outcome and
drops block rows with missing features (that modality becomes missing for the subject); the
inventory counts both.

Problems in the data raise :class:`kbtools.errors.DataError` naming table, column and count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbtools.errors import DataError
from kbtools.experiments import cv as cvmod
from kbtools.experiments.cv import MIN_SUBJECTS_PER_FOLD

SUBJECTS_ROLE = "subjects"
ID_NAME = "subject_id"
#: Id columns recognised without configuration (UK Biobank's ``eid`` among them).
KNOWN_ID_COLUMNS = ("subject_id", "eid", "participant_id", "subjectkey", "f.eid", "IID",
                    "src_subject_id")
IMPUTE_CHOICES = ("none", "mean", "median")
#: Smallest number of subjects a site may have (smaller sites cannot be residualized or shown).
MIN_SUBJECTS_PER_SITE = 10


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
    """Role -> dataset, table, path, file, id_column, sha256, bytes, rows, generated.

    ``path`` is the real location (for messages); run.yaml gets :func:`source_record`."""
    notes: list[str] = field(default_factory=list)
    """Things the run should say about how the data were read (recorded as warnings)."""

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
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")):
        return "csv"
    raise DataError(f"cannot tell the format of {path.name}", path=str(path),
                    hint="use a .csv, .tsv or .parquet file, or set `format` in the dataset "
                         "card")


def _separator(path: Path) -> str:
    """Tab for ``.tsv``/``.txt`` files whose first line has tabs, else comma."""
    name = path.name.lower()
    if name.endswith((".tsv", ".tsv.gz")):
        return "\t"
    if name.endswith(".txt"):
        with path.open("rb") as fh:
            first = fh.readline()
        return "\t" if b"\t" in first else ","
    return ","


def _check_file(path: Path) -> None:
    """A readable, non-empty regular file, or a DataError saying what it is instead."""
    if path.is_dir():
        raise DataError("this is a directory, not a table file", path=str(path),
                        hint="give the CSV or Parquet file inside it (e.g. "
                             f"{path / 'subjects.csv'})")
    if not path.exists():
        raise DataError("table file not found", path=str(path),
                        hint="check the dataset card's storage.tables path "
                             "or pass --data ROLE=PATH")
    if not path.is_file():
        raise DataError("this is not a regular file (a device, socket or pipe)",
                        path=str(path), hint="give a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataError("the table file is empty (0 bytes)", path=str(path),
                        hint="export the table again; a table needs a header row and one row "
                             "per subject")


def _parquet_header(path: Path) -> list[str] | None:
    """Column names of a Parquet file from its footer (None when it cannot be read: the full
    read then says what is wrong)."""
    try:
        import pyarrow.parquet as pq

        return [str(c) for c in pq.read_schema(path).names]
    except Exception:  # noqa: BLE001 - reported by the read itself
        return None


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path, columns=columns)
    except Exception as exc:  # pyarrow's errors say little about the file itself
        with path.open("rb") as fh:
            head = fh.read(4)
        what = ("it is not a Parquet file (no PAR1 magic bytes; a CSV renamed?)"
                if head != b"PAR1" else f"it is a damaged Parquet file ({exc})")
        raise DataError(f"cannot read the table: {what}", path=str(path),
                        hint="write it again with pandas.DataFrame.to_parquet, or give a "
                             "CSV file") from None
    if df.index.name is not None or not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()
    if df.empty:
        raise DataError(f"the table has {df.shape[1]} column(s) but no rows", path=str(path),
                        hint="write the rows too, or point at the right file")
    return df


def _csv_header(path: Path, sep: str) -> list[str]:
    """The column names of a delimited text file, or a DataError saying what the file is."""
    try:
        header = pd.read_csv(path, sep=sep, nrows=0)
    except pd.errors.EmptyDataError:
        raise DataError("the table file has no header row (only blank lines)", path=str(path),
                        hint="export the table with its column names in the first row") \
            from None
    except UnicodeDecodeError as exc:
        raise DataError(f"the table is not UTF-8 text (byte {exc.start}); is it a spreadsheet "
                        "or a binary file?", path=str(path),
                        hint="save it as CSV (UTF-8) or Parquet") from None
    columns = [str(c) for c in header.columns]
    if sep == "\t" and len(columns) == 1 and "," in columns[0]:
        raise DataError(f"{path.name} is named as tab-separated but its header has commas and "
                        "no tabs: it is a comma-separated file", path=str(path),
                        hint="rename it to .csv (or export it with tabs)")
    if sep == "," and len(columns) == 1 and "\t" in columns[0]:
        raise DataError(f"{path.name} is named .csv but its header has tabs and no commas: it "
                        "is a tab-separated file", path=str(path),
                        hint="rename it to .tsv (or export it with commas)")
    return columns


def _read_csv(path: Path, sep: str, id_column: str,
              columns: list[str] | None = None) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep=sep, dtype={id_column: str}, low_memory=False,
                         usecols=columns)
    except UnicodeDecodeError as exc:
        raise DataError(f"the table is not UTF-8 text (byte {exc.start})", path=str(path),
                        hint="save it as CSV (UTF-8) or Parquet") from None
    except Exception as exc:  # pandas parser errors (ragged rows, quoting)
        kind = "tab" if sep == "\t" else "comma"
        raise DataError(f"cannot read the table as {kind}-separated text: {exc}",
                        path=str(path), hint="check the delimiter and quoting; kbtools reads "
                                             ".csv as comma-separated and .tsv as "
                                             "tab-separated") from None
    if df.empty:
        raise DataError(f"the table has a header ({df.shape[1]} column(s)) but no rows",
                        path=str(path), hint="export the rows too, or point at the right file")
    return df


def normalise_ids(values: pd.Series) -> pd.Index:
    """Subject ids as stripped text; integer-valued numbers without a decimal part."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.floor(whole)).all():
            return pd.Index(values.map(lambda v: str(int(v))), name=ID_NAME)
    text = values.astype(str).str.strip()
    text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return pd.Index(text, name=ID_NAME)


def choose_id_column(columns: list[str], wanted: str | None, path: Path,
                     explicit: bool = False) -> str:
    """The id column of a table: ``wanted`` if present, else a well-known one (see module doc)."""
    if wanted and wanted in columns:
        return wanted
    shown = ", ".join(map(str, columns[:8])) + (", ..." if len(columns) > 8 else "")
    if wanted and explicit:
        raise DataError(f"no id column {wanted!r} (columns: {shown})", path=str(path),
                        hint="give the table's id column with --id-column ROLE=COLUMN (e.g. "
                             "--id-column subjects=eid) or `id_column` in the dataset card")
    known = [c for c in KNOWN_ID_COLUMNS if c in columns]
    if len(known) == 1:
        return known[0]
    if len(known) > 1:
        raise DataError(f"several id columns ({', '.join(known)}); which one joins the tables?",
                        path=str(path), hint="say it with --id-column ROLE=COLUMN or "
                                             "`id_column` in the dataset card")
    raise DataError(f"no subject-id column {wanted or ID_NAME!r} (columns: {shown})",
                    path=str(path),
                    hint="name the id column with --id-column ROLE=COLUMN (e.g. --id-column "
                         "subjects=eid) or `id_column` in the dataset card's table entry")


def read_table(path: Path, id_column: str | None = ID_NAME, fmt: str | None = None, *,
               explicit_id: bool = False,
               keep: Callable[[list[str]], list[str]] | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet table and index it by its id column (as text, name ``subject_id``).

    ``id_column`` is the wanted id column; when the file lacks it and ``explicit_id`` is false,
    a single well-known id column (``eid``, ...) is used instead (``df.attrs["id_column"]``
    says which). ``keep`` chooses, from the file's column names, the columns to read besides
    the id (a UK Biobank table has thousands; the run needs a few): they are read once, and
    nothing else is. ``df.attrs["header"]`` keeps every column name of the file.
    """
    _check_file(path)
    kind = _format_of(path, fmt)
    if kind == "parquet":
        header = _parquet_header(path)
        wanted = None
        if header is not None and keep is not None:
            column = choose_id_column(header, id_column, path, explicit_id)
            wanted = [column, *[c for c in keep(header) if c != column]]
        df = _read_parquet(path, wanted if wanted and set(wanted) <= set(header or []) else None)
        df.columns = [str(c) for c in df.columns]
        header = header if header is not None and wanted else list(df.columns)
        column = choose_id_column(list(df.columns), id_column, path, explicit_id)
    else:
        sep = _separator(path)
        header = _csv_header(path, sep)
        column = choose_id_column(header, id_column, path, explicit_id)
        wanted = None if keep is None else [column, *[c for c in keep(header) if c != column]]
        df = _read_csv(path, sep, column, wanted)
        df.columns = [str(c) for c in df.columns]
    ids = df[column]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        raise DataError(f"column {column!r}: {int(blank.sum())} rows have no subject id",
                        path=str(path), hint="drop rows without an id")
    df.index = normalise_ids(ids)
    df = df.drop(columns=[column])
    dup = df.index.duplicated(keep=False)
    if dup.any():
        raise DataError(f"column {column!r}: {int(df.index[dup].nunique())} subject ids occur "
                        f"more than once ({int(dup.sum())} rows)", path=str(path),
                        hint="keep one row per subject (e.g. one imaging instance)")
    df.attrs["id_column"] = column
    df.attrs["header"] = [c for c in header if c != column]
    return df


# ---------------------------------------------------------------------------------------------
# data checks


def _table_label(role: str, source: dict[str, Any]) -> str:
    return f"table {source.get('table', role)!r} (role {role})"


def _count_list(counts: pd.Series, limit: int = 8) -> str:
    """``col (n), col (n), ...`` of the largest counts, and how many more."""
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    shown = ", ".join(f"{c!r} ({int(n)})" for c, n in counts.iloc[:limit].items())
    more = len(counts) - limit
    return shown + (f" and {more} more column(s)" if more > 0 else "")


def missing_policy(config: dict[str, Any]) -> tuple[str, str]:
    """``(impute, incomplete_subjects)`` of a config's preprocessing (defaults none, error)."""
    pre = config.get("preprocessing") or {}
    return str(pre.get("impute", "none")), str(pre.get("incomplete_subjects", "error"))


_NAN_HINT = ("set preprocessing.impute: median (missing features are imputed within each "
             "training fold), or preprocessing.incomplete_subjects: drop (a subject with a "
             "missing feature loses this modality), or impute before the run")


def check_features(df: pd.DataFrame, role: str, source: dict[str, Any],
                   config: dict[str, Any] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Numeric, non-constant features as float64, and what was done about missing values.

    Rows with every feature missing are a missing modality (dropped, counted as
    ``empty_rows``). Other NaNs follow :func:`missing_policy`: an error listing every column
    and count; kept for a fold-safe imputer (``imputed_values``); or the row dropped
    (``incomplete_rows``). Infinite values are always an error.
    """
    label = _table_label(role, source)
    where = source.get("path")
    impute, incomplete = missing_policy(config or {})
    if df.shape[1] == 0:
        raise DataError(f"{label}: no feature columns", path=where,
                        hint="check feature_prefix / feature_columns in the dataset card")
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
                   or pd.api.types.is_bool_dtype(df[c])]
    if non_numeric:
        shown = ", ".join(map(repr, non_numeric[:5])) + (", ..." if len(non_numeric) > 5 else "")
        raise DataError(f"{label}: {len(non_numeric)} non-numeric feature column(s): {shown}",
                        path=where,
                        hint="features must be numbers; select the feature columns with "
                             "feature_prefix or feature_columns in the dataset card")
    frame = pd.DataFrame(df.to_numpy(dtype=np.float64), index=df.index,
                         columns=[str(c) for c in df.columns])
    inf = np.isinf(frame.to_numpy())
    if inf.any():
        raise DataError(f"{label}: {int(inf.sum())} infinite value(s) in "
                        f"{_count_list(pd.Series(inf.sum(axis=0), index=frame.columns))}",
                        path=where, hint="infinite values are never imputed; fix them in the "
                                         "table (often a division by zero upstream)")
    nan = frame.isna()
    empty = nan.all(axis=1)
    facts = {"empty_rows": int(empty.sum()), "incomplete_rows": 0, "imputed_values": 0}
    frame, nan = frame[~empty], nan[~empty]
    if frame.empty:
        raise DataError(f"{label}: every row has all features missing", path=where,
                        hint="check the file and the feature columns")
    partial = nan.any(axis=1)
    if partial.any():
        per_col = nan.sum(axis=0)
        if impute in ("mean", "median"):
            facts["imputed_values"] = int(per_col.sum())
            all_missing = per_col[per_col == len(frame)]
            if len(all_missing):
                raise DataError(f"{label}: column(s) with no value at all: "
                                f"{_count_list(all_missing)}", path=where,
                                hint="drop these columns; nothing can be imputed from them")
        elif incomplete == "drop":
            facts["incomplete_rows"] = int(partial.sum())
            frame = frame[~partial]
        else:
            raise DataError(f"{label}: {int(per_col.sum())} missing value(s) in "
                            f"{int((per_col > 0).sum())} column(s) of {int(partial.sum())} "
                            f"row(s): {_count_list(per_col)}", path=where, hint=_NAN_HINT)
    if len(frame) > 1:
        values = frame.to_numpy()
        with np.errstate(invalid="ignore"):
            spread = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
        constant = np.flatnonzero(spread == 0)
        if constant.size:
            raise DataError(f"{label}: {constant.size} constant column(s), first "
                            f"{frame.columns[constant[0]]!r}", path=where,
                            hint="drop columns that do not vary; they carry no information")
    return frame, facts


def subject_columns(config: dict[str, Any],
                    method_columns: dict[str, str] | None = None) -> dict[str, str]:
    """Columns of the subjects table the run uses -> why (site, covariate, outcome, ...).

    ``method_columns`` are the method's own (e.g. partial-correlation outcomes, ComBat
    covariates: :func:`kbtools.experiments.methods.method_subject_columns`); the runner passes
    them, so that loading data does not depend on the analysis methods.
    """
    pre = config.get("preprocessing") or {}
    cv = config.get("cv") or {}
    scheme = cv.get("scheme", cvmod.DEFAULT_SCHEME)
    need: dict[str, str] = {}
    for c in pre.get("covariates") or []:
        need[str(c)] = "covariate"
    if pre.get("site_onehot"):
        need.setdefault(cvmod.site_column(config), "site")
    if scheme in cvmod.GROUPED:
        need.setdefault(cvmod.group_column(config), "fold group")
    if config.get("outcome"):
        need.setdefault(str(config["outcome"]), "outcome")
    if scheme in cvmod.STRATIFIED:
        strat = cv.get("stratify_by") or config.get("outcome")
        if strat:
            need.setdefault(str(strat), "stratification")
    for col, why in (method_columns or {}).items():
        need.setdefault(col, why)
    return need


def check_subjects(subjects: pd.DataFrame, config: dict[str, Any], source: dict[str, Any],
                   method_columns: dict[str, str] | None = None) \
        -> tuple[pd.DataFrame, dict[str, int]]:
    """The subjects the run can use, and how many were left out for missing values.

    Columns the config uses must exist; missing values stop the run (every column listed
    with its count) unless ``preprocessing.incomplete_subjects: drop``. Then the folds must be
    possible: at least two classes, no site under 10 subjects, enough sites and subjects.
    """
    label = _table_label(SUBJECTS_ROLE, source)
    where = source.get("path")
    need = subject_columns(config, method_columns)
    absent = [c for c in need if c not in subjects.columns]
    if absent:
        header = list(source.get("header") or subjects.columns)
        shown = ", ".join(map(str, header[:12])) + (", ..." if len(header) > 12 else "")
        lines = "; ".join(f"{c!r} ({need[c]})" for c in absent)
        raise DataError(f"{label}: no column {lines} (columns: {shown})", path=where,
                        hint="rename the config's column (e.g. --set outcome=COLUMN, --set "
                             "cv.group_by=centre, --set preprocessing.covariates=[...]) or add "
                             "the column to the table")
    for col, why in need.items():
        if why == "covariate" and not pd.api.types.is_numeric_dtype(subjects[col]):
            raise DataError(f"{label}: covariate column {col!r} is not numeric", path=where,
                            hint="code it as numbers (e.g. sex as 0/1)")
    missing = subjects[list(need)].isna().sum()
    dropped = 0
    if missing.any():
        _, incomplete = missing_policy(config)
        rows = subjects[list(need)].isna().any(axis=1)
        if incomplete != "drop":
            raise DataError(f"{label}: {int(rows.sum())} subject(s) have a missing value in a "
                            f"column the run uses: {_count_list(missing)}", path=where,
                            hint="set preprocessing.incomplete_subjects: drop to leave these "
                                 "subjects out (the run counts them), or fill the values "
                                 "before the run")
        dropped = int(rows.sum())
        subjects = subjects[~rows]
    for col, why in need.items():
        if why in ("outcome", "stratification", "binary outcome", "continuous outcome"):
            n_classes = subjects[col].nunique()
            if n_classes < 2:
                raise DataError(f"{label}: column {col!r} ({why}) has one class only "
                                f"({len(subjects)} subjects)", path=where,
                                hint="a phenotype needs at least two classes")
    cv = config.get("cv") or {}
    n_splits = int(cv.get("n_splits", 5))
    site = cvmod.site_column(config)
    group = cvmod.group_column(config)
    for col in dict.fromkeys([site, group]):
        if col not in need:
            continue
        sizes = subjects[col].value_counts()
        small = sizes[sizes < MIN_SUBJECTS_PER_SITE]
        if len(small):
            raise DataError(f"{label}: column {col!r}: {len(small)} site(s) have fewer than "
                            f"{MIN_SUBJECTS_PER_SITE} subjects", path=where,
                            hint="merge small sites or drop them; site effects cannot be "
                                 "estimated (or shown) from so few subjects")
    if cv.get("scheme", cvmod.DEFAULT_SCHEME) in cvmod.GROUPED:
        n_groups = subjects[group].nunique()
        if n_groups < n_splits:
            raise DataError(f"{label}: column {group!r} has {n_groups} sites but cv.n_splits "
                            f"is {n_splits}", path=where,
                            hint="site-grouped folds need at least as many sites as folds")
    if len(subjects) < n_splits * MIN_SUBJECTS_PER_FOLD:
        raise DataError(f"{label}: {len(subjects)} subjects are too few for {n_splits} folds "
                        f"(need {MIN_SUBJECTS_PER_FOLD} per fold)", path=where,
                        hint="lower cv.n_splits or use more subjects")
    return subjects, {"dropped_incomplete": dropped}


# ---------------------------------------------------------------------------------------------
# loading


def _load_card(kb_root: Path, dataset: str) -> tuple[dict[str, Any], Path]:
    from kbtools.config_rules.builtin_datasets import builtin_card
    from kbtools.kb import resolve_inside
    from kbtools.yamlio import YAMLLoadError, load_file

    path = resolve_inside(kb_root, Path("kb") / "datasets" / f"{dataset}.yaml")
    builtin = builtin_card(dataset)
    if not path.is_file() and builtin is not None:
        return builtin, Path(f"<built-in dataset {dataset}>")
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
        if not cols:
            raise DataError(f"{_table_label(role, source)}: no column starts with "
                            f"feature_prefix {spec['feature_prefix']!r}",
                            path=source.get("path"), hint="fix feature_prefix in the dataset "
                                                          "card")
        return df[cols]
    return df


def _resolve_table(role: str, entry: dict[str, Any], kb_root: Path,
                   overrides: dict[str, Path], seed: int | None,
                   cards: dict[str, tuple[dict[str, Any], Path]]) -> tuple[Path, dict[str, Any],
                                                                           dict[str, Any]]:
    """The file of one role, its table spec and its source record."""
    from kbtools.kb import resolve_inside

    dataset, table = entry["dataset"], entry.get("table")
    if dataset not in cards:
        cards[dataset] = _load_card(kb_root, dataset)
    card, card_path = cards[dataset]
    storage = card.get("storage") or {}
    tables = storage.get("tables") or {}
    spec = dict(tables.get(table) or {})
    source: dict[str, Any] = {"role": role, "dataset": dataset,
                              **({"table": table} if table else {}),
                              "generated": False, "given_with_data": role in overrides}
    if role in overrides:
        path = Path(overrides[role]).expanduser().absolute()
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
            try:
                folder = synth.ensure_cached(generator["name"], params)
            except (ValueError, TypeError) as exc:
                raise DataError(f"the card's generator cannot make this cohort: {exc}",
                                path=str(card_path),
                                hint="fix storage.generator.params in the dataset card") \
                    from None
            path = folder / spec["path"]
            source["generated"] = True
            source["generator"] = {"name": generator["name"], "params": params}
        else:
            path = Path(spec["path"]).expanduser()
            # restricted data live outside the KB under an absolute path; a relative path is a
            # file of the KB and must stay inside it (symlinks included)
            path = path if path.is_absolute() else resolve_inside(kb_root, path)
            if not path.exists():
                raise DataError(f"table {table!r} of dataset {dataset!r}: file not found",
                                path=str(path),
                                hint=f"put the file there or pass --data {role}=PATH")
    source["path"] = str(path)
    return path, spec, source


def source_record(source: dict[str, Any], kb_root: Path,
                  record_names: bool = False) -> dict[str, Any]:
    """What run.yaml records about one input: never a location outside the KB.

    Role, dataset card, table, sha256, size, rows and id column always; ``path`` (and the file
    name) for a file inside the KB (relative to its root) or a generated table. For a file
    outside the KB its name too is left out (it can itself be sensitive: an application
    number, a case list), unless ``record_names`` (``--record-data-names``).
    """
    from kbtools.kb import is_inside

    record = {k: source[k] for k in ("role", "dataset", "table", "file", "id_column", "sha256",
                                     "bytes", "rows", "generated") if k in source}
    if source.get("generated"):
        record["path"] = f"<generated:{source['generator']['name']}>/{source['file']}"
    elif is_inside(kb_root, source["path"]):
        real = Path(source["path"]).resolve()
        record["path"] = real.relative_to(Path(kb_root).resolve()).as_posix()
    elif not record_names:
        record.pop("file", None)
    record["location"] = ("generated" if source.get("generated") else
                          "kb" if "path" in record else "outside the KB (not recorded)")
    return record


def _id_column_for(role: str, spec: dict[str, Any], id_columns: dict[str, str],
                   source: dict[str, Any]) -> tuple[str | None, bool]:
    """(wanted id column, whether it must be that one) for one role's table."""
    if role in id_columns:
        return id_columns[role], True
    if "*" in id_columns:
        return id_columns["*"], True
    if spec.get("id_column"):
        # the card describes its own file; a --data file may be keyed differently
        return str(spec["id_column"]), not source["given_with_data"]
    return ID_NAME, False


def _columns_of(role: str, spec: dict[str, Any], config: dict[str, Any],
                method_columns: dict[str, str] | None = None
                ) -> Callable[[list[str]], list[str]] | None:
    """Which columns of a role's table the run reads (None: all of them): the subjects
    table's columns the config and its method use; a feature table's listed or prefixed
    feature columns."""
    if role == SUBJECTS_ROLE:
        need = subject_columns(config, method_columns)
        return lambda header: [c for c in header if c in need]
    if spec.get("feature_columns"):
        listed = {str(c) for c in spec["feature_columns"]}
        return lambda header: [c for c in header if c in listed]
    if spec.get("feature_prefix"):
        prefix = str(spec["feature_prefix"])
        return lambda header: [c for c in header if c.startswith(prefix)]
    return None


def load_cohort(config: dict[str, Any], kb_root: Path,
                data_overrides: dict[str, Path] | None = None,
                seed: int | None = None, id_columns: dict[str, str] | None = None,
                method_columns: dict[str, str] | None = None) -> Cohort:
    """Read, join and check the tables of ``config['data']``.

    ``data_overrides`` maps roles to files replacing the card's table (``--data ROLE=PATH``);
    ``id_columns`` maps roles (or ``*`` for all) to their id column (``--id-column``).
    ``seed`` seeds a generator whose card params give none; ``method_columns`` are the
    subjects-table columns the method reads itself (checked like the config's own).
    """
    overrides = {k: Path(v) for k, v in (data_overrides or {}).items()}
    id_columns = dict(id_columns or {})
    data = config.get("data") or {}
    unknown = sorted(set(overrides) - set(data))
    unknown_ids = sorted(set(id_columns) - set(data) - {"*"})
    if unknown or unknown_ids:
        flag = "--data" if unknown else "--id-column"
        raise DataError(f"{flag} names role(s) {', '.join(unknown or unknown_ids)} that the "
                        f"config does not have (roles: {', '.join(data)})",
                        hint="use one of the config's roles")
    if SUBJECTS_ROLE not in data:
        raise DataError(f"config data has no {SUBJECTS_ROLE!r} role",
                        hint="add data.subjects: {dataset: ..., table: ...} (the subjects table "
                             "with site, covariates and phenotypes)")
    impute, _ = missing_policy(config)
    if impute not in IMPUTE_CHOICES:
        raise DataError(f"preprocessing.impute {impute!r} is not one of "
                        f"{', '.join(IMPUTE_CHOICES)}", hint="use none, mean or median")
    cards: dict[str, tuple[dict[str, Any], Path]] = {}
    sources: dict[str, dict[str, Any]] = {}
    frames: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for role, entry in data.items():
        path, spec, source = _resolve_table(role, entry, kb_root, overrides, seed, cards)
        wanted, explicit = _id_column_for(role, spec, id_columns, source)
        df = read_table(path, wanted, spec.get("format"), explicit_id=explicit,
                        keep=_columns_of(role, spec, config, method_columns))
        source["header"] = df.attrs.get("header")
        source["id_column"] = df.attrs["id_column"]
        if source["id_column"] != wanted:
            notes.append(f"table {entry.get('table') or path.name!r} (role {role}) has no "
                         f"{wanted!r} column; "
                         f"subjects were joined on its {source['id_column']!r} column")
        source["file"] = path.name
        source.update(file_facts(path))
        source["rows"] = len(df)
        sources[role] = source
        frames[role] = df if role == SUBJECTS_ROLE else _select_features(df, spec, role, source)

    subjects, dropped = check_subjects(frames.pop(SUBJECTS_ROLE), config,
                                       sources[SUBJECTS_ROLE], method_columns)
    site = cvmod.site_column(config)
    scheme = (config.get("cv") or {}).get("scheme", cvmod.DEFAULT_SCHEME)
    if scheme in cvmod.GROUPED and cvmod.group_column(config) != site:
        notes.append(f"folds are grouped by {cvmod.group_column(config)!r} (cv.group_by) while "
                     f"site effects use {site!r} (preprocessing.site_column)")
    header = sources[SUBJECTS_ROLE].get("header") or list(subjects.columns)
    if site != cvmod.DEFAULT_SITE_COLUMN and cvmod.DEFAULT_SITE_COLUMN in header \
            and site in subjects.columns:
        notes.append(f"site effects and site-grouped folds use column {site!r}; the subjects "
                     f"table's {cvmod.DEFAULT_SITE_COLUMN!r} column is not used (set "
                     "preprocessing.site_column to choose)")
    blocks: dict[str, pd.DataFrame] = {}
    roles_inv: dict[str, dict[str, int]] = {}
    for role, df in frames.items():
        block, facts = check_features(df, role, sources[role], config)
        inside = block.index.isin(subjects.index)
        block = block[inside]
        # keep subjects-table order so folds index blocks consistently
        block = block.loc[subjects.index[subjects.index.isin(block.index)]]
        blocks[role] = block
        roles_inv[role] = {"present": len(block), "missing": len(subjects) - len(block),
                           "unmatched": int((~inside).sum()), "features": block.shape[1],
                           **facts}
        if facts["empty_rows"]:
            notes.append(f"role {role}: rows with every feature missing are counted as a "
                         "missing modality")
    cohort = Cohort(subjects=subjects, blocks=blocks, sources=sources, notes=notes)
    cohort.inventory = {"n_subjects": len(subjects),
                        "n_complete": len(cohort.complete_ids()),
                        **dropped, "roles": roles_inv}
    if blocks and cohort.inventory["n_complete"] == 0:
        raise DataError("no subject has every modality (" + ", ".join(
            f"{r}: {v['present']} present" for r, v in roles_inv.items()) + ")",
            hint="check that the tables share subject ids (and their id columns: "
                 + ", ".join(f"{r}: {s['id_column']}" for r, s in sources.items()) + ")")
    return cohort
