"""A synthetic_qa run for people: its Dagster metadata from the `SyntheticQA` outcome `run.generate_synthetic_qa`
returned (pure: the table was synced there)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from aiinfra_dagster.markdown import markdown_table
from aiinfra_dagster.synthetic.run import SyntheticQA

SAMPLE_KEPT = 8


def synthetic_qa_metadata(generated: SyntheticQA, drift_report_id: str) -> dict[str, Any]:
    """synthetic_qa's metadata beyond the table's own (`LakehouseResource.table_metadata`); `drift_report_id` is the
    report that started the run ("" when drift did not)."""
    report = generated.report
    return {
        **{f"input_{name}_version": v for name, v in generated.inputs.items()},
        "generator": generated.generator,
        "generation_version": generated.generation_version,
        "chunks_sampled": generated.chunks_sampled,
        "focus_chunks_added": generated.focus_chunks_added,
        "focus_chunks_total": generated.focus_chunks_total,
        "drift_report_id": drift_report_id or "none (not started by drift)",
        "generated": report.generated,
        "newly_generated": generated.newly_generated,
        "reused": generated.reused,
        "kept": report.kept,
        "dropped": dg.MetadataValue.md(
            markdown_table(["filter", "dropped"], sorted(report.dropped_by_filter().items()))
        ),
        "dropped_by_reason": dg.MetadataValue.md(markdown_table(["reason", "dropped"], sorted(report.dropped.items()))),
        "sample_kept": dg.MetadataValue.md(
            markdown_table(
                ["question", "answer (start)"], [[c.question, c.answer[:140]] for c in generated.kept[:SAMPLE_KEPT]]
            )
        ),
    }
