"""Structure-aware chunking of documents for retrieval and training.

Chunks that respect headings and paragraphs retrieve better than fixed-size
windows, and every chunk must fit the embedding model's context or its tail is
silently truncated.  So documents are split by headings first, then packed
paragraph by paragraph up to ``max_tokens`` as counted by the real tokenizer,
and every chunk's final count is verified.

Chunk texts are exact slices of the section bodies (paragraph breaks and code
indentation survive); only whitespace between chunks is dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal, Protocol

DocFormat = Literal["rst", "markdown", "html", "text"]


def detect_format(path: str) -> DocFormat:
    """Pick the splitter from the file name, since sources mix formats."""
    name = Path(path).name.lower()
    if name.endswith((".rst", ".rst.txt")):
        return "rst"
    if name.endswith((".md", ".markdown")):
        return "markdown"
    if name.endswith((".html", ".htm")):
        return "html"
    return "text"


@dataclass(frozen=True)
class Section:
    """A body of text with the titles that enclose it (outermost first)."""

    heading_path: tuple[str, ...]
    text: str


# ----------------------------------------------------------------------------- reST

_RST_ADORNMENT = r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"""
_ADORNMENT_LINE_RE = re.compile("([" + re.escape(_RST_ADORNMENT) + r"])\1+[ \t]*")


def _adornment_char(line: str) -> str | None:
    return line[0] if _ADORNMENT_LINE_RE.fullmatch(line) else None


def _split_rst(text: str) -> list[Section]:
    """reST titles: levels follow the order in which adornment styles first appear."""
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    stack: list[str] = []
    sections: list[Section] = []
    body: list[str] = []

    def flush() -> None:
        sections.append(Section(tuple(stack), "\n".join(body)))
        body.clear()

    def open_title(style: tuple[str, bool], title: str) -> None:
        flush()
        if style not in styles:
            styles.append(style)
        level = styles.index(style)
        del stack[level:]
        stack.append(title)

    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        prev_blank = i == 0 or not lines[i - 1].strip()
        over = _adornment_char(line)
        # Overline + title + matching underline.
        if over and prev_blank and i + 2 < n:
            title = lines[i + 1].strip()
            under = lines[i + 2].rstrip()
            if title and _adornment_char(title) is None and under == line.rstrip() and len(under) >= len(title):
                open_title((over, True), title)
                i += 3
                continue
        # Title + underline (title starts in column 0).
        if prev_blank and line.strip() and not line[0].isspace() and i + 1 < n and _adornment_char(line) is None:
            under = lines[i + 1].rstrip()
            ch = _adornment_char(under)
            if ch and len(under) >= len(line.rstrip()):
                open_title((ch, False), line.strip())
                i += 2
                continue
        body.append(line)
        i += 1
    flush()
    return sections


# ----------------------------------------------------------------------------- Markdown

_ATX_RE = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")


def _split_markdown(text: str) -> list[Section]:
    """ATX headings; '#' lines inside fenced code are code, not headings."""
    stack: list[str] = []
    sections: list[Section] = []
    body: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        fm = _FENCE_RE.match(line)
        if fence is not None:
            if (
                fm
                and fm.group(1)[0] == fence[0]
                and len(fm.group(1)) >= len(fence)
                and not line.strip(fence[0] + " \t")
            ):
                fence = None
            body.append(line)
            continue
        if fm:
            fence = fm.group(1)
            body.append(line)
            continue
        hm = _ATX_RE.fullmatch(line)
        if hm:
            sections.append(Section(tuple(stack), "\n".join(body)))
            body.clear()
            level = len(hm.group(1))
            del stack[level - 1 :]
            stack.append((hm.group(2) or "").strip())
            continue
        body.append(line)
    sections.append(Section(tuple(stack), "\n".join(body)))
    return sections


# ----------------------------------------------------------------------------- HTML

