"""Question/answer candidates from document chunks.

Two generators share one contract so a profile can trade quality for time:
``TemplateGenerator`` (no model, milliseconds, extractive answers) and
``LLMGenerator`` (the base LLM writes the pair).  Every chunk handed to a
generator yields at least one candidate; a chunk that gives nothing usable
yields an empty one, so the format filter counts the failure instead of the
chunk silently vanishing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiinfra_dagster.python_docs.questions import python_pairs
from aiinfra_dagster.synthetic.questions import (
    definition_question,
    heading_question,
    list_question,
    table_question,
    verb_question,
)
from aiinfra_dagster.synthetic.text import ChunkInput, leading_sentences, main_prose, sentences


@dataclass(frozen=True)
class QACandidate:
    """One generated pair, tied to the chunk it should be answerable from."""

    candidate_id: str
    chunk_id: str
    question: str
    answer: str
    generator: str


def candidate_id_for(generator: str, chunk_id: str, question: str) -> str:
    """Stable id: re-generating the same question from the same chunk gives the same id."""
    return hashlib.sha256(f"{generator}\n{chunk_id}\n{question}".encode()).hexdigest()[:32]


def make_candidate(generator: str, chunk_id: str, question: str, answer: str) -> QACandidate:
    return QACandidate(candidate_id_for(generator, chunk_id, question), chunk_id, question, answer, generator)


class Generator(Protocol):
    @property
    def name(self) -> str: ...

    def generate(self, chunks: Sequence[ChunkInput]) -> list[QACandidate]: ...


# ----------------------------------------------------------------------------- template


@dataclass(frozen=True)
class TemplateGenerator:
    """Deterministic, model-free questions from headings, definitions, first sentences, lists and tables.

    Answers are the chunk's own leading sentences or list/table content (extractive), so
    they are faithful by construction; questions are formulaic, which is why this is the
    quick profile's generator rather than the demo's. Chunks of ``python_docs`` sources
    also get the Python pack's API-entry questions (``python_docs.questions``).
    """

    questions_per_chunk: int = 1
    max_answer_words: int = 80
    name: str = "template-v2"

    def __post_init__(self) -> None:
        if self.questions_per_chunk < 1:
            raise ValueError("questions_per_chunk must be >= 1")

    def generate(self, chunks: Sequence[ChunkInput]) -> list[QACandidate]:
        out: list[QACandidate] = []
        for chunk in chunks:
            pairs = self.pairs(chunk)[: self.questions_per_chunk]
            if not pairs:
                pairs = [("", "")]  # counted by the format filter, not lost
            out.extend(make_candidate(self.name, chunk.chunk_id, q, a) for q, a in pairs)
        return out

    def pairs(self, chunk: ChunkInput) -> list[tuple[str, str]]:
        prose = chunk.prose()
        pairs: list[tuple[str, str]] = []
        general = main_prose(prose)
        text = " ".join(p.plain for p in general)
        first = sentences(text)[0] if text else ""
        pack = python_pairs(chunk, prose, first, self.answer) if chunk.python_docs else None
        if pack:
            pairs.extend(pack.pairs)
        if first:
            for question in (verb_question(first), definition_question(first)):
                if question:
                    pairs.append((question, self.answer(text)))
            if pack is None:
                heading = heading_question(chunk.headings, chunk.title)
            else:
                heading = pack.heading_question
            if heading:
                pairs.append((heading, self.answer(text)))
        listed = list_question(chunk, self.max_answer_words)
        if listed:
            pairs.append(listed)
        tabled = table_question(chunk)
        if tabled:
            pairs.append(tabled)
        seen: set[str] = set()
        unique = []
        for q, a in pairs:
            if q and a and q not in seen:
                seen.add(q)
                unique.append((q, a))
        return unique

    def answer(self, text: str) -> str:
        """Leading sentences, minus a trailing 'as follows:' whose code was not kept."""
        answer = leading_sentences(text, self.max_answer_words)
        parts = sentences(answer)
        while len(parts) > 1 and parts[-1].endswith(":"):
            parts.pop()
        return " ".join(parts)


# ----------------------------------------------------------------------------- LLM

_SYSTEM_PROMPT = (
    "You write one question and its answer from a documentation text. The answer must use only facts from the text."
)
# One worked example holds a 135M-parameter model to the format far better than instructions alone.
_EXAMPLE_TEXT = "os.getcwd()\nReturn a string representing the current working directory."
_EXAMPLE_REPLY = (
    "Question: How do I get the current working directory?\n"
    "Answer: Call os.getcwd(), which returns a string representing the current working directory."
)
_PREFIX = "Question:"
_QUESTION_LABEL_RE = re.compile(r"^\W*question\W*?[:\uff1a]\s*", re.I)
_ANSWER_LABEL_RE = re.compile(
    r"^\W*(?:the\s+)?(?:answer|response|solution|method|a)(?:\s+(?:is|to this question is))?"
    r"\**(?:\s*[:\uff1a][\s*_]*|\W*$)",
    re.I,
)
_INLINE_ANSWER_RE = re.compile(r"\s*\**\banswer\**\s*[:\uff1a]\**", re.I)
_INLINE_QUESTION_RE = re.compile(r"\**\bquestion\**\s*[:\uff1a]", re.I)


def _is_filler(line: str) -> bool:
    """Blank, label-only ('Answer:', 'Method:') or a code fence: not content."""
    stripped = line.strip().strip("*").strip()
    return not stripped or stripped.startswith("```") or (stripped.endswith(":") and len(stripped.split()) <= 3)


def _content_lines(text: str) -> list[str]:
    """Completed lines that carry content."""
    return [ln for ln in text.split("\n")[:-1] if not _is_filler(ln)]


def answer_complete(text: str) -> bool:
    """Stop once the question line and one answer line are finished, or a second pair starts.

    Small models rarely stop by themselves after the answer; they repeat the
    pair or drift into lists, so generation stops at the first finished answer line.
    """
    return len(_content_lines(text)) >= 2 or "question:" in text.lower()


def parse_qa(text: str) -> tuple[str, str]:
    """``(question, answer)`` from model output that starts with 'Question:'.

    Lenient about what small models do: blank lines or label lines
    ('Method:') before the answer, 'The answer is:' prefixes, the answer on
    the question's line.  The answer is one paragraph; an answer cut by the
    token budget loses its unfinished last sentence when a finished one
    exists.  ``("", "")`` when there is no question at all; ``(q, "")`` when
    only the answer is missing.
    """
    label = _QUESTION_LABEL_RE.match(text.strip())
    if label is None:
        return "", ""
    body = text.strip()[label.end() :]
    first, _, rest = body.partition("\n")
    inline = _INLINE_ANSWER_RE.search(first)
    if inline:
        first, rest = first[: inline.start()], first[inline.end() :] + "\n" + rest
    elif "?" in first and first[first.index("?") + 1 :].strip():
        cut = first.index("?") + 1
        first, rest = first[:cut], first[cut:] + "\n" + rest
    question = " ".join(first.strip("* ").split())
    if not question:
        return "", ""
    answer = _first_paragraph(rest)
    next_pair = _INLINE_QUESTION_RE.search(answer)
    if next_pair:
        answer = answer[: next_pair.start()].strip()
    if answer and not answer.endswith((".", "!", "?", ")", "`", ":")):
        finished = answer[: max(answer.rfind(". "), answer.rfind(".)")) + 1].strip()
        answer = finished or answer
    return question, answer


def _first_paragraph(text: str) -> str:
    lines: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip().strip("*").strip()
        if _QUESTION_LABEL_RE.match(stripped):
            break
        if not lines:
            if _is_filler(stripped):
                continue
            stripped = _ANSWER_LABEL_RE.sub("", stripped, count=1)
            if not stripped:
                continue
        elif not stripped or stripped.startswith("```"):
            break
        lines.append(stripped)
    return " ".join(" ".join(lines).split())


@dataclass
class LLMGenerator:
    """The base LLM writes one question the chunk answers, plus the answer.

    Greedy decoding with a one-shot example; the chunk is shown as a reader sees it
    (its blocks' plain text) cut to ``max_context_tokens`` so prompt cost is bounded
    whatever the chunk size.
    """

    model_path: Path
    gguf_file: str | None = None
    max_new_tokens: int = 96
    batch_size: int = 8
    seed: int = 0
    max_context_tokens: int = 192

    def __post_init__(self) -> None:
        self.model_path = Path(self.model_path)
        self.name = f"llm:{self.gguf_file or self.model_path.name}"

    def prompt(self, tokenizer: object, chunk: ChunkInput) -> list[dict[str, str]]:
        context = _truncate_tokens(tokenizer, chunk.plain(), self.max_context_tokens)
        topic = " > ".join(chunk.headings)
        header = f"Text ({topic}):" if topic else "Text:"
        return [
            {"role": "system", "content": _SYSTEM_PROMPT},
            {"role": "user", "content": f"Text:\n{_EXAMPLE_TEXT}"},
            {"role": "assistant", "content": _EXAMPLE_REPLY},
            {"role": "user", "content": f"{header}\n{context}"},
        ]

    def generate(self, chunks: Sequence[ChunkInput]) -> list[QACandidate]:
        # torch + transformers take ~2.3 s to import; `aiinfra check` imports this module and never generates with them
        from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm  # local import: torch, see above

        if not chunks:
            return []
        model, tokenizer = load_causal_lm(self.model_path, self.gguf_file)
        prompts = [self.prompt(tokenizer, chunk) for chunk in chunks]
        outputs = generate_chat(
            model,
            tokenizer,
            prompts,
            self.max_new_tokens,
            self.seed,
            self.batch_size,
            assistant_prefix=_PREFIX,
            stop_when=answer_complete,
        )
        out = []
        for chunk, raw in zip(chunks, outputs, strict=True):
            question, answer = parse_qa(_PREFIX + raw)
            out.append(make_candidate(self.name, chunk.chunk_id, question, answer))
        return out


def _truncate_tokens(tokenizer: object, text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, cut at a token boundary."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    if len(ids) <= max_tokens:
        return text
    return str(tokenizer.decode(ids[:max_tokens])).rstrip()  # type: ignore[attr-defined]
