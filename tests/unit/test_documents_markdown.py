"""parse_markdown: front matter, heading paths, typed blocks and offsets into the unmodified source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aiinfra_dagster.documents.markdown import parse_markdown
from aiinfra_dagster.documents.model import Block, Document

REPO = Path(__file__).resolve().parents[2]


def parsed(text: str) -> Document:
    doc = parse_markdown(text).validate()
    assert doc.format == "markdown"
    assert doc.text == text  # offsets point into the source itself
    return doc


def kinds(doc: Document) -> list[str]:
    return [b.kind for b in doc.blocks()]


def path_of(doc: Document, block_text: str) -> tuple[str, ...]:
    """The heading path of the block whose plain text contains ``block_text``."""
    found = [s.heading_path for s in doc.sections for b in s.blocks if block_text in b.plain]
    assert len(found) == 1, (block_text, found)
    return found[0]


def source(doc: Document, block: Block) -> str:
    return doc.text[block.start : block.end]


def test_front_matter_gives_title_and_string_metadata() -> None:
    text = (
        "---\n"
        "title: Connection pooling\n"
        "author: Ada Lovelace\n"
        "version: 3\n"
        "draft: false\n"
        "date: 2024-05-01\n"
        "tags: [db, pool]\n"
        "---\n"
        "# A different first heading\n\n"
        "Pools keep connections open between requests.\n"
    )
    doc = parsed(text)
    assert doc.title == "Connection pooling"  # front matter wins over the h1
    assert doc.metadata == {
        "title": "Connection pooling",
        "author": "Ada Lovelace",
        "version": "3",
        "draft": "false",
        "date": "2024-05-01",
    }  # lists are not scalars: left out
    [block] = doc.blocks()
    assert block.plain == "Pools keep connections open between requests."
    assert block.start > text.index("---\n# A")  # the front matter is not a block
    assert doc.sections[0].heading_path == ("A different first heading",)


def test_title_is_the_first_h1_without_front_matter_and_empty_without_either() -> None:
    assert parsed("Intro line.\n\n## Setup\n\nText.\n\n# Real title\n\nMore.\n").title == "Real title"
    assert parsed("Just a paragraph.\n").title == ""


def test_invalid_yaml_front_matter_does_not_crash_and_keeps_the_text() -> None:
    text = "---\ntitle: [unclosed\nowner: team\n---\n\nBody paragraph stays.\n"
    doc = parsed(text)
    assert doc.metadata == {}
    assert doc.title == ""
    plains = [b.plain for b in doc.blocks()]
    assert "Body paragraph stays." in plains


def test_prose_between_two_rules_is_read_as_markdown_not_front_matter() -> None:
    """Not a YAML mapping: the lines are Markdown again (a rule, a paragraph, a setext heading), nothing dropped."""
    text = (
        "---\nThis opening line is prose, not YAML: it says what the page is about.\n\n"
        "And a second paragraph.\n---\n\nClosing words.\n"
    )
    doc = parsed(text)
    assert doc.metadata == {}
    assert [b.plain for b in doc.blocks()] == [
        "This opening line is prose, not YAML: it says what the page is about.",
        "Closing words.",
    ]
    assert path_of(doc, "Closing words.") == ("And a second paragraph.",)  # CommonMark: text + "---" is a setext h2


def test_empty_front_matter_is_no_metadata() -> None:
    doc = parsed("---\n---\nText after an empty front matter.\n")
    assert doc.metadata == {}
    assert [b.plain for b in doc.blocks()] == ["Text after an empty front matter."]


def test_heading_paths_nest_by_level_and_skipped_levels() -> None:
    text = (
        "# Guide\n\nIntro.\n\n"
        "### Deep detail\n\nUnder h1 directly.\n\n"
        "## Install\n\nInstall text.\n\n"
        "### From source\n\nSource text.\n\n"
        "## Usage\n\nUsage text.\n\n"
        "# Appendix\n\nAppendix text.\n"
    )
    doc = parsed(text)
    assert path_of(doc, "Intro.") == ("Guide",)
    assert path_of(doc, "Under h1 directly.") == ("Guide", "Deep detail")
    assert path_of(doc, "Install text.") == ("Guide", "Install")
    assert path_of(doc, "Source text.") == ("Guide", "Install", "From source")
    assert path_of(doc, "Usage text.") == ("Guide", "Usage")
    assert path_of(doc, "Appendix text.") == ("Appendix",)
    assert doc.title == "Guide"
    assert all(b.kind == "paragraph" for b in doc.blocks())  # headings are paths, not blocks


def test_setext_headings_and_inline_markup_in_headings() -> None:
    text = "The *Manual*\n==========\n\nFirst.\n\nInstalling `pip`\n----------------\n\nSecond.\n"
    doc = parsed(text)
    assert doc.title == "The Manual"
    assert path_of(doc, "First.") == ("The Manual",)
    assert path_of(doc, "Second.") == ("The Manual", "Installing pip")


def test_gfm_table_is_one_table_block_header_first() -> None:
    text = (
        "## Options\n\n"
        "| name | default | meaning |\n"
        "|------|--------:|:--------|\n"
        "| `timeout` | 30 | seconds before **giving up** |\n"
        "| retries | 3 | see [backoff](#backoff) |\n"
    )
    doc = parsed(text)
    [table] = doc.blocks()
    assert table.kind == "table"
    assert table.plain == "name | default | meaning\ntimeout | 30 | seconds before giving up\nretries | 3 | see backoff"
    assert source(doc, table).startswith("| name |") and source(doc, table).endswith("see [backoff](#backoff) |")
    assert path_of(doc, "timeout") == ("Options",)


def test_code_fence_with_hash_lines_stays_code_and_makes_no_heading() -> None:
    text = (
        "# Real\n\n```bash\n# not a heading\necho hi\n\n# still code\n```\n\n    # indented code\n    x = 1\n\nAfter.\n"
    )
    doc = parsed(text)
    assert kinds(doc) == ["code", "code", "paragraph"]
    fence, indented, _ = doc.blocks()
    assert fence.plain == "# not a heading\necho hi\n\n# still code"
    assert indented.plain == "# indented code\nx = 1"
    assert {s.heading_path for s in doc.sections} == {("Real",)}
    assert source(doc, fence).startswith("```bash") and source(doc, fence).endswith("```")


def test_lists_are_one_block_per_top_level_list_with_nested_items() -> None:
    text = (
        "Steps:\n\n"
        "1. Install the *package*\n"
        "2. Configure it\n"
        "   - set `HOME`\n"
        "   - set [PATH](https://example.org)\n"
        "3. Run\n\n"
        "   with a second paragraph.\n\n"
        "Between.\n\n"
        "* alpha\n"
        "* beta\n"
    )
    doc = parsed(text)
    assert kinds(doc) == ["paragraph", "list", "paragraph", "list"]
    ordered, bullets = (b for b in doc.blocks() if b.kind == "list")
    assert (
        ordered.plain == "- Install the package\n- Configure it\n- set HOME\n- set PATH\n- Run with a second paragraph."
    )
    assert bullets.plain == "- alpha\n- beta"
    assert source(doc, ordered).startswith("1. Install") and source(doc, ordered).endswith("with a second paragraph.")


def test_quotes_html_and_images() -> None:
    text = (
        "> Errors should never pass silently.\n> Unless explicitly silenced.\n\n"
        '<div class="note">\n<b>Note:</b> HTML &amp; text\n</div>\n\n'
        "<!-- a comment only -->\n\n"
        "<pre>\nraw &lt;code&gt;\n</pre>\n\n"
        "See ![the architecture diagram](arch.png) and _this_.\n"
    )
    doc = parsed(text)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("quote", "Errors should never pass silently. Unless explicitly silenced."),
        ("paragraph", "Note: HTML & text"),
        ("code", "raw <code>"),
        ("paragraph", "See the architecture diagram and this."),
    ]


def test_offsets_cover_each_blocks_source_in_order() -> None:
    text = (
        "# Title\n\nFirst paragraph with **bold**\nover two lines.\n\n"
        "- a\n- b\n\n```\ncode\n```\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\nLast one.   \n\n\n"
    )
    doc = parsed(text)
    blocks = doc.blocks()
    expected = [
        "First paragraph with **bold**\nover two lines.",
        "- a\n- b",
        "```\ncode\n```",
        "| x | y |\n|---|---|\n| 1 | 2 |",
        "> quoted",
        "Last one.",
    ]
    assert [source(doc, b) for b in blocks] == expected
    assert [b.start for b in blocks] == sorted(b.start for b in blocks)
    assert blocks[0].plain == "First paragraph with bold over two lines."


def test_offsets_with_crlf_newlines_point_into_the_original_text() -> None:
    text = "# T\r\n\r\nOne\r\ntwo\r\n\r\n```\r\nx\r\n```\r\n"
    doc = parsed(text)
    assert [source(doc, b) for b in doc.blocks()] == ["One\r\ntwo", "```\r\nx\r\n```"]


def test_readme_without_headings() -> None:
    text = (
        "A small library that retries flaky network calls.\n\n"
        "Install it with pip:\n\n"
        "    pip install retrying-thing\n\n"
        "Then wrap a call:\n\n"
        "```python\nfrom retrying_thing import retry\nretry(fetch, attempts=3)\n```\n\n"
        "Licensed under the MIT license.\n"
    )
    doc = parsed(text)
    assert doc.title == ""
    assert [s.heading_path for s in doc.sections] == [()]
    assert kinds(doc) == ["paragraph", "paragraph", "code", "paragraph", "code", "paragraph"]
    assert doc.blocks()[2].plain == "pip install retrying-thing"


@pytest.mark.parametrize("text", ["", "   ", "\n\n  \n\t\n", "---\n---\n", "<!-- only a comment -->\n", "***\n"])
def test_empty_or_whitespace_only_gives_no_blocks(text: str) -> None:
    doc = parsed(text)
    assert doc.blocks() == []
    assert doc.sections == ()


def heading_text(raw: str) -> str:
    """The oracle's plain heading: code spans kept verbatim, emphasis markers dropped only outside them."""
    parts = re.split(r"(`[^`]*`)", raw)
    return "".join(
        part.strip("`") if part.startswith("`") else re.sub(r"\*+|(?<!\w)_+|_+(?!\w)", "", part) for part in parts
    )


def test_the_repository_markdown_files_parse_with_their_headings() -> None:
    """The project's own README and CONTRIBUTING: every ATX heading outside fences is on some block's path."""
    for path in (REPO / "README.md", REPO / "CONTRIBUTING.md"):
        text = path.read_text(encoding="utf-8")
        doc = parsed(text)
        assert len(doc.blocks()) >= 5
        assert doc.title
        headings, fenced = [], False
        for line in text.splitlines():
            if re.match(r" {0,3}(```|~~~)", line):
                fenced = not fenced
            elif not fenced and (m := re.match(r" {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)):
                headings.append(heading_text(m.group(1)))
        on_paths = {h for s in doc.sections for h in s.heading_path}
        with_blocks = [h for h in headings if h in on_paths]
        assert len(with_blocks) >= 0.8 * len(headings), (path.name, set(headings) - on_paths)
        for block in doc.blocks():
            assert block.plain.strip()
            if block.kind == "code" and source(doc, block).lstrip().startswith("```"):
                assert block.plain in source(doc, block)
