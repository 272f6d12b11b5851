"""KB-level schema extensions: declared fields validate like built-in ones, and are listed."""

from __future__ import annotations

import json

import pytest

from kbtools.cli import main
from kbtools.schemas.extensions import (
    card_extension_values,
    extension_fields,
    load_kb_schemas,
)
from kbtools.validation import validate_kb

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"
DECLARATIONS = """\
# Fields this KB keeps beyond the kbtools schemas.
model:
  properties:
    how_to_infer:
      type: object
      additionalProperties: {type: string}
      description: Code that runs the model, by provider.
    arch:
      properties:
        special_features:
          type: array
          items: {type: string}
          description: What sets the architecture apart.
registry:
  properties:
    entries:
      items:
        properties:
          intended_use:
            type: array
            items: {type: string}
            description: Experiments the entry was made for.
"""


def errors(kb: KB, rel: str | None = None) -> list:
    return [p for p in validate_kb(kb.root, jobs=1).problems
            if p.is_error and (rel is None or p.path == rel)]


@pytest.fixture
def extended(kb: KB) -> KB:
    kb.write("kb/schemas/extensions.yaml", DECLARATIONS)
    return kb


def test_declared_fields_validate_like_built_in_ones(extended: KB) -> None:
    extended.edit(ALPHA, lambda d: d.update(
        how_to_infer={"huggingface": "model = load('alpha')"},
        arch={"type": "Transformer", "special_features": ["RC equivariance"]}))
    assert errors(extended) == []
    extended.edit(ALPHA, lambda d: d.update(how_to_infer={"huggingface": 3}))
    [p] = errors(extended)
    assert p.json_path == "$.how_to_infer.huggingface" and "expected text" in p.message


def test_undeclared_fields_stay_errors(extended: KB) -> None:
    extended.edit(ALPHA, lambda d: d.update(inference_api={"provider": "local"}))
    [p] = errors(extended)
    assert p.message == "unknown field `inference_api`"


def test_nested_declarations_reach_list_items(extended: KB) -> None:
    rel = "kb/registries/embedding_strategies.yaml"
    doc = extended.docs[rel]
    doc["entries"][0]["intended_use"] = ["cca_gene_smri"]
    extended.write(rel, doc)
    assert errors(extended) == []
    doc["entries"][0]["intended_usage"] = ["x"]
    extended.write(rel, doc)
    [p] = errors(extended)
    assert p.json_path == "$.entries[0].intended_usage"


def test_extension_fields_api(extended: KB) -> None:
    fields = extension_fields(extended.root)
    assert sorted(fields) == ["model", "registry"]
    names = [(f.name, f.description) for f in fields["model"]]
    assert names == [("how_to_infer", "Code that runs the model, by provider."),
                     ("arch.special_features", "What sets the architecture apart.")]
    assert [f.name for f in fields["registry"]] == ["entries[].intended_use"]
    card = {"id": "alpha", "how_to_infer": {"hf": "x"}, "arch": {"type": "T"}}
    values = card_extension_values(extended.root, "model", card)
    assert [(v.name, v.value) for v in values] == [("how_to_infer", {"hf": "x"})]
    registry = {"entries": [{"id": "a", "intended_use": ["e1"]}, {"id": "b"}]}
    [value] = card_extension_values(extended.root, "registry", registry)
    assert value.name == "entries[0].intended_use" and value.value == ["e1"]


def test_no_file_means_no_extensions(kb: KB) -> None:
    assert extension_fields(kb.root) == {}
    assert load_kb_schemas(kb.root).file is None


@pytest.mark.parametrize("text, words", [
    ("model:\n  properties:\n    name: {type: integer}\n", "built-in field of model cards"),
    ("model:\n  properties:\n    x: {type: strnig}\n", "not a valid JSON Schema"),
    ("modle:\n  properties: {}\n", "unknown card kind `modle`"),
    ("model:\n  fields: {}\n", "unknown keyword `fields`"),
    ("model:\n  properties:\n    domain: {properties: {x: {type: string}}}\n",
     "not a mapping in the built-in schema"),
    ("- model\n", "must be a mapping of card kinds"),
    ("model: [\n", "YAML"),
])
def test_declaration_problems_are_reported_on_the_file(kb: KB, text: str, words: str) -> None:
    kb.write("kb/schemas/extensions.yaml", text)
    found = [p for p in validate_kb(kb.root, jobs=1).problems
             if p.path == "kb/schemas/extensions.yaml"]
    assert found and found[0].rule in ("schema.extension",) and words in found[0].message, found


def test_a_bad_declaration_leaves_the_good_ones_working(kb: KB) -> None:
    kb.write("kb/schemas/extensions.yaml",
             "model:\n  properties:\n    name: {type: integer}\n    extra: {type: string}\n")
    kb.edit(ALPHA, lambda d: d.update(extra="kept"))
    problems = [p for p in validate_kb(kb.root, jobs=1).problems if p.is_error]
    assert [p.path for p in problems] == ["kb/schemas/extensions.yaml"]


def test_json_file_at_the_root_works(kb: KB) -> None:
    kb.write("kb_extensions.json", json.dumps(
        {"paper": {"properties": {"reading_notes": {"type": "string"}}}}))
    kb.edit("kb/paper_cards/alpha_2024.yaml", lambda d: d.update(reading_notes="read twice"))
    assert errors(kb) == []


def test_schema_export_writes_merged_schemas(extended: KB, tmp_path, capsys) -> None:
    out = tmp_path / "exported"
    assert main(["--kb-root", str(extended.root), "schema", "export", str(out)]) == 0
    model = json.loads((out / "model_card.schema.json").read_text())
    assert "how_to_infer" in model["properties"]
    assert "special_features" in model["properties"]["arch"]["properties"]
    paper = json.loads((out / "paper_card.schema.json").read_text())
    assert "how_to_infer" not in paper["properties"]
    builtin = tmp_path / "builtin"
    assert main(["schema", "export", "--builtin", str(builtin)]) == 0
    assert "how_to_infer" not in json.loads(
        (builtin / "model_card.schema.json").read_text())["properties"]


def test_health_page_cache_follows_the_extensions_file(kb: KB, tmp_path) -> None:
    """The site's cached problem list is recomputed when the KB declares a field."""
    from kbtools.site.health import validation_problems

    cache = tmp_path / "site-cache"
    kb.edit(ALPHA, lambda d: d.update(how_to_infer={"huggingface": "model = load('alpha')"}))
    before = [p for p in validation_problems(kb.root, cache) if p.path == ALPHA and p.is_error]
    assert before  # an undeclared field is an error
    kb.write("kb/schemas/extensions.yaml", DECLARATIONS)
    after = [p for p in validation_problems(kb.root, cache) if p.path == ALPHA and p.is_error]
    assert after == []
