"""One normalisation before the unsafe-markup check and before rendering; front matter that
reads back for every Unicode plane (issue 18, item 2). Cheap properties, many examples.
"""

from __future__ import annotations

import html
import os
import sys
import unicodedata

import markdown
import pytest
from hostile_gen import FRAGMENTS, REMOVED, hostile_text, one_line, scan_html
from hypothesis import given, settings
from hypothesis import strategies as st

from kbtools.site import escape
from kbtools.text import normalise
from kbtools.validation import unsafe_markup as check
from kbtools.validation.unsafe_markup import unsafe_markup

#: Examples per cheap property (the soak script raises it).
FAST = settings(max_examples=int(os.environ.get("KBTOOLS_TEXT_EXAMPLES", "300")), deadline=None,
                database=None)
#: The markdown extensions a site may enable that read syntax in card text.
SITE_EXTENSIONS = ["attr_list", "md_in_html", "tables", "admonition", "pymdownx.details",
                   "pymdownx.superfences", "pymdownx.snippets", "pymdownx.arithmatex"]


def test_normalise_removes_every_control_and_format_character() -> None:
    """Checked against this Python's Unicode database, code point by code point."""
    kept_controls = {"\t", "\n", "\r", "\u200c", "\u200d"}  # \r becomes \n
    wrong = []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs") and ch not in kept_controls and normalise(ch):
            wrong.append(f"U+{cp:04X} {category}")
    assert wrong == []
    assert normalise("a\r\nb\rc") == "a\nb\nc"
    family = "\U0001F468\u200d\U0001F469 \U0001D400"  # joined emoji, a mathematical letter
    assert normalise(family) == family


@FAST
@given(hostile_text)
def test_normalise_is_idempotent_nfc_and_leaves_nothing_removable(text: str) -> None:
    out = normalise(text)
    assert normalise(out) == out
    assert unicodedata.is_normalized("NFC", out)
    assert not any(ch in out for ch in REMOVED if ch not in "\r")


@st.composite
def _with_removed(draw: st.DrawFn) -> tuple[str, str]:
    """Text, and the same text with characters the normalisation removes put anywhere."""
    text = draw(hostile_text)
    salted = text
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(salted)))
        salted = salted[:at] + draw(st.sampled_from(REMOVED)) + salted[at:]
    return text, salted


@FAST
@given(_with_removed())
def test_removed_characters_change_neither_the_check_nor_the_page(pair: tuple[str, str]) -> None:
    """What is checked is what is rendered: a control character inside markup cannot hide it
    from the check and then vanish before rendering."""
    text, salted = pair
    assert unsafe_markup(salted) == unsafe_markup(text)
    assert check.document_may_hold_markup([salted]) == check.document_may_hold_markup([text])
    for render in (escape.inline, escape.prose, escape.front_matter, escape.mermaid_label,
                   escape.url):
        assert render(salted) == render(text), render.__name__


@pytest.mark.parametrize("text", [
    "<b on\x01click=alert(1)>x</b>", "<img src=x on\u200berror=alert(1)>",
    "[x]\x01(javascript:alert(1))", "[x](java\u200bscript:alert(1))",
    "x{: on\x1fmouseover=alert(1) }", "<scr\u202eipt>alert(1)</script>",
    "&#106;ava\x00script:alert(1)",
])
def test_markup_split_by_a_removed_character_is_caught(text: str) -> None:
    assert unsafe_markup(text) is not None


@FAST
@given(st.text(st.characters(), max_size=40) | hostile_text)
def test_front_matter_reads_back_for_every_plane(text: str) -> None:
    """What MkDocs reads from a generated page's front matter is the title as written."""
    from mkdocs.utils.meta import get_data

    body, meta = get_data(f"---\ntitle: {escape.front_matter(text)}\n---\n\n# x\n")
    assert meta == {"title": html.escape(one_line(text), quote=True)}
    assert body.strip() == "# x"


@pytest.mark.parametrize("title", ["Gene \U0001F600 \U0001D400 model", "\U00020000\U0010FFFD",
                                   '"quoted" & <b>', "a: b # c", "- list", "\\U0001F600"])
def test_front_matter_examples(title: str) -> None:
    from mkdocs.utils.meta import get_data

    _, meta = get_data(f"---\ntitle: {escape.front_matter(title)}\n---\n")
    assert html.unescape(meta["title"]) == title


@FAST
@given(hostile_text)
def test_rendered_card_text_is_inert_under_the_site_extensions(text: str) -> None:
    """Card text as a line and as prose, through Python-Markdown with the extensions a site
    enables: no handler, no script, no URL scheme other than http(s) or mailto."""
    md = markdown.Markdown(extensions=SITE_EXTENSIONS)
    page = "\n\n".join([f"# {escape.inline(text)}", f"| a | {escape.inline(text)} |",
                        "| - | - |", f"| b | {escape.code(text)} |", str(escape.prose(text)),
                        f"[{escape.inline(text)}]({escape.url(text) or '#'})"])
    rendered = md.convert(page)
    found, scripts = scan_html(rendered)
    assert found == [] and scripts == []


def test_the_grammar_reaches_every_check() -> None:
    """The fragments the generators draw from hold each kind of markup the check knows."""
    caught = {unsafe_markup(f) for f in FRAGMENTS} - {None}
    assert len(caught) >= 6
