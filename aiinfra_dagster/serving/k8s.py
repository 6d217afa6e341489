"""Kubernetes Deployment, Service and NetworkPolicy for a Bento, validated like the training step Jobs.

The image is what `bentoml containerize <bento_tag>` builds (tagged `<name>:<version>`);
it serves on port 3000, on every interface of the pod.  So k8s serving is refused without an API key: the pods
read it from a Secret (`serving.api_key_secret`, else `<name>-api-key` made from `serving.api_key`, key `api-key`;
a pod whose Secret is missing does not start), and a NetworkPolicy admits only the peers of
`serving.k8s_allowed_from` (default: the pods of `k8s.namespace`) to that port, where the cluster's network
plugin enforces NetworkPolicies.  Probes use BentoML's `/livez` and `/readyz` (the node's kubelet is always
admitted).  Manifests are checked against the Kubernetes JSON schemas (strict, with kubernetes-validate) and the
API server's value rules for resources and labels, and as a set: the key comes from a Secret and a policy
selects the pods.  No cluster is needed.
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
from aiinfra_dagster.settings import K8sSettings, ServingPeer, ServingSettings
from aiinfra_dagster.settings.secrets import SERVING_API_KEY_ENV

BENTO_PORT = 3000
API_KEY_SECRET_KEY = "api-key"


class ServingRefused(ValueError):
    """k8s serving that would answer anyone who reaches it; the message names the setting to change."""


def k8s_name(name: str) -> str:
    """A DNS-1123 label from a Bento name (lowercase alphanumerics and '-', at most 63)."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-") or "bento"


def api_key_secret(bento_name: str, *, serving: ServingSettings, k8s: K8sSettings) -> str:
    """The Secret the serving pods read their API key from (under `api-key`); ServingRefused when there is none.

    `serving.api_key_secret` names a Secret managed in the cluster; else `serving.api_key` is set and the Secret
    is `<name>-api-key`, which the operator creates from it (`create_secret_command`): the key itself never
    enters a manifest.
    """
    if serving.api_key_secret:
        return serving.api_key_secret
    secret = f"{k8s_name(bento_name)}-api-key"
    if serving.api_key:
        return secret
    raise ServingRefused(
        "k8s serving needs an API key: the pods listen on every interface behind a ClusterIP Service, so any pod "
        "the NetworkPolicy admits (or every pod, where the network plugin ignores NetworkPolicies) could call "
        f"them. Set serving.api_key (e.g. AIINFRA_SERVING__API_KEY) and create the Secret {secret!r} with key "
        f"{API_KEY_SECRET_KEY!r} in namespace {k8s.namespace!r}, or set serving.api_key_secret to the name of an "
        f"existing Secret holding the key under {API_KEY_SECRET_KEY!r}"
    )


def create_secret_command(secret: str, namespace: str) -> str:
    """The kubectl command that makes the key Secret from $AIINFRA_SERVING__API_KEY (the value stays in the env)."""
    literal = f'{API_KEY_SECRET_KEY}="${SERVING_API_KEY_ENV}"'
    return f"kubectl -n {namespace} create secret generic {secret} --from-literal={literal}"


def serving_manifests(bento_tag: str, *, serving: ServingSettings, k8s: K8sSettings) -> list[dict[str, Any]]:
    """[Deployment, Service, NetworkPolicy] serving `bento_tag`; ServingRefused without an API key."""
    bento_name, version = bento_tag.split(":", 1)
    secret = api_key_secret(bento_name, serving=serving, k8s=k8s)
    name = k8s_name(bento_name)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "aiinfra-dagster"}
    pod_labels = {**labels, "app.kubernetes.io/version": version[:63]}
    env: list[dict[str, Any]] = [
        {"name": "BENTOML_DO_NOT_TRACK", "value": "true"},
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        *({"name": k, "value": v} for k, v in thread_env(serving).items()),
        # Not optional: without the Secret (or its key) the pod does not start, rather than serve without a key.
        {"name": SERVING_API_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": secret, "key": API_KEY_SECRET_KEY}}},
    ]
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
    return [deployment, service, network_policy(name, labels, serving=serving, k8s=k8s)]


def network_policy(
    name: str, pod_labels: dict[str, str], *, serving: ServingSettings, k8s: K8sSettings
) -> dict[str, Any]:
    """Ingress to the pods matching `pod_labels` on the Bento port from `serving.k8s_allowed_from` only.

    No peers means no ingress rule at all (nothing admitted): an empty `from` would admit everyone.
    """
    peers = [_peer(p) for p in serving.k8s_allowed_from]
    rules = [{"from": peers, "ports": [{"protocol": "TCP", "port": BENTO_PORT}]}] if peers else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": k8s.namespace, "labels": pod_labels},
        "spec": {"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Ingress"], "ingress": rules},
    }


