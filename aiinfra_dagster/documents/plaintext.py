"""Plain text -> ``Document``: headings, paragraphs, lists and code found from the layout alone.

No library does this. Markup parsers (markdown-it-py, docutils) read plain text by their own rules,
which misread it: docutils needs a blank line and exact underline lengths and turns every indented
paragraph into a block quote or literal block; CommonMark makes any 4-space indented paragraph (all of a
man page's body) a code block and knows neither ALL-CAPS nor numbered headings. ``textwrap`` and
man renderers (groff, mandoc) only go the other way. So this module is a few ordered rules over lines,
tuned on the plain text people actually store: man pages rendered to text, RFC-style documents and
READMEs.

Rules (``text`` is never modified; blocks are slices of it):
- Paragraphs are runs of non-blank lines; a form feed is a page break, so it also ends one. Indentation
  does not make prose code.
- Headings are the first line of a paragraph (so preceded by a blank line or the start), at most 70
  characters, not ending in ``. , ;``, with a letter and none of the characters code is made of:
  underlined (``= - ~ * # ^ + _`` at least as long; with an overline too), level = order in which
  the underline styles first appear; numbered (``1.``, ``2.3``, ``2.3.1.``), level = depth, when
  Title-Cased, deeper than one number or followed by more indented text; ALL CAPS, level 1 at column
  0 and 2 when indented (man ``SH``/``SS``), when alone or followed by more indented text; a
  capitalised short line at indent < 4 followed by more indented text (man ``SS`` sub-headings,
  RFC ``Abstract``), level 1 at column 0, else 2. A heading at indent >= 4 is never guessed: man pages
  put option and errno tags there (``O_APPEND`` over its explanation).
- Block kinds: ``code`` when more than half of the lines look like code (preprocessor lines, ``$ ``
  and ``>>> `` prompts, Python ``def``/``import``, statements ending in ``);`` ``{`` ``}``,
  assignments, dense symbols; lines shaped like sentences never count); consecutive code paragraphs
  are one block, ``plain`` the dedented source. ``list`` when the first line has a marker (``- * + •``,
  RFC ``o``, ``1.``, ``1)``, ``a)``); consecutive list paragraphs are one list, an item's wrapped lines
  are joined. ``quote`` for ``>`` lines, ``table`` for ``| a | b |`` rows (``+---+`` borders dropped).
  Everything else is a ``paragraph``: lines joined by single spaces, words hyphenated at a line end
  ("exam-" + "ple") rejoined. Lines of only ``= - ~ *`` (rules) are no block.
- A man-page tagged paragraph (``-f, --force`` or ``EACCES`` over its more indented explanation) is a
  ``paragraph`` whose ``plain`` keeps the tag on its own first line: it reads as a definition, and
  calling each option a one-item list would add nothing.
- Running headers and footers (``OPEN(2)   Linux Programmer's Manual   OPEN(2)``, ``Postel   [Page 3]``)
  are lines with wide gaps that stand alone or touch a page break: no heading, no block.
- ``title``: a man page's ``NAME`` line ("open, openat - open and possibly create a file"), else the first
  line of a centred paragraph before the first heading (an RFC's title), else the first heading, else "".

Longer than 350 lines: the rules above are one ordered pass over the same lines (a heading rule looks
at the code and list rules of the next paragraph, the block rules at the heading decisions), so they
stay in one module where their order can be read top to bottom.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from aiinfra_dagster.documents.model import Block, BlockKind, Document, Section

MAX_HEADING_CHARS = 70
_BREAK_RE = re.compile(r"[\n\f]")
_RULE_RE = re.compile(r"^([=\-~*#^+_])\1{2,}$")
_NUMBERED_RE = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)(\.?)\s+(\S.*)$")
_NOT_HEADING_CHARS = set("{}<>;=$|\\`@[]")
_FUNCTION_WORDS = {"a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "that", "is", "by", "as"}
_LIST_MARKER_RE = re.compile(r"^(?:[-*+•‣◦▪–]|o(?=\s{2})|\d{1,3}[.)]|[a-zA-Z]\))\s+(?=\S)")
_GAP_RE = re.compile(r"\s{4,}")
_GRID_BORDER_RE = re.compile(r"^\+[-=+:]+\+$|^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")
_STRONG_CODE_RE = re.compile(
    r"^(?:#\s*(?:include|define|undef|ifn?def|if|elif|else|endif|pragma)\b|#!/|\$ |>>> |/\*|\*/|//"
    r"|(?:async\s+)?def\s+\w+\s*\(|class\s+\w+.*:$|import\s+[\w.]+(?:\s+as\s+\w+)?$|from\s+[\w.]+\s+import\s)"
)
_CALL_STATEMENT_RE = re.compile(r"\w\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*;$")
_BLOCK_OPEN_CLOSE_RE = re.compile(r"(?:[{]|^[}\])]+[;,)]*)$")
_ASSIGNMENT_RE = re.compile(
    r"^(?:export\s+|let\s+|var\s+|const\s+)?[A-Za-z_][\w.\[\]'\"]*\s*(?:[-+*/%|&^]|<<|>>)?=\s*[^=\s]"
)
_KEYWORD_COLON_RE = re.compile(r"^(?:if|elif|else|for|while|try|except|finally|with)\b.*:$")
_OPEN_CALL_RE = re.compile(r"\w\([^)]*,$")
_STATEMENT_RE = re.compile(r"^(?:return|raise|yield|break|continue|pass|throw|await)\b(?!.*[.]$)")
_SINGLE_CALL_RE = re.compile(r"^[A-Za-z_][\w.]*\([^()]*\)$")
_MAN_REFERENCE_RE = re.compile(r"^[\w.-]+\(\d\w*\)$")
_CODE_SYMBOLS = set("{}[]()<>=;$&|\\^~*")
_PROSE_WORD_RE = re.compile(r"^[(\"'“]?[A-Za-z][a-z'’-]*[,.;:!?)\"”]*$")
_HYPHENS = ("-", "\u2010", "\u00ad")


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    raw: str
    page_break_before: bool

    @property
    def text(self) -> str:
        return self.raw.strip()

    @property
    def indent(self) -> int:
        expanded = self.raw.expandtabs(8)
        return len(expanded) - len(expanded.lstrip())

    @property
    def source_start(self) -> int:
        return self.start + len(self.raw) - len(self.raw.lstrip())

    @property
    def source_end(self) -> int:
        return self.start + len(self.raw.rstrip())


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass
class _Piece:
    """A paragraph after its heading (if any) was taken off: the lines that become a block."""

    lines: list[_Line]
    kind: BlockKind | None
    page_break_before: bool


def parse_text(text: str) -> Document:
    """Parse plain ``text`` (unmodified: block offsets point into it)."""
    sections, title = text_structure(text)
    return Document("text", text, title, sections)


def text_structure(text: str, *, drop_running_lines: bool = True) -> tuple[tuple[Section, ...], str]:
    """Sections and title of ``text`` by the rules above (the PDF parser reuses them when a PDF has no outline)."""
    paragraphs = _paragraphs(_lines(text, 0, len(text)))
    if drop_running_lines:
        paragraphs = _without_running_lines(paragraphs)
    builder = _SectionBuilder()
    underline_styles: list[tuple[str, bool]] = []
    pieces: list[_Piece] = []
    in_name = False
    centred_title = ""
    title = ""
    first_heading = ""
    for i, para in enumerate(paragraphs):
        following = paragraphs[i + 1][0] if i + 1 < len(paragraphs) else None
        heading, rest = _heading(para, following, underline_styles)
        if heading is None and not first_heading and not centred_title and _centred_title(para):
            centred_title = para[0].text
        if heading is not None:
            builder.blocks(_blocks(text, pieces))
            pieces = []
            builder.heading(heading.level, heading.text)
            first_heading = first_heading or heading.text
            in_name = heading.text == "NAME" and heading.level == 1
        if rest:
            pieces.append(_Piece(rest, _kind(rest), rest[0].page_break_before))
            if in_name and not title:
                title = _paragraph_plain(rest).split("\n")[0]
    builder.blocks(_blocks(text, pieces))
    return builder.sections(), title or centred_title or first_heading


def blocks_between(text: str, start: int, end: int) -> list[Block]:
    """Typed blocks of ``text[start:end]`` with no heading detection (the PDF parser's outline gives those)."""
    pieces = [_Piece(p, _kind(p), p[0].page_break_before) for p in _paragraphs(_lines(text, start, end))]
    return _blocks(text, pieces)


def join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one line: single spaces, words hyphenated at a line end rejoined."""
    out = ""
    for line in lines:
        line = " ".join(line.split())
        if not line:
            continue
        if out.endswith("\u00ad"):
            out = out[:-1] + line
        elif out.endswith(_HYPHENS) and len(out) > 1 and out[-2].isalpha() and line[0].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def _lines(text: str, start: int, end: int) -> list[_Line]:
    """Lines of ``text[start:end]``; a form feed ends a line and marks the next non-blank one as a new page."""
    lines: list[_Line] = []
    pos = start
    page_break = False
    while True:
        match = _BREAK_RE.search(text, pos, end)
        line_end = match.start() if match else end
        raw = text[pos:line_end]
        if raw.strip():
            lines.append(_Line(pos, line_end, raw, page_break))
            page_break = False
        else:
            lines.append(_Line(pos, line_end, "", False))
        if match is None:
            return lines
        page_break = page_break or match.group() == "\f"
        pos = match.end()


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    paragraphs: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if not line.raw or line.page_break_before:
            if current:
                paragraphs.append(current)
            current = [line] if line.raw else []
        else:
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def _is_running_line(line: str) -> bool:
    """A page header/footer: three parts spread over the line, or two with a page number or date."""
    parts = _GAP_RE.split(line.strip())
    return len(parts) >= 3 or (len(parts) == 2 and any(ch.isdigit() for ch in line))


def _without_running_lines(paragraphs: list[list[_Line]]) -> list[list[_Line]]:
    out: list[list[_Line]] = []
    for i, para in enumerate(paragraphs):
        lines = list(para)
        alone = len(lines) == 1
        next_page = i + 1 < len(paragraphs) and paragraphs[i + 1][0].page_break_before
        if lines and (alone or lines[0].page_break_before) and _is_running_line(lines[0].raw):
            lines.pop(0)
        if lines and (alone or next_page) and _is_running_line(lines[-1].raw):
            lines.pop()
        if lines:
            if para[0].page_break_before and not lines[0].page_break_before:
                lines[0] = _Line(lines[0].start, lines[0].end, lines[0].raw, True)
            out.append(lines)
    return out


def _heading(
    para: list[_Line], following: _Line | None, styles: list[tuple[str, bool]]
) -> tuple[_Heading | None, list[_Line]]:
    """The heading that opens ``para`` (if any) and the lines left for a block."""
    first = para[0]
    underlined = _underlined(para, styles)
    if underlined is not None:
        return underlined
    line = first.text
    if first.indent >= 4 or not _heading_shaped(line):
        return None, para
    alone = len(para) == 1
    indented_after = (para[1].indent if len(para) > 1 else following.indent if following else -1) > first.indent
    if alone and following is not None and following.page_break_before:
        indented_after = False  # the next page is no body of this line
    if not (alone or indented_after):
        return None, para
    numbered = _NUMBERED_RE.match(line)
    if numbered:
        depth = numbered.group(1).count(".") + 1
        words = numbered.group(3)
        if words[0].isupper() and not words.endswith(":") and (depth > 1 or indented_after or _title_cased(words)):
            return _Heading(depth, " ".join(line.split())), para[1:]
        return None, para
    level = 1 if first.indent == 0 else 2
    letters = [ch for ch in line if ch.isalpha()]
    if len(letters) >= 2 and all(ch.isupper() for ch in letters):
        return _Heading(level, " ".join(line.split())), para[1:]
    last_word = line.split()[-1].lower()
    if (
        indented_after
        and line[0].isupper()
        and not line.endswith(":")
        and len(line.split()) <= 8
        and last_word not in _FUNCTION_WORDS
    ):
        return _Heading(level, " ".join(line.split())), para[1:]
    return None, para


def _underlined(para: list[_Line], styles: list[tuple[str, bool]]) -> tuple[_Heading, list[_Line]] | None:
    """``Title`` over a rule at least as long (optionally also under one): the style sets the level."""
    overlined = len(para) >= 3 and bool(_RULE_RE.match(para[0].text)) and para[0].indent == 0
    title_index = 1 if overlined else 0
    if len(para) < title_index + 2:
        return None
    title, under = para[title_index], para[title_index + 1].text
    rule = _RULE_RE.match(under)
    if rule is None or title.indent >= 4 or not _heading_shaped(title.text) or len(under) < len(title.text):
        return None
    if overlined and para[0].text[0] != under[0]:
        return None
    style = (under[0], overlined)
    if style not in styles:
        styles.append(style)
    return _Heading(styles.index(style) + 1, " ".join(title.text.split())), para[title_index + 2 :]


def _heading_shaped(line: str) -> bool:
    """Short, with a letter, no sentence end, no code characters, no list marker (a number is one, though)."""
    return (
        0 < len(line) <= MAX_HEADING_CHARS
        and any(ch.isalpha() for ch in line)
        and not line.endswith((".", ",", ";"))
        and not _NOT_HEADING_CHARS.intersection(line)
        and (not _LIST_MARKER_RE.match(line) or bool(_NUMBERED_RE.match(line)))
        and not _is_running_line(line)
    )


def _centred_title(para: list[_Line]) -> bool:
    """Lines all indented far (centred) before any heading: an RFC's or a licence's title is the first."""
    return all(line.indent >= 10 for line in para) and _heading_shaped(para[0].text)


def _title_cased(words: str) -> bool:
    return all(word[0].isupper() for word in words.split() if len(word) >= 4 and word[0].isalpha())


def _prose_shaped(line: str) -> bool:
    tokens = line.split()
    words = sum(1 for token in tokens if _PROSE_WORD_RE.match(token))
    return words >= 4 and words >= 0.7 * len(tokens)


def _code_line(line: str) -> bool:
    """Conservative: only shapes prose does not take."""
    if _STRONG_CODE_RE.match(line) or _CALL_STATEMENT_RE.search(line) or _BLOCK_OPEN_CLOSE_RE.search(line):
        return True
    if _prose_shaped(line) or _MAN_REFERENCE_RE.match(line):
        return False
    if (line.endswith(";") and len(line.split()) <= 3) or line.endswith(");") or _OPEN_CALL_RE.search(line):
        return True
    if any(rule.match(line) for rule in (_ASSIGNMENT_RE, _KEYWORD_COLON_RE, _STATEMENT_RE, _SINGLE_CALL_RE)):
        return True
    visible = [ch for ch in line if not ch.isspace()]
    return len(visible) >= 4 and sum(ch in _CODE_SYMBOLS for ch in visible) >= 0.25 * len(visible)


def _kind(lines: list[_Line]) -> BlockKind | None:
    texts = [line.text for line in lines]
    if all(_RULE_RE.match(t) for t in texts):
        return None
    if all(t.startswith(">") for t in texts):
        return "quote"
    rows = [t for t in texts if not _GRID_BORDER_RE.match(t)]
    if len(rows) >= 2 and all(t.startswith("|") and t.endswith("|") and len(t) > 2 for t in rows):
        return "table"
    code_lines = sum(_code_line(t) for t in texts) * 2
    if code_lines > len(texts) or (code_lines == len(texts) and any(_STRONG_CODE_RE.match(t) for t in texts)):
        return "code"
    if _LIST_MARKER_RE.match(texts[0]):
        return "list"
    return "paragraph"


def _blocks(text: str, pieces: list[_Piece]) -> list[Block]:
    """Pieces -> blocks; consecutive code (or list) pieces on one page are one block."""
    blocks: list[Block] = []
    groups: list[list[_Piece]] = []
    for piece in pieces:
        if piece.kind is None:
            groups.append([])  # a rule separates what is around it
            continue
        last = groups[-1] if groups else []
        if (
            last
            and piece.kind in ("code", "list")
            and last[-1].kind == piece.kind
            and not piece.page_break_before
            and (piece.kind == "code" or _marker_type(piece.lines[0].text) == _marker_type(last[-1].lines[0].text))
        ):
            last.append(piece)
        else:
            groups.append([piece])
    for group in groups:
        if not group:
            continue
        kind = group[0].kind
        lines = [line for piece in group for line in piece.lines]
        assert kind is not None
        plain = _plain(text, kind, [piece.lines for piece in group])
        if plain.strip():
            blocks.append(Block(kind, lines[0].source_start, lines[-1].source_end, plain))
    return blocks


def _marker_type(line: str) -> str:
    """ "1" for numbered or lettered markers, else the bullet itself: a new type starts a new list."""
    marker = _LIST_MARKER_RE.match(line)
    token = marker.group().strip() if marker else ""
    return "1" if token[:1].isalnum() and token != "o" else token


def _plain(text: str, kind: BlockKind, paragraphs: list[list[_Line]]) -> str:
    lines = [line for para in paragraphs for line in para]
    if kind == "code":
        source = text[lines[0].start : lines[-1].end]
        dedented = textwrap.dedent(source.replace("\f", "").expandtabs(8))  # tab stops as a terminal shows them
        return "\n".join(line.rstrip() for line in dedented.split("\n")).strip("\n")
    if kind == "list":
        return "\n".join("- " + item for para in paragraphs for item in _list_items(para))
    if kind == "quote":
        return join_lines([line.text.lstrip(">").strip() for line in lines])
    if kind == "table":
        rows = [line.text for line in lines if not _GRID_BORDER_RE.match(line.text)]
        return "\n".join(" | ".join(cell.strip() for cell in row.strip("|").split("|")) for row in rows)
    return _paragraph_plain(lines)


def _paragraph_plain(lines: list[_Line]) -> str:
    first = lines[0]
    if len(lines) > 1 and len(first.text) <= 40 and min(line.indent for line in lines[1:]) > first.indent:
        return first.text + "\n" + join_lines([line.text for line in lines[1:]])  # tag over its explanation
    return join_lines([line.text for line in lines])


def _list_items(lines: list[_Line]) -> list[str]:
    items: list[list[str]] = []
    for line in lines:
        marker = _LIST_MARKER_RE.match(line.text)
        if marker or not items:
            items.append([line.text[marker.end() :] if marker else line.text])
        else:
            items[-1].append(line.text)
    return [joined for joined in (join_lines(item) for item in items) if joined]


class _SectionBuilder:
    """Blocks grouped under the heading path in force where they appear."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []
        self._sections: list[Section] = []

    def heading(self, level: int, heading: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, heading))

    def blocks(self, blocks: list[Block]) -> None:
        if blocks:
            self._sections.append(Section(tuple(h for _, h in self._stack), tuple(blocks)))

    def sections(self) -> tuple[Section, ...]:
        return tuple(self._sections)
