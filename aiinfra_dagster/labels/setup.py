"""What the settings select for labeling: the reference labels and the labeling functions.

The Python docs pack contributes its chapter labels and LFs only when a ``python_docs``
source is configured; every corpus gets the generic LFs built from its own classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from aiinfra_dagster import python_docs
from aiinfra_dagster.labels.functions import LabelingFunction, generic_labeling_functions
from aiinfra_dagster.labels.reference import ReferenceLabel, load_reference_file
from aiinfra_dagster.python_docs.chapters import LIBRARY_INDEX, parse_library_chapters
from aiinfra_dagster.python_docs.labeling import python_labeling_functions
from aiinfra_dagster.settings import LabelSettings, SourceSettings


def reference_mode(*, labels: LabelSettings, sources: Sequence[SourceSettings]) -> str:
    """`labels.reference` with `auto` resolved: file, python_library_chapters or none."""
    return python_docs.resolve_auto(
        labels.reference,
        sources,
        given=bool(labels.reference_path),
        given_mode="file",
        pack_mode="python_library_chapters",
    )


def reference_labels(
    *, labels: LabelSettings, sources: Sequence[SourceSettings], python_docs_dir: str
) -> tuple[list[ReferenceLabel], str]:
    """The reference labels and where they came from (shown in the UI)."""
    mode = reference_mode(labels=labels, sources=sources)
    if mode == "python_library_chapters":
        sources_dir = Path(python_docs_dir)
        if not (sources_dir / LIBRARY_INDEX).exists():
            return [], f"{sources_dir / LIBRARY_INDEX} not found"
        return parse_library_chapters(sources_dir), "Python library index chapters"
    if mode == "file":
        assert labels.reference_path is not None
        path = Path(labels.reference_path)
        return load_reference_file(path), f"file {path.name}"
    return [], "none configured (labels.reference: none)"


def labeling_functions(
    classes: Sequence[str], *, labels: LabelSettings, sources: Sequence[SourceSettings]
) -> list[LabelingFunction]:
    """Generic LFs from the user's classes and keywords, plus the Python pack's LFs for python_docs sources."""
    lfs = generic_labeling_functions(classes, labels.keyword_functions)
    if labels.builtin_functions and python_docs.enabled(sources):
        lfs = python_labeling_functions(classes) + lfs
    return lfs


def label_classes(labels: LabelSettings, reference: pl.DataFrame) -> list[str]:
    """The configured label set, or the classes of the reference labels."""
    return list(labels.classes) or sorted(set(reference["label"].to_list()))
