"""Answering golden questions with a causal LM and scoring the answers.

Greedy decoding, so a model version answers a question the same way every
time and its scored rows can be reused across reports. Reference perplexity
is measured with the same prompt the answer was generated from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiinfra_dagster.evaluation.metrics import cosine_rows, rouge_l, token_f1
from aiinfra_dagster.rag import Messages, answer_messages
from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm
from aiinfra_dagster.training.sft import IGNORE_INDEX, tokenize_chat


@dataclass(frozen=True)
class Question:
    qa_id: str
    question: str
    reference: str
    slice: str
    context: tuple[tuple[str, str], ...] = ()
    """(chunk_id, text) pairs given as context, best first; empty in closed-book mode"""


@dataclass(frozen=True)
class ScoredAnswer:
    qa_id: str
    answer: str
    rouge_l: float
    token_f1: float
    embedding_similarity: float
    reference_nll: float
    reference_tokens: int
    context_chunk_ids: tuple[str, ...]


def fit_prompt(tokenizer: Any, question: Question, system_prompt: str, max_tokens: int) -> tuple[Messages, tuple[str, ...]]:
    """The prompt within `max_tokens`: trailing chunks dropped first, then the first chunk cut short."""
    chunks = list(question.context)

    def length(items: list[tuple[str, str]]) -> int:
        messages = answer_messages(question.question, items, system_prompt)
        return len(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True))

    while len(chunks) > 1 and length(chunks) > max_tokens:
        chunks.pop()
    if chunks and length(chunks) > max_tokens:
        chunk_id, text = chunks[0]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        overflow = length(chunks) - max_tokens
        keep = max(0, len(ids) - overflow - 1)
        chunks = [(chunk_id, tokenizer.decode(ids[:keep]))] if keep else []
    return answer_messages(question.question, chunks, system_prompt), tuple(c for c, _ in chunks)


def reference_nll(model: Any, tokenizer: Any, conversations: Sequence[Messages], max_length: int, batch_size: int) -> list[tuple[float, int]]:
    """(mean NLL per reference token, reference tokens) of each conversation's final assistant turn."""
    examples = [tokenize_chat(tokenizer, list(c), max_length) for c in conversations]
    out: list[tuple[float, int]] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in range(0, len(examples), batch_size):
        batch = examples[start : start + batch_size]
        width = max(len(e.input_ids) for e in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, e in enumerate(batch):
            n = len(e.input_ids)
            ids[row, :n] = torch.tensor(e.input_ids)
            labels[row, :n] = torch.tensor(e.labels)
            mask[row, :n] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        shift_logits, shift_labels = logits[:, :-1], labels[:, 1:]
        nll = torch.nn.functional.cross_entropy(
            shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none"
        ).view(shift_labels.shape)
        counted = (shift_labels != IGNORE_INDEX).sum(dim=1)
        for row in range(len(batch)):
            tokens = int(counted[row])
            out.append((float(nll[row].sum()) / tokens if tokens else float("nan"), tokens))
    return out


def answer_and_score(
    model_dir: Path,
    questions: Sequence[Question],
    *,
    system_prompt: str,
    encode: Any,
    max_prompt_tokens: int,
    max_new_tokens: int,
    batch_size: int,
) -> list[ScoredAnswer]:
    """Generate an answer per question and score it against the reference.

    `encode(texts) -> (n, d) unit vectors` embeds answers and references for the
    embedding similarity (the configured embedding model).
    """
    if not questions:
        return []
    model, tokenizer = load_causal_lm(model_dir)
    fitted = [fit_prompt(tokenizer, q, system_prompt, max_prompt_tokens) for q in questions]
    prompts = [messages for messages, _ in fitted]
    answers = [a.strip() for a in generate_chat(model, tokenizer, prompts, max_new_tokens, batch_size=batch_size)]
    conversations = [[*p, {"role": "assistant", "content": q.reference}] for p, q in zip(prompts, questions, strict=True)]
    nlls = reference_nll(model, tokenizer, conversations, max_prompt_tokens + 256, max(1, batch_size // 2))
    similarity = cosine_rows(encode(answers), encode([q.reference for q in questions]))
    return [
        ScoredAnswer(
            qa_id=q.qa_id,
            answer=answer,
            rouge_l=rouge_l(answer, q.reference),
            token_f1=token_f1(answer, q.reference),
            embedding_similarity=float(np.clip(sim, -1.0, 1.0)),
            reference_nll=nll,
            reference_tokens=tokens,
            context_chunk_ids=chunk_ids,
        )
        for q, answer, (_, chunk_ids), (nll, tokens), sim in zip(questions, answers, fitted, nlls, similarity, strict=True)
    ]
