"""write_text_atomic / write_bytes_atomic: the old file or the new one, never half of one, and no temporary left."""

from __future__ import annotations

import os
import stat

import pytest

from aiinfra_dagster.atomic import write_bytes_atomic, write_text_atomic


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


def test_writes_a_new_file_and_replaces_an_old_one(tmp_path):
    path = tmp_path / "server.json"
    write_text_atomic(path, '{"pid": 1}')
    assert path.read_text() == '{"pid": 1}'
    write_text_atomic(path, "héllo", encoding="utf-8")
    assert path.read_bytes() == "héllo".encode()
    write_bytes_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    write_bytes_atomic(str(path), (part for part in [b"ab", b"", b"cd"]))  # chunks, written in turn
    assert path.read_bytes() == b"abcd"
    assert leftovers(tmp_path) == ["server.json"]


def test_a_new_file_follows_the_umask_and_an_existing_file_keeps_its_mode(tmp_path):
    fresh = tmp_path / "fresh.json"
    old_umask = os.umask(0o022)
    try:
        write_text_atomic(fresh, "{}")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not mkstemp's 0600
    private = tmp_path / "private.json"
    private.write_text("old")
    private.chmod(0o600)
    write_text_atomic(private, "new")
    assert private.read_text() == "new" and stat.S_IMODE(private.stat().st_mode) == 0o600


def test_a_failure_mid_write_leaves_the_old_file_intact_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"requests": 41}')

    def chunks():
        yield b'{"requests": 4'  # half of the new content is on disk (in the temporary) when the writer fails
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(path, chunks())
    assert path.read_text() == '{"requests": 41}'
    assert leftovers(tmp_path) == ["metrics.json"]


def test_a_failure_of_the_rename_leaves_the_target_and_no_temporary(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("kept")
    with pytest.raises(OSError):
        write_text_atomic(target, "cannot replace a non-empty directory")
    assert (target / "inside").read_text() == "kept"
    assert leftovers(tmp_path) == ["taken"]


def test_a_missing_directory_is_an_error_not_created(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "absent" / "x.json", "{}")
    assert leftovers(tmp_path) == []
