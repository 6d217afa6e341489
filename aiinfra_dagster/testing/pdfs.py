"""PDFs built in code for tests and benchmarks: real files a PDF reader opens, no fixtures on disk.

fpdf2 writes the pages (core fonts, so text is Latin-1) and the outline (``start_section``, one
bookmark per heading, nested by level); pypdf encrypts a finished file, because that is the library
the parser reads it with. Importable without pytest.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF


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
class Code:
    """Monospaced lines, indentation kept."""

    text: str


@dataclass(frozen=True)
class Columns:
    """Two columns of prose side by side (as in a paper); blank lines in either separate its paragraphs."""

    left: str
    right: str


Element = Heading | Paragraph | Code | Columns


def build_pdf(
    pages: Sequence[Sequence[Element]],
    *,
    title: str | None = None,
    author: str | None = None,
    outline: bool = True,
    header: str | None = None,
    page_numbers: bool = False,
) -> bytes:
    """One PDF page per item of ``pages`` (no automatic page breaks: what a test puts on a page stays there).

    ``header`` is printed atop every page and ``page_numbers`` at the foot, as running heads to be dropped.
    """
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    if title is not None:
        pdf.set_title(title)
    if author is not None:
        pdf.set_author(author)
    for number, elements in enumerate(pages, start=1):
        pdf.add_page()
        if header:
            pdf.set_font("Helvetica", size=8)
            pdf.cell(0, 5, text=header, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(6)
        for element in elements:
            _draw(pdf, element, outline)
        if page_numbers:
            pdf.set_xy(pdf.l_margin, pdf.h - 15)
            pdf.set_font("Helvetica", size=8)
            pdf.cell(0, 5, text=str(number), align="C")
    return bytes(pdf.output())


def _draw(pdf: FPDF, element: Element, outline: bool) -> None:
    if isinstance(element, Heading):
        if outline:
            pdf.start_section(element.text, level=element.level - 1)
        if not element.shown:
            return
        pdf.set_font("Helvetica", style="B", size=max(11, 18 - 2 * element.level))
        pdf.multi_cell(0, 8, text=element.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    elif isinstance(element, Paragraph):
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 5.5, text=element.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    elif isinstance(element, Columns):
        pdf.set_font("Times", size=10)
        top = pdf.get_y()
        half = (pdf.w - pdf.l_margin - pdf.r_margin - 12) / 2
        pdf.multi_cell(half, 5, text=element.left, new_x="LMARGIN", new_y="NEXT")
        bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + half + 12, top)
        pdf.multi_cell(half, 5, text=element.right, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(bottom, pdf.get_y()) + 4)
    else:
        pdf.set_font("Courier", size=10)
        pdf.multi_cell(0, 4.5, text=element.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)


def encrypt_pdf(content: bytes, *, user_password: str, owner_password: str = "owner-secret") -> bytes:
    """``content`` encrypted with AES-256; ``user_password=""`` gives a file anyone may open (owner-locked only)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf(pages: int = 2) -> bytes:
    """Pages with drawn shapes and no text layer at all: what a scan without OCR looks like to a parser."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    for page in range(pages):
        pdf.add_page()
        pdf.set_fill_color(200, 200 - 40 * (page % 4), 120)
        pdf.rect(20, 30, 170, 90, style="F")
        pdf.ellipse(60, 150, 90, 60, style="D")
        pdf.line(20, 240, 190, 250)
    return bytes(pdf.output())
