"""The lineage audit: what produced the deployed Bento (and, re-exported from `document`, what one document reaches).

Every link is resolved from what materializations recorded (identifiers and
`input_*` versions in their metadata, the tags of the runs that produced them)
and from the Delta tables read at those versions, so the answer holds for any
past state, not just the latest one. A link that cannot be resolved is kept as
a missing hop with the reason; nothing is skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, RAW_DOCUMENTS
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.lineage.catalog import Catalog, Tables, meta, now, recorded
from aiinfra_dagster.lineage.document import DocumentImpact, UnknownDocumentError, audit_document
from aiinfra_dagster.lineage.hops import Chain, Hop, chain_from
from aiinfra_dagster.lineage.render import deployment_markdown
from aiinfra_dagster.synthetic.tables import TRAINING_SET

__all__ = [
    "DeploymentLineage",
    "DocumentImpact",
    "Hop",
    "NothingDeployedError",
    "SourceDocument",
    "UnknownDocumentError",
    "audit_deployment",
    "audit_document",
]


class NothingDeployedError(LookupError):
    """Neither bento_deployment nor bento_build has been materialized."""


@dataclass(frozen=True)
class SourceDocument:
    """A raw document as of one raw_documents version (its content hash is its version)."""

    document_id: str
    source: str
    path: str
    content_hash: str
    raw_documents_version: int


@dataclass(frozen=True)
class DeploymentLineage:
    bento_tag: str
    deployed: bool
    hops: tuple[Hop, ...]
    documents: tuple[SourceDocument, ...]
    """raw documents whose chunks the training set was built from"""
    notes: tuple[str, ...]
    audited_at: str

    def hop(self, role: str) -> Hop | None:
        return next((h for h in self.hops if h.role == role), None)

    def _identifier(self, role: str) -> str | None:
        hop = self.hop(role)
        return hop.identifier if hop else None

    @property
    def model_version(self) -> str | None:
        return self._identifier("champion")

    @property
    def training_set_version(self) -> int | None:
        value = self._identifier("training_set")
        return int(value) if value is not None else None

    @property
    def base_model_sha256(self) -> str | None:
        return self._identifier("base_model")

    @property
    def index_version(self) -> str | None:
        return self._identifier("vector_index")

    @property
    def labeling_functions(self) -> dict[str, str]:
        hop = self.hop("labeling_functions")
        return dict(hop.facts) if hop and hop.resolved else {}

    @property
    def missing(self) -> list[Hop]:
        return [h for h in self.hops if not h.resolved]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "deployment_lineage",
            "audited_at": self.audited_at,
            "bento_tag": self.bento_tag,
            "deployed": self.deployed,
            "model_version": self.model_version,
            "training_set_version": self.training_set_version,
            "base_model_sha256": self.base_model_sha256,
            "index_version": self.index_version,
            "labeling_functions": self.labeling_functions,
            "hops_resolved": len(self.hops) - len(self.missing),
            "hops_missing": len(self.missing),
            "hops": [h.to_dict() for h in self.hops],
            "documents": [vars(d) for d in self.documents],
            "notes": list(self.notes),
        }

    def to_markdown(self) -> str:
        return deployment_markdown(self)


def audit_deployment(instance: dg.DagsterInstance, store: DeltaStore) -> DeploymentLineage:
    """What produced the current deployment (the latest bento_deployment; the latest bento_build if never deployed)."""
    catalog = Catalog(instance)
    deployment, build = catalog.latest("bento_deployment"), catalog.latest("bento_build")
    audited = deployment or build
    if audited is None:
        raise NothingDeployedError(
            "nothing is deployed yet: bento_deployment and bento_build have no materializations in this instance"
        )
    chain = chain_from(catalog, deployment, build)
    documents, notes = training_documents(Tables(store), chain)
    tag = str(audited.metadata.get("bento_tag"))
    if deployment is None:
        notes.insert(0, f"{tag} is built but has never been deployed")
    return DeploymentLineage(
        tag,
        deployment is not None,
        tuple(chain.hops),
        tuple(documents),
        tuple(notes + consistency_notes(catalog, chain)),
        now(),
    )


def training_documents(tables: Tables, chain: Chain) -> tuple[list[SourceDocument], list[str]]:
    """The raw documents (as of the chain's raw_documents version) whose chunks the training set was built from."""
    versions = {
        role: meta(chain.found.get(role), "delta_version")
        for role in ("training_set", "document_chunks", "raw_documents")
    }
    if any(v is None for v in versions.values()):
        return [], ["source documents not listed: the training_set -> raw_documents hops are not all resolved"]
    examples = tables.at(TRAINING_SET, versions["training_set"], "chunk_id")
    chunk_ids = examples["chunk_id"].drop_nulls().unique().implode()
    chunks = tables.at(DOCUMENT_CHUNKS, versions["document_chunks"], "chunk_id", "document_id").filter(
        pl.col("chunk_id").is_in(chunk_ids)
    )
    doc_ids = chunks["document_id"].unique()
    raw = tables.at(RAW_DOCUMENTS, versions["raw_documents"], "document_id", "source", "path", "content_hash")
    docs = raw.filter(pl.col("document_id").is_in(doc_ids.implode())).sort("source", "path")
    notes = []
    if (unknown := examples["chunk_id"].drop_nulls().n_unique() - chunks.height) > 0:
        notes.append(f"{unknown} training chunk ids are not in document_chunks v{versions['document_chunks']}")
    if (lost := doc_ids.len() - docs.height) > 0:
        notes.append(f"{lost} documents are not in raw_documents v{versions['raw_documents']}")
    if human := examples["chunk_id"].null_count():
        notes.append(f"{human} training examples are human-written pairs from files (no source chunk)")
    return [
        SourceDocument(document_id, source, path, content_hash, int(versions["raw_documents"]))
        for document_id, source, path, content_hash in docs.iter_rows()
    ], notes


def consistency_notes(catalog: Catalog, chain: Chain) -> list[str]:
    """Links that resolved but disagree with each other: a person should know, though nothing is missing."""
    found = chain.found

    def value(role: str, key: str) -> str | None:
        return recorded(meta(found.get(role), key))

    notes = []
    trained_on = value("champion", "input_training_set_version")
    for role in ("checkpoint", "eval_report"):
        if role in found and "champion" in found and value(role, "input_training_set_version") != trained_on:
            notes.append(
                f"{role} records training_set v{value(role, 'input_training_set_version')}, the champion v{trained_on}"
            )
    if {"eval_report", "champion"} <= found.keys() and value("eval_report", "candidate_version") != value(
        "champion", "model_version"
    ):
        notes.append(
            f"eval report {value('eval_report', 'report_id')} evaluated candidate "
            f"{value('eval_report', 'candidate_version')}"
        )
    generated, contexts = (
        value("synthetic_qa", "input_document_chunks_version"),
        value("training_set", "input_document_chunks_version"),
    )
    if {"synthetic_qa", "training_set"} <= found.keys() and generated != contexts:
        notes.append(
            f"synthetic_qa was generated from document_chunks v{generated}; training contexts come from v{contexts}"
        )
    if "bento" in found and value("bento", "llm_from_asset") not in (None, "champion_model"):
        notes.append(f"the Bento's LLM came from {value('bento', 'llm_from_asset')}, not champion_model")
    alias = catalog.latest("vector_index")
    if (
        "bento" in found
        and alias is not None
        and value("bento", "index_version_at_build") != recorded(alias.metadata.get("index_version"))
    ):
        notes.append(
            f"alias {alias.metadata.get('alias')} now names {alias.metadata.get('index_version')}, not the "
            f"{value('bento', 'index_version_at_build')} it named at build; the service reads the alias"
        )
    return notes
