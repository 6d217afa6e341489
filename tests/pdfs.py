"""PDFs built in code for tests, benchmarks and the PDF corpus: real files a PDF reader opens, no fixtures on disk.

fpdf2 writes the pages (core fonts, so text is Latin-1) and the outline (``start_section``, one bookmark per
heading, nested by level); pypdf encrypts a finished file, because that is the library the parser reads it with.
Output is byte-for-byte deterministic: the creation date is fixed, and so is the file identifier of an encrypted
file (with the default RC4-128; AES-256 draws random salts). fpdf2 and pypdf are imported only when a PDF is
built, so this module imports without them (and without pytest).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

CREATION_DATE = datetime(2024, 3, 18, 9, 0, tzinfo=UTC)
"""The creation date of every PDF built here (a real one would change the bytes on every run)."""


@dataclass(frozen=True)
class Heading:
    """A heading line in bold; with ``outline=True`` also a bookmark at this spot (level 1 = top).

    ``shown=False`` adds only the bookmark: an outline entry whose title the page does not print.
    """

    text: str
    level: int = 1
    shown: bool = True


@dataclass(frozen=True)
class Paragraph:
    """Prose wrapped to the page width; a newline in ``text`` forces a line break there."""

    text: str


@dataclass(frozen=True)
class NumberedList:
    """A numbered list ("1.", "2.", ...) with hanging indentation."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Code:
    """Monospaced lines, indentation kept."""

    text: str


@dataclass(frozen=True)
class Columns:
    """Two columns of prose side by side (as in a paper); blank lines in either separate its paragraphs."""

    left: str
    right: str


Element = Heading | Paragraph | NumberedList | Code | Columns


def build_pdf(
    pages: Sequence[Sequence[Element]],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    author: str | None = None,
    title_block: bool = False,
    outline: bool = True,
    header: str | None = None,
    page_numbers: str | None = None,
) -> bytes:
    """One PDF page per item of ``pages``; content that does not fit on its page raises ``ValueError``.

    ``title``, ``subtitle`` (as the subject) and ``author`` go into the metadata; ``title_block`` also prints
    the title and subtitle in large type atop page 1. ``header`` is a running head atop every page but a page 1
    that carries the title block, and ``page_numbers`` a format such as ``"{n}"`` or ``"Page {n}"`` printed at
    the foot of every page: both are furniture a parser should drop.
    """
    pdf = _new_pdf(header=header, page_numbers=page_numbers, header_on_first_page=not title_block)
    if title is not None:
        pdf.set_title(title)
    if author is not None:
        pdf.set_author(author)
    if subtitle is not None:
        pdf.set_subject(subtitle)
    for number, elements in enumerate(pages, start=1):
        pdf.add_page()
        if number == 1 and title_block:
            pdf.set_font("Helvetica", "B", 22)
            pdf.multi_cell(0, 11, title or "", align="L", new_x="LMARGIN", new_y="NEXT")
            if subtitle:
                pdf.set_font("Helvetica", "", 12)
                pdf.multi_cell(0, 7, subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(8)
        for element in elements:
            _draw(pdf, element, outline)
        if pdf.page_no() != number:
            raise ValueError(f"the content of page {number} does not fit on one page")
    return bytes(pdf.output())


def _new_pdf(*, header: str | None = None, page_numbers: str | None = None, header_on_first_page: bool = True) -> FPDF:
    """An A4 FPDF with the fixed creation date, a running header and page numbers when asked for."""
    from fpdf import FPDF

    class _Pdf(FPDF):  # type: ignore[misc]
        def header(self) -> None:
            if header and (header_on_first_page or self.page_no() > 1):
                self.set_font("Helvetica", "I", 8)
                self.cell(0, 6, header, align="R", new_x="LMARGIN", new_y="NEXT")
                self.ln(4)

        def footer(self) -> None:
            if page_numbers:
                self.set_y(-15)
                self.set_font("Helvetica", "", 8)
                self.cell(0, 10, page_numbers.format(n=self.page_no()), align="C")

    pdf = _Pdf(format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 18, 20)
    return pdf


def _draw(pdf: FPDF, element: Element, outline: bool) -> None:
    if isinstance(element, Heading):
        if outline:
            pdf.start_section(element.text, element.level - 1)
        if not element.shown:
            return
        pdf.set_font("Helvetica", "B", 15 if element.level == 1 else 12)
        pdf.ln(2)
        pdf.multi_cell(0, 7, element.text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif isinstance(element, Paragraph):
        pdf.set_font("Helvetica", "", 10.5)
        pdf.multi_cell(0, 5.2, element.text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3.5)
    elif isinstance(element, NumberedList):
        pdf.set_font("Helvetica", "", 10.5)
        for number, item in enumerate(element.items, 1):
            pdf.cell(8, 5.2, f"{number}.")
            pdf.multi_cell(0, 5.2, item, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        pdf.ln(2)
    elif isinstance(element, Columns):
        pdf.set_font("Times", "", 10)
        top = pdf.get_y()
        half = (pdf.w - pdf.l_margin - pdf.r_margin - 12) / 2
        pdf.multi_cell(half, 5, element.left, new_x="LMARGIN", new_y="NEXT")
        bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + half + 12, top)
        pdf.multi_cell(half, 5, element.right, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(bottom, pdf.get_y()) + 4)
    else:
        pdf.set_font("Courier", "", 10)
        pdf.multi_cell(0, 4.5, element.text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)


def encrypt_pdf(
    content: bytes, *, user_password: str, owner_password: str = "owner-secret", algorithm: str = "RC4-128"
) -> bytes:
    """``content`` encrypted; ``user_password=""`` gives a file anyone may open (owner-locked only).

    The file identifier is the MD5 of ``content`` rather than random, so RC4-128 output is deterministic;
    ``algorithm="AES-256"`` is not (pypdf draws random salts and IVs for it).
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    file_id = ByteStringObject(hashlib.md5(content).digest())
    writer._ID = ArrayObject((file_id, file_id))  # pypdf draws random file identifiers; fixed ones keep bytes stable
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm=algorithm)
    writer._ID = ArrayObject((file_id, file_id))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf(pages: int = 1, *, title: str | None = None) -> bytes:
    """A "scan" without OCR: pages of drawn shapes and no text layer at all (``title`` only in the metadata)."""
    pdf = _new_pdf()
    if title is not None:
        pdf.set_title(title)
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(236, 233, 226)
        pdf.rect(0, 0, 210, 297, style="F")  # the grey of scanned paper
        pdf.set_fill_color(40, 40, 40)
        pdf.rect(22, 20, 60, 14, style="F")  # a letterhead logo
        pdf.set_draw_color(90, 90, 90)
        for y in range(70, 200, 9):  # lines of "text" the scanner saw as pixels
            pdf.line(22, y, 150 + (y * 7) % 38, y)
        pdf.rect(120, 215, 68, 24)  # the total box
    return bytes(pdf.output())
