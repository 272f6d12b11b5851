"""run-experiment reads no KB file outside the KB: its config and the card's table paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.experiments import synth
from kbtools.yamlio import dump, load_file


def _run(root: Path, cfg: Path, *extra: str) -> int:
    return main(["--kb-root", str(root), "run-experiment", str(cfg), "--quiet", *extra])


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outside")


def test_config_linking_out_of_the_kb_is_refused(small_kb, outside, never_computes,
                                                 capsys) -> None:
    root, cfg = small_kb
    elsewhere = outside / "config.yaml"
    shutil.move(cfg, elsewhere)
    cfg.symlink_to(elsewhere)
    assert _run(root, cfg, "--dry-run") == 1
    err = capsys.readouterr().err
    assert "path.symlink-outside" in err and "configs/experiments" in err
    assert str(outside) not in err


def test_config_outside_the_kb_is_refused(small_kb, outside, never_computes, capsys) -> None:
    root, cfg = small_kb
    elsewhere = outside / "config.yaml"
    shutil.copy(cfg, elsewhere)
    assert _run(root, elsewhere, "--dry-run") == 1
    assert "path.outside-kb" in capsys.readouterr().err


def test_table_path_linking_out_is_refused_and_absolute_paths_are_read(
        small_kb, outside, never_computes, capsys) -> None:
    """A relative table path names a file of the KB; restricted data outside the KB are named
    by an absolute path (or --data), and those are read."""
    root, cfg = small_kb
    synth.write(synth.generate(n_subjects=300, n_sites=5, seed=1), outside, "csv")
    card_path = root / "kb" / "datasets" / "synthetic_cohort.yaml"
    card = load_file(card_path)
    card["storage"].pop("generator")
    (root / "data").mkdir()
    for name in ("subjects", "gene_embeddings", "smri_rois"):
        (root / "data" / f"{name}.csv").symlink_to(outside / f"{name}.csv")
        card["storage"]["tables"][name]["path"] = f"data/{name}.csv"
    card_path.write_text(dump(card))
    assert _run(root, cfg, "--dry-run") == 1
    err = capsys.readouterr().err
    assert "path.symlink-outside" in err and "data/" in err and "Traceback" not in err
    assert never_computes == []
    for name in ("subjects", "gene_embeddings", "smri_rois"):
        card["storage"]["tables"][name]["path"] = str(outside / f"{name}.csv")
    card_path.write_text(dump(card))
    assert _run(root, cfg, "--dry-run") == 0
