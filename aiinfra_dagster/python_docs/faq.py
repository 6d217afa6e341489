"""The default golden set: the question/answer pairs of the Python FAQ pages.

Each FAQ page has one section per question, so the generic question-section reader
(``data.golden.question_sections``) on the docutils parse of ``faq/*.rst.txt`` gives
about 176 pairs written by people, never used for training.
"""

from __future__ import annotations

from pathlib import Path

from aiinfra_dagster.data.golden import QAPair, question_sections
from aiinfra_dagster.documents.rst import parse_rst


def load_python_faq(faq_dir: Path) -> list[QAPair]:
    """Every ``*.rst.txt`` FAQ page in name order; sources look like ``faq/general.rst.txt``."""
    faq_dir = Path(faq_dir)
    pairs: list[QAPair] = []
    for path in sorted(faq_dir.glob("*.rst.txt")):
        doc = parse_rst(path.read_text(encoding="utf-8"))
        pairs.extend(question_sections(doc, f"{faq_dir.name}/{path.name}"))
    return pairs
