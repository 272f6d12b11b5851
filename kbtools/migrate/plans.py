"""An experiment plan written in words becomes a config ``kbtools run-experiment`` can run.

The plan's own fields say which analysis (``analysis.method``, through the mapping's table of
method names), which data roles, covariates, cross-validation, permutations and outcome; the
method's starting settings (``kbtools new experiment --method``) fill the rest, and every value
the plan does not state is listed in the report, per plan. The plan's prose stays as it is.
Nothing happens to a config that already names a method (so a second run changes nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from kbtools.migrate import tree

SUBJECTS = "subjects"
STRATIFIED = ("stratified_group_kfold", "stratified_kfold")
GROUPED = ("stratified_group_kfold", "group_kfold")

Note = Callable[[str, tuple[str, ...], str], None]


def plan_to_config(data: CommentedMap, args: dict[str, Any], note: Note,
                   root: Path | None = None) -> None:
    """Fill ``method``, ``params``, ``preprocessing``, ``cv`` and ``outcome`` of one plan
    (``root``: the KB, whose subjects dataset card says which outcomes are binary)."""
    from kbtools.schemas import method_params_schema
    from kbtools.validation.scaffold import method_recipes

    if "method" in data:
        return
    recipes = method_recipes()
    named, method = _method(data, args, recipes)
    if method is None:
        said = f" (it says `{named}`)" if named else ""
        note("plan", ("method",), f"the plan names no analysis kbtools implements{said}: "
             f"write `method:` ({', '.join(recipes)}) by hand")
        return
    recipe = copy.deepcopy(recipes[method])
    roles = _roles(data, args.get("roles") or {}, recipe["roles"], note)
    cv = data.get("cv") if isinstance(data.get("cv"), dict) else None
    outcome = data.get("outcome")
    if outcome is None:
        outcome = (cv or {}).get("stratify_by")
        if outcome is not None:
            note("plan", ("outcome",), f"`{outcome}`, the column the plan stratifies folds by")
        else:
            outcome = recipe["outcome"]
            note("plan", ("outcome",), f"not in the plan: kbtools starting value `{outcome}` "
                 "(the outcome column of the subjects table)")
    kind = _outcome_type(root, data, str(outcome))
    known = set((method_params_schema(method) or {}).get("properties", {}))
    params = _rename_roles(recipe["params"], roles, keys=False)  # keys are arm names
    stated = {k: v for k, v in _stated(data, args.get("params") or {}).items() if k in known}
    if kind is not None and isinstance(params.get("outcomes"), list):
        stated["outcomes"] = [{"column": str(outcome), "type": kind}]
        note("plan", ("params", "outcomes"), f"`{outcome}` ({kind}, as the subjects' dataset "
             "card describes it)")
    params.update(stated)
    for name in params:
        if name not in stated:
            note("plan", ("params", name), f"not in the plan: kbtools starting value "
                 f"{_short(params[name])}")
    preprocessing = _rename_roles(recipe["preprocessing"], roles, keys=True)
    covariates = _first(data, args.get("covariates_from") or [])
    covariates = [str(c) for c in covariates] if isinstance(covariates, list) else []
    site_words = [str(w) for w in args.get("site_columns") or []]
    named_site = next((c for c in covariates if c.lower() in site_words), None)
    site = (cv or {}).get("group_by") or named_site
    if covariates:
        kept = [c for c in covariates if c != site]
        if len(kept) != len(covariates):
            note("plan", ("preprocessing", "covariates"), f"`{site}` is the site column: "
                 "its effect is removed by site_onehot, not as a covariate")
        preprocessing["covariates"] = kept
    scheme = (cv or {}).get("scheme") or (recipe["cv"]["scheme"] if cv is None else None)
    if site is None and scheme not in GROUPED and preprocessing.get("site_onehot"):
        preprocessing["site_onehot"] = False  # no site column to remove effects of
        note("plan", ("preprocessing", "site_onehot"), "false: the plan names no site column, "
             "so site effects are not removed (name it in preprocessing.site_column and set "
             "site_onehot: true)")
    for name in preprocessing:
        if name == "site_onehot" and site is None and scheme not in GROUPED:
            continue
        if name != "covariates" or not covariates:
            note("plan", ("preprocessing", name), f"not in the plan: kbtools starting value "
                 f"{_short(preprocessing[name])}")
    if kind == "continuous" and cv is not None and cv.get("scheme") in STRATIFIED:
        cv["scheme"] = "group_kfold" if cv.get("group_by") else "kfold"
        cv.pop("stratify_by", None)
        note("plan", ("cv", "scheme"), f"`{cv['scheme']}`: folds cannot be stratified by "
             f"`{outcome}`, a continuous outcome")
    _put(data, "method", method, near="description")
    note("plan", ("method",), f"`{method}`, from the plan's `{named}`")
    if "outcome" not in data:
        _put(data, "outcome", outcome, near="method")
    _fill_cv(data, recipe["cv"], outcome if kind != "continuous" else None, site, note)
    _put(data, "preprocessing", preprocessing, near="data")
    _put(data, "params", params, near="cv")


def _method(data: Any, args: dict[str, Any], recipes: dict[str, Any]
            ) -> tuple[str | None, str | None]:
    table = {str(k).lower(): str(v) for k, v in (args.get("methods") or {}).items()}
    for path in args.get("method_from") or []:
        value = tree.get(data, tree.parse_path(str(path)))
        if isinstance(value, str) and value.strip():
            word = value.strip()
            method = word if word in recipes else table.get(word.lower())
            if method in recipes:
                return word, method
            return word, None
    return None, None


def _roles(data: CommentedMap, names: dict[str, Any], wanted: dict[str, str],
           note: Note) -> dict[str, str]:
    """kbtools starting role -> the plan's role; the subjects role is renamed ``subjects``
    (the run reads site, covariates and outcome from the role of that name)."""
    roles = data.get("data") if isinstance(data.get("data"), dict) else {}
    out: dict[str, str] = {}
    for role in wanted:
        aliases = [role, *[str(n) for n in names.get(role) or []]]
        found = next((r for r in roles if str(r).lower() in aliases), None)
        if found is None:
            note("plan", ("data", role), f"the plan names no `{role}` data role "
                 f"({', '.join(aliases)}): add one naming a dataset card")
            out[role] = role
            continue
        if role == SUBJECTS and found != SUBJECTS:
            tree.rename(roles, found, SUBJECTS)
            note("plan", ("data", SUBJECTS), f"the plan's `{found}` role: its table holds the "
                 "subjects' site, covariates and outcome")
            found = SUBJECTS
        out[role] = str(found)
    return out


def _rename_roles(value: Any, roles: dict[str, str], keys: bool) -> Any:
    """The recipe's role names (``gene``, ``brain``) replaced by the plan's: in values, and
    in keys too when ``keys`` (``pca: {gene: 32}``; params keys are arm names)."""
    if isinstance(value, dict):
        return {roles.get(k, k) if keys and isinstance(k, str) else k:
                _rename_roles(v, roles, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_roles(v, roles, keys) for v in value]
    return roles.get(value, value) if isinstance(value, str) else value


def _stated(data: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """Method parameters the plan states: plan field -> parameter name (first one wins)."""
    out: dict[str, Any] = {}
    for path, name in sources.items():
        value = tree.get(data, tree.parse_path(str(path)))
        if value is not None and str(name) not in out:
            out[str(name)] = tree.plain(value)
    return out


def _first(data: Any, paths: list[Any]) -> Any:
    for path in paths:
        value = tree.get(data, tree.parse_path(str(path)))
        if value is not None:
            return tree.plain(value)
    return None


def _fill_cv(data: CommentedMap, recipe: dict[str, Any], outcome: Any, site: str | None,
             note: Note) -> None:
    cv = data.get("cv")
    if not isinstance(cv, dict):
        cv = {**recipe, **({"group_by": site} if site else {})}
        if outcome is None:  # a continuous outcome: folds are not stratified
            cv.pop("stratify_by", None)
            cv["scheme"] = "group_kfold" if cv.get("group_by") else "kfold"
        elif "stratify_by" in cv:
            cv["stratify_by"] = outcome
        _put(data, "cv", cv, near="preprocessing")
        shown = {k: v for k, v in cv.items() if not (k == "group_by" and site)}
        note("plan", ("cv",), f"not in the plan: kbtools starting value {_short(shown)}"
             + (f"; folds grouped by `{site}`, the site column the plan's covariates name"
                if site else ""))
        return
    scheme = cv.get("scheme")
    if scheme is None:
        scheme = recipe["scheme"] if "group_by" in cv else "stratified_kfold"
        cv["scheme"] = scheme
        note("plan", ("cv", "scheme"), f"not in the plan: `{scheme}`")
    wanted = {"n_splits": recipe.get("n_splits"), "inner_splits": recipe.get("inner_splits")}
    if scheme in GROUPED:
        wanted["group_by"] = site or recipe.get("group_by")
    if scheme in STRATIFIED:
        wanted["stratify_by"] = outcome
    for key, value in wanted.items():
        if value is not None and key not in cv:
            cv[key] = value
            note("plan", ("cv", key), f"not in the plan: `{value}`")


def _outcome_type(root: Path | None, data: Any, outcome: str) -> str | None:
    """``binary`` or ``continuous``, as the subjects role's dataset card lists the outcome among
    its phenotypes; None when no card says (cards linking out of the KB are never read)."""
    from kbtools.kb import is_inside
    from kbtools.yamlio import YAMLLoadError, load_file

    spec = tree.get(data, ("data", SUBJECTS))
    dataset = spec.get("dataset") if isinstance(spec, dict) else None
    if root is None or not isinstance(dataset, str):
        return None
    path = Path(root) / "kb" / "datasets" / f"{dataset}.yaml"
    if not path.is_file() or not is_inside(root, path):
        return None
    try:
        card = load_file(path)
    except (OSError, YAMLLoadError):
        return None
    for item in (card.get("phenotypes") if isinstance(card, dict) else None) or []:
        if isinstance(item, dict) and item.get("name") == outcome and item.get("type"):
            return "binary" if item["type"] == "binary" else "continuous"
    return None


def _put(data: CommentedMap, key: str, value: Any, near: str) -> None:
    if key in data:
        data[key] = tree.fresh(value)
        return
    keys = list(data)
    position = keys.index(near) + 1 if near in keys else len(keys)
    data.insert(position, key, tree.fresh(value))


def _short(value: Any) -> str:
    text = f"`{tree.plain(value)}`"
    return text if len(text) <= 80 else text[:77] + "...`"
