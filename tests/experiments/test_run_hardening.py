"""Run logs, round 2 (issue 18, item 5).

* no value of any run file holds a location outside the KB, however YAML folds its lines: an
  absolute input path with a space inside a ``--set`` value is taken out of ``command``,
  ``overrides`` and ``config_used.yaml`` alike;
* the file names of data outside the KB are recorded only with ``--record-data-names``;
* no count shown as ``<10`` follows from the other totals (complementary suppression), in the
  run files and on the site;
* every CSV cell a spreadsheet would read as a formula is neutralised;
* ``config_used.yaml`` is validated (with the KB's extensions) before the run is published.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kbtools.cli import main
from kbtools.experiments import disclosure, runlog, synth, totals
from kbtools.experiments.methods import MethodResult
from kbtools.experiments.redaction import OUTSIDE, Redactor
from kbtools.yamlio import dump, load_file

FOLDER = "secure data/ünï 2024 (case list)"
#: Generated examples per property (CI); a soak run raises it (KBTOOLS_SOAK_EXAMPLES).
EXAMPLES = int(os.environ.get("KBTOOLS_SOAK_EXAMPLES", "30"))
LONG = ("inputs were copied from the registry export on the first of the month and checked "
        "by hand before the run; see ")


def _outside_tables(base: Path, drop_brain: int = 7) -> dict[str, Path]:
    """The synthetic cohort written outside the KB, in a folder whose name has spaces and
    non-ASCII letters; ``drop_brain`` subjects lack the brain table."""
    folder = base / FOLDER
    synth.write(synth.generate(n_subjects=300, n_sites=5, seed=1), folder, "csv")
    brain = pd.read_csv(folder / "smri_rois.csv")
    brain.iloc[drop_brain:].to_csv(folder / "smri_rois.csv", index=False)
    return {"subjects": folder / "subjects.csv", "gene": folder / "gene_embeddings.csv",
            "brain": folder / "smri_rois.csv"}


def _run(root: Path, cfg: Path, *extra: str) -> int:
    return main(["--kb-root", str(root), "run-experiment", str(cfg), "--quiet", *extra])


def _data_args(data: dict[str, Path]) -> list[str]:
    return [a for role, p in data.items() for a in ("--data", f"{role}={p}")]


def _texts(run: Path) -> dict[str, str]:
    return {f.name: f.read_text("utf-8") for f in run.iterdir()
            if f.suffix in (".yaml", ".csv")}


def _values(data: object) -> list[str]:
    """Every text of a parsed record (keys included)."""
    out, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += list(item.keys()) + list(item.values())
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            out.append(item)
    return out


@pytest.fixture(scope="module")
def outside_run(tmp_path_factory: pytest.TempPathFactory, kb_factory):
    base = tmp_path_factory.mktemp("hardening")
    root = base / "kb_root"
    cfg = kb_factory(root)
    data = _outside_tables(base / "elsewhere")
    code = _run(root, cfg, *_data_args(data),
                "--set", f"description={LONG}{data['subjects']} and {data['brain']}",
                "--set", f"notes={data['subjects'].parent}/readme notes.txt")
    assert code == 0
    (run,) = sorted((root / "kb" / "runs").iterdir())
    return root, run, data


def test_outside_paths_with_spaces_leave_no_trace_in_any_run_file(outside_run) -> None:
    root, run, data = outside_run
    secrets = {str(p) for p in data.values()} | {str(data["subjects"].parent),
                                                 str(data["subjects"].parent.parent)}
    secrets |= {p.name for p in data.values()} | {"secure data", "ünï 2024"}
    for name, text in _texts(run).items():
        parsed = disclosure.parsed(run / name)
        for secret in secrets:
            assert secret not in text, (name, secret)
            assert not any(secret in v for v in _values(parsed)), (name, secret)
            assert secret not in text.replace("\n", " ").replace("  ", " "), (name, secret)
    log = load_file(run / "run.yaml")
    used = load_file(run / "config_used.yaml")
    assert log["command"].count(OUTSIDE) >= 5  # three --data, two --set values
    assert any(o.startswith("description=") and OUTSIDE in o for o in log["overrides"])
    assert used["description"] == f"{LONG}{OUTSIDE} and {OUTSIDE}"
    assert used["notes"] == OUTSIDE
    assert all("file" not in i and "path" not in i for i in log["inputs"])


def _published_cells(run: Path) -> dict:
    metrics = load_file(run / "metrics.yaml")
    log = load_file(run / "run.yaml")
    return totals.run_cells(metrics.get("inventory"), metrics.get("counts"), log["inputs"])


def test_inventory_never_reveals_a_withheld_count(outside_run, tmp_path: Path) -> None:
    root, run, _ = outside_run
    inventory = load_file(run / "metrics.yaml")["inventory"]
    brain = inventory["roles"]["brain"]
    assert brain["missing"] == "<10"
    # 300 subjects, 293 with a brain table: one of the totals must go
    assert "suppressed" in (brain["present"], inventory["n_subjects"])
    log = load_file(run / "run.yaml")
    assert log["disclosure"]["complementary"]
    assert not _oracle_exposed(_published_cells(run))
    out = tmp_path / "site"
    assert main(["--kb-root", str(root), "render", "--out", str(out)]) == 0
    page = next(p for p in out.rglob("*.md") if run.name in p.name).read_text()
    page = page.replace("<wbr>", "")  # metric names may break after _ and .
    cells = dict(re.findall(r"<tr><td>(inventory\.[\w.]+)</td><td>([^<]*)</td></tr>", page))
    assert cells["inventory.roles.brain.missing"] in ("&lt;10", "suppressed")
    assert "suppressed" in (cells["inventory.roles.brain.present"],
                            cells["inventory.n_subjects"])


def test_data_names_are_recorded_only_when_asked(outside_run) -> None:
    root, _, data = outside_run
    cfg = root / "configs" / "experiments" / "01_cca_gene_smri.yaml"
    before = set((root / "kb" / "runs").iterdir())
    assert _run(root, cfg, *_data_args(data), "--record-data-names") == 0
    # the new run (names sort by second, so two runs in one second sort by their suffix)
    (run,) = set((root / "kb" / "runs").iterdir()) - before
    log = load_file(run / "run.yaml")
    assert {i["role"]: i["file"] for i in log["inputs"]} == {
        "subjects": "subjects.csv", "gene": "gene_embeddings.csv", "brain": "smri_rois.csv"}
    assert "<outside-kb>/subjects.csv" in log["command"]
    assert "--record-data-names" in log["command"]
    assert not any(FOLDER.split("/")[0] in t for t in _texts(run).values())


def _formula_method(cohort, config, ctx):
    arms = ["=HYPERLINK(\"http://x.invalid\",\"a\")", "@SUM(A1)", "+cmd|' /C calc'!A0",
            "-2+3", "\tx", "\rx"]
    row = {"fold": 1, "n_test": 300, "auc__neg": -0.5}
    row.update({f"auc__{a}" if i % 2 else a: 0.7 for i, a in enumerate(arms)})
    row["label"] = "=1+1"
    row["delta"] = "-0.25"
    return MethodResult(summary={"x": 1.0}, per_fold=[row], headline={"x": 1.0},
                        counts={"n_subjects": 300})


def test_csv_cells_are_neutralised_for_spreadsheets(small_kb, monkeypatch) -> None:
    root, cfg = small_kb
    monkeypatch.setattr("kbtools.experiments.methods.get_method", lambda name: _formula_method)
    assert _run(root, cfg) == 0
    (run,) = sorted((root / "kb" / "runs").iterdir())
    rows = list(csv.reader(io.StringIO((run / "per_fold_metrics.csv").read_text())))
    for cell in rows[0] + rows[1]:
        assert not cell.startswith(runlog.FORMULA_STARTS) or _number(cell), cell
    header = dict(zip(rows[0], rows[1], strict=True))
    assert header["auc__neg"] == "-0.5" and header["'delta"] if "'delta" in header else \
        header["delta"] == "-0.25"
    assert header["label"] == "'=1+1"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_config_used_is_checked_before_computing(small_kb, never_computes, tmp_path_factory,
                                                 capsys) -> None:
    """A KB field whose pattern wants an absolute path: the value recorded (with the path
    taken out) would not match, so the run is refused before computing."""
    root, cfg = small_kb
    (root / "kb" / "schemas").mkdir(parents=True, exist_ok=True)
    (root / "kb" / "schemas" / "extensions.yaml").write_text(
        "experiment:\n  properties:\n    kb_source:\n      type: string\n"
        "      pattern: '^/'\n")
    secret = tmp_path_factory.mktemp("outside secret") / "cases.csv"
    secret.write_text("x\n")
    assert _run(root, cfg, "--set", f"kb_source={secret}") == 1
    err = capsys.readouterr().err
    assert "config_used.yaml" in err and str(secret) not in err
    assert never_computes == [] and not list((root / "kb" / "runs").iterdir())


# ---------------------------------------------------------------------------------------------
# generators


_NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(folders=st.lists(_NAME, min_size=1, max_size=3), file=_NAME,
       before=st.text(max_size=30), after=st.text(max_size=30), names=st.booleans(),
       quote=st.sampled_from(["", "'", '"']))
def test_redaction_leaves_no_outside_path_in_any_value(tmp_path_factory, folders: list[str],
                                                       file: str, before: str, after: str,
                                                       names: bool, quote: str) -> None:
    base = tmp_path_factory.mktemp("kb")
    kb_root = base / "kb"
    kb_root.mkdir()
    outside = base.joinpath("out", *folders)
    try:
        outside.mkdir(parents=True)
        (outside / file).write_text("x")
    except OSError:
        assume(False)
    path = str(outside / file)
    redactor = Redactor(kb_root, [path, str(outside)], [file], record_names=names)
    text = f"{before}{quote}{path}{quote}{after}"
    record = {"command": f"kbtools run-experiment c.yaml --set 'notes={text}'",
              "overrides": [f"notes={text}", f"k={outside}/other file.csv"],
              text: [text, {"nested": text * 3}], "n": 3}
    redacted = redactor.value(record)
    for value in _values(redacted):
        assert path not in value and str(outside) not in value
    dumped = dump(redacted)
    assert path not in dumped.replace("\n", "").replace("  ", " ")
    disclosure.scan_values("run.yaml", redacted, [], redactor.leaks)  # must not raise


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(text=st.text(max_size=20))
def test_no_csv_cell_starts_like_a_formula(text: str) -> None:
    cell = runlog.spreadsheet_safe(text)
    assert not cell.startswith(runlog.FORMULA_STARTS) or _number(cell)
    assert cell.lstrip("'") == text or cell == text
    written = runlog.csv_text([{text or "k": text}])
    for row in csv.reader(io.StringIO(written)):
        for value in row:
            assert not value.startswith(runlog.FORMULA_STARTS) or _number(value)


@st.composite
def inventories(draw: st.DrawFn) -> tuple[dict, dict, list]:
    """A consistent inventory as load_cohort builds it, with small and large counts."""
    count = st.one_of(st.integers(0, 12), st.integers(10, 400))
    n_roles = draw(st.integers(1, 3))
    n_complete = draw(st.integers(10, 400))
    roles, lacking = {}, []
    for r in range(n_roles):
        missing = draw(st.integers(0, 12))
        lacking.append(missing)
        roles[f"role{r}"] = {"present": 0, "missing": missing, "unmatched": draw(count),
                             "features": draw(st.integers(1, 50)), "empty_rows": draw(count),
                             "incomplete_rows": draw(count), "imputed_values": draw(count)}
    # subjects lacking some modality: between the largest and the sum of the per-role counts
    union = draw(st.integers(max(lacking), sum(lacking)))
    n_subjects = n_complete + union
    for facts in roles.values():
        facts["present"] = n_subjects - facts["missing"]
    dropped = draw(count)
    inventory = {"n_subjects": n_subjects, "n_complete": n_complete,
                 "dropped_incomplete": dropped, "roles": roles}
    inputs = [{"role": "subjects", "rows": n_subjects + dropped}] + [
        {"role": name, "rows": f["present"] + f["unmatched"] + f["empty_rows"]
         + f["incomplete_rows"]} for name, f in roles.items()]
    counts = {"n_subjects": n_subjects, "n_complete": n_complete}
    return inventory, counts, inputs


def _oracle_exposed(cells: dict, min_cell: int = 10) -> list:
    """Independent of kbtools' audit: integer programs (scipy's MILP) over relations written
    out here. A count shown as "<10" (and the number of subjects lacking a modality, when it
    can be small) must be able to take both 0 and 9 given everything published."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    def known(v):
        return isinstance(v, int) and not isinstance(v, bool)

    roles = sorted({k[2] for k in cells if k[:2] == ("inventory", "roles")})
    names = sorted({*cells, ("~",)}, key=str)
    unknown = [n for n in names if n == ("~",) or not known(cells[n])]
    at = {n: i for i, n in enumerate(unknown)}
    rows, lows, highs = [], [], []

    def relation(terms, equal=True):
        row, rhs = np.zeros(len(unknown)), 0.0
        for name, sign in terms:
            if name in at:
                row[at[name]] += sign
            else:
                rhs -= sign * cells[name]
        rows.append(row)
        lows.append(rhs if equal else -np.inf)
        highs.append(rhs)

    inv = lambda *k: ("inventory", *k)  # noqa: E731
    relation([(("inputs", "subjects", "rows"), 1), (inv("n_subjects"), -1),
              (inv("dropped_incomplete"), -1)])
    for r in roles:
        relation([(inv("n_subjects"), 1), (inv("roles", r, "present"), -1),
                  (inv("roles", r, "missing"), -1)])
        relation([(("inputs", r, "rows"), 1)] + [(inv("roles", r, k), -1) for k in (
            "present", "unmatched", "empty_rows", "incomplete_rows")])
        relation([(inv("n_complete"), 1), (inv("roles", r, "present"), -1)], equal=False)
        relation([(inv("roles", r, "missing"), 1), (("~",), -1)], equal=False)
    relation([(inv("n_subjects"), 1), (inv("n_complete"), -1), (("~",), -1)])
    relation([(("~",), 1)] + [(inv("roles", r, "missing"), -1) for r in roles], equal=False)
    relation([(("counts", "n_subjects"), 1), (inv("n_subjects"), -1)])
    relation([(("counts", "n_complete"), 1), (inv("n_complete"), -1)])
    upper = np.array([min_cell - 1 if n != ("~",) and cells[n] == f"<{min_cell}" else 1e6
                      for n in unknown], dtype=float)
    system = LinearConstraint(np.array(rows), lows, highs)

    def solve(name, value=None, minimise=False):
        lo, hi = np.zeros(len(unknown)), upper.copy()
        if value is not None:
            lo[at[name]] = hi[at[name]] = value
        c = np.zeros(len(unknown))
        if minimise:
            c[at[name]] = 1
        found = milp(c, integrality=np.ones(len(unknown)), bounds=Bounds(lo, hi),
                     constraints=system)
        return found.x[at[name]] if found.status == 0 else None

    exposed = []
    for name in unknown:
        if name == ("~",):  # subjects lacking a modality: if it can be small, 10 values at least
            least = solve(name, minimise=True)
            if least is not None and least < min_cell and solve(
                    name, round(least) + min_cell - 1) is None:
                exposed.append((name, least))
        elif cells[name] == f"<{min_cell}":
            exposed += [(name, v) for v in (0, min_cell - 1) if solve(name, v) is None]
    return exposed


@settings(max_examples=EXAMPLES, deadline=None)
@given(case=inventories())
def test_random_inventories_never_reveal_a_withheld_count(case) -> None:
    inventory, counts, inputs = case
    report = disclosure.DisclosureReport()
    shown = disclosure.suppress_small_counts(inventory, "inventory", report, all_counts=True)
    shown_counts = disclosure.suppress_small_counts(counts, "counts", report, all_counts=True)
    shown, shown_counts, shown_inputs, withheld = totals.withhold_run(
        shown, shown_counts, json.loads(json.dumps(inputs)), 10)
    cells = totals.run_cells(shown, shown_counts, shown_inputs)
    assert not _oracle_exposed(cells), (inventory, withheld)
    # what stays published is the truth
    for name, value in cells.items():
        if isinstance(value, int):
            assert value == totals.run_cells(inventory, counts, inputs)[name]
