"""parse_rst: Sphinx reST through docutils, heading paths, typed blocks, API entries and source offsets."""

from __future__ import annotations

from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import directives, roles

from aiinfra_dagster.documents.model import Block, Document, UnparseableDocument
from aiinfra_dagster.documents.rst import parse_rst

DOC_SOURCES = Path("/usr/share/doc/python3.11/html/_sources")


def parsed(text: str) -> Document:
    doc = parse_rst(text).validate()
    assert doc.format == "rst"
    assert doc.text == text  # offsets point into the source itself
    for block in doc.blocks():
        source = doc.text[block.start : block.end]
        assert source == source.strip(), block  # trimmed of surrounding whitespace
    return doc


def source(doc: Document, block: Block) -> str:
    return doc.text[block.start : block.end]


def only(doc: Document, kind: str) -> Block:
    [block] = [b for b in doc.blocks() if b.kind == kind]
    return block


def test_sections_follow_docutils_nesting_and_strip_markup_from_headings() -> None:
    text = (
        "Words before any heading.\n\n"
        ":mod:`json` --- JSON encoder\n"
        "============================\n\n"
        "Intro.\n\n"
        "Basic *Usage*\n"
        "-------------\n\n"
        "Usage text.\n\n"
        "Deeper\n"
        "~~~~~~\n\n"
        "Deep text.\n\n"
        "Second\n"
        "------\n\n"
        "Second text.\n"
    )
    doc = parsed(text)
    assert doc.title == "json --- JSON encoder"
    assert [(s.heading_path, [b.plain for b in s.blocks]) for s in doc.sections] == [
        ((), ["Words before any heading."]),
        (("json --- JSON encoder",), ["Intro."]),
        (("json --- JSON encoder", "Basic Usage"), ["Usage text."]),
        (("json --- JSON encoder", "Basic Usage", "Deeper"), ["Deep text."]),
        (("json --- JSON encoder", "Second"), ["Second text."]),
    ]


def test_paragraph_source_and_unknown_roles_rendered_as_their_text() -> None:
    text = (
        "Title\n=====\n\n"
        "Use :func:`~os.path.join` or :meth:`str.join`, see :ref:`the guide <guide-label>`,\n"
        ":class:`!Frozen`, :pep:`8`, :rfc:`2822#section-3`, :issue:`1234`, :gh:`99`,\n"
        ":abbr:`LIFO (last-in, first-out)`, :c:func:`PyObject_Call` and *emphasis* ``code``.\n"
    )
    doc = parsed(text)
    [block] = doc.blocks()
    assert block.kind == "paragraph"
    assert source(doc, block).startswith("Use :func:`~os.path.join`") and source(doc, block).endswith("``code``.")
    assert block.plain == (
        "Use join or str.join, see the guide, Frozen, PEP 8, RFC 2822#section-3, bpo-1234, gh-99, "
        "LIFO, PyObject_Call and emphasis code."
    )


def test_literal_and_doctest_blocks_are_code_with_their_source() -> None:
    text = "Example::\n\n    def f(x):\n        return x\n\nSession:\n\n>>> 1 + 1\n2\n"
    doc = parsed(text)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("paragraph", "Example:"),
        ("code", "def f(x):\n    return x"),
        ("paragraph", "Session:"),
        ("code", ">>> 1 + 1\n2"),
    ]
    code = doc.blocks()[1]
    assert source(doc, code) == "def f(x):\n        return x"
    assert source(doc, doc.blocks()[3]) == ">>> 1 + 1\n2"


SPHINX_API = """\
json
====

.. module:: json
   :synopsis: Encode and decode the JSON format.

.. function:: dumps(obj, *, skipkeys=False, \\
                    indent=None)
   :noindex:

   Serialize *obj* to a JSON formatted :class:`str`.

   .. versionchanged:: 3.6
      All optional parameters are now keyword-only.

.. class:: JSONDecoder(*, strict=True)

   Simple JSON decoder.

   .. method:: decode(s)

      Return the Python representation of *s*.

   .. attribute:: JSONDecoder.strict

.. currentmodule:: os.path

.. py:function:: join(a, *p)
                 split(p)

   Path helpers.

.. opcode:: LOAD_CONST (consti)

.. c:function:: PyObject* PyLong_FromLong(long v)
"""


