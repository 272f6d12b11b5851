"""Schema extensions cannot reach outside the KB (issue 18, item 3).

A ``$ref`` resolves only inside the KB's own schema files (``kb/schemas/``), through the same
inside-the-root gate as every KB file; nothing is read from outside the KB, nothing is fetched
from the network, and no message quotes a value taken from a referenced document.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools.cli import main
from kbtools.schemas.extensions import _CACHE, load_kb_schemas
from kbtools.validation import validate_kb
from kbtools.validation.schema_check import check_schema

from .kbfactory import KB
from .watch import watching

ALPHA = "kb/model_cards/alpha.yaml"
EXT = "kb/schemas/extensions.yaml"
SENTINEL = "SENTINEL-7f3a-outside-value"
#: Generated examples per property (CI); a soak run raises it (KBTOOLS_SOAK_EXAMPLES).
EXAMPLES = int(os.environ.get("KBTOOLS_SOAK_EXAMPLES", "25"))


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the KB holding a JSON document with a sentinel value."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.json").write_text(json.dumps(
        {"token": {"const": SENTINEL}, "raw": SENTINEL, "$defs": {"s": {"enum": [SENTINEL]}}}))
    return folder


def _declare(kb: KB, ref: str) -> None:
    kb.write(EXT, "model:\n  properties:\n    extra:\n      $ref: " + json.dumps(ref) + "\n")
    kb.edit(ALPHA, lambda d: d.update(extra="x"))
    _CACHE.clear()


def _problems(kb: KB) -> list:
    return validate_kb(kb.root, jobs=1).problems


def test_file_ref_is_refused_never_read_and_never_quoted(kb: KB, outside: Path,
                                                         tmp_path: Path, capsys) -> None:
    _declare(kb, f"file://{outside}/secret.json#/token")
    with watching() as seen:
        problems = _problems(kb)
    assert not seen.opened_under(outside)
    text = "\n".join(f"{p.message} {p.hint}" for p in problems)
    assert SENTINEL not in text
    (found,) = [p for p in problems if p.path == EXT]
    assert found.line == 4 and "local file" in found.message and "$defs" in found.hint
    assert main(["--kb-root", str(kb.root), "validate"]) == 1
    assert SENTINEL not in capsys.readouterr().out
    out = tmp_path / "site"
    assert main(["--kb-root", str(kb.root), "render", "--out", str(out)]) == 0
    assert not any(SENTINEL in p.read_text() for p in out.rglob("*.md"))


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        body = json.dumps({"const": SENTINEL}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_remote_ref_is_never_fetched(kb: KB) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Counting.hits = []
    try:
        _declare(kb, f"http://127.0.0.1:{server.server_port}/schema.json")
        started = time.monotonic()
        problems = _problems(kb)
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
    assert _Counting.hits == []
    assert elapsed < 30
    (found,) = [p for p in problems if p.path == EXT]
    assert "URL" in found.message and SENTINEL not in found.message


@pytest.mark.parametrize("ref, words", [
    ("/etc/passwd", "absolute path"),
    ("/proc/self/environ#/x", "absolute path"),
    ("../../../../etc/passwd", "outside kb/schemas/"),
    ("../model_cards/alpha.yaml", "outside kb/schemas/"),
    ("%2e%2e/%2e%2e/secret.json", "outside kb/schemas/"),
    ("https://example.invalid/schema.json", "URL"),
    ("//example.invalid/schema.json", "URL"),
    ("urn:example:schema", "`urn:` address"),
    ("data:application/json,{}", "`data:` address"),
    ("#/$defs/nothing", "points to nothing"),
    ("missing.yaml#/$defs/x", "does not exist"),
])
def test_refs_out_of_the_kb_schema_files_are_problems(kb: KB, ref: str, words: str) -> None:
    _declare(kb, ref)
    found = [p for p in _problems(kb) if p.path == EXT]
    assert len(found) == 1 and words in found[0].message and found[0].line == 4, found


def test_symlinked_schema_file_out_of_the_kb_is_refused(kb: KB, outside: Path) -> None:
    (kb.root / "kb" / "schemas").mkdir(parents=True, exist_ok=True)
    (kb.root / "kb" / "schemas" / "common.json").symlink_to(outside / "secret.json")
    _declare(kb, "common.json#/token")
    with watching() as seen:
        found = [p for p in _problems(kb) if p.path == EXT]
    assert len(found) == 1 and "symlink" in found[0].message
    assert SENTINEL not in found[0].message and not seen.opened_under(outside)


def test_kb_schema_files_can_be_referenced(kb: KB) -> None:
    kb.write("kb/schemas/common.yaml",
             "$defs:\n  level: {enum: [basic, advanced, SECRETLEVEL]}\n"
             "  tag: {$ref: 'sub/more.yaml#/$defs/word'}\n")
    kb.write("kb/schemas/sub/more.yaml", "$defs:\n  word: {type: string, pattern: '^[a-z]+$'}\n")
    kb.write(EXT, "model:\n  properties:\n    level: {$ref: 'common.yaml#/$defs/level'}\n"
                  "    tag: {$ref: 'common.yaml#/$defs/tag'}\n")
    kb.edit(ALPHA, lambda d: d.update(level="basic", tag="word"))
    _CACHE.clear()
    assert [p for p in _problems(kb) if p.is_error and p.path in (ALPHA, EXT)] == []
    kb.edit(ALPHA, lambda d: d.update(level="expert", tag="Two Words"))
    errors = [p for p in _problems(kb) if p.is_error and p.path == ALPHA]
    assert {p.json_path for p in errors} == {"$.level", "$.tag"}
    # the referenced file's values are not quoted (the card's own value may be)
    assert not any("SECRETLEVEL" in f"{p.message} {p.hint}" for p in errors)
    merged = load_kb_schemas(kb.root).merged["model_card"]
    assert any(k.startswith("kbtools-bundled:") for k in merged["$defs"])


def test_moving_keywords_are_refused(kb: KB) -> None:
    kb.write(EXT, "model:\n  properties:\n    extra:\n      $id: 'file:///etc/'\n"
                  "      $ref: passwd\n")
    found = [p for p in _problems(kb) if p.path == EXT]
    assert any("`$id` cannot be used" in p.message for p in found)


# ---------------------------------------------------------------------------------------------
# the generator: references of every scheme, in every position


_SCHEMES = st.sampled_from(["", "file://", "file:", "http://127.0.0.1:9/", "https://",
                            "//", "urn:", "data:,", "ftp://", "jar:file:"])
_PATHS = st.sampled_from(["{outside}/secret.json", "../" * 6 + "{outside_rel}/secret.json",
                          "/proc/self/environ", "/etc/passwd", "common.yaml",
                          "sub/../../../secret.json", "%2e%2e/%2e%2e/secret.json",
                          "link.json", "", "./common.yaml", "common.yaml/../../x.json"])
_FRAGMENTS = st.sampled_from(["", "#", "#/token", "#/raw", "#/$defs/s", "#/$defs/ok",
                              "#anchor", "#/%24defs/s", "#/../x"])
_POSITIONS = st.sampled_from(["property", "defs", "items", "allOf", "dynamic",
                              "in_kb_file"])


def _fragment(position: str, ref: str) -> dict:
    holder = {"$dynamicRef" if position == "dynamic" else "$ref": ref}
    if position == "defs":
        return {"$defs": {"mine": holder}, "properties": {"extra": {"$ref": "#/$defs/mine"}}}
    if position == "items":
        return {"properties": {"extra": {"type": "array", "items": holder}}}
    if position == "allOf":
        return {"properties": {"extra": {"allOf": [{"type": "string"}, {"anyOf": [holder]}]}}}
    if position == "in_kb_file":
        return {"properties": {"extra": {"$ref": "via.json#/$defs/v"}}}
    return {"properties": {"extra": holder}}


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(scheme=_SCHEMES, path=_PATHS, fragment=_FRAGMENTS, position=_POSITIONS,
       noise=st.text(max_size=8))
def test_no_reference_reads_outside_the_kb(kb: KB, outside: Path, scheme: str, path: str,
                                           fragment: str, position: str, noise: str) -> None:
    folder = kb.root / "kb" / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "common.yaml").write_text("$defs:\n  ok: {type: string}\n  s: {type: string}\n")
    link = folder / "link.json"
    if not link.is_symlink():
        link.symlink_to(outside / "secret.json")
    rel = Path(str(outside).lstrip("/"))
    ref = scheme + path.format(outside=outside, outside_rel=rel) + fragment + noise
    (folder / "via.json").write_text(json.dumps({"$defs": {"v": {"$ref": ref}}},
                                                ensure_ascii=False))
    kb.write(EXT, json.dumps({"model": _fragment(position, ref)}, ensure_ascii=False))
    _CACHE.clear()
    card = {**kb.docs[ALPHA], "extra": ["x"] if position == "items" else "x"}
    with watching() as seen:  # what validate does with the extension file and one card
        schemas = load_kb_schemas(kb.root)
        findings = check_schema("model_card", card, schemas.for_workers())
    assert not seen.opened_under(outside), ref
    assert not seen.connected, ref
    for text in [f"{p.message} {p.hint}" for p in schemas.problems] + [
            f"{f.message} {f.hint}" for f in findings]:
        assert SENTINEL not in text, ref
