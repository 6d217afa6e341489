"""The executor of the code location: one Kubernetes Job per step in the k8s mode, local processes otherwise."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_k8s import k8s_job_executor

from aiinfra_dagster.settings import DagsterSettings, K8sSettings


def k8s_executor_config(k8s: K8sSettings) -> dict[str, Any]:
    """Config of `k8s_job_executor` from the `k8s` settings.

    Instance-level settings (DAGSTER_HOME, the instance ConfigMap, the Postgres password secret, the
    run-pod env ConfigMap) are not set here: the executor takes them from the instance's
    K8sRunLauncher, which the Dagster Helm chart configures; the user deployment's env ConfigMap,
    volumes and service account reach the steps through the code location's container context.
    """
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


def k8s_executor(k8s: K8sSettings) -> dg.ExecutorDefinition:
    """`k8s_job_executor` configured from the `k8s` settings (whatever `k8s.enabled` says)."""
    return k8s_job_executor.configured(k8s_executor_config(k8s), name="k8s")


def build_executor(*, k8s: K8sSettings, dagster: DagsterSettings) -> dg.ExecutorDefinition:
    """`k8s_executor(k8s)` when `k8s.enabled`, else the local executor `dagster.executor` names.

    The local executors never contact Kubernetes: the GPU steps' `dagster-k8s/config` tags are then
    inert and only their concurrency pool applies.
    """
    if k8s.enabled:
        return k8s_executor(k8s)
    if dagster.executor == "multiprocess":
        return dg.multiprocess_executor
    return dg.in_process_executor
