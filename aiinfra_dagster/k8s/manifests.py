"""The Kubernetes Job that dagster-k8s submits for a step, built offline and checked against Kubernetes.

No API server can run where this project is developed, so `step_job_manifest` drives dagster-k8s's
real `K8sStepHandler` (created by `k8s_job_executor` from `build_executor(settings)`, with an instance
whose `K8sRunLauncher` is configured as the official Dagster Helm chart configures it) and captures the
Job body at the point where it would be sent. `validate_manifest` checks that body with
kubernetes-validate in strict mode plus the API server's own rules the JSON schemas cannot express
(quantities, extended resources, toleration operators/effects, label syntax).

The one part that differs from a Job created on a cluster is the opaque
`DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS` env value: on a cluster it also carries the run's instance
ref (Postgres storage) and the known execution state of the run.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes
import kubernetes_validate
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating.step_handler.base import StepHandlerContext
from dagster._core.instance import DagsterInstance, InstanceType
from dagster._core.log_manager import DagsterLogManager
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage
from dagster._grpc.types import ExecuteStepArgs
from dagster_k8s.executor import _K8S_EXECUTOR_CONFIG_SCHEMA, K8sStepHandler, k8s_job_executor
from dagster_k8s.launcher import K8sRunLauncher

from aiinfra_dagster.k8s.executor import build_executor
from aiinfra_dagster.k8s.placement import K8S_CONFIG_TAG, QUANTITY_RE, RESOURCE_NAME_RE
from aiinfra_dagster.settings import Settings

DEFAULT_KUBERNETES_VERSION = "1.33"
CODE_LOCATION_MODULE = "aiinfra_dagster.definitions"
# Where deploy/Dockerfile puts things: the interpreter and the code server's working directory.
IMAGE_PYTHON = "/usr/local/bin/python"
IMAGE_WORKDIR = "/opt/dagster/app"
CHART_DAGSTER_HOME = "/opt/dagster/dagster_home"
CHART_PG_SECRET = "dagster-postgresql-secret"
GRPC_PORT = 3030


class ManifestError(ValueError):
    """A step Job manifest that Kubernetes would refuse; the message names the field and the reason."""


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


class _CapturingBatchApi:
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
def _offline_kubeconfig() -> Iterator[str]:
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
def _chart_instance(chart: ChartRelease, kubeconfig: str) -> Iterator[DagsterInstance]:
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


def _job_def(definitions: dg.Definitions | dg.JobDefinition, job_name: str) -> dg.JobDefinition:
    return definitions if isinstance(definitions, dg.JobDefinition) else definitions.resolve_job_def(job_name)


def k8s_step_keys(definitions: dg.Definitions | dg.JobDefinition, job_name: str = "main") -> list[str]:
    """Keys of the steps of a job whose op tags carry `dagster-k8s/config` (the GPU steps)."""
    plan = create_execution_plan(_job_def(definitions, job_name))
    return [s.key for s in plan.get_steps_to_execute_in_topo_order() if K8S_CONFIG_TAG in s.tags]


def _step_key(plan: Any, step: str | dg.AssetKey) -> str:
    steps = plan.get_steps_to_execute_in_topo_order()
    if isinstance(step, str) and any(s.key == step for s in steps):
        return step
    asset_key = step if isinstance(step, dg.AssetKey) else dg.AssetKey.from_user_string(step)
    for s in steps:
        if any(o.properties and o.properties.asset_key == asset_key for o in s.step_outputs):
            return s.key
    raise KeyError(f"no step of the job computes {step!r}; steps: {sorted(s.key for s in steps)}")


def step_job_manifests(
    settings: Settings,
    definitions: dg.Definitions | dg.JobDefinition,
    steps: Sequence[str | dg.AssetKey] | None = None,
    *,
    job_name: str = "main",
    chart: ChartRelease | None = None,
) -> dict[str, dict[str, Any]]:
    """Step key -> the batch/v1 Job body `k8s_job_executor` submits for it (default: every GPU step).

    The executor is `build_executor(settings)` as configured for the k8s mode (whatever `k8s.enabled`
    says), the instance's run launcher and the code location's container context are those of `chart`.
    """
    chart = chart or ChartRelease(namespace=settings.k8s.namespace)
    job_def = _job_def(definitions, job_name)
    plan = create_execution_plan(job_def)
    keys = [_step_key(plan, s) for s in steps] if steps is not None else k8s_step_keys(job_def)
    executor_def = build_executor(
        settings.model_copy(update={"k8s": settings.k8s.model_copy(update={"enabled": True})})
    )
    mapped = executor_def.apply_config_mapping({})  # the config `.configured(...)` resolves to, defaults filled
    if not mapped.success:
        raise ManifestError(f"k8s executor config from the settings is invalid: {mapped.errors}")
    executor_config = dict(mapped.value["config"])

    with _offline_kubeconfig() as kubeconfig, _chart_instance(chart, kubeconfig) as instance:
        processed = process_config(
            resolve_to_config_type(_K8S_EXECUTOR_CONFIG_SCHEMA),
            {**executor_config, "load_incluster_config": False, "kubeconfig_file": kubeconfig},
        )
        if not processed.success:
            raise ManifestError(f"k8s executor config is invalid: {processed.errors}")
        job = InMemoryJob(job_def)
        executor = executor_def.executor_creation_fn(  # the k8s_job_executor creation function itself
            InitExecutorContext(
                job=job, executor_def=k8s_job_executor, executor_config=processed.value, instance=instance
            )
        )
        handler = executor._step_handler  # noqa: SLF001
        if not isinstance(handler, K8sStepHandler):
            raise TypeError(f"expected dagster-k8s's K8sStepHandler, got {type(handler).__name__}")
        batch_api = _CapturingBatchApi()
        handler._api_client.batch_api = batch_api  # noqa: SLF001  (no API server can run here)

        code_location = chart.deployment
        job_origin = JobPythonOrigin(
            job_def.name,
            RepositoryPythonOrigin(
                executable_path=IMAGE_PYTHON,
                code_pointer=ModuleCodePointer(CODE_LOCATION_MODULE, "defs", IMAGE_WORKDIR),
                container_image=chart.image or settings.k8s.image,
                entry_point=["dagster"],
                container_context=chart.container_context(),
            ),
        )
        remote_origin = RemoteJobOrigin(
            repository_origin=RemoteRepositoryOrigin(
                code_location_origin=GrpcServerCodeLocationOrigin(
                    host=code_location, port=GRPC_PORT, location_name=code_location
                ),
                repository_name=SINGLETON_REPOSITORY_NAME,
            ),
            job_name=job_def.name,
        )
        run = instance.create_run_for_job(
            job_def=job_def,
            execution_plan=plan,
            run_id=str(uuid.uuid4()),
            job_code_origin=job_origin,
            remote_job_origin=remote_origin,
        )
        plan_context = PlanOrchestrationContext(
            plan_data=PlanData(
                job=job,
                dagster_run=run,
                instance=instance,
                execution_plan=plan,
                raise_on_error=True,
                retry_mode=executor.retries,
            ),
            log_manager=DagsterLogManager.create(loggers=[], instance=instance, dagster_run=run),
            executor=executor,
            output_capture=None,
        )
        manifests: dict[str, dict[str, Any]] = {}
        api_client = kubernetes.client.ApiClient()
        for key in keys:
            step = plan.get_step_by_key(key)
            context = StepHandlerContext(
                instance=instance,
                plan_context=plan_context,
                steps=[step],
                execute_step_args=ExecuteStepArgs(
                    job_origin=job_origin,
                    run_id=run.run_id,
                    step_keys_to_execute=[key],
                    retry_mode=executor.retries.for_inner_plan(),
                    should_verify_step=True,
                    print_serialized_events=False,
                ),
                dagster_run=run,
            )
            list(handler.launch_step(context))
            namespace, body = batch_api.created[-1]
            manifest = api_client.sanitize_for_serialization(body)  # what the client would send as JSON
            manifest.setdefault("metadata", {})["namespace"] = namespace
            manifests[key] = manifest
        return manifests


def step_job_manifest(
    settings: Settings,
    definitions: dg.Definitions | dg.JobDefinition,
    step: str | dg.AssetKey,
    *,
    job_name: str = "main",
    chart: ChartRelease | None = None,
) -> dict[str, Any]:
    """The batch/v1 Job body `k8s_job_executor` submits for one step (a step key or an asset key)."""
    return next(iter(step_job_manifests(settings, definitions, [step], job_name=job_name, chart=chart).values()))


# --- validation --------------------------------------------------------------------------------

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
                f"{where}.resources.requests[{name!r}]: must equal its limit (extended resources cannot be overcommitted)"
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
    """Strict JSON-schema validation (unknown fields are errors, as `kubectl --validate=strict`); returns "Kind name"."""
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
