"""Model files on disk: content hashes and sizes, the same everywhere a model is recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(paths: Iterable[Path]) -> str:
    """sha256 over the files' names and bytes, in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def directory_bytes(path: Path, exclude: Iterable[Path] = ()) -> int:
    """Bytes of every file under `path`, except the `exclude`d ones."""
    skipped = set(exclude)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p not in skipped)
