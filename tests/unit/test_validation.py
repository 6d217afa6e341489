"""The GE document suite and the valid/quarantine split on small real frames."""

from __future__ import annotations

from datetime import UTC, datetime

from aiinfra_dagster.data.ingest import SourceDocument, raw_rows
from aiinfra_dagster.data.validation import split_documents
from aiinfra_dagster.settings import PiiSettings, ValidationSettings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def docs(**files: bytes):
    return raw_rows([SourceDocument("s", path, content) for path, content in files.items()], NOW)


def test_every_row_lands_in_exactly_one_table_with_reasons():
    raw = docs(
        **{
            "ok.rst": b"A perfectly ordinary paragraph of documentation text.",
            "z-copy.rst": b"A perfectly ordinary paragraph of documentation text.",
            "short.txt": b"tiny",
            "bad.txt": b"\xff\xfe\xfd not utf-8",
            "nul.txt": b"\x00" * 50 + b"some text after the nul bytes",
        }
    )
    split = split_documents(raw, 7, ValidationSettings(min_chars=10), PiiSettings(), NOW)
    assert split.valid["path"].to_list() == ["ok.rst"]
    reasons = {r["path"]: r for r in split.quarantined.iter_rows(named=True)}
    assert set(reasons) == {"z-copy.rst", "short.txt", "bad.txt", "nul.txt"}
    assert reasons["z-copy.rst"]["checks"] == ["not_duplicate"]
    assert reasons["short.txt"]["checks"] == ["enough_text"]
    assert reasons["bad.txt"]["checks"] == ["decodes_as_utf8", "enough_text"]
    assert reasons["nul.txt"]["checks"] == ["not_binary"]
    assert all(r["raw_version"] == 7 for r in reasons.values())
    assert "min_chars=10" in reasons["short.txt"]["reason"]
    assert not split.suite.success
    assert split.reasons["not_duplicate"] == 1


def test_duplicates_keep_the_first_path_and_can_be_allowed():
    raw = docs(**{"b.rst": b"the same words in two files here", "a.rst": b"the same words in two files here"})
    split = split_documents(raw, 0, ValidationSettings(), PiiSettings(), NOW)
    assert split.valid["path"].to_list() == ["a.rst"]
    allowed = split_documents(raw, 0, ValidationSettings(quarantine_duplicates=False), PiiSettings(), NOW)
    assert sorted(allowed.valid["path"]) == ["a.rst", "b.rst"]


def test_pii_is_redacted_and_counted_per_type():
    raw = docs(**{"c.rst": b"Mail ops@example.org or 203.0.113.9; ops@example.org again."})
    split = split_documents(raw, 0, ValidationSettings(), PiiSettings(), NOW)
    text = split.valid["text"][0]
    assert "ops@example.org" not in text and "203.0.113.9" not in text
    assert split.pii_counts["email"] == 2 and split.pii_counts["ip_address"] == 1
    assert split.valid["pii_redactions"][0] == 3
    kept = split_documents(raw, 0, ValidationSettings(), PiiSettings(allowlist=["ops@example.org"]), NOW)
    assert "ops@example.org" in kept.valid["text"][0]


def test_suite_on_empty_frame_passes():
    split = split_documents(docs(), 0, ValidationSettings(), PiiSettings(), NOW)
    assert split.valid.is_empty() and split.quarantined.is_empty() and split.suite.success
