"""Ingestion safety: sizes from stat before reading, the mass-deletion guard, the pydoc fallback only when asked."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from aiinfra_dagster.data.ingest import (
    SourceDocument,
    SourceError,
    iter_source_documents,
    list_source,
    raw_rows,
    read_document,
    resolve_source,
)
from aiinfra_dagster.data.run import ShrinkRefused, ingest_raw_documents, shrink_refusal
from aiinfra_dagster.data.tables import RAW_DOCUMENTS
from aiinfra_dagster.data.validation import split_documents
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.settings import PiiSettings, SourceSettings, ValidationSettings, load_settings
from tests.helpers import write_files

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEXT = "A paragraph of ordinary documentation text, long enough to pass.\n"
TIB = 1 << 40


def sparse(path, size):
    """A file `stat` reports as `size` bytes that takes no disk space; reading it whole would need `size` of memory."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def test_a_file_over_max_bytes_is_sized_by_stat_and_never_read(tmp_path):
    root = write_files(tmp_path / "docs", {"ok.md": TEXT})
    sparse(root / "huge.md", TIB)  # reading it would need a terabyte: it must never be read
    source = SourceSettings(name="docs", kind="directory", path=str(root))
    docs = {d.path: d for d in iter_source_documents(source, "/x", max_bytes=1000)}
    assert docs["ok.md"].content == TEXT.encode() and docs["ok.md"].unread_size is None
    huge = docs["huge.md"]
    assert huge.content == b"" and huge.unread_size == TIB and huge.size == TIB
    rows = {r["path"]: r for r in raw_rows(list(docs.values()), NOW).iter_rows(named=True)}
    assert rows["huge.md"]["bytes"] == TIB and rows["huge.md"]["content"] == b""
    assert len(rows["huge.md"]["content_hash"]) == 64

    # Not read, yet a change of the file (its stat) is still a new version.
    os.utime(root / "huge.md", ns=(1, 1))
    touched = next(d for d in iter_source_documents(source, "/x", max_bytes=1000) if d.path == "huge.md")
    assert touched.content_hash != huge.content_hash
    # Without a limit (the old call shape) small files read as before.
    assert [d.path for d in iter_source_documents(source.model_copy(update={"globs": ["ok.md"]}), "/x")] == ["ok.md"]


def test_a_file_that_grows_past_the_limit_after_listing_is_read_no_further_than_the_limit(tmp_path):
    root = write_files(tmp_path / "docs", {"log.txt": "x" * 10})
    source = SourceSettings(name="docs", kind="directory", path=str(root))
    (listed,) = list_source(source, resolve_source(source, "/x"))
    with open(root / "log.txt", "ab") as fh:
        fh.write(b"y" * 5000)
    doc = read_document("docs", listed, max_bytes=100)
    assert doc.content == b"" and doc.unread_size is not None and doc.unread_size > 100


def test_an_unread_file_is_quarantined_for_its_size_alone_with_size_and_limit():
    docs = [
        SourceDocument("s", "ok.md", TEXT.encode()),
        SourceDocument("s", "big.md", b"", unread_size=5_000_000),
        SourceDocument("s", "big2.md", b"", unread_size=5_000_000),  # same size: not a "duplicate"
    ]
    split = split_documents(raw_rows(docs, NOW), 3, ValidationSettings(max_bytes=1000), PiiSettings(), NOW)
    assert split.valid["path"].to_list() == ["ok.md"]
    rows = {r["path"]: r for r in split.quarantined.iter_rows(named=True)}
    assert rows["big.md"]["checks"] == ["within_size_limit"] == rows["big2.md"]["checks"]
    reason = rows["big.md"]["reason"]
    assert "validation.max_bytes=1000" in reason and "5000000 bytes" in reason and "never read" in reason


def test_python_docs_without_their_directory_fail_unless_the_fallback_is_asked_for(tmp_path):
    absent = str(tmp_path / "absent")
    strict = SourceSettings(name="python-docs", kind="python_docs")
    with pytest.raises(SourceError, match="python_docs_dir") as err:
        resolve_source(strict, absent)
    assert absent in str(err.value) and "pydoc_fallback" in str(err.value) and "python3.11-doc" in str(err.value)
    asked = strict.model_copy(update={"pydoc_fallback": True})
    resolved = resolve_source(asked, absent)
    assert (resolved.kind, resolved.fallback) == ("pydoc_topics", True)
    assert resolve_source(asked, str(tmp_path)).kind == "directory"  # the real docs win when present
    explicit = resolve_source(SourceSettings(name="topics", kind="pydoc_topics"), absent)
    assert (explicit.kind, explicit.fallback) == ("pydoc_topics", False)
    with pytest.raises(ValidationError, match="pydoc_fallback applies to sources of kind 'python_docs'"):
        SourceSettings(name="d", kind="directory", path="/d", pydoc_fallback=True)


def test_the_demo_and_quick_presets_ask_for_the_fallback_and_full_does_not():
    # conftest runs every test in its tmp_path with no AIINFRA_* variables: the presets alone decide
    for profile, expected in [("quick", True), ("demo", True), ("full", False)]:
        sources = load_settings(None, profile=profile).sources
        assert {s.pydoc_fallback for s in sources} == {expected}, profile


