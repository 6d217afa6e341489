"""Golden evaluation sets: human-written question/answer pairs.

Models are promoted only when they beat the champion on questions people
actually asked, so the default golden set is the Python FAQ (never used for
training), and teams can bring their own as JSONL or CSV.  Ids are derived
from the source and question so re-loading an unchanged set is idempotent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiinfra_dagster.data.chunking import split_sections
from aiinfra_dagster.records import read_records, required_fields


@dataclass(frozen=True)
class QAPair:
    """One golden question with its reference answer and where it came from."""

    qa_id: str
    question: str
    answer: str
    source: str
    section: str


def qa_id_for(source: str, question: str) -> str:
    """Stable id: the same question from the same source always gets the same id."""
    return hashlib.sha256(f"{source}\n{question}".encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- reST cleanup

_ROLE_RE = re.compile(r":[\w.+-]+(?::[\w.+-]+)?:`([^`]+)`")
_LINK_RE = re.compile(r"`([^`<]+?)\s*<([^`>]+)>`__?")
_ANON_REF_RE = re.compile(r"`([^`]+)`__?")
_LITERAL_RE = re.compile(r"``(.+?)``", re.S)
_STRONG_RE = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*", re.S)
_EMPH_RE = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")
_DIRECTIVE_RE = re.compile(r"(\s*)\.\.\s+([\w:-]+)::(.*)")
_EXPLICIT_RE = re.compile(r"(\s*)\.\.(?:\s|$)")
_OPTION_RE = re.compile(r"\s+:[\w-]+:.*")

# Directives whose whole block is dropped: navigation, index entries, hidden test setup.
_DROP_BLOCK = frozenset(
    {
        "contents",
        "toctree",
        "index",
        "testsetup",
        "testcleanup",
        "highlight",
        "raw",
        "include",
        "sectionauthor",
        "moduleauthor",
        "tabularcolumns",
        "meta",
        "only",
        "ifconfig",
    }
)
_CODE_DIRECTIVES = frozenset({"code-block", "code", "sourcecode", "doctest", "testcode", "testoutput"})
_LABELS = {
    "note": "Note:",
    "warning": "Warning:",
    "seealso": "See also:",
    "tip": "Tip:",
    "important": "Important:",
    "caution": "Caution:",
    "versionadded": "New in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
}


def _role_text(match: re.Match[str]) -> str:
    inner = match.group(1)
    titled = re.fullmatch(r"(.*?)\s*<([^<>]+)>", inner, re.S)
    if titled and titled.group(1):
        return titled.group(1)
    inner = inner.lstrip("!")
    if inner.startswith("~"):
        return inner[1:].rsplit(".", 1)[-1]
    return inner


def strip_inline_markup(text: str) -> str:
    """Turn reST inline markup into the plain text a reader would see."""
    literals: list[str] = []

    def stash(match: re.Match[str]) -> str:  # literal text must survive the later rules
        literals.append(match.group(1))
        return f"\x00{len(literals) - 1}\x00"

    text = _LITERAL_RE.sub(stash, text)
    text = _ROLE_RE.sub(_role_text, text)
    text = _LINK_RE.sub(r"\1 (\2)", text)
    text = _ANON_REF_RE.sub(r"\1", text)
    text = _STRONG_RE.sub(r"\1", text)
    text = _EMPH_RE.sub(r"\1", text)
    text = text.replace("\\ ", "")
    return re.sub("\x00(\\d+)\x00", lambda m: literals[int(m.group(1))], text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


_BULLET_RE = re.compile(r"\s*(?:[*+-]|#\.|\d+\.|\(?[A-Za-z0-9]\))\s+")


def _text_indent(line: str) -> int:
    """Column where a paragraph's text starts (after a list marker, if any)."""
    bullet = _BULLET_RE.match(line)
    return bullet.end() if bullet else _indent(line)


def _block_end(lines: list[str], start: int, base: int) -> int:
    """Index after the block of blank or deeper-indented lines that follows ``start``."""
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
        i += 1
    while i > start and not lines[i - 1].strip():
        i -= 1
    return i


