"""Question/answer candidates from documentation chunks.

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

from aiinfra_dagster.synthetic.text import (
    ApiItem,
    Prose,
    api_items,
    headings,
    leading_sentences,
    module_name,
    plain_text,
    prose_paragraphs,
    sentences,
)

Chunk = tuple[str, str, str]  # (chunk_id, section, text)


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
    name: str

    def generate(self, chunks: Sequence[Chunk]) -> list[QACandidate]: ...


# ----------------------------------------------------------------------------- template

_TO_RE = re.compile(r"^To ([a-z][^,;:]{4,90}?), ")
_YOU_CAN_RE = re.compile(r"^You can ([a-z][^,;:]{4,90}?) (?:by|with|using|through|via|if) ")
_USE_TO_RE = re.compile(r"^Use [^,;:]{2,60}? to ([a-z][^,;:]{4,90}?)[.,]")
_MODULE_VERB_RE = re.compile(
    r"^(?:This|The [\w.]+) module (provides|implements|defines|contains|offers|supports|allows|exposes|"
    r"includes|describes|gives|makes)\b"
)
_PRONOUNS = ((r"\byourself\b", "myself"), (r"\byour\b", "my"), (r"\byou\b", "I"))
_FUNCTION_KINDS = frozenset({"function", "coroutinefunction", "decorator"})
_METHOD_KINDS = frozenset({"method", "classmethod", "staticmethod", "coroutinemethod", "decoratormethod"})
_ATTRIBUTE_KINDS = frozenset({"attribute", "property"})
_OPTION_KINDS = frozenset({"cmdoption", "option", "envvar"})


def _first_person(phrase: str) -> str:
    for pattern, replacement in _PRONOUNS:
        phrase = re.sub(pattern, replacement, phrase)
    return phrase


def _qualified(item: ApiItem, module: str | None, owner: str | None) -> str:
    name = item.name
    if "." in name or item.kind in _OPTION_KINDS or item.kind == "opcode":
        return name
    if item.kind in _METHOD_KINDS | _ATTRIBUTE_KINDS:
        return f"{owner}.{name}" if owner else name
    return f"{module}.{name}" if module and module != "builtins" else name


def api_question(item: ApiItem, module: str | None, owner: str | None) -> str:
    """A question an API entry's description answers, phrased by the kind of object."""
    q = _qualified(item, module, owner)
    where = f" in {module}" if module and "." not in q else ""
    if item.kind in _FUNCTION_KINDS:
        return f"What does {q}() do?"
    if item.kind in _METHOD_KINDS:
        return f"What does the {q}() method{where} do?"
    if item.kind == "class":
        return f"What is the {q} class used for?"
    if item.kind == "exception":
        return f"When is {q} raised?"
    if item.kind in _ATTRIBUTE_KINDS:
        return f"What is the {q} attribute{where}?"
    if item.kind == "opcode":
        return f"What does the {q} bytecode instruction do?"
    if item.kind in _OPTION_KINDS:
        return f"What does the {q} option do?"
    return f"What is {q}?"


def verb_question(sentence: str, module: str | None) -> str | None:
    """'To parse X, ...' -> 'How do I parse X?'; 'This module provides ...' -> 'What does M provide?'."""
    for pattern, template in ((_TO_RE, "How do I {}?"), (_YOU_CAN_RE, "How can I {}?"), (_USE_TO_RE, "How do I {}?")):
        match = pattern.match(sentence)
        if match:
            return template.format(_first_person(match.group(1).strip()))
    match = _MODULE_VERB_RE.match(sentence)
    if match and module:
        verb = match.group(1)
        base = verb[:-2] if verb.endswith(("shes", "ches", "sses", "xes")) else verb[:-1]
        return f"What does the {module} module {base}?"
    return None


def heading_question(section: str, module: str | None, introduces_module: bool = False) -> str | None:
    """'What does the json documentation say about Basic Usage?' (module named to disambiguate).

    A task-like heading ('Using X', 'How to X', 'Create a task') becomes a
    how-to question.  A chunk under the module's own title only gets
    'What is M for?' when it introduces the module: most such chunks are
    reference entries far below the introduction.
    """
    path = headings(section)
    if not path:
        return None
    last = path[-1]
    if module and (last == module or last.startswith(f"{module}:")):
        return f"What is the {module} module for?" if introduces_module else None
    task = _task_heading(last)
    if task:
        return f"How do I {task}?"
    scope = f"the {module} documentation" if module else "the documentation"
    return f"What does {scope} say about {last}?"


_TASK_VERBS = frozenset(
    "add build call check choose configure convert create customize debug define disable enable find get "
    "handle implement install integrate make migrate read register run send set start stop subclass "
    "test use watch wait work write".split()
)
_DETERMINERS = frozenset({"a", "an", "the", "your", "one", "multiple", "custom", "new"})


