"""Layout tolerance: template files, kb/integration_cards, and global options anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.site.catalog import load_catalog
from kbtools.validation import validate_kb

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"
PREDECESSOR_TEMPLATE = """\
id: model_slug
name: Model Name
arch:
  parameters: 0M
checkpoints:
  - name: checkpoint_name
    path: https://...
"""


def test_template_files_are_templates_wherever_they_sit(kb: KB) -> None:
    for folder in ("model_cards", "paper_cards", "datasets", "integration_cards"):
        kb.write(f"kb/{folder}/template.yaml", PREDECESSOR_TEMPLATE)
    kb.write("configs/experiments/_template_cca.yaml", "experiment_name: CCA\n")
    result = validate_kb(kb.root, jobs=1)
    assert result.problems == []
    assert result.n_files == 9 + 5
    catalog = load_catalog(kb.root)
    assert "template" not in catalog.cards["model"]
    assert "Model Name" not in {c.title for cards in catalog.cards.values()
                                for c in cards.values()}


def test_a_template_file_that_does_not_parse_is_reported(kb: KB) -> None:
    kb.write("kb/model_cards/template.yaml", "id: [unclosed\n")
    [p] = validate_kb(kb.root, jobs=1).problems
    assert (p.path, p.rule) == ("kb/model_cards/template.yaml", "yaml.syntax")
    [p] = validate_kb(kb.root, [kb.path("kb/model_cards/template.yaml")], jobs=1).problems
    assert p.rule == "yaml.syntax"


def test_status_template_cards_are_not_duplicates_and_not_listed(kb: KB) -> None:
    draft = {**kb.docs["kb/datasets/cohort.yaml"], "id": "alpha", "status": "template",
             "models": [], "papers": []}
    kb.write("kb/datasets/alpha.yaml", draft)
    rules = {p.rule for p in validate_kb(kb.root, jobs=1).problems}
    assert "id.duplicate" not in rules and rules == {"lint.template"}
    assert "alpha" not in load_catalog(kb.root).cards["dataset"]


def test_integration_cards_folder_is_read_as_registries(kb: KB) -> None:
    moved = kb.path("kb/registries/embedding_strategies.yaml")
    target = kb.path("kb/integration_cards/embedding_strategies.yaml")
    target.parent.mkdir(parents=True)
    moved.rename(target)
    result = validate_kb(kb.root, jobs=1)
    assert result.problems == [] and result.n_files == 9
    assert "embedding_strategies" in load_catalog(kb.root).cards["registry"]


def test_older_integration_cards_define_their_entries(kb: KB) -> None:
    """Strategies kept as a mapping in kb/integration_cards/ resolve (the card itself is
    reported once per real problem, not once per reference to it)."""
    kb.path("kb/registries/embedding_strategies.yaml").unlink()
    kb.write("kb/integration_cards/embedding_strategies.yaml",
             "id: embedding_strategies\nname: Strategies\nstatus: drafting\nstrategies:\n"
             "  gene_pca:\n    modality: genetics\n  fusion:\n    modality: multimodal\n")
    problems = validate_kb(kb.root, jobs=1).problems
    assert not [p for p in problems if p.rule.startswith("ref.")]
    assert {p.path for p in problems} == {"kb/integration_cards/embedding_strategies.yaml"}


def test_same_id_in_both_registry_folders_is_a_duplicate(kb: KB) -> None:
    kb.write("kb/integration_cards/embedding_strategies.yaml",
             kb.path("kb/registries/embedding_strategies.yaml").read_text())
    assert "id.duplicate" in {p.rule for p in validate_kb(kb.root, jobs=1).problems}


def test_missing_registry_message_is_plain(kb: KB) -> None:
    kb.path("kb/registries/embedding_strategies.yaml").unlink()
    found = [p for p in validate_kb(kb.root, jobs=1).problems if p.rule == "ref.strategy"]
    assert found
    assert "the KB has no embedding strategy registry" in found[0].message
    assert "not an entry of no" not in found[0].message
    assert "kbtools new registry embedding_strategies" in (found[0].hint or "")


@pytest.mark.parametrize("argv", [
    ["--kb-root", "{root}", "validate"],
    ["validate", "--kb-root", "{root}"],
    ["validate", "--format", "json", "--kb-root", "{root}"],
])
def test_kb_root_works_before_and_after_the_subcommand(kb: KB, argv: list[str],
                                                      tmp_path: Path, monkeypatch,
                                                      capsys) -> None:
    kb.edit(ALPHA, lambda d: d.update(domain="genes"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main([a.format(root=kb.root) for a in argv]) == 1
    assert "alpha.yaml" in capsys.readouterr().out


def test_kb_root_after_a_nested_subcommand(kb: KB, tmp_path: Path, monkeypatch) -> None:
    kb.write("kb/schemas/extensions.yaml",
             "model:\n  properties:\n    extra: {type: string}\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "schemas"
    assert main(["schema", "export", str(out), "--kb-root", str(kb.root)]) == 0
    assert "extra" in (out / "model_card.schema.json").read_text()
