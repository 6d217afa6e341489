"""Offline stand-ins for a Kubernetes cluster, used at run time by `step_jobs.step_job_manifests`.

Not a test double only: rendering the step Jobs without a cluster is a library feature (deploy/README.md
prints and validates them from the Helm values), and no API server can run where this project is
developed. dagster-k8s loads a kubeconfig when its step handler is built and sends each Job to
`BatchV1Api.create_namespaced_job`; here the kubeconfig points nowhere (`offline_kubeconfig`) and the
BatchV1Api keeps the body instead of sending it (`CapturingBatchApi`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kubernetes
from dagster._core.instance import DagsterInstance, InstanceType
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage
from dagster_k8s.launcher import K8sRunLauncher

from aiinfra_dagster.k8s.chart import ChartRelease


class CapturingBatchApi:
    """Stands in for kubernetes.client.BatchV1Api: keeps the Job body instead of sending it."""

    def __init__(self) -> None:
        self.created: list[tuple[str, Any]] = []

    def create_namespaced_job(self, body: Any, namespace: str, **_: Any) -> None:
        self.created.append((namespace, body))


_OFFLINE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://kubernetes.invalid"}}]
users: [{name: offline, user: {token: offline}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
"""


@contextmanager
def offline_kubeconfig() -> Iterator[str]:
    """A kubeconfig that dagster-k8s can load (it loads one on construction) but that reaches nothing."""
    saved = getattr(kubernetes.client.Configuration, "_default", None)
    with tempfile.TemporaryDirectory(prefix="aiinfra-k8s-") as tmp:
        path = Path(tmp) / "kubeconfig"
        path.write_text(_OFFLINE_KUBECONFIG)
        try:
            yield str(path)
        finally:
            kubernetes.client.Configuration.set_default(saved)


@contextmanager
def chart_instance(chart: ChartRelease, kubeconfig: str) -> Iterator[DagsterInstance]:
    """An in-memory instance whose run launcher is the K8sRunLauncher the chart configures."""
    launcher = K8sRunLauncher(**chart.run_launcher_kwargs(), load_incluster_config=False, kubeconfig_file=kubeconfig)
    with DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=InMemoryRunStorage(),
        event_storage=InMemoryEventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=launcher,
    ) as instance:
        yield instance
