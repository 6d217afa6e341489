"""Reading sources: directories, the Python docs with their pydoc fallback (when asked for), stable ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiinfra_dagster.data.ingest import SourceError, iter_source_documents, raw_rows, resolve_source
from aiinfra_dagster.settings import SourceSettings
from tests.helpers import write_files


def test_directory_globs_exclude_cap_and_stable_ids(tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "# A", "sub/b.rst": "B\n=", "drafts/c.md": "# C", "d.bin": b"\x00"})
    source = SourceSettings(
        name="docs", kind="directory", path=str(root), globs=["**/*.md", "**/*.rst"], exclude=["drafts/*"]
    )
    docs = list(iter_source_documents(source, "/nonexistent"))
    assert [d.path for d in docs] == ["a.md", "sub/b.rst"]
    again = list(iter_source_documents(source, "/nonexistent"))
    assert [d.document_id for d in docs] == [d.document_id for d in again]
    assert len({d.document_id for d in docs}) == 2 and all(len(d.document_id) == 32 for d in docs)
    capped = source.model_copy(update={"max_documents": 1})
    assert len(list(iter_source_documents(capped, "/nonexistent"))) == 1


def test_missing_directory_names_the_setting(tmp_path):
    source = SourceSettings(name="docs", kind="directory", path=str(tmp_path / "missing"))
    with pytest.raises(SourceError, match=r"sources\[\].path"):
        list(iter_source_documents(source, "/nonexistent"))


def test_python_docs_fall_back_to_pydoc_topics_when_asked(tmp_path):
    with pytest.raises(SourceError, match="python_docs_dir"):
        resolve_source(SourceSettings(name="python-docs", kind="python_docs"), str(tmp_path / "absent"))
    source = SourceSettings(name="python-docs", kind="python_docs", max_documents=5, pydoc_fallback=True)
    assert resolve_source(source, str(tmp_path / "absent")).kind == "pydoc_topics"
    docs = list(iter_source_documents(source, str(tmp_path / "absent")))
    assert len(docs) == 5 and all(d.path.startswith("pydoc_data.topics/") for d in docs)
    assert all(len(d.content) > 0 for d in docs)
    assert resolve_source(source, str(tmp_path)).kind == "directory"


def test_raw_rows_keep_bytes_and_null_text_for_undecodable_content(tmp_path):
    root = write_files(tmp_path, {"ok.txt": "héllo", "bad.txt": b"\xff\xfe"})
    docs = list(iter_source_documents(SourceSettings(name="s", kind="directory", path=str(root)), "/x"))
    rows = {r["path"]: r for r in raw_rows(docs, datetime(2026, 1, 1, tzinfo=UTC)).iter_rows(named=True)}
    assert rows["ok.txt"]["text"] == "héllo" and rows["ok.txt"]["bytes"] == len("héllo".encode())
    assert rows["bad.txt"]["text"] is None and rows["bad.txt"]["content"] == b"\xff\xfe"
    assert rows["bad.txt"]["format"] == "text"


def test_golden_set_from_files_caps_stably_and_rejects_repeated_ids(tmp_path, make_settings):
    import json

    from aiinfra_dagster.data.golden_source import load_golden_set

    def golden_set(settings):
        return load_golden_set(
            golden=settings.golden, sources=settings.sources, python_docs_dir=settings.python_docs_dir
        )

    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps({"question": f"Q{i}?", "answer": f"A{i}"}) + "\n" for i in range(10)))
    pairs, origin = golden_set(make_settings(golden={"kind": "files", "paths": [str(path)], "max_pairs": 4}))
    again, _ = golden_set(make_settings(golden={"kind": "files", "paths": [str(path)], "max_pairs": 4}))
    assert len(pairs) == 4 and [p.qa_id for p in pairs] == [p.qa_id for p in again]
    assert "g.jsonl" in origin and "first 4" in origin
    with pytest.raises(ValueError, match="repeated ids"):
        golden_set(make_settings(golden={"kind": "files", "paths": [str(path), str(path)]}))
    empty, why = golden_set(make_settings(python_docs_dir=str(tmp_path / "none")))
    assert empty == [] and "python3.11-doc" in why


def test_hash_sampling_is_stable_and_spread(tmp_path):
    root = write_files(tmp_path / "docs", {f"{d}/{i:02d}.md": f"# {d}{i}" for d in "abcd" for i in range(10)})
    source = SourceSettings(name="s", kind="directory", path=str(root), max_documents=12, sample="hash")
    picked = [d.path for d in iter_source_documents(source, "/x")]
    assert picked == [d.path for d in iter_source_documents(source, "/x")]
    assert len(picked) == 12 and picked == sorted(picked)
    assert len({p.split("/")[0] for p in picked}) >= 3  # not just the first folder
    first = [d.path for d in iter_source_documents(source.model_copy(update={"sample": "first"}), "/x")]
    assert first == sorted(first)[:12] and all(p.startswith("a/") or p.startswith("b/") for p in first)
