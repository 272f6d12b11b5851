"""Hints that fix: examples keep the value, references suggest the id meant, counts are never
made up, required enum fields list their values, every command a hint names exists.

Generators: every scalar field of every built-in schema given a list and a mapping; every
`kbtools ...` command quoted in kbtools' messages, templates and docs parsed by the CLI.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from kbtools.cli import build_parser
from kbtools.kb import KINDS
from kbtools.schemas import load_schema
from kbtools.validation.hints import HintContext, NearMatcher
from kbtools.validation.schema_check import check_schema

REPO = Path(__file__).resolve().parents[2]
CARD_KINDS = [k for k in KINDS if k.name in ("model", "paper", "dataset", "registry",
                                              "experiment")]


def _scalar_fields(schema: dict) -> list[str]:
    out = []
    for name, node in schema.get("properties", {}).items():
        if "$ref" in node:
            node = {**schema["$defs"][node["$ref"].rsplit("/", 1)[1]], **node}
        kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        branches = node.get("oneOf", []) + node.get("anyOf", [])
        if {"array", "object"} & set(kinds) or "properties" in node or branches:
            continue
        out.append(name)
    return out


CASES = [(k.name, k.schema, name) for k in CARD_KINDS
         for name in _scalar_fields(load_schema(k.schema))]


@pytest.mark.parametrize("kind, schema, name", CASES)
@pytest.mark.parametrize("value", [["roc_curves.png", "calibration.png"],
                                   {"smri": 120, "fmri": 80}])
def test_a_list_or_mapping_is_never_replaced_by_a_placeholder(kind: str, schema: str,
                                                              name: str, value: object) -> None:
    findings = [f for f in check_schema(schema, {name: value}, None, HintContext(kind))
                if f.parts == (name,)]
    assert findings, name
    for finding in findings:
        if not finding.hint or "write it as:" not in finding.hint:
            continue
        example = yaml.safe_load(finding.hint.split("write it as:\n", 1)[1])
        assert example[f"kb_{name}"] == value  # the value itself, beside the field
        assert f"declare `kb_{name}`" in finding.hint


def test_a_list_of_plots_keeps_its_files() -> None:
    config = {"outputs": {"plots": ["roc_curves.png", "calibration.png"]}}
    [finding] = [f for f in check_schema("experiment_config", config, None,
                                         HintContext("experiment"))
                 if f.parts == ("outputs", "plots")]
    example = yaml.safe_load(finding.hint.split("write it as:\n", 1)[1])
    assert example == {"plots": True, "kb_plots": ["roc_curves.png", "calibration.png"]}


@pytest.mark.parametrize("text, meant", [
    ("131k", ("131,000", "131,072")), ("4k", ("4,000", "4,096")),
    ("~1.3B", ("approximation",)), ("scales to 7B+", ("bound",)),
    ("TBD (e.g., 7B–155B)", ("placeholder",)), ("7B-155B", ("range",)),
])
def test_a_count_that_is_not_exact_gets_no_number(text: str, meant: tuple[str, ...]) -> None:
    card = {"context_length": text, "arch": {"num_parameters": text}}
    for parts in (("context_length",), ("arch", "num_parameters")):
        [finding] = [f for f in check_schema("model_card", card, None, HintContext("model"))
                     if f.parts == parts]
        example = finding.hint.split("write it as:\n", 1)[1]
        assert not re.search(r"\d{4}", example.split("#")[0]), example  # no number made up
        assert all(m in example for m in meant), example


def test_an_exact_count_gets_its_number() -> None:
    [finding] = [f for f in check_schema("model_card", {"context_length": "131072"}, None,
                                         HintContext("model")) if f.parts == ("context_length",)]
    assert yaml.safe_load(finding.hint.split("write it as:\n", 1)[1]) == {
        "context_length": 131072}


def test_a_missing_enum_field_lists_its_values_and_where_the_old_value_went() -> None:
    card = {"id": "x", "name": "X", "kb_modality": "general", "domain": "general"}
    [finding] = [f for f in check_schema("model_card", card, None, HintContext("model"))
                 if "`modality`" in f.message]
    assert "one of: audio, behaviour, clinical" in finding.hint
    assert "kept as `kb_modality: general`" in finding.hint


@pytest.mark.parametrize("unknown, meant", [
    ("hg38", "hg38_reference"),
    ("nucleotide_transformer_benchmark", "nucleotide_transformer_tasks"),
    ("genomic_benchmark", "genomic_benchmarks"),
    ("ukb_wess", "ukb_wes"),
])
def test_an_unknown_reference_suggests_the_id_meant(unknown: str, meant: str) -> None:
    ids = sorted(p.stem for p in (REPO / "kb" / "datasets").glob("*.yaml"))
    matcher = NearMatcher(ids)
    assert (matcher.match(unknown) or matcher.same_words(unknown)) == meant


@pytest.mark.parametrize("unknown", ["ukb", "seed", "hcp", "brain", "synthetic"])
def test_no_suggestion_when_several_ids_or_none_fit(unknown: str) -> None:
    ids = ["ukb_wes", "ukb_fmri", "ukb_smri_freesurfer", "hcp_fmri", "hg38_reference",
           "synthetic_cohort", "synthetic_tables"]
    matcher = NearMatcher(ids)
    assert unknown == "hcp" or (matcher.match(unknown) or matcher.same_words(unknown)) is None


# ---------------------------------------------------------------------------------------------
# every command a message names exists

_QUOTED = re.compile(r"`(kbtools [^`]+)`")


def _commands() -> list[tuple[str, str]]:
    found = []
    for folder, pattern in (("kbtools", "*.py"), ("kbtools", "*.yaml"), ("docs", "*.md"),
                            (".", "README.md")):
        for path in sorted((REPO / folder).rglob(pattern) if folder != "." else
                           [REPO / "README.md"]):
            text = path.read_text(encoding="utf-8")
            text = re.sub(r"\"\s*\n\s*f?\"", "", text)  # Python strings split over lines
            for match in _QUOTED.finditer(text):
                found.append((path.relative_to(REPO).as_posix(), match.group(1)))
    return sorted(set(found))


COMMANDS = _commands()


def test_messages_quote_commands() -> None:
    assert len(COMMANDS) > 20


def _options(parser: object) -> tuple[set[str], dict[str, object]]:
    import argparse

    options = set(parser._option_string_actions)  # type: ignore[attr-defined]
    subs: dict[str, object] = {}
    for action in parser._actions:  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            subs.update(action.choices)
    return options, subs


@pytest.mark.parametrize("where, command", COMMANDS)
def test_every_quoted_command_exists(where: str, command: str) -> None:
    """The subcommand (and action) a message names exists, and so does every option."""
    words = [w for w in shlex.split(command.replace("...", " ")) if w not in ("[", "]")][1:]
    parser: object = build_parser()
    path = ["kbtools"]
    options, subs = _options(parser)
    for word in words:
        word = word.strip("[]")
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            assert flag in options, f"{where}: `{command}`: no option {flag} in {' '.join(path)}"
        elif subs:
            assert word in subs, f"{where}: `{command}`: {' '.join(path)} has no {word!r}"
            parser = subs[word]
            path.append(word)
            options, subs = _options(parser)
