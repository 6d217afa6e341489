"""parse_text: man pages, RFC-style and underlined headings, typed blocks, offsets into the unmodified text."""

from __future__ import annotations

from aiinfra_dagster.documents.model import Block, Document
from aiinfra_dagster.documents.plaintext import join_lines, parse_text

MAN_PAGE = """\
OPEN(2)                    Linux Programmer's Manual                   OPEN(2)

NAME
       open, openat, creat - open and possibly create a file

SYNOPSIS
       #include <sys/types.h>
       #include <sys/stat.h>
       #include <fcntl.h>

       int open(const char *pathname, int flags);
       int open(const char *pathname, int flags, mode_t mode);

DESCRIPTION
       The open() system call opens the file specified by pathname.  If the
       specified file does not exist, it may optionally (if O_CREAT is speci\u2010
       fied in flags) be created by open().

       The return value of open() is a file descriptor, a small, nonnegative
       integer that is used in subsequent system calls (read(2), write(2),
       lseek(2), fcntl(2), etc.) to refer to the open file; see below.

   Open file descriptions
       The term open file description is the one used by POSIX to refer to
       the entries in the system-wide table of open files.

       O_APPEND
              The file is opened in append mode.  Before each write(2), the
              file offset is positioned at the end of the file.

RETURN VALUE
       open(), openat(), and creat() return the new file descriptor, or -1 if
       an error occurred (in which case, errno is set appropriately).

ERRORS
       EACCES The requested access to the file is not allowed, or search per\u2010
              mission is denied for one of the directories in the path prefix
              of pathname.

       EEXIST pathname already exists and O_CREAT and O_EXCL were used.

Linux                             2017-09-15                          OPEN(2)
"""

RFC = """\
Network Working Group                                          J. Smith
Request for Comments: 9999                                   Example Corp
Category: Informational                                        April 2026


                     The Widget Transfer Protocol

Abstract

   This document describes the Widget Transfer Protocol (WTP), which
   moves widgets between hosts.

1.  Introduction

   Widgets are moved between hosts all the time.  This memo specifies
   how.

1.1.  Requirements Language

   The key words "MUST" and "SHOULD" are to be interpreted as described
   in RFC 2119.

2.  Protocol Overview

   A client connects to port 9999 and sends a request:

   o  the widget name;

   o  the destination host.

Smith                         Informational                     [Page 1]
\f
RFC 9999                          WTP                         April 2026


2.1.  Message Format

   Each message is one line of text, terminated by a line feed.
"""

README = """\
Widget Tool
===========

A tool that moves widgets.

Installation
------------

Install it with pip:

    $ pip install widget-tool
    $ widget --help

Usage
-----

- copy widgets between hosts, keeping
  their permissions
- list the widgets of a host

1. Write a configuration file.
2. Run the tool.

Configuration
~~~~~~~~~~~~~

    timeout = 30
    retries = compute_retries(timeout)
    print(retries)
"""


def parsed(text: str) -> Document:
    doc = parse_text(text).validate()
    assert doc.format == "text"
    assert doc.text == text  # offsets point into the input itself
    return doc


def source(doc: Document, block: Block) -> str:
    return doc.text[block.start : block.end]


def paths(doc: Document) -> list[tuple[str, ...]]:
    return [s.heading_path for s in doc.sections]


def only(doc: Document, needle: str) -> tuple[tuple[str, ...], Block]:
    """The one block whose plain text contains ``needle``, with its heading path."""
    found = [(s.heading_path, b) for s in doc.sections for b in s.blocks if needle in b.plain]
    assert len(found) == 1, (needle, found)
    return found[0]


