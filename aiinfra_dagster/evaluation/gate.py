"""The promotion gate: the candidate must beat the incumbent, and no slice may regress.

Both decisions carry a sentence a person reads in the check result, with the
numbers that decided it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiinfra_dagster.evaluation.compare import SliceDelta
from aiinfra_dagster.evaluation.metrics import Interval
from aiinfra_dagster.settings import PromotionSettings


@dataclass(frozen=True)
class Decision:
    passed: bool
    reason: str


def headline_decision(metric: str, mode: str, incumbent: str, delta: Interval, params: PromotionSettings) -> Decision:
    """Candidate vs incumbent on the headline metric, by the configured criterion."""
    margin = params.min_improvement
    what = f"{metric} ({mode}) improvement over the {incumbent}: {delta.as_text()} on {delta.n} questions"
    if delta.n == 0:
        return Decision(False, f"no paired questions to compare the candidate with the {incumbent}")
    if params.criterion == "ci_lower_bound":
        passed = delta.low > margin if margin == 0 else delta.low >= margin
        rule = f"the CI's lower bound must be {'above' if margin == 0 else 'at least'} {margin:g}"
    else:
        passed = delta.mean >= margin and delta.high > margin
        rule = f"the mean must be at least {margin:g} (and the CI not wholly below it)"
    return Decision(passed, f"{'passed' if passed else 'blocked'}: {what}; {rule}")


def slice_decision(metric: str, slices: Sequence[SliceDelta], params: PromotionSettings) -> Decision:
    """Blocked when a gated slice's mean improvement is below -slice_tolerance."""
    gated = [s for s in slices if s.gated]
    regressed = [s for s in gated if s.delta < -params.slice_tolerance]
    if regressed:
        listed = ", ".join(f"{s.slice} ({s.delta:+.3f} on {s.questions})" for s in regressed)
        return Decision(False, f"blocked: {metric} regressed beyond {params.slice_tolerance:g} in {listed}")
    if not gated:
        return Decision(
            True,
            f"passed: no slice has {params.min_slice_questions}+ questions to gate on ({len(slices)} slices reported)",
        )
    worst = min(gated, key=lambda s: s.delta)
    return Decision(
        True,
        f"passed: worst of {len(gated)} gated slices is {worst.slice} ({worst.delta:+.3f}), "
        f"tolerance {params.slice_tolerance:g}",
    )