def test_api_directives_give_entries_with_dotted_names_and_signature_spans() -> None:
    doc = parsed(SPHINX_API)
    assert doc.metadata == {"module": "json", "synopsis": "Encode and decode the JSON format."}
    api = [b for b in doc.blocks() if b.kind == "api"]
    assert [(b.api.kind, b.api.name) for b in api if b.api] == [
        ("function", "json.dumps"),
        ("class", "json.JSONDecoder"),
        ("method", "json.JSONDecoder.decode"),
        ("attribute", "json.JSONDecoder.strict"),
        ("function", "os.path.join"),
        ("function", "os.path.split"),
        ("opcode", "LOAD_CONST"),
        ("c:function", "PyLong_FromLong"),
    ]
    dumps = api[0]
    assert source(doc, dumps) == ".. function:: dumps(obj, *, skipkeys=False, \\\n                    indent=None)"
    assert dumps.plain == "function dumps(obj, *, skipkeys=False, indent=None)"
    assert dumps.api is not None and dumps.api.signature == "dumps(obj, *, skipkeys=False, indent=None)"
    assert source(doc, api[4]) == ".. py:function:: join(a, *p)" and source(doc, api[5]) == "split(p)"
    body = {b.plain: b.api.name if b.api else None for b in doc.blocks() if b.kind != "api"}
    assert body == {
        "Serialize obj to a JSON formatted str.": "json.dumps",
        "Changed in version 3.6: All optional parameters are now keyword-only.": "json.dumps",
        "Simple JSON decoder.": "json.JSONDecoder",
        "Return the Python representation of s.": "json.JSONDecoder.decode",
        "Path helpers.": "os.path.join",
    }
    assert all(b.kind == "paragraph" for b in doc.blocks() if b.plain == "Simple JSON decoder.")


def test_admonitions_and_version_notes_are_quotes_with_their_label() -> None:
    text = (
        ".. versionadded:: 3.2\n\n"
        ".. versionchanged:: 3.4 Inline *text*.\n"
        "   More on the next line.\n\n"
        ".. deprecated-removed:: 3.4 3.6\n\n"
        "   Use :func:`other` instead.\n\n"
        ".. seealso:: Module :mod:`pickle`\n\n"
        ".. note::\n\n"
        "   A note with ``code``.\n\n"
        ".. impl-detail::\n\n"
        "   CPython only.\n\n"
        ".. admonition:: Custom title\n\n"
        "   Custom body.\n"
    )
    doc = parsed(text)
    assert [b.kind for b in doc.blocks()] == ["quote"] * 7
    assert [b.plain for b in doc.blocks()] == [
        "New in version 3.2.",
        "Changed in version 3.4: Inline text. More on the next line.",
        "Deprecated since version 3.4, will be removed in version 3.6: Use other instead.",
        "See also: Module pickle",
        "Note: A note with code.",
        "CPython implementation detail: CPython only.",
        "Custom title: Custom body.",
    ]
    assert source(doc, doc.blocks()[2]) == ".. deprecated-removed:: 3.4 3.6\n\n   Use :func:`other` instead."


def test_code_directives_keep_content_verbatim_whatever_their_options() -> None:
    text = (
        ".. code-block:: python\n"
        "   :emphasize-lines: 2\n"
        "   :caption: Example\n\n"
        "   if x:\n"
        "       y()\n\n"
        ".. testsetup::\n\n"
        "   import hidden\n\n"
        ".. testcode::\n\n"
        "   print(1)\n\n"
        ".. productionlist:: python-grammar\n"
        "   stmt: expr\n"
    )
    doc = parsed(text)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("code", "if x:\n    y()"),
        ("code", "print(1)"),
        ("code", "stmt: expr"),
    ]
    assert source(doc, doc.blocks()[0]).startswith(".. code-block:: python\n   :emphasize-lines: 2")


def test_navigation_directives_give_nothing_and_no_file_is_read(capfd: pytest.CaptureFixture[str]) -> None:
    text = (
        "Kept.\n\n"
        ".. toctree::\n   :maxdepth: 2\n\n   intro\n\n"
        ".. index:: single: json; dumps\n\n"
        ".. include:: /etc/passwd\n\n"
        ".. literalinclude:: /etc/passwd\n\n"
        ".. raw:: html\n   :file: /etc/passwd\n\n"
        ".. csv-table:: Users\n   :file: /etc/passwd\n\n"
        ".. only:: html\n\n   Builder-only text.\n\n"
        ".. tabularcolumns:: |l|l|\n\n"
        ".. sectionauthor:: Someone\n\n"
        "Also kept.\n"
    )
    doc = parsed(text)
    assert [b.plain for b in doc.blocks()] == ["Kept.", "Also kept."]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_unknown_directive_content_is_read_as_body() -> None:
    text = ".. centered:: Big *title*\n\n.. hlist::\n   :columns: 2\n\n   * one\n   * two\n"
    doc = parsed(text)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [("paragraph", "Big title"), ("list", "- one\n- two")]
    assert source(doc, doc.blocks()[0]) == ".. centered:: Big *title*"
    assert source(doc, doc.blocks()[1]) == "* one\n   * two"


