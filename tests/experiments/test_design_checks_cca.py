"""Static design checks of cca_permutation configs (no data needed)."""

from __future__ import annotations

import sys

from kbtools.config_rules.design_checks import check_design
from kbtools.yamlio import load_file


def _config(repo_config, **params) -> dict:
    config = load_file(repo_config)
    config["params"].update(params)
    return config


def _rules(config: dict) -> dict[str, str]:
    return {i.rule: i.severity for i in check_design(config)}


def test_shipped_config_has_no_errors(repo_config) -> None:
    assert "error" not in _rules(load_file(repo_config)).values()


def test_permutations_must_be_able_to_reach_alpha(repo_config) -> None:
    assert _rules(_config(repo_config, n_permutations=18)) == {
        "design.permutations-cannot-reach-alpha": "error"}
    # 19 permutations: smallest p is exactly 0.05, reachable but coarse
    assert _rules(_config(repo_config, n_permutations=19)) == {
        "design.permutations-coarse": "warning"}
    assert _rules(_config(repo_config, n_permutations=999, alpha=0.0005)) == {
        "design.permutations-cannot-reach-alpha": "error"}
    (issue,) = check_design(_config(repo_config, n_permutations=99, alpha=0.005))
    assert "at least 199 permutations" in issue.hint


def test_within_site_permutation_with_huh_jhun_is_the_calibrated_design(repo_config) -> None:
    """Huh-Jhun within sites is allowed (and the default); free permutation across sites is
    flagged, residualize-then-permute too."""
    for choice in ("site", "auto"):
        assert _rules(_config(repo_config, permute_within=choice)) == {}
    (issue,) = check_design(_config(repo_config, permute_within="none"))
    assert issue.rule == "design.free-permutation-across-sites" and issue.severity == "warning"
    assert "permute_within: auto" in issue.hint
    config = _config(repo_config, permute_within="site")
    config["preprocessing"]["covariate_method"] = "residualize"
    assert _rules(config) == {"design.residualize-then-permute": "warning"}
    config = _config(repo_config, permute_within="none")
    config["preprocessing"]["site_onehot"] = False  # no site terms: nothing to say about sites
    assert _rules(config) == {}


def test_residualize_then_permute_is_flagged_unless_n_is_large(repo_config) -> None:
    config = load_file(repo_config)
    config["preprocessing"].pop("covariate_method", None)
    assert _rules(config) == {}  # the default is the calibrated Huh-Jhun projection
    config["preprocessing"]["covariate_method"] = "residualize"
    (issue,) = check_design(config)
    assert issue.rule == "design.residualize-then-permute" and issue.severity == "warning"
    assert "N is not known" in issue.message and "huh_jhun" in issue.hint
    (small,) = check_design(config, n_subjects=60)
    assert "N = 60" in small.message
    config["preprocessing"]["site_onehot"] = False  # R = 4: 20 x R spare needs N >= 84
    assert check_design(config, n_subjects=84) == []
    assert [i.rule for i in check_design(config, n_subjects=83)] == [
        "design.residualize-then-permute"]


def test_modalities_must_name_data_roles(repo_config) -> None:
    assert _rules(_config(repo_config, modalities=["gene", "fmri"])) == {
        "design.unknown-role": "error"}


def test_design_checks_stay_numpy_free() -> None:
    import subprocess

    code = ("import sys, kbtools.config_rules.design_checks; "
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
