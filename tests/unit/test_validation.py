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
    assert reasons["bad.txt"]["checks"] == ["decodes_as_utf8", "parses"]  # no size verdict on what did not parse
    assert "could not be parsed: content is not valid UTF-8" in reasons["bad.txt"]["reason"]
    assert reasons["nul.txt"]["checks"] == ["not_binary", "parses"]
    assert "unsupported binary format" in reasons["nul.txt"]["reason"]
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


def test_documents_are_parsed_into_the_document_model_with_pii_redacted_before_offsets():
    from aiinfra_dagster.documents.model import Document

    raw = docs(
        **{"guide.txt": b"# Guide\n\nWrite to ops@example.org for access.\n\n## Next\n\nMore words here today.\n"}
    )
    split = split_documents(raw, 0, ValidationSettings(), PiiSettings(), NOW)
    row = split.valid.row(0, named=True)
    assert row["format"] == "markdown" and row["title"] == "Guide"  # a .txt that is Markdown
    doc = Document.from_json(row["text"], row["structure"]).validate()
    assert [s.heading_path for s in doc.sections] == [("Guide",), ("Guide", "Next")]
    first = doc.sections[0].blocks[0]
    assert doc.text[first.start : first.end] == "Write to [EMAIL] for access."


def test_unparseable_documents_are_quarantined_with_the_parsers_reason():
    from tests.pdfs import image_only_pdf

    raw = docs(**{"scan.pdf": image_only_pdf(), "logo.md": b"\x89PNG\r\n\x1a\n" + bytes(200)})
    split = split_documents(raw, 0, ValidationSettings(), PiiSettings(), NOW)
    reasons = {r["path"]: r for r in split.quarantined.iter_rows(named=True)}
    assert "parses" in reasons["scan.pdf"]["checks"] and "no extractable text" in reasons["scan.pdf"]["reason"]
    assert "PNG image" in reasons["logo.md"]["reason"]
    assert split.valid.is_empty()
