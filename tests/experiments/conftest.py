"""Shared fixtures of the analysis-core tests: a private generator cache and a small KB."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtools.yamlio import dump, load_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """Like the runner: two BLAS threads per process thrash on a shared 2-core machine."""
    from kbtools.experiments.parallel import single_threaded_blas

    with single_threaded_blas():
        yield


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated cohorts are cached per test session, never in the user's cache."""
    monkeypatch.setenv("KBTOOLS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kbcache"))


def make_kb(root: Path, *, n_subjects: int = 300, n_sites: int = 5, n_perm: int = 39,
            missing_fraction: float = 0.0, pca_gene: int = 40, pca_brain: int = 30) -> Path:
    """A KB with the synthetic card (small cohort) and a fast copy of config 01."""
    (root / "kb" / "datasets").mkdir(parents=True)
    (root / "kb" / "runs").mkdir(parents=True)
    (root / "configs" / "experiments").mkdir(parents=True)
    card = load_file(REPO / "kb" / "datasets" / "synthetic_cohort.yaml")
    card["storage"]["generator"]["params"] = {"n_subjects": n_subjects, "n_sites": n_sites,
                                              "seed": 1, "missing_fraction": missing_fraction}
    (root / "kb" / "datasets" / "synthetic_cohort.yaml").write_text(dump(card))
    config = load_file(REPO / "configs" / "experiments" / "01_cca_gene_smri.yaml")
    config["params"]["n_permutations"] = n_perm
    config["params"]["n_components"] = 3
    config["preprocessing"]["pca"] = {"gene": pca_gene, "brain": pca_brain}
    config["outputs"] = {"plots": False}
    (root / "configs" / "experiments" / "01_cca_gene_smri.yaml").write_text(dump(config))
    return root / "configs" / "experiments" / "01_cca_gene_smri.yaml"


@pytest.fixture
def small_kb(tmp_path: Path) -> tuple[Path, Path]:
    """(kb root, config path) of a small, fast KB."""
    return tmp_path, make_kb(tmp_path)


@pytest.fixture(scope="session")
def kb_factory():
    """``make_kb`` as a fixture (tests have no package to import it from)."""
    return make_kb


@pytest.fixture
def repo_config() -> Path:
    return REPO / "configs" / "experiments" / "01_cca_gene_smri.yaml"


@pytest.fixture
def never_computes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any call of the method: a run refused early must never start computing."""
    calls: list[str] = []

    def method(name: str):
        calls.append(name)
        raise AssertionError("the method must not run")

    monkeypatch.setattr("kbtools.experiments.methods.get_method", method)
    return calls
