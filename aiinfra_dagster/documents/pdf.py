"""PDF -> ``Document``: pypdf's text of each page, the outline as headings, plain-text rules for blocks.

Library: pypdf (pure Python, BSD, the maintained successor of PyPDF2; AES via ``cryptography``). pdfminer.six
lays text out better on hard pages but is several times slower and adds a dependency for what pypdf's
layout mode already gives here; PyMuPDF is faster but AGPL. Extraction mode: the default mode runs each
text line into the next (0 blank lines on a page of a LaTeX spec that has 19 paragraph breaks), so
paragraphs cannot be told apart; ``extraction_mode="layout"`` keeps vertical gaps as blank lines (and
indentation, which code needs), so layout it is. Measured on a shared 2-core CPU (noisy, ranges over runs):
a generated 20-page, 30 kB PDF (``tests.pdfs``) reads at 240-430 pages/s with a bare
default-mode loop, layout mode costs 1.1-1.3x that and all of ``parse_pdf`` 1.4-1.6x (175-270 pages/s,
0.26-0.41 MB/s); on two real pdfTeX manuals (17 and 36 pages) layout costs 1.4-2x the default loop and
``parse_pdf`` adds 0-25% on top of layout (21-35 pages/s). Layout mode places text on a character grid,
so two columns come out side by side on each line: a page whose lines share a wide gutter of spaces is
split there, left column before right (lines crossing it, such as a title, stay whole).

What a document becomes:
- ``text``: the pages' text (lines right-trimmed, runs of blank lines made one) joined by a blank line;
  lines that open or close 3 pages or more the same way, digits aside (running headers and footers, so also
  "Chapter 4: Functions 17"), and lone page numbers (``12``, ``Page 3 of 9``, ``iv``) are dropped.
  ``redact`` runs on each page and on every outline title before any offset is taken.
- Headings come from the outline (bookmarks): each item, nested items under their parent, starts a section
  on its destination page, at the line that says its title if that page has one after the previous heading
  (the line is not a block), else at the top of the page. Without an outline the plain-text heading rules
  (``plaintext.text_structure``: numbered, ALL CAPS, underlined lines) find them; they are conservative,
  so a PDF without bookmarks and such headings is one section ``()``.
- Blocks: the plain-text rules (``plaintext``): paragraphs split on blank lines, lines joined and words
  hyphenated at a line end rejoined in ``plain``; lists, code and tables as there. Pages end blocks.
- ``title``: the info dictionary's /Title, else "". ``metadata``: the info strings (author, subject,
  producer, ...) redacted, ``pages``, and ``unreadable_pages`` ("3, 7") when pypdf failed on some pages
  (they are left empty rather than losing the document).
- Unusable files raise ``UnparseableDocument``: unreadable bytes, a password needed (the empty user password
  is tried), no extractable text on any page (a scan without OCR).
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.generic import Destination

from aiinfra_dagster.documents import plaintext
from aiinfra_dagster.documents.model import Block, Document, Section, UnparseableDocument

_BLANK_RUN_RE = re.compile(r"\n{3,}")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ROMAN = r"(?-i:(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"  # lower case only: "CLI" is a word
_PAGE_NUMBER_RE = re.compile(
    rf"^(?:(?:page\s+)?\d{{1,4}}(?:\s*(?:of|/)\s*\d{{1,4}})?|[-–—]\s*\d{{1,4}}\s*[-–—]|{_ROMAN})$", re.I
)
_NUMBERING_RE = re.compile(r"^(?:(?:chapter|section|part|appendix)\s+)?(?:[\dIVXivx]+|[A-Z])(?:\.\d+)*\.?\s+", re.I)
_NON_WORD_RE = re.compile(r"\W+")
_MIN_COLUMN_CHARS = 25
_GUTTER_RE = re.compile(r"\S {3,}\S")


@dataclass(frozen=True)
class _OutlineEntry:
    page: int
    path: tuple[str, ...]


def parse_pdf(content: bytes, *, redact: Callable[[str], str]) -> Document:
    """Parse PDF bytes; ``redact`` sees every extracted text before offsets are computed."""
    reader = _open(content)
    page_count = len(reader.pages)
    if page_count == 0:
        raise UnparseableDocument("PDF has no pages")
    pages, unreadable = _page_texts(reader)
    if not any(pages):
        raise UnparseableDocument(
            f"PDF has no extractable text (scanned or image-only?): none of its {page_count} pages has a text layer;"
            " run OCR on it first"
        )
    pages = _without_running_lines(pages)
    if not any(pages):
        raise UnparseableDocument(
            f"PDF has no extractable text beyond page numbers and running heads ({page_count} pages)"
        )
    pages = [redact(page) for page in pages]
    text, starts = _join(pages)
    entries = _outline(reader, redact, page_count)
    metadata = _metadata(reader, redact)
    metadata["pages"] = str(page_count)
    if unreadable:
        metadata["unreadable_pages"] = ", ".join(map(str, unreadable))
    if entries:
        sections = _outline_sections(text, starts, entries)
    else:
        sections, _ = plaintext.text_structure(text, drop_running_lines=False)
    return Document("pdf", text, metadata.get("title", ""), sections, metadata)


def _open(content: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(content))
    except Exception as exc:  # pypdf raises many types (PdfReadError, ValueError, KeyError...) on bad bytes
        raise UnparseableDocument(f"PDF could not be read: {exc}") from None
    if reader.is_encrypted:
        try:
            decrypted = reader.decrypt("")
        except Exception as exc:
            raise UnparseableDocument(f"PDF is encrypted and could not be decrypted: {exc}") from None
        if decrypted == PasswordType.NOT_DECRYPTED:
            raise UnparseableDocument(
                "PDF is encrypted (a password is required): ask for an unencrypted copy or the password"
            )
    try:
        len(reader.pages)
    except Exception as exc:
        raise UnparseableDocument(f"PDF could not be read: {exc}") from None
    return reader


def _page_texts(reader: PdfReader) -> tuple[list[str], list[int]]:
    """Each page's text in layout mode, cleaned ("" when it has none), and the pages pypdf could not read (1-based).

    One broken page does not cost the rest of the document: it is left empty and named in the metadata.
    """
    texts: list[str] = []
    unreadable: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            raw = page.extract_text(extraction_mode="layout")
        except Exception:  # layout mode fails on some fonts and content streams: the plain mode may not
            try:
                raw = page.extract_text()
            except Exception:
                raw = ""
                unreadable.append(number)
        texts.append(_clean(raw))
    return texts, unreadable


def _clean(raw: str) -> str:
    """Lines right-trimmed, the common indent removed, columns read one after the other, one blank line at most."""
    raw = _CONTROL_RE.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in raw.split("\n")]
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    if not indents:
        return ""
    common = min(indents)
    lines = [line[common:] for line in lines]
    lines = _split_columns(lines)
    return _BLANK_RUN_RE.sub("\n\n", "\n".join(lines)).strip("\n")


def _split_columns(lines: list[str]) -> list[str]:
    """Two columns laid side by side -> the left column's lines, then the right's, per run of such lines.

    The gutter is the column where the most lines have text on both sides of a 3-space gap; it must split
    at least 3 lines, few lines may cross it, and both sides must be prose-wide (narrow cells are a table,
    which reads better row by row).
    """
    filled = [line for line in lines if line.strip()]
    if sum(1 for line in filled if _GUTTER_RE.search(line)) < 3:
        return lines
    width = max(len(line) for line in filled)
    counts = {col: sum(1 for line in filled if _splits_at(line, col)) for col in range(width // 4, 3 * width // 4)}
    best_count = max(counts.values(), default=0)
    band = [col for col, count in counts.items() if count == best_count]
    run_end = next((a for a, b in pairwise(band) if b != a + 1), band[-1]) if band else 0
    best = (band[0] + run_end) // 2 if band else 0  # the middle of the widest-agreeing gap
    crossing = sum(1 for line in filled if _crosses(line, best))
    if best_count < 3 or crossing > max(2, 0.25 * len(filled)):
        return lines
    lefts = [line[:best].strip() for line in filled if _splits_at(line, best)]
    rights = [line[best:].strip() for line in filled if _splits_at(line, best)]
    if min(sum(map(len, lefts)), sum(map(len, rights))) < _MIN_COLUMN_CHARS * len(lefts):
        return lines
    out: list[str] = []
    left: list[str] = []
    right: list[str] = []
    for line in lines:
        if _crosses(line, best):  # a full-width line (a title, a wide figure caption)
            out += [*left, "", *right, line]
            left, right = [], []
        else:
            left.append(line[:best].rstrip())
            right.append(line[best:].strip())
    return [*out, *left, "", *right]


def _crosses(line: str, col: int) -> bool:
    return len(line) > col - 1 and not line[col - 1 : col + 2].isspace()


def _splits_at(line: str, col: int) -> bool:
    return len(line) > col + 2 and line[col - 1 : col + 2].isspace() and bool(line[: col - 1].strip())


def _without_running_lines(pages: list[str]) -> list[str]:
    """Drop first/last lines repeated (digits aside) on 3 pages or more (2 of 2-3 pages), and lone page numbers."""
    firsts = [_first_last(page)[0] for page in pages]
    lasts = [_first_last(page)[1] for page in pages]
    with_text = sum(1 for page in pages if page)
    needed = max(2, min(3, math.ceil(with_text / 2)))  # a chapter's running head repeats only over its pages
    repeated_first = {key for key, n in Counter(map(_running_key, filter(None, firsts))).items() if n >= needed}
    repeated_last = {key for key, n in Counter(map(_running_key, filter(None, lasts))).items() if n >= needed}
    out: list[str] = []
    for page in pages:
        lines = page.split("\n")
        while lines and (_PAGE_NUMBER_RE.match(lines[0].strip()) or _running_key(lines[0]) in repeated_first):
            lines.pop(0)
            while lines and not lines[0].strip():
                lines.pop(0)
        while lines and (_PAGE_NUMBER_RE.match(lines[-1].strip()) or _running_key(lines[-1]) in repeated_last):
            lines.pop()
            while lines and not lines[-1].strip():
                lines.pop()
        out.append("\n".join(lines))
    return out


def _first_last(page: str) -> tuple[str, str]:
    lines = [line for line in page.split("\n") if line.strip()]
    return (lines[0], lines[-1]) if lines else ("", "")


def _running_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).casefold())


def _join(pages: list[str]) -> tuple[str, list[int]]:
    """Pages joined by a blank line; the offset each page starts at."""
    parts: list[str] = []
    starts: list[int] = []
    pos = 0
    for page in pages:
        if parts and page:
            parts.append("\n\n")
            pos += 2
        starts.append(pos)
        parts.append(page)
        pos += len(page)
    return "".join(parts), starts


def _outline(reader: PdfReader, redact: Callable[[str], str], page_count: int) -> list[_OutlineEntry]:
    """Outline items in reading order with their heading paths; [] when there is none or it is unreadable."""
    entries: list[_OutlineEntry] = []

    def walk(items: list[object], parents: tuple[str, ...]) -> None:
        last: tuple[str, ...] | None = None
        for item in items:
            if isinstance(item, list):
                walk(item, last if last is not None else parents)
            elif isinstance(item, Destination):
                title = " ".join(redact(str(item.title or "")).split())
                try:
                    page = reader.get_destination_page_number(item)
                except Exception:  # a destination pypdf cannot resolve (named, remote): no section for it
                    page = None
                if not title or page is None or not 0 <= page < page_count:
                    last = None
                    continue
                last = (*parents, title)
                entries.append(_OutlineEntry(page, last))

    try:
        walk(list(reader.outline), ())
    except Exception:  # a broken outline is no reason to lose the text
        return []
    return entries


def _outline_sections(text: str, starts: list[int], entries: list[_OutlineEntry]) -> tuple[Section, ...]:
    """Cut ``text`` at each outline entry (at its title line when the page has one) and type the pieces."""
    ends = [*starts[1:], len(text)]
    cuts: list[tuple[int, int, tuple[str, ...]]] = []  # (section start, content start, heading path)
    cursor = 0
    for entry in entries:
        page_start, page_end = starts[entry.page], ends[entry.page]
        begin = max(cursor, page_start)
        found = _title_line(text, begin, page_end, entry.path[-1]) if begin < page_end else None
        start, content = found if found else (begin, begin)
        cuts.append((start, content, entry.path))
        cursor = content
    sections: list[Section] = []
    boundaries = [(0, 0, ())] + cuts
    for i, (_, content, path) in enumerate(boundaries):
        end = boundaries[i + 1][0] if i + 1 < len(boundaries) else len(text)
        blocks = _blocks(text, content, end)
        if blocks:
            sections.append(Section(path, tuple(blocks)))
    return tuple(sections)


def _blocks(text: str, start: int, end: int) -> list[Block]:
    return plaintext.blocks_between(text, start, end) if start < end else []


def _title_line(text: str, start: int, end: int, title: str) -> tuple[int, int] | None:
    """(line start, end of the heading line(s)) of the first line in ``text[start:end]`` that says ``title``."""
    want = _title_key(title)
    if not want:
        return None
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text[start:end])]
    for i, (a, b) in enumerate(lines):
        line = text[start + a : start + b]
        if _title_key(line) == want:
            return start + a, start + b
        if i + 1 < len(lines) and want.startswith(_title_key(line) or "\0"):
            a2, b2 = lines[i + 1]
            if _title_key(line + " " + text[start + a2 : start + b2]) == want:  # a title wrapped over two lines
                return start + a, start + b2
    return None


def _title_key(line: str) -> str:
    """A title compared without numbering, case and punctuation: "2.1 Data Flow" matches "Data flow"."""
    line = " ".join(line.split())
    return _NON_WORD_RE.sub(" ", _NUMBERING_RE.sub("", line).casefold()).strip()


def _metadata(reader: PdfReader, redact: Callable[[str], str]) -> dict[str, str]:
    """The info dictionary's text entries ("/Author" -> "author"), redacted; {} when unreadable."""
    try:
        info: Mapping[Any, Any] = reader.metadata or {}
        items = [(str(key).lstrip("/").lower(), value.get_object()) for key, value in info.items()]
    except Exception:
        return {}
    out: dict[str, str] = {}
    for key, value in items:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            cleaned = " ".join(redact(str(value)).split())
            if cleaned:
                out[key] = cleaned
    return out