def test_man_page_sections_title_and_block_kinds() -> None:
    doc = parsed(MAN_PAGE)
    assert doc.title == "open, openat, creat - open and possibly create a file"
    assert paths(doc) == [
        ("NAME",),
        ("SYNOPSIS",),
        ("DESCRIPTION",),
        ("DESCRIPTION", "Open file descriptions"),
        ("RETURN VALUE",),
        ("ERRORS",),
    ]
    # the 7-space indented prose is prose, not code
    description = doc.sections[2]
    assert [b.kind for b in description.blocks] == ["paragraph", "paragraph"]
    assert description.blocks[0].plain.startswith("The open() system call opens the file specified by pathname.")
    assert "(if O_CREAT is specified in flags)" in description.blocks[0].plain  # groff's hyphen (U+2010) rejoined
    assert source(doc, description.blocks[1]).startswith("The return value of open()")
    assert source(doc, description.blocks[1]).endswith("see below.")
    # the SYNOPSIS (both paragraphs) is one code block, dedented verbatim
    [synopsis] = doc.sections[1].blocks
    assert synopsis.kind == "code"
    assert synopsis.plain.split("\n") == [
        "#include <sys/types.h>",
        "#include <sys/stat.h>",
        "#include <fcntl.h>",
        "",
        "int open(const char *pathname, int flags);",
        "int open(const char *pathname, int flags, mode_t mode);",
    ]
    assert source(doc, synopsis).startswith("#include <sys/types.h>\n       #include")
    path, tagged = only(doc, "opened in append mode")
    assert path == ("DESCRIPTION", "Open file descriptions")
    assert tagged.kind == "paragraph"
    assert tagged.plain.startswith("O_APPEND\nThe file is opened in append mode.")  # the tag stays on its own line
    path, eacces = only(doc, "EACCES")
    assert path == ("ERRORS",) and eacces.kind == "paragraph"
    assert "search permission is denied" in eacces.plain


def test_man_page_running_header_and_footer_are_neither_headings_nor_blocks() -> None:
    doc = parsed(MAN_PAGE)
    everything = " ".join(b.plain for b in doc.blocks()) + " ".join(h for p in paths(doc) for h in p)
    assert "Linux Programmer's Manual" not in everything
    assert "2017-09-15" not in everything
    assert doc.blocks()[0].plain == "open, openat, creat - open and possibly create a file"


def test_rfc_numbered_headings_nest_by_depth() -> None:
    doc = parsed(RFC)
    assert doc.title == "The Widget Transfer Protocol"  # the centred line, not the first heading
    assert paths(doc) == [
        (),
        ("Abstract",),
        ("1. Introduction",),
        ("1. Introduction", "1.1. Requirements Language"),
        ("2. Protocol Overview",),
        ("2. Protocol Overview", "2.1. Message Format"),
    ]
    assert only(doc, "widgets between hosts")[0] == ("Abstract",)
    path, bullets = only(doc, "the widget name")
    assert path == ("2. Protocol Overview",)
    assert bullets.kind == "list"
    assert bullets.plain == "- the widget name;\n- the destination host."  # two loose items, one list
    assert source(doc, bullets).startswith("o  the widget name;") and source(doc, bullets).endswith("host.")
    # the page footer and the next page's header (after the form feed) are dropped
    assert not any("[Page 1]" in b.plain or "April 2026" in b.plain for b in doc.blocks()[2:])
    assert only(doc, "terminated by a line feed")[0] == ("2. Protocol Overview", "2.1. Message Format")


def test_underlined_headings_set_levels_by_style_order() -> None:
    doc = parsed(README)
    assert doc.title == "Widget Tool"
    assert paths(doc) == [
        ("Widget Tool",),
        ("Widget Tool", "Installation"),
        ("Widget Tool", "Usage"),
        ("Widget Tool", "Usage", "Configuration"),  # "~" first appears after "-": one level deeper
    ]
    install = doc.sections[1].blocks
    assert [b.kind for b in install] == ["paragraph", "code"]
    assert install[1].plain == "$ pip install widget-tool\n$ widget --help"
    usage = doc.sections[2].blocks
    assert [b.kind for b in usage] == ["list", "list"]  # a bullet list and a numbered list stay apart
    assert usage[0].plain == "- copy widgets between hosts, keeping their permissions\n- list the widgets of a host"
    assert usage[1].plain == "- Write a configuration file.\n- Run the tool."
    [config] = doc.sections[3].blocks
    assert config.kind == "code"
    assert config.plain == "timeout = 30\nretries = compute_retries(timeout)\nprint(retries)"
    assert "=====" not in "".join(source(doc, b) for b in doc.blocks())  # underlines are not block text


