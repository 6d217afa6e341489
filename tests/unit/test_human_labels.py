"""Importing annotators' labels from CSV, JSONL and Label Studio exports."""

import json

import pytest

from aiinfra_dagster.labels.human import read_human_label_file, validate_human_labels

CLASSES = {"Networking", "Text"}
CHUNKS = {"c1", "c2", "c3"}


def test_csv_jsonl_and_label_studio_records_are_accepted_or_quarantined_with_reasons(tmp_path):
    (tmp_path / "a.csv").write_text(
        "chunk_id,label,annotator\nc1,Networking,ann\nc9,Text,ann\nc2,Poetry,ann\n,Text,ann\n"
    )
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"chunk_id": "c2", "label": "Text"})
        + "\n{not json\n"
        + json.dumps({"chunk_id": "c1", "label": "Text"})
        + "\n"
    )
    tasks = [
        {
            "id": 7,
            "data": {"chunk_id": "c3", "text": "..."},
            "annotations": [
                {
                    "completed_by": {"email": "x@y.z"},
                    "updated_at": "2026-01-01",
                    "result": [{"value": {"choices": ["Text"]}}],
                },
                {"completed_by": 2, "updated_at": "2026-02-01", "result": [{"value": {"choices": ["Networking"]}}]},
                {"was_cancelled": True, "updated_at": "2026-03-01", "result": [{"value": {"choices": ["Text"]}}]},
            ],
        },
        {"id": 8, "data": {"chunk_id": "c2"}, "annotations": []},
    ]
    (tmp_path / "c.json").write_text(json.dumps(tasks))
    records = [r for name in ["a.csv", "b.jsonl", "c.json"] for r in read_human_label_file(tmp_path / name)]
    result = validate_human_labels(records, CHUNKS, CLASSES)

    assert {r["chunk_id"]: r["label"] for r in result.accepted} == {"c1": "Text", "c2": "Text", "c3": "Networking"}
    assert next(r for r in result.accepted if r["chunk_id"] == "c3")["annotator"] == "2"
    reasons = {(q["source_file"], q["record"]): q["reason"] for q in result.quarantined}
    assert reasons[("a.csv", "line 3")] == "unknown chunk_id 'c9'"
    assert reasons[("a.csv", "line 4")].startswith("unknown label 'Poetry'")
    assert reasons[("a.csv", "line 5")] == "missing chunk_id"
    assert reasons[("b.jsonl", "line 2")].startswith("invalid JSON")
    assert reasons[("a.csv", "line 2")] == "superseded by b.jsonl line 3"
    assert reasons[("c.json", "task 8")] == "missing label"
    assert len(result.accepted) + len(result.quarantined) == len(records)


def test_unsupported_extension_is_a_clear_error(tmp_path):
    (tmp_path / "labels.xlsx").write_text("")
    with pytest.raises(ValueError, match="unsupported extension"):
        read_human_label_file(tmp_path / "labels.xlsx")
