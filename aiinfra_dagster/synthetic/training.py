"""Supervised fine-tuning examples from kept synthetic pairs and human pairs.

Examples are chat transcripts in the shape the assistant sees when serving
(system prompt, retrieved context plus question, answer), so fine-tuning
teaches answering from context.  Ids and the train/validation split are
derived from content, so rebuilding an unchanged set changes nothing and an
example never moves between splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from aiinfra_dagster.records import read_records, required_fields
from aiinfra_dagster.synthetic.generate import QACandidate

HumanPair = tuple[str, str, str | None]  # (question, answer, context)

DEFAULT_SYSTEM_PROMPT = (
    "You are a documentation assistant. Answer the question using the context when it is given; "
    "say so when the context does not contain the answer."
)


@dataclass(frozen=True)
class TrainingExample:
    example_id: str
    source: str  # "synthetic" | "human"
    chunk_id: str | None
    question: str
    answer: str
    context: str
    messages: list[dict[str, str]]
    split: str  # "train" | "validation"


def chat_messages(context: str, question: str, answer: str, system_prompt: str) -> list[dict[str, str]]:
    """System, user (context + question; question alone when there is no context), assistant."""
    user = f"Question: {question.strip()}"
    if context.strip():
        user = f"Context:\n{context.strip()}\n\n{user}"
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer.strip()},
    ]


def example_id_for(source: str, question: str, answer: str) -> str:
    return hashlib.sha256(f"{source}\n{question}\n{answer}".encode()).hexdigest()[:32]


def assign_split(example_id: str, validation_fraction: float) -> str:
    """'validation' for a stable ``validation_fraction`` of ids, by hash, else 'train'."""
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError("validation_fraction must be in [0, 1)")
    return "validation" if split_bucket(example_id) < validation_fraction else "train"


def split_bucket(example_id: str) -> float:
    """A stable number in [0, 1) per example id; the smallest ones go to validation."""
    return int(hashlib.sha256(example_id.encode()).hexdigest()[:16], 16) / 16**16


def build_examples(
    kept_candidates: Sequence[QACandidate],
    chunk_text_by_id: Mapping[str, str],
    human_pairs: Sequence[HumanPair],
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    validation_fraction: float = 0.1,
) -> list[TrainingExample]:
    """Synthetic examples (context = their source chunk) then human ones, first copy of each id kept.

    A kept candidate whose chunk text is missing is an upstream error (the
    chunk set changed under the synthetic set), so it raises instead of
    producing an example without its context.
    """
    rows: list[tuple[str, str | None, str, str, str]] = []
    for c in kept_candidates:
        if c.chunk_id not in chunk_text_by_id:
            raise ValueError(f"candidate {c.candidate_id}: chunk {c.chunk_id} is not in the chunk texts")
        rows.append(("synthetic", c.chunk_id, c.question, c.answer, chunk_text_by_id[c.chunk_id]))
    for question, answer, context in human_pairs:
        rows.append(("human", None, question, answer, context or ""))

    examples: dict[str, TrainingExample] = {}
    for source, chunk_id, question, answer, context in rows:
        example_id = example_id_for(source, question, answer)
        if example_id in examples:
            continue
        examples[example_id] = TrainingExample(
            example_id=example_id,
            source=source,
            chunk_id=chunk_id,
            question=question,
            answer=answer,
            context=context,
            messages=chat_messages(context, question, answer, system_prompt),
            split=assign_split(example_id, validation_fraction),
        )
    return _with_a_validation_example(list(examples.values()), validation_fraction)


def _with_a_validation_example(examples: list[TrainingExample], validation_fraction: float) -> list[TrainingExample]:
    """A small set can draw no validation example by hash; then the lowest-hash one is held out,
    so a fine-tune always reports an eval loss when validation was asked for."""
    if validation_fraction <= 0.0 or len(examples) < 2 or any(e.split == "validation" for e in examples):
        return examples
    lowest = min(examples, key=lambda e: split_bucket(e.example_id))
    return [replace(e, split="validation") if e is lowest else e for e in examples]


# ----------------------------------------------------------------------------- human pairs


def _pair(record: object, path: Path, where: str) -> HumanPair:
    values = required_fields(record, path, where, ("question", "answer"))
    assert isinstance(record, Mapping)
    context = record.get("context")
    return values["question"], values["answer"], (str(context).strip() or None) if context is not None else None


def load_human_pairs(path: str | Path) -> list[HumanPair]:
    """Human-written pairs from JSONL or CSV (question, answer, optional context); bad rows name file and line."""
    path = Path(path)
    return [_pair(record, path, where) for record, where in read_records(path, "human pairs", ("question", "answer"))]
