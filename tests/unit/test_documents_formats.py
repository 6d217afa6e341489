"""Sniffing: the extension, corrected by what the bytes say."""

from __future__ import annotations

import pytest

from aiinfra_dagster.documents.formats import binary_kind, extension_format, sniff_format, text_format

MARKDOWN = b"---\ntitle: Runbook\n---\n# Deploys\n\nRun `make deploy`.\n\n```sh\nmake deploy\n```\n"
RST = b"Title\n=====\n\n.. note::\n\n   Careful.\n\nSee :func:`open`.\n"
MAN = b"NAME\n       vault_open - open a vault\n\nDESCRIPTION\n       The call opens a vault.\n"


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        ("a.md", b"plain words only", "markdown"),
        ("a.rst", b"plain words only", "rst"),
        ("library/json.rst.txt", b"plain words only", "rst"),
        ("notes.txt", MARKDOWN, "markdown"),  # a .txt that is Markdown is Markdown
        ("notes.txt", RST, "rst"),
        ("man2/vault_open.2.txt", MAN, "text"),
        ("page", b"<!DOCTYPE html><html><body><p>x</p></body></html>", "html"),
        ("page.txt", b"  \n<html lang='en'><head></head></html>", "html"),
        ("manual.pdf", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj", "pdf"),
        ("scan.txt", b"%PDF-1.4 named wrongly", "pdf"),
        ("fake.pdf", b"not a pdf at all", "binary"),
        ("logo.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("archive.txt", b"PK\x03\x04rest", "binary"),
        ("data.txt", b"abc\x00def", "binary"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "text"),  # not UTF-8: validation quarantines it
    ],
)
def test_sniff_format(path: str, content: bytes, expected: str) -> None:
    assert sniff_format(path, content) == expected


def test_extension_and_binary_kind() -> None:
    assert extension_format("a/B.MD") == "markdown" and extension_format("x.unknown") is None
    assert binary_kind(b"\x7fELF...") == "ELF executable"
    assert binary_kind(b"%PDF-1.7 \x00") is None  # PDFs are binary by design, parsed by the PDF parser
    assert binary_kind(b"just text") is None


def test_text_format_needs_real_markup_not_one_stray_character() -> None:
    assert text_format("Use a # sign inside a sentence, or a [link] without target.") == "text"
    assert text_format("# Heading\n\nbody\n\n## Next\n") == "markdown"
    assert text_format(".. code-block:: python\n\n   x = 1\n\n.. note::\n\n   y\n") == "rst"
