"""The site and `kbtools render` never read, copy or publish a file outside the KB.

A hostile pull request adds a plot that is a symlink to the build's environment (CI tokens),
a plot linking to a secret file, a card linking to a YAML file elsewhere and a run config
linking out. The built site and the rendered pages must hold none of them, and say so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtools.cli import main

RUN = "20261120t100000z_01_toy_cca_aaaa"
SECRET = "secret-card-content-5be1"


@pytest.fixture
def hostile_kb(tmp_path: Path, build_kb) -> Path:
    root = build_kb(tmp_path / "site", broken=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"\x89PNG" + SECRET.encode())
    (outside / "leak.yaml").write_text(
        f"id: leak\nname: Leak {SECRET}\nmodality: genomics\ndomain: genetics\n"
        f"summary: {SECRET}\n")
    (outside / "config.yaml").write_text(f"id: 01_toy_cca\nnote: {SECRET}\n")
    run = root / "kb" / "runs" / RUN
    (run / "env.png").symlink_to("/proc/self/environ")
    (run / "secret.png").symlink_to(outside / "secret.png")
    (run / "config_used.yaml").unlink()
    (run / "config_used.yaml").symlink_to(outside / "config.yaml")
    (root / "kb" / "model_cards" / "leak.yaml").symlink_to(outside / "leak.yaml")
    return root


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace")
                     for p in folder.rglob("*") if p.is_file())


def _holds_environment(folder: Path) -> bool:
    environ = Path("/proc/self/environ").read_bytes()
    return any(p.read_bytes() == environ for p in folder.rglob("*") if p.is_file())


REFUSED = (f"kb/runs/{RUN}/env.png", f"kb/runs/{RUN}/secret.png",
           f"kb/runs/{RUN}/config_used.yaml", "kb/model_cards/leak.yaml")


@pytest.mark.parametrize("validate", [True, False])
def test_render_copies_and_reads_nothing_outside(hostile_kb: Path, tmp_path: Path,
                                                 validate: bool, capsys) -> None:
    out = tmp_path / "out"
    args = ["--kb-root", str(hostile_kb), "render", "--out", str(out)]
    assert main(args + ([] if validate else ["--no-validate"])) == 0
    run_dir = out / "registry" / "runs" / RUN
    assert (run_dir / "null_distribution.png").is_file()  # the real plot is still there
    assert not (run_dir / "env.png").exists() and not (run_dir / "secret.png").exists()
    assert not (out / "registry" / "models" / "leak.md").exists()
    text = _all_text(out)
    assert SECRET not in text and not _holds_environment(out)
    health = (out / "registry" / "health.md").read_text()
    for rel in REFUSED:
        assert rel in health, rel
    assert "path.symlink-outside" in health
    assert str(tmp_path / "outside") not in health  # the link's target is not published


def test_mkdocs_build_publishes_nothing_outside_and_strict_fails(hostile_kb: Path) -> None:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    with pytest.raises(Abort):  # strict: the refused files are warnings
        mkdocs_build(load_config(config_file=str(hostile_kb / "mkdocs.yml")))
    config = load_config(config_file=str(hostile_kb / "mkdocs.yml"), strict=False)
    mkdocs_build(config)
    site = hostile_kb / "site"
    run_dir = site / "registry" / "runs" / RUN
    assert (run_dir / "null_distribution.png").is_file()
    assert not (run_dir / "env.png").exists() and not (run_dir / "secret.png").exists()
    assert not (site / "registry" / "models" / "leak").exists()
    text = _all_text(site)
    assert SECRET not in text and not _holds_environment(site)
    health = (site / "registry" / "health" / "index.html").read_text()
    assert all(rel in health for rel in REFUSED)


def test_plot_replaced_by_a_symlink_after_a_cached_build(hostile_kb: Path) -> None:
    """The build cache must not keep copying a file that has since become a symlink out."""
    from kbtools.site.render import generate

    cache = hostile_kb / ".kbtools-cache" / "site"
    first = generate(hostile_kb, cache_dir=cache)
    plot = hostile_kb / "kb" / "runs" / RUN / "null_distribution.png"
    assert plot in first.files.values()
    plot.unlink()
    plot.symlink_to("/proc/self/environ")
    second = generate(hostile_kb, cache_dir=cache)
    assert plot not in second.files.values()
