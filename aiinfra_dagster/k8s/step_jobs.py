"""The Kubernetes Job that dagster-k8s submits for a step, built offline.

No API server can run where this project is developed, so `step_job_manifest` drives dagster-k8s's
real `K8sStepHandler` (created by `k8s_job_executor` from `k8s_executor(k8s)`, with an instance
whose `K8sRunLauncher` is configured as the official Dagster Helm chart configures it, see `chart`) and
captures the Job body at the point where it would be sent (see `offline`). `validation.validate_manifest`
checks such a body.

The one part that differs from a Job created on a cluster is the opaque
`DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS` env value: on a cluster it also carries the run's instance
ref (Postgres storage) and the known execution state of the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import dagster as dg
import kubernetes
from dagster._config import process_config, resolve_to_config_type
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating.step_handler.base import StepHandlerContext
from dagster._core.log_manager import DagsterLogManager
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._grpc.types import ExecuteStepArgs
from dagster_k8s.executor import _K8S_EXECUTOR_CONFIG_SCHEMA, K8sStepHandler, k8s_job_executor

from aiinfra_dagster.k8s.chart import ChartRelease
from aiinfra_dagster.k8s.executor import k8s_executor
from aiinfra_dagster.k8s.offline import CapturingBatchApi, chart_instance, offline_kubeconfig
from aiinfra_dagster.k8s.placement import K8S_CONFIG_TAG
from aiinfra_dagster.k8s.validation import ManifestError
from aiinfra_dagster.settings import K8sSettings

CODE_LOCATION_MODULE = "aiinfra_dagster.definitions"
# Where deploy/Dockerfile puts things: the interpreter and the code server's working directory.
IMAGE_PYTHON = "/usr/local/bin/python"
IMAGE_WORKDIR = "/opt/dagster/app"
GRPC_PORT = 3030


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
    k8s: K8sSettings,
    definitions: dg.Definitions | dg.JobDefinition,
    steps: Sequence[str | dg.AssetKey] | None = None,
    *,
    job_name: str = "main",
    chart: ChartRelease | None = None,
) -> dict[str, dict[str, Any]]:
    """Step key -> the batch/v1 Job body `k8s_job_executor` submits for it (default: every GPU step).

    The executor is `k8s_executor(k8s)`, the one the k8s mode uses (whatever `k8s.enabled` says); the
    instance's run launcher and the code location's container context are those of `chart`.
    """
    chart = chart or ChartRelease(namespace=k8s.namespace)
    job_def = _job_def(definitions, job_name)
    plan = create_execution_plan(job_def)
    keys = [_step_key(plan, s) for s in steps] if steps is not None else k8s_step_keys(job_def)
    executor_def = k8s_executor(k8s)
    mapped = executor_def.apply_config_mapping({})  # the config `.configured(...)` resolves to, defaults filled
    if not mapped.success or mapped.value is None:
        raise ManifestError(f"k8s executor config from the settings is invalid: {mapped.errors}")
    executor_config = dict(mapped.value["config"])
    create_executor = executor_def.executor_creation_fn  # the k8s_job_executor creation function itself
    if create_executor is None:
        raise TypeError("k8s_executor(k8s) returned an executor without a creation function")

    with offline_kubeconfig() as kubeconfig, chart_instance(chart, kubeconfig) as instance:
        processed = process_config(
            resolve_to_config_type(_K8S_EXECUTOR_CONFIG_SCHEMA),
            {**executor_config, "load_incluster_config": False, "kubeconfig_file": kubeconfig},
        )
        if not processed.success or processed.value is None:
            raise ManifestError(f"k8s executor config is invalid: {processed.errors}")
        job = InMemoryJob(job_def)
        executor = create_executor(
            InitExecutorContext(
                job=job, executor_def=k8s_job_executor, executor_config=processed.value, instance=instance
            )
        )
        handler = executor._step_handler  # type: ignore[attr-defined]  # noqa: SLF001
        if not isinstance(handler, K8sStepHandler):
            raise TypeError(f"expected dagster-k8s's K8sStepHandler, got {type(handler).__name__}")
        batch_api = CapturingBatchApi()
        handler._api_client.batch_api = batch_api  # noqa: SLF001  (no API server can run here)

        code_location = chart.deployment
        job_origin = JobPythonOrigin(
            job_def.name,
            RepositoryPythonOrigin(
                executable_path=IMAGE_PYTHON,
                code_pointer=ModuleCodePointer(CODE_LOCATION_MODULE, "defs", IMAGE_WORKDIR),
                container_image=chart.image or k8s.image,
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
                steps=[step],  # type: ignore[list-item]  # a plan of plain steps: no unresolved mapped ones
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
    k8s: K8sSettings,
    definitions: dg.Definitions | dg.JobDefinition,
    step: str | dg.AssetKey,
    *,
    job_name: str = "main",
    chart: ChartRelease | None = None,
) -> dict[str, Any]:
    """The batch/v1 Job body `k8s_job_executor` submits for one step (a step key or an asset key)."""
    return next(iter(step_job_manifests(k8s, definitions, [step], job_name=job_name, chart=chart).values()))
