"""Schemas of the evaluation-stage Delta tables."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import UTC_TS, TableSchema

EVAL_HISTORY = TableSchema(
    name="eval_history",
    columns={
        "eval_key": pl.String,
        "model_version": pl.String,
        "qa_id": pl.String,
        "mode": pl.String,
        "slice": pl.String,
        "question": pl.String,
        "reference": pl.String,
        "answer": pl.String,
        "context_chunk_ids": pl.List(pl.String),
        "index_version": pl.String,
        "rouge_l": pl.Float64,
        "token_f1": pl.Float64,
        "embedding_similarity": pl.Float64,
        "reference_nll": pl.Float64,
        "reference_tokens": pl.Int64,
        "config_digest": pl.String,
        "dagster_run_id": pl.String,
        "evaluated_at": UTC_TS,
    },
    key=("eval_key",),
    nullable=frozenset({"index_version"}),
    descriptions={
        "eval_key": "hash of (model_version, qa_id, mode, config_digest): one scored answer, never recomputed",
        "model_version": "base-<sha12> for the base model, else the lora_checkpoint version",
        "qa_id": "golden_qa pair (human-written, never trained on)",
        "mode": "closed_book (question only) or grounded (question + chunks retrieved from the vector index)",
        "slice": "the golden pair's source page: gate slices",
        "answer": "the model's greedy answer",
        "context_chunk_ids": "chunks given as context (grounded mode), best first",
        "index_version": "vector index version the context came from (grounded mode)",
        "rouge_l": "ROUGE-L F1 of answer vs reference",
        "token_f1": "SQuAD-style token F1 of answer vs reference",
        "embedding_similarity": "cosine of answer and reference embeddings (the configured embedding model)",
        "reference_nll": "mean negative log-likelihood per token of the reference answer given the prompt",
        "reference_tokens": "tokens of the reference answer scored",
        "config_digest": "hash of everything that decides the row besides the model: "
        "prompt, generation, index, metric code",
    },
)

EVAL_REPORTS = TableSchema(
    name="eval_reports",
    columns={
        "report_id": pl.String,
        "created_at": UTC_TS,
        "dagster_run_id": pl.String,
        "candidate_version": pl.String,
        "candidate_path": pl.String,
        "incumbent_role": pl.String,
        "incumbent_version": pl.String,
        "base_version": pl.String,
        "champion_version": pl.String,
        "headline_metric": pl.String,
        "headline_mode": pl.String,
        "headline_delta": pl.Float64,
        "headline_delta_low": pl.Float64,
        "headline_delta_high": pl.Float64,
        "gate_passed": pl.Boolean,
        "gate_reason": pl.String,
        "slices_passed": pl.Boolean,
        "slices_reason": pl.String,
        "questions": pl.Int64,
        "qa_ids": pl.List(pl.String),
        "inputs": pl.String,
        "summary": pl.String,
        "html_path": pl.String,
    },
    key=("report_id",),
    nullable=frozenset({"champion_version", "headline_delta", "headline_delta_low", "headline_delta_high"}),
    descriptions={
        "report_id": "hash of the models, question sample and evaluation config: the same comparison gives the same id",
        "incumbent_role": "champion, or base when there is no champion yet",
        "gate_passed": "the candidate beat the incumbent on the headline metric by the configured margin",
        "slices_passed": "no slice regressed beyond promotion.slice_tolerance",
        "qa_ids": "the evaluated golden pairs (a fixed, recorded sample when not the whole set)",
        "inputs": "JSON: data versions (training_set, golden_qa, vector index, base sha) behind the comparison",
        "summary": "JSON: every model x mode x metric interval, deltas, classifier scores",
    },
)

CHAMPION_HISTORY = TableSchema(
    name="champion_history",
    columns={
        "event_id": pl.String,
        "sequence": pl.Int64,
        "changed_at": UTC_TS,
        "action": pl.String,
        "model_version": pl.String,
        "model_path": pl.String,
        "previous_version": pl.String,
        "eval_report_id": pl.String,
        "training_set_version": pl.Int64,
        "base_model_sha256": pl.String,
        "dagster_run_id": pl.String,
        "reason": pl.String,
    },
    key=("event_id",),
    nullable=frozenset({"previous_version", "eval_report_id", "training_set_version", "base_model_sha256"}),
    descriptions={
        "sequence": "1, 2, ...: the champion is the row with the highest sequence",
        "action": "promote (through the gate) or rollback (to an earlier champion)",
        "eval_report_id": "the eval_reports row whose gate promoted this model "
        "(for a rollback: the one that first promoted it)",
        "training_set_version": "training_set Delta version the checkpoint was trained on",
    },
)
