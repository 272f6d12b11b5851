"""Soak the hostile-input generators: the checks of tests/site/test_site_generative.py and
tests/site/test_site_text_properties.py on many more random examples than CI runs.

    nice -n 10 .venv/bin/python tests/soak/soak_hostile.py --minutes 30

Each round draws fresh random examples (CI's are derandomised) of: a KB with hostile text in
every field built into a site, a KB with hostile file-system shapes validated and built
strictly, and the cheap text properties (normalisation, check and page agree, front matter,
rendered card text). It prints how many examples of each it tried, and stops at the first
failure with Hypothesis's report of the failing example (exit 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "site"))
os.environ.setdefault("KBTOOLS_TEXT_EXAMPLES", "2000")  # read when the properties load

import hostile_gen as gen  # noqa: E402
import test_site_generative as sites  # noqa: E402
import test_site_text_properties as props  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TRIED: dict[str, int] = {"site builds (hostile text)": 0, "strict builds (file system)": 0,
                         "text properties": 0}


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, database=None, derandomize=False,
                    phases=(Phase.generate, Phase.shrink) if n < 1000 else (Phase.generate,),
                    suppress_health_check=list(HealthCheck))


def _counted(name: str, check):
    def run(**kwargs):
        TRIED[name] += 1
        check(**kwargs)
    return run


def soak_round(builds: int) -> None:
    """One round: ``builds`` site builds of each kind, and each cheap text property."""
    text_site = _counted("site builds (hostile text)", sites.check_text_site)
    given(texts=st.lists(gen.hostile_text, min_size=2, max_size=4), key=gen.hostile_text,
          name=gen.hostile_text)(_settings(builds)(lambda texts, key, name: text_site(
              texts=texts, key=key, name=name)))()
    fs_site = _counted("strict builds (file system)", sites.check_fs_kb)
    given(hazards=gen.fs_hazards)(_settings(builds)(lambda hazards: fs_site(
        hazards=hazards)))()
    for prop in (props.test_normalise_is_idempotent_nfc_and_leaves_nothing_removable,
                 props.test_removed_characters_change_neither_the_check_nor_the_page,
                 props.test_front_matter_reads_back_for_every_plane,
                 props.test_rendered_card_text_is_inert_under_the_site_extensions):
        _cheap(prop)


def _cheap(prop) -> None:
    """Run a property test of test_site_text_properties (KBTOOLS_TEXT_EXAMPLES examples)."""
    inner = prop.hypothesis.inner_test

    def counted(*args, **kwargs):
        TRIED["text properties"] += 1
        return inner(*args, **kwargs)

    prop.hypothesis.inner_test = counted
    try:
        prop()
    finally:
        prop.hypothesis.inner_test = inner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run")
    parser.add_argument("--builds-per-round", type=int, default=10)
    args = parser.parse_args()
    # refused files are warned about by design: keep the warnings (a strict build counts
    # them) but do not print them
    logging.getLogger("mkdocs").addHandler(logging.NullHandler())
    stop = time.monotonic() + args.minutes * 60
    started, rounds, code = time.monotonic(), 0, 0
    try:
        while time.monotonic() < stop or not rounds:
            soak_round(args.builds_per_round)
            rounds += 1
            print(f"round {rounds}: {_summary()} ({time.monotonic() - started:.0f} s)",
                  flush=True)
    except Exception:  # Hypothesis has printed the falsifying example
        import traceback

        traceback.print_exc()
        code = 1
    print(f"tried {sum(TRIED.values())} examples in {time.monotonic() - started:.0f} s: "
          f"{_summary()}; {'FAILED' if code else 'no failure'}")
    return code


def _summary() -> str:
    return ", ".join(f"{n} {name}" for name, n in TRIED.items())


if __name__ == "__main__":
    sys.exit(main())
