"""The strict YAML loader: PyYAML's scalar rules, plus strictness and bounded work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kbtools import yamlio
from kbtools.yamlio import YAMLLoadError, loads, locate

BILLION_LAUGHS = "".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)])


@pytest.mark.parametrize("text", [
    "a: 1\nb: [1, 2, {c: d}]\nc: ~\nd: yes\ne: 'yes'\nf: 0x1F\ng: 010\nh: 1_000\ni: 1.5\n",
    "j: -3\nk: +4\nl: .inf\nm: 1e3\nn: 'quoted'\no: \"dq\\t\"\np: !!str 12\nq: !!int '7'\n",
    "x: &a {k: 1}\ny: *a\nz:\n  <<: *a\n  m: 2\n",
    "list:\n- a\n- - b\n  - c\n- {d: e}\nfolded: >-\n  two\n  lines\n",
    "1: a\nfalse: b\n",
    "",
])
def test_same_values_as_pyyaml(text: str) -> None:
    assert loads(text) == yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506


def test_dates_stay_strings() -> None:
    data = loads("d: 2026-11-21\nt: 2001-12-14 21:59:43.10 -5\n")
    assert data == {"d": "2026-11-21", "t": "2001-12-14 21:59:43.10 -5"}


def test_merge_keys_keep_explicit_values() -> None:
    data = loads("m: &m {a: 1, b: 2}\nn:\n  <<: [*m, {c: 3}]\n  a: 9\n")
    assert data["n"] == {"a": 9, "b": 2, "c": 3}


@pytest.mark.parametrize(("text", "rule", "line", "column"), [
    ("a: 1\nb: 2\na: 3\n", "yaml.duplicate-key", 3, 1),
    ("outer:\n  k: 1\n  k: 2\n", "yaml.duplicate-key", 3, 3),
    ("a: !!python/object/apply:os.system ['true']\n", "yaml.unsafe-tag", 1, 4),
    ("a: !!binary aGk=\n", "yaml.unsafe-tag", 1, 4),
    ("a: !custom x\n", "yaml.unsafe-tag", 1, 4),
    ("a: !!set {x}\n", "yaml.unsafe-tag", 1, 4),
    ("? [a, b]\n: 1\n", "yaml.key", 1, 3),
    ("a:\n\t- b\n", "yaml.syntax", 2, 1),
    ("a: [1, 2\n", "yaml.syntax", 2, 1),
    ("a: 1\n---\nb: 2\n", "yaml.syntax", 2, 1),
    ("a: *nope\n", "yaml.syntax", None, None),
])
def test_strict_errors(text: str, rule: str, line: int | None, column: int | None) -> None:
    with pytest.raises(YAMLLoadError) as exc:
        loads(text)
    assert exc.value.rule == rule
    if line is not None:
        assert (exc.value.line, exc.value.column) == (line, column)


def test_tab_error_says_tabs() -> None:
    with pytest.raises(YAMLLoadError) as exc:
        loads("a:\n  b: 1\n\tc: 2\n")
    assert "tab" in exc.value.message and "spaces" in (exc.value.hint or "")


def test_string_keys_mode() -> None:
    assert loads("2024: x\n") == {2024: "x"}
    with pytest.raises(YAMLLoadError, match="not text") as exc:
        loads("a: 1\n2024: x\n", string_keys=True)
    assert exc.value.line == 2


def test_python_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for text in (f"!!python/object/apply:os.system ['touch {marker}']\n",
                 f"a: !!python/object/apply:subprocess.call [['touch', '{marker}']]\n",
                 "a: !!python/name:os.system\n"):
        with pytest.raises(YAMLLoadError) as exc:
            loads(text)
        assert exc.value.rule == "yaml.unsafe-tag"
    assert not marker.exists()


def test_billion_laughs_is_refused_quickly() -> None:
    # In a subprocess with a timeout: a loader that walked the expansion would never return.
    code = ("import sys; from kbtools.yamlio import loads, YAMLLoadError\n"
            "try:\n    loads(sys.stdin.read())\nexcept YAMLLoadError as e:\n    print(e.rule)\n")
    out = subprocess.run([sys.executable, "-c", code], input=BILLION_LAUGHS, text=True,
                         capture_output=True, timeout=60, check=True)
    assert out.stdout.strip() == "yaml.too-large"


def test_shared_aliases_below_the_bound_are_fine() -> None:
    data = loads("a: &a [1, 2, 3]\nb: *a\nc: *a\n")
    assert data["b"] == data["c"] == [1, 2, 3]


@pytest.mark.parametrize("depth", [yamlio.MAX_DEPTH + 1, 5000])
def test_deep_nesting_is_refused(depth: int) -> None:
    # 5000 levels: libyaml >= 0.2.5 (PyYAML 6.0.4 wheels) stops at 1000 levels by itself, and
    # that must be the same too-deep problem as our own limit, not a syntax error.
    with pytest.raises(YAMLLoadError) as exc:
        loads("a: " + "[" * depth + "]" * depth + "\n")
    assert exc.value.rule == "yaml.too-large"
    assert f"deeper than {yamlio.MAX_DEPTH}" in exc.value.message
    assert exc.value.line == 1


def test_nesting_at_the_limit_is_accepted() -> None:
    depth = yamlio.MAX_DEPTH - 1
    data = loads("a: " + "[" * depth + "]" * depth + "\n")["a"]
    levels = 1
    while data:
        data, levels = data[0], levels + 1
    assert levels == depth


def test_read_text_refuses_large_and_non_utf8(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: '" + b"x" * (yamlio.MAX_BYTES + 1) + b"'\n")
    with pytest.raises(YAMLLoadError) as exc:
        yamlio.load_file(big)
    assert exc.value.rule == "yaml.too-large"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(YAMLLoadError) as exc:
        yamlio.load_file(latin)
    assert (exc.value.rule, exc.value.line, exc.value.column) == ("yaml.encoding", 2, 7)


def test_bom_is_ignored() -> None:
    assert loads("\ufeffa: 1\n") == {"a": 1}


def test_dump_round_trips() -> None:
    data = {"id": "x", "list": [1, {"a": "b"}], "text": "café", "date": "2026-11-21"}
    assert loads(yamlio.dump(data)) == data


TEXT = """# comment
id: x
license:
  code: MIT
checkpoints:
- name: a
- name: b
  url: https://example.org
"""


@pytest.mark.parametrize(("path", "expected"), [
    ([], (2, 1)),
    (["id"], (2, 1)),
    (["license"], (3, 1)),
    (["license", "code"], (4, 3)),
    (["license", "missing"], (3, 1)),
    (["checkpoints", 1], (7, 3)),
    (["checkpoints", 1, "url"], (8, 3)),
    (["checkpoints", 9], (5, 1)),
])
def test_locate(path: list[str | int], expected: tuple[int, int]) -> None:
    pos = locate(TEXT, path)
    assert pos is not None and (pos.line, pos.column) == expected
