"""From scored rows to the report's summary: intervals, improvements, slices, the gate.

The summary is a JSON-ready dict because it is persisted (eval_reports.summary) and rendered; `EvalVerdict` is the
typed view of it that the Dagster layer reads (headline improvement, both gate decisions, slices, classifier scores).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from aiinfra_dagster.evaluation.compare import (
    SliceDelta,
    improvement,
    metric_names,
    paired,
    slice_deltas,
    summarize,
    worst_answers,
)
from aiinfra_dagster.evaluation.gate import Decision, headline_decision, slice_decision
from aiinfra_dagster.evaluation.metrics import Interval
from aiinfra_dagster.evaluation.pipeline import EvalModel
from aiinfra_dagster.settings import EvaluationSettings, PromotionSettings


def incumbent_of(models: Sequence[EvalModel]) -> EvalModel:
    """The champion when there is one, else the base model."""
    by_role = {m.role: m for m in models}
    return by_role.get("champion") or by_role["base"]


def report_id(models: Sequence[EvalModel], qa_ids: Sequence[str], digests: Sequence[str]) -> str:
    """The same models on the same questions under the same config: the same report."""
    key = json.dumps(
        {"models": sorted((m.role, m.version) for m in models), "qa": sorted(qa_ids), "config": sorted(digests)}
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def build_summary(
    rows: pl.DataFrame,
    models: Sequence[EvalModel],
    modes: Sequence[str],
    *,
    params: EvaluationSettings,
    promotion: PromotionSettings,
) -> dict[str, Any]:
    """Everything the report, the gate checks and the eval_reports row say, JSON-ready."""
    by_role = {m.role: m for m in models}
    candidate, incumbent = by_role["candidate"], incumbent_of(models)
    bootstrap: dict[str, Any] = {"resamples": params.bootstrap_resamples, "confidence": params.confidence}
    headline_mode = params.headline_mode if params.headline_mode in modes else modes[0]

    def model_rows(model: EvalModel, mode: str) -> pl.DataFrame:
        return rows.filter((pl.col("model_version") == model.version) & (pl.col("mode") == mode))

    metrics = {
        m.role: {mode: {k: asdict(v) for k, v in summarize(model_rows(m, mode), **bootstrap).items()} for mode in modes}
        for m in models
    }
    deltas, pairs_by_mode = {}, {}
    for mode in modes:
        pairs_by_mode[mode] = paired(model_rows(candidate, mode), model_rows(incumbent, mode))
        deltas[mode] = {k: asdict(improvement(k, pairs_by_mode[mode], **bootstrap)) for k in metric_names()}
    slices = slice_deltas(params.headline_metric, pairs_by_mode[headline_mode], promotion.min_slice_questions)

    if candidate.version == incumbent.version:
        gate = Decision(True, f"passed: the candidate {candidate.version} is already the champion; nothing to promote")
        slices_gate = Decision(True, "passed: candidate and champion are the same model")
    else:
        headline = Interval(**deltas[headline_mode][params.headline_metric])
        gate = headline_decision(params.headline_metric, headline_mode, incumbent.role, headline, promotion)
        slices_gate = slice_decision(params.headline_metric, slices, promotion)
    worst = worst_answers(model_rows(candidate, headline_mode), params.headline_metric, params.worst_questions)
    column = "reference_nll" if params.headline_metric == "reference_perplexity" else params.headline_metric
    return {
        "modes": list(modes),
        "metric_names": list(metric_names()),
        "versions": {m.role: m.version for m in models},
        "paths": {m.role: str(m.path) for m in models},
        "incumbent_role": incumbent.role,
        "incumbent_version": incumbent.version,
        "headline_metric": params.headline_metric,
        "headline_mode": headline_mode,
        "confidence": params.confidence,
        "questions": int(rows["qa_id"].n_unique()) if rows.height else 0,
        "metrics": metrics,
        "deltas": deltas,
        "slices": [asdict(s) for s in slices],
        "gate": asdict(gate),
        "slices_gate": asdict(slices_gate),
        "worst": [{**w, "score": w[column]} for w in worst],
    }


def headline_delta(summary: Mapping[str, Any]) -> dict[str, float]:
    return summary["deltas"][summary["headline_mode"]][summary["headline_metric"]]


@dataclass(frozen=True)
class ClassifierScores:
    """The topic classifier on held-out chunks, next to the label model it learned from."""

    accuracy: float
    macro_f1: float
    label_model_accuracy: float


@dataclass(frozen=True)
class EvalVerdict:
    """What an eval report decided, typed: the headline improvement, the two gate decisions and their inputs."""

    report_id: str
    incumbent_role: str
    incumbent_version: str
    headline_metric: str
    headline_mode: str
    headline_delta: Interval
    gate: Decision
    slices_gate: Decision
    slices: tuple[SliceDelta, ...]
    questions: int
    classifier: ClassifierScores | None
    inputs: Mapping[str, Any]

    @property
    def passed(self) -> bool:
        """Both decisions passed: the candidate may be promoted."""
        return self.gate.passed and self.slices_gate.passed

    @property
    def incumbent(self) -> str:
        return f"{self.incumbent_role} {self.incumbent_version}"

    @property
    def headline(self) -> str:
        return f"{self.headline_metric} ({self.headline_mode})"

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> EvalVerdict:
        """The typed view of a summary built by `build_summary` (with report_id and inputs added)."""
        delta = headline_delta(summary)
        classifier = summary.get("classifier")
        return cls(
            report_id=str(summary["report_id"]),
            incumbent_role=str(summary["incumbent_role"]),
            incumbent_version=str(summary["incumbent_version"]),
            headline_metric=str(summary["headline_metric"]),
            headline_mode=str(summary["headline_mode"]),
            headline_delta=Interval(
                float(delta["mean"]), float(delta["low"]), float(delta["high"]), int(delta.get("n", 0))
            ),
            gate=Decision(bool(summary["gate"]["passed"]), str(summary["gate"]["reason"])),
            slices_gate=Decision(bool(summary["slices_gate"]["passed"]), str(summary["slices_gate"]["reason"])),
            slices=tuple(SliceDelta(**s) for s in summary["slices"]),
            questions=int(summary["questions"]),
            classifier=ClassifierScores(
                float(classifier["accuracy"]["mean"]),
                float(classifier["macro_f1"]),
                float(classifier["label_model_accuracy"]),
            )
            if classifier
            else None,
            inputs=dict(summary.get("inputs") or {}),
        )
