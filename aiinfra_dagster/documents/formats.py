"""Which parser a file gets: its extension, corrected by what its bytes say.

A ``.txt`` file that is Markdown is parsed as Markdown, a page saved without an
extension as HTML, and bytes no parser reads (images, archives, executables) are
reported as ``binary`` so validation quarantines them with a reason instead of a
parser crashing the run. No library does this sniffing for text formats (``mimetypes``
only reads extensions, ``filetype``/``puremagic`` only know binary signatures), so it is
a handful of cheap, ordered rules over the first kilobytes.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from aiinfra_dagster.documents.model import DocFormat

Sniffed = DocFormat | Literal["binary"]

_SNIFF_BYTES = 16_384
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (also docx/xlsx/epub)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"BZh", "bzip2 archive"),
    (b"\xd0\xcf\x11\xe0", "OLE2 document (doc/xls)"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"RIFF", "RIFF media"),
    (b"\x00\x00\x01\x00", "ICO image"),
    (b"SQLite format 3\x00", "SQLite database"),
)
_EXTENSIONS: dict[str, DocFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".rst": "rst",
    ".rest": "rst",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
}
_HTML_RE = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S
)
_RST_DIRECTIVE_RE = re.compile(r"^\.\. [\w:-]+::", re.M)
_RST_ROLE_RE = re.compile(r":[a-z]+(?::[a-z]+)?:`[^`]+`")
_RST_LITERAL_RE = re.compile(r"::\n\n[ \t]+\S")
_MD_ATX_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.M)
_MD_FENCE_RE = re.compile(r"^ {0,3}(?:```|~~~)", re.M)
_MD_LINK_RE = re.compile(r"\[[^\]\n]+\]\([^)\s]+\)")
_MD_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(?:[\w-]+:.*\n)+---[ \t]*\n")
_MD_TABLE_RE = re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*\|", re.M)


def extension_format(path: str) -> DocFormat | None:
    name = PurePosixPath(path).name.lower()
    if name.endswith(".rst.txt"):
        return "rst"
    return _EXTENSIONS.get(PurePosixPath(name).suffix)


def binary_kind(content: bytes) -> str | None:
    """What a binary file is ("PNG image"), or None when it may be text or PDF."""
    for signature, kind in _BINARY_SIGNATURES:
        if content.startswith(signature):
            return kind
    head = content[:_SNIFF_BYTES]
    if b"\x00" in head and not content.startswith(b"%PDF-"):
        return "binary data (NUL bytes)"
    return None


def text_format(text: str) -> DocFormat:
    """Markdown, reST or plain text from markup the text actually uses."""
    head = text[:_SNIFF_BYTES]
    markdown = (
        2 * bool(_MD_FRONT_MATTER_RE.match(head))
        + 2 * min(2, len(_MD_ATX_RE.findall(head)))
        + 2 * bool(_MD_FENCE_RE.search(head))
        + bool(_MD_LINK_RE.search(head))
        + bool(_MD_TABLE_RE.search(head))
    )
    rst = (
        2 * min(2, len(_RST_DIRECTIVE_RE.findall(head)))
        + 2 * bool(_RST_ROLE_RE.search(head))
        + bool(_RST_LITERAL_RE.search(head))
    )
    if markdown >= 2 and markdown > rst:
        return "markdown"
    if rst >= 2 and rst > markdown:
        return "rst"
    return "text"


def sniff_format(path: str, content: bytes) -> Sniffed:
    """The format to parse ``content`` as: bytes decide over the extension where they disagree."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if binary_kind(content):
        return "binary"
    by_name = extension_format(path)
    if by_name == "pdf":
        return "binary"  # named .pdf, but not a PDF
    if _HTML_RE.match(content[:_SNIFF_BYTES]):
        return "html"
    if by_name in ("markdown", "rst", "html"):
        return by_name
    try:
        text = content[:_SNIFF_BYTES].decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < _SNIFF_BYTES - 4:  # not just a character cut at the sniff boundary
            return by_name or "text"
        text = content[: exc.start].decode("utf-8")
    return text_format(text)
