"""Hints that fix: near-misses only when really close, YAML examples of the expected shape,
a next step for every unknown field, one message per repeated or swapped problem."""

from __future__ import annotations

import pytest
import yaml

from kbtools.validation import validate_kb
from kbtools.validation.hints import edit_distance, really_close
from kbtools.vocabulary.counts import parse_count

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"
COHORT = "kb/datasets/cohort.yaml"
PAPER = "kb/paper_cards/alpha_2024.yaml"


def problems(kb: KB, rel: str) -> list:
    return [p for p in validate_kb(kb.root, jobs=1).problems if p.path == rel]


@pytest.mark.parametrize("name, candidates", [
    ("seed", ["scheme", "n_splits", "group_by"]),
    ("journal", ["url", "venue", "year"]),
    ("dtypes", ["phenotypes", "counts", "qc"]),
    ("storage_location", ["storage", "url"]),
    ("restrictions", ["description", "governance"]),
    ("url", ["uri"]),
])
def test_no_suggestion_for_look_alikes(name: str, candidates: list[str]) -> None:
    assert really_close(name, candidates) is None


@pytest.mark.parametrize("name, expected", [
    ("summmary", "summary"), ("weigths", "weights"), ("licence", "license"),
    ("modalities", "modality"), ("lastUpdated", "last_updated"), ("last_update", "last_updated"),
    ("datset", "dataset"), ("cod", "code"), ("Tags", "tags"),
])
def test_near_misses_are_suggested(name: str, expected: str) -> None:
    known = ["summary", "weights", "license", "modality", "last_updated", "dataset", "code",
             "tags", "scheme"]
    assert really_close(name, known) == expected


def test_edit_distance_matches_brute_force_on_small_cases() -> None:
    # independent oracle: Levenshtein by recursion, plus one adjacent swap allowed
    from functools import cache

    @cache
    def lev(a: str, b: str) -> int:
        if not a or not b:
            return len(a) + len(b)
        swap = lev(a[2:], b[2:]) + 1 if len(a) > 1 and len(b) > 1 and a[:2] == b[1::-1] \
            and a[0] != b[0] else 99
        return min(lev(a[1:], b) + 1, lev(a, b[1:]) + 1, lev(a[1:], b[1:]) + (a[0] != b[0]),
                   swap)

    for a, b in [("seed", "scheme"), ("weigths", "weights"), ("abc", "cab"), ("", "xy"),
                 ("dtypes", "phenotypes"), ("kitten", "sitting")]:
        assert edit_distance(a, b) == lev(a, b), (a, b)


@pytest.mark.parametrize("text, count", [
    ("650M", 650_000_000), ("1.2B", 1_200_000_000), ("86M", 86_000_000), ("~150M", None),
    ("12,500", 12_500), ("7000", 7000), ("450k", None), ("131k", None), ("4k", None),
    ("111M / 650M", None), ("unknown", None), ("1,2M", None), ("TBD (e.g., 7B–155B)", None),
    ("scales to 7B+", None), ("100k+", None), ("about 600", None), ("7B-155B", None),
])
def test_parse_count(text: str, count: int | None) -> None:
    assert parse_count(text) == count


def _example(hint: str) -> object:
    """The YAML example of a 'write it as:' hint, parsed."""
    assert hint.startswith("write it as:\n"), hint
    return yaml.safe_load(hint.split("\n", 1)[1])


def test_wrong_shape_shows_the_expected_shape_as_yaml(kb: KB) -> None:
    kb.edit(COHORT, lambda d: d.update(access="restricted"))
    [p] = problems(kb, COHORT)
    assert p.json_path == "$.access"
    example = _example(p.hint)
    assert example["access"]["level"] == "restricted"


def test_wrong_shape_of_list_items_is_one_message(kb: KB) -> None:
    kb.edit(COHORT, lambda d: d.update(required_columns=["eid", "centre", "age"]))
    [p] = problems(kb, COHORT)
    assert p.json_path == "$.required_columns[0]"
    assert "the same in 2 more items of `required_columns`" in p.message
    assert _example(p.hint) == {"required_columns": [{"name": "eid", "dtype": "..."}]}


def test_text_where_a_list_goes(kb: KB) -> None:
    kb.edit(PAPER, lambda d: d.update(authors="A consortium"))
    [p] = problems(kb, PAPER)
    assert _example(p.hint) == {"authors": ["A consortium"]}


