"""The metadata synthetic_qa, validated_documents and quarantine show, from their stages' outcomes."""

from __future__ import annotations

import dagster as dg

from aiinfra_dagster.data.render import quarantine_metadata, validated_documents_metadata
from aiinfra_dagster.data.validation import split_documents
from aiinfra_dagster.lakehouse import WriteResult
from aiinfra_dagster.settings import PiiSettings, ValidationSettings
from aiinfra_dagster.synthetic.filters import FilterReport
from aiinfra_dagster.synthetic.generate import make_candidate
from aiinfra_dagster.synthetic.render import synthetic_qa_metadata
from aiinfra_dagster.synthetic.run import SyntheticQA
from tests.unit.test_validation import NOW, docs


def synthetic(kept: int) -> SyntheticQA:
    report = FilterReport(
        generated=kept + 3, kept=kept, dropped={"format.empty_answer": 1, "pii.email": 1, "format.too_long": 1}
    )
    return SyntheticQA(
        inputs={"document_chunks": 4, "chunk_embeddings": 2, "golden_qa": None},
        generator="template-v2",
        generation_version="g1",
        chunks_sampled=5,
        focus_chunks_added=1,
        focus_chunks_total=2,
        newly_generated=kept + 1,
        reused=2,
        kept=[make_candidate("t", f"c{i}", f"Question {i}?", "An answer. " * 20) for i in range(kept)],
        report=report,
        write=WriteResult("synthetic_qa", "/lake/synthetic_qa", 3, kept + 3),
    )


def test_synthetic_qa_metadata_counts_filters_and_samples_the_kept_pairs():
    meta = synthetic_qa_metadata(synthetic(kept=10), drift_report_id="")
    assert list(meta)[:3] == [
        "input_document_chunks_version",
        "input_chunk_embeddings_version",
        "input_golden_qa_version",
    ]
    assert meta["drift_report_id"] == "none (not started by drift)"
    assert meta["generated"] == 13 and meta["kept"] == 10 and meta["newly_generated"] == 11 and meta["reused"] == 2
    assert meta["dropped"].value.splitlines()[2:] == ["| format | 2 |", "| pii | 1 |"]
    assert meta["dropped_by_reason"].value.splitlines()[2] == "| format.empty_answer | 1 |"
    sample = meta["sample_kept"].value.splitlines()[2:]
    assert len(sample) == 8 and sample[0].startswith("| Question 0? | An answer.")
    assert synthetic_qa_metadata(synthetic(kept=1), drift_report_id="r7")["drift_report_id"] == "r7"


def test_validation_metadata_accounts_for_every_raw_row():
    raw = docs(
        **{
            "ok.rst": b"A perfectly ordinary paragraph of documentation text, mail ops@example.org.",
            "short.txt": b"tiny",
        }
    )
    split = split_documents(raw, 0, ValidationSettings(min_chars=10), PiiSettings(), NOW)
    valid = validated_documents_metadata(split, raw.height)
    assert (valid["raw_rows"], valid["valid_rows"], valid["quarantined_rows"]) == (2, 1, 1)
    assert valid["accounting"] == dg.MetadataValue.md("raw **2** = valid **1** + quarantined **1**")
    assert "| email | 1 |" in valid["pii_redactions"].value
    assert valid["expectations"].value == split.suite.as_markdown()
    quarantine = quarantine_metadata(split)
    assert quarantine["reasons"].value.splitlines()[2:] == ["| enough_text | 1 |"]
    assert quarantine["sample"].value.splitlines()[2].startswith("| short.txt | ")
