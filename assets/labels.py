"""Label assets: human reference categories, annotators' labels and the combined chunk labels."""

from pathlib import Path
from typing import Any

import dagster as dg

from aiinfra_dagster.assets.common import DELTA, OWNERS, POLARS, markdown_table
from aiinfra_dagster.assets.keys import (
    CHUNK_EMBEDDINGS_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    HUMAN_LABEL_QUARANTINE_KEY,
    HUMAN_LABELS_KEY,
    REFERENCE_LABELS_KEY,
)
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.labels.human import read_human_label_file, validate_human_labels
from aiinfra_dagster.labels.run import ChunkLabeling, label_all_chunks
from aiinfra_dagster.labels.setup import label_classes
from aiinfra_dagster.labels.setup import reference_labels as configured_reference_labels
from aiinfra_dagster.labels.tables import CHUNK_LABELS, HUMAN_LABEL_QUARANTINE, HUMAN_LABELS, REFERENCE_LABELS
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource

GROUP = "labels"


@dg.asset(
    key=REFERENCE_LABELS_KEY,
    group_name=GROUP,
    kinds={DELTA, POLARS},
    owners=OWNERS,
    tags={"aiinfra/usage": "evaluation-only"},
    description=(
        "Human categorisation used to measure labelers: the chapter each library page belongs to in the "
        "Python docs' library index by default, or the user's own path/label file."
    ),
)
def reference_labels(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource):
    settings = aiinfra.value
    found, origin = configured_reference_labels(
        labels=settings.labels, sources=settings.sources, python_docs_dir=settings.python_docs_dir
    )
    if not found:
        context.log.warning(f"no reference labels ({origin}); labelers cannot be measured")
    frame = REFERENCE_LABELS.conform([{"path": r.path, "label": r.label, "origin": origin} for r in found])
    result = lakehouse.store.sync(REFERENCE_LABELS, frame)
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            REFERENCE_LABELS,
            result,
            origin=origin,
            classes=frame["label"].n_unique(),
            pages_per_class=dg.MetadataValue.md(
                markdown_table(["label", "pages"], frame.group_by("label").len().sort("len", descending=True).rows())
            ),
        )
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            HUMAN_LABELS_KEY,
            deps=[DOCUMENT_CHUNKS_KEY, reference_labels],
            group_name=GROUP,
            kinds={DELTA},
            owners=OWNERS,
            description=(
                "Annotators' labels imported from CSV, JSONL or Label Studio exports; they win over machine labels."
            ),
        ),
        dg.AssetSpec(
            HUMAN_LABEL_QUARANTINE_KEY,
            deps=[DOCUMENT_CHUNKS_KEY, reference_labels],
            group_name=GROUP,
            kinds={DELTA},
            owners=OWNERS,
            description=(
                "Human label records that were not accepted, each with the reason (unknown chunk, unknown label, ...)."
            ),
        ),
    ]
)
def human_labels(lakehouse: LakehouseResource, aiinfra: SettingsResource):
    settings = aiinfra.value
    store = lakehouse.store
    classes = set(label_classes(settings.labels, store.read(REFERENCE_LABELS)))
    chunk_ids = set(store.read(DOCUMENT_CHUNKS)["chunk_id"].to_list())
    records = [r for p in settings.labels.human_labels_paths for r in read_human_label_file(Path(p))]
    imported = validate_human_labels(records, chunk_ids, classes)
    accepted = store.sync(HUMAN_LABELS, HUMAN_LABELS.conform(imported.accepted))
    quarantined = store.sync(HUMAN_LABEL_QUARANTINE, HUMAN_LABEL_QUARANTINE.conform(imported.quarantined))
    files = [Path(p).name for p in settings.labels.human_labels_paths]
    yield dg.MaterializeResult(
        asset_key=HUMAN_LABELS_KEY,
        metadata=lakehouse.table_metadata(
            HUMAN_LABELS, accepted, files=dg.MetadataValue.json(files), records_read=len(records)
        ),
    )
    yield dg.MaterializeResult(
        asset_key=HUMAN_LABEL_QUARANTINE_KEY,
        metadata=lakehouse.table_metadata(
            HUMAN_LABEL_QUARANTINE,
            quarantined,
            sample=dg.MetadataValue.md(
                markdown_table(
                    ["file", "record", "reason"],
                    [[q["source_file"], q["record"], q["reason"]] for q in imported.quarantined[:10]],
                )
            ),
        ),
    )


@dg.asset(
    key=CHUNK_LABELS_KEY,
    group_name=GROUP,
    deps=[DOCUMENT_CHUNKS_KEY, CHUNK_EMBEDDINGS_KEY, reference_labels, HUMAN_LABELS_KEY],
    kinds={DELTA, POLARS},
    owners=OWNERS,
    description=(
        "A label per chunk: labeling functions (keyword, regex, module-name and heading heuristics, each "
        "versioned by its code) and a zero-shot embedding labeler, combined by a Dawid-Skene label model "
        "that learns each source's accuracy from their agreements; human labels win."
    ),
)
def chunk_labels(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    aiinfra: SettingsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    labeled = label_all_chunks(aiinfra.value, lakehouse.store, embedding_model.encoder, warn=context.log.warning)
    return dg.MaterializeResult(metadata=_chunk_labels_metadata(lakehouse, labeled))


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def _chunk_labels_metadata(lakehouse: LakehouseResource, labeled: ChunkLabeling) -> dict[str, Any]:
    outcome, versions = labeled.outcome, labeled.function_versions
    return lakehouse.table_metadata(
        CHUNK_LABELS,
        labeled.write,
        **{f"input_{name}_version": v for name, v in labeled.inputs.items()},
        labeling_version=outcome.version,
        labeling_function_versions=dg.MetadataValue.json(versions),  # the lineage audit reads these
        classes=len(labeled.classes),
        coverage=round(outcome.coverage, 4),
        conflict_rate=round(outcome.conflict_rate, 4),
        evaluated_on_reference_chunks=outcome.evaluated_on,
        label_model_vs_majority_vote=dg.MetadataValue.md(
            markdown_table(
                ["method", "accuracy vs reference", "macro-F1 vs reference"],
                [[c["method"], _pct(c["accuracy"]), _pct(c["macro_f1"])] for c in outcome.comparison],
            )
        ),
        labeling_functions=dg.MetadataValue.md(
            markdown_table(
                [
                    "source",
                    "version",
                    "coverage",
                    "accuracy vs reference",
                    "label model's estimate",
                    "overlap",
                    "agreement (no conflict)",
                    "agrees with final label",
                ],
                [
                    [
                        s["source"],
                        versions.get(str(s["source"]), "-"),
                        _pct(s["coverage"]),
                        _pct(s["accuracy_vs_reference"]),
                        _pct(s["estimated_accuracy"]),
                        _pct(s["overlap"]),
                        _pct(s["agreement"]),
                        _pct(s["agrees_with_final"]),
                    ]
                    for s in outcome.per_source
                ],
            )
        ),
        measured_against=(
            f"reference labels ({outcome.evaluated_on} chunks)"
            if outcome.evaluated_on
            else "no reference labels: coverage, conflicts and agreement between sources instead of accuracy"
        ),
        class_balance=dg.MetadataValue.md(
            markdown_table(["label", "chunks"], sorted(outcome.class_balance.items(), key=lambda kv: -kv[1]))
        ),
        decided_by=dg.MetadataValue.json(
            dict(outcome.table.group_by("decided_by").len().sort("decided_by").iter_rows())
        ),
    )
