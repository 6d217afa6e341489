"""Replacing a small file whole or not at all.

The new content goes to a temporary file in the same directory (same filesystem, so the rename is atomic), is
flushed and fsynced, then `os.replace`s the target; the directory is fsynced so the rename itself survives a crash.
A reader sees the old file or the new one, never a half-written one, and a failure at any point leaves the old
file as it was and no temporary behind.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data`` (bytes, or chunks of bytes written in turn) atomically.

    The parent directory must exist. An existing file's permission bits are kept; a new file gets the default
    mode under the process umask, as `open` would give it.
    """
    target = Path(path)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")
    chunks = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            try:
                os.fchmod(fh.fileno(), stat.S_IMODE(target.stat().st_mode))
            except FileNotFoundError:
                pass
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see `write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode(encoding))


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some platforms and filesystems cannot open or fsync a directory, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
