"""Per-step training metrics, kept in memory and appended to a JSONL file as the Trainer logs them.

The JSONL file lives beside the checkpoints, so a run that is killed and
resumed keeps the steps it logged before the kill (entries are keyed by step;
a resumed run overwrites the steps it repeats).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


class MetricsHistory(TrainerCallback):
    """Collects every `on_log` entry with its step and epoch."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[tuple[int, str], dict[str, Any]] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                self.entries[(int(entry["step"]), _kind(entry))] = entry

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero:
            return
        step = int(state.global_step)
        entry: dict[str, Any] = {"step": step, "epoch": float(state.epoch or 0.0)}
        entry.update({k: float(v) for k, v in logs.items() if isinstance(v, (int, float))})
        self.entries[(step, _kind(entry))] = entry
        if self.path is not None:
            with self.path.open("a") as fh:
                fh.write(json.dumps(entry) + "\n")

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Entries in step order (the last entry per step and kind wins)."""
        return [self.entries[k] for k in sorted(self.entries)]

    def series(self, name: str) -> list[tuple[int, float]]:
        """(step, value) pairs of one metric, e.g. ``loss`` or ``eval_loss``."""
        return [(e["step"], e[name]) for e in self.steps if name in e]


def _kind(entry: dict[str, Any]) -> str:
    """Train, eval and summary logs share steps; keep one of each."""
    if any(k.startswith("eval_") for k in entry):
        return "eval"
    if "train_loss" in entry:  # the end-of-training summary (every step log carries train_runtime)
        return "summary"
    return "train"
