"""Markdown of the lineage audit (what a person reads in the terminal and in the Dagster UI) and its report files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.lineage.hops import Hop
from aiinfra_dagster.markdown import markdown_table

if TYPE_CHECKING:  # the result types import this module for their to_markdown(): names for the type checker only
    from aiinfra_dagster.lineage.audit import DeploymentLineage
    from aiinfra_dagster.lineage.document import DocumentImpact

MAX_DOCUMENT_ROWS = 25


def _value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _facts(hop: Hop) -> str:
    return "; ".join(f"{k}={_value(v)}" for k, v in hop.facts.items())


def _tags(hop: Hop) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(hop.run_tags.items())) or "-"


def hops_table(hops: tuple[Hop, ...]) -> str:
    return markdown_table(
        ["hop", "asset", "matched by", "via", "recorded (UTC)", "run", "triggered by", "run tags"],
        [
            [
                h.role,
                h.asset,
                f"{h.key} = {h.identifier}",
                h.via,
                h.recorded_at or "-",
                (h.run_id or "-")[:8],
                h.triggered_by,
                _tags(h),
            ]
            for h in hops
            if h.resolved
        ],
    )


def deployment_markdown(lineage: DeploymentLineage) -> str:
    state = "deployed" if lineage.deployed else "built, never deployed"
    lines = [
        f"# Lineage of {lineage.bento_tag} ({state})",
        "",
        f"Audited {lineage.audited_at}: {len(lineage.hops) - len(lineage.missing)} hops resolved, "
        f"{len(lineage.missing)} missing.",
        "",
        markdown_table(
            ["", ""],
            [
                ["Bento", lineage.bento_tag],
                ["champion model", lineage.model_version or "-"],
                [
                    "training_set Delta version",
                    lineage.training_set_version if lineage.training_set_version is not None else "-",
                ],
                ["base model sha256", lineage.base_model_sha256 or "-"],
                ["vector index at build", lineage.index_version or "-"],
                ["source documents (training set)", len(lineage.documents)],
            ],
        ),
        "",
        "## Hops",
        "",
        hops_table(lineage.hops),
    ]
    if lineage.missing:
        lines += [
            "",
            "## Missing hops",
            "",
            markdown_table(
                ["hop", "asset", "looked up", "reason"],
                [[h.role, h.asset, f"{h.key} = {h.identifier}", h.missing_reason] for h in lineage.missing],
            ),
        ]
    lines += [
        "",
        "## Facts recorded by each hop",
        "",
        markdown_table(
            ["hop", "facts"],
            [[h.role, _facts(h)] for h in lineage.hops if h.resolved and h.role != "labeling_functions"],
        ),
    ]
    if lineage.labeling_functions:
        lines += [
            "",
            "## Labeling functions behind the topic classifier's labels",
            "",
            markdown_table(["function", "code version"], sorted(lineage.labeling_functions.items())),
        ]
    if lineage.documents:
        shown = lineage.documents[:MAX_DOCUMENT_ROWS]
        more = len(lineage.documents) - len(shown)
        lines += [
            "",
            f"## Raw documents behind the training set (raw_documents v{lineage.documents[0].raw_documents_version})",
            "",
            markdown_table(
                ["source", "path", "content sha256", "document_id"],
                [[d.source, d.path, d.content_hash[:16], d.document_id[:16]] for d in shown],
            ),
        ]
        if more:
            lines.append(f"\n... and {more} more (all of them in the JSON report).")
    if lineage.notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in lineage.notes]]
    return "\n".join(lines) + "\n"


def document_markdown(impact: DocumentImpact) -> str:
    current = [d.bento_tag for d in impact.deployments if d.current]
    lines = [
        f"# Impact of {impact.source}:{impact.path}",
        "",
        f"document_id `{impact.document_id}`, audited {impact.audited_at}. "
        + (
            f"**The current deployment {current[0]} depends on it.**"
            if current
            else "The current deployment does not depend on it."
        ),
        "",
        "## raw_documents versions holding it",
        "",
        markdown_table(["raw_documents version", "content sha256"], [[v, h] for v, h in impact.raw_versions]),
        "",
        f"## Chunks ({len(impact.chunks)})",
        "",
        markdown_table(
            ["position", "section", "chunk_id", "document_chunks versions"],
            [
                [c.position, c.section, c.chunk_id[:16], ", ".join(map(str, c.document_chunks_versions))]
                for c in impact.chunks
            ],
        ),
        "",
        "## training_set versions including its chunks",
        "",
        ", ".join(f"v{v}" for v in impact.training_set_versions) or "none",
        "",
        "## Deployments",
        "",
        markdown_table(
            ["Bento", "first deployed (UTC)", "current", "training_set", "index at build", "affected via"],
            [
                [
                    d.bento_tag,
                    d.first_deployed_at or "-",
                    "yes" if d.current else "",
                    d.training_set_version if d.training_set_version is not None else "-",
                    d.index_version or "-",
                    "; ".join(d.via),
                ]
                for d in impact.deployments
            ],
        )
        if impact.deployments
        else "none",
        "",
        "## Vector index versions",
        "",
        markdown_table(
            ["index version", "built from document_chunks", "current", "built (UTC)"],
            [
                [i.index_version, f"v{i.document_chunks_version}", "yes" if i.current else "", i.built_at or "-"]
                for i in impact.index_versions
            ],
        )
        if impact.index_versions
        else "none",
    ]
    return "\n".join(lines) + "\n"


def write_report(directory: Path, name: str, markdown: str, data: dict[str, Any]) -> tuple[Path, Path]:
    """`<directory>/<name>.md` and `.json` (name made filename-safe); the two paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    write_text_atomic(md, markdown)  # the lineage check reads the JSON back: never half of one
    write_text_atomic(js, json.dumps(data, indent=2, sort_keys=False) + "\n")
    return md, js


def report_name(audited_at: str, subject: str) -> str:
    """`<UTC timestamp>_<bento tag or document>`: reports sort by time and say what they audit."""
    return f"{audited_at.replace('-', '').replace(':', '').replace('+0000', 'Z')}_{subject}"
