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

import unicodedata

#: Format characters (category Cf) except U+200C/U+200D, as of Unicode 15; a test checks the
#: list against the running Python's Unicode database.
_FORMAT = ((0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
           (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
           (0x200B, 0x200B), (0x200E, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064),
           (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
           (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
           (0xE0001, 0xE0001), (0xE0020, 0xE007F))
_CONTROLS = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F))
_SURROGATES = ((0xD800, 0xDFFF),)
_NONCHARACTERS = ((0xFDD0, 0xFDEF), *((plane << 16 | 0xFFFE, plane << 16 | 0xFFFF)
                                      for plane in range(17)))
#: ``str.translate`` table: every removed code point to None, a lone ``\r`` to ``\n``.
_TABLE: dict[int, str | None] = {
    cp: None for first, last in (*_CONTROLS, *_FORMAT, *_SURROGATES, *_NONCHARACTERS)
    for cp in range(first, last + 1)}
_TABLE[0x0D] = "\n"


def normalise(text: str) -> str:
    """``text`` without control, format and noncharacter code points, line breaks as ``\\n``,
    in NFC. Idempotent."""
    if text.isascii() and text.replace("\n", "").replace("\t", "").isprintable():
        return text  # the common case, in a few microseconds for a whole card
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    text = text.translate(_TABLE)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text
