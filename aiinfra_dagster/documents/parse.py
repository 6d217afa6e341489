"""Bytes of any supported format -> ``Document``: the single entry point of the parsers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from aiinfra_dagster.documents.formats import Sniffed, binary_kind
from aiinfra_dagster.documents.html import parse_html
from aiinfra_dagster.documents.markdown import parse_markdown
from aiinfra_dagster.documents.model import Document, UnparseableDocument
from aiinfra_dagster.documents.pdf import parse_pdf
from aiinfra_dagster.documents.plaintext import parse_text
from aiinfra_dagster.documents.rst import parse_rst

Redactor = Callable[[str], str]
_TEXT_PARSERS: dict[str, Callable[[str], Document]] = {
    "markdown": parse_markdown,
    "rst": parse_rst,
    "html": parse_html,
    "text": parse_text,
}


def _identity(text: str) -> str:
    return text


def decode_text(content: bytes) -> str:
    """UTF-8 (a BOM is dropped), newlines normalised to "\\n"."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnparseableDocument(f"content is not valid UTF-8 (byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_document(content: bytes, fmt: Sniffed, path: str, *, redact: Redactor | None = None) -> Document:
    """Parse ``content`` as ``fmt``; ``redact`` runs on the text before offsets are taken (PII never reaches them).

    Raises ``UnparseableDocument`` with the reason a person reads in the quarantine table.
    """
    redact = redact or _identity
    if fmt == "binary":
        raise UnparseableDocument(f"unsupported binary format: {binary_kind(content) or 'unknown'}")
    if fmt == "pdf":
        doc = parse_pdf(content, redact=redact)
    elif fmt in _TEXT_PARSERS:
        doc = _TEXT_PARSERS[fmt](redact(decode_text(content)))
    else:
        raise UnparseableDocument(f"unknown document format {fmt!r}")
    if not doc.title:
        doc = Document(doc.format, doc.text, _title_from_path(path), doc.sections, doc.metadata)
    return doc


def _title_from_path(path: str) -> str:
    name = PurePosixPath(path).name
    for suffix in (".rst.txt", ".markdown", ".md", ".rst", ".html", ".htm", ".pdf", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("_", " ").replace("-", " ").strip() or path