@pytest.mark.parametrize(
    ("stored", "listed", "settings", "refused"),
    [
        ({"a", "b"}, set(), {}, "lists no documents"),
        ({"a", "b"}, set(), {"max_shrink_fraction": 1.0}, "lists no documents"),  # none listed: always refused
        ({"a", "b", "c", "d"}, {"a"}, {}, "no longer lists 3 of the 4"),
        ({"a", "b", "c", "d"}, {"a", "x", "y", "z"}, {}, "no longer lists 3 of the 4"),  # replaced, not shrunk
        ({"a", "b", "c", "d"}, {"a", "b"}, {}, None),  # half gone: at the limit, allowed
        ({"a", "b", "c", "d"}, {"a"}, {"max_shrink_fraction": 0.8}, None),
        ({"a", "b"}, set(), {"allow_shrink": True}, None),
        (set(), set(), {}, None),  # nothing stored yet
    ],
)
def test_shrink_refusal(stored, listed, settings, refused):
    source = SourceSettings(name="handbook", kind="directory", path="/mnt/handbook", **settings)
    reason = shrink_refusal(source, "/mnt/handbook", stored, listed)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason
        for part in ["'handbook'", "/mnt/handbook", "sources[].allow_shrink", "nothing was written"]:
            assert part in reason, part


def test_ingest_refuses_an_emptied_source_before_writing_and_allow_shrink_lets_it_through(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    root = write_files(tmp_path / "docs", {f"{i}.md": TEXT + str(i) for i in range(4)})
    other = write_files(tmp_path / "other", {"o.md": TEXT})
    docs = SourceSettings(name="docs", kind="directory", path=str(root))
    others = SourceSettings(name="other", kind="directory", path=str(other))
    first = ingest_raw_documents(store, [docs, others], "/x", NOW, max_bytes=1000)
    assert first.write.row_count == 5
    version = store.version(RAW_DOCUMENTS.name)

    for f in root.iterdir():
        f.unlink()
    (other / "new.md").write_text(TEXT + "new")  # another source's change is not written either
    with pytest.raises(ShrinkRefused, match=r"source 'docs' lists no documents .* holds 4 for it"):
        ingest_raw_documents(store, [docs, others], "/x", NOW, max_bytes=1000)
    assert store.version(RAW_DOCUMENTS.name) == version and store.read(RAW_DOCUMENTS).height == 5

    warnings: list[str] = []
    allowed = docs.model_copy(update={"allow_shrink": True})
    outcome = ingest_raw_documents(store, [allowed, others], "/x", NOW, max_bytes=1000, warn=warnings.append)
    assert (outcome.write.deleted, outcome.write.inserted) == (4, 1)
    assert store.read(RAW_DOCUMENTS)["source"].to_list() == ["other", "other"]
    assert outcome.sources[0].removed == 4 and any("4 stored documents" in w for w in warnings)


def test_lowering_max_documents_is_not_a_shrink_but_losing_the_files_is(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    root = write_files(tmp_path / "docs", {f"{i}.md": TEXT + str(i) for i in range(10)})
    source = SourceSettings(name="docs", kind="directory", path=str(root))
    ingest_raw_documents(store, [source], "/x", NOW)
    capped = ingest_raw_documents(store, [source.model_copy(update={"max_documents": 2})], "/x", NOW)
    assert capped.write.deleted == 8  # a setting change: the files are still listed
    for i in range(2, 10):
        (root / f"{i}.md").unlink()
    ingest_raw_documents(store, [source], "/x", NOW)  # 2 stored, 2 listed: nothing lost
    (root / "0.md").unlink()
    (root / "1.md").unlink()
    with pytest.raises(ShrinkRefused):
        ingest_raw_documents(store, [source], "/x", NOW)


def test_the_pydoc_fallback_never_silently_replaces_the_real_docs_but_the_real_docs_replace_it(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    docs_dir = write_files(tmp_path / "python-docs", {f"library/m{i}.rst.txt": TEXT + str(i) for i in range(3)})
    source = SourceSettings(name="python-docs", kind="python_docs", pydoc_fallback=True, max_documents=5)
    ingest_raw_documents(store, [source], str(docs_dir), NOW)
    version = store.version(RAW_DOCUMENTS.name)

    # The docs disappear (uninstalled, unmounted): the fallback would replace them all; refused, nothing written.
    with pytest.raises(ShrinkRefused, match="pydoc_data.topics fallback"):
        ingest_raw_documents(store, [source], str(tmp_path / "gone"), NOW)
    assert store.version(RAW_DOCUMENTS.name) == version
    # Without pydoc_fallback a missing python_docs_dir is an error naming it.
    with pytest.raises(SourceError, match="python_docs_dir"):
        ingest_raw_documents(store, [source.model_copy(update={"pydoc_fallback": False})], "/gone", NOW)

    # Starting on the fallback, then installing the docs, is an upgrade.
    fresh = DeltaStore(str(tmp_path / "lake2"))
    warnings: list[str] = []
    ingest_raw_documents(fresh, [source], str(tmp_path / "gone"), NOW, warn=warnings.append)
    assert any("pydoc_fallback" in w for w in warnings)
    assert all(p.startswith("pydoc_data.topics/") for p in fresh.read(RAW_DOCUMENTS)["path"])
    upgraded = ingest_raw_documents(fresh, [source], str(docs_dir), NOW)
    assert upgraded.write.inserted == 3 and upgraded.write.deleted == 5
