"""Where GPU-heavy steps run: the `dagster-k8s/config` tag and the concurrency pool every such asset carries."""

from __future__ import annotations

from typing import Any

from aiinfra_dagster.settings import Settings

K8S_CONFIG_TAG = "dagster-k8s/config"


def gpu_k8s_config(settings: Settings) -> dict[str, Any]:
    """The per-step Kubernetes config of a GPU step: GPU limits, memory, node selector, tolerations."""
    k8s = settings.k8s
    limits: dict[str, str] = {"memory": k8s.memory, "cpu": k8s.cpu}
    if k8s.gpu_count:
        limits[k8s.gpu_resource] = str(k8s.gpu_count)
    return {
        "container_config": {"resources": {"limits": limits, "requests": {"memory": k8s.memory, "cpu": k8s.cpu}}},
        "pod_spec_config": {"node_selector": dict(k8s.node_selector), "tolerations": list(k8s.tolerations)},
    }


def gpu_step(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `@dg.asset` of a GPU-heavy asset: op tags and pool."""
    return {"op_tags": {K8S_CONFIG_TAG: gpu_k8s_config(settings)}, "pool": settings.dagster.gpu_pool}