def clean_rst_body(text: str) -> str:
    """Light reST-to-text: drop labels, comments and navigation directives, keep code as is.

    Inline markup is stripped per paragraph, since roles and literals often
    wrap across lines; literal blocks, code directives and doctests are copied
    verbatim.
    """
    lines = text.split("\n")
    out: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            out.append(strip_inline_markup("\n".join(prose)))
            prose.clear()

    def verbatim(stop: int) -> int:
        flush()
        out.extend(ln.rstrip() for ln in lines[i:stop])
        return stop

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        base = _indent(line)
        if not line:
            flush()
            out.append("")
            i += 1
            continue
        directive = _DIRECTIVE_RE.fullmatch(line)
        if directive:
            flush()
            name, arg = directive.group(2), directive.group(3).strip()
            end = _block_end(lines, i + 1, base)
            if name in _DROP_BLOCK:
                i = end
                continue
            i += 1
            while i < end and _OPTION_RE.fullmatch(lines[i]):
                i += 1  # directive options such as ":linenos:"
            if name in _CODE_DIRECTIVES:
                i = verbatim(end)
            elif name in _LABELS:
                out.append(" " * base + " ".join(filter(None, [_LABELS[name], strip_inline_markup(arg)])))
            continue
        if _EXPLICIT_RE.match(line):  # labels, comments ("XXX" notes), footnotes, targets
            flush()
            i = _block_end(lines, i + 1, base)
            continue
        if line.lstrip().startswith(">>>"):  # doctest block: runs to the next blank line
            stop = i
            while stop < len(lines) and lines[stop].strip():
                stop += 1
            i = verbatim(stop)
            continue
        if line.endswith("::"):
            head = line[:-2]
            if head.strip():
                prose.append(head.rstrip() if head.endswith((" ", "\t")) else line[:-1])
            flush()
            i += 1
            stop = _block_end(lines, i, _text_indent(line))
            i = verbatim(stop)
            continue
        prose.append(line)
        i += 1
    flush()
    cleaned = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip("\n").rstrip()


def _dedent_text(text: str) -> str:
    lines = text.split("\n")
    margin = min((_indent(ln) for ln in lines if ln.strip()), default=0)
    return "\n".join(ln[margin:] for ln in lines).strip()


# ----------------------------------------------------------------------------- FAQ


def parse_faq_rst(text: str, source: str) -> list[QAPair]:
    """Questions are titles ending in '?'; the answer is the body up to the next title."""
    pairs: list[QAPair] = []
    for sec in split_sections(text, "rst"):
        if not sec.heading_path or not sec.heading_path[-1].rstrip().endswith("?"):
            continue
        question = " ".join(strip_inline_markup(sec.heading_path[-1]).split())
        answer = _dedent_text(clean_rst_body(sec.text))
        if not answer:
            continue
        enclosing = [t for t in sec.heading_path[:-1] if not t.rstrip().endswith("?")]
        section = strip_inline_markup(enclosing[-1]).strip() if enclosing else ""
        pairs.append(QAPair(qa_id_for(source, question), question, answer, source, section))
    return pairs


def load_python_faq(faq_dir: Path) -> list[QAPair]:
    """Every ``*.rst.txt`` FAQ page in name order; sources look like ``faq/general.rst.txt``."""
    faq_dir = Path(faq_dir)
    pairs: list[QAPair] = []
    for path in sorted(faq_dir.glob("*.rst.txt")):
        pairs.extend(parse_faq_rst(path.read_text(encoding="utf-8"), f"{faq_dir.name}/{path.name}"))
    return pairs


# ----------------------------------------------------------------------------- user files


def _pair_from_record(record: object, path: Path, where: str) -> QAPair:
    values = required_fields(record, path, where, ("question", "answer"))
    assert isinstance(record, Mapping)
    source = str(record.get("source") or path.name)
    qa_id = str(record.get("id") or "").strip() or qa_id_for(source, values["question"])
    return QAPair(qa_id, values["question"], values["answer"], source, str(record.get("section") or "").strip())


def load_golden_file(path: str | Path) -> list[QAPair]:
    """Load a user golden set (JSONL or CSV); bad rows fail loudly with their location."""
    path = Path(path)
    return [_pair_from_record(record, path, where) for record, where in read_records(path, "golden")]
