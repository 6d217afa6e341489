"""The data stage end to end through real Dagster runs, Delta tables and GE validations."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
import pytest

from aiinfra_dagster.data.tables import (
    CHUNK_DUPLICATES,
    DOCUMENT_CHUNKS,
    GOLDEN_QA,
    QUARANTINE,
    RAW_DOCUMENTS,
    VALIDATED_DOCUMENTS,
)
from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.lakehouse import DeltaStore
from tests.helpers import materialization_metadata, write_files

TABLES = [RAW_DOCUMENTS, VALIDATED_DOCUMENTS, QUARANTINE, DOCUMENT_CHUNKS, CHUNK_DUPLICATES, GOLDEN_QA]

GOOD_RST = """\
Sockets
=======

The :mod:`socket` module gives access to the BSD socket interface. It is available on
all modern Unix systems, Windows, macOS, and probably additional platforms.

Creating sockets
----------------

Use :func:`socket.create_connection` to open a TCP connection to an address and
port; it tries every address returned by name resolution until one succeeds.
"""

GOOD_MD = """\
# Deploying the service

Build the image, push it to the registry and roll the deployment out gradually.

## Rollback

If the error rate rises, roll back to the previous image with one command.
"""

PII_DOC = """\
Support contacts
================

Write to jane.doe@corp-mail.com or call +1 415-555-0132 during office hours.
The staging box lives at 10.20.30.40 and the deploy key is AKIAIOSFODNN7EXAMPLE.
password = "hunter2-Very-Secret"
"""

HOSTILE = {
    "good/sockets.rst": GOOD_RST,
    "good/deploy.md": GOOD_MD,
    "good/contacts.rst": PII_DOC,
    "bad/latin1.txt": "Caf\xe9 cr\xe8me: ".encode("latin-1") * 20,
    "bad/empty.md": b"",
    "bad/whitespace.txt": b" \n\t \n",
    "bad/image.html": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    "bad/control.txt": b"\x00\x01\x02\x03" * 200 + b"looks like text at the end",
    "bad/huge.txt": ("All work and no play makes Jack a dull boy. " * 5000).encode(),
    "mirror/sockets.rst": GOOD_RST,
}
EXPECTED_CHECKS = {
    "bad/latin1.txt": "decodes_as_utf8",
    "bad/empty.md": "not_empty",
    "bad/whitespace.txt": "enough_text",
    "bad/image.html": "parses",
    "bad/control.txt": "not_binary",
    "bad/huge.txt": "within_size_limit",
    "mirror/sockets.rst": "not_duplicate",
}
GOLDEN = [
    # Answers open like a sentence of the corpus, so the index check finds them (golden_answers_in_index).
    {
        "question": "How do I open a TCP connection?",
        "answer": "Use socket.create_connection to open a TCP connection to an address and port.",
    },
    {
        "question": "How do I roll back a deployment?",
        "answer": "If the error rate rises, roll back to the previous image.",
    },
]


@pytest.fixture
def hostile_settings(tmp_path, make_settings):
    corpus = write_files(tmp_path / "corpus", HOSTILE)
    golden = tmp_path / "golden.jsonl"
    golden.write_text("\n".join(json.dumps(r) for r in GOLDEN) + "\n")
    return make_settings(
        sources=[{"name": "hostile", "kind": "directory", "path": str(corpus), "globs": ["**/*"]}],
        validation={"max_bytes": 100_000},
        golden={"kind": "files", "paths": [str(golden)]},
        chunking={"max_tokens": 48, "min_tokens": 4},
        labels={
            "classes": ["Networking", "Deployment"],
            "keyword_functions": {"Networking": ["socket", "tcp"], "Deployment": ["deploy", "image", "rollback"]},
        },
    )


def run_main(settings, instance) -> dg.ExecuteInProcessResult:
    defs = build_definitions(settings)
    result = defs.resolve_job_def("main").execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def versions(store: DeltaStore) -> dict[str, int | None]:
    return {t.name: store.version(t.name) for t in TABLES}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    }


def test_hostile_corpus_is_quarantined_with_reasons_and_nothing_is_lost(hostile_settings, instance):
    result = run_main(hostile_settings, instance)
    store = DeltaStore(hostile_settings.storage.lake_root)
    raw = store.read(RAW_DOCUMENTS)
    valid = store.read(VALIDATED_DOCUMENTS)
    quarantined = store.read(QUARANTINE)

    assert raw.height == len(HOSTILE)
    assert valid.height + quarantined.height == raw.height
    assert set(valid["document_id"]).isdisjoint(set(quarantined["document_id"]))
    by_path = {row["path"]: row for row in quarantined.iter_rows(named=True)}
    assert set(by_path) == set(EXPECTED_CHECKS)
    for path, check in EXPECTED_CHECKS.items():
        assert check in by_path[path]["checks"], (path, by_path[path])
        assert by_path[path]["reason"]
    assert "duplicate_of=" in by_path["mirror/sockets.rst"]["reason"]
    assert "max_bytes=100000" in by_path["bad/huge.txt"]["reason"]

    # Raw keeps the original bytes of every file, including the bad ones, except one over max_bytes: it is never
    # read, and its row holds its size from stat.
    raw_bytes = dict(raw.select("path", "content").iter_rows())
    expected = {p: (c.encode() if isinstance(c, str) else c) for p, c in HOSTILE.items()}
    assert raw_bytes == {**expected, "bad/huge.txt": b""}
    assert raw.filter(pl.col("path") == "bad/huge.txt")["bytes"].item() == len(expected["bad/huge.txt"])

    # PII is redacted downstream, kept in raw, and never reaches chunks.
    contacts = valid.filter(pl.col("path") == "good/contacts.rst").row(0, named=True)
    for secret in ["jane.doe@corp-mail.com", "415-555-0132", "10.20.30.40", "AKIAIOSFODNN7EXAMPLE", "hunter2"]:
        assert secret not in contacts["text"]
        assert secret.encode() in raw_bytes["good/contacts.rst"]
        assert not store.read(DOCUMENT_CHUNKS)["text"].str.contains(secret, literal=True).any()
    assert contacts["pii_redactions"] >= 5
    assert "[EMAIL]" in contacts["text"]

    chunks = store.read(DOCUMENT_CHUNKS)
    assert chunks["n_tokens"].max() <= 48
    assert set(chunks["document_id"]) == set(valid["document_id"])
    assert store.read(GOLDEN_QA).height == len(GOLDEN)

    checks = check_results(result)
    assert checks["raw_documents_expectations"] is False  # warns: raw has bad rows
    for name in [
        "validated_documents_expectations",
        "raw_rows_accounted_for",
        "no_pii_in_validated_documents",
        "chunks_well_formed",
        "chunks_cover_documents",
        "golden_qa_usable",
    ]:
        assert checks[name] is True, name

    meta = materialization_metadata(result, "validated_documents")
    assert meta["delta_version"].value == store.version("validated_documents")
    assert meta["dagster/row_count"].value == valid.height
    assert meta["quarantined_rows"].value == len(EXPECTED_CHECKS)
    assert "raw **10** = valid **3** + quarantined **7**" in meta["accounting"].value


def test_rerun_is_idempotent_and_incremental(hostile_settings, instance, tmp_path):
    run_main(hostile_settings, instance)
    store = DeltaStore(hostile_settings.storage.lake_root)
    first = versions(store)
    snapshot = {t.name: store.read(t).sort(list(t.key)) for t in TABLES}

    run_main(hostile_settings, instance)
    assert versions(store) == first, "a second run with unchanged inputs committed new versions"
    for t in TABLES:
        assert store.read(t).sort(list(t.key)).equals(snapshot[t.name]), t.name

    # Change one document: only it is rewritten downstream.
    (tmp_path / "corpus" / "good/deploy.md").write_text(
        GOOD_MD + "\n## Monitoring\n\nWatch the error rate dashboards.\n"
    )
    result = run_main(hostile_settings, instance)
    raw_meta = materialization_metadata(result, "raw_documents")
    assert (raw_meta["rows_inserted"].value, raw_meta["rows_updated"].value, raw_meta["rows_deleted"].value) == (
        0,
        1,
        0,
    )
    assert store.version("raw_documents") == first["raw_documents"] + 1
    assert store.version("quarantine") == first["quarantine"]
    assert store.read(RAW_DOCUMENTS).height == len(HOSTILE)


def test_failed_step_leaves_tables_consistent(hostile_settings, instance, tmp_path):
    """A run that fails mid-stage (the tokenizer setting is broken) leaves earlier tables intact and
    the next good run completes without duplicates."""
    broken = hostile_settings.model_copy(
        update={
            "models": hostile_settings.models.model_copy(
                update={"embedding": hostile_settings.models.embedding.model_copy(update={"path": "no-such-dir"})}
            )
        }
    )
    result = (
        build_definitions(broken).resolve_job_def("main").execute_in_process(instance=instance, raise_on_error=False)
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "models.embedding" in failure.step_failure_data.error.to_string()
    store = DeltaStore(hostile_settings.storage.lake_root)
    assert store.read(DOCUMENT_CHUNKS).is_empty()
    assert store.read(RAW_DOCUMENTS).height == len(HOSTILE)

    run_main(hostile_settings, instance)
    chunks = store.read(DOCUMENT_CHUNKS)
    assert chunks.height == chunks["chunk_id"].n_unique() > 0