_HTML_SKIP = frozenset({"script", "style", "head", "template", "noscript", "svg"})
_HTML_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_HTML_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "nav",
        "aside",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "thead",
        "tbody",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "hr",
        "br",
        "form",
        "fieldset",
        "details",
        "summary",
        "body",
        "html",
    }
)
_WS_RE = re.compile(r"\s+")


class _HTMLSections(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self._stack: list[str] = []
        self._body: list[str] = []
        self._skip = 0
        self._pre = 0
        self._heading: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_SKIP:
            self._skip += 1
        elif tag in _HTML_HEADINGS and not self._skip:
            self._flush()
            self._heading = (_HTML_HEADINGS[tag], [])
        elif tag in _HTML_BLOCKS:
            self._body.append("\n" if tag in ("br", "li", "tr", "dt", "dd") else "\n\n")
            if tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HTML_HEADINGS and self._heading is not None:
            level, parts = self._heading
            self._heading = None
            del self._stack[level - 1 :]
            self._stack.append(_WS_RE.sub(" ", "".join(parts)).strip())
        elif tag in _HTML_BLOCKS and tag != "br":
            self._body.append("\n\n")
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._heading is not None:
            self._heading[1].append(data)
        elif self._pre:
            self._body.append(data)
        else:
            self._body.append(_WS_RE.sub(" ", data))

    def _flush(self) -> None:
        text = "".join(self._body)
        text = re.sub(r"[ \t]*\n[ \t]*(?=\n)", "\n", text)  # blank-only lines become empty
        self.sections.append(Section(tuple(self._stack), re.sub(r"\n{3,}", "\n\n", text).strip("\n")))
        self._body.clear()

    def close(self) -> None:
        super().close()
        self._flush()


def _split_html(text: str) -> list[Section]:
    parser = _HTMLSections()
    parser.feed(text)
    parser.close()
    return parser.sections


def split_sections(text: str, fmt: DocFormat) -> list[Section]:
    """Split a document at its headings; whitespace-only sections are dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    splitters: dict[str, Callable[[str], list[Section]]] = {
        "rst": _split_rst,
        "markdown": _split_markdown,
        "html": _split_html,
        "text": lambda t: [Section((), t)],
    }
    if fmt not in splitters:
        raise ValueError(f"unknown document format {fmt!r}")
    return [s for s in splitters[fmt](text) if s.text.strip()]


# ----------------------------------------------------------------------------- token counting


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...


class HFTokenCounter:
    """Counts with the embedding model's own tokenizer, so limits are exact."""

    def __init__(self, tokenizer: object, batch_size: int = 4096) -> None:
        from tokenizers import Tokenizer

        if not isinstance(tokenizer, Tokenizer):
            raise TypeError("HFTokenCounter needs a tokenizers.Tokenizer")
        tokenizer.no_truncation()  # a truncating tokenizer would under-count long texts
        tokenizer.no_padding()
        self._tok = tokenizer
        self.batch_size = batch_size

    @classmethod
    def from_file(cls, path: str | Path) -> HFTokenCounter:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        counts: list[int] = []
        for i in range(0, len(texts), self.batch_size):  # bounded batches bound memory
            encodings = self._tok.encode_batch_fast(list(texts[i : i + self.batch_size]), add_special_tokens=False)
            counts.extend(len(e.ids) for e in encodings)
        return counts


class WhitespaceTokenCounter:
    """Whitespace word count: a dependency-free stand-in for tests and fallbacks."""

    def count(self, text: str) -> int:
        return len(text.split())

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def _count_all(counter: TokenCounter, texts: list[str]) -> list[int]:
    batch = getattr(counter, "count_batch", None)
    if callable(batch):
        return list(batch(texts))
    return [counter.count(t) for t in texts]


# ----------------------------------------------------------------------------- chunking


@dataclass(frozen=True)
class Chunk:
    """One retrievable unit; ``section`` is the heading path joined by ' > '."""

    chunk_id: str
    position: int
    section: str
    text: str
    n_tokens: int


def chunk_id_for(text: str) -> str:
    """Content-derived id, so re-chunking unchanged text yields the same ids (idempotent upserts)."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]


_PARAGRAPH_SEP_RE = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*\s+")
_LINE_SEP_RE = re.compile(r"\s*\n\s*")
_WORD_RE = re.compile(r"\S+")

# Split levels, coarsest first: paragraph, sentence, line, word, characters.
_SENTENCE, _LINE, _WORD, _CHAR = 1, 2, 3, 4


@dataclass
class _Piece:
    sec: int
    start: int
    end: int
    level: int
    para: int  # index of the paragraph it came from (paragraphs never share an index)
    n: int = 0


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink a span to its non-whitespace extent."""
    seg = text[start:end]
    stripped = seg.lstrip()
    if not stripped:
        return None
    s = start + len(seg) - len(stripped)
    return s, s + len(stripped.rstrip())


def _spans_between(text: str, start: int, end: int, sep: re.Pattern[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for m in sep.finditer(text, start, end):
        t = _trimmed(text, pos, m.end() if sep is _SENTENCE_END_RE else m.start())
        if t:
            spans.append(t)
        pos = m.end()
    t = _trimmed(text, pos, end)
    if t:
        spans.append(t)
    return spans


def _sub_spans(text: str, start: int, end: int, level: int) -> list[tuple[int, int]]:
    if level == _SENTENCE:
        return _spans_between(text, start, end, _SENTENCE_END_RE)
    if level == _LINE:
        return _spans_between(text, start, end, _LINE_SEP_RE)
    if level == _WORD:
        return [(m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]
    mid = (start + end) // 2  # characters: halve until it fits
    return [(start, mid), (mid, end)]


def _atomize(texts: list[str], counter: TokenCounter, max_tokens: int) -> list[_Piece]:
    """Paragraph pieces, split further only where one piece alone exceeds max_tokens."""
    pieces: list[_Piece] = []
    for sec, text in enumerate(texts):
        for s, e in _spans_between(text, 0, len(text), _PARAGRAPH_SEP_RE):
            pieces.append(_Piece(sec, s, e, 0, len(pieces)))
    for p, n in zip(pieces, _count_all(counter, [texts[p.sec][p.start : p.end] for p in pieces]), strict=True):
        p.n = n
    while any(p.n > max_tokens for p in pieces):
        refined: list[_Piece] = []
        fresh: list[_Piece] = []
        for p in pieces:
            if p.n <= max_tokens:
                refined.append(p)
                continue
            if p.level == _CHAR and p.end - p.start <= 1:
                raise ValueError(f"max_tokens={max_tokens} is smaller than a single character's token count")
            level = min(p.level + 1, _CHAR)
            subs = _sub_spans(texts[p.sec], p.start, p.end, level)
            if len(subs) == 1 and subs[0] == (p.start, p.end):
                refined.append(_Piece(p.sec, p.start, p.end, level, p.para, p.n))  # same text, same count
                continue
            for s, e in subs:
                q = _Piece(p.sec, s, e, level, p.para)
                refined.append(q)
                fresh.append(q)
        for q, n in zip(fresh, _count_all(counter, [texts[q.sec][q.start : q.end] for q in fresh]), strict=True):
            q.n = n
        pieces = refined
    return pieces


def _pack(pieces: list[_Piece], max_tokens: int) -> list[list[_Piece]]:
    """Greedy packing by summed piece counts; an oversized paragraph starts a fresh chunk."""
    groups: list[list[_Piece]] = []
    cur: list[_Piece] = []
    total = 0
    for p in pieces:
        starts_split_para = p.level > 0 and (not cur or cur[-1].para != p.para)
        if cur and (p.sec != cur[-1].sec or total + p.n > max_tokens or starts_split_para):
            groups.append(cur)
            cur, total = [], 0
        cur.append(p)
        total += p.n
    if cur:
        groups.append(cur)
    return groups


def _enforce_max(
    groups: list[list[_Piece]], texts: list[str], counter: TokenCounter, max_tokens: int
) -> list[tuple[list[_Piece], int]]:
    """Count the real chunk texts; halve any group the tokenizer says is still too long."""
    pending = groups
    done: dict[int, tuple[list[_Piece], int]] = {}
    order: list[list[_Piece]] = []
    while pending:
        counts = _count_all(counter, [texts[g[0].sec][g[0].start : g[-1].end] for g in pending])
        nxt: list[list[_Piece]] = []
        for g, n in zip(pending, counts, strict=True):
            if n <= max_tokens or len(g) == 1:  # a single piece was already counted <= max
                done[id(g)] = (g, n)
                order.append(g)
            else:
                half = len(g) // 2
                nxt.extend([g[:half], g[half:]])
        pending = nxt
    order.sort(key=lambda g: (g[0].sec, g[0].start))
    return [done[id(g)] for g in order]


def _merge_small(
    chunks: list[tuple[int, int, int, int]], texts: list[str], counter: TokenCounter, max_tokens: int, min_tokens: int
) -> list[tuple[int, int, int, int]]:
    """Merge chunks under min_tokens into a neighbour of the same section when the result fits.

    Small chunks join the previous chunk; a small first chunk of a section joins
    the next one instead.  A small chunk that fits nowhere is kept as is: text
    is never dropped for being short.
    """
    out: list[tuple[int, int, int, int]] = []
    for sec, start, end, n in chunks:
        if n < min_tokens and out and out[-1][0] == sec:
            pstart = out[-1][1]
            merged = counter.count(texts[sec][pstart:end])
            if merged <= max_tokens:
                out[-1] = (sec, pstart, end, merged)
                continue
        if out and out[-1][3] < min_tokens and out[-1][0] == sec and (len(out) == 1 or out[-2][0] != sec):
            pstart = out[-1][1]
            merged = counter.count(texts[sec][pstart:end])
            if merged <= max_tokens:
                out[-1] = (sec, pstart, end, merged)
                continue
        out.append((sec, start, end, n))
    return out


def chunk_document(
    text: str, fmt: DocFormat, counter: TokenCounter, max_tokens: int, min_tokens: int = 0
) -> list[Chunk]:
    """Chunk one document: headings, then paragraphs, then sentences/lines/words/characters.

    Every chunk has ``n_tokens <= max_tokens`` by ``counter``'s count of the
    final chunk text.  Paragraph counts are summed to pack (subword counts are
    nearly additive across whitespace) and the packed chunks are then counted
    once more in a batch; the rare chunk that still exceeds the limit is split.
    """
    return chunk_documents([(text, fmt)], counter, max_tokens, min_tokens)[0]


def chunk_documents(
    docs: Sequence[tuple[str, DocFormat]], counter: TokenCounter, max_tokens: int, min_tokens: int = 0
) -> list[list[Chunk]]:
    """``chunk_document`` for many documents at once: one tokenizer batch per pass
    instead of one per document, which keeps every CPU core busy."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be >= 1")
    if min_tokens > max_tokens:
        raise ValueError("min_tokens must not exceed max_tokens")
    owners: list[int] = []
    sections: list[Section] = []
    for d, (text, fmt) in enumerate(docs):
        for section in split_sections(text, fmt):
            owners.append(d)
            sections.append(section)
    texts = [s.text for s in sections]
    pieces = _atomize(texts, counter, max_tokens)
    counted = _enforce_max(_pack(pieces, max_tokens), texts, counter, max_tokens)
    spans = [(g[0].sec, g[0].start, g[-1].end, n) for g, n in counted]
    if min_tokens > 0:
        spans = _merge_small(spans, texts, counter, max_tokens, min_tokens)
    out: list[list[Chunk]] = [[] for _ in docs]
    for sec, start, end, n in spans:
        body = texts[sec][start:end]
        chunks = out[owners[sec]]
        chunks.append(
            Chunk(
                chunk_id=chunk_id_for(body),
                position=len(chunks),
                section=" > ".join(sections[sec].heading_path),
                text=body,
                n_tokens=n,
            )
        )
    return out
