"""Choosing the golden evaluation set the settings point at."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from aiinfra_dagster import python_docs
from aiinfra_dagster.data.golden import QAPair, load_golden_file
from aiinfra_dagster.python_docs.faq import load_python_faq
from aiinfra_dagster.settings import Settings


def golden_kind(settings: Settings) -> str:
    """`golden.kind` with `auto` resolved: files, python_faq or none."""
    golden = settings.golden
    return python_docs.resolve_auto(
        golden.kind, settings.sources, given=bool(golden.paths), given_mode="files", pack_mode="python_faq"
    )


def load_golden_set(settings: Settings) -> tuple[list[QAPair], str]:
    """The configured pairs and a note on where they came from (shown in the UI).

    `golden.max_pairs` keeps a stable, content-independent sample: the first pairs by id.
    """
    kind = golden_kind(settings)
    if kind == "files":
        pairs = [pair for path in settings.golden.paths for pair in load_golden_file(path)]
        origin = "files: " + ", ".join(Path(p).name for p in settings.golden.paths)
    elif kind == "python_faq":
        faq_dir = Path(settings.python_docs_dir) / "faq"
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
    if settings.golden.max_pairs is not None and len(pairs) > settings.golden.max_pairs:
        pairs = sorted(pairs, key=lambda p: p.qa_id)[: settings.golden.max_pairs]
        origin += f" (first {settings.golden.max_pairs} by id)"
    return pairs, origin
