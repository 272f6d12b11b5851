"""`kbtools validate | schema | new` as a user runs them: output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kbtools.cli import main
from kbtools.schemas import SCHEMA_NAMES, load_schema
from kbtools.validation import validate_kb

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"


def run(kb: KB, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--kb-root", str(kb.root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def break_alpha(kb: KB) -> int:
    kb.edit(ALPHA, lambda d: d["license"].update(cod="MIT"))
    return kb.path(ALPHA).read_text().splitlines().index("  cod: MIT") + 1


def test_text_ok_exit_zero(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(kb, "validate", capsys=capsys)
    assert code == 0 and out == "checked 9 files: no problems\n"


def test_text_problem_exit_one(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    line = break_alpha(kb)
    code, out, _ = run(kb, "validate", capsys=capsys)
    assert code == 1
    first, fix, summary = out.splitlines()
    assert first == (f"{ALPHA}:{line}:3: error [schema] unknown field `cod` in `license` "
                     "(at $.license.cod)")
    assert fix == "    fix: did you mean `code`?"
    assert summary == "checked 9 files: 1 error, 0 warnings"


def test_warnings_only_exit_zero(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    kb.edit(ALPHA, lambda d: d.update(status="template"))
    code, out, _ = run(kb, "validate", capsys=capsys)
    assert code == 0 and "warning [lint.template]" in out


def test_json_format(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    line = break_alpha(kb)
    code, out, _ = run(kb, "validate", "--format", "json", capsys=capsys)
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["n_files"] == 9 and data["n_errors"] == 1
    [problem] = data["problems"]
    assert problem == {"path": ALPHA, "line": line, "column": 3, "rule": "schema",
                       "message": "unknown field `cod` in `license`",
                       "json_path": "$.license.cod", "hint": "did you mean `code`?",
                       "severity": "error"}


def test_github_format(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    line = break_alpha(kb)
    kb.edit("kb/model_cards/beta.yaml", lambda d: d.update(repo="http://example.org/a,b"))
    code, out, _ = run(kb, "validate", "--format", "github", capsys=capsys)
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == (f"::error file={ALPHA},line={line},col=3,title=schema::unknown field "
                        "`cod` in `license` (at $.license.cod)%0Afix: did you mean `code`?")
    assert lines[1].startswith("::warning file=kb/model_cards/beta.yaml,line=")
    assert ",title=lint.https::`http://example.org/a,b` uses http" in lines[1]


def test_github_escapes_properties() -> None:
    from io import StringIO

    from kbtools.validation.engine import ValidationResult
    from kbtools.validation.problems import Problem
    from kbtools.validation.reporters import report_github

    out = StringIO()
    report_github(ValidationResult([Problem("a,b:c.yaml", None, None, "r", "50%\ndone")], 1), out)
    assert out.getvalue().splitlines()[0] == "::error file=a%2Cb%3Ac.yaml,title=r::50%25%0Adone"


def test_paths_and_jobs_options(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    break_alpha(kb)
    code, out, err = run(kb, "validate", "-j", "2", str(kb.path("kb/model_cards/beta.yaml")),
                         str(kb.root / "mkdocs.yml"), capsys=capsys)
    assert code == 0 and "checked 1 file: no problems" in out
    assert "mkdocs.yml: ignored" in err


@pytest.mark.parametrize("args", [["validate", "--format", "xml"], ["validate", "--jobs", "-1"],
                                  ["validate", "kb/nowhere.yaml"], ["schema", "show", "nope"]])
def test_usage_errors_exit_two(kb: KB, args: list[str], capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(kb.root)
    try:
        code = main(["--kb-root", str(kb.root), *args])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    assert code == 2
    assert capsys.readouterr().err


def test_no_kb_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert "--kb-root" in capsys.readouterr().err


def test_whole_process(kb: KB) -> None:
    """`kbtools validate` as a process, from inside the KB, on a KB with hostile files."""
    levels = "abcdefghi"
    kb.write("kb/model_cards/bomb.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip(levels[:-1], levels[1:],
                                                                   strict=True)))
    kb.write("kb/model_cards/pwn.yaml", f"id: !!python/object/apply:os.system ['touch "
                                         f"{kb.root / 'pwned'}']\n")
    out = subprocess.run([sys.executable, "-m", "kbtools", "validate", "--format", "json"],
                         cwd=kb.root / "kb", capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    problems = json.loads(out.stdout)["problems"]
    # (the real design checks run in this process: only the YAML problems are asserted)
    rules = {(p["path"], p["rule"]) for p in problems if p["rule"].startswith("yaml.")}
    assert rules == {("kb/model_cards/bomb.yaml", "yaml.too-large"),
                     ("kb/model_cards/pwn.yaml", "yaml.unsafe-tag")}
    assert not [p for p in problems if p["rule"] == "internal"]
    assert not (kb.root / "pwned").exists()


def test_schema_list_and_show(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(kb, "schema", "list", capsys=capsys)
    assert code == 0 and len(out.splitlines()) == len(SCHEMA_NAMES)
    assert "model (kb/model_cards/*.yaml)" in out
    for kind, name in (("model", "model_card"), ("experiment_config", "experiment_config"),
                       ("run", "run_log")):
        code, out, _ = run(kb, "schema", "show", kind, capsys=capsys)
        assert code == 0 and json.loads(out) == load_schema(name)


def test_schema_export_never_clobbers(kb: KB, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "exported"
    code, _, _ = run(kb, "schema", "export", str(out_dir), capsys=capsys)
    assert code == 0
    assert {p.name for p in out_dir.glob("*.schema.json")} == {
        f"{n}.schema.json" for n in SCHEMA_NAMES}
    assert json.loads((out_dir / "model_card.schema.json").read_text()) == load_schema(
        "model_card")
    assert run(kb, "schema", "export", str(out_dir), capsys=capsys)[0] == 0  # same content
    (out_dir / "paper_card.schema.json").write_text("{}")
    code, _, err = run(kb, "schema", "export", str(out_dir), capsys=capsys)
    assert code == 2 and "--force" in err
    assert (out_dir / "paper_card.schema.json").read_text() == "{}"
    assert run(kb, "schema", "export", str(out_dir), "--force", capsys=capsys)[0] == 0
    assert json.loads((out_dir / "paper_card.schema.json").read_text()) == load_schema(
        "paper_card")


@pytest.mark.parametrize("kind", ["model", "paper", "dataset", "registry", "experiment"])
def test_new_writes_a_card_that_validates(kind: str, kb: KB,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    ident = f"new_{kind}"
    code, out, _ = run(kb, "new", kind, ident, capsys=capsys)
    assert code == 0, out
    path = next(kb.root.glob(f"*/*/{ident}.yaml"))
    first = path.read_text().splitlines()[0]
    schema = {"model": "model_card", "paper": "paper_card", "dataset": "dataset_card",
              "registry": "integration_registry", "experiment": "experiment_config"}[kind]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (path.parent / first.split("=", 1)[1]).resolve()
    assert target.name == f"{schema}.schema.json" and target.is_file()
    result = validate_kb(kb.root, [path])
    assert [(p.rule, p.severity) for p in result.problems] == [("lint.template", "warning")]
    # once the status says finished, the template's placeholders are errors
    path.write_text(path.read_text().replace("status: template", "status: draft"))
    assert "lint.todo" in {p.rule for p in validate_kb(kb.root, [path]).problems}


def test_new_refuses_to_overwrite(kb: KB, capsys: pytest.CaptureFixture[str]) -> None:
    before = kb.path(ALPHA).read_text()
    code, _, err = run(kb, "new", "model", "alpha", capsys=capsys)
    assert code == 2 and "already exists" in err
    assert kb.path(ALPHA).read_text() == before


@pytest.mark.parametrize("ident", ["Bad", "with space", "../escape", ""])
def test_new_rejects_bad_ids(kb: KB, ident: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(kb, "new", "paper", ident, capsys=capsys)
    assert code == 2 and "invalid id" in err
    assert not list((kb.root / "kb" / "paper_cards").glob("*[A-Z ]*"))


@pytest.mark.parametrize("layout", ["empty", "docs_only", "empty_card_folders", "wrong_files"])
def test_no_kb_at_the_root_exits_two(tmp_path: Path, layout: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """An empty or wrong --kb-root is a usage error, never "checked 0 files"."""
    root = tmp_path / "not_a_kb"
    root.mkdir()
    if layout == "docs_only":
        (root / "docs").mkdir()
        (root / "docs" / "index.md").write_text("# hello\n")
    elif layout == "empty_card_folders":
        for folder in ("kb/model_cards", "kb/datasets", "configs/experiments"):
            (root / folder).mkdir(parents=True)
    elif layout == "wrong_files":
        (root / "cards").mkdir()
        (root / "cards" / "model.yaml").write_text("id: model\n")
    assert main(["validate", "--kb-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"no knowledge base found at {root.resolve()}" in err and "--kb-root" in err
