"""Whether Kubernetes would accept a manifest, checked without a cluster.

`validate_manifest` checks a Job body with kubernetes-validate in strict mode plus the API server's
own rules the JSON schemas cannot express (quantities, extended resources, toleration
operators/effects, label syntax). `serving.k8s` checks the Bento's Deployment and Service with the
same pieces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import kubernetes_validate

from aiinfra_dagster.k8s.placement import QUANTITY_RE, RESOURCE_NAME_RE

DEFAULT_KUBERNETES_VERSION = "1.33"


class ManifestError(ValueError):
    """A manifest that Kubernetes would refuse; the message names the field and the reason."""


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_EFFECTS = {"", "NoSchedule", "PreferNoSchedule", "NoExecute"}


def parse_quantity(value: str | int | float) -> Decimal:
    """A Kubernetes quantity ("16Gi", "500m", "2") as a number; ValueError when it is not one."""
    text = str(value)
    if not QUANTITY_RE.match(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    number = re.match(r"^[+-]?(\d+(\.\d*)?|\.\d+)", text).group(0)  # type: ignore[union-attr]
    suffix = text[len(number) :]
    if suffix in _BINARY:
        return Decimal(number) * _BINARY[suffix]
    if suffix in _DECIMAL:
        return Decimal(number).scaleb(_DECIMAL[suffix])
    return Decimal(number).scaleb(int(suffix[1:]))


def _is_extended(name: str) -> bool:
    """Extended resources (nvidia.com/gpu, amd.com/gpu, ...): namespaced outside kubernetes.io."""
    return "/" in name and not name.split("/", 1)[0].endswith("kubernetes.io") and not name.startswith("hugepages-")


def _resource_errors(where: str, resources: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    parsed: dict[str, dict[str, Decimal]] = {"limits": {}, "requests": {}}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            path = f"{where}.resources.{kind}[{name!r}]"
            if not RESOURCE_NAME_RE.match(name):
                errors.append(f"{path}: {name!r} is not a valid resource name")
            try:
                quantity = parse_quantity(value)
            except ValueError as exc:
                errors.append(f"{path}: {exc} (e.g. 16Gi, 512Mi, 4, 500m)")
                continue
            if quantity < 0:
                errors.append(f"{path}: must be greater than or equal to 0")
            if _is_extended(name) and quantity != quantity.to_integral_value():
                errors.append(f"{path}: extended resource {name} must be a whole number, got {value!r}")
            parsed[kind][name] = quantity
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if _is_extended(name) and limit is not None and request != limit:
            errors.append(
                f"{where}.resources.requests[{name!r}]: must equal its limit "
                "(extended resources cannot be overcommitted)"
            )
        elif _is_extended(name) and limit is None:
            errors.append(f"{where}.resources.limits[{name!r}]: extended resource {name} needs a limit")
        elif limit is not None and request > limit:
            errors.append(
                f"{where}.resources.requests[{name!r}]: {requests[name]!r} exceeds the limit {limits[name]!r}"
            )
    return errors


def _label_errors(where: str, labels: Mapping[str, Any]) -> list[str]:
    errors = []
    for key, value in (labels or {}).items():
        if not RESOURCE_NAME_RE.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
            errors.append(f"{where}[{key!r}]: not a valid label key")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE_RE.match(value):
            errors.append(f"{where}[{key!r}]: {value!r} is not a valid label value (<= 63 chars, alphanumerics, -_.)")
    return errors


def api_server_errors(manifest: Mapping[str, Any]) -> list[str]:
    """Rules the Kubernetes API server enforces on a Job that its JSON schemas do not express."""
    errors: list[str] = []
    metadata = manifest.get("metadata") or {}
    name = metadata.get("name") or ""
    if len(name) > 63 or not _DNS_SUBDOMAIN_RE.match(name):
        errors.append(f"metadata.name: {name!r} must be a DNS-1123 name of at most 63 characters")
    errors += _label_errors("metadata.labels", metadata.get("labels") or {})
    template = (manifest.get("spec") or {}).get("template") or {}
    errors += _label_errors("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels") or {})
    pod = template.get("spec") or {}
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        policy = pod.get("restartPolicy")
        errors.append(f"spec.template.spec.restartPolicy: a Job's pods need Never or OnFailure, got {policy!r}")
    for group in ("initContainers", "containers"):
        for i, container in enumerate(pod.get(group) or []):
            errors += _resource_errors(f"spec.template.spec.{group}[{i}]", container.get("resources") or {})
    for key, value in (pod.get("nodeSelector") or {}).items():
        valid_value = isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE_RE.match(value)
        if not RESOURCE_NAME_RE.match(key) or not valid_value:
            errors.append(f"spec.template.spec.nodeSelector[{key!r}]: {value!r} is not a valid label selector")
    for i, toleration in enumerate(pod.get("tolerations") or []):
        path = f"spec.template.spec.tolerations[{i}]"
        operator, effect = toleration.get("operator") or "Equal", toleration.get("effect") or ""
        if operator not in ("Exists", "Equal"):
            errors.append(f"{path}.operator: {operator!r} must be Exists or Equal")
        if effect not in _EFFECTS:
            errors.append(
                f"{path}.effect: {effect!r} must be one of NoSchedule, PreferNoSchedule, NoExecute (or empty)"
            )
        if operator == "Exists" and toleration.get("value"):
            errors.append(f"{path}.value: must be empty when operator is Exists")
        if not toleration.get("key") and operator != "Exists":
            errors.append(f"{path}.operator: must be Exists when key is empty")
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(f"{path}.tolerationSeconds: only allowed with effect NoExecute")
    return errors


def validate_schema(manifest: Mapping[str, Any], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> str:
    """Strict JSON-schema validation (unknown fields are errors, as `kubectl --validate=strict`).

    Returns "Kind name" for messages.
    """
    kind = f"{manifest.get('kind')} {(manifest.get('metadata') or {}).get('name', '?')}"
    try:
        kubernetes_validate.validate(dict(manifest), kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(p) for p in err.path) or "<root>"
        raise ManifestError(
            f"{kind} is not valid for Kubernetes {err.version} (strict schema): {path}: {err.message}"
        ) from None
    except (kubernetes_validate.VersionNotSupportedError, kubernetes_validate.SchemaNotFoundError) as err:
        raise ManifestError(f"cannot validate {kind}: {err.message}") from None
    return kind


def validate_manifest(manifest: Mapping[str, Any], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> None:
    """Raise ManifestError unless Kubernetes `kubernetes_version` would accept this Job.

    Strict JSON-schema validation (unknown fields are errors, as for `kubectl --validate=strict`) with
    kubernetes-validate, then the API server's value rules (see `api_server_errors`).
    """
    kind = validate_schema(manifest, kubernetes_version)
    errors = api_server_errors(manifest)
    if errors:
        raise ManifestError(f"{kind} would be rejected by the Kubernetes API server:\n  " + "\n  ".join(errors))
