"""What a release of the official Dagster Helm chart hands to runs and steps of this code location.

`ChartRelease` reads the chart's values (deploy/helm/values.yaml) and renders the two things a step
Job is built from: the instance's `K8sRunLauncher` config and the user deployment's container context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CHART_DAGSTER_HOME = "/opt/dagster/dagster_home"
CHART_PG_SECRET = "dagster-postgresql-secret"


def _names(refs: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [r["name"] for r in refs or [] if isinstance(r, Mapping) and r.get("name")]


@dataclass(frozen=True)
class ChartRelease:
    """What a release of the official Dagster Helm chart hands to runs and steps of this code location.

    Mirrors the chart's templates (`_run-launcher.tpl` for the instance's K8sRunLauncher,
    `dagsterUserDeployments.k8sContainerContext` for the user deployment's container context,
    `configmap-workspace.yaml` for the code location name) for the given values.
    """

    release: str = "dagster"
    namespace: str = "aiinfra"
    deployment: str = "aiinfra-dagster"
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_values_file(
        cls,
        path: str | Path,
        *,
        release: str = "dagster",
        namespace: str = "aiinfra",
        deployment: str = "aiinfra-dagster",
    ) -> ChartRelease:
        values = yaml.safe_load(Path(path).read_text()) or {}
        return cls(release=release, namespace=namespace, deployment=deployment, values=values)

    def _fullname(self, chart: str) -> str:
        return self.release if chart in self.release else f"{self.release}-{chart}"[:63].rstrip("-")

    @property
    def _global(self) -> Mapping[str, Any]:
        return self.values.get("global") or {}

    @property
    def deployment_values(self) -> Mapping[str, Any]:
        """This code location's entry of `dagster-user-deployments.deployments` (empty if absent)."""
        deployments = (self.values.get("dagster-user-deployments") or {}).get("deployments") or []
        return next((d for d in deployments if d.get("name") == self.deployment), {})

    @property
    def image(self) -> str | None:
        image = self.deployment_values.get("image") or {}
        return f"{image['repository']}:{image.get('tag', 'latest')}" if image.get("repository") else None

    def run_launcher_kwargs(self) -> dict[str, Any]:
        """K8sRunLauncher config as the chart renders it into the instance's dagster.yaml."""
        rl = ((self.values.get("runLauncher") or {}).get("config") or {}).get("k8sRunLauncher") or {}
        fullname = self._fullname("dagster")
        kwargs: dict[str, Any] = {
            "job_namespace": rl.get("jobNamespace") or self.namespace,
            "image_pull_policy": rl.get("imagePullPolicy") or "Always",
            "service_account_name": self._global.get("serviceAccountName")
            or (self.values.get("serviceAccount") or {}).get("name")
            or fullname,
            "dagster_home": self._global.get("dagsterHome") or CHART_DAGSTER_HOME,
            "instance_config_map": f"{fullname}-instance",
            "postgres_password_secret": self._global.get("postgresqlSecretName") or CHART_PG_SECRET,
            "env_config_maps": [f"{fullname}-pipeline-env", *_names(rl.get("envConfigMaps"))],
            "env_secrets": _names(rl.get("envSecrets")),
            "env_vars": list(rl.get("envVars") or []),
            "volume_mounts": list(rl.get("volumeMounts") or []),
            "volumes": list(rl.get("volumes") or []),
            "image_pull_secrets": list(self.values.get("imagePullSecrets") or []),
        }
        for key, arg in (("labels", "labels"), ("resources", "resources"), ("schedulerName", "scheduler_name")):
            if rl.get(key):
                kwargs[arg] = rl[key]
        return kwargs

    def container_context(self) -> dict[str, Any]:
        """The `--container-context` the chart gives `dagster api grpc` of this deployment."""
        d = self.deployment_values
        ud_fullname = self._fullname("dagster-user-deployments")
        service_account = (
            self._global.get("serviceAccountName")
            or ((self.values.get("dagster-user-deployments") or {}).get("serviceAccount") or {}).get("name")
            or f"{ud_fullname}-user-deployments"
        )
        k8s: dict[str, Any] = {
            "image_pull_policy": (d.get("image") or {}).get("pullPolicy", "Always"),
            "env_config_maps": [f"{ud_fullname}-{self.deployment}-user-env", *_names(d.get("envConfigMaps"))],
            "namespace": self.namespace,
            "service_account_name": service_account,
            "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
        }
        if self.values.get("imagePullSecrets"):
            k8s["image_pull_secrets"] = list(self.values["imagePullSecrets"])
        if d.get("envSecrets"):
            k8s["env_secrets"] = _names(d["envSecrets"])
        for key, arg in (
            ("volumeMounts", "volume_mounts"),
            ("volumes", "volumes"),
            ("labels", "labels"),
            ("resources", "resources"),
            ("schedulerName", "scheduler_name"),
        ):
            if d.get(key):
                k8s[arg] = d[key]
        if isinstance(d.get("env"), list):
            k8s["env"] = d["env"]
        if d.get("annotations"):
            k8s["run_k8s_config"]["pod_template_spec_metadata"] = {"annotations": d["annotations"]}
        return {"k8s": k8s}
