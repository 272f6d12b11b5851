"""File names that are not UTF-8 (a Latin-1 name copied from an old share) are reported, not
a crash of the reporter."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from kbtools.validation import validate_kb
from kbtools.validation.reporters import REPORTERS, printable

from .kbfactory import KB

LATIN1_NAME = b"caf\xe9.yaml"  # "café" in Latin-1: not valid UTF-8


@pytest.fixture
def latin1_card(kb: KB) -> bytes:
    folder = os.fsencode(kb.path("kb/model_cards"))
    with open(os.path.join(folder, LATIN1_NAME), "wb") as fh:
        fh.write(b"id: cafe\nname: Cafe\n")
    return LATIN1_NAME


def test_printable_shows_the_raw_bytes() -> None:
    assert printable("kb/model_cards/caf\udce9.yaml") == "kb/model_cards/caf\\xe9.yaml"
    assert printable("plain é text") == "plain é text"
    assert printable("lone \ud800 surrogate") == "lone \\ud800 surrogate"


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_reporters_write_a_non_utf8_name_to_a_strict_utf8_stream(kb: KB, latin1_card: bytes,
                                                                 fmt: str) -> None:
    result = validate_kb(kb.root, jobs=1)
    assert any("\udce9" in p.path for p in result.problems)
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    REPORTERS[fmt](result, stream)  # raised UnicodeEncodeError before the fix
    stream.flush()
    out = raw.getvalue().decode("utf-8")
    if fmt == "json":
        paths = [p["path"] for p in json.loads(out)["problems"]]
        assert "kb/model_cards/caf\udce9.yaml" in paths  # lossless for scripts
    else:
        assert "kb/model_cards/caf\\xe9.yaml" in out


def test_validate_command_reports_the_file_and_exits_one(kb: KB, latin1_card: bytes) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    done = subprocess.run([sys.executable, "-m", "kbtools", "--kb-root", str(kb.root),
                           "validate"], capture_output=True, env=env)
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert done.returncode == 1
    assert b"kb/model_cards/caf\\xe9.yaml" in done.stdout
