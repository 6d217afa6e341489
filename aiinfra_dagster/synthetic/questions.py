"""Generic question templates: what a heading, a first sentence, a list or a table asks.

Each takes what a reader sees of a chunk (``synthetic.text``) and returns a question (and,
for lists and tables, its extractive answer); none knows anything about a corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aiinfra_dagster.synthetic.text import ChunkInput, joined, list_items, readable_heading, table_rows

_TO_RE = re.compile(r"^To ([a-z][^,;:]{4,90}?), ")
_YOU_CAN_RE = re.compile(r"^You can ([a-z][^,;:]{4,90}?) (?:by|with|using|through|via|if) ")
_USE_TO_RE = re.compile(r"^Use [^,;:]{2,60}? to ([a-z][^,;:]{4,90}?)[.,]")
_DEFINITION_RE = re.compile(
    r"^(?:(?:The|A|An) )?((?:[A-Za-z][\w./-]*)(?: [A-Za-z][\w./-]*){0,3}) (is|are) (?:a|an|the|one|used|responsible)\b"
)
_RETURNS_RE = re.compile(r"^(?:(?:The|A|An) )?((?:[A-Za-z_][\w./()-]*)(?: [A-Za-z_][\w./()-]*){0,2}) returns?\b")
_PRONOUNS = ((r"\byourself\b", "myself"), (r"\byour\b", "my"), (r"\byou\b", "I"))
_VAGUE_SUBJECTS = frozenset({"this", "that", "it", "there", "these", "those", "here", "which", "what", "each", "every"})


def _first_person(phrase: str) -> str:
    for pattern, replacement in _PRONOUNS:
        phrase = re.sub(pattern, replacement, phrase)
    return phrase


def verb_question(sentence: str) -> str | None:
    """'To parse X, ...' -> 'How do I parse X?'; 'You can X by ...' -> 'How can I X?'."""
    for pattern, template in ((_TO_RE, "How do I {}?"), (_YOU_CAN_RE, "How can I {}?"), (_USE_TO_RE, "How do I {}?")):
        match = pattern.match(sentence)
        if match:
            return template.format(_first_person(match.group(1).strip()))
    return None


def definition_question(sentence: str) -> str | None:
    """'The audit log is a ...' -> 'What is the audit log?'; 'f() returns ...' -> 'What does f() return?'."""
    match = _DEFINITION_RE.match(sentence)
    if match and match.group(1).split()[0].lower() not in _VAGUE_SUBJECTS:
        subject = match.group(1)
        article = "the " if sentence.split()[0] in ("The", "A", "An") else ""
        return f"What {match.group(2)} {article}{subject}?"
    match = _RETURNS_RE.match(sentence)
    if match and match.group(1).split()[0].lower() not in _VAGUE_SUBJECTS:
        article = "the " if sentence.split()[0] in ("The", "A", "An") else ""
        return f"What does {article}{match.group(1)} return?"
    return None


def heading_question(path: Sequence[str], title: str = "", scope: str | None = None) -> str | None:
    """A question a section's heading asks: 'How do I rotate keys?' for task headings, else what the docs say.

    ``scope`` names whose documentation it is (a module, a page title) so questions from
    sections with the same heading in different documents stay distinct.
    """
    if not path:
        return None
    last = readable_heading(path[-1])
    task = task_heading(last)
    if task:
        return f"How do I {task}?"
    if scope is None:
        scope = title if title and title != path[-1] else (path[0] if len(path) > 1 else "")
    where = f"the {readable_heading(scope)} documentation" if scope else "the documentation"
    return f"What does {where} say about {last}?"


_TASK_VERBS = frozenset(
    "add build call check choose configure convert create customize debug define disable enable find get "
    "handle implement install integrate make migrate read register restore rotate run send set start stop subclass "
    "test upgrade use watch wait work write".split()
)
_DETERMINERS = frozenset({"a", "an", "the", "your", "one", "multiple", "custom", "new"})


def task_heading(heading: str) -> str | None:
    """'How to use help' -> 'use help'; 'Using the cache' -> 'use the cache'; 'Watch a file' -> 'watch a file'."""
    words = heading.split()
    if len(words) < 2:
        return None
    lowered = heading[0].lower() + heading[1:]
    if lowered.lower().startswith("how to "):
        return lowered[7:]
    first = words[0].lower()
    if first.endswith("ing") and first[:-3] in _TASK_VERBS:
        return " ".join([first[:-3], *words[1:]])
    if first.endswith("ing") and first[:-3] + "e" in _TASK_VERBS:
        return " ".join([first[:-3] + "e", *words[1:]])
    if first in _TASK_VERBS and words[1].lower() in _DETERMINERS:  # "Set a timeout", not "Set Types"
        return lowered
    return None


def list_question(chunk: ChunkInput, max_words: int) -> tuple[str, str] | None:
    """A list under a heading: 'What are the prerequisites listed in <doc>?' answered by its items."""
    block = next((b for b in chunk.blocks if b.kind == "list" and len(list_items(b)) >= 2), None)
    if block is None or not chunk.headings:
        return None
    heading = readable_heading(chunk.headings[-1])
    scope = chunk.title if chunk.title and chunk.title != chunk.headings[-1] else ""
    where = f" in the {readable_heading(scope)} documentation" if scope else ""
    return f"What does the {heading} section{where} list?", joined(list_items(block), max_words)


def table_question(chunk: ChunkInput) -> tuple[str, str] | None:
    """A table with a header: 'What is the <column> of <first row key>?' answered from that row."""
    block = next((b for b in chunk.blocks if b.kind == "table"), None)
    rows = table_rows(block) if block else []
    if len(rows) < 2 or len(rows[0]) < 2 or len(rows[1]) != len(rows[0]):
        return None
    header, row = rows[0], rows[1]
    if not row[0] or not header[1]:
        return None
    answer = f"{row[0]}: " + "; ".join(f"{h} {v}" for h, v in zip(header[1:], row[1:], strict=True) if v) + "."
    return f"What is the {header[1].lower()} of {row[0]}?", answer
