"""Retrieval metrics (hand-computed), golden relevance, and verify-before-switch on a real embedded index."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from aiinfra_dagster.retrieval.build import GoldenQueries, IndexVerificationError, build_and_switch, index_rows
from aiinfra_dagster.retrieval.index import open_store
from aiinfra_dagster.retrieval.metrics import first_relevant_rank, retrieval_metrics
from aiinfra_dagster.retrieval.relevance import relevant_chunks
from aiinfra_dagster.retrieval.rows import IndexRows
from tests.unit.test_retrieval_index import make_rows


def test_metrics_by_hand():
    rankings = [["a", "b", "c"], ["x", "y", "z"], ["q", "r", "s"], ["m", "n", "o"]]
    relevant = [{"a"}, {"z", "k"}, {"nothing"}, {"n", "o"}]
    m = retrieval_metrics(rankings, relevant, ks=(1, 2, 3))
    # first relevant ranks: 1, 3, none, 2
    assert m.questions == 4
    assert m.recall == {1: 0.25, 2: 0.5, 3: 0.75}
    assert m.mrr == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert first_relevant_rank(["x", "y"], {"y"}) == 2 and first_relevant_rank([], {"y"}) is None


def test_metrics_refuse_questions_without_relevant_chunks():
    with pytest.raises(ValueError, match="at least one relevant"):
        retrieval_metrics([["a"]], [set()])
    assert retrieval_metrics([], []).questions == 0


def test_relevance_by_question_section_then_by_answer_text():
    chunks = pl.DataFrame(
        {
            "chunk_id": ["c1", "c2", "c3", "c4"],
            "path": ["faq/general.rst.txt", "faq/general.rst.txt", "faq/general.rst.txt", "library/re.rst.txt"],
            "section": [
                "General Python FAQ > General Information > What is Python?",
                "General Python FAQ > General Information > What is Python?",
                "General Python FAQ > General Information > How do I match a pattern in a string?",
                "re > Module contents",
            ],
            "text": [
                "Python is an interpreted language.",
                "It has classes.",
                "Use the :mod:`re` module.",
                "Use the re module: compile the pattern with re.compile and call search.",
            ],
        }
    )
    pairs = pl.DataFrame(
        {
            "qa_id": ["q1", "q2", "q3", "q4"],
            "question": ["What is  Python?", "How do I match a pattern in a string?", "User question", "Unanswerable"],
            "answer": [
                "Python is ...",
                "Use the re module ...",
                "Use the re module: compile the pattern with re.compile and call",
                "Nothing like this anywhere in the corpus at all",
            ],
            "source": ["faq/general.rst.txt", "faq/general.rst.txt", "mine.jsonl", "mine.jsonl"],
        }
    )
    judged = relevant_chunks(pairs, chunks)
    assert judged == {"q1": {"c1", "c2"}, "q2": {"c3"}, "q3": {"c4"}, "q4": set()}


def _golden(rows: IndexRows, relevant_index: int, relevant_id: str | None = None) -> GoldenQueries:
    return GoldenQueries(
        qa_ids=["q"],
        questions=["?"],
        vectors=rows.vectors[[relevant_index]],
        relevant=[{relevant_id or rows.chunk_ids[relevant_index]}],
    )


def test_failed_verification_keeps_the_old_version_serving(make_settings):
    q = make_settings(qdrant={"min_recall_at_10": 0.5}).qdrant
    good = IndexRows.from_records(make_rows(20, seed=1))
    store = open_store(q)
    try:
        first = build_and_switch(store, good, "model-a", _golden(good, 3), q)
        assert first.switched and first.metrics.recall[1] == 1.0
        bad = IndexRows.from_records(make_rows(25, seed=2))
        with pytest.raises(IndexVerificationError, match="golden recall@10") as err:
            build_and_switch(store, bad, "model-a", _golden(bad, 0, relevant_id="not-in-the-index"), q)
        assert first.version in str(err.value)
        assert store.alias_target(q.alias) == first.version
        again = build_and_switch(store, good, "model-a", _golden(good, 3), q)
        assert (again.version, again.built, again.switched) == (first.version, False, False)
    finally:
        store.close()


def test_old_versions_are_collected_beyond_keep_but_never_the_aliased_one(make_settings):
    q = make_settings(qdrant={"keep_versions": 2}).qdrant
    store = open_store(q)
    try:
        builds = []
        for seed in range(4):
            rows = IndexRows.from_records(make_rows(10 + seed, seed=seed))
            builds.append(build_and_switch(store, rows, "m", _golden(rows, 0), q))
        names = [v.name for v in store.versions()]
        assert names == [builds[2].version, builds[3].version]
        assert builds[3].deleted_versions == [builds[1].version] and builds[3].kept_versions == [
            builds[3].version,
            builds[2].version,
        ]
        with pytest.raises(ValueError, match="named by alias"):
            store.delete_version(builds[3].version)
    finally:
        store.close()


def test_index_rows_need_an_embedding_for_every_chunk():
    chunks = pl.DataFrame({"chunk_id": ["a", "b"], "path": ["p", "p"], "text": ["x", "y"]})
    labels = pl.DataFrame({"chunk_id": ["a"], "label": ["L"]})
    embeddings = pl.DataFrame(
        {"chunk_id": ["a", "b"], "model_id": ["m", "other"], "embedding": [[1.0, 0.0], [0.0, 1.0]]},
        schema={"chunk_id": pl.String, "model_id": pl.String, "embedding": pl.List(pl.Float32)},
    )
    with pytest.raises(ValueError, match="1 of 2 chunks.*materialize chunk_embeddings"):
        index_rows(chunks, labels, embeddings, "m")
    rows = index_rows(chunks.head(1), labels, embeddings, "m")
    assert rows.labels == ["L"] and rows.vectors.dtype == np.float32 and rows.document_paths == ["p"]


def test_rollback_points_the_alias_at_the_previous_kept_version(make_settings):
    from aiinfra_dagster.retrieval.hits import IndexNotFoundError
    from aiinfra_dagster.retrieval.index import open_index
    from aiinfra_dagster.retrieval.rollback import use_version
    from aiinfra_dagster.testing.retrieval_index import build_test_index

    qdrant = make_settings().qdrant
    first = build_test_index(qdrant, make_rows(6, seed=1))
    with pytest.raises(IndexNotFoundError, match="no kept version older"):
        use_version(qdrant)
    second = build_test_index(qdrant, make_rows(7, seed=2))
    with open_index(qdrant) as index:
        assert index.version == second
        assert use_version(qdrant) == first
        assert index.refresh() and index.version == first and index.count() == 6
        assert use_version(qdrant, second) == second
        with pytest.raises(IndexNotFoundError, match="not kept"):
            use_version(qdrant, "no-such-version")
