"""A vector_index run for people: the Dagster metadata of its outcome (counts, metrics, markdown tables).

Pure functions of the outcome `run.build_vector_index` returned; nothing here reads or writes anything.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.markdown import markdown_table
from aiinfra_dagster.retrieval.build import GoldenQueries, IndexBuild
from aiinfra_dagster.retrieval.run import VectorIndexOutcome

HARDEST_QUESTIONS = 15


def hardest_questions(golden: GoldenQueries, ranks: list[int | None]) -> list[tuple[str, str, int | None]]:
    """(qa_id, question, first relevant rank), misses first, then the worst ranks first."""
    return sorted(
        zip(golden.qa_ids, golden.questions, ranks, strict=True), key=lambda r: (r[2] is not None, -(r[2] or 0))
    )


def points_per_second(build: IndexBuild) -> float:
    """Indexing throughput of a version built now; 0.0 for a reused one."""
    return round(build.points / build.build_seconds, 1) if build.built and build.build_seconds else 0.0


def vector_index_metadata(outcome: VectorIndexOutcome) -> dict[str, Any]:
    """MaterializeResult metadata of one vector_index run."""
    result, golden = outcome.build, outcome.golden
    m = result.metrics
    labels = pl.Series("label", outcome.rows.labels, dtype=pl.String).fill_null("(none)").value_counts(sort=True)
    worst = hardest_questions(golden, result.ranks)
    changes = result.changes
    return {
        **{f"input_{name}_version": v for name, v in outcome.inputs.items()},
        "dagster/row_count": result.points,
        "alias": result.alias,
        "index_version": result.version,
        "previous_version": str(result.previous_version),
        "points": result.points,
        "embedding_model_id": outcome.model_id,
        "engine": outcome.engine,
        "location": outcome.location if outcome.on_server else dg.MetadataValue.path(outcome.location),
        "built": result.built,
        "switched": result.switched,
        "build_seconds": round(result.build_seconds, 3),
        "points_per_second": points_per_second(result),
        **m.as_metadata(),  # recall_at_1/5/10, mrr, questions_evaluated
        "questions_left_out": golden.left_out,
        **({f"chunks_{k}_vs_previous": v for k, v in changes.items()} if changes is not None else {}),
        "kept_versions": ", ".join(result.kept_versions),
        "deleted_versions": ", ".join(result.deleted_versions) or "none",
        "retrieval_metrics": dg.MetadataValue.md(
            markdown_table(
                ["metric", "value"],
                [[f"recall@{k}", f"{v:.3f}"] for k, v in m.recall.items()]
                + [["MRR", f"{m.mrr:.3f}"], ["questions", m.questions]],
            )
            + "\n\nA question counts at k when a chunk relevant to it (in its FAQ answer's section, or holding "
            "the opening of its answer) is in the top k; "
            f"{golden.left_out} golden pairs with no relevant chunk in the index are left out."
        ),
        "verification": dg.MetadataValue.md(
            markdown_table(["check", "passed", "detail"], [[n, "yes" if ok else "NO", d] for n, ok, d in result.checks])
        ),
        "hardest_questions": dg.MetadataValue.md(
            markdown_table(
                ["qa_id", "question", "first relevant rank"],
                [[i, q[:100], "not in top 10" if r is None else r] for i, q, r in worst[:HARDEST_QUESTIONS]],
            )
        ),
        "labels": dg.MetadataValue.md(markdown_table(["label", "points"], labels.rows())),
    }
