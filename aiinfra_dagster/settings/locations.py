"""Every derived location filled in once, when the settings are validated.

`storage.home` and the paths under it used to be derived where they were used (11 places, some resolving to absolute
paths and some not). Now the settings hold them already absolute: `storage.home`, `storage.root` (a local lake root;
object-store URIs are kept as given), `models.store`, `qdrant.path` (embedded only), `evaluation.reports_dir`,
`monitoring.audit_dir` and `training.deepspeed.extensions_dir`. Relative values resolve against the working directory
of the process that loads the settings; re-validating the resolved settings (what every Dagster run does with the
resource's JSON) changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel


def absolute(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def is_local_uri(uri: str) -> bool:
    """A path or file:// URI (the lakehouse reads tables by this rule too; settings import nothing of the project)."""
    return "://" not in uri or uri.startswith("file://")


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    return dict(value) if isinstance(value, dict) else {}


def _fill(section: dict[str, Any], key: str, default: str | Path) -> None:
    section[key] = absolute(section.get(key) or default)


def resolve_locations(data: dict[str, Any]) -> dict[str, Any]:
    """The raw settings data with every derived location absolute (see the module docstring)."""
    data = dict(data)
    storage = _section(data, "storage")
    home = Path(absolute(storage.get("home") or ".aiinfra"))
    storage["home"] = str(home)
    root = storage.get("root") or str(home / "lake")
    storage["root"] = absolute(root.removeprefix("file://")) if is_local_uri(root) else root

    models = _section(data, "models")
    _fill(models, "store", home / "models")

    qdrant = _section(data, "qdrant")
    if not qdrant.get("url"):
        _fill(qdrant, "path", home / "qdrant")

    evaluation = _section(data, "evaluation")
    _fill(evaluation, "reports_dir", home / "reports")

    monitoring = _section(data, "monitoring")
    _fill(monitoring, "audit_dir", home / "reports" / "lineage_audit")

    training = _section(data, "training")
    deepspeed = dict(training.get("deepspeed") or {})
    _fill(deepspeed, "extensions_dir", home / "cache" / "torch_extensions")
    training["deepspeed"] = deepspeed

    data.update(
        storage=storage, models=models, qdrant=qdrant, evaluation=evaluation, monitoring=monitoring, training=training
    )
    return data


def location(value: str | None, name: str) -> Path:
    """A location the settings resolved; None only in a section built on its own, outside `Settings`."""
    if value is None:
        raise ValueError(f"{name} is unset: build the whole Settings (load_settings) so its locations are resolved")
    return Path(value)
