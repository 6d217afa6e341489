"""From a stream of drift reports to retraining decisions: episodes, the cursor, cooldown, one run in flight.

An episode is a maximal run of drifted reports: it opens at the first drifted report,
stays open through further drifted reports and reports without a verdict (too little
traffic), and closes at the first report within every threshold. One episode gets at
most one retraining run; its run key is derived from the report that opened it, so a
reset cursor or a second sensor tick can never start a second run for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from aiinfra_dagster.monitoring.report import DRIFT, NO_DRIFT

RUN_KEY_PREFIX = "drift-episode-"
TAG_EPISODE = "aiinfra/drift_episode"
"""run tags of a retraining run: which episode and drift report started it (the UI and the lineage audit read them)"""
TAG_REPORT = "aiinfra/drift_report_id"
TAG_REPORT_RUN = "aiinfra/drift_report_run_id"
TAG_REASONS = "aiinfra/drift_reasons"


@dataclass(frozen=True)
class DriftObservation:
    """What the sensor needs from one drift_report materialization."""

    storage_id: int
    report_id: str
    verdict: str
    """drift / no drift / no verdict"""
    run_id: str
    reasons: tuple[str, ...] = ()
    focus_chunk_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class EpisodeCursor:
    """The sensor's cursor (JSON): how far it has read and the state of the current episode."""

    last_storage_id: int = 0
    episode: str | None = None
    """report id that opened the open episode"""
    latest_drifted: DriftObservation | None = None
    requested: str | None = None
    """the episode a retraining run was requested for"""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> EpisodeCursor:
        if not text:
            return cls()
        data = json.loads(text)
        latest = data.get("latest_drifted")
        if latest:
            latest = DriftObservation(
                **{**latest, "reasons": tuple(latest["reasons"]), "focus_chunk_ids": tuple(latest["focus_chunk_ids"])}
            )
        return cls(data.get("last_storage_id", 0), data.get("episode"), latest, data.get("requested"))


def advance(cursor: EpisodeCursor, observations: Iterable[DriftObservation]) -> EpisodeCursor:
    """Fold new reports (ascending storage id) into the episode state."""
    for obs in sorted(observations, key=lambda o: o.storage_id):
        if obs.storage_id <= cursor.last_storage_id:
            continue
        if obs.verdict == DRIFT:
            cursor = replace(cursor, episode=cursor.episode or obs.report_id, latest_drifted=obs)
        elif obs.verdict == NO_DRIFT:
            cursor = replace(cursor, episode=None, latest_drifted=None)
        cursor = replace(cursor, last_storage_id=obs.storage_id)
    return cursor


def run_key(episode: str) -> str:
    return f"{RUN_KEY_PREFIX}{episode}"


@dataclass(frozen=True)
class RetrainingRun:
    """The last retraining run the instance knows of."""

    run_id: str
    status: str
    started: datetime | None
    in_flight: bool


@dataclass(frozen=True)
class Decision:
    request: bool
    reason: str


def decide(
    cursor: EpisodeCursor,
    last_run: RetrainingRun | None,
    now: datetime,
    cooldown: timedelta,
    episode_run_id: str | None = None,
) -> Decision:
    """Whether to request a retraining run now, and why (every skip says why).

    episode_run_id: a run the instance already has for the open episode (found by its tag), so
    a reset cursor does not request the episode again.
    """
    if cursor.episode is None:
        return Decision(
            False,
            "no open drift episode: the latest report with a verdict is within every threshold (or there is none)",
        )
    if cursor.requested == cursor.episode or episode_run_id:
        run = f" (run {episode_run_id})" if episode_run_id else ""
        return Decision(
            False,
            f"a retraining run was already requested for drift episode {cursor.episode}{run}, "
            f"run key {run_key(cursor.episode)}",
        )
    if last_run and last_run.in_flight:
        return Decision(
            False, f"retraining run {last_run.run_id} is still {last_run.status}: at most one retraining run at a time"
        )
    if last_run and last_run.started and now - last_run.started < cooldown:
        waited = now - last_run.started
        return Decision(
            False,
            f"cooldown: the last retraining run {last_run.run_id} ({last_run.status}) started "
            f"{waited.total_seconds() / 60:.1f} min ago "
            f"(< monitoring.retraining.cooldown_minutes {cooldown.total_seconds() / 60:g})",
        )
    return Decision(
        True,
        f"drift episode {cursor.episode}: "
        f"{'; '.join(cursor.latest_drifted.reasons) if cursor.latest_drifted else 'drifted'}",
    )
