"""Fixtures: a small valid KB in tmp_path, and design checks under the tests' control."""

from __future__ import annotations

from pathlib import Path

import pytest

from .kbfactory import KB


@pytest.fixture
def kb(tmp_path: Path) -> KB:
    return KB(tmp_path)


@pytest.fixture(autouse=True)
def _isolated_design_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests control design checks and parameter schemas (others add real ones concurrently)."""
    from kbtools.config_rules import design_checks
    from kbtools.validation import schema_check

    monkeypatch.setattr(design_checks, "_CHECKS", {})
    monkeypatch.setattr(schema_check, "_param_schemas", {})
    # compiled validators and explainers of the shipped params schemas, cached by other tests
    # in this worker, must not answer for the tests' own schemas
    monkeypatch.setattr(schema_check, "_validators", {})
    monkeypatch.setattr(schema_check, "_explainers", {})
    monkeypatch.setattr(schema_check, "method_params_schema", lambda method: None)
