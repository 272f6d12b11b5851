"""Every comment of a card survives its migration, once, next to what it was written for.

ruamel.yaml keeps a comment on the value *before* it, so moving, converting or deleting that
value can drop the comment, copy it, or print it inside another value. After a card is
rewritten, :func:`keep_comments` compares the comments of the old and the new text (read with
ruamel's own scanner, so text inside quotes and block scalars is never taken for a comment):
extra copies are removed, and each lost comment is put back before the line it was written
before (an end-of-line comment: after its line), found by key and value in the new text. A
placement that would change the card's values is never kept; as a last resort the comment
goes to the end of the card.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_ITEM = re.compile(r"^-\s+")
_BLOCK_HEADER = re.compile(r"(?::|^\s*-)\s+[|>][-+0-9]*\s+(#.*)$")


@dataclass(frozen=True)
class Comment:
    line: int  # 0-based line of the text
    column: int
    text: str  # from the `#` on
    eol: bool  # after content on its line


def scan(text: str) -> tuple[list[Comment], set[int], set[int]]:
    """The comments of a YAML text, the lines inside block scalars (``|``, ``>``), and the
    lines inside flow collections spanning several lines (``{...}``, ``[...]``)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.tokens import (
        CommentToken,
        FlowMappingEndToken,
        FlowMappingStartToken,
        FlowSequenceEndToken,
        FlowSequenceStartToken,
        ScalarToken,
    )

    lines = text.splitlines()
    tokens: list[Any] = []
    blocks: set[int] = set()
    flows: set[int] = set()
    opened: list[int] = []
    try:
        for token in YAML(typ="rt").scan(text):
            if isinstance(token, ScalarToken) and token.style in ("|", ">"):
                blocks.update(_block_lines(lines, token.start_mark.line, token.end_mark.line))
            elif isinstance(token, FlowMappingStartToken | FlowSequenceStartToken):
                opened.append(token.start_mark.line)
            elif isinstance(token, FlowMappingEndToken | FlowSequenceEndToken) and opened:
                start = opened.pop()
                if not opened:
                    flows.update(range(start + 1, token.start_mark.line + 1))
            stack = [getattr(token, "_comment", None)]
            while stack:
                item = stack.pop()
                if isinstance(item, CommentToken):
                    tokens.append(item)
                elif isinstance(item, list):
                    stack.extend(item)
    except YAMLError:
        return [], blocks, flows
    found: dict[int, Comment] = {}
    for token in tokens:
        for offset, part in enumerate(token.value.split("\n")):
            line = token.start_mark.line + offset
            if "#" not in part or line >= len(lines) or line in found:
                continue
            column = lines[line].find("#", token.start_mark.column if offset == 0 else 0)
            if column < 0:
                continue
            found[line] = Comment(line, column, lines[line][column:].rstrip(),
                                  bool(lines[line][:column].strip()))
    for number, line in enumerate(lines):  # comments no token carries (in flows, after |)
        if number in found or number in blocks:
            continue
        if line.lstrip().startswith("#"):
            column = len(line) - len(line.lstrip())
            found[number] = Comment(number, column, line[column:].rstrip(), False)
        elif (header := _BLOCK_HEADER.search(line)) is not None:
            found[number] = Comment(number, header.start(1), header.group(1).rstrip(), True)
    return [found[k] for k in sorted(found)], blocks, flows


def _block_lines(lines: list[str], start: int, end: int) -> set[int]:
    """Lines of a block scalar's text: indented at least as its first line; blank lines and
    comments after the text are not part of it."""
    body = [n for n in range(start + 1, min(end + 1, len(lines))) if lines[n].strip()]
    if not body:
        return set()
    first = lines[body[0]]
    indent = len(first) - len(first.lstrip())
    last = start
    for number in range(start + 1, min(end + 1, len(lines))):
        line = lines[number]
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        if line.strip():
            last = number
    return set(range(start + 1, last + 1))


def _content(line: str, comment: Comment | None) -> str:
    return (line[:comment.column] if comment else line).strip()


def _key_value(content: str) -> tuple[str | None, str]:
    text = _ITEM.sub("", content)
    match = re.match(r"^([^\s:#'\"][^:#]*?|'[^']*'|\"[^\"]*\"):(?:\s+(.*))?$", text)
    if match:
        return match.group(1).strip("'\""), (match.group(2) or "").strip().strip("'\"")
    return None, text.strip().strip("'\"")


def keep_comments(old: str, new: str, same: Callable[[str], bool]) -> str:
    """``new`` with every comment of ``old`` exactly as often as there; ``same(text)`` says
    whether a text still holds the card's values."""
    if _unchanged(old, new):
        return new  # the common case, seen without tokenizing either text
    before, _, _ = scan(old)
    after, _, flows = scan(new)
    want = Counter(c.text for c in before)
    lines = new.splitlines()
    # extra copies: keep the first of each
    seen: Counter[str] = Counter()
    drop: dict[int, Comment] = {}
    for comment in after:
        seen[comment.text] += 1
        if seen[comment.text] > want[comment.text] or comment.line in flows:
            drop[comment.line] = comment  # a copy, or wedged inside a {...} / [...]
    for number in sorted(drop, reverse=True):
        comment = drop[number]
        if comment.eol:
            lines[number] = lines[number][:comment.column].rstrip()
        else:
            del lines[number]
    have = Counter(c.text for c in after) - Counter(c.text for c in drop.values())
    missing = []
    for comment in before:  # in order: the first copies are the ones still there
        if have[comment.text] > 0:
            have[comment.text] -= 1
        else:
            missing.append(comment)
    old_lines = old.splitlines()
    by_line = {c.line: c for c in before}
    for comment in missing:
        anchor = _anchor(old_lines, by_line, comment)
        lines = _place(lines, comment, anchor, same, new)
    return _relocate(lines, before, old_lines, by_line, same, new)