def test_text_without_headings_is_one_section_of_paragraphs() -> None:
    text = (
        "Widgets are small things that move between hosts; they carry\n"
        "state (a counter, a name) and are copied, never shared.\n"
        "\n"
        "    An indented paragraph is still prose: it is read, not run, and\n"
        "    its lines join into one.\n"
        "\n"
        "A widget that is lost is resent after a timeout.\n"
    )
    doc = parsed(text)
    assert doc.title == ""
    [section] = doc.sections
    assert section.heading_path == ()
    assert [b.kind for b in section.blocks] == ["paragraph", "paragraph", "paragraph"]
    indented = "An indented paragraph is still prose: it is read, not run, and its lines join into one."
    assert section.blocks[1].plain == indented
    for block in section.blocks:  # the source is the paragraph, trimmed; plain has the same words
        assert source(doc, block) == source(doc, block).strip()
        assert "".join(source(doc, block).split()) == "".join(block.plain.split())
    assert source(doc, section.blocks[2]) == "A widget that is lost is resent after a timeout."


def test_code_detection_is_conservative() -> None:
    text = (
        "The call fails (see errno(3)); the caller retries; x = 1 is not\n"
        "code when it sits in a sentence like this one; nor is f(x).\n"
        "\n"
        "int main(void) {\n"
        '    printf("hi\\n");\n'
        "    return 0;\n"
        "}\n"
        "\n"
        "The same in Python:\n"
        "\n"
        "def area(radius):\n"
        "    return 3.14 * radius ** 2\n"
    )
    doc = parsed(text)
    assert [b.kind for b in doc.blocks()] == ["paragraph", "code", "paragraph", "code"]
    assert doc.blocks()[1].plain.startswith("int main(void) {\n    printf")
    assert doc.blocks()[3].plain == "def area(radius):\n    return 3.14 * radius ** 2"


def test_numbered_list_items_apart_are_not_headings() -> None:
    text = "Steps:\n\n1. Install the package\n\n2. Run the tool with a config\n\nThat is all.\n"
    doc = parsed(text)
    [section] = doc.sections
    assert section.heading_path == ()
    assert [b.kind for b in section.blocks] == ["paragraph", "list", "paragraph"]
    assert section.blocks[1].plain == "- Install the package\n- Run the tool with a config"


def test_quote_table_rules_and_page_breaks() -> None:
    text = (
        "> quoted mail text that goes\n"
        "> on for two lines\n"
        "\n"
        "+------+-------+\n"
        "| name | value |\n"
        "+------+-------+\n"
        "| a    | 1     |\n"
        "+------+-------+\n"
        "\n"
        "----------\n"
        "\n"
        "first page ends here\n"
        "\fsecond page starts here\n"
    )
    doc = parsed(text)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("quote", "quoted mail text that goes on for two lines"),
        ("table", "name | value\na | 1"),
        ("paragraph", "first page ends here"),
        ("paragraph", "second page starts here"),  # a form feed ends a paragraph
    ]
    assert source(doc, doc.blocks()[3]) == "second page starts here"


def test_empty_and_blank_text() -> None:
    for text in ("", "\n\n   \n"):
        doc = parsed(text)
        assert doc.sections == () and doc.title == ""


def test_join_lines_rejoins_hyphenated_words_only() -> None:
    assert join_lines(["an exam-", "ple of   it"]) == "an example of it"
    assert join_lines(["the non-", "Linux systems"]) == "the non- Linux systems"  # capital: a real hyphen
    assert join_lines(["ten -", "five"]) == "ten - five"
    assert join_lines(["soft\u00ad", "ware"]) == "software"