def _task_heading(heading: str) -> str | None:
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


@dataclass(frozen=True)
class TemplateGenerator:
    """Deterministic, model-free questions from headings, API entries and first sentences.

    Answers are the chunk's own leading sentences (extractive), so they are
    faithful by construction; questions are formulaic, which is why this is
    the quick profile's generator rather than the demo's.
    """

    questions_per_chunk: int = 1
    max_answer_words: int = 80
    name: str = "template-v1"

    def __post_init__(self) -> None:
        if self.questions_per_chunk < 1:
            raise ValueError("questions_per_chunk must be >= 1")

    def generate(self, chunks: Sequence[Chunk]) -> list[QACandidate]:
        out: list[QACandidate] = []
        for chunk_id, section, text in chunks:
            pairs = self._pairs(section, text)[: self.questions_per_chunk]
            if not pairs:
                pairs = [("", "")]  # counted by the format filter, not lost
            out.extend(make_candidate(self.name, chunk_id, q, a) for q, a in pairs)
        return out

    def _pairs(self, section: str, text: str) -> list[tuple[str, str]]:
        paragraphs = prose_paragraphs(text)
        if not paragraphs:
            return []
        module = module_name(section, text)
        pairs: list[tuple[str, str]] = []

        documented = [p.api for p in paragraphs if p.api is not None]
        if documented:
            item = documented[0]
            owner = _owner_class(api_items(text), item) or _heading_owner(section)
            body = " ".join(p.text for p in paragraphs if p.api == item)
            pairs.append((api_question(item, module, owner), self._answer(body)))

        general = " ".join(p.text for p in _leading_general(paragraphs))
        first = sentences(general)[0] if general else ""
        verb = verb_question(first, module) if first else None
        if verb:
            pairs.append((verb, self._answer(general)))
        introduces = ".. module::" in text or "module" in first.lower().split(" ")[:8]
        heading = heading_question(section, module, introduces)
        if heading:
            pairs.append((heading, self._answer(general)))

        seen: set[str] = set()
        unique = []
        for q, a in pairs:
            if q not in seen and a:
                seen.add(q)
                unique.append((q, a))
        return unique

    def _answer(self, text: str) -> str:
        """Leading sentences, minus a trailing 'as follows:' whose code was not kept."""
        answer = leading_sentences(text, self.max_answer_words)
        parts = sentences(answer)
        while len(parts) > 1 and parts[-1].endswith(":"):
            parts.pop()
        return " ".join(parts)


def _leading_general(paragraphs: list[Prose]) -> list[Prose]:
    """Prose not tied to an API entry, falling back to all prose when there is none."""
    general = [p for p in paragraphs if p.api is None]
    return general or paragraphs


def _owner_class(items: list[ApiItem], item: ApiItem) -> str | None:
    """The class documented before a method in the same chunk, if any."""
    owner = None
    for other in items:
        if other == item:
            return owner
        if other.kind in ("class", "exception"):
            owner = other.name
    return None


def _heading_owner(section: str) -> str | None:
    """A heading that is a bare identifier (``TimedRotatingFileHandler``) names the class of its methods."""
    path = headings(section)
    if len(path) > 1 and re.fullmatch(r"[A-Z][\w.]*", path[-1]):
        return path[-1]
    return None


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

    Greedy decoding with a one-shot example; the chunk is shown as plain text
    (reST markup stripped) cut to ``max_context_tokens`` so prompt cost is
    bounded whatever the chunk size.
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

    def prompt(self, tokenizer: object, section: str, text: str) -> list[dict[str, str]]:
        context = _truncate_tokens(tokenizer, plain_text(text), self.max_context_tokens)
        topic = " > ".join(headings(section))
        header = f"Text ({topic}):" if topic else "Text:"
        return [
            {"role": "system", "content": _SYSTEM_PROMPT},
            {"role": "user", "content": f"Text:\n{_EXAMPLE_TEXT}"},
            {"role": "assistant", "content": _EXAMPLE_REPLY},
            {"role": "user", "content": f"{header}\n{context}"},
        ]

    def generate(self, chunks: Sequence[Chunk]) -> list[QACandidate]:
        from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm

        if not chunks:
            return []
        model, tokenizer = load_causal_lm(self.model_path, self.gguf_file)
        prompts = [self.prompt(tokenizer, section, text) for _, section, text in chunks]
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
        for (chunk_id, _, _), raw in zip(chunks, outputs, strict=True):
            question, answer = parse_qa(_PREFIX + raw)
            out.append(make_candidate(self.name, chunk_id, question, answer))
        return out


def _truncate_tokens(tokenizer: object, text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, cut at a token boundary."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    if len(ids) <= max_tokens:
        return text
    return str(tokenizer.decode(ids[:max_tokens])).rstrip()  # type: ignore[attr-defined]
