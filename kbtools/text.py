"""The one normalisation of text that comes from a card, a file name or a PDF.

Text is normalised before anything looks at it: :mod:`kbtools.validation.unsafe_markup` checks
the normalised text and :mod:`kbtools.site.escape` renders the same normalised text, so what
is checked is exactly what is shown. A control character inside markup (``on\\x01click``,
``]\\x01(``) therefore cannot hide it from the check and then vanish before rendering.

Removed: C0 and C1 control characters (a tab and a line break are kept; ``\\r\\n`` and ``\\r``
become ``\\n``), Unicode format characters (zero-width space, soft hyphen, byte order mark, bidi
embeddings, overrides and isolates, invisible operators, tag characters), lone surrogates and
noncharacters. Zero-width joiner and non-joiner stay: emoji sequences and several scripts need
them. The result is in NFC.
"""

from __future__ import annotations

import re
import unicodedata

#: Format characters (category Cf) except U+200C/U+200D, as of Unicode 15; a test checks the
#: list against the running Python's Unicode database.
_FORMAT = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b\u200e-\u200f"
           "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
           "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
           "\U000e0020-\U000e007f")
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xfffe)}-{chr(plane << 16 | 0xffff)}" for plane in range(17))
_REMOVED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _FORMAT + "\ud800-\udfff" + _NONCHARACTERS + "]")
_CR = re.compile(r"\r\n?")


def normalise(text: str) -> str:
    """``text`` without control, format and noncharacter code points, line breaks as ``\\n``,
    in NFC. Idempotent."""
    if text.isascii():
        if text.isprintable():
            return text
        return _REMOVED.sub("", _CR.sub("\n", text))
    text = _REMOVED.sub("", _CR.sub("\n", text))
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text
