"""The drift verdict: which signals of `drift` crossed their thresholds, and why, in words a person reads.

Pure decision logic over the statistics `drift` computes (nothing here measures anything), so
the thresholds and the quiet-window rule are tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiinfra_dagster.monitoring.drift import KSResult, MMDResult, PSIResult
from aiinfra_dagster.settings import DriftThresholdSettings

DriftThresholds = DriftThresholdSettings
"""When a signal counts as drift (the `monitoring.thresholds` settings model, defaults included): p-values
cross when below, the others when at or above; below min_requests there is no verdict."""


@dataclass(frozen=True)
class DriftSignal:
    """One signal's value against its threshold and whether it crossed it."""

    name: str
    value: float
    threshold: float
    crossed: bool
    description: str
    """readable comparison, e.g. 'query-embedding MMD p=0.001 < 0.01'"""


@dataclass(frozen=True)
class DriftVerdict:
    """Whether traffic drifted, why (one reason per crossed signal), and every signal that was computed."""

    drifted: bool
    reasons: list[str]
    signals: dict[str, DriftSignal] = field(default_factory=dict)


def _number(value: float) -> str:
    return f"{value:.3g}"


def _below(name: str, label: str, value: float, threshold: float) -> DriftSignal:
    crossed = value < threshold
    relation = "<" if crossed else ">="
    return DriftSignal(name, value, threshold, crossed, f"{label} p={_number(value)} {relation} {_number(threshold)}")


def _at_or_above(name: str, label: str, value: float, threshold: float) -> DriftSignal:
    crossed = value >= threshold
    relation = ">=" if crossed else "<"
    return DriftSignal(name, value, threshold, crossed, f"{label} {_number(value)} {relation} {_number(threshold)}")


def assess(
    *,
    n_requests: int,
    mmd: MMDResult | None = None,
    label_psi: PSIResult | None = None,
    length_ks: KSResult | None = None,
    retrieval_score_drop: float | None = None,
    low_confidence: float | None = None,
    thresholds: DriftThresholds | None = None,
) -> DriftVerdict:
    """One verdict from whichever signals were computed (None = not available in this window).

    Traffic drifted when at least one signal crossed its threshold and the current window has at
    least min_requests requests; below that the signals are still reported, but the verdict is
    no drift with the reason 'only N requests (< min_requests M)', so a quiet hour does not
    trigger retraining.
    """
    limits = thresholds or DriftThresholds()
    computed: list[DriftSignal] = []
    if mmd is not None:
        computed.append(_below("mmd", "query-embedding MMD", mmd.p_value, limits.mmd_p_value))
    if label_psi is not None:
        label = (
            f"label PSI {_number(label_psi.value)} - noise floor {_number(label_psi.noise_floor)} ="
            if label_psi.noise_floor
            else "label PSI"
        )
        computed.append(_at_or_above("psi", label, label_psi.excess, limits.psi))
    if length_ks is not None:
        computed.append(_below("ks", "query-length KS", length_ks.p_value, limits.ks_p_value))
    if retrieval_score_drop is not None:
        computed.append(_at_or_above("score_drop", "retrieval score drop", retrieval_score_drop, limits.score_drop))
    if low_confidence is not None:
        computed.append(
            _at_or_above("low_confidence_share", "low-confidence share", low_confidence, limits.low_confidence_share)
        )
    signals: Mapping[str, DriftSignal] = {signal.name: signal for signal in computed}

    if n_requests < limits.min_requests:
        return DriftVerdict(
            False, [f"only {n_requests} requests (< min_requests {limits.min_requests})"], dict(signals)
        )
    reasons = [signal.description for signal in computed if signal.crossed]
    return DriftVerdict(bool(reasons), reasons, dict(signals))
