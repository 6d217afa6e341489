"""The model hub side of training: a configured base LLM, converted once into the local model store.

A GGUF file (the offline default), a local Hugging Face directory or a hub id
(only with ``models.allow_hub_downloads``) is loaded with transformers and
saved as plain safetensors under ``<model store>/base/<name>-<sha>``. The
directory is written beside its final place and renamed when complete, so a
failed conversion never leaves a half-written model that later runs reuse;
a stored model whose weights no longer match its manifest is converted again.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from aiinfra_dagster.models.files import directory_bytes, file_sha256
from aiinfra_dagster.models.locate import ModelNotFoundError, resolve_model_path
from aiinfra_dagster.settings import ModelRef, ModelSettings
from aiinfra_dagster.settings.locations import location

MANIFEST = "manifest.json"
SETTING = "models.llm"


class ModelLoadError(RuntimeError):
    """A configured model exists but cannot be loaded; the message names the setting to fix."""


@dataclass(frozen=True)
class BaseModelManifest:
    name: str
    source: str
    location: str
    revision: str | None
    source_sha256: str
    weights_sha256: str
    parameters: int
    dtype: str
    architecture: str
    licence: str | None
    package_version: str | None
    transformers_version: str
    converted_at: str


@dataclass(frozen=True)
class StoredBaseModel:
    path: Path
    manifest: BaseModelManifest
    converted: bool

    @property
    def size_bytes(self) -> int:
        return directory_bytes(self.path)


def source_files(path: Path) -> list[Path]:
    """The files that define a model: the GGUF itself, or a directory's weights and configs."""
    if path.is_file():
        return [path]
    patterns = ("*.safetensors", "*.bin", "*.gguf", "config.json", "tokenizer*.json")
    return sorted({p for pattern in patterns for p in path.glob(pattern) if p.is_file()})


def weight_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.safetensors"))


def ensure_base_model(ref: ModelRef, store: Path, *, allow_hub_downloads: bool = False) -> StoredBaseModel:
    """The stored copy of the base model named by `ref`, converting it on first use."""
    located = resolve_model_path(ref, SETTING, allow_hub_downloads=allow_hub_downloads)
    files = source_files(located)
    if not files:
        raise ModelNotFoundError(f"{SETTING}: {located} holds no model files (fix {SETTING}.path / .file)")
    source_sha = file_sha256(files)
    name = _model_name(ref, located)
    target = store / "base" / f"{name}-{source_sha[:12]}"
    existing = _read_manifest(target)
    if existing is not None and existing.source_sha256 == source_sha and _weights_intact(target, existing):
        return StoredBaseModel(target, existing, converted=False)
    manifest = _convert(ref, located, target, source_sha, name)
    return StoredBaseModel(target, manifest, converted=True)


def configured_base_model(models: ModelSettings) -> StoredBaseModel:
    """`ensure_base_model` for `models.llm` into the model store `models.store`."""
    return ensure_base_model(
        models.llm, location(models.store, "models.store"), allow_hub_downloads=models.allow_hub_downloads
    )


def _model_name(ref: ModelRef, located: Path) -> str:
    raw = ref.hub_id or (located.stem if located.is_file() else located.name)
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in raw).strip("-.") or "model"


def _read_manifest(target: Path) -> BaseModelManifest | None:
    try:
        return BaseModelManifest(**json.loads((target / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _weights_intact(target: Path, manifest: BaseModelManifest) -> bool:
    files = weight_files(target)
    return bool(files) and file_sha256(files) == manifest.weights_sha256


def _convert(ref: ModelRef, located: Path, target: Path, source_sha: str, name: str) -> BaseModelManifest:
    directory, kwargs = (located.parent, {"gguf_file": located.name}) if located.is_file() else (located, {})
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory), **kwargs)
        model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32, **kwargs)
    except Exception as exc:  # transformers raises many types for truncated or foreign files
        raise ModelLoadError(
            f"{SETTING}: cannot load {located} as a causal LM ({type(exc).__name__}: {exc}); "
            f"the file may be corrupt or not a model — fix {SETTING} or reinstall its package"
        ) from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    _forget_gguf_quantization(model)

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    manifest = BaseModelManifest(
        name=name,
        source=ref.source,
        location=ref.hub_id or (f"{ref.package}:{located.name}" if ref.source == "package" else str(located)),
        revision=ref.revision,
        source_sha256=source_sha,
        weights_sha256=file_sha256(weight_files(staging)),
        parameters=sum(p.numel() for p in model.parameters()),
        dtype=str(model.dtype).removeprefix("torch."),
        architecture=(model.config.architectures or [type(model).__name__])[0],
        licence=ref.licence,
        package_version=_package_version(ref.package) if ref.source == "package" else None,
        transformers_version=metadata.version("transformers"),
        converted_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return manifest


def _forget_gguf_quantization(model: Any) -> None:
    """GGUF weights are dequantised on load; drop the quantizer so they save as plain float tensors."""
    if getattr(model, "hf_quantizer", None) is not None and "gguf" in type(model.hf_quantizer).__name__.lower():
        model.hf_quantizer = None
        model.is_quantized = False
        model.quantization_method = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config


def _package_version(package: str | None) -> str | None:
    if not package:
        return None
    try:
        return metadata.version(package.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return None


def manifest_dict(stored: StoredBaseModel) -> dict[str, Any]:
    return asdict(stored.manifest)