def test_directive_or_table_docutils_rejects_is_kept_as_its_source() -> None:
    bad_directive = ".. function:: f(x)\n   :noindex:\n   Text right after the options."
    bad_table = "+---+---+\n| a | b |\n+---+--+\n| c | d |\n+---+---+"
    doc = parsed(f"{bad_directive}\n\n{bad_table}\n")
    assert [(b.kind, source(doc, b), b.plain) for b in doc.blocks()] == [
        ("paragraph", bad_directive, bad_directive),
        ("paragraph", bad_table, bad_table),
    ]


def test_lists_tables_and_quotes() -> None:
    text = (
        "* first item\n"
        "  continued\n\n"
        "  * nested\n\n"
        "* second\n\n"
        "1. one\n"
        "2. two\n\n"
        "term : classifier\n"
        "   Definition *text*.\n\n"
        ":param x: the x\n"
        ":returns:\n"
        "   a value\n\n"
        "-a, --all      Show all.\n"
        "--file=FILE    Read FILE.\n\n"
        "=====  =====\n"
        "A      B\n"
        "=====  =====\n"
        "1      2\n"
        "=====  =====\n\n"
        ".. list-table:: Caption\n"
        "   :header-rows: 1\n\n"
        "   * - h1\n"
        "     - h2\n"
        "   * - c1\n"
        "     - c2\n\n"
        "Intro:\n\n"
        "    Quoted *text*.\n\n"
        "    -- Someone\n\n"
        "| line one\n"
        "| line two\n"
    )
    doc = parsed(text)
    got = [(b.kind, b.plain, source(doc, b)) for b in doc.blocks()]
    assert got == [
        ("list", "- first item continued\n- nested\n- second", "* first item\n  continued\n\n  * nested\n\n* second"),
        ("list", "- one\n- two", "1. one\n2. two"),
        ("list", "- term classifier: Definition text.", "term : classifier\n   Definition *text*."),
        ("list", "- param x: the x\n- returns: a value", ":param x: the x\n:returns:\n   a value"),
        (
            "list",
            "- -a, --all: Show all.\n- --file=FILE: Read FILE.",
            "-a, --all      Show all.\n--file=FILE    Read FILE.",
        ),
        ("table", "A | B\n1 | 2", "=====  =====\nA      B\n=====  =====\n1      2\n=====  ====="),
        ("table", "h1 | h2\nc1 | c2", text[text.index(".. list-table::") : text.index("c2") + 2]),
        ("paragraph", "Intro:", "Intro:"),
        ("quote", "Quoted text.\nSomeone", "Quoted *text*.\n\n    -- Someone"),
        ("paragraph", "line one\nline two", "| line one\n| line two"),
    ]


def test_file_metadata_comments_targets_and_substitutions() -> None:
    text = (
        ":orphan:\n"
        ":tocdepth: 2\n\n"
        ".. _label:\n\n"
        ".. a comment that is not shown\n\n"
        ".. |name| replace:: the value\n\n"
        "Title\n=====\n\n"
        "Uses |name| here.\n\n"
        ":Author: Ada\n"
    )
    doc = parsed(text)
    assert doc.metadata == {"orphan": "", "tocdepth": "2"}  # Sphinx file metadata: before any other markup
    blocks = [(b.kind, b.plain) for b in doc.blocks()]
    assert blocks == [("paragraph", "Uses the value here."), ("list", "- Author: Ada")]


def test_handlers_are_local_to_this_parser() -> None:
    parse_rst(SPHINX_API)
    assert "function" not in directives._directives and "func" not in roles._roles
    overrides = {"report_level": 5, "halt_level": 5, "warning_stream": False}
    tree = publish_doctree(".. function:: f()\n\nSee :func:`f`.\n", settings_overrides=overrides)
    messages = " ".join(m.astext() for m in tree.findall(nodes.system_message))
    assert 'Unknown directive type "function"' in messages  # plain docutils still knows nothing of Sphinx
    assert 'Unknown interpreted text role "func"' in messages


