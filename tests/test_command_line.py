"""The kbtools command itself: help, version, exit codes, KB root discovery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.errors import KBRootNotFound
from kbtools.kb import find_kb_root


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "kbtools" in capsys.readouterr().out


def test_unknown_command_is_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_python_dash_m_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "kbtools", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("kbtools ")


def test_root_found_upward(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    deep = tmp_path / "docs" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_kb_root(deep) == tmp_path.resolve()


def test_root_missing_is_clear(tmp_path: Path) -> None:
    with pytest.raises(KBRootNotFound, match="--kb-root"):
        find_kb_root(tmp_path)