def _relocate(lines: list[str], before: list[Comment], old_lines: list[str],
              by_line: dict[int, Comment], same: Callable[[str], bool], like: str) -> str:
    """A full-line comment left away from the line it was written before (its item moved
    to another list) goes back before that line, when the line is there once as written."""
    once = Counter(c.text for c in before)
    for comment in before:
        if comment.eol or once[comment.text] != 1:
            continue
        anchor = _anchor(old_lines, by_line, comment)
        now = [n for n, line in enumerate(lines) if line.strip() == comment.text]
        if anchor is None or len(now) != 1:
            continue
        here = now[0]
        following = next((ln.split(" #")[0].strip() for ln in lines[here + 1:]
                          if ln.strip() and not ln.lstrip().startswith("#")), None)
        if following == anchor:
            continue
        _, blocks, flows = scan(_join(lines, like))
        targets = [n for n, ln in enumerate(lines) if n not in blocks | flows
                   and ln.split(" #")[0].strip() == anchor]
        if len(targets) != 1:
            continue
        target = targets[0]
        indent = lines[target][:len(lines[target]) - len(lines[target].lstrip())]
        moved = [ln for n, ln in enumerate(lines) if n != here]
        target -= target > here
        moved.insert(target, indent + comment.text)
        if same(_join(moved, like)):
            lines = moved
    return _join(lines, like)


def _rough(text: str) -> tuple[Counter[str], dict[str, str]]:
    """Every ``#`` run of each line (comments, and the odd ``#`` inside a value), and for each
    full-line comment written once the content line that follows it."""
    found: Counter[str] = Counter()
    lines = text.splitlines()
    follows: dict[str, str] = {}
    for number, line in enumerate(lines):
        for match in re.finditer(r"(?:^|\s)(#.*)$", line):
            found[match.group(1).rstrip()] += 1
        if line.lstrip().startswith("#"):
            after = next((ln.split(" #")[0].strip() for ln in lines[number + 1:]
                          if ln.strip() and not ln.lstrip().startswith("#")), "")
            follows[line.strip()] = after
    return found, follows


def _unchanged(old: str, new: str) -> bool:
    """Whether ``new`` plainly holds each comment of ``old`` once, before the same line: no
    comment to put back, remove or move."""
    if "#" not in old and "#" not in new:
        return True
    old_found, old_follows = _rough(old)
    new_found, new_follows = _rough(new)
    if old_found != new_found:
        return False
    contents = Counter(ln.split(" #")[0].strip() for ln in new.splitlines())
    # a comment away from its line moves back only to a line there once, as written
    return all(new_follows.get(text) == after or contents[after] != 1
               for text, after in old_follows.items() if old_found[text] == 1)


def _anchor(lines: list[str], comments: dict[int, Comment], comment: Comment) -> str | None:
    """The content a comment belongs with: its own line's (end of line), else the next."""
    if comment.eol:
        return _content(lines[comment.line], comment)
    for number in range(comment.line + 1, len(lines)):
        content = _content(lines[number], comments.get(number))
        if content:
            return content
    return None


def _place(lines: list[str], comment: Comment, anchor: str | None,
           same: Callable[[str], bool], like: str) -> list[str]:
    candidates = _matches(lines, anchor, like) if anchor else []
    tries: list[list[str]] = []
    for number in candidates:
        line = lines[number]
        indent = line[:len(line) - len(line.lstrip())]
        if comment.eol and "#" not in line:
            tries.append([*lines[:number], f"{line}  {comment.text}", *lines[number + 1:]])
        tries.append([*lines[:number], f"{indent}{comment.text}", *lines[number:]])
    tries.append([*lines, comment.text])
    for attempt in tries:
        if same(_join(attempt, like)):
            return attempt
    return tries[-1]


def _matches(lines: list[str], anchor: str, like: str) -> list[int]:
    """Lines of the new text holding the anchor's content: the same line, the same key and
    value, the same value, the same key (in that order); never inside a block scalar."""
    _, blocks, flows = scan(_join(lines, like))
    blocks |= flows
    key, value = _key_value(anchor)
    ranked: list[tuple[int, int]] = []
    for number, line in enumerate(lines):
        if number in blocks or not line.strip() or line.lstrip().startswith("#"):
            continue
        content = line.split(" #")[0].strip()
        other_key, other_value = _key_value(content)
        if content == anchor:
            rank = 0
        elif key is not None and other_key == key and other_value == value:
            rank = 1
        elif value and other_value == value:
            rank = 2
        elif key is not None and other_key == key:
            rank = 3
        else:
            continue
        ranked.append((rank, number))
    return [number for _, number in sorted(ranked)][:4]


def _join(lines: list[str], like: str) -> str:
    return "\n".join(lines) + ("\n" if like.endswith("\n") or not like else "")
