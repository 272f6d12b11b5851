"""A pattern cannot stall validation (issue 18, item 4).

``pattern`` and ``patternProperties`` are matched in linear time (the regex crate, through
jsonschema-rs) by both engines; constructs only a backtracking engine can run are refused when
the extension file loads, with a message naming the construct and its line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.schemas.extensions import _CACHE, merge
from kbtools.validation import validate_kb
from kbtools.validation.schema_check import check_schema

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"
EXT = "kb/schemas/extensions.yaml"
#: Generated examples per property (CI); a soak run raises it (KBTOOLS_SOAK_EXAMPLES).
EXAMPLES = int(os.environ.get("KBTOOLS_SOAK_EXAMPLES", "40"))
#: Generous: each case takes well under a second; a backtracking engine takes hours.
BOUND_S = 60


def test_nested_quantifier_against_a_long_value_finishes(kb: KB) -> None:
    """``^(a+)+$`` against 40 characters: 2^40 paths for a backtracking engine."""
    kb.write(EXT, "model:\n  properties:\n    code:\n      type: string\n"
                  "      pattern: '^(a+)+$'\n")
    kb.edit(ALPHA, lambda d: d.update(code="a" * 40 + "!"))
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "kbtools", "--kb-root", str(kb.root),
                          "validate"], capture_output=True, text=True, timeout=BOUND_S)
    elapsed = time.monotonic() - started
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"{ALPHA}:" in run.stdout and "not in the expected form in `code`" in run.stdout
    print(f"validate with ^(a+)+$ against 41 characters: {elapsed:.2f} s")


@pytest.mark.parametrize("pattern, construct", [
    (r"^(a)\1$", "backreference"),
    (r"^(?<x>a)\k<x>$", "named backreference"),
    (r"^(?=a)a+$", "lookahead"),
    (r"^a(?!b)", "lookahead"),
    (r"(?<=a)b", "lookbehind"),
    (r"(?<!a)b", "lookbehind"),
    (r"(?>a+)b", "atomic group"),
    ("a{1000}{1000}", "too large"),
    ("(" * 2000 + ")" * 2000, "up to 1,000"),
])
def test_backtracking_constructs_are_refused_at_load(kb: KB, pattern: str,
                                                     construct: str) -> None:
    kb.write(EXT, "model:\n  properties:\n    ok: {type: string}\n    code:\n"
                  f"      type: string\n      pattern: {json.dumps(pattern)}\n"
                  "    keyed:\n      type: object\n      patternProperties:\n"
                  f"        ? {json.dumps(pattern)}\n        : {{type: string}}\n")
    kb.edit(ALPHA, lambda d: d.update(ok="still declared"))
    _CACHE.clear()
    found = [p for p in validate_kb(kb.root, jobs=1).problems if p.path == EXT]
    assert [p.line for p in found] == [6, 10], found
    assert all(construct in p.message and p.hint for p in found)
    assert not [p for p in validate_kb(kb.root, jobs=1).problems if p.path == ALPHA]


def test_ordinary_patterns_keep_working(kb: KB) -> None:
    kb.write(EXT, "model:\n  properties:\n    code:\n      type: string\n"
                  "      pattern: '^[A-Z]{2}-\\d{3}$'\n    kb_keys:\n      type: object\n"
                  "      patternProperties: {'^x-': {type: integer}}\n"
                  "      additionalProperties: false\n")
    kb.edit(ALPHA, lambda d: d.update(code="AB-123", kb_keys={"x-one": 1}))
    _CACHE.clear()
    assert not [p for p in validate_kb(kb.root, jobs=1).problems if p.path in (ALPHA, EXT)]
    kb.edit(ALPHA, lambda d: d.update(code="ab-12", kb_keys={"x-one": "1", "other": 2}))
    found = {p.json_path for p in validate_kb(kb.root, jobs=1).problems if p.path == ALPHA}
    assert found == {"$.code", "$.kb_keys.x-one", "$.kb_keys.other"}, found


# ---------------------------------------------------------------------------------------------
# the generator: catastrophic patterns against long values


_ATOMS = st.sampled_from(["a", "b", "ab", "a?", "[ab]", ".", r"\w", "a|a", "a|ab", "aa|a"])


@st.composite
def catastrophic(draw: st.DrawFn) -> str:
    """Nested quantifiers and overlapping alternations, the classic exponential shapes."""
    inner = draw(_ATOMS)
    for _ in range(draw(st.integers(1, 4))):
        inner = f"({inner}){draw(st.sampled_from(['+', '*', '{1,}', '{2,}', '+?', '*?']))}"
        if draw(st.booleans()):
            inner = f"({inner}|{draw(_ATOMS)})"
    return draw(st.sampled_from(["^{}$", "^{}x$", "{}$", "^({})+$"])).format(inner)


@settings(max_examples=EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=catastrophic(), char=st.sampled_from("ab"), length=st.integers(30, 5000),
       tail=st.sampled_from(["!", "", "c", "\u0000", "\U0001f600"]))
def test_catastrophic_patterns_finish_in_bounded_time(pattern: str, char: str, length: int,
                                                      tail: str) -> None:
    from kbtools.schemas import patterns

    assert patterns.problem(pattern) is None, pattern
    fragment = {"properties": {"code": {"type": "string", "pattern": pattern},
                               "keyed": {"type": "object",
                                         "patternProperties": {pattern: {"type": "integer"}},
                                         "additionalProperties": False}}}
    merged, _, problems = merge("model", fragment)
    assert not problems
    value = char * length + tail
    card = {"id": "x", "code": value, "keyed": {value: "not an integer", value[:-1]: 1}}
    started = time.monotonic()
    check_schema("model_card", card, {"model_card": (f"redos-{pattern}", merged)})
    assert time.monotonic() - started < BOUND_S
