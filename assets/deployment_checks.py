"""Checks of the deployment stage: the Bento is complete, the server answers, the log lost nothing."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

from aiinfra_dagster.assets.keys import BENTO_BUILD_KEY, BENTO_DEPLOYMENT_KEY, INFERENCE_LOGS_KEY
from aiinfra_dagster.materializations import require_latest_metadata
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.serving.bento import bento_dir, model_dir
from aiinfra_dagster.serving.config import CONFIG_FILE
from aiinfra_dagster.serving.k8s import validate_serving_manifests
from aiinfra_dagster.serving.process import running_server
from aiinfra_dagster.serving.smoke import smoke_check
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS
from aiinfra_dagster.settings.secrets import files_holding, secrets_of


@dg.asset_check(
    asset=BENTO_BUILD_KEY,
    blocking=True,
    description=(
        "The Bento exists, no file of it holds a configured secret (API keys, storage options), and every model it "
        "names is in the model store."
    ),
)
def bento_complete(context: dg.AssetCheckExecutionContext, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    settings = aiinfra.value
    tag = str(require_latest_metadata(context.instance, BENTO_BUILD_KEY)["bento_tag"])
    path = bento_dir(settings.storage, tag)
    config_path = path / "src" / CONFIG_FILE
    problems: list[str] = []
    if not (path / "bento.yaml").is_file():
        problems.append(f"no bento.yaml in {path}")
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    if not config:
        problems.append(f"no {CONFIG_FILE} in the Bento")
    # Every configured secret value, searched for in every file the Bento (and so its image) would carry.
    leaked = files_holding(path, secrets_of(settings))
    if leaked:
        problems.append(f"files of the Bento contain a configured secret: {leaked}")
    tags = [config[role]["tag"] for role in ("llm", "classifier", "encoder") if role in config]
    for model_tag in tags:
        directory = model_dir(settings.storage, model_tag)
        if not any(p.suffix in (".safetensors", ".bin") for p in directory.rglob("*")):
            problems.append(f"model {model_tag} has no weights in {directory}")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"bento_tag": tag, "models": dg.MetadataValue.json(tags), "problems": dg.MetadataValue.json(problems)},
    )


@dg.asset_check(
    asset=BENTO_DEPLOYMENT_KEY,
    blocking=True,
    description="Local: the server runs the latest Bento, /readyz is 200 and the sample question "
    "(serving.sample_question) is answered over /ask. "
    "k8s: the rendered manifests validate against the Kubernetes schemas, the pods take their API key from a "
    "Secret and a NetworkPolicy limits who reaches them.",
)
def deployment_answers(context: dg.AssetCheckExecutionContext, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    settings = aiinfra.value
    meta = require_latest_metadata(context.instance, BENTO_DEPLOYMENT_KEY)
    if meta.get("mode") == "k8s":
        manifests = list(yaml.safe_load_all(Path(str(meta["manifests_path"])).read_text()))
        validate_serving_manifests(manifests)  # each valid, the key from a Secret, a NetworkPolicy on the pods
        return dg.AssetCheckResult(passed=True, metadata={"manifests": len(manifests)})
    state = running_server(settings.storage)
    if state is None or state.bento_tag != meta["bento_tag"]:
        return dg.AssetCheckResult(
            passed=False,
            metadata={"expected": str(meta["bento_tag"]), "running": state.bento_tag if state else "nothing"},
        )
    smoke = smoke_check(state.url, settings.serving)
    return dg.AssetCheckResult(
        passed=smoke.passed,
        metadata={
            "url": dg.MetadataValue.url(state.url),
            "ready": smoke.ready,
            "status_code": smoke.status_code,
            "sample_question": settings.serving.sample_question,
            "sample_answer": smoke.answer,
            "sample_citations": dg.MetadataValue.json(smoke.citations),
            "index_version": smoke.index_version or "",
            "error": smoke.error or "",
        },
    )


@dg.asset_check(
    asset=INFERENCE_LOGS_KEY,
    description="Every request id of the raw log (as of the version compacted) is in inference_logs exactly once, on "
    "the date of its timestamp (checked on the days that version's requests fall on).",
)
def inference_logs_complete(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    store = lakehouse.store
    # The service keeps appending: compare with the raw version the materialization read.
    raw_version = require_latest_metadata(context.instance, INFERENCE_LOGS_KEY).get("input_inference_log_version", -1)
    columns = ["request_id", "ts"]
    compacted = raw_version is not None and int(raw_version) >= 0
    raw = (
        store.read(INFERENCE_LOG, version=int(raw_version), columns=columns)
        if compacted
        else INFERENCE_LOG.project(columns).empty()
    )
    raw_ids = set(raw["request_id"].to_list())
    # The days those requests fall on: what this materialization wrote to (the rest was checked before).
    days = raw.get_column("ts").dt.date().unique().to_list()
    curated = store.read(INFERENCE_LOGS, columns=["request_id", "ts", "date"], partitions={"date": days})
    missing = len(raw_ids - set(curated["request_id"].to_list()))
    duplicated = curated.height - curated["request_id"].n_unique()
    wrong_date = curated.filter(pl.col("date") != pl.col("ts").dt.date()).height
    return dg.AssetCheckResult(
        passed=missing == 0 and duplicated == 0 and wrong_date == 0,
        metadata={
            "raw_requests": len(raw_ids),
            "days_checked": dg.MetadataValue.json(sorted(str(d) for d in days)),
            "requests_on_those_days": curated.height,
            "missing": missing,
            "duplicated": duplicated,
            "wrong_date": wrong_date,
        },
    )
