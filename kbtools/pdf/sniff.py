"""What a file really is, from its first bytes: a PDF named ``.pdf`` may be an HTML page.

Downloads often save a login page, an image or a zipped supplement under a ``.pdf`` name.
MuPDF then repairs what it can and finds no text, which reads like a scan. Checking the
signature first lets the report say what the file is and what to do.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

#: Leading bytes of common file types, and how to name them.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%!PS", "a PostScript file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document (.doc/.xls/.ppt)"),
    (b"{\\rtf", "an RTF document"),
    (b"AT&TFORM", "a DjVu document"),
)
#: How far into the file a PDF header may start (some servers prepend junk).
HEADER_WINDOW = 1024


def describe(path: Path) -> str | None:
    """None when ``path`` looks like a PDF, else a short phrase naming what it is."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_WINDOW)
    if not head:
        return "an empty file (0 bytes)"
    if b"%PDF-" in head:
        return None
    for magic, name in SIGNATURES:
        if head.startswith(magic):
            return name
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or re.search(rb"<(head|body)\b", text):
        return "an HTML page (often a login or error page saved in place of the paper)"
    if text.startswith(b"<?xml"):
        return "an XML file"
    if text.startswith((b"{", b"[")):
        return "a JSON or other text file"
    if _is_text(head):
        return "a plain-text file"
    return "not a PDF (no %PDF- header in its first kilobyte)"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return "a ZIP archive (damaged)"
    if any(n.startswith("word/") for n in names):
        return "a Word document (.docx)"
    if any(n.startswith("ppt/") for n in names):
        return "a PowerPoint document (.pptx)"
    if any(n.startswith("xl/") for n in names):
        return "an Excel workbook (.xlsx)"
    if "mimetype" in names and any(n.endswith(".opf") for n in names):
        return "an EPUB e-book"
    return "a ZIP archive"


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def advice(kind: str) -> str:
    """What to do with a file that is ``kind`` instead of a PDF."""
    if "HTML" in kind:
        return "download the paper again (the link gave a web page) or save it as PDF"
    if "image" in kind:
        return "rename it to its real extension; to convert an image, OCR it into a PDF first"
    if "Word" in kind or "Office" in kind or "RTF" in kind or "PowerPoint" in kind:
        return "export it to PDF from its editor, then convert the PDF"
    if "archive" in kind or "ZIP" in kind:
        return "unpack it and convert the PDF inside, if there is one"
    return "replace it with the paper's PDF"
