"""Choosing the golden evaluation set the settings point at."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from aiinfra_dagster import python_docs
from aiinfra_dagster.data.golden import QAPair, load_golden_file
from aiinfra_dagster.python_docs.faq import load_python_faq
from aiinfra_dagster.settings import GoldenSettings, SourceSettings


def golden_kind(*, golden: GoldenSettings, sources: Sequence[SourceSettings]) -> str:
    """`golden.kind` with `auto` resolved: files, python_faq or none."""
    return python_docs.resolve_auto(
        golden.kind, sources, given=bool(golden.paths), given_mode="files", pack_mode="python_faq"
    )


def load_golden_set(
    *, golden: GoldenSettings, sources: Sequence[SourceSettings], python_docs_dir: str
) -> tuple[list[QAPair], str]:
    """The configured pairs and a note on where they came from (shown in the UI).

    `golden.max_pairs` keeps a stable, content-independent sample: the first pairs by id.
    """
    kind = golden_kind(golden=golden, sources=sources)
    if kind == "files":
        pairs = [pair for path in golden.paths for pair in load_golden_file(path)]
        origin = "files: " + ", ".join(Path(p).name for p in golden.paths)
    elif kind == "python_faq":
        faq_dir = Path(python_docs_dir) / "faq"
        if not faq_dir.is_dir():
            return [], f"{faq_dir} not found: install python3.11-doc or set golden.paths"
        pairs = load_python_faq(faq_dir)
        origin = "Python FAQ (python3.11-doc)"
    else:
        return [], "none configured: set golden.paths to a JSONL/CSV of question, answer, source"
    ids = Counter(p.qa_id for p in pairs)
    repeated = sorted(i for i, n in ids.items() if n > 1)
    if repeated:
        raise ValueError(f"golden set ({origin}) has repeated ids {repeated[:5]}: ids must be unique")
    if golden.max_pairs is not None and len(pairs) > golden.max_pairs:
        pairs = sorted(pairs, key=lambda p: p.qa_id)[: golden.max_pairs]
        origin += f" (first {golden.max_pairs} by id)"
    return pairs, origin
