"""Golden evaluation sets: human-written question/answer pairs.

Models are promoted only when they beat the champion on questions people
actually asked. A golden set is either the user's JSONL/CSV file or read from
FAQ-style documents, in any format: a section whose heading is a question
("How do I rotate the keys?") is a pair, its body the answer. Ids are derived
from the source and question so re-loading an unchanged set is idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiinfra_dagster.documents.model import Document
from aiinfra_dagster.records import read_records, required_fields


@dataclass(frozen=True)
class QAPair:
    """One golden question with its reference answer and where it came from."""

    qa_id: str
    question: str
    answer: str
    source: str
    section: str


def qa_id_for(source: str, question: str) -> str:
    """Stable id: the same question from the same source always gets the same id."""
    return hashlib.sha256(f"{source}\n{question}".encode()).hexdigest()[:16]


def question_sections(doc: Document, source: str) -> list[QAPair]:
    """Sections headed by a question, with their body as the answer (FAQ pages in any format).

    The answer is what a reader sees: each block's plain text, code kept verbatim. The
    pair's ``section`` is the nearest enclosing heading that is not itself a question.
    """
    pairs: list[QAPair] = []
    for sec in doc.sections:
        if not sec.heading.rstrip().endswith("?"):
            continue
        question = " ".join(sec.heading.split())
        answer = "\n\n".join(b.plain.strip() for b in sec.blocks if b.plain.strip())
        if not answer:
            continue
        enclosing = [t for t in sec.heading_path[:-1] if not t.rstrip().endswith("?")]
        pairs.append(QAPair(qa_id_for(source, question), question, answer, source, enclosing[-1] if enclosing else ""))
    return pairs


def _pair_from_record(record: object, path: Path, where: str) -> QAPair:
    values = required_fields(record, path, where, ("question", "answer"))
    assert isinstance(record, Mapping)
    source = str(record.get("source") or path.name)
    qa_id = str(record.get("id") or "").strip() or qa_id_for(source, values["question"])
    return QAPair(qa_id, values["question"], values["answer"], source, str(record.get("section") or "").strip())


def load_golden_file(path: str | Path) -> list[QAPair]:
    """Load a user golden set (JSONL or CSV); bad rows fail loudly with their location."""
    path = Path(path)
    return [_pair_from_record(record, path, where) for record, where in read_records(path, "golden")]
