"""The champion pointer for people: champion_model's Dagster metadata, from the `ChampionUpdate` `run.update_champion`
returned (pure: the champion_history write already happened there)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.evaluation.run import ChampionUpdate
from aiinfra_dagster.markdown import markdown_table


def champion_history_markdown(recent: pl.DataFrame) -> str:
    """The latest champion_history rows (newest first, as `update_champion` returns them) as a table."""
    return markdown_table(
        ["#", "when (UTC)", "action", "model", "previous", "eval report"],
        [
            [
                r["sequence"],
                r["changed_at"].strftime("%Y-%m-%d %H:%M:%S"),
                r["action"],
                r["model_version"],
                r["previous_version"] or "",
                r["eval_report_id"] or "",
            ]
            for r in recent.iter_rows(named=True)
        ],
    )


def champion_metadata(update: ChampionUpdate) -> dict[str, Any]:
    """MaterializeResult metadata of one champion_model run: the champion now, why, and the recent history."""
    champion = update.current
    return {
        "model_version": champion["model_version"],
        "model_path": dg.MetadataValue.path(champion["model_path"]),
        "action": champion["action"],
        "changed": update.changed,
        "previous_version": champion["previous_version"] or "none",
        "eval_report_id": champion["eval_report_id"] or "",
        "reason": champion["reason"],
        "input_training_set_version": champion["training_set_version"]
        if champion["training_set_version"] is not None
        else -1,
        "input_base_model_sha256": champion["base_model_sha256"] or "",
        "champion_history_version": update.write.version,
        "history": dg.MetadataValue.md(champion_history_markdown(update.recent)),
    }
