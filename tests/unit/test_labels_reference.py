"""Reference labels: the library chapters of the real Python docs, a small fixture tree, user files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from aiinfra_dagster.labels.reference import ReferenceLabel, load_reference_file
from aiinfra_dagster.python_docs.chapters import page_title, parse_library_chapters, toctree_entries

PY_DOCS = Path("/usr/share/doc/python3.11/html/_sources")


@pytest.fixture(scope="module")
def real_labels() -> dict[str, str]:
    labels = parse_library_chapters(PY_DOCS)
    paths = [r.path for r in labels]
    assert len(paths) == len(set(paths)), "a page was labelled twice"
    return {r.path: r.label for r in labels}


def test_real_docs_map_module_pages_to_their_chapter(real_labels: dict[str, str]) -> None:
    assert real_labels["library/re.rst.txt"] == "Text Processing Services"
    assert real_labels["library/socket.rst.txt"] == "Networking and Interprocess Communication"
    assert real_labels["library/json.rst.txt"] == "Internet Data Handling"
    assert real_labels["library/threading.rst.txt"] == "Concurrent Execution"
    assert real_labels["library/optparse.rst.txt"] == "Superseded Modules"
    # Sub-pages listed by a module page inherit the chapter.
    assert real_labels["library/asyncio-task.rst.txt"] == "Networking and Interprocess Communication"
    assert real_labels["library/email.message.rst.txt"] == "Internet Data Handling"


def test_real_docs_skip_single_page_chapters_and_chapter_pages(real_labels: dict[str, str]) -> None:
    for page in ("intro", "functions", "constants", "stdtypes", "exceptions", "security_warnings", "text", "ipc"):
        assert f"library/{page}.rst.txt" not in real_labels
    assert "library/index.rst.txt" not in real_labels


def test_real_docs_give_a_multiclass_problem(real_labels: dict[str, str]) -> None:
    counts = Counter(real_labels.values())
    assert 200 <= len(real_labels) <= 320
    assert len(counts) >= 15
    assert all(path.startswith("library/") and path.endswith(".rst.txt") for path in real_labels)
    assert all((PY_DOCS / path).is_file() for path in real_labels)


def test_without_subpages_only_directly_listed_pages_are_labelled() -> None:
    labels = {r.path for r in parse_library_chapters(PY_DOCS, include_subpages=False)}
    assert "library/asyncio.rst.txt" in labels
    assert "library/asyncio-task.rst.txt" not in labels


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


FIXTURE = {
    "library/index.rst.txt": """\
.. _library-index:

###########
 The Library
###########

.. toctree::
   :maxdepth: 2

   intro.rst
   text.rst
   net.rst
   gone.rst
""",
    "library/intro.rst.txt": "Introduction\n============\n\nNo toctree here.\n",
    "library/text.rst.txt": """\
.. _textservices:

************************
Text Processing Services
************************

Intro.

.. toctree::

   re.rst
   Diffing helpers <difflib>
   missing.rst
""",
    "library/net.rst.txt": """\
Networking
==========

.. toctree::
   :maxdepth: 1

   socket.rst
   re.rst
   asyncio.rst

Text after the toctree.
""",
    "library/re.rst.txt": ":mod:`re` --- Regular expressions\n=================================\n",
    "library/difflib.rst.txt": "difflib\n=======\n",
    "library/socket.rst.txt": "socket\n======\n",
    "library/asyncio.rst.txt": "asyncio\n=======\n\n.. toctree::\n   :caption: APIs\n\n   asyncio-task.rst\n",
    "library/asyncio-task.rst.txt": "Tasks\n=====\n",
}


def test_fixture_tree(tmp_path: Path) -> None:
    root = _write(tmp_path, FIXTURE)
    labels = parse_library_chapters(root)
    assert labels == [
        ReferenceLabel("library/re.rst.txt", "Text Processing Services"),
        ReferenceLabel("library/difflib.rst.txt", "Text Processing Services"),
        ReferenceLabel("library/socket.rst.txt", "Networking"),
        ReferenceLabel("library/asyncio.rst.txt", "Networking"),
        ReferenceLabel("library/asyncio-task.rst.txt", "Networking"),
    ]


def test_missing_index_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="index.rst.txt"):
        parse_library_chapters(tmp_path)


def test_title_and_toctree_parsing() -> None:
    assert page_title(FIXTURE["library/text.rst.txt"]) == "Text Processing Services"
    assert page_title(FIXTURE["library/re.rst.txt"]) == ":mod:`re` --- Regular expressions"
    assert page_title("no title at all\n") is None
    assert toctree_entries(FIXTURE["library/net.rst.txt"]) == ["socket.rst", "re.rst", "asyncio.rst"]
    assert toctree_entries(".. toctree::\n   :glob:\n\n   self\n   how*\n   https://x.org/a\n   Title <a/b>\n") == [
        "a/b"
    ]


def test_load_reference_csv_and_jsonl(tmp_path: Path) -> None:
    csv_file = tmp_path / "ref.csv"
    csv_file.write_text('label,path\nNetworking,./docs/a.md\n"Text, misc",docs/b.md\n\nNetworking,docs/a.md\n')
    assert load_reference_file(csv_file) == [
        ReferenceLabel("docs/a.md", "Networking"),
        ReferenceLabel("docs/b.md", "Text, misc"),
    ]
    jsonl = tmp_path / "ref.jsonl"
    jsonl.write_text('{"path": "a.md", "label": "x"}\n\n{"path": "b.md", "label": " y ", "extra": 1}\n')
    assert load_reference_file(jsonl) == [ReferenceLabel("a.md", "x"), ReferenceLabel("b.md", "y")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.csv", "path,label\na.md,x\nb.md,\n", r"bad\.csv:3: missing or empty 'label'"),
        ("bad.csv", "path,label\na.md,x\nb.md,y,z\n", r"bad\.csv:3: expected 2 fields"),
        ("bad.csv", "file,label\na.md,x\n", r"bad\.csv:1: header must name 'path' and 'label'"),
        ("bad.csv", "path,label\na.md,x\na.md,y\n", r"bad\.csv:3: path 'a\.md' labelled 'y' but earlier 'x'"),
        ("bad.jsonl", '{"path": "a.md", "label": "x"}\n{"path": "b.md"\n', r"bad\.jsonl:2: invalid JSON"),
        ("bad.jsonl", '["a.md", "x"]\n', r"bad\.jsonl:1: expected an object"),
        ("bad.jsonl", '{"path": "", "label": "x"}\n', r"bad\.jsonl:1: missing or empty 'path'"),
        ("bad.jsonl", '{"path": "a.md", "label": 3}\n', r"bad\.jsonl:1: missing or empty 'label'"),
        ("bad.txt", "path,label\n", r"unsupported reference file type '\.txt'"),
    ],
)
def test_bad_reference_files_name_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_reference_file(path)
