"""Reading chunks as a person does: prose paragraphs, sentences, lists and tables, from the document model.

Chunks carry their typed blocks (``data.chunking.ChunkBlock``: paragraph, code, list,
table, api, quote, each with its plain text), so questions and answers come from what a
reader sees, whatever the source format, and nothing here parses markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiinfra_dagster.data.chunking import ChunkBlock

PROSE_KINDS = frozenset({"paragraph", "quote"})
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[`])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "Mr.", "Dr.", "No.")


@dataclass(frozen=True)
class ChunkInput:
    """What a generator sees of a chunk: its blocks, where it sits, and which pack applies."""

    chunk_id: str
    section: str
    text: str
    blocks: tuple[ChunkBlock, ...]
    title: str = ""
    python_docs: bool = False

    @property
    def headings(self) -> list[str]:
        return [h for h in self.section.split(" > ") if h.strip()] if self.section else []

    def prose(self) -> list[ChunkBlock]:
        """Paragraphs and quotes that read as sentences (not signatures, output or stray code)."""
        return [b for b in self.blocks if b.kind in PROSE_KINDS and looks_like_prose(b.plain)]

    def plain(self) -> str:
        """The chunk as a reader sees it (code verbatim), for model prompts."""
        return "\n\n".join(b.plain for b in self.blocks if b.plain.strip()) or self.text


def main_prose(prose: Sequence[ChunkBlock]) -> list[ChunkBlock]:
    """The prose an answer starts from: paragraphs outside API entries, before notes and quotes (falling back)."""
    return (
        [p for p in prose if p.api is None and p.kind == "paragraph"]
        or [p for p in prose if p.api is None]
        or [p for p in prose if p.kind == "paragraph"]
        or list(prose)
    )


def looks_like_prose(text: str) -> bool:
    """Mostly letters, and a sentence (punctuated, or long): code, output and signatures fail."""
    words = re.findall(r"[A-Za-z]{2,}", text)
    if len(words) < 4 or not (text.rstrip().endswith((".", "?", "!", ":", ")")) or len(words) >= 10):
        return False
    letters = sum(len(w) for w in words)
    return letters / max(1, len(text.replace(" ", ""))) >= 0.6


def sentences(text: str) -> list[str]:
    """Sentence split that survives 'e.g.' and 'i.e.' (common in reference docs)."""
    parts = _SENTENCE_SPLIT_RE.split(" ".join(text.split()))
    out: list[str] = []
    for part in parts:
        if out and out[-1].endswith(_ABBREVIATIONS):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


def leading_sentences(text: str, max_words: int) -> str:
    """Whole sentences from the start up to ``max_words``; one over-long first sentence is cut."""
    taken: list[str] = []
    count = 0
    for sentence in sentences(text):
        n = len(sentence.split())
        if taken and count + n > max_words:
            break
        taken.append(sentence)
        count += n
        if count >= max_words:
            break
    answer = " ".join(taken)
    words = answer.split()
    if len(words) > max_words:
        answer = " ".join(words[:max_words]).rstrip(",;:") + " ..."
    return answer


def list_items(block: ChunkBlock) -> list[str]:
    """Items of a list block ("- item" lines in its plain text)."""
    return [line[2:].strip() for line in block.plain.split("\n") if line.startswith("- ") and line[2:].strip()]


def table_rows(block: ChunkBlock) -> list[list[str]]:
    """Rows of a table block ("cell | cell" lines), header first."""
    return [[cell.strip() for cell in line.split(" | ")] for line in block.plain.split("\n") if line.strip()]


def readable_heading(heading: str) -> str:
    """'RETURN VALUE' -> 'return value': capitals-only headings (man pages) read badly inside a question."""
    letters = [c for c in heading if c.isalpha()]
    return heading.lower() if letters and all(c.isupper() for c in letters) and len(letters) > 3 else heading


def joined(items: Sequence[str], max_words: int) -> str:
    """List items as one answer sentence, cut to ``max_words``."""
    out: list[str] = []
    count = 0
    for item in items:
        n = len(item.split())
        if out and count + n > max_words:
            break
        out.append(item.rstrip(".;,"))
        count += n
    return "; ".join(out) + "." if out else ""
