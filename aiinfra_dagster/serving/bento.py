"""Building the Bento: models into the BentoML model store, the service and its config into a Bento.

BentoML keeps process-wide state (its home directory, the stores), so every
BentoML call runs in a child process (`python -m aiinfra_dagster.serving.bento
<spec.json>`) with BENTOML_HOME under `<storage.home>/bentoml`; nothing goes
to ~/bentoml.  Models enter the store with `bentoml.models.create` (the
`bentoml.transformers` API is broken with transformers 5) under the version
their producing asset recorded, so an unchanged model is imported once.  The
Bento version is a fingerprint of everything it serves (model versions, index
alias, settings, service code); an unchanged Bento is reused, not rebuilt.  The
package's Python files are copied into the Bento so it is self-contained for
`bentoml containerize`; the build is offline (`lock_packages: false`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from aiinfra_dagster.models.files import directory_bytes
from aiinfra_dagster.serving.config import (
    CONFIG_ENV,
    ServedModel,
    ServingConfig,
    portable_settings,
    write_config,
)
from aiinfra_dagster.settings import ServingSettings, Settings, StorageSettings
from aiinfra_dagster.settings.secrets import SERVING_API_KEY_ENV

SERVICE = "aiinfra_dagster.serving.service:DocsAssistant"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# Distributions the service imports; pinned to the versions installed here (containerize installs them).
RUNTIME_DISTRIBUTIONS = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "numpy",
    "polars",
    "deltalake",
    "pyarrow",
    "pydantic",
    "pydantic-settings",
    "pyyaml",
    "qdrant-client",
    "qdrant-edge-py",
    "peft",
    "jinja2",
)
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class ModelSource:
    """A model directory to serve and the version its producing asset recorded."""

    name: str  # BentoML model name, e.g. aiinfra-llm
    version: str
    path: str
    asset: str

    @property
    def tag(self) -> str:
        return f"{self.name}:{_tag_part(self.version)}"


@dataclass(frozen=True)
class BuiltBento:
    tag: str
    path: Path
    size_bytes: int
    models_bytes: int
    reused: bool
    config: ServingConfig


def bentoml_env(storage: StorageSettings) -> dict[str, str]:
    """Environment for every BentoML child process: our home, no telemetry, offline."""
    env = dict(os.environ)
    env.update(BENTOML_HOME=str(storage.bentoml_home), BENTOML_DO_NOT_TRACK="true", HF_HUB_OFFLINE="1")
    return env


def thread_env(serving: ServingSettings) -> dict[str, str]:
    """Thread counts for the server's numeric libraries, set before torch loads."""
    n = str(serving.torch_threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "TOKENIZERS_PARALLELISM": "false"}


def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def bento_config(
    settings: Settings, llm: ModelSource, classifier: ModelSource, encoder: ModelSource, index_alias: str
) -> ServingConfig:
    """The serving config, with the Bento tag derived from everything it contains.

    It takes the whole `Settings`: the Bento carries all of them (`portable_settings`) for the service it runs.
    """
    portable = portable_settings(settings)
    parts = {
        "models": [m.tag for m in (llm, classifier, encoder)],
        "index_alias": index_alias,
        "api_key_required": key_required(settings.serving),
        "settings": json.loads(portable.model_dump_json()),
        "code": code_fingerprint(),
    }
    version = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return ServingConfig(
        bento_tag=f"{settings.serving.bento_name}:{version}",
        llm=ServedModel(tag=llm.tag, version=llm.version, source_path=llm.path),
        classifier=ServedModel(tag=classifier.tag, version=classifier.version, source_path=classifier.path),
        encoder=ServedModel(tag=encoder.tag, version=encoder.version, source_path=encoder.path),
        index_alias=index_alias,
        settings_json=portable.model_dump_json(),
        api_key_required=key_required(settings.serving),
    )


def key_required(serving: ServingSettings) -> bool:
    """A key configured here, or one held in a cluster Secret: either way the service refuses to run without it."""
    return bool(serving.api_key or serving.api_key_secret)


def bento_dir(storage: StorageSettings, tag: str) -> Path:
    name, version = tag.split(":", 1)
    return storage.bentoml_home / "bentos" / name / version


