"""Raw user text in the inference log: redacted before it is stored, kept `retention_days`, erased on request.

Real Delta tables throughout; the redaction goes through the real gateway -> writer -> Delta path.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from aiinfra_dagster.cli import main
from aiinfra_dagster.data.pii import PII_TYPES
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.serving.gateway import REQUEST_ID_HEADER, Gateway, RequestLog, pii_redactor
from aiinfra_dagster.serving.inference_logs import compact_inference_log
from aiinfra_dagster.serving.log_writer import InferenceLogWriter, delta_sink
from aiinfra_dagster.serving.retention import ERASURE_LOG, STATS_PROPERTY, forget
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS
from aiinfra_dagster.settings import load_settings

from .test_serving import log_row

EMAIL = "jane.doe@example.com"
PHONE = "555-123-4567"
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def table_bytes(store: DeltaStore, name: str) -> bytes:
    """Every file of the table directory (data files and the transaction log), concatenated."""
    root = Path(store.uri(name))
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def parquet_files(store: DeltaStore, name: str) -> int:
    return sum(1 for _ in Path(store.uri(name)).rglob("*.parquet"))


def ask_through_gateway(request_log: RequestLog, question: str) -> str:
    """One /ask through the real Gateway, whose app answers with an email and a phone number; the request id."""

    async def app(scope, receive, send) -> None:
        body = json.loads((await receive())["body"])
        rid = dict(scope["headers"])[REQUEST_ID_HEADER.encode()].decode()
        request_log.note(rid, answer=f"{body['question']}? Write to {EMAIL} or call {PHONE}.")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": json.dumps({"question": question}).encode(), "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(Gateway(app, request_log=request_log)({"type": "http", "path": "/ask", "headers": []}, receive, send))
    headers = dict(sent[0]["headers"])
    return headers[REQUEST_ID_HEADER.encode()].decode()


@pytest.mark.parametrize("redact", [True, False])
def test_pii_in_queries_and_answers_is_redacted_before_it_reaches_delta(tmp_path, redact):
    store = DeltaStore(str(tmp_path / "lake"))
    writer = InferenceLogWriter(delta_sink(store, INFERENCE_LOG), tmp_path / "spill", flush_seconds=0.05)
    request_log = RequestLog()
    request_log.configure(
        writer,
        {"model_version": "m", "classifier_version": "c", "index_alias": "a", "bento_tag": "b"},
        2000,
        redact=pii_redactor(PII_TYPES) if redact else None,
    )
    rid = ask_through_gateway(request_log, f"I am {EMAIL}, my number is {PHONE}")
    writer.close()
    row = store.read(INFERENCE_LOG).row(0, named=True)
    assert row["request_id"] == rid and row["status_code"] == 200
    if redact:
        assert row["query"] == "I am [EMAIL], my number is [PHONE]"
        assert row["answer"].endswith("Write to [EMAIL] or call [PHONE].")
        assert EMAIL.encode() not in table_bytes(store, INFERENCE_LOG.name)
        assert not list((tmp_path / "spill").glob("*.jsonl"))
    else:  # monitoring.redact_queries: false stores the text as sent
        assert EMAIL in row["query"] and PHONE in row["answer"]


def test_retention_deletes_old_rows_and_vacuum_removes_their_files(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    old = [log_row(i, ts=NOW - timedelta(days=40 + i), query=f"old {EMAIL}") for i in range(3)]
    recent = [log_row(10 + i, ts=NOW - timedelta(days=i)) for i in range(3)]
    for row in [*old, *recent]:  # one small file each, as the service's frequent appends leave them
        store.write(INFERENCE_LOG, INFERENCE_LOG.conform([row]))
    compact_inference_log(store)  # no retention: everything is kept
    assert store.read(INFERENCE_LOGS).height == 6
    store.write(INFERENCE_LOG, INFERENCE_LOG.conform([log_row(20, ts=NOW - timedelta(days=50))]))  # late, old
    files_before = {name: parquet_files(store, name) for name in (INFERENCE_LOG.name, INFERENCE_LOGS.name)}
    assert EMAIL.encode() in table_bytes(store, INFERENCE_LOGS.name)

    kept = compact_inference_log(store, retention_days=30, vacuum_retention_hours=0, now=NOW)

    assert sorted(store.read(INFERENCE_LOGS)["request_id"]) == [r["request_id"] for r in recent]
    assert store.read(INFERENCE_LOG).is_empty()
    assert kept.retention_deleted == {INFERENCE_LOG.name: 0, INFERENCE_LOGS.name: 4}
    assert kept.files_vacuumed[INFERENCE_LOGS.name] > 0 and kept.files_vacuumed[INFERENCE_LOG.name] > 0
    files_after = {name: parquet_files(store, name) for name in files_before}
    assert files_after[INFERENCE_LOG.name] == 0 < files_before[INFERENCE_LOG.name]  # drained and vacuumed
    assert files_after[INFERENCE_LOGS.name] < files_before[INFERENCE_LOGS.name]
    for day in {(NOW - timedelta(days=40 + i)).date() for i in range(3)}:  # the old days' files are gone
        assert not list(Path(store.uri(INFERENCE_LOGS.name)).glob(f"date={day}/*.parquet"))
    assert EMAIL.encode() not in table_bytes(store, INFERENCE_LOGS.name)  # nor in the log's file statistics
    # A run with nothing past the retention deletes nothing and the default vacuum (168 h) keeps recent tombstones.
    again = compact_inference_log(store, retention_days=30, vacuum_retention_hours=168, now=NOW)
    assert again.retention_deleted == {INFERENCE_LOG.name: 0, INFERENCE_LOGS.name: 0}
    assert store.read(INFERENCE_LOGS).height == 3


def _two_tables(store: DeltaStore) -> None:
    """Rows in both tables: r00000..r00003 compacted, r00004..r00005 still raw."""
    rows = [
        log_row(0, query=f"contact me at {EMAIL}"),
        log_row(1, answer=f"Ask {EMAIL.upper()} about it"),
        log_row(2, query="an unrelated question"),
        log_row(3, query="the request to forget by id"),
    ]
    for row in rows:
        store.write(INFERENCE_LOG, INFERENCE_LOG.conform([row]))
    compact_inference_log(store)
    store.write(INFERENCE_LOG, INFERENCE_LOG.conform([log_row(4, query=f"again {EMAIL}"), log_row(5, query="other")]))


def test_forget_by_text_and_by_request_id_erases_from_both_tables_and_records_it(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    _two_tables(store)
    assert EMAIL.encode() in table_bytes(store, INFERENCE_LOGS.name)
    assert EMAIL.encode() in table_bytes(store, INFERENCE_LOG.name)

    by_text = forget(store, tmp_path / "audit", matching="Jane.Doe@Example.com", by="dpo", now=NOW)

    assert by_text.request_ids == ["r00000", "r00001", "r00004"]  # case-insensitive, query or answer
    assert by_text.rows_deleted == {INFERENCE_LOG.name: 1, INFERENCE_LOGS.name: 2}
    assert sorted(store.read(INFERENCE_LOGS)["request_id"]) == ["r00002", "r00003"]
    assert store.read(INFERENCE_LOG)["request_id"].to_list() == ["r00005"]
    for name in (INFERENCE_LOG.name, INFERENCE_LOGS.name):  # vacuumed: no old parquet file, no log statistics
        assert EMAIL.encode() not in table_bytes(store, name).lower()

    by_id = forget(store, tmp_path / "audit", request_ids=["r00003", "r00005"], by="dpo", now=NOW)
    assert by_id.rows_deleted == {INFERENCE_LOG.name: 1, INFERENCE_LOGS.name: 1}
    assert store.read(INFERENCE_LOGS)["request_id"].to_list() == ["r00002"] and store.read(INFERENCE_LOG).is_empty()
    assert b"the request to forget by id" not in table_bytes(store, INFERENCE_LOGS.name)

    record = (tmp_path / "audit" / ERASURE_LOG).read_text()
    entries = [json.loads(line) for line in record.splitlines()]
    assert [e["request_ids"] for e in entries] == [["r00000", "r00001", "r00004"], ["r00003", "r00005"]]
    assert entries[0]["by"] == "dpo" and entries[0]["at"] == NOW.isoformat()
    assert entries[0]["rows_deleted"] == {"inference_log": 1, "inference_logs": 2}
    assert "20-character text" in entries[0]["criterion"] and "2 given id(s)" in entries[1]["criterion"]
    assert "jane" not in record.lower()  # never the matched text
    for name in (INFERENCE_LOG.name, INFERENCE_LOGS.name):
        assert "query" not in DeltaTable(store.uri(name)).metadata().configuration[STATS_PROPERTY].split(",")


def test_forget_needs_a_criterion(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    with pytest.raises(ValueError, match="request ids or a text"):
        forget(store, tmp_path / "audit")
    with pytest.raises(ValueError, match="blank"):
        forget(store, tmp_path / "audit", matching="  ")


def test_aiinfra_forget_command(tmp_path, capsys):
    config = tmp_path / "aiinfra.yaml"
    config.write_text(f"profile: quick\nstorage: {{home: {tmp_path / 'home'}}}\n")
    settings = load_settings(config)
    store = DeltaStore.for_storage(settings.storage)
    _two_tables(store)
    assert main(["forget", "--matching", EMAIL, "--request-id", "r00002", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "inference_logs: 3 row(s) deleted" in out and "inference_log: 1 row(s) deleted" in out
    assert "4 request id(s) erased" in out and EMAIL not in out
    assert store.read(INFERENCE_LOGS)["request_id"].to_list() == ["r00003"]
    assert (Path(settings.monitoring.audit_dir or "") / ERASURE_LOG).is_file()
    assert main(["forget", "--config", str(config)]) == 2
    assert "request ids or a text" in capsys.readouterr().err
    assert store.read(INFERENCE_LOG).get_column("request_id").to_list() == ["r00005"]
