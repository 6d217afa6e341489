"""The lineage audit as an asset: after every deployment, what produced the served Bento, as markdown and JSON."""

import dagster as dg

from aiinfra_dagster.assets.common import DAGSTER, JSON, OWNERS, markdown_table
from aiinfra_dagster.assets.keys import BENTO_DEPLOYMENT_KEY, LINEAGE_AUDIT_KEY
from aiinfra_dagster.lineage.audit import audit_deployment
from aiinfra_dagster.lineage.render import report_name, write_report
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.settings.locations import location

GROUP = "monitoring"


@dg.asset(
    key=LINEAGE_AUDIT_KEY,
    group_name=GROUP,
    deps=[BENTO_DEPLOYMENT_KEY],
    kinds={DAGSTER, JSON},
    owners=OWNERS,
    description=(
        "What produced the deployed Bento, read from this instance's materializations and the Delta tables at the "
        "recorded versions: Bento -> champion checkpoint -> eval report -> training_set version -> synthetic set and "
        "chunk versions -> raw-document versions, base-model sha, vector index, topic classifier and its labeling "
        "functions, each hop with its run and the run's trigger (e.g. a drift episode). Written to "
        "monitoring.audit_dir as markdown and JSON; `aiinfra audit` prints the same report."
    ),
)
def lineage_audit(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource
) -> dg.MaterializeResult:
    lineage = audit_deployment(context.instance, lakehouse.store)
    markdown = lineage.to_markdown()
    directory = location(aiinfra.value.monitoring.audit_dir, "monitoring.audit_dir")
    md_path, json_path = write_report(
        directory, report_name(lineage.audited_at, lineage.bento_tag), markdown, lineage.to_dict()
    )
    missing = lineage.missing
    if missing:
        context.log.warning(
            f"lineage of {lineage.bento_tag}: {len(missing)} hops missing ({', '.join(h.role for h in missing)})"
        )
    return dg.MaterializeResult(
        metadata={
            "bento_tag": lineage.bento_tag,
            "deployed": lineage.deployed,
            "model_version": lineage.model_version or "",
            "training_set_version": lineage.training_set_version if lineage.training_set_version is not None else -1,
            "hops_resolved": len(lineage.hops) - len(missing),
            "hops_missing": len(missing),
            "missing_hops": dg.MetadataValue.md(
                markdown_table(["hop", "reason"], [[h.role, h.missing_reason] for h in missing]) if missing else "none"
            ),
            "markdown_path": dg.MetadataValue.path(str(md_path)),
            "json_path": dg.MetadataValue.path(str(json_path)),
            "report": dg.MetadataValue.md(markdown),
        }
    )
