"""``kbtools new KIND ID``: write a card from kbtools/templates/<kind>.yaml.

The card is written with ``status: template``: placeholders (TODO) are allowed there and the
validator only warns that the card is a template. Setting status to draft or complete turns
every placeholder left behind into an error.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from kbtools.errors import KBToolsError
from kbtools.kb import KINDS_BY_NAME, is_inside
from kbtools.yamlio import YAMLLoadError, load_file

#: Kinds ``new`` can write (runs are written by ``kbtools run-experiment``).
NEW_KINDS = ("model", "paper", "dataset", "registry", "experiment")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def template_text(kind: str) -> str:
    return resources.files("kbtools").joinpath("templates", f"{kind}.yaml").read_text("utf-8")


def schema_comment(root: Path, card: Path, schema: str) -> str:
    """The ``yaml-language-server`` line pointing at the schema, relative to the card."""
    packaged = Path(str(resources.files("kbtools.schemas").joinpath(f"{schema}.schema.json")))
    exported = root / "schemas" / f"{schema}.schema.json"
    target = packaged
    if root not in packaged.resolve().parents and exported.is_file():
        target = exported  # a KB that ran `kbtools schema export schemas`
    rel = os.path.relpath(target.resolve(), card.parent.resolve())
    return f"# yaml-language-server: $schema={Path(rel).as_posix()}\n"


def card_path(root: Path, kind: str, ident: str) -> Path:
    folder = KINDS_BY_NAME[kind].pattern.rsplit("/", 1)[0]
    return root / folder / f"{ident}.yaml"


def render(root: Path, kind: str, ident: str, today: dt.date) -> str:
    """The text of a new card."""
    text = template_text(kind)
    text = (text.replace("__ID__", ident).replace("__NAME__", ident)
            .replace("__TODAY__", today.isoformat()).replace("__YEAR__", str(today.year)))
    if kind == "experiment":
        text = text.replace("__METHOD__", _first_method())
        text = text.replace("  __DATA__\n", _data_block(root))
    return text


def method_recipes() -> dict[str, Any]:
    """Starting settings per analysis method (kbtools/templates/experiment_methods.yaml)."""
    from kbtools.yamlio import loads

    text = resources.files("kbtools").joinpath("templates", "experiment_methods.yaml")
    return loads(text.read_text("utf-8"))


def render_runnable_experiment(root: Path, ident: str, method: str, today: dt.date) -> str:
    """A config that runs as written: the method, data roles on a dataset card that has the
    tables the method reads, preprocessing, CV and modest parameters."""
    from kbtools.yamlio import dump

    recipes = method_recipes()
    if method not in recipes:
        raise KBToolsError(f"unknown method {method!r}",
                           hint=f"methods: {', '.join(recipes)}")
    recipe = recipes[method]
    dataset = _dataset_with(root, set(recipe["roles"].values()))
    config = {
        "id": ident, "name": ident.replace("_", " "), "status": "draft",
        "description": (f"{method} on the `{dataset}` dataset, with the starting settings of "
                        "`kbtools new`. Say here which question the analysis answers, then "
                        "adjust the roles, covariates and parameters."),
        "method": method,
        "data": {role: {"dataset": dataset, "table": table}
                 for role, table in recipe["roles"].items()},
        "preprocessing": recipe["preprocessing"], "cv": recipe["cv"],
        "outcome": recipe["outcome"], "params": recipe["params"], "seed": 0,
        "verified": False, "last_updated": today.isoformat(),
    }
    return dump(config)


def _dataset_tables(root: Path) -> list[tuple[str, list[str]]]:
    """(card id, table names) of the KB's dataset cards, synthetic_cohort first; cards that
    link out of the KB or do not load are skipped (never read)."""
    candidates = sorted(p for p in (root / "kb" / "datasets").glob("*.yaml")
                        if is_inside(root, p))
    candidates.sort(key=lambda p: p.stem != "synthetic_cohort")
    found = []
    for path in candidates:
        try:
            card = load_file(path)
        except (OSError, YAMLLoadError):
            continue
        storage = card.get("storage") if isinstance(card, dict) else None
        tables = storage.get("tables") if isinstance(storage, dict) else None
        if isinstance(tables, dict) and tables:
            found.append((path.stem, [str(name) for name in tables]))
    return found


def _dataset_with(root: Path, tables: set[str]) -> str:
    """The first dataset card (synthetic_cohort first) whose storage has all ``tables``."""
    from kbtools.config_rules.builtin_datasets import SYNTHETIC_COHORT, builtin_tables

    for dataset, names in _dataset_tables(root):
        if tables <= set(names):
            return dataset
    if tables <= set(builtin_tables(SYNTHETIC_COHORT)):
        return SYNTHETIC_COHORT  # built in: runs generate it, no card needed in the KB
    raise KBToolsError(
        f"no dataset card of this KB has the tables {', '.join(sorted(tables))}",
        hint="add the synthetic cohort's card (kb/datasets/synthetic_cohort.yaml in the kbtools "
             "repository), or write the config with `kbtools new experiment ID` and name "
             "your own tables")


def new_card(root: Path, kind: str, ident: str, today: dt.date | None = None,
             method: str | None = None) -> Path:
    """Write the card; refuse an invalid id or an existing file (:class:`KBToolsError`).

    With ``method`` (experiments only) the config is complete and runnable, not a template.
    """
    if method is not None and kind != "experiment":
        raise KBToolsError("--method is for experiment configs",
                           hint="kbtools new experiment ID --method METHOD")
    if kind not in NEW_KINDS:
        raise KBToolsError(f"cannot create a {kind} with `new`",
                           hint=f"kinds: {', '.join(NEW_KINDS)} (runs come from run-experiment)")
    if not ID_PATTERN.match(ident) or len(ident) > 120:
        raise KBToolsError(f"invalid id {ident!r}",
                           hint="use lower-case letters, digits, '_', '-' and '.', "
                                "starting with a letter or digit")
    path = card_path(root, kind, ident)
    if path.exists():
        raise KBToolsError(f"{path.relative_to(root)} already exists; not overwriting it",
                           hint="pick another id, or edit the existing card")
    day = today or dt.date.today()
    body = render_runnable_experiment(root, ident, method, day) if method else render(
        root, kind, ident, day)
    text = schema_comment(root, path, KINDS_BY_NAME[kind].schema) + body
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(text)
    except FileExistsError:
        raise KBToolsError(f"{path.relative_to(root)} already exists; not overwriting it") \
            from None
    return path


def _first_method() -> str:
    from kbtools.schemas import load_schema

    return load_schema("experiment_config")["properties"]["method"]["enum"][0]


def _data_block(root: Path) -> str:
    """A data role pointing at an existing dataset table, so the new config resolves."""
    found = _dataset_tables(root)
    dataset, table = (found[0][0], found[0][1][0]) if found else ("synthetic_cohort", "subjects")
    return f"  {table}:\n    dataset: {dataset}\n    table: {table}\n"
