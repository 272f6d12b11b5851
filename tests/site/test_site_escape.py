"""Card values are data: every escape, checked by rendering it with MkDocs' markdown.

The oracle is Python-Markdown itself, loaded with the extensions KB sites enable (attribute
lists, markdown in HTML, snippets, math, sub/superscript...): an escaped value must come out
with no live markup, and show exactly the text that was written.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import markdown
import pytest
from markupsafe import Markup

from kbtools.site import escape
from kbtools.site.render import make_environment

EXTENSIONS = ["attr_list", "md_in_html", "tables", "admonition", "toc", "def_list", "abbr",
              "footnotes", "pymdownx.superfences", "pymdownx.details", "pymdownx.tilde",
              "pymdownx.caret", "pymdownx.mark", "pymdownx.betterem", "pymdownx.magiclink",
              "pymdownx.emoji", "pymdownx.arithmatex", "pymdownx.critic", "pymdownx.snippets",
              "pymdownx.inlinehilite", "pymdownx.keys"]

BENIGN = ["n_test", "__init__", "a*b*c", "rho = 0.3", "2026-11-20T10:00:00Z", "H~2~O", "x^2^",
          "cost $5 and $6", "1. item", "- item", "+ item", "# not a heading", "==marked==",
          "a\\b", "Alzheimer's \"quoted\"", "A & B", "x < y > z", "`code`", "--> arrow",
          "{++inserted++}", ":smile:", "https://example.org/a_(b)", "[[Ctrl+C]]", "***", "|"]


def render(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS, extension_configs={
        "pymdownx.arithmatex": {"generic": True}})


class _Text(HTMLParser):
    def __init__(self, tag: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tag, self.depth, self.parts = tag, 0, []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == self.tag:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == self.tag:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(rendered: str, tag: str) -> str:
    parser = _Text(tag)
    parser.feed(rendered)
    return " ".join("".join(parser.parts).split())


@pytest.fixture(scope="module")
def corpus(hostile_payloads: dict[str, str]) -> list[str]:
    return [*hostile_payloads.values(), *BENIGN]


@pytest.mark.parametrize("layout,tag", [
    ("| Value |\n| --- |\n| {} |\n", "td"),
    ("# {}\n", "h1"),
    ("## {} {{: #x }}\n", "h2"),
    ("- {}\n", "li"),
    ("{}\n", "p"),
    ("Some text [{}](page.md) more.\n", "a"),
    ("!!! note\n    {}\n", "div"),
])
def test_inline_escape_is_inert_and_shows_the_text(corpus: list[str], layout: str, tag: str,
                                                   find_live_markup) -> None:
    for value in corpus:
        out = render(layout.format(escape.inline(value)))
        assert find_live_markup(out) == [], (value, out)
        assert "<script" not in out and "<img" not in out and "<svg" not in out, (value, out)
        if tag == "div":
            continue
        assert text_of(out, tag) == " ".join(value.split()), out


def test_multiline_and_code_keep_the_text(corpus: list[str], find_live_markup) -> None:
    for value in corpus:
        cases = [(render(f"<details>\n<summary>s</summary>\n"
                         f"{escape.preformatted(value)}\n</details>\n"), "code"),
                 (render(f"See {escape.code(value)} here.\n"), "code")]
        if "`" not in value:  # a message's own backticks mark its code spans
            cases.append((render(f"Fix: {escape.codespans('run `' + value + '` now')}\n"),
                          "code"))
        for out, tag in cases:
            assert find_live_markup(out) == [], (value, out)
            assert "<script" not in out and "<img" not in out
            assert text_of(out, tag) == " ".join(value.split()), out


def test_prose_renders_markdown_but_no_live_markup(corpus: list[str], find_live_markup) -> None:
    for value in corpus:
        block = escape.prose(value)
        # the block is inert both as MkDocs sees it and as the browser would
        for out in (render(f"Before.\n\n{block}\n\nAfter.\n"), str(block)):
            assert find_live_markup(out) == [], (value, out)
            assert "<script" not in out and "<svg" not in out
    out = escape.prose("Some **bold**, [a link](https://example.org/x), "
                       "[mail](mailto:kb@example.org), [page](../models/x.md), "
                       "[bad](javascript:alert(1)), [bad2](java\tscript:alert(2)), "
                       "[bad3](data:text/html,x), [bad4](vbscript:x) <b>raw</b>\n\n- item")
    assert "<strong>bold</strong>" in out
    assert '<a href="https://example.org/x">a link</a>' in out
    assert '<a href="mailto:kb@example.org">mail</a>' in out
    assert '<a href="../models/x.md">page</a>' in out
    assert out.count("<a ") == 3 and "&lt;b&gt;raw&lt;/b&gt;" in out and "<li>item</li>" in out


@pytest.mark.parametrize("target,allowed", [
    ("https://example.org", True), ("http://x.org/a", True), ("mailto:a@b.org", True),
    ("../x.md", True), ("#anchor", True), ("x.png", True), ("//cdn.example.org/x", True),
    ("javascript:alert(1)", False), ("JAVASCRIPT:x", False), ("java%09script:x", False),
    ("data:text/html,x", False), ("vbscript:x", False), ("file:///etc/passwd", False),
    ("&#106;avascript:x", False), (" javascript:x", False), ("jav\nascript:x", False),
])
def test_link_targets(target: str, allowed: bool) -> None:
    assert escape.link_allowed(target) is allowed


@pytest.mark.parametrize("value,expected", [
    ("https://example.org/a b", ""), ("javascript:alert(1)", ""), ("data:x", ""),
    ("https://", ""), ("ftp://x.org", ""), (None, ""),
    ('https://x.org/a"onmouseover=alert(1)', "https://x.org/a%22onmouseover=alert%281%29"),
    ("https://x.org/p?q=(1)&r=[2]", "https://x.org/p?q=%281%29&r=%5B2%5D"),
])
def test_external_urls(value: object, expected: str) -> None:
    assert escape.url(value) == expected


def test_mermaid_labels_cannot_close_the_label_or_add_directives(corpus: list[str]) -> None:
    for value in corpus:
        label = escape.mermaid_label(value, limit=10_000)
        assert re.fullmatch(r"[\w .,:/()#;-]*", label), label
        assert "%%" not in label and '"' not in label and "\n" not in label
        decoded = re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label)
        assert decoded == " ".join(value.split())


def test_page_titles_are_escaped_once() -> None:
    raw = '<script>alert(1)</script> & "q"'
    once = escape.page_title(raw)
    assert once == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"
    assert escape.page_title(once) == once
    assert html.unescape(escape.front_matter(raw)[1:-1]) == " ".join(raw.split())


CONSTRUCTS = [
    "{{ v }}", "{{ v|upper }}", "{{ 'see ' ~ v }}", "{{ m ~ v }}", "{{ [v, m]|join(' ') }}",
    "{{ v|e }}", "{{ '%s!'|format(v) }}", "{{ m|format(v) if false else m|replace('ok', v) }}",
    "{{ v|tojson }}", "{{ {'k': v}|fmt }}", "{{ [v]|fmt }}", "{{ v|cell }}", "{{ v|text }}",
    "[{{ v }}](x.md)", "| {{ v }} | {{ v|code }} |", "{% set x %}{{ v }}{% endset %}{{ x }}",
    "{{ (v ~ m) ~ v }}", "{{ v|default('') }}", "{{ v|trim|title }}",
]


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_environment_escapes_card_values_by_construction(construct: str, find_live_markup
                                                         ) -> None:
    env = make_environment()
    template = env.from_string(construct)
    for payload in ("[x](javascript:alert(1))", "<img src=x onerror=alert(2)>",
                    "w{: onclick=alert(3) }", "`<script>alert(4)</script>`"):
        out = template.render(v=payload, m=Markup("<b>ok</b>"))
        page = render(out)
        assert find_live_markup(page) == [], (construct, payload, page)
        assert "<script" not in page and "<img" not in page and 'href="javascript' not in page


def test_no_unescaped_filters_left() -> None:
    env = make_environment()
    assert "urlize" not in env.filters
    assert env.filters["e"] is escape.inline and env.filters["escape"] is escape.inline
