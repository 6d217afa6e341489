"""Resolving lineage hops: which materialization of an asset recorded the identifier its consumer names.

Each asset records what it was built from (`input_*` versions, model versions,
report ids) in its materialization metadata; a hop follows one such entry to
the materialization that produced it, with the tags of the run behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiinfra_dagster.lineage.catalog import Catalog, iso, meta, recorded
from aiinfra_dagster.materializations import Materialization
from aiinfra_dagster.monitoring.episodes import TAG_EPISODE, TAG_REPORT

RUN_TAG_PREFIXES = ("aiinfra/", "dagster/")

# Metadata entries shown for each asset's hop (besides the one it was matched by).
FACTS: dict[str, tuple[str, ...]] = {
    "bento_deployment": ("mode", "url", "action", "previous_bento_tag"),
    "bento_build": (
        "model_version",
        "llm_tag",
        "llm_from_asset",
        "classifier_version",
        "encoder_version",
        "index_alias",
        "index_version_at_build",
        "reused_existing_bento",
    ),
    "champion_model": (
        "action",
        "changed",
        "previous_version",
        "eval_report_id",
        "input_training_set_version",
        "input_base_model_sha256",
        "reason",
    ),
    "eval_report": (
        "candidate_version",
        "incumbent",
        "headline",
        "headline_improvement",
        "gate_passed",
        "input_training_set_version",
        "input_golden_qa_version",
        "input_base_model_sha256",
        "input_topic_classifier_version",
    ),
    "lora_checkpoint": (
        "input_training_set_version",
        "input_base_model_sha256",
        "steps",
        "reused_finished_checkpoint",
        "model_path",
    ),
    "training_set": (
        "input_synthetic_qa_version",
        "input_document_chunks_version",
        "dagster/row_count",
        "new_delta_commit",
    ),
    "synthetic_qa": ("generator", "generation_version", "kept", "input_document_chunks_version", "new_delta_commit"),
    "document_chunks": ("input_validated_documents_version", "dagster/row_count", "new_delta_commit"),
    "validated_documents": ("input_raw_documents_version", "dagster/row_count", "new_delta_commit"),
    "raw_documents": ("dagster/row_count", "documents_seen", "new_delta_commit"),
    "base_model": ("source", "location", "revision", "architecture", "model_path"),
    "vector_index": (
        "alias",
        "input_document_chunks_version",
        "input_chunk_labels_version",
        "embedding_model_id",
        "points",
        "built",
    ),
    "topic_classifier": (
        "input_chunk_labels_version",
        "input_document_chunks_version",
        "accuracy",
        "reused_finished_model",
    ),
    "chunk_labels": ("labeling_version", "input_document_chunks_version", "new_delta_commit"),
}

# Of several materializations with the same identifier, the one that produced it (not a later reuse).
PRODUCED: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "champion_model": lambda m: bool(m.get("changed")),
    "lora_checkpoint": lambda m: m.get("reused_finished_checkpoint") is False,
    "topic_classifier": lambda m: m.get("reused_finished_model") is False,
    "vector_index": lambda m: bool(m.get("built")),
    "base_model": lambda m: bool(m.get("converted_now")),
}


def _committed(metadata: Mapping[str, Any]) -> bool:
    return bool(metadata.get("new_delta_commit"))


@dataclass(frozen=True)
class Hop:
    """One resolved (or missing) link: which materialization of `asset` has `key` == `identifier`."""

    role: str
    asset: str
    key: str
    identifier: str | None
    via: str
    run_id: str | None = None
    timestamp: float | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    run_tags: Mapping[str, str] = field(default_factory=dict)
    missing_reason: str | None = None

    @property
    def resolved(self) -> bool:
        return self.missing_reason is None

    @property
    def recorded_at(self) -> str | None:
        return iso(self.timestamp)

    @property
    def triggered_by(self) -> str:
        return triggered_by(self.run_tags, self.run_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "asset": self.asset,
            "key": self.key,
            "identifier": self.identifier,
            "via": self.via,
            "resolved": self.resolved,
            "missing_reason": self.missing_reason,
            "run_id": self.run_id,
            "recorded_at": self.recorded_at,
            "triggered_by": self.triggered_by if self.resolved else None,
            "run_tags": dict(self.run_tags),
            "facts": dict(self.facts),
        }


def triggered_by(tags: Mapping[str, str], run_id: str | None) -> str:
    """What started the run, from its tags: a drift episode, a sensor, a schedule, an operator action, or a person."""
    if tags.get(TAG_EPISODE):
        report = f", drift report {tags[TAG_REPORT]}" if tags.get(TAG_REPORT) else ""
        return f"drift episode {tags[TAG_EPISODE]}{report}"
    for tag, what in (
        ("dagster/sensor_name", "sensor"),
        ("dagster/schedule_name", "schedule"),
        ("aiinfra/action", "action"),
        ("dagster/backfill", "backfill"),
    ):
        if tags.get(tag):
            return f"{what} {tags[tag]}"
    return "manual run" if run_id else "runless event"


def pick(
    candidates: Sequence[Materialization], before: float | None, produced: Callable[[Mapping[str, Any]], bool]
) -> Materialization:
    """The materialization that produced an identifier: of those recorded before its consumer (all when none
    are), the latest that produced it, else the latest."""
    earlier = [m for m in candidates if before is None or m.timestamp <= before] or list(candidates)
    producers = [m for m in earlier if produced(m.metadata)]
    return (producers or earlier)[-1]


def resolve(
    catalog: Catalog, role: str, asset: str, key: str, value: Any, via: str, before: float | None = None
) -> tuple[Hop, Materialization | None]:
    """The hop to the materialization of `asset` whose `key` equals `value`, or a missing hop saying why."""
    identifier = recorded(value)
    hop = Hop(role, asset, key, identifier, via)
    if identifier is None:
        return _missing(hop, f"{via} is not recorded"), None
    found = catalog.of(asset)
    if not found:
        return _missing(hop, f"{asset} has never been materialized"), None
    matches = [m for m in found if recorded(m.metadata.get(key)) == identifier]
    if not matches:
        return _missing(hop, f"no {asset} materialization records {key} = {identifier}"), None
    chosen = pick(matches, before, PRODUCED.get(asset, _committed))
    return hop_of(role, chosen, key, via), chosen


def hop_of(role: str, m: Materialization, key: str, via: str) -> Hop:
    """A resolved hop: the materialization's identifier, facts and the audit-relevant tags of its run."""
    facts = {k: m.metadata[k] for k in FACTS.get(m.asset, ()) if k in m.metadata}
    tags = {k: v for k, v in m.run_tags.items() if k.startswith(RUN_TAG_PREFIXES)}
    return Hop(role, m.asset, key, recorded(m.metadata.get(key)), via, m.run_id or None, m.timestamp, facts, tags)


