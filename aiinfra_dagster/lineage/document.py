"""The reverse lineage audit: which chunks, training sets, index versions and deployments one raw document reaches.

Every recorded version of raw_documents, document_chunks and training_set is
read as it was (Delta time travel, only the columns needed), so a document
that was changed or removed since is still traced.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, RAW_DOCUMENTS
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.lineage.catalog import Catalog, Tables, iso, meta, now, recorded
from aiinfra_dagster.lineage.hops import PRODUCED, chain_from, pick
from aiinfra_dagster.lineage.render import document_markdown
from aiinfra_dagster.materializations import Materialization
from aiinfra_dagster.synthetic.tables import TRAINING_SET

RAW_COLUMNS = ("document_id", "source", "path", "content_hash")


class UnknownDocumentError(LookupError):
    """The document id or path is in no raw_documents version (or names several); the message says what to pass."""


@dataclass(frozen=True)
class DocumentChunk:
    chunk_id: str
    section: str
    position: int
    document_chunks_versions: tuple[int, ...]


@dataclass(frozen=True)
class AffectedDeployment:
    bento_tag: str
    first_deployed_at: str | None
    run_id: str
    current: bool
    training_set_version: int | None
    index_version: str | None
    via: tuple[str, ...]


@dataclass(frozen=True)
class AffectedIndex:
    index_version: str
    document_chunks_version: int
    current: bool
    run_id: str
    built_at: str | None


@dataclass(frozen=True)
class DocumentImpact:
    document_id: str
    source: str
    path: str
    raw_versions: tuple[tuple[int, str], ...]
    """(raw_documents version, content sha256) of every recorded version holding the document"""
    chunks: tuple[DocumentChunk, ...]
    training_set_versions: tuple[int, ...]
    deployments: tuple[AffectedDeployment, ...]
    index_versions: tuple[AffectedIndex, ...]
    audited_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "document_impact",
            "audited_at": self.audited_at,
            "document_id": self.document_id,
            "source": self.source,
            "path": self.path,
            "raw_versions": [{"raw_documents_version": v, "content_hash": h} for v, h in self.raw_versions],
            "chunks": [{**vars(c), "document_chunks_versions": list(c.document_chunks_versions)} for c in self.chunks],
            "training_set_versions": list(self.training_set_versions),
            "deployments": [{**vars(d), "via": list(d.via)} for d in self.deployments],
            "index_versions": [vars(i) for i in self.index_versions],
        }

    def to_markdown(self) -> str:
        return document_markdown(self)


def audit_document(instance: dg.DagsterInstance, store: DeltaStore, document_id: str) -> DocumentImpact:
    """Which chunks, training sets, index versions and deployments a raw document (id, path or source:path) reaches."""
    catalog, tables = Catalog(instance), Tables(store)
    doc_id, source, path, raw_versions = find_document(catalog, tables, document_id)
    chunks = document_chunks(catalog, tables, doc_id)
    chunk_versions = {v for c in chunks for v in c.document_chunks_versions}
    ids = pl.Series([c.chunk_id for c in chunks], dtype=pl.String).implode()
    training_versions = tuple(
        v
        for v in catalog.versions("training_set")
        if tables.at(TRAINING_SET, v, "chunk_id")["chunk_id"].is_in(ids).any()
    )
    indexes = affected_indexes(catalog, chunk_versions)
    deployments = affected_deployments(
        catalog, set(training_versions), {i.index_version for i in indexes}, chunk_versions
    )
    return DocumentImpact(
        doc_id,
        source,
        path,
        tuple(raw_versions),
        tuple(chunks),
        training_versions,
        tuple(deployments),
        tuple(indexes),
        now(),
    )


def find_document(catalog: Catalog, tables: Tables, ref: str) -> tuple[str, str, str, list[tuple[int, str]]]:
    """(document_id, source, path, [(raw version, content hash)]) for a document id, a path or `source:path`."""
    versions = catalog.versions("raw_documents")
    frames = [tables.at(RAW_DOCUMENTS, v, *RAW_COLUMNS).with_columns(pl.lit(v).alias("version")) for v in versions]
    raw = (
        pl.concat(frames)
        if frames
        else RAW_DOCUMENTS.project(RAW_COLUMNS).empty().with_columns(pl.lit(0).alias("version"))
    )
    ids = (
        raw.filter(pl.col("document_id") == ref)["document_id"].unique().to_list()
        or raw.filter((pl.col("path") == ref) | (pl.concat_str("source", pl.lit(":"), "path") == ref))["document_id"]
        .unique()
        .to_list()
    )
    if len(ids) > 1:
        options = sorted(raw.filter(pl.col("document_id").is_in(ids)).select("document_id", "source").unique().rows())
        raise UnknownDocumentError(
            f"'{ref}' names {len(ids)} documents; pass one of: " + ", ".join(f"{i} ({s})" for i, s in options)
        )
    if not ids:
        names = sorted(set(raw["path"]) | set(raw["document_id"]))
        close = difflib.get_close_matches(ref, names, n=5, cutoff=0.5)
        raise UnknownDocumentError(
            f"document '{ref}' is in no raw_documents version ({len(versions)} recorded versions, "
            f"{raw['document_id'].n_unique()} documents); pass a document_id or a path relative to its source"
            + (f". Close matches: {', '.join(close)}" if close else "")
        )
    rows = raw.filter(pl.col("document_id") == ids[0]).sort("version")
    last = rows.row(-1, named=True)
    return ids[0], last["source"], last["path"], list(rows.select("version", "content_hash").iter_rows())


def document_chunks(catalog: Catalog, tables: Tables, doc_id: str) -> list[DocumentChunk]:
    """The document's chunks in every recorded document_chunks version, with the versions holding each."""
    seen: dict[str, tuple[str, int, list[int]]] = {}
    for v in catalog.versions("document_chunks"):
        rows = tables.at(DOCUMENT_CHUNKS, v, "chunk_id", "document_id", "section", "position").filter(
            pl.col("document_id") == doc_id
        )
        for chunk_id, _, section, position in rows.iter_rows():
            seen.setdefault(chunk_id, (section, position, []))[2].append(v)
    chunks = [DocumentChunk(cid, section, position, tuple(vs)) for cid, (section, position, vs) in seen.items()]
    return sorted(chunks, key=lambda c: (c.document_chunks_versions[-1], c.position))


