"""Where a ``$ref`` in the KB's schema extensions may point, checked when the file loads.

A reference may point

* inside the merged schema itself (``#/$defs/name``, the extension file's own ``$defs``);
* into a built-in kbtools schema (``../dataset_card.schema.json#/$defs/...``);
* into a schema file of the KB under ``kb/schemas/`` (``common.yaml#/$defs/name``, relative to
  that folder), read through the same inside-the-root gate as every KB file
  (:func:`kbtools.kb.resolve_inside`) and the same guarded YAML loader.

Anything else — ``file://`` and other schemes, URLs, absolute paths, ``../`` out of
``kb/schemas/``, a symlink out of the KB — is a problem of the extension file, reported with its
line. Files that may be used are *bundled* into the merged schema (as ``$defs`` entries carrying
their own ``$id``), so the engines never retrieve anything (:mod:`kbtools.schemas.engines`).
Messages name the reference and the file, never a value read from a referenced document.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

SCHEMA_DIR = "kb/schemas"
#: Where the built-in schemas live (their ``$id``) and where the KB's schema files are placed.
BASE = "https://kbtools.invalid/schemas/"
KB_BASE = BASE + "kb/"
#: ``$defs`` key prefix of a bundled document.
BUNDLED = "kbtools-bundled:"
REF_KEYS = ("$ref", "$dynamicRef")
#: Keywords that change where references point or which dialect applies: not allowed inside
#: an extension (the merged schema is one resource, in Draft 2020-12).
MOVING_KEYS = ("$id", "$schema", "$recursiveRef")
SUFFIXES = (".yaml", ".yml", ".json")
#: Most documents one extension file may bring in through references.
MAX_DOCUMENTS = 64

HINT = ("define the schema under `$defs:` in the extension file and write `$ref: '#/$defs/NAME'`, "
        f"or keep it in a file under {SCHEMA_DIR}/ and refer to it by its name there "
        "(e.g. `$ref: common.yaml#/$defs/NAME`)")


@dataclass(frozen=True)
class RefProblem:
    message: str
    parts: tuple[str | int, ...]
    hint: str | None = HINT


@dataclass
class Bundle:
    """Documents to embed in a merged schema (URI -> document), and the problems found."""

    documents: dict[str, Any] = field(default_factory=dict)
    problems: list[RefProblem] = field(default_factory=list)


def builtin_documents() -> dict[str, dict[str, Any]]:
    """The built-in schemas by their ``$id``."""
    from kbtools.schemas import SCHEMA_NAMES, load_schema

    return {load_schema(name)["$id"]: load_schema(name) for name in SCHEMA_NAMES}


def references(node: Any, parts: tuple[str | int, ...] = ()
               ) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(JSON path, keyword, value) of every reference and moving keyword inside ``node``."""
    found = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(parts, node)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in REF_KEYS + MOVING_KEYS and isinstance(value, str):
                    found.append(((*where, key), key, value))
                else:
                    stack.append(((*where, key), value))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in enumerate(item))
    return sorted(found, key=lambda f: [str(p) for p in f[0]])


def _short(text: str, limit: int = 80) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _why_outside(ref: str) -> str:
    """What kind of place ``ref`` names (for the message)."""
    split = urlsplit(ref)
    if split.scheme == "file":
        return "a local file (file://)"
    if split.scheme in ("http", "https") or split.netloc:
        return "a URL (kbtools never fetches one)"
    if split.scheme:
        return f"a `{split.scheme}:` address"
    if split.path.startswith("/"):
        return "an absolute path"
    return f"a path outside {SCHEMA_DIR}/"