def model_dir(storage: StorageSettings, tag: str) -> Path:
    name, version = tag.split(":", 1)
    return storage.bentoml_home / "models" / name / version


def build_bento(
    settings: Settings, llm: ModelSource, classifier: ModelSource, encoder: ModelSource, index_alias: str
) -> BuiltBento:
    """Import the models and build the Bento (in a child process), or reuse an identical one."""
    for model in (llm, classifier, encoder):
        if not Path(model.path).is_dir():
            raise FileNotFoundError(
                f"{model.asset}: model directory {model.path} does not exist (materialize {model.asset})"
            )
    config = bento_config(settings, llm, classifier, encoder, index_alias)
    path = bento_dir(settings.storage, config.bento_tag)
    reused = (path / "bento.yaml").is_file()
    if not reused:
        work = settings.storage.serving_dir / "build" / config.bento_tag.split(":")[1]
        context = _build_context(work / "context", config)
        spec = work / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "context": str(context),
                    "config": json.loads(config.model_dump_json()),
                    "models": [asdict(m) for m in (llm, classifier, encoder)],
                    "python": _python_options(),
                }
            )
        )
        env = bentoml_env(settings.storage) | {CONFIG_ENV: str(context / "serving_config.json")}
        if key_required(settings.serving):  # the service module refuses to load without one; the build needs any
            key = settings.serving.api_key
            env[SERVING_API_KEY_ENV] = key.get_secret_value() if key else "build-time-placeholder"
        proc = subprocess.run(
            [sys.executable, "-m", "aiinfra_dagster.serving.bento", str(spec)],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bentoml build failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        shutil.rmtree(work, ignore_errors=True)
    models_bytes = sum(directory_bytes(model_dir(settings.storage, m.tag)) for m in (llm, classifier, encoder))
    return BuiltBento(config.bento_tag, path, directory_bytes(path), models_bytes, reused, config)


def _build_context(context: Path, config: ServingConfig) -> Path:
    shutil.rmtree(context, ignore_errors=True)
    target = context / "aiinfra_dagster"
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    write_config(config, context)
    return context


def _python_options() -> dict[str, Any]:
    packages = []
    for dist in RUNTIME_DISTRIBUTIONS:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        packages.append(f"{dist}=={version.split('+')[0]}")
    return {"packages": packages, "lock_packages": False, "extra_index_url": [TORCH_CPU_INDEX]}


def _tag_part(version: str) -> str:
    """A BentoML tag version: lowercase alphanumerics, '-', '_', '.' (max 63)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in version.lower()).strip("-_.")
    return (cleaned or "unversioned")[:63]


# --- child process -------------------------------------------------------------------------------


def _import_model(model: dict[str, Any]) -> None:
    import bentoml  # local import: bentoml reads BENTOML_HOME at import; only the build child process has it set
    from bentoml.exceptions import NotFound  # local import: as bentoml above

    tag = f"{model['name']}:{_tag_part(model['version'])}"
    try:
        bentoml.models.get(tag)
        return
    except NotFound:
        pass
    with bentoml.models.create(
        tag, labels={"asset": model["asset"]}, metadata={"version": model["version"], "source_path": model["path"]}
    ) as stored:
        shutil.copytree(model["path"], stored.path, dirs_exist_ok=True, copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _main(spec_path: str) -> None:
    import bentoml  # local import: bentoml reads BENTOML_HOME at import; only the build child process has it set

    spec = json.loads(Path(spec_path).read_text())
    for model in spec["models"]:
        _import_model(model)
    config = spec["config"]
    name, version = config["bento_tag"].split(":", 1)
    bento = bentoml.bentos.build(
        SERVICE,
        name=name,
        version=version,
        build_ctx=spec["context"],
        include=["aiinfra_dagster/**/*.py", "aiinfra_dagster/py.typed", "serving_config.json"],
        labels={"llm": config["llm"]["tag"].replace(":", "-"), "index_alias": config["index_alias"]},
        description="aiinfra-dagster documentation assistant: /ask, /search, /classify",
        python=spec["python"],
        docker={"python_version": "3.11"},
    )
    print(bento.tag)


if __name__ == "__main__":
    _main(sys.argv[1])
