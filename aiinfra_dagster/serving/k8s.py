"""Kubernetes Deployment + Service for a Bento, validated like the training step Jobs.

The image is what `bentoml containerize <bento_tag>` builds (tagged `<name>:<version>`);
it serves on port 3000.  The API key comes from a Secret, probes use BentoML's
`/livez` and `/readyz`.  Manifests are checked against the Kubernetes JSON
schemas (strict, with kubernetes-validate) and the API server's value rules for
resources and labels; no cluster is needed.
"""

from __future__ import annotations

import re
from typing import Any

from aiinfra_dagster.k8s.validation import (
    DEFAULT_KUBERNETES_VERSION,
    ManifestError,
    _label_errors,
    _resource_errors,
    validate_schema,
)
from aiinfra_dagster.serving.bento import thread_env
from aiinfra_dagster.serving.config import API_KEY_ENV
from aiinfra_dagster.settings import K8sSettings, ServingSettings

BENTO_PORT = 3000


def k8s_name(name: str) -> str:
    """A DNS-1123 label from a Bento name (lowercase alphanumerics and '-', at most 63)."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-") or "bento"


def serving_manifests(bento_tag: str, *, serving: ServingSettings, k8s: K8sSettings) -> list[dict[str, Any]]:
    """[Deployment, Service] serving `bento_tag` with the serving and k8s settings."""
    bento_name, version = bento_tag.split(":", 1)
    name = k8s_name(bento_name)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "aiinfra-dagster"}
    pod_labels = {**labels, "app.kubernetes.io/version": version[:63]}
    env: list[dict[str, Any]] = [
        {"name": "BENTOML_DO_NOT_TRACK", "value": "true"},
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        *({"name": k, "value": v} for k, v in thread_env(serving).items()),
    ]
    if serving.api_key:
        env.append({"name": API_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": f"{name}-api-key", "key": "api-key"}}})
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3}
    container: dict[str, Any] = {
        "name": "bento",
        "image": f"{bento_name}:{version}",
        "imagePullPolicy": k8s.image_pull_policy,
        "ports": [{"name": "http", "containerPort": BENTO_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": {
            "requests": {"cpu": serving.cpu, "memory": serving.memory},
            "limits": {"cpu": serving.cpu, "memory": serving.memory},
        },
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/livez", "port": "http"}, "failureThreshold": 6},
        "startupProbe": {**probe, "failureThreshold": max(1, serving.ready_timeout_s // 5)},
    }
    env_from = [{"secretRef": {"name": s}} for s in k8s.env_secrets] + [
        {"configMapRef": {"name": c}} for c in k8s.env_config_maps
    ]
    if env_from:
        container["envFrom"] = env_from
    pod_spec: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": 30}
    if k8s.service_account:
        pod_spec["serviceAccountName"] = k8s.service_account
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": k8s.namespace, "labels": labels},
        "spec": {
            "replicas": serving.replicas,
            "selector": {"matchLabels": labels},
            # Rolling update: new pods must pass /readyz before old ones go, so a new Bento lands without downtime.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": k8s.namespace, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return [deployment, service]


def validate_serving_manifest(manifest: dict[str, Any], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> None:
    """Raise ManifestError unless Kubernetes would accept this Deployment or Service."""
    kind = validate_schema(manifest, kubernetes_version)
    errors = _label_errors("metadata.labels", manifest["metadata"].get("labels") or {})
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "Deployment":
        template = spec["template"]
        errors += _label_errors("spec.template.metadata.labels", template["metadata"].get("labels") or {})
        selector = spec["selector"]["matchLabels"]
        if any(template["metadata"]["labels"].get(k) != v for k, v in selector.items()):
            errors.append("spec.selector.matchLabels: does not match spec.template.metadata.labels")
        for i, container in enumerate(template["spec"]["containers"]):
            errors += _resource_errors(f"spec.template.spec.containers[{i}]", container.get("resources") or {})
    if errors:
        raise ManifestError(f"{kind} would be rejected by the Kubernetes API server:\n  " + "\n  ".join(errors))
