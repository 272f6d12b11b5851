"""Reproducible installs: the README and CI install the tested versions from constraints.txt."""

from __future__ import annotations

import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "constraints.txt"


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in ("test", "dev"):
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in reqs if canonicalize_name(r.name) != "kbtools"]


def _readme_commands() -> list[str]:
    return [line for line in (REPO / "README.md").read_text().splitlines()
            if line.startswith("python3.11 -m venv .venv ")]


def test_readme_commands_install_from_the_constraints_file() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    for command in commands:
        assert re.search(r"/pip install -q -c constraints\.txt -e ", command), command


def test_ci_runs_the_readme_test_command_byte_for_byte() -> None:
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    marker = ci.index("# README test command (keep identical):")
    test_command = next(c for c in _readme_commands() if "pytest" in c)
    assert ci[marker + 1] == test_command


def test_every_dependency_is_pinned_to_a_version_it_accepts() -> None:
    pins = _pins()
    assert "kbtools" not in pins
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} has no pin in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}"


def test_pymupdf_held_below_the_release_that_hangs() -> None:
    pin = _pins()["pymupdf"]
    assert (pin.major, pin.minor) == (1, 27)
    spec = next(r for r in _requirements() if canonicalize_name(r.name) == "pymupdf").specifier
    assert not spec.contains("1.28.2") and not spec.contains("1.28.0")
    assert spec.contains("1.27.2.3")


def test_this_environment_matches_the_pins() -> None:
    """The suite is run on the pinned versions (skipped when testing the newest releases)."""
    if os.environ.get("KBTOOLS_UNPINNED") == "1":
        pytest.skip("KBTOOLS_UNPINNED=1: testing the newest releases on purpose")
    differ = []
    for name, version in _pins().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue  # a dev-only or platform-specific package this venv does not hold
        if installed != version:
            differ.append(f"{name} {installed} (pinned {version})")
    assert not differ, "installed versions differ from constraints.txt: " + ", ".join(differ)
