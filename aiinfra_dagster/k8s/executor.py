"""The executor of the code location: one Kubernetes Job per step in the k8s mode, local processes otherwise."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_k8s import k8s_job_executor

from aiinfra_dagster.settings import Settings


def k8s_executor_config(settings: Settings) -> dict[str, Any]:
    """Config of `k8s_job_executor` from `settings.k8s`.

    Instance-level settings (DAGSTER_HOME, the instance ConfigMap, the Postgres password secret, the
    run-pod env ConfigMap) are not set here: the executor takes them from the instance's
    K8sRunLauncher, which the Dagster Helm chart configures; the user deployment's env ConfigMap,
    volumes and service account reach the steps through the code location's container context.
    """
    k8s = settings.k8s
    config: dict[str, Any] = {
        "job_namespace": k8s.namespace,
        "job_image": k8s.image,
        "image_pull_policy": k8s.image_pull_policy,
        "env_secrets": list(k8s.env_secrets),
        "env_config_maps": list(k8s.env_config_maps),
    }
    if k8s.service_account:
        config["service_account_name"] = k8s.service_account
    if k8s.max_concurrent_steps:
        config["max_concurrent"] = k8s.max_concurrent_steps
    return config


def build_executor(settings: Settings) -> dg.ExecutorDefinition:
    """`k8s_job_executor` (configured from the settings) when `k8s.enabled`, else the local executor.

    The local executors never contact Kubernetes: the GPU steps' `dagster-k8s/config` tags are then
    inert and only their concurrency pool applies.
    """
    if settings.k8s.enabled:
        return k8s_job_executor.configured(k8s_executor_config(settings), name="k8s")
    if settings.dagster.executor == "multiprocess":
        return dg.multiprocess_executor
    return dg.in_process_executor
