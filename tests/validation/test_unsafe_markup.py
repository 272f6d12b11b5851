"""``text.unsafe-markup``: card text carrying live markup is an error, ordinary text is not."""

from __future__ import annotations

import pytest

from kbtools.cli import main
from kbtools.validation import validate_kb
from kbtools.validation.unsafe_markup import unsafe_markup

from .kbfactory import KB

ALPHA = "kb/model_cards/alpha.yaml"

HOSTILE = [
    "[click me](javascript:alert(1))", "[c](JaVaScRiPt:alert(1))", "[c](&#106;avascript:x)",
    "[c]( java\tscript:alert(1))", "![pic](javascript:alert(1))", "<javascript:alert(1)>",
    "[ref][x]\n\n[x]: javascript:alert(1)", "[d](data:text/html;base64,PHNjcmlwdD4=)",
    "[v](vbscript:msgbox(1))", "javascript:alert(1)", "  data:text/html,<b>x</b>",
    'hello{: onclick="alert(1)" }', "![p](x.png){: onerror=alert(1) }", "{onmouseover=x}",
    "<script>alert(1)</script>", "</SCRIPT>", '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)>", "<details open ontoggle=alert(1)>", "<iframe src=x>",
    '<a href="javascript:alert(1)">x</a>', "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;img src=x onerror=alert(1)&amp;gt;", '--8<-- "/etc/hostname"',
    '<div markdown="1">[x](javascript:alert(1))</div>', "<a href=' data:text/html,x'>",
]
BENIGN = [
    "A DNA language model with a **131 kb** context ([paper](https://example.org/p)).",
    "Data: 500 subjects from three sites; scripted QC.", "p < 0.05 and q > 0.1",
    "Uses <10 subjects per cell", "see `kbtools validate`", "Onset age {onset: 12}",
    "Meta-analysis of <meta-analyses", "[docs](../docs/guide.md) and [mail](mailto:kb@x.org)",
    "TypeScript/JavaScript bindings", "a {data: x} mapping", "Script-based pipeline",
    "https://example.org/data:set", "The scheme javascript: is refused by the site.",
    "The ontology {: .note } style",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_live_markup_is_found(text: str) -> None:
    assert unsafe_markup(text)


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_text_passes(text: str) -> None:
    assert unsafe_markup(text) is None


def test_every_field_and_key_is_checked_with_its_line(kb: KB,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def change(d: dict) -> None:
        d["tags"] = ["fine", "<img src=x onerror=alert(1)>"]
        d["arch"] = {"type": "Mamba", "notes": "see [x](javascript:alert(2))"}
        d["notes"] = "line one\n\nline {: onclick=alert(3) } two"

    kb.edit(ALPHA, change)
    found = [p for p in validate_kb(kb.root, jobs=1).problems if p.rule == "text.unsafe-markup"]
    assert {p.json_path for p in found} == {"$.tags[1]", "$.arch.notes", "$.notes"}
    assert all(p.path == ALPHA and p.line and p.severity == "error" and p.hint for p in found)
    assert main(["--kb-root", str(kb.root), "validate", str(kb.path(ALPHA))]) == 1
    out = capsys.readouterr().out
    assert f"{ALPHA}:" in out and "text.unsafe-markup" in out and "event-handler" in out


def test_metric_keys_of_a_run_are_checked(kb: KB) -> None:
    from .kbfactory import RUN_ID

    rel = f"kb/runs/{RUN_ID}/metrics.yaml"
    kb.edit(rel, lambda d: d.setdefault("summary", {}).update({"<script>x</script>": 1}))
    found = [p for p in validate_kb(kb.root, jobs=1).problems if p.rule == "text.unsafe-markup"]
    assert [(p.path, p.message.split(":")[0]) for p in found] == [
        (rel, "key holds raw HTML that can run script or load content (<script>)")]


# ---------------------------------------------------------------------------------------------
# the document scan reads each string once and never misses what a per-value check finds

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kbtools.validation.unsafe_markup import document_may_hold_markup, walk_strings  # noqa: E402

#: Pieces that make up markup (and its near misses), mixed with any Unicode.
_PIECES = st.sampled_from([
    "<", ">", "{", "}", ":", "=", "(", ")", "[", "]", "](", "&", "#", ";", "&lt;", "&#106;",
    "&amp;", "&#x3c;", "java", "script", "javascript", "vb", "data", "on", "onclick", "href",
    "src", "srcdoc", "svg", "iframe", "--8<--", "8<", "\t", "\n", "\x00", "\x01", " ", "'",
    '"', "/", "x", "alert(1)", "{: ", "<a ", "]: ", "JaVa", "ＳＣＲＩＰＴ", "\u200b"])
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join)
_DOC = st.recursive(
    st.one_of(_TEXT, st.integers(), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOC)
def test_document_scan_flags_every_document_a_value_check_flags(doc) -> None:
    flagged = any(unsafe_markup(value) for _, value in walk_strings(doc))
    if flagged:
        assert document_may_hold_markup(doc)


@pytest.mark.parametrize("text", HOSTILE)
def test_document_scan_finds_each_hostile_value_anywhere_in_a_card(text) -> None:
    doc = {"id": "x", "summary": "plain words", "nested": [{"a": 1, "b": ["before", text]}]}
    assert document_may_hold_markup(doc)
    assert document_may_hold_markup({text: "key, not value"})


def test_document_scan_passes_ordinary_cards() -> None:
    assert not any(document_may_hold_markup({"summary": text, "n": [1, "x"]}) for text in BENIGN)
