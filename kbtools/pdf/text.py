"""Plain-text clean-up: ligatures, hyphenation across line ends, sentence splitting."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter

#: Latin ligatures U+FB00–FB06 and what they stand for.
LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st",
}
_TRANSLATE = str.maketrans({**LIGATURES, "\u00ad": "", "\u00a0": " ", "\u2010": "-",
                            "\u2011": "-"})

#: Marks a hyphen at a line end until the whole document's vocabulary can decide it.
SOFT_BREAK = "\x00"

#: Prefixes that keep their hyphen when a compound is broken at it ("self-" + "supervised").
KEEP_HYPHEN_PREFIXES = frozenset({
    "self", "non", "cross", "well", "state", "high", "low", "large", "small", "long", "short",
    "semi", "multi", "one", "two", "three", "four", "first", "second", "end", "co", "pre",
    "post", "data", "task", "model", "fine", "open", "real", "time", "gene", "brain",
})

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def normalise(text: str) -> str:
    """Expand ligatures, drop soft hyphens, NFC-normalise.

    A glyph the PDF gives no Unicode for (often a maths symbol in a TeX font) stays as the
    replacement character U+FFFD, so the reader sees that something is missing.
    """
    return unicodedata.normalize("NFC", text.translate(_TRANSLATE))


def join_lines(lines: list[str]) -> str:
    """Join the lines of one paragraph; a hyphen at a line end becomes a pending soft break."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalnum() and line[:1].isalnum():
            if out[-2].isalpha() and line[:1].islower():
                out = out[:-1] + SOFT_BREAK + line
            else:  # "BERT-" + "Base", "3-" + "5": a compound or a range, hyphen kept
                out = out + line
        else:
            out = f"{out} {line}"
    return out


def vocabulary(texts: list[str]) -> Counter[str]:
    """Lower-case word counts over the document; the pieces of a word broken at a line end
    are left out (they are what the vocabulary has to decide)."""
    counts: Counter[str] = Counter()
    for text in texts:
        text = _BROKEN.sub(" ", text)
        counts.update(w.lower() for w in _WORD.findall(text))
    return counts


_BROKEN = re.compile(r"[A-Za-z'-]*" + SOFT_BREAK + r"[A-Za-z']*")


_LEFT = re.compile(r"[A-Za-z'-]*$")
_RIGHT = re.compile(r"[A-Za-z']*")


def resolve_breaks(text: str, vocab: Counter[str]) -> str:
    """Repair hyphenation: join "repre-/sentation", keep "self-/supervised".

    The document decides first (the joined or the hyphenated form seen elsewhere in it), then a
    short list of prefixes that usually keep their hyphen; otherwise the word is joined.
    """
    if SOFT_BREAK not in text:
        return text
    pieces = text.split(SOFT_BREAK)
    out = pieces[0]
    for piece in pieces[1:]:
        left = _LEFT.search(out).group(0)  # type: ignore[union-attr]  # always matches
        right = _RIGHT.match(piece).group(0)  # type: ignore[union-attr]
        out += ("-" if _keeps_hyphen(left, right, vocab) else "") + piece
    return out


def _keeps_hyphen(left: str, right: str, vocab: Counter[str]) -> bool:
    joined = (left + right).lower()
    hyphenated = f"{left}-{right}".lower()
    if "-" in left:  # "state-of-the-" + "art": already a compound
        return True
    if vocab.get(hyphenated, 0) > vocab.get(joined, 0):
        return True
    if vocab.get(joined, 0) > 0:
        return False
    if (len(left) >= 3 and len(right) >= 3 and vocab.get(left.lower(), 0)
            and vocab.get(right.lower(), 0)):
        return True  # "participant-" + "level": two words of the paper, never seen joined
    return left.lower() in KEEP_HYPHEN_PREFIXES


_ABBREVIATION_END = re.compile(
    r"\b(?:e\.g|i\.e|et al|Figs?|Eqs?|Sec|cf|vs|approx|resp|Tab|No|Dr|Refs?|[A-Z])\.[\"')\]]?$")
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[A-Z(\"'\[])")


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, not after common abbreviations or initials."""
    out: list[str] = []
    for part in _SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        if out and _ABBREVIATION_END.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


# -- text from a PDF is data, never markup ---------------------------------------------------

_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
#: Tags of HTML elements, as left in a PDF printed from markdown that escaped them first.
_HTML_TAG = re.compile(
    r"</?(?:h[1-6]|p|br|hr|b|i|u|s|em|strong|small|mark|span|div|section|article|header|footer"
    r"|ul|ol|li|dl|dt|dd|table|thead|tbody|tr|td|th|caption|a|code|pre|kbd|sup|sub|img|"
    r"blockquote|figure|figcaption|font|center|details|summary)\b[^<>]{0,200}?/?>", re.I)


def markup_residue(text: str) -> str:
    """PDF text without the markup a markdown-to-PDF route escaped and so printed as text.

    A KB summary whose markdown held ``<h3>Title</h3>`` (or ``&lt;h3&gt;``) shows those
    characters on the page; taken back as text they would be escaped a second time. Entity
    references are decoded (as often as they were applied) and tags of HTML elements dropped,
    so the text is escaped exactly once, where it is written out.
    """
    if "&" not in text and "<" not in text:
        return text
    for _ in range(4):
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return re.sub(r"[ \t]{2,}", " ", _HTML_TAG.sub(" ", text)).strip()


_TAG = re.compile(r"</?[A-Za-z!?/][^<>]{0,300}>")
_SCRIPTISH = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_ATTR_LIST = re.compile(r"\{:?\s*[^{}]*[=#.][^{}]*\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SCHEME = re.compile(r"\b(javascript|vbscript|data)\s*:", re.IGNORECASE)


def plain_text(text: str) -> str:
    """``text`` with markup taken out, for fields that must stay plain (titles, names, venues).

    HTML tags go (a ``<script>`` element with its content), markdown links keep only their
    text, attribute lists (``{: onclick=...}``) and control characters go, any angle bracket
    left becomes a similar-looking guillemet, and script URL schemes lose their colon. The
    result holds no ``<``, ``>``, ``](`` or ``{:`` whatever the PDF carried.
    """
    text = _SCRIPTISH.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _ATTR_LIST.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = text.replace("<", "\u2039").replace(">", "\u203a").replace("](", "] (")
    text = _SCHEME.sub(lambda m: m.group(1) + " ", text)
    return re.sub(r"\s+", " ", text).strip()
