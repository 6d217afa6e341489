"""Drift episodes -> retraining decisions: one run per episode, cooldown, one in flight, every skip explained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiinfra_dagster.monitoring.episodes import (
    DriftObservation,
    EpisodeCursor,
    RetrainingRun,
    advance,
    decide,
    run_key,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def obs(storage_id: int, verdict: str, report: str | None = None) -> DriftObservation:
    return DriftObservation(
        storage_id, report or f"r{storage_id}", verdict, f"run{storage_id}", ("label PSI 0.9 >= 0.25",), ("c1", "c2")
    )


def test_an_episode_opens_at_the_first_drifted_report_and_closes_at_a_clean_one():
    cursor = advance(EpisodeCursor(), [obs(1, "no drift"), obs(2, "drift"), obs(3, "no verdict"), obs(4, "drift")])
    assert (cursor.episode, cursor.latest_drifted.report_id, cursor.last_storage_id) == ("r2", "r4", 4)
    closed = advance(cursor, [obs(5, "no drift")])
    assert closed.episode is None and closed.latest_drifted is None
    reopened = advance(closed, [obs(6, "drift")])
    assert reopened.episode == "r6"


def test_reports_at_or_before_the_cursor_are_ignored():
    cursor = advance(EpisodeCursor(last_storage_id=10), [obs(3, "drift"), obs(10, "drift")])
    assert cursor.episode is None and cursor.last_storage_id == 10


def test_one_request_per_episode_despite_repeated_ticks():
    cursor = advance(EpisodeCursor(), [obs(1, "drift")])
    first = decide(cursor, None, NOW, HOUR)
    assert first.request and "r1" in first.reason and "label PSI" in first.reason
    after = EpisodeCursor(cursor.last_storage_id, cursor.episode, cursor.latest_drifted, requested=cursor.episode)
    again = decide(advance(after, [obs(2, "drift")]), None, NOW, HOUR)
    assert not again.request and "already requested" in again.reason and run_key("r1") in again.reason
    # a reset cursor: the instance still has the episode's run
    reset = decide(advance(EpisodeCursor(), [obs(1, "drift")]), None, NOW, HOUR, episode_run_id="abc")
    assert not reset.request and "abc" in reset.reason


def test_in_flight_and_cooldown_block_a_new_episode_with_a_reason():
    cursor = advance(EpisodeCursor(), [obs(1, "drift")])
    running = RetrainingRun("run-a", "STARTED", NOW - 2 * HOUR, in_flight=True)
    blocked = decide(cursor, running, NOW, HOUR)
    assert not blocked.request and "run-a" in blocked.reason and "at most one" in blocked.reason
    failed = RetrainingRun("run-b", "FAILURE", NOW - timedelta(minutes=20), in_flight=False)  # e.g. the gate said no
    cooling = decide(cursor, failed, NOW, HOUR)
    assert not cooling.request and "cooldown" in cooling.reason and "20.0 min" in cooling.reason
    assert decide(cursor, failed, NOW + HOUR, HOUR).request


def test_no_episode_no_request():
    decision = decide(advance(EpisodeCursor(), [obs(1, "no verdict")]), None, NOW, HOUR)
    assert not decision.request and "no open drift episode" in decision.reason


def test_cursor_round_trips_through_json():
    cursor = advance(EpisodeCursor(), [obs(7, "drift")])
    cursor = EpisodeCursor(cursor.last_storage_id, cursor.episode, cursor.latest_drifted, requested="r7")
    assert EpisodeCursor.from_json(cursor.to_json()) == cursor
    assert EpisodeCursor.from_json(None) == EpisodeCursor()