def pointer_target(document: Any, fragment: str) -> tuple[bool, Any]:
    """(found, node) for a URI fragment: a JSON pointer (``/a/b``), an ``$anchor``, or ""."""
    fragment = unquote(fragment)
    if not fragment:
        return True, document
    if not fragment.startswith("/"):
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("$anchor") == fragment or node.get("$dynamicAnchor") == fragment:
                    return True, node
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return False, None
    node = document
    for token in fragment[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


class _Gate:
    """Follows the references of one merged schema, bundling what may be used."""

    def __init__(self, root: Path | None, merged: dict[str, Any]):
        self.root = Path(root).resolve() if root is not None else None
        self.merged = merged
        self.base = str(merged.get("$id") or KB_BASE + "extension.json")
        self.builtin = builtin_documents()
        self.bundle = Bundle()
        self.seen: set[str] = set()

    def check(self, fragment: Any, parts: tuple[str | int, ...]) -> Bundle:
        for where, key, value in references(fragment, parts):
            if key in MOVING_KEYS:
                self.problem(f"`{key}` cannot be used inside an extension: it changes where "
                             "references point or which rules apply", where,
                             hint=f"remove `{key}:`; references are written relative to "
                                  f"{SCHEMA_DIR}/")
                continue
            self.follow(value, self.base, self.merged, where, None)
        return self.bundle

    def problem(self, message: str, parts: tuple[str | int, ...], hint: str | None = HINT
                ) -> None:
        self.bundle.problems.append(RefProblem(message, parts, hint))

    def follow(self, ref: str, base: str, document: Any, where: tuple[str | int, ...],
               via: str | None) -> None:
        """Check one reference written in ``document`` (whose URI is ``base``)."""
        shown = f"`{_short(ref)}`" + (f" (in {via})" if via else "")
        uri, fragment = urldefrag(urljoin(base, ref))
        if uri == base or not uri:
            target_doc, name = document, via or "this schema"
        elif uri in self.builtin:
            target_doc, name = self.builtin[uri], "a built-in schema"
            self.bundle.documents.setdefault(uri, target_doc)
        elif uri.startswith(KB_BASE):
            loaded = self.load(uri, shown, where)
            if loaded is None:
                return
            target_doc, name = loaded, SCHEMA_DIR + "/" + unquote(uri[len(KB_BASE):])
        else:
            self.problem(f"the reference {shown} points to {_why_outside(ref)}; kbtools resolves "
                         f"references only inside the KB's own schema files ({SCHEMA_DIR}/) "
                         "and never reads files outside the KB or fetches URLs", where)
            return
        found, node = pointer_target(target_doc, fragment)
        if not found:
            self.problem(f"the reference {shown} points to nothing in {name}", where,
                         hint="check the part after `#` (e.g. `#/$defs/NAME`)")
        elif not isinstance(node, dict | bool):
            self.problem(f"the reference {shown} does not point to a schema in {name}", where,
                         hint="point it at a schema (a mapping such as `{type: string}`)")

    def load(self, uri: str, shown: str, where: tuple[str | int, ...]) -> Any:
        """The KB schema file at ``uri`` (bundled, its own references followed), or None."""
        from kbtools.errors import PathOutsideKB
        from kbtools.kb import resolve_inside

        if uri in self.bundle.documents:
            return self.bundle.documents[uri]
        rel = unquote(uri[len(KB_BASE):])
        clean = posixpath.normpath(rel) if rel else ""
        if not clean or clean != rel or clean.startswith(("/", "..")) or "\x00" in clean:
            self.problem(f"the reference {shown} points to {_why_outside(rel or '/')}; kbtools "
                         f"resolves references only inside the KB's own schema files "
                         f"({SCHEMA_DIR}/)", where)
            return None
        if not clean.endswith(SUFFIXES):
            self.problem(f"the reference {shown} names `{_short(clean)}`, which is not a schema "
                         "file (.yaml, .yml or .json)", where)
            return None
        if self.root is None:
            self.problem(f"the reference {shown} names a KB schema file, but no KB is open",
                         where)
            return None
        if len(self.bundle.documents) >= MAX_DOCUMENTS:
            self.problem(f"more than {MAX_DOCUMENTS} schema files are referenced", where,
                         hint="bundle the definitions into fewer files")
            return None
        folder = self.root / SCHEMA_DIR
        try:
            real = resolve_inside(self.root, folder / clean)
            inside_folder = folder.resolve() in real.parents
        except PathOutsideKB:
            inside_folder = False
        except (OSError, RuntimeError):  # a symlink loop
            inside_folder = False
        if not inside_folder:
            self.problem(f"the reference {shown} leads outside {SCHEMA_DIR}/ (a symlink or a "
                         "folder outside it); kbtools never reads files outside the KB", where)
            return None
        if not real.is_file():
            self.problem(f"the reference {shown} names {SCHEMA_DIR}/{_short(clean)}, which does "
                         "not exist", where, hint="create the file, or fix the name")
            return None
        document = self.read(real, shown, where)
        if document is None:
            return None
        self.bundle.documents[uri] = document
        if uri not in self.seen:
            self.seen.add(uri)
            for inner, key, value in references(document):
                if key in MOVING_KEYS and inner != (key,) or key == "$recursiveRef":
                    self.problem(f"{SCHEMA_DIR}/{_short(clean)} uses `{key}` at "
                                 f"/{'/'.join(map(str, inner[:-1]))}, which changes where its "
                                 "references point", where, hint=f"remove `{key}:` from it")
                elif key in REF_KEYS:
                    self.follow(value, uri, document, where, f"{SCHEMA_DIR}/{_short(clean)}")
        return document

    def read(self, real: Path, shown: str, where: tuple[str | int, ...]) -> Any:
        from kbtools.schemas.engines import schema_problem
        from kbtools.yamlio import YAMLLoadError, loads, read_text

        try:
            text = read_text(real)
            document = json.loads(text) if real.suffix == ".json" else loads(text)
        except YAMLLoadError as exc:
            self.problem(f"the file the reference {shown} names cannot be read: {exc.message}",
                         where, hint=exc.hint)
            return None
        except (OSError, ValueError, RecursionError):
            self.problem(f"the file the reference {shown} names is not valid JSON", where,
                         hint="fix the JSON, or write the file as YAML")
            return None
        if not isinstance(document, dict):
            self.problem(f"the file the reference {shown} names is not a schema (a mapping)",
                         where)
            return None
        dialect = document.get("$schema")
        if dialect is not None and dialect != "https://json-schema.org/draft/2020-12/schema":
            self.problem(f"the file the reference {shown} names declares another JSON Schema "
                         "dialect; kbtools uses Draft 2020-12", where,
                         hint="remove its `$schema:` line or set it to Draft 2020-12")
            return None
        invalid = schema_problem({k: v for k, v in document.items() if k != "$id"})
        if invalid is not None:
            self.problem(f"the file the reference {shown} names is not a valid JSON Schema",
                         where, hint=f"fix that file: {invalid}")
            return None
        return document


def check_and_bundle(root: Path | None, merged: dict[str, Any], fragment: Any,
                     parts: tuple[str | int, ...]) -> list[RefProblem]:
    """Check every reference of ``fragment`` (located at ``parts`` of the extension file) and
    embed the documents they use into ``merged``; the problems found (nothing is embedded
    when there are any)."""
    bundle = _Gate(root, merged).check(fragment, parts)
    if bundle.problems:
        return bundle.problems
    defs = merged.setdefault("$defs", {})
    for uri, document in bundle.documents.items():
        defs[BUNDLED + uri.removeprefix(BASE)] = {**document, "$id": uri}
    return []


def bundled_nodes(schema: dict[str, Any]) -> set[int]:
    """``id()`` of every node of the documents bundled into ``schema`` (their values are not
    quoted in messages)."""
    out: set[int] = set()
    stack = [v for k, v in (schema.get("$defs") or {}).items() if str(k).startswith(BUNDLED)]
    while stack:
        node = stack.pop()
        out.add(id(node))
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out