def _missing(hop: Hop, reason: str) -> Hop:
    return Hop(hop.role, hop.asset, hop.key, hop.identifier, hop.via, missing_reason=reason)


@dataclass
class Chain:
    """The hops resolved so far and the materialization behind each resolved role."""

    hops: list[Hop] = field(default_factory=list)
    found: dict[str, Materialization] = field(default_factory=dict)

    def follow(self, catalog: Catalog, role: str, asset: str, key: str, source: str, source_key: str) -> None:
        """Resolve `asset` by `key` = the `source_key` that the hop `source` recorded."""
        consumer = self.found.get(source)
        if consumer is None:
            self.hops.append(
                Hop(role, asset, key, None, f"{source}.{source_key}", missing_reason=f"the {source} hop is missing")
            )
            return
        hop, m = resolve(
            catalog,
            role,
            asset,
            key,
            consumer.metadata.get(source_key),
            f"{consumer.asset}.{source_key}",
            before=consumer.timestamp,
        )
        self.hops.append(hop)
        if m is not None:
            self.found[role] = m

    def labeling_functions(self) -> None:
        """The code version of every labeling function behind the chunk labels (recorded by chunk_labels)."""
        labels = self.found.get("chunk_labels")
        hop = Hop(
            "labeling_functions",
            "chunk_labels",
            "labeling_version",
            recorded(meta(labels, "labeling_version")),
            "chunk_labels.labeling_function_versions",
        )
        versions = meta(labels, "labeling_function_versions")
        if labels is None:
            hop = _missing(hop, "the chunk_labels hop is missing")
        elif not isinstance(versions, dict):
            hop = _missing(
                hop, "chunk_labels records no labeling_function_versions (materialized before they were recorded)"
            )
        else:
            resolved = hop_of("labeling_functions", labels, "labeling_version", hop.via)
            hop = Hop(**{**vars(resolved), "facts": dict(sorted(versions.items()))})
        self.hops.append(hop)


def chain_from(catalog: Catalog, deployment: Materialization | None, build: Materialization | None) -> Chain:
    """Every hop behind one deployment (or build): model, data, base model, index, classifier and labels."""
    chain = Chain()
    if deployment is not None:
        chain.found["deployment"] = deployment
        chain.hops.append(hop_of("deployment", deployment, "bento_tag", "the deployment audited"))
        chain.follow(catalog, "bento", "bento_build", "bento_tag", "deployment", "bento_tag")
    else:
        chain.hops.append(
            Hop(
                "deployment",
                "bento_deployment",
                "bento_tag",
                None,
                "bento_deployment (latest)",
                missing_reason="bento_deployment has never been materialized: the latest bento_build is audited",
            )
        )
        if build is not None:
            chain.found["bento"] = build
            chain.hops.append(hop_of("bento", build, "bento_tag", "bento_build (latest)"))
    chain.follow(catalog, "champion", "champion_model", "model_version", "bento", "model_version")
    chain.follow(catalog, "eval_report", "eval_report", "report_id", "champion", "eval_report_id")
    chain.follow(catalog, "checkpoint", "lora_checkpoint", "model_version", "champion", "model_version")
    chain.follow(catalog, "training_set", "training_set", "delta_version", "champion", "input_training_set_version")
    chain.follow(catalog, "synthetic_qa", "synthetic_qa", "delta_version", "training_set", "input_synthetic_qa_version")
    chain.follow(
        catalog, "document_chunks", "document_chunks", "delta_version", "training_set", "input_document_chunks_version"
    )
    chain.follow(
        catalog,
        "validated_documents",
        "validated_documents",
        "delta_version",
        "document_chunks",
        "input_validated_documents_version",
    )
    chain.follow(
        catalog, "raw_documents", "raw_documents", "delta_version", "validated_documents", "input_raw_documents_version"
    )
    chain.follow(catalog, "base_model", "base_model", "source_sha256", "champion", "input_base_model_sha256")
    chain.follow(catalog, "vector_index", "vector_index", "index_version", "bento", "index_version_at_build")
    chain.follow(catalog, "topic_classifier", "topic_classifier", "model_version", "bento", "classifier_version")
    chain.follow(
        catalog, "chunk_labels", "chunk_labels", "delta_version", "topic_classifier", "input_chunk_labels_version"
    )
    chain.labeling_functions()
    return chain
