"""Whether a stage has anything usable, and if not, which settings to change.

A corpus nobody tuned for can leave a stage empty: no training example survives the
filters, no golden answer occurs in the indexed chunks, a class gets no example. Each
verdict here becomes a blocking asset check, so the run stops at a named check with a
reason a person can act on (and the served champion stays), instead of an exception
from deep inside a library several steps later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class Readiness:
    usable: bool
    reason: str
    settings: tuple[str, ...] = ()
    """Settings that change the outcome, named as in aiinfra.yaml."""
    details: Mapping[str, object] = field(default_factory=dict)

    def message(self) -> str:
        if self.usable:
            return self.reason
        return f"{self.reason} Change: {', '.join(self.settings)}." if self.settings else self.reason


def training_set_readiness(training_set: pl.DataFrame, synthetic_qa: pl.DataFrame) -> Readiness:
    """At least one train example; when there is none, say what the synthetic filters dropped and why."""
    train = training_set.filter(pl.col("split") == "train").height if training_set.height else 0
    validation = training_set.height - train
    if train:
        return Readiness(True, f"{train} train and {validation} validation examples.")
    reasons = Counter(r for r in synthetic_qa.filter(~pl.col("kept"))["drop_reason"].to_list() if r)
    top = ", ".join(f"{reason} {n}" for reason, n in reasons.most_common(3)) or "none generated"
    reason = (
        f"The training set has no train example: synthetic_qa kept {synthetic_qa.filter(pl.col('kept')).height} "
        f"of {synthetic_qa.height} candidates (dropped: {top})."
    )
    settings = ["synthetic.generator", "synthetic.max_chunks", "synthetic.questions_per_chunk"]
    if reasons.get("round_trip.not_retrieved"):
        settings.append("synthetic.round_trip_k")
    if any(r.startswith("contamination.") for r in reasons):
        settings.append("synthetic.decontamination_threshold")
    settings += ["training_set.human_pairs_paths", "sources (documents with prose paragraphs)"]
    return Readiness(False, reason, tuple(settings), {"dropped_by_reason": dict(reasons)})


def golden_readiness(pairs: int, found_in_index: int, origin: str = "") -> Readiness:
    """A golden set exists and at least one of its answers occurs in the indexed chunks."""
    if pairs == 0:
        return Readiness(
            False,
            f"The golden set is empty ({origin or 'no pairs loaded'}): nothing can be evaluated or gated.",
            ("golden.paths (JSONL/CSV with question, answer, source)", "golden.kind"),
        )
    if found_in_index == 0:
        return Readiness(
            False,
            f"None of the {pairs} golden answers was found in the indexed chunks, so retrieval cannot be "
            "measured: the golden set and the sources describe different documents.",
            ("golden.paths (answers copied from the documents, source = their path)", "sources"),
        )
    return Readiness(True, f"{found_in_index} of {pairs} golden answers found in the indexed chunks.")


def class_readiness(labels: Sequence[str | None], classes: Sequence[str], configured: bool = True) -> Readiness:
    """Every configured class has at least one labeled chunk (a classifier cannot learn a class it never sees).

    Classes taken from reference labels (``configured=False``) describe a whole collection, of which a source may
    hold a sample: their empty classes are reported, not required.
    """
    counts = Counter(label for label in labels if label is not None)
    if not classes:
        return Readiness(
            False,
            "No label classes are configured and there are no reference labels to take them from, so nothing can "
            "be labeled and the topic classifier has nothing to learn.",
            ("labels.classes (with labels.keyword_functions and labels.descriptions)", "labels.reference_path"),
        )
    empty = [c for c in classes if not counts.get(c)]
    if empty and not configured:
        return Readiness(
            True,
            f"{len(classes) - len(empty)} of {len(classes)} reference classes have labeled chunks (the others are not "
            "in these sources).",
            details={"per_class": {c: counts.get(c, 0) for c in classes}},
        )
    if not empty:
        return Readiness(True, f"All {len(classes)} classes have labeled chunks.", details={"per_class": dict(counts)})
    return Readiness(
        False,
        f"{len(empty)} of {len(classes)} classes have no labeled chunk: {', '.join(empty)}.",
        ("labels.keyword_functions (keywords that occur in those documents)", "labels.descriptions", "labels.classes"),
        {"per_class": {c: counts.get(c, 0) for c in classes}},
    )
