"""parse_pdf on PDFs built in the test: outline headings, paragraphs, redaction, and the files it must refuse."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from aiinfra_dagster.documents.model import Block, Document, UnparseableDocument
from aiinfra_dagster.documents.parse import parse_document
from aiinfra_dagster.documents.pdf import parse_pdf
from tests.pdfs import Code, Columns, Heading, Paragraph, build_pdf, encrypt_pdf, image_only_pdf

POOLS = (
    "Connection pools keep database connections open between requests, so that a request does not pay for a "
    "handshake. The pool hands out a connection and takes it back when the request ends."
)
IDLE = "Idle connections are closed after a timeout, and a broken connection is replaced before it is handed out."
RETRIES = "Retries back off exponentially: the first after one second, the next after two, then four."
GUIDE = [
    [
        Paragraph("Operations guide for the widget service."),
        Heading("Connection Pools"),
        Paragraph(POOLS),
        Paragraph("A long word is split at the line end: an exam-\nple of a hyphenated line break."),
        Heading("Idle Connections", level=2),
        Paragraph(IDLE),
        Code("pool = Pool(size=10)\nwith pool.connection() as conn:\n    conn.execute(query)"),
    ],
    [
        Heading("Retries"),
        Paragraph(RETRIES),
        Paragraph("- retry reads\n- never retry writes"),
    ],
]


def identity(text: str) -> str:
    return text


def parsed(content: bytes, redact: Callable[[str], str] = identity) -> Document:
    doc = parse_pdf(content, redact=redact).validate()
    assert doc.format == "pdf"
    return doc


def source(doc: Document, block: Block) -> str:
    return doc.text[block.start : block.end]


def only(doc: Document, needle: str) -> tuple[tuple[str, ...], Block]:
    found = [(s.heading_path, b) for s in doc.sections for b in s.blocks if needle in b.plain]
    assert len(found) == 1, (needle, found)
    return found[0]


def test_outline_gives_nested_sections_and_heading_lines_are_not_blocks() -> None:
    doc = parsed(build_pdf(GUIDE, title="Widget Operations"))
    assert doc.title == "Widget Operations"
    assert doc.metadata["pages"] == "2" and doc.metadata["title"] == "Widget Operations"
    assert [s.heading_path for s in doc.sections] == [
        (),
        ("Connection Pools",),
        ("Connection Pools", "Idle Connections"),
        ("Retries",),
    ]
    assert [b.plain for b in doc.sections[0].blocks] == ["Operations guide for the widget service."]
    pools = doc.sections[1].blocks
    assert [b.kind for b in pools] == ["paragraph", "paragraph"]  # split on the blank line between them
    assert pools[0].plain == POOLS
    assert pools[1].plain == "A long word is split at the line end: an example of a hyphenated line break."
    assert "exam-\nple" in source(doc, pools[1])  # the text keeps what the page says
    idle = doc.sections[2].blocks
    assert [b.kind for b in idle] == ["paragraph", "code"]
    assert idle[1].plain == "pool = Pool(size=10)\nwith pool.connection() as conn:\n    conn.execute(query)"
    retries = doc.sections[3].blocks
    assert [(b.kind, b.plain) for b in retries] == [
        ("paragraph", RETRIES),
        ("list", "- retry reads\n- never retry writes"),
    ]
    headings = {"Connection Pools", "Idle Connections", "Retries"}
    assert not headings.intersection(b.plain for b in doc.blocks())
    for heading in headings:  # each heading is a line of the text, outside every block
        at = doc.text.index(heading + "\n")
        assert not any(b.start <= at < b.end for b in doc.blocks())
    assert doc.text.index("Retries") > doc.text.index("conn.execute(query)")  # pages in order
    assert "\n\nRetries" in doc.text  # a blank line between the pages


def test_bookmark_whose_title_the_page_does_not_print_starts_at_the_page_top() -> None:
    pages = [
        [Heading("Intro"), Paragraph(POOLS)],
        [Heading("Appendix: Retry Policy", shown=False), Paragraph(RETRIES)],
    ]
    doc = parsed(build_pdf(pages))
    assert only(doc, "Retries back off")[0] == ("Appendix: Retry Policy",)
    assert only(doc, "Connection pools keep")[0] == ("Intro",)


def test_redaction_runs_before_offsets_on_text_outline_and_metadata() -> None:
    pages = [
        [Heading("Contact ada@example.com"), Paragraph("Write to ada@example.com or to bob@example.org for access.")],
    ]
    content = build_pdf(pages, title="Access for ada@example.com", author="ada@example.com")

    def redact(text: str) -> str:
        return re.sub(r"[\w.]+@[\w.]+\w", "[EMAIL]", text)

    doc = parsed(content, redact)
    assert "@" not in doc.text and "@" not in doc.to_json()
    [section] = doc.sections
    assert section.heading_path == ("Contact [EMAIL]",)
    [block] = section.blocks
    assert block.plain == "Write to [EMAIL] or to [EMAIL] for access."
    assert source(doc, block) == block.plain  # offsets point into the redacted text
    assert doc.title == "Access for [EMAIL]" and doc.metadata["author"] == "[EMAIL]"


def test_running_headers_and_page_numbers_are_dropped() -> None:
    pages = [[Heading(f"Chapter {n}"), Paragraph(f"Body of chapter {n}. " + IDLE)] for n in range(1, 4)]
    doc = parsed(build_pdf(pages, header="ACME Widget Manual          Internal", page_numbers="{n}"))
    assert "ACME Widget Manual" not in doc.text
    assert [s.heading_path for s in doc.sections] == [("Chapter 1",), ("Chapter 2",), ("Chapter 3",)]
    expected = [[f"Body of chapter {n}. " + IDLE] for n in range(1, 4)]
    assert [[b.plain for b in s.blocks] for s in doc.sections] == expected


def test_two_columns_are_read_left_then_right() -> None:
    left = f"{POOLS}\n\n{IDLE}"
    right = f"{RETRIES} Jitter spreads the retries of many clients over time.\n\nWrites are never retried blindly."
    pages = [[Heading("Pools and Retries"), Columns(left, right)]]
    doc = parsed(build_pdf(pages, outline=False))
    plains = [b.plain for b in doc.blocks()]
    assert plains == [
        "Pools and Retries",
        POOLS,
        IDLE,
        f"{RETRIES} Jitter spreads the retries of many clients over time.",
        "Writes are never retried blindly.",
    ]


def test_without_outline_plain_text_heading_rules_apply() -> None:
    pages = [
        [Paragraph("1. Introduction"), Paragraph(POOLS), Paragraph("1.1 Idle Handling"), Paragraph(IDLE)],
        [Paragraph("2. Retries"), Paragraph(RETRIES)],
    ]
    doc = parsed(build_pdf(pages, outline=False))
    assert doc.title == ""  # no /Title: the registry falls back to the file name
    assert [s.heading_path for s in doc.sections] == [
        ("1. Introduction",),
        ("1. Introduction", "1.1 Idle Handling"),
        ("2. Retries",),
    ]
    plain_pages = [[Paragraph(POOLS), Paragraph(RETRIES)]]
    [section] = parsed(build_pdf(plain_pages, outline=False)).sections
    assert section.heading_path == () and [b.plain for b in section.blocks] == [POOLS, RETRIES]


def test_encrypted_pdf_needs_a_password_unless_the_user_password_is_empty() -> None:
    content = build_pdf(GUIDE, title="Widget Operations")
    with pytest.raises(UnparseableDocument, match=r"PDF is encrypted \(a password is required\)"):
        parse_pdf(encrypt_pdf(content, user_password="s3cret", algorithm="AES-256"), redact=identity)
    opened = parsed(encrypt_pdf(content, user_password="", algorithm="AES-256"))  # owner-locked only: anyone reads it
    assert opened.title == "Widget Operations"
    assert only(opened, "Retries back off")[0] == ("Retries",)


def test_image_only_pdf_has_no_extractable_text() -> None:
    with pytest.raises(UnparseableDocument, match=r"PDF has no extractable text \(scanned or image-only\?\)"):
        parse_pdf(image_only_pdf(pages=3), redact=identity)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"%PDF-1.7\nthis is not a PDF at all",
        build_pdf(GUIDE)[:900],  # truncated: no cross-reference table, no trailer
        bytes(range(256)) * 8,
    ],
    ids=["empty", "header-only", "truncated", "random"],
)
def test_corrupt_bytes_are_unparseable_with_a_reason(content: bytes) -> None:
    with pytest.raises(UnparseableDocument, match=r"^PDF could not be read: \S"):
        parse_pdf(content, redact=identity)


def test_registry_parses_pdf_and_names_an_untitled_one_after_its_file() -> None:
    doc = parse_document(build_pdf(GUIDE), "pdf", "guides/widget-operations.pdf", redact=str.upper)
    assert doc.format == "pdf" and doc.title == "widget operations"
    assert only(doc, "RETRIES BACK OFF")[0] == ("RETRIES",)  # the registry's redactor reached text and outline
