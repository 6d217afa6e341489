from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aiinfra_dagster.data.golden import QAPair, load_golden_file, question_sections
from aiinfra_dagster.documents.markdown import parse_markdown
from aiinfra_dagster.documents.rst import parse_rst
from aiinfra_dagster.python_docs.faq import load_python_faq

FAQ_DIR = Path("/usr/share/doc/python3.11/html/_sources/faq")

FAQ_RST = """\
:tocdepth: 2

===============
Programming FAQ
===============

.. only:: html

   .. contents::

General Questions
=================

Is there a debugger?
--------------------

Yes.  See :func:`breakpoint` and :mod:`the docs <pdb>`.

.. XXX mention more debuggers
   on two lines

Use it like this::

   import pdb
   pdb.set_trace()  # a ``literal`` stays as code

.. _faq-label:

What is ``None``?
-----------------

It is :const:`None`, the `null object <https://example.org/none>`_.



Read :ref:`the tutorial <tut>`.

.. code-block:: c
   :linenos:

   int main(void) { return 0; }

Core Language
=============

Why is this empty?
------------------

.. XXX write me

Sub topic without question
--------------------------

Not a question body.

Is nesting followed?
--------------------

Outer answer.

Deeper question?
^^^^^^^^^^^^^^^^

Inner answer with :class:`~collections.OrderedDict`.
"""


def _by_question(pairs: list[QAPair]) -> dict[str, QAPair]:
    return {p.question: p for p in pairs}


def parse_faq_rst(text: str, source: str) -> list[QAPair]:
    return question_sections(parse_rst(text), source)


def test_parse_faq_inline_sample() -> None:
    pairs = parse_faq_rst(FAQ_RST, "faq/programming.rst.txt")
    assert [p.question for p in pairs] == [
        "Is there a debugger?",
        "What is None?",
        "Is nesting followed?",
        "Deeper question?",
    ]
    q = _by_question(pairs)
    debugger = q["Is there a debugger?"]
    assert debugger.section == "General Questions"
    assert debugger.source == "faq/programming.rst.txt"
    assert debugger.answer == (
        "Yes. See breakpoint and the docs.\n\nUse it like this:\n\n"
        "import pdb\npdb.set_trace()  # a ``literal`` stays as code"
    )
    none = q["What is None?"]
    assert none.answer == "It is None, the null object.\n\nRead the tutorial.\n\nint main(void) { return 0; }"
    assert "XXX" not in "".join(p.answer for p in pairs)
    assert q["Is nesting followed?"].section == "Core Language"
    assert q["Is nesting followed?"].answer == "Outer answer."
    assert q["Deeper question?"].section == "Core Language"  # nearest non-question title
    assert q["Deeper question?"].answer == "Inner answer with OrderedDict."


def test_question_sections_work_on_any_format() -> None:
    faq = "# Handbook FAQ\n\n## Access\n\n### How do I get VPN access?\n\nFile a ticket with **IT**.\n\n### Empty?\n"
    pairs = question_sections(parse_markdown(faq), "faq.md")
    assert [(p.question, p.answer, p.section) for p in pairs] == [
        ("How do I get VPN access?", "File a ticket with IT.", "Access")
    ]


def test_qa_id_is_sha_of_source_and_question() -> None:
    pairs = parse_faq_rst(FAQ_RST, "faq/programming.rst.txt")
    expected = hashlib.sha256(b"faq/programming.rst.txt\nIs there a debugger?").hexdigest()[:16]
    assert pairs[0].qa_id == expected
    assert parse_faq_rst(FAQ_RST, "other.rst")[0].qa_id != expected
    assert len({p.qa_id for p in pairs}) == len(pairs)


def test_real_python_faq() -> None:
    if not FAQ_DIR.is_dir():  # not installed: the inline sample above still covers the parser
        assert load_python_faq(FAQ_DIR) == []
        return
    pairs = load_python_faq(FAQ_DIR)
    assert len(pairs) >= 150
    assert len({p.qa_id for p in pairs}) == len(pairs)
    assert all(p.question.endswith("?") and p.answer.strip() for p in pairs)
    assert all(p.source.startswith("faq/") and p.source.endswith(".rst.txt") for p in pairs)
    sources = [p.source for p in pairs]
    assert sources == sorted(sources)  # files in name order
    q = _by_question([p for p in pairs if p.source != "faq/installed.rst.txt"])  # it repeats "What is Python?"
    assert q["What is Python?"].section == "General Information"
    assert q["What is Python?"].answer.startswith("Python is an interpreted, interactive, object-oriented")
    assert "Is there a source code level debugger with breakpoints, single-stepping, etc.?" in q
    assert q["Is there a source code level debugger with breakpoints, single-stepping, etc.?"].section == (
        "General Questions"
    )
    joined = "\n".join(p.answer for p in pairs)
    for leftover in (".. contents::", ".. XXX", ".. _", ":func:`", ":ref:`"):
        assert leftover not in joined


# ----------------------------------------------------------------------------- user files


def test_load_golden_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    rows = [
        {"question": "What is X?", "answer": "X is Y.", "id": "q1", "section": "Basics"},
        {"question": "Why Z?", "answer": "Because."},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    pairs = load_golden_file(path)
    assert pairs[0] == QAPair("q1", "What is X?", "X is Y.", "gold.jsonl", "Basics")
    assert pairs[1].qa_id == hashlib.sha256(b"gold.jsonl\nWhy Z?").hexdigest()[:16]
    assert pairs[1].section == ""
    assert load_golden_file(str(path)) == pairs


def test_load_golden_csv(tmp_path: Path) -> None:
    path = tmp_path / "gold.csv"
    path.write_text('question,answer,section\n"What, with comma?","Multi\nline",S\nQ2?,A2,\n', encoding="utf-8")
    pairs = load_golden_file(path)
    assert [(p.question, p.answer, p.section) for p in pairs] == [
        ("What, with comma?", "Multi\nline", "S"),
        ("Q2?", "A2", ""),
    ]


def test_bad_jsonl_rows_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok?", "answer": "yes"}\n\n{"question": "no answer?"}\n', encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_golden_file(path)
    message = str(err.value)
    assert str(path) in message and "line 3" in message and "'answer'" in message

    path.write_text('{"answer": "a", "question": "  "}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: missing required field 'question'"):
        load_golden_file(path)

    path.write_text('{"question": "q", "answer": "a"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: invalid JSON"):
        load_golden_file(path)

    path.write_text('["q", "a"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: expected an object"):
        load_golden_file(path)


def test_bad_csv_rows_name_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("question,answer\nq1,a1\nq2,\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_golden_file(path)
    message = str(err.value)
    assert str(path) in message and "row 2" in message and "'answer'" in message

    path.write_text("prompt,answer\nq1,a1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 1\).*missing required field 'question'"):
        load_golden_file(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "gold.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gold\.txt"):
        load_golden_file(path)
