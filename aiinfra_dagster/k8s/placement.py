"""Where GPU-heavy steps run: the `dagster-k8s/config` tag and the concurrency pool every such asset carries.

The tag is read by dagster-k8s's `k8s_job_executor` when it builds the step's Kubernetes Job; locally
(in-process / multiprocess executors) it is inert, while the pool limits GPU steps on every executor.
"""

from __future__ import annotations

import re
from typing import Any

from dagster_k8s.job import USER_DEFINED_K8S_CONFIG_KEY, UserDefinedDagsterK8sConfig

from aiinfra_dagster.settings import DagsterSettings, K8sSettings

K8S_CONFIG_TAG = USER_DEFINED_K8S_CONFIG_KEY  # "dagster-k8s/config"

# apimachinery's resource.Quantity grammar: a signed decimal, then a binary-SI, decimal-SI or exponent suffix.
QUANTITY_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
# A qualified resource name such as nvidia.com/gpu or amd.com/gpu (DNS subdomain prefix / name).
RESOURCE_NAME_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


def _check_settings(k8s: K8sSettings) -> None:
    """Refuse k8s settings the API server would reject, at definition load rather than mid-run."""
    errors = [
        f"k8s.{field}: {value!r} is not a Kubernetes quantity (e.g. 16Gi, 512Mi, 4, 500m)"
        for field, value in (("cpu", k8s.cpu), ("memory", k8s.memory))
        if not QUANTITY_RE.match(value)
    ]
    if not RESOURCE_NAME_RE.match(k8s.gpu_resource) or "/" not in k8s.gpu_resource:
        errors.append(f"k8s.gpu_resource: {k8s.gpu_resource!r} is not a vendor resource name like nvidia.com/gpu")
    if errors:
        raise ValueError("invalid Kubernetes settings:\n  " + "\n  ".join(errors))


def gpu_k8s_config(k8s: K8sSettings) -> dict[str, Any]:
    """The per-step Kubernetes config of a GPU step: GPU limits, memory, node selector, tolerations.

    Keys are normalised to dagster-k8s's snake_case form (it accepts camelCase too, e.g. `nodeSelector`,
    `tolerationSeconds`, and rejects unknown keys), so a typo in `k8s.tolerations` fails here.
    """
    _check_settings(k8s)
    # Extended resources (GPUs) may only be limits (requests default to them and must be equal).
    limits: dict[str, str] = {"cpu": k8s.cpu, "memory": k8s.memory}
    if k8s.gpu_count:
        limits[k8s.gpu_resource] = str(k8s.gpu_count)
    pod_spec: dict[str, Any] = {}
    if k8s.node_selector:
        pod_spec["node_selector"] = dict(k8s.node_selector)
    if k8s.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in k8s.tolerations]
    raw = {
        "container_config": {"resources": {"limits": limits, "requests": {"cpu": k8s.cpu, "memory": k8s.memory}}},
        "pod_spec_config": pod_spec,
    }
    try:
        normalised = UserDefinedDagsterK8sConfig.from_dict(raw)
    except Exception as exc:  # dagster-k8s raises a bare Exception naming the Kubernetes model
        raise ValueError(f"invalid Kubernetes settings (k8s.tolerations / k8s.node_selector): {exc}") from exc
    config: dict[str, Any] = {"container_config": dict(normalised.container_config)}
    if normalised.pod_spec_config:
        config["pod_spec_config"] = dict(normalised.pod_spec_config)
    return config


def gpu_step(*, k8s: K8sSettings, dagster: DagsterSettings) -> dict[str, Any]:
    """Keyword arguments for `@dg.asset` of a GPU-heavy asset: op tags (from `k8s`) and pool (`dagster.gpu_pool`)."""
    return {"op_tags": {K8S_CONFIG_TAG: gpu_k8s_config(k8s)}, "pool": dagster.gpu_pool}