def test_count_written_as_text_gets_the_number(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(arch={"num_parameters": "650M"}))
    [p] = problems(kb, ALPHA)
    assert _example(p.hint) == {"num_parameters": 650_000_000}


@pytest.mark.parametrize("change", [
    lambda d: d.update(impact_note="read by the whole group"),
    lambda d: d.update(reading_notes=["read twice"]),
])
def test_every_unknown_field_gets_a_next_step(kb: KB, change) -> None:  # noqa: ANN001
    kb.edit(PAPER, change)
    [p] = problems(kb, PAPER)
    assert "did you mean" not in p.hint
    assert "declare it in kb/schemas/extensions.yaml" in p.hint
    declaration = yaml.safe_load(p.hint.split("\n", 1)[1].rsplit("\n", 1)[0])
    name = p.json_path.removeprefix("$.")
    assert name in declaration["paper"]["properties"]


def test_declaring_the_field_as_the_hint_says_makes_it_valid(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(arch={"type": "T", "design_notes": ["x"]}))
    [p] = problems(kb, ALPHA)
    declaration = p.hint.split("\n", 1)[1].rsplit("\n", 1)[0].replace("description: ...",
                                                                       "description: mine")
    kb.write("kb/schemas/extensions.yaml", declaration + "\n")
    assert problems(kb, ALPHA) == []


def test_unknown_field_repeated_in_list_items_is_one_message(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(checkpoints=[{"name": "a", "path": "x"},
                                                   {"name": "b", "path": "y", "dtype": "bf16"}]))
    found = problems(kb, ALPHA)
    assert [p.json_path for p in found] == ["$.checkpoints[0].path", "$.checkpoints[1].dtype"]
    assert "the same in 1 more item of `checkpoints`" in found[0].message


def test_swapped_fields_are_one_message(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(modality="brain", domain="fmri"))
    [p] = problems(kb, ALPHA)
    assert "look swapped" in p.message
    assert "`modality: fmri`" in p.hint and "`domain: brain`" in p.hint


def test_value_of_the_sibling_field_is_named(kb: KB) -> None:
    kb.edit(ALPHA, lambda d: d.update(modality="genetics"))
    [p] = problems(kb, ALPHA)
    assert "`genetics` is a value of `domain`" in p.hint


def test_fields_of_the_older_format_point_at_migrate(kb: KB) -> None:
    kb.edit(PAPER, lambda d: d.update(pdf_source="https://example.org/a.pdf",
                                      how_we_read_it="twice"))
    found = {p.json_path: p.hint for p in problems(kb, PAPER)}
    assert "older card format's name for `url`" in found["$.pdf_source"]
    assert "kbtools migrate --write" in found["$.pdf_source"]
    assert "declare it in kb/schemas/extensions.yaml" in found["$.how_we_read_it"]


def test_indexed_near_matcher_agrees_with_the_plain_search() -> None:
    """The index used for thousands of card ids finds what a scan of every id finds."""
    import random
    import string

    from kbtools.validation.hints import NearMatcher

    rng = random.Random(7)
    ids = [f"model_{i:05d}" for i in range(1500)] + [f"dataset_{i:02d}" for i in range(20)] + [
        "caduceus", "dnabert2", "evo2", "gene_pca", "combat", "cohort", "none_baseline"]
    queries = ["model_0001x", "modle_00011", "dataset_01_v2", "cohrt", "gene_pcaa", "comba",
               "dnabert", "evo", "nope_2020", "xyz", "Cohorts"]
    for _ in range(200):
        word = rng.choice(ids)
        i = rng.randrange(len(word))
        queries += [word[:i] + rng.choice("ab_1") + word[i + 1:], word[:i] + word[i + 1:],
                    word[:i] + word[i + 1:i + 2] + word[i:i + 1] + word[i + 2:]]
    queries += ["".join(rng.choice(string.ascii_lowercase + "_0123456789")
                        for _ in range(rng.randint(3, 14))) for _ in range(200)]
    matcher = NearMatcher(ids)
    assert [matcher.match(q) for q in queries] == [really_close(q, ids) for q in queries]
    assert matcher.match("cohrt") == "cohort"