def _peer(peer: ServingPeer) -> dict[str, Any]:
    """One `from` entry; a podSelector alone means the policy's own namespace."""
    selected: dict[str, Any] = {"podSelector": {"matchLabels": dict(peer.pod_labels)} if peer.pod_labels else {}}
    if peer.namespace_labels is not None:
        labels = dict(peer.namespace_labels)
        selected["namespaceSelector"] = {"matchLabels": labels} if labels else {}
    return selected


def validate_serving_manifest(manifest: dict[str, Any], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> None:
    """Raise ManifestError unless Kubernetes would accept this Deployment, Service or NetworkPolicy."""
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
    if manifest.get("kind") == "NetworkPolicy":
        errors += _label_errors("spec.podSelector.matchLabels", spec["podSelector"].get("matchLabels") or {})
        for i, rule in enumerate(spec.get("ingress") or []):
            for j, peer in enumerate(rule.get("from") or []):
                for selector in ("podSelector", "namespaceSelector"):
                    where = f"spec.ingress[{i}].from[{j}].{selector}.matchLabels"
                    errors += _label_errors(where, (peer.get(selector) or {}).get("matchLabels") or {})
    if errors:
        raise ManifestError(f"{kind} would be rejected by the Kubernetes API server:\n  " + "\n  ".join(errors))


def validate_serving_manifests(
    manifests: list[dict[str, Any]], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> None:
    """Each manifest as `validate_serving_manifest` (ManifestError), then the set: ServingRefused unless the
    Deployment's pods take the API key from a Secret and a NetworkPolicy limits who reaches them."""
    for manifest in manifests:
        validate_serving_manifest(manifest, kubernetes_version)
    problems = serving_security_problems(manifests)
    if problems:
        raise ServingRefused("the serving manifests would be open to the cluster:\n  " + "\n  ".join(problems))


def serving_security_problems(manifests: list[dict[str, Any]]) -> list[str]:
    """Why these manifests would serve without a key or to every pod; [] when they would not."""
    deployments = [m for m in manifests if m.get("kind") == "Deployment"]
    if len(deployments) != 1:
        return [f"expected one Deployment, got {len(deployments)}"]
    deployment = deployments[0]
    pod_labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    problems = []
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        key = next((e for e in container.get("env") or [] if e.get("name") == SERVING_API_KEY_ENV), None)
        ref = ((key or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        if not ref.get("name") or ref.get("optional"):
            problems.append(
                f"container {container.get('name')!r}: {SERVING_API_KEY_ENV} must come from a Secret "
                "(secretKeyRef, not optional): set serving.api_key or serving.api_key_secret"
            )
    namespace = deployment["metadata"].get("namespace")
    policies = [
        m
        for m in manifests
        if m.get("kind") == "NetworkPolicy"
        and m["metadata"].get("namespace") == namespace
        and "Ingress" in (m["spec"].get("policyTypes") or ["Ingress"])
        and not m["spec"]["podSelector"].get("matchExpressions")
        and all(pod_labels.get(k) == v for k, v in (m["spec"]["podSelector"].get("matchLabels") or {}).items())
    ]
    if not policies:
        problems.append(f"no Ingress NetworkPolicy selects the pods of Deployment {deployment['metadata']['name']}")
    for policy in policies:
        for i, rule in enumerate(policy["spec"].get("ingress") or []):
            if not rule.get("from"):
                problems.append(f"NetworkPolicy {policy['metadata']['name']}: ingress[{i}] admits every source")
    return problems
