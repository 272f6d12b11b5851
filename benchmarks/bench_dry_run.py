"""Benchmark: how close `run-experiment --dry-run` estimates are to measured runs.

For each shipped config (made a little smaller where it is long), prints the CPU seconds the
dry run estimates and the CPU seconds of the run itself (the whole process tree), measured in
the same session, and their ratio. ``kbtools.experiments.estimate.CALIBRATION`` and ``RANGE``
come from this table.

    .venv/bin/python benchmarks/bench_dry_run.py [--configs 01_cca_gene_smri ...]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "01_cca_gene_smri": ["--set", "params.n_permutations=499"],
    "02_prediction_baselines": ["--set", "params.n_boot=200"],
    "03_logo_gene_attribution": ["--set", "params.tune=fixed_from_full"],
    "04_partial_correlations": [],
    "05_harmonization_ablation": ["--set", "params.n_boot=200"],
    "06_smri_pca_dimension_search": [],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    args = ap.parse_args()
    kbtools = str(Path(sys.executable).parent / "kbtools")
    print(_measure.load_note())
    print("config | estimated CPU-s | measured CPU-s | measured / estimated")
    ratios = []
    with tempfile.TemporaryDirectory(prefix="kbtools-dry-") as runs:
        for name in args.configs:
            cmd = [kbtools, "--kb-root", str(REPO), "run-experiment",
                   str(REPO / "configs" / "experiments" / f"{name}.yaml"), "--quiet",
                   "--runs-dir", runs, *SETTINGS[name]]
            plan = _measure.run([*cmd, "--dry-run"]).stdout
            hours = float(re.search(r"([\d.e+-]+) core-hours", plan).group(1))
            run = _measure.run(cmd)
            ratios.append(run.cpu / (hours * 3600))
            print(f"{name} | {hours * 3600:.1f} | {run.cpu:.1f} | {ratios[-1]:.2f}", flush=True)
    print(f"range of measured / estimated: {min(ratios):.2f}-{max(ratios):.2f}")


if __name__ == "__main__":
    main()
