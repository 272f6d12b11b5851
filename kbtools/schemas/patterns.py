"""Schema patterns (``pattern``, ``patternProperties``, ``format: regex``) matched in linear time.

Every pattern kbtools matches is compiled by the Rust ``regex`` crate (through jsonschema-rs's
:class:`jsonschema_rs.RegexOptions`), an automaton engine whose matching time grows linearly
with the text, so ``^(a+)+$`` cannot stall validation the way a backtracking engine (Python's
``re``) does. The price is that constructs only a backtracking engine can run are refused when
the schema is loaded, with a message naming the construct: backreferences (``\\1``,
``\\k<name>``), lookahead and lookbehind (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), atomic groups
(``(?>``), conditionals and recursion. Compiled programs are size-bounded too, so a pattern
such as ``a{1000}{1000}`` is refused instead of taking seconds and megabytes to build.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema_rs

#: Longest pattern accepted (characters); longer ones are refused at load.
MAX_PATTERN_LENGTH = 1000
#: Bounds on the compiled program and its lazy DFA (bytes): a pattern needing more is refused.
SIZE_LIMIT = 1 << 20
DFA_SIZE_LIMIT = 2 << 20
OPTIONS = jsonschema_rs.RegexOptions(size_limit=SIZE_LIMIT, dfa_size_limit=DFA_SIZE_LIMIT)

#: Constructs a linear-time engine cannot run, with the name a message gives them.
_CONSTRUCTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\\[1-9]"), "a backreference (`\\1`)"),
    (re.compile(r"\\k<"), "a named backreference (`\\k<name>`)"),
    (re.compile(r"\(\?<[=!]"), "a lookbehind (`(?<=` or `(?<!`)"),
    (re.compile(r"\(\?[=!]"), "a lookahead (`(?=` or `(?!`)"),
    (re.compile(r"\(\?>"), "an atomic group (`(?>`)"),
    (re.compile(r"\(\?\("), "a conditional (`(?(`)"),
    (re.compile(r"\(\?(?:R|[+-]?\d)\)"), "recursion (`(?R)`)"),
)


def _outside_classes(pattern: str) -> str:
    """``pattern`` with escaped characters and character classes blanked (``[(?=]`` is text)."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            keep = depth == 0 and pattern[i + 1] in "123456789k"  # backreferences stay visible
            out.append(pattern[i:i + 2] if keep else "  ")
            i += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
            out.append(" ")
            i += 1
            continue
        out.append(char if depth == 0 else " ")
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used (naming the construct), or None when it can."""
    if not isinstance(pattern, str):
        return "a pattern must be text"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return (f"the pattern is {len(pattern):,} characters long; kbtools accepts patterns of "
                f"up to {MAX_PATTERN_LENGTH:,}")
    plain = _outside_classes(pattern)
    for construct, name in _CONSTRUCTS:
        if construct.search(plain):
            return (f"the pattern uses {name}, which needs a backtracking regex engine; "
                    "kbtools matches patterns in linear time and cannot run it")
    try:
        _matcher(pattern)
    except (ValueError, jsonschema_rs.ValidationError):
        return ("the pattern is not a regular expression kbtools can compile (invalid syntax, "
                "or too large to match in linear time)")
    return None


PATTERN_HINT = ("rewrite the pattern without that construct (e.g. list the allowed forms with "
                "`|`), or describe the form in `description:` and drop `pattern:`")


@functools.lru_cache(maxsize=4096)
def _matcher(pattern: str) -> Any:
    return jsonschema_rs.validator_for({"type": "string", "pattern": pattern},
                                       pattern_options=OPTIONS)


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (JSON Schema ``pattern`` semantics).

    Raises ``ValueError`` for a pattern :func:`problem` refuses.
    """
    why = problem(pattern)
    if why is not None:
        raise ValueError(why)
    return bool(_matcher(pattern).is_valid(text))


def schema_patterns(schema: Any, parts: tuple[str | int, ...] = ()
                    ) -> list[tuple[tuple[str | int, ...], str]]:
    """(JSON path, pattern) of every ``pattern`` and ``patternProperties`` key in ``schema``."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(parts, schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                here = (*where, key)
                if key == "pattern" and isinstance(value, str):
                    found.append((here, value))
                elif key == "patternProperties" and isinstance(value, dict):
                    found.extend(((*here, name), name) for name in value if isinstance(name, str))
                stack.append((here, value))
        elif isinstance(node, list):
            stack.extend(((*where, i), item) for i, item in enumerate(node))
    return sorted(found, key=lambda item: [str(p) for p in item[0]])