def test_broken_markup_is_silent(capfd: pytest.CaptureFixture[str]) -> None:
    text = "Title here\n=====\n\nUnclosed *emphasis and |undefined| and `target`_ and [#]_.\n\n- item\nnot indented\n"
    doc = parsed(text)
    assert doc.title == "Title here"  # underline too short: a warning, still a title
    assert doc.blocks()[0].plain.startswith("Unclosed *emphasis and |undefined| and target")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_unusable_input_raises_unparseable_document() -> None:
    with pytest.raises(UnparseableDocument, match="longer than 100,000 characters"):
        parse_rst("a" * 100_001)
    with pytest.raises(UnparseableDocument, match="nests too deeply"):
        parse_rst("\n\n".join(" " * depth + "x" for depth in range(400)))


def test_offsets_with_crlf_tabs_and_empty_input() -> None:
    text = "Title\r\n=====\r\n\r\nPara\tgraph one\r\nline two.\r\n\r\n::\r\n\r\n    code here\r\n"
    doc = parsed(text)
    assert [(b.kind, source(doc, b), b.plain) for b in doc.blocks()] == [
        ("paragraph", "Para\tgraph one\r\nline two.", "Para graph one line two."),
        ("code", "code here", "code here"),
    ]
    empty = parsed("")
    assert empty.sections == () and empty.title == ""


# ------------------------------------------------------------------ the Python documentation


def test_python_faq_sections_are_the_questions() -> None:
    doc = parsed((DOC_SOURCES / "faq" / "general.rst.txt").read_text(encoding="utf-8"))
    assert doc.title == "General Python FAQ"
    questions = [s for s in doc.sections if s.heading.endswith("?")]
    assert len(questions) == 23
    first = questions[0]
    assert first.heading_path == ("General Python FAQ", "General Information", "What is Python?")
    assert first.blocks[0].plain.startswith("Python is an interpreted, interactive, object-oriented programming")
    assert all(q.blocks and q.heading_path[0] == "General Python FAQ" for q in questions)
    total = 0
    for page in sorted((DOC_SOURCES / "faq").glob("*.rst.txt")):
        total += sum(s.heading.endswith("?") for s in parse_rst(page.read_text(encoding="utf-8")).sections)
    assert 170 <= total <= 185  # 175 in the 3.11 documentation


def test_python_json_page_api_entries() -> None:
    doc = parsed((DOC_SOURCES / "library" / "json.rst.txt").read_text(encoding="utf-8"))
    assert doc.title == "json --- JSON encoder and decoder"
    assert doc.metadata["module"] == "json"
    names = [b.api.name for b in doc.blocks() if b.kind == "api" and b.api]
    for name in (
        "json.dump",
        "json.dumps",
        "json.load",
        "json.loads",
        "json.JSONDecoder",
        "json.JSONDecoder.decode",
        "json.JSONEncoder",
        "json.JSONEncoder.default",
        "json.JSONDecodeError",
        "json.JSONDecodeError.lineno",
    ):
        assert names.count(name) == 1, name
    blocks = doc.blocks()
    i = next(i for i, b in enumerate(blocks) if b.kind == "api" and b.api and b.api.name == "json.dumps")
    assert source(doc, blocks[i]).startswith(".. function:: dumps(obj, *, skipkeys=False, ensure_ascii=True, \\\n")
    assert blocks[i].plain.startswith("function dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True,")
    assert blocks[i + 1].api == blocks[i].api and blocks[i + 1].kind == "paragraph"
    assert blocks[i + 1].plain.startswith("Serialize obj to a JSON formatted str using this conversion table.")
    assert source(doc, blocks[i + 1]).startswith("Serialize *obj* to a JSON formatted :class:`str`")
    section = next(s for s in doc.sections if any(b is blocks[i] for b in s.blocks))
    assert section.heading_path == ("json --- JSON encoder and decoder", "Basic Usage")


def test_every_library_page_parses_and_its_blocks_point_at_their_source() -> None:
    pages = sorted((DOC_SOURCES / "library").glob("*.rst.txt"))
    assert len(pages) > 250
    kinds: set[str] = set()
    for page in pages:
        doc = parsed(page.read_text(encoding="utf-8"))
        assert doc.blocks(), page.name
        for block in doc.blocks():
            kinds.add(block.kind)
            text = source(doc, block)
            if block.kind == "code":  # code is verbatim: every line of it is in its source
                assert all(line.strip() in text for line in block.plain.splitlines()), (page.name, block)
            if block.kind == "api":
                assert block.api is not None and block.api.name and block.api.signature.split("(")[0].strip() in text
    assert kinds == {"paragraph", "code", "list", "table", "api", "quote"}
