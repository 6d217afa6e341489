"""One evaluation: which questions, which models, which rows to (re)compute.

A scored answer is keyed by (model version, question, mode, config digest), so
the base model and the champion are evaluated once and reused by every later
report until something that decides their answers changes (prompt, generation
settings, index version, reference text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aiinfra_dagster.evaluation.answers import Question, answer_and_score
from aiinfra_dagster.evaluation.tables import EVAL_HISTORY
from aiinfra_dagster.settings import EvaluationSettings
from aiinfra_dagster.synthetic.training import split_bucket

METRIC_CODE_VERSION = "2"
"""Bump when answer scoring changes: every stored row is then recomputed."""

Context = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EvalModel:
    role: str
    """base | candidate | champion"""
    version: str
    path: Path


@dataclass(frozen=True)
class Grounding:
    """Retrieved context per question for grounded mode, and the index version it came from."""

    index_version: str
    contexts: Mapping[str, Context]


def sample_questions(golden: pl.DataFrame, limit: int | None, seed: int) -> pl.DataFrame:
    """The whole golden set, or a stable hash sample of `limit` pairs (same ids every run), by qa_id."""
    if limit is None or golden.height <= limit:
        return golden.sort("qa_id")
    chosen = sorted(golden["qa_id"].to_list(), key=lambda q: split_bucket(f"{seed}:{q}"))[:limit]
    return golden.filter(pl.col("qa_id").is_in(chosen)).sort("qa_id")


def config_digest(
    params: EvaluationSettings, system_prompt: str, mode: str, index_version: str | None, embedding_id: str
) -> str:
    """Everything besides the model that decides a scored row."""
    decided = {
        "metric_code": METRIC_CODE_VERSION,
        "mode": mode,
        "index_version": index_version if mode == "grounded" else None,
        "top_k": params.top_k if mode == "grounded" else None,
        "max_prompt_tokens": params.max_prompt_tokens,
        "max_new_tokens": params.max_new_tokens,
        "system_prompt": system_prompt,
        "embedding_model": embedding_id,
    }
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:16]


def eval_key(model_version: str, qa_id: str, mode: str, digest: str, question: str, reference: str) -> str:
    text = "\n".join([model_version, qa_id, mode, digest, question, reference])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def questions_for(golden: pl.DataFrame, grounding: Grounding | None) -> list[Question]:
    contexts = grounding.contexts if grounding else {}
    return [
        Question(r["qa_id"], r["question"], r["answer"], r["source"], tuple(contexts.get(r["qa_id"], ())))
        for r in golden.iter_rows(named=True)
    ]


def evaluate(
    models: Sequence[EvalModel],
    golden: pl.DataFrame,
    groundings: Mapping[str, Grounding | None],
    history: pl.DataFrame,
    *,
    params: EvaluationSettings,
    system_prompt: str,
    encode: Callable[[list[str]], np.ndarray],
    embedding_id: str,
    dagster_run_id: str,
    log: Callable[[str], Any] = print,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """eval_history rows of every (model, question, mode) in this report, and those of them computed now.

    `groundings` maps mode -> Grounding (None for closed_book). Rows already in
    `history` under the same key are reused as they are.
    """
    known = set(history["eval_key"].to_list()) if history.height else set()
    rows: list[dict[str, Any]] = []
    reused: list[str] = []
    for mode, grounding in groundings.items():
        index_version = grounding.index_version if grounding else None
        digest = config_digest(params, system_prompt, mode, index_version, embedding_id)
        questions = questions_for(golden, grounding)
        for model in _unique(models):
            keys = {q.qa_id: eval_key(model.version, q.qa_id, mode, digest, q.question, q.reference) for q in questions}
            todo = [q for q in questions if keys[q.qa_id] not in known]
            reused += [keys[q.qa_id] for q in questions if keys[q.qa_id] in known]
            if not todo:
                log(f"{model.role} {model.version} {mode}: all {len(questions)} answers reused")
                continue
            log(
                f"{model.role} {model.version} {mode}: answering {len(todo)} questions "
                f"({len(questions) - len(todo)} reused)"
            )
            scored = answer_and_score(
                model.path,
                todo,
                system_prompt=system_prompt,
                encode=encode,
                max_prompt_tokens=params.max_prompt_tokens,
                max_new_tokens=params.max_new_tokens,
                batch_size=params.batch_size,
            )
            now = datetime.now(UTC)
            for q, s in zip(todo, scored, strict=True):
                rows.append(
                    {
                        "eval_key": keys[q.qa_id],
                        "model_version": model.version,
                        "qa_id": q.qa_id,
                        "mode": mode,
                        "slice": q.slice,
                        "question": q.question,
                        "reference": q.reference,
                        "answer": s.answer,
                        "context_chunk_ids": list(s.context_chunk_ids),
                        "index_version": index_version,
                        "rouge_l": s.rouge_l,
                        "token_f1": s.token_f1,
                        "embedding_similarity": s.embedding_similarity,
                        "reference_nll": s.reference_nll,
                        "reference_tokens": s.reference_tokens,
                        "config_digest": digest,
                        "dagster_run_id": dagster_run_id,
                        "evaluated_at": now,
                    }
                )
    new = EVAL_HISTORY.conform(rows) if rows else EVAL_HISTORY.empty()
    old = history.filter(pl.col("eval_key").is_in(reused)) if reused else EVAL_HISTORY.empty()
    return pl.concat([old.select(list(EVAL_HISTORY.columns)), new]), new


def _unique(models: Sequence[EvalModel]) -> list[EvalModel]:
    """One evaluation per model version (the champion may be the candidate)."""
    seen: set[str] = set()
    out = []
    for m in models:
        if m.version not in seen:
            seen.add(m.version)
            out.append(m)
    return out
