"""Soak run of the hardening property tests (issue 18): many more generated examples than CI.

    .venv/bin/python tests/soak/soak_hardening.py [EXAMPLES_PER_PROPERTY]   # default 1000

Runs the generators of hostile schema references, catastrophic patterns, hostile YAML through
validate and migrate, run-record redaction, CSV cells and random inventories with
``KBTOOLS_SOAK_EXAMPLES`` set, and prints how many examples Hypothesis tried in all.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PROPERTIES = [
    "validation/test_schema_refs.py::test_no_reference_reads_outside_the_kb",
    "validation/test_patterns.py::test_catastrophic_patterns_finish_in_bounded_time",
    "migrate/test_migrate_hostile.py::test_hostile_yaml_through_validate_and_migrate_is_bounded",
    "experiments/test_run_hardening.py::test_redaction_leaves_no_outside_path_in_any_value",
    "experiments/test_run_hardening.py::test_no_csv_cell_starts_like_a_formula",
    "experiments/test_run_hardening.py::test_random_inventories_never_reveal_a_withheld_count",
]


def main() -> int:
    examples = sys.argv[1] if len(sys.argv) > 1 else "1000"
    env = {**os.environ, "KBTOOLS_SOAK_EXAMPLES": examples}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist",
                          "--hypothesis-show-statistics", *(str(HERE / p) for p in PROPERTIES)],
                         env=env, capture_output=True, text=True, cwd=HERE.parent)
    sys.stdout.write(run.stdout[-4000:])
    tried = sum(int(n) for n in re.findall(r"(\d+) passing", run.stdout))
    failed = sum(int(n) for n in re.findall(r"(\d+) failing", run.stdout))
    print(f"\nsoak: {tried} generated examples passed, {failed} failed, "
          f"over {len(PROPERTIES)} properties (pytest exit {run.returncode})")
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
