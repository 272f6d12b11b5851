"""Every rule: the base KB passes it, and a targeted change makes it fail at the right place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kbtools.validation import validate_kb
from kbtools.validation.problems import Problem
from kbtools.validation.rules import RULES, RULES_BY_ID

from .kbfactory import KB, RUN_ID

ALPHA = "kb/model_cards/alpha.yaml"
BETA = "kb/model_cards/beta.yaml"
PAPER = "kb/paper_cards/alpha_2024.yaml"
DATASET = "kb/datasets/cohort.yaml"
STRATEGIES = "kb/registries/embedding_strategies.yaml"
EXPERIMENT = "configs/experiments/exp_cca.yaml"
RUN = f"kb/runs/{RUN_ID}/run.yaml"


def problems_of(kb: KB, rel: str, rule: str) -> list[Problem]:
    result = validate_kb(kb.root, jobs=1)
    return [p for p in result.problems if p.path == rel and p.rule == rule]


def _fake_design_check(issue_rule: str, crash: bool = False) -> None:
    from kbtools.config_rules.design_checks import DesignIssue, design_check

    @design_check("cca_permutation")
    def check(config: dict) -> list[DesignIssue]:
        if crash:
            raise RuntimeError("boom")
        return [DesignIssue(["seed"], issue_rule, "cannot reach significance", "raise B")]


def _params_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtools.validation import schema_check

    schema = {"type": "object", "required": ["n_permutations"],
              "properties": {"n_permutations": {"type": "integer", "minimum": 100}}}
    monkeypatch.setattr(schema_check, "method_params_schema",
                        lambda method: schema if method == "cca_permutation" else None)
    # the engine caches schemas per process: isolate them from the shipped params schemas
    monkeypatch.setattr(schema_check, "_param_schemas", {})
    monkeypatch.setattr(schema_check, "_validators", {})


def _link_outside(kb: KB, rel: str) -> None:
    """Replace a file the paper card names by a symlink to a file outside the KB."""
    outside = kb.root.parent / f"{kb.root.name}-outside.md"
    outside.write_text("secret\n")
    kb.path(rel).unlink()
    kb.path(rel).symlink_to(outside)


def _relink(kb: KB, rel: str, how: str) -> None:
    """Replace a card by a symlink to itself, a dangling symlink, or give it a hard link
    outside the KB."""
    import os

    path = kb.path(rel)
    if how == "hardlink":
        os.link(path, kb.root.parent / f"{kb.root.name}-copy.yaml")
        return
    path.unlink()
    path.symlink_to(path.name if how == "loop" else "missing.yaml")


def _old_staging_folder(kb: KB) -> None:
    """A staging folder left by a run killed two days ago (no owner to ask)."""
    import os
    import time

    folder = kb.path("kb/.run-staging-abc")
    folder.mkdir()
    (folder / "metrics.yaml").write_text("id: x\n")
    old = time.time() - 48 * 3600
    os.utime(folder, (old, old))


# rule -> (file the problem is reported on, how to break the KB)
Case = tuple[str, Callable[[KB, pytest.MonkeyPatch], object]]
CASES: dict[str, Case] = {
    "yaml.syntax": (ALPHA, lambda kb, mp: kb.write(ALPHA, "id: alpha\nname: [unclosed\n")),
    "yaml.duplicate-key": (ALPHA, lambda kb, mp: kb.write(ALPHA, "id: alpha\nid: beta\n")),
    "yaml.unsafe-tag": (ALPHA, lambda kb, mp: kb.write(ALPHA, "id: !!binary aGk=\n")),
    "yaml.key": (ALPHA, lambda kb, mp: kb.write(ALPHA, "id: alpha\n2024: year\n")),
    "yaml.too-large": (ALPHA, lambda kb, mp: kb.write(ALPHA, "x: '" + "a" * 6_000_000 + "'\n")),
    "yaml.encoding": (ALPHA, lambda kb, mp: kb.write(ALPHA, b"id: alpha\nname: caf\xe9\n")),
    "yaml.empty": (ALPHA, lambda kb, mp: kb.write(ALPHA, "# only a comment\n")),
    "yaml.not-mapping": (ALPHA, lambda kb, mp: kb.write(ALPHA, "- id: alpha\n")),
    "schema": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(domain="genes"))),
    "schema.extension": ("kb/schemas/extensions.yaml", lambda kb, mp: kb.write(
        "kb/schemas/extensions.yaml", "model:\n  properties:\n    name: {type: integer}\n")),
    "schema.params": (EXPERIMENT, lambda kb, mp: _params_schema(mp)),
    "id.filename": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(id="alpha2"))),
    "id.duplicate": ("kb/datasets/beta.yaml", lambda kb, mp: kb.write(
        "kb/datasets/beta.yaml", {**kb.docs[DATASET], "id": "beta", "models": [],
                                  "papers": []})),
    "ref.model": (PAPER, lambda kb, mp: kb.edit(PAPER, lambda d: d.update(models=["alpha",
                                                                               "gamma"]))),
    "ref.paper": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        papers=["alpha_2024", "nope_2020"]))),
    "ref.dataset": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(datasets=["cohrt"]))),
    "ref.experiment": (RUN, lambda kb, mp: kb.edit(RUN, lambda d: d.update(experiment="exp_x"))),
    "ref.strategy": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        integrations={"strategies": ["gene_pcaa"]}))),
    "ref.integration": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        integrations={"strategies": ["gene_pca"], "pipelines": ["gene_export"]}))),
    "ref.harmonization": (EXPERIMENT, lambda kb, mp: kb.edit(EXPERIMENT, lambda d: d.update(
        harmonization="comba"))),
    "ref.backlink": (BETA, lambda kb, mp: kb.edit(BETA, lambda d: d.update(
        papers=["alpha_2024"]))),
    "ref.table": (EXPERIMENT, lambda kb, mp: kb.edit(EXPERIMENT, lambda d: d["data"][
        "subjects"].update(table="subject"))),
    "path.missing": (PAPER, lambda kb, mp: kb.edit(PAPER, lambda d: d.update(
        pdf="docs/papers/missing.pdf"))),
    "path.outside-kb": (PAPER, lambda kb, mp: kb.edit(PAPER, lambda d: d.update(
        summary_md_path="../notes/alpha.md"))),
    "path.symlink-outside": (PAPER, lambda kb, mp: _link_outside(kb, "docs/papers/alpha.md")),
    "path.symlink-loop": (ALPHA, lambda kb, mp: _relink(kb, ALPHA, "loop")),
    "path.symlink-broken": (ALPHA, lambda kb, mp: _relink(kb, ALPHA, "dangling")),
    "path.hardlink": (ALPHA, lambda kb, mp: _relink(kb, ALPHA, "hardlink")),
    "lint.todo": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        summary="TODO describe the model"))),
    "lint.template": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        status="template"))),
    "lint.future-date": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        last_updated="2999-01-01"))),
    "lint.url": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d["verification"].update(
        sources=["https://arxiv (abstract)"]))),
    "lint.https": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d.update(
        repo="http://github.com/example/alpha"))),
    "lint.doi": (ALPHA, lambda kb, mp: kb.edit(ALPHA, lambda d: d["verification"].update(
        sources=["https://doi.org/abc"]))),
    "lint.verified": (BETA, lambda kb, mp: kb.edit(BETA, lambda d: d.pop("verification"))),
    "text.unsafe-markup": (PAPER, lambda kb, mp: kb.edit(PAPER, lambda d: d.update(
        summary="See [the code](javascript:alert(1)) for details."))),
    "kb.unknown-file": ("kb/model_cards/gamma.yml", lambda kb, mp: kb.write(
        "kb/model_cards/gamma.yml", "id: gamma\n")),
    "kb.staging-leftover": ("kb/.run-staging-abc", lambda kb, mp: _old_staging_folder(kb)),
    "internal": (EXPERIMENT, lambda kb, mp: _fake_design_check("design.x", crash=True)),
}


def test_every_rule_has_a_failing_case() -> None:
    assert set(CASES) == {rule.id for rule in RULES}


def test_base_kb_passes_every_rule(kb: KB) -> None:
    result = validate_kb(kb.root, jobs=1)
    assert result.problems == []
    assert result.ok and result.n_files == 9


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails(rule: str, kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    rel, breaker = CASES[rule]
    breaker(kb, monkeypatch)
    found = problems_of(kb, rel, rule)
    assert found, f"expected {rule} on {rel}"
    problem = found[0]
    assert problem.severity == RULES_BY_ID[rule].severity
    assert problem.message and problem.hint
    if rule not in ("yaml.too-large", "yaml.empty", "kb.unknown-file", "kb.staging-leftover",
                    "path.symlink-loop", "path.symlink-broken", "path.hardlink"):
        assert problem.line is not None, problem


def test_design_issue_becomes_problem(kb: KB) -> None:
    _fake_design_check("never_significant")
    [problem] = problems_of(kb, EXPERIMENT, "design.never_significant")
    assert problem.json_path == "$.seed" and problem.hint == "raise B"
    assert problem.line == kb.path(EXPERIMENT).read_text().splitlines().index("seed: 1") + 1


def test_design_checks_skip_templates(kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_design_check("never_significant")
    _params_schema(monkeypatch)
    kb.edit(EXPERIMENT, lambda d: d.update(status="template"))
    result = validate_kb(kb.root, jobs=1)
    assert [p.rule for p in result.problems] == ["lint.template"]


def test_design_checks_skip_schema_invalid_configs(kb: KB) -> None:
    _fake_design_check("never_significant")
    kb.edit(EXPERIMENT, lambda d: d.update(seed=-1))
    result = validate_kb(kb.root, jobs=1)
    rules = {p.rule for p in result.problems if p.path == EXPERIMENT}
    assert rules == {"schema"}


def test_params_pass_when_valid(kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    _params_schema(monkeypatch)
    kb.edit(EXPERIMENT, lambda d: d.update(params={"n_permutations": 1000}))
    assert validate_kb(kb.root, jobs=1).problems == []
    kb.edit(EXPERIMENT, lambda d: d.update(params={"n_permutations": 10}))
    [problem] = problems_of(kb, EXPERIMENT, "schema.params")
    assert problem.json_path == "$.params.n_permutations"
    assert "at least 100" in problem.message


def test_template_allows_placeholders(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(status="template", summary="TODO describe it"))
    result = validate_kb(kb.root, jobs=1)
    assert [(p.rule, p.severity) for p in result.problems] == [("lint.template", "warning")]
    assert result.ok


def test_placeholder_in_nested_value_is_located(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d["license"].update(weights="TBD"))
    [problem] = problems_of(kb, ALPHA, "lint.todo")
    assert problem.json_path == "$.license.weights"
    assert problem.line == kb.path(ALPHA).read_text().splitlines().index("  weights: TBD") + 1
    # a placeholder in a comment is not a value
    kb.write(ALPHA, kb.path(ALPHA).read_text().replace("  weights: TBD", "  weights: MIT  # TODO"))
    assert problems_of(kb, ALPHA, "lint.todo") == []


def test_https_url_and_bare_doi_pass(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d["verification"].update(
        sources=["https://doi.org/10.1101/2023.09.12.557460 (preprint)",
                 "https://localhost:8000/x"]))
    assert validate_kb(kb.root, jobs=1).problems == []


def test_doi_with_prefix_gets_bare_hint(kb: KB) -> None:
    kb.edit(PAPER, lambda d: d.update(doi="https://doi.org/10.1234/alpha.2024"))
    [problem] = problems_of(kb, PAPER, "schema")
    assert problem.json_path == "$.doi" and "10.1234" in (problem.hint or "")


def test_absolute_and_generated_table_paths_are_not_checked(kb: KB) -> None:
    kb.edit(DATASET, lambda d: d["storage"].update(
        generator={"name": "synthetic_cohort"},
        tables={"subjects": {"path": "data/not_yet_generated.csv"}}))
    assert validate_kb(kb.root, jobs=1).problems == []


def test_dataset_table_path_outside_root(kb: KB) -> None:
    kb.edit(DATASET, lambda d: d["storage"]["tables"]["subjects"].update(path="../x/s.csv"))
    [problem] = problems_of(kb, DATASET, "path.outside-kb")
    assert problem.json_path == "$.storage.tables.subjects.path"


def test_unknown_reference_suggests_close_id(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(datasets=["cohrt"]))
    [problem] = problems_of(kb, ALPHA, "ref.dataset")
    assert "did you mean `cohort`" in (problem.hint or "")
    assert problem.json_path == "$.datasets[0]"


def test_registry_entry_ids_unique(kb: KB) -> None:
    kb.edit(STRATEGIES, lambda d: d["entries"].append({"id": "gene_pca", "description": "x"}))
    found = problems_of(kb, STRATEGIES, "id.duplicate")
    assert [p.json_path for p in found] == ["$.entries[0].id", "$.entries[2].id"]


def test_strategy_ids_resolve_only_against_strategy_registry(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(integrations={"strategies": ["combat"]}))
    assert problems_of(kb, ALPHA, "ref.strategy")


def test_validation_continues_after_broken_files(kb: KB) -> None:
    kb.write(ALPHA, b"\xff\xfe")
    kb.write(BETA, "")
    kb.edit(PAPER, lambda d: d.update(year="2024"))
    result = validate_kb(kb.root, jobs=1)
    assert {(p.path, p.rule) for p in result.problems} >= {
        (ALPHA, "yaml.encoding"), (BETA, "yaml.empty"), (PAPER, "schema")}
    # references to unparseable cards do not cascade into more errors
    assert not [p for p in result.problems if p.rule.startswith("ref.")]


def test_problems_sorted_by_path_then_line(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(summary="TODO", last_updated="2999-01-01"))
    kb.edit(PAPER, lambda d: d.update(models=["x"]))
    problems = validate_kb(kb.root, jobs=1).problems
    keys = [(p.path, p.line or 0) for p in problems]
    assert keys == sorted(keys) and len(keys) >= 3


def test_parallel_matches_serial(kb: KB, tmp_path: Path) -> None:
    for i in range(230):
        data = {**kb.docs[BETA], "id": f"m{i:03d}", "verified": False}
        if i % 50 == 0:
            data["domain"] = "nope"
        kb.write(f"kb/model_cards/m{i:03d}.yaml", data)
    serial = validate_kb(kb.root, jobs=1)
    parallel = validate_kb(kb.root, jobs=2)
    assert serial.n_files == parallel.n_files == 239
    assert serial.problems == parallel.problems
    assert len(serial.problems) == 5


def test_docs_list_every_rule() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "validation.md").read_text()
    rows = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")}
    assert {rule.id for rule in RULES} <= rows
