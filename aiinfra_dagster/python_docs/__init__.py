"""The Python documentation pack: everything specific to the default corpus, in one place.

Library-chapter reference labels (``chapters``), the FAQ golden set (``faq``), labeling
functions written for the library chapters (``labeling``) and question templates for API
entries (``questions``). The pack is on only when a source of kind ``python_docs`` (or
``pydoc_topics``) is configured; every other corpus runs on the generic stages alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiinfra_dagster.settings import SourceSettings

PACK_SOURCE_KINDS = frozenset({"python_docs", "pydoc_topics"})


def pack_sources(sources: Iterable[SourceSettings]) -> list[str]:
    """Names of the sources the pack applies to."""
    return [s.name for s in sources if s.kind in PACK_SOURCE_KINDS]


def enabled(sources: Iterable[SourceSettings]) -> bool:
    return bool(pack_sources(sources))


def resolve_auto(mode: str, sources: Iterable[SourceSettings], *, given: bool, given_mode: str, pack_mode: str) -> str:
    """An ``auto`` setting resolved: what the user gave wins, then the pack's python_docs default, else none."""
    if mode != "auto":
        return mode
    if given:
        return given_mode
    return pack_mode if enabled(sources) else "none"
