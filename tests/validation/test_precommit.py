"""The pre-commit hook: its manifest, this repo's config, and a run through pre-commit itself.

A real `language: python` hook makes pre-commit pip-install kbtools and all its dependencies
into a fresh environment (measured here: about 4 minutes with a warm pip cache). The
end-to-end test therefore runs the hook from a `repo: local` config built from
.pre-commit-hooks.yaml itself, changing only `language` (system) and the interpreter in
`entry`: same id, files pattern, serial mode and command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .kbfactory import KB

REPO = Path(__file__).resolve().parents[2]


def manifest() -> dict:
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    return hook


def test_hook_manifest() -> None:
    hook = manifest()
    assert hook["id"] == "kbtools-validate"
    assert hook["language"] == "python" and hook["entry"] == "kbtools validate"
    assert hook["require_serial"] is True and hook.get("pass_filenames", True)
    files = re.compile(hook["files"])
    for path in ("kb/model_cards/a.yaml", "kb/runs/r/run.yaml", "configs/experiments/e.yml"):
        assert files.search(path)
    for path in ("docs/a.yaml", "mkdocs.yml", "kb/model_cards/a.md", "xkb/a.yaml"):
        assert not files.search(path)
    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["kbtools"] == "kbtools.cli:main"  # what `entry: kbtools ...` runs


def test_repo_config_uses_the_hook() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = [h for repo in config["repos"] for h in repo["hooks"]]
    [hook] = [h for h in hooks if h["id"] == "kbtools-validate"]
    shipped = manifest()
    assert hook["files"] == shipped["files"]
    assert hook["require_serial"] == shipped["require_serial"]
    program, *args = hook["entry"].split()
    assert Path(program).name == "kbtools" and args == shipped["entry"].split()[1:]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_hook_runs_through_pre_commit(kb: KB, tmp_path: Path) -> None:
    hook = {**manifest(), "language": "system",
            "entry": f"{sys.executable} -m kbtools validate"}
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (kb.root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _git(kb.root, "init", "-q")
    _git(kb.root, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--color", "never", "--files"]
    card = "kb/model_cards/alpha.yaml"

    good = subprocess.run([*pre_commit, card, "docs/papers/alpha.md"], cwd=kb.root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"kbtools validate\.+Passed", good.stdout)

    kb.edit(card, lambda d: d["license"].update(cod="MIT"))
    line = kb.path(card).read_text().splitlines().index("  cod: MIT") + 1
    bad = subprocess.run([*pre_commit, card], cwd=kb.root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(r"kbtools validate\.+Failed", bad.stdout)
    assert f"{card}:{line}:3: error [schema] unknown field `cod`" in bad.stdout
