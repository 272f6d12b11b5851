"""``kbtools migrate`` and ``validate`` load every file through the same guarded loader
(issue 18, item 6): alias, node, depth and size bounds, so hostile YAML gives a clear problem
naming the file in about a second — no RecursionError, no hang, no traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.errors import KBToolsError
from kbtools.migrate.engine import plan
from kbtools.validation import validate_kb

#: Generated examples per property (CI); a soak run raises it (KBTOOLS_SOAK_EXAMPLES).
EXAMPLES = int(os.environ.get("KBTOOLS_SOAK_EXAMPLES", "30"))
#: Generous: each case takes about a second; main took > 120 s or crashed.
BOUND_S = 60


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["id: laughs", 'a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def deep_nesting(depth: int = 5000) -> str:
    return "id: deep\nx: " + "[" * depth + "]" * depth + "\n"


def deep_block(depth: int = 1500) -> str:
    """Block mappings nested ``depth`` deep (one space per level, so ~depth²/2 bytes)."""
    return "id: deep\n" + "".join(" " * i + f"k{i}:\n" for i in range(depth)) + \
        " " * depth + "v: 1\n"


def _kb(root: Path, cards: dict[str, str]) -> Path:
    (root / "kb" / "model_cards").mkdir(parents=True)
    (root / "mkdocs.yml").write_text("site_name: t\n")
    for name, text in cards.items():
        (root / "kb" / "model_cards" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("name, text, words", [
    ("laughs", billion_laughs(), "alias"),
    ("deep", deep_nesting(), "nesting deeper than"),
    ("deep_block", deep_block(), "nesting deeper than"),
    ("huge", "id: huge\nv: " + "x" * 6_000_000 + "\n", "byte limit"),
])
def test_migrate_refuses_hostile_yaml_naming_the_file(tmp_path: Path, name: str, text: str,
                                                      words: str) -> None:
    root = _kb(tmp_path, {name: text, "fine": "id: fine\nname: Fine\n"})
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "kbtools", "--kb-root", str(root), "migrate",
                          "--no-diff"], capture_output=True, text=True, timeout=BOUND_S)
    elapsed = time.monotonic() - started
    assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr + run.stdout
    assert run.returncode == 0, run.stderr
    note = next(line for line in run.stdout.splitlines()
                if f"kb/model_cards/{name}.yaml" in line)
    assert "not migrated" in note and words in note
    print(f"migrate with {name}: {elapsed:.2f} s")


# ---------------------------------------------------------------------------------------------
# the generator: hostile YAML through validate and migrate

_SCALARS = st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False),
                     st.booleans(), st.none())


def _quoted(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or 0x7f <= code <= 0x9f or 0xd800 <= code <= 0xdfff or code in (
                0xfeff, 0xfffe, 0xffff):
            out.append(f"\\x{code:02x}" if code <= 0xff else f"\\u{code:04x}"
                       if code <= 0xffff else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    """Cards built from a grammar of the shapes that stall or crash naive loaders."""
    shape = draw(st.sampled_from(["aliases", "flow_depth", "block_depth", "huge_key",
                                  "unicode", "mixed", "merge_keys", "tags"]))
    if shape == "aliases":
        return billion_laughs(draw(st.integers(2, 12)), draw(st.integers(2, 12)))
    if shape == "flow_depth":
        depth = draw(st.integers(150, 6000))
        opener = draw(st.sampled_from(["[", "{a: "]))
        closer = "]" if opener == "[" else "}"
        return "id: x\nv: " + opener * depth + "1" + closer * depth + "\n"
    if shape == "block_depth":
        return deep_block(draw(st.integers(150, 1500)))
    if shape == "huge_key":
        key = draw(st.text(min_size=1, max_size=5)) * draw(st.integers(200, 5000))
        return f"id: x\n? {_quoted(key)}\n: 1\n"
    if shape == "merge_keys":
        n = draw(st.integers(2, 40))
        lines = ["id: x", "b0: &b0 {k: 1}"]
        lines += [f"b{i}: &b{i} {{<<: [*b{i - 1}, *b{i - 1}], k{i}: {i}}}" for i in range(1, n)]
        return "\n".join(lines) + "\n"
    if shape == "tags":
        tag = draw(st.sampled_from(["!!python/object/apply:os.system", "!!binary", "!custom",
                                    "!!python/name:os.system", "!!set"]))
        return f"id: x\nv: {tag} {_quoted(draw(st.text(max_size=10)))}\n"
    data = draw(st.dictionaries(st.text(min_size=1, max_size=20), _SCALARS, max_size=8))
    lines = ["id: x"] + [f"{_quoted(k)}: {_quoted(v) if isinstance(v, str) else repr(v)}"
                         for k, v in data.items() if k != "id"]
    text = "\n".join(lines) + "\n"
    if shape == "mixed":
        text += "z: " + draw(st.text(max_size=40)) + "\n"  # raw, possibly invalid
    return text


@settings(max_examples=EXAMPLES, deadline=20000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=hostile_yaml())
def test_hostile_yaml_through_validate_and_migrate_is_bounded(tmp_path_factory, text: str
                                                               ) -> None:
    root = tmp_path_factory.mktemp("hostile")
    _kb(root, {"x": text})
    started = time.monotonic()
    problems = validate_kb(root, jobs=1).problems  # must not raise
    assert all(p.message for p in problems)
    try:
        result = plan(root)
    except KBToolsError:  # a message, not a traceback (e.g. an extension file problem)
        pass
    else:
        notes = [n for n in result.report.notes if n.rel == "kb/model_cards/x.yaml"]
        assert all("Traceback" not in n.message for n in notes)
    assert time.monotonic() - started < BOUND_S
    shutil.rmtree(root, ignore_errors=True)
