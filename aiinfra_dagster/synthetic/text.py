"""Reading documentation chunks as prose: API entries, paragraphs, sentences.

Chunks are raw reST slices that may start mid-directive or mid-code-block.
Questions and answers must come from what a reader sees, not from markup or
code, so paragraphs are classified line-structurally (directives, literal
blocks, doctests, tables) and only prose survives, tagged with the API entry
(``.. function:: dumps(...)``) it documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiinfra_dagster.data.golden import clean_rst_body, strip_inline_markup

API_KINDS = frozenset(
    {
        "function",
        "method",
        "classmethod",
        "staticmethod",
        "coroutinefunction",
        "coroutinemethod",
        "decorator",
        "decoratormethod",
        "class",
        "exception",
        "data",
        "attribute",
        "property",
        "opcode",
        "envvar",
        "cmdoption",
        "option",
    }
)

_DIRECTIVE_RE = re.compile(r"\.\.\s+(?:py:)?([\w-]+)::\s*(.*)")
_COMMENT_RE = re.compile(r"\.\.(?:\s|$)")
_FIELD_RE = re.compile(r":[\w -]+:(?:\s|$)")
_TABLE_RE = re.compile(r"(?:[+|]|={2,}(?:\s|$)|-{3,}(?:\s|$))")
_CODE_START_RE = re.compile(
    r"(?:>>>|\.\.\.\s|\$ |#|@\w|import\s|from\s+[\w.]+\s+import\s|(?:async\s+)?def\s|class\s+\w+[(:]|"
    r"return\b|await\s|yield\b|raise\s|print\(|for\s.*:$|while\s.*:$|if\s.*:$|elif\s|else:|with\s.*:$|try:|"
    r"except\b|finally:|[)\]}]|(?:[\w.\[\]'\"]+\s*,\s*)*[\w.\[\]'\"]+\s*[-+*/|&]?=\s*\S|[\w.]+\(.*\)[,;]?\s*$)"
)
_BULLET_RE = re.compile(r"^(?:[-*+]|\d+\.|#\.)\s+")
_NAME_RE = re.compile(r"[A-Za-z_][\w.]*")
_MODULE_ROLE_RE = re.compile(r":mod:`[~!]?([\w.]+)`")
_MODULE_DIRECTIVE_RE = re.compile(r"^\s*\.\.\s+(?:py:)?(?:module|currentmodule)::\s*([\w.]+)", re.M)
_TITLE_SEP_RE = re.compile(r"\s+(?:---|--|\u2014|\u2013)\s+")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[`])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "Mr.", "Dr.", "No.")


@dataclass(frozen=True)
class ApiItem:
    """One documented object: its directive kind, dotted name and full signature."""

    kind: str
    name: str
    signature: str


@dataclass(frozen=True)
class Prose:
    """One plain-text paragraph; ``api`` is the entry whose body it belongs to."""

    text: str
    api: ApiItem | None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _paragraphs(text: str) -> list[list[str]]:
    paras: list[list[str]] = []
    cur: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    return paras


def looks_like_prose(text: str) -> bool:
    """Mostly letters, and a sentence (punctuated, or long): code, output and signatures fail."""
    words = re.findall(r"[A-Za-z]{2,}", text)
    if len(words) < 4 or not (text.rstrip().endswith((".", "?", "!", ":", ")")) or len(words) >= 10):
        return False
    letters = sum(len(w) for w in words)
    return letters / max(1, len(text.replace(" ", ""))) >= 0.6


def _is_code_line(line: str) -> bool:
    stripped = line.strip()
    return bool(_CODE_START_RE.match(stripped)) and not stripped.endswith((".", "?", "!"))


def _is_code(lines: list[str]) -> bool:
    """Starts like a statement, or mostly statements (a chunk may start inside a code block with no '::')."""
    return _is_code_line(lines[0]) or 2 * sum(map(_is_code_line, lines)) > len(lines)


def _api_item(kind: str, arg: str) -> ApiItem | None:
    match = _NAME_RE.search(arg)
    if match is None:
        return None
    return ApiItem(kind=kind, name=match.group().rstrip("."), signature=" ".join(arg.split()))


def prose_paragraphs(rst: str) -> list[Prose]:
    """Prose paragraphs of a reST chunk in order, with inline markup stripped.

    Skipped: comments, labels, non-API directives (code, version notes,
    admonitions), literal blocks after ``::``, doctests, tables, field lists
    and paragraphs that look like code (a chunk may start inside a code block).
    """
    out: list[Prose] = []
    # Open blocks as (indent, kind, api); a paragraph at or left of a block's indent closes it.
    stack: list[tuple[int, str, ApiItem | None]] = []
    for n, lines in enumerate(_paragraphs(rst)):
        indent = _indent(lines[0])
        if n == 0 and len(lines) > 1 and not _COMMENT_RE.match(lines[0]):
            indent = min(_indent(line) for line in lines[1:])  # chunk texts lose their first line's indent
        while stack and indent <= stack[-1][0]:
            stack.pop()
        if any(kind in ("skip", "literal") for _, kind, _ in stack):
            continue
        first = lines[0].strip()
        directive = _DIRECTIVE_RE.match(first)
        if directive:
            name, arg = directive.group(1), directive.group(2)
            api = _api_item(name, arg) if name in API_KINDS else None
            stack.append((indent, "api", api) if api else (indent, "skip", None))
            continue
        if first.startswith(">>>"):
            continue  # a doctest ends at the blank line; its stray output fails looks_like_prose
        if _COMMENT_RE.match(first) or _TABLE_RE.match(first) or _FIELD_RE.match(first):
            stack.append((indent, "skip", None))
            continue
        if _is_code(lines):
            continue
        joined = " ".join(line.strip() for line in lines)
        if joined.endswith("::"):
            stack.append((indent, "literal", None))
            joined = joined[:-2].rstrip() + ("" if joined[:-2].endswith(" ") else ":")
        text = _BULLET_RE.sub("", " ".join(strip_inline_markup(joined).split()))
        if looks_like_prose(text):
            api = next((a for _, kind, a in reversed(stack) if kind == "api"), None)
            out.append(Prose(text=text, api=api))
    return out


def api_items(rst: str) -> list[ApiItem]:
    """Every API directive in the chunk, in order (documented or not)."""
    items: list[ApiItem] = []
    for line in rst.split("\n"):
        directive = _DIRECTIVE_RE.match(line.strip())
        if directive and directive.group(1) in API_KINDS:
            item = _api_item(directive.group(1), directive.group(2))
            if item:
                items.append(item)
    return items


def module_name(section: str, rst: str = "") -> str | None:
    """The module a chunk documents: the innermost ``:mod:`` heading, else a module directive."""
    for title in reversed(section.split(" > ") if section else []):
        match = _MODULE_ROLE_RE.search(title)
        if match:
            return match.group(1)
    directive = _MODULE_DIRECTIVE_RE.search(rst)
    return directive.group(1) if directive else None


def clean_heading(title: str) -> str:
    """A heading as a reader sees it, without the ' --- description' of module titles."""
    plain = " ".join(strip_inline_markup(title).split())
    plain = re.sub(r"(^|\s)\.(?=\w)", r"\1", plain)  # ":class:`.time` Objects" -> "time Objects"
    return _TITLE_SEP_RE.split(plain, maxsplit=1)[0].strip()


def headings(section: str) -> list[str]:
    """The heading path (joined by ' > ' in chunk tables) as plain headings."""
    return [clean_heading(t) for t in section.split(" > ") if t.strip()] if section else []


def sentences(text: str) -> list[str]:
    """Sentence split that survives 'e.g.' and 'i.e.' (common in reference docs)."""
    parts = _SENTENCE_SPLIT_RE.split(text.strip())
    out: list[str] = []
    for part in parts:
        if out and out[-1].endswith(_ABBREVIATIONS):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


def leading_sentences(text: str, max_words: int) -> str:
    """Whole sentences from the start up to ``max_words``; one over-long first sentence is cut."""
    taken: list[str] = []
    count = 0
    for sentence in sentences(text):
        n = len(sentence.split())
        if taken and count + n > max_words:
            break
        taken.append(sentence)
        count += n
        if count >= max_words:
            break
    answer = " ".join(taken)
    words = answer.split()
    if len(words) > max_words:
        answer = " ".join(words[:max_words]).rstrip(",;:") + " ..."
    return answer


def plain_text(rst: str) -> str:
    """Readable text for a model prompt: markup stripped, API signatures kept as lines.

    Unlike ``prose_paragraphs`` code examples survive, since they often are
    the answer to a "how do I" question.
    """

    def signature(match: re.Match[str]) -> str:
        indent, kind, arg = match.group(1), match.group(2), match.group(3).strip()
        return f"{indent}``{kind} {arg}``" if kind in API_KINDS else match.group(0)

    marked = re.sub(r"^([ \t]*)\.\.\s+(?:py:)?([\w-]+)::[ \t]*(.*)$", signature, rst, flags=re.M)
    cleaned = clean_rst_body(marked)
    lines = cleaned.split("\n")
    margin = min((_indent(ln) for ln in lines if ln.strip()), default=0)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(ln[margin:] if _indent(ln) >= margin else ln for ln in lines)).strip()