def affected_indexes(catalog: Catalog, chunk_versions: set[int]) -> list[AffectedIndex]:
    """Vector index versions built from a document_chunks version holding the document's chunks."""
    current = recorded(meta(catalog.latest("vector_index"), "index_version"))
    built: dict[str, list[Materialization]] = {}
    for m in catalog.of("vector_index"):
        version = recorded(m.metadata.get("index_version"))
        if version and m.metadata.get("input_document_chunks_version") in chunk_versions:
            built.setdefault(version, []).append(m)
    picked = {version: pick(found, None, PRODUCED["vector_index"]) for version, found in built.items()}
    return [
        AffectedIndex(
            version, int(m.metadata["input_document_chunks_version"]), version == current, m.run_id, iso(m.timestamp)
        )
        for version, m in picked.items()
    ]


def affected_deployments(
    catalog: Catalog, training_versions: set[int], index_versions: set[str], chunk_versions: set[int]
) -> list[AffectedDeployment]:
    """Every Bento ever deployed whose training set, index or topic classifier holds the document's chunks."""
    history = catalog.of("bento_deployment")
    current = recorded(meta(history[-1] if history else None, "bento_tag"))
    first: dict[str, Materialization] = {}
    last: dict[str, Materialization] = {}
    for m in history:
        tag = str(m.metadata.get("bento_tag"))
        first.setdefault(tag, m)
        last[tag] = m
    affected = []
    for tag, m in last.items():
        chain = chain_from(catalog, m, None)
        hop = {h.role: h.identifier for h in chain.hops}
        training_set, index = hop.get("training_set"), hop.get("vector_index")
        classifier_chunks = meta(chain.found.get("topic_classifier"), "input_document_chunks_version")
        via = (
            [f"training_set v{training_set}"]
            if training_set is not None and int(training_set) in training_versions
            else []
        )
        via += [f"vector index {index}"] if index in index_versions else []
        via += (
            [f"topic_classifier (document_chunks v{classifier_chunks})"] if classifier_chunks in chunk_versions else []
        )
        if via:
            affected.append(
                AffectedDeployment(
                    tag,
                    iso(first[tag].timestamp),
                    m.run_id,
                    tag == current,
                    int(training_set) if training_set is not None else None,
                    index,
                    tuple(via),
                )
            )
    return affected
