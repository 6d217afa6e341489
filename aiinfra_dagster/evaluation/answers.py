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
from aiinfra_dagster.synthetic.llm import load_causal_lm, render_prompt


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


MAX_REFERENCE_TOKENS = 256
"""Longer reference answers are scored on their first tokens (perplexity per token stays comparable)."""


def prompt_ids(tokenizer: Any, messages: Messages) -> list[int]:
    return tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"]


def fit_prompt(
    tokenizer: Any, question: Question, system_prompt: str, max_tokens: int
) -> tuple[Messages, tuple[str, ...]]:
    """The prompt within `max_tokens`: trailing chunks dropped first, then the first chunk cut short."""
    chunks = list(question.context)

    def length(items: list[tuple[str, str]]) -> int:
        return len(prompt_ids(tokenizer, answer_messages(question.question, items, system_prompt)))

    while len(chunks) > 1 and length(chunks) > max_tokens:
        chunks.pop()
    if chunks and length(chunks) > max_tokens:
        chunk_id, text = chunks[0]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        keep = max(0, len(ids) - (length(chunks) - max_tokens) - 2)
        chunks = [(chunk_id, tokenizer.decode(ids[:keep]))] if keep else []
    return answer_messages(question.question, chunks, system_prompt), tuple(c for c, _ in chunks)


def reference_ids(tokenizer: Any, messages: Messages, reference: str) -> list[int]:
    """Tokens of the reference as the assistant's reply (with its end-of-turn), as training tokenizes replies."""
    prompt = render_prompt(tokenizer, messages)
    full = tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": reference}], tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the prompt differently inside the full conversation")
    return tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"][:MAX_REFERENCE_TOKENS]


def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    return ids | ({tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set())


def score_and_answer(
    model: Any, tokenizer: Any, prompts: Sequence[list[int]], references: Sequence[list[int]], max_new_tokens: int
) -> list[tuple[str, float, int]]:
    """(greedy answer, mean reference NLL per token, reference tokens) for one batch, from ONE prompt prefill.

    Rows are laid out as [left padding, prompt, reference, right padding], so every prompt ends
    at the same position: one forward pass scores each reference, the cache is cropped back to
    the prompts, and greedy decoding continues from it. On a CPU the prompt prefill is most of
    the cost, and this pays for it once instead of twice (score, then generate).
    """
    width_p, width_r = max(len(p) for p in prompts), max(max(len(r) for r in references), 1)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(prompts), width_p + width_r), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, (p, r) in enumerate(zip(prompts, references, strict=True)):
        ids[row, width_p - len(p) : width_p] = torch.tensor(p)
        mask[row, width_p - len(p) : width_p] = 1
        if r:
            ids[row, width_p : width_p + len(r)] = torch.tensor(r)
            mask[row, width_p : width_p + len(r)] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    stops = _stop_ids(model, tokenizer)
    with torch.inference_mode():
        out = model(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=width_r + 1
        )
        logprobs = torch.log_softmax(out.logits.float(), dim=-1)  # position width_p - 1 + j predicts reference token j
        scores = []
        for row, r in enumerate(references):
            taken = logprobs[row, torch.arange(len(r)), torch.tensor(r, dtype=torch.long)] if r else torch.zeros(0)
            scores.append((float(-taken.mean()) if r else float("nan"), len(r)))
        cache = out.cache
        cache.crop(-width_r)  # drop the reference positions: the cache ends with the prompts
        current = out.logits[:, 0].argmax(-1)
        attention, position = mask[:, :width_p], positions[:, width_p - 1]
        answers: list[list[int]] = [[] for _ in prompts]
        done = torch.zeros(len(prompts), dtype=torch.bool)
        for step in range(max_new_tokens):
            for row, token in enumerate(current.tolist()):
                if not done[row]:
                    if token in stops:
                        done[row] = True
                    else:
                        answers[row].append(token)
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            attention = torch.cat([attention, torch.ones((len(prompts), 1), dtype=attention.dtype)], dim=1)
            position = position + 1
            step_out = model(
                input_ids=current[:, None],
                attention_mask=attention,
                position_ids=position[:, None],
                cache=cache,
                use_cache=True,
            )
            current = step_out.logits[:, -1].argmax(-1)
    return [
        (tokenizer.decode(tokens, skip_special_tokens=True), nll, count)
        for tokens, (nll, count) in zip(answers, scores, strict=True)
    ]


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
    encoded = [
        (prompt_ids(tokenizer, m), reference_ids(tokenizer, m, q.reference))
        for (m, _), q in zip(fitted, questions, strict=True)
    ]
    order = sorted(range(len(questions)), key=lambda i: (len(encoded[i][0]), i))  # similar lengths share a batch
    results: list[tuple[str, float, int]] = [("", float("nan"), 0)] * len(questions)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = score_and_answer(
            model, tokenizer, [encoded[i][0] for i in idx], [encoded[i][1] for i in idx], max_new_tokens
        )
        for i, result in zip(idx, batch, strict=True):
            results[i] = result
    answers = [answer.strip() for answer, _, _ in results]
    nlls = [(nll, count) for _, nll, count in results]
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
        for q, answer, (_, chunk_ids), (nll, tokens), sim in zip(
            questions, answers, fitted, nlls, similarity, strict=True
        )
    ]
