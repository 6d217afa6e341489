"""Ingestion safety through real runs: an oversized file is quarantined by its size and never read; a source that
lost its documents fails the run and writes nothing, unless its allow_shrink says the shrink is meant."""

from __future__ import annotations

import dagster as dg
import pytest

from aiinfra_dagster.data.tables import QUARANTINE, RAW_DOCUMENTS, VALIDATED_DOCUMENTS
from aiinfra_dagster.lakehouse import DeltaStore
from tests.helpers import materialization_metadata, materialize_assets, write_files

STAGE = ["raw_documents", "validated_documents", "quarantine"]
TEXT = "A paragraph of ordinary documentation text about deploying the service.\n"
TIB = 1 << 40


@pytest.fixture
def corpus(tmp_path):
    root = write_files(
        tmp_path / "handbook",
        {"deploy.md": "# Deploy\n\n" + TEXT, "rollback.md": "# Rollback\n\n" + TEXT * 2, "big.md": TEXT * 100},
    )
    with open(root / "huge.md", "wb") as fh:
        fh.truncate(TIB)  # stat says a terabyte, the disk holds nothing: reading it whole would exhaust memory
    return root


def handbook_settings(make_settings, root, **source):
    return make_settings(
        sources=[{"name": "handbook", "kind": "directory", "path": str(root), **source}],
        validation={"max_bytes": 1000},
        golden={"kind": "none"},
    )


def test_an_oversized_file_is_quarantined_with_its_size_and_never_read(corpus, make_settings, instance):
    settings = handbook_settings(make_settings, corpus)
    result = materialize_assets(settings, instance, STAGE)
    store = DeltaStore(settings.storage.lake_root)
    raw = {r["path"]: r for r in store.read(RAW_DOCUMENTS).iter_rows(named=True)}
    assert raw["huge.md"]["content"] == b"" and raw["huge.md"]["bytes"] == TIB
    assert raw["big.md"]["content"] == b"" and raw["big.md"]["bytes"] == len(TEXT) * 100
    assert raw["deploy.md"]["content"] == ("# Deploy\n\n" + TEXT).encode()
    quarantined = {r["path"]: r for r in store.read(QUARANTINE).iter_rows(named=True)}
    assert set(quarantined) == {"big.md", "huge.md"}
    for path, size in [("huge.md", TIB), ("big.md", len(TEXT) * 100)]:
        assert quarantined[path]["checks"] == ["within_size_limit"]
        reason = quarantined[path]["reason"]
        assert f"{size} bytes" in reason and "validation.max_bytes=1000" in reason and "never read" in reason
    assert sorted(store.read(VALIDATED_DOCUMENTS)["path"]) == ["deploy.md", "rollback.md"]
    assert materialization_metadata(result, "raw_documents")["documents_not_read"].value == 2


def test_an_emptied_source_fails_the_run_and_allow_shrink_lets_it_through(corpus, make_settings, instance):
    settings = handbook_settings(make_settings, corpus)
    materialize_assets(settings, instance, STAGE)
    store = DeltaStore(settings.storage.lake_root)
    before = {t.name: store.version(t.name) for t in (RAW_DOCUMENTS, VALIDATED_DOCUMENTS, QUARANTINE)}

    for f in corpus.iterdir():  # the share was unmounted, or a sync emptied it
        f.unlink()
    failed = materialize_assets(settings, instance, STAGE, raise_on_error=False)
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.error.to_string()
    assert "ShrinkRefused" in message and "source 'handbook' lists no documents" in message
    assert "holds 4 for it" in message and "sources[].allow_shrink" in message and str(corpus) in message
    assert {t: store.version(t) for t in before} == before, "a refused shrink committed something"
    assert store.read(RAW_DOCUMENTS).height == 4

    allowed = handbook_settings(make_settings, corpus, allow_shrink=True)
    result = materialize_assets(allowed, instance, STAGE)
    meta = materialization_metadata(result, "raw_documents")
    assert meta["rows_deleted"].value == 4 and store.version(RAW_DOCUMENTS.name) == before["raw_documents"] + 1
    assert store.read(RAW_DOCUMENTS).is_empty() and store.read(QUARANTINE).is_empty()
