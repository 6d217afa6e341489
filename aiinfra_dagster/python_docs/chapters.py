"""The Python docs' own categorisation: the library chapter each module page belongs to.

``library/index`` lists chapter pages; each chapter's toctree lists its module pages, so
nobody has to hand-label chunks to know whether a labeler is any good on the default
corpus. Part of the Python docs pack: used only when a ``python_docs`` source is configured.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from aiinfra_dagster.labels.reference import ReferenceLabel

LIBRARY_INDEX = "library/index.rst.txt"
_SUFFIX = ".rst.txt"

_ADORNMENT_RE = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])\1{2,}\s*""")
_TOCTREE_RE = re.compile(r"^(\s*)\.\.\s+toctree::")
_TITLED_ENTRY_RE = re.compile(r"^.*<([^<>]+)>\s*$")


def page_title(text: str) -> str | None:
    """The first reST section title (over/underlined or underlined), or None."""
    lines = text.splitlines()
    for i in range(len(lines) - 1):
        line, under = lines[i].rstrip(), lines[i + 1].rstrip()
        title = line.strip()
        if not title or _ADORNMENT_RE.fullmatch(line) or line.startswith(".."):
            continue
        if _ADORNMENT_RE.fullmatch(under) and len(under) >= len(title):
            return title
    return None


def toctree_entries(text: str) -> list[str]:
    """Document names listed in every ``toctree`` directive, in order (options, globs, URLs and 'self' skipped)."""
    lines = text.splitlines()
    entries: list[str] = []
    i = 0
    while i < len(lines):
        m = _TOCTREE_RE.match(lines[i])
        i += 1
        if not m:
            continue
        indent = len(m.group(1))
        while i < len(lines):
            line = lines[i]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            i += 1
            entry = line.strip()
            if not entry or entry.startswith(":") or entry.startswith(".."):
                continue
            titled = _TITLED_ENTRY_RE.match(entry)
            if titled:
                entry = titled.group(1).strip()
            if entry == "self" or "://" in entry or any(c in entry for c in "*?["):
                continue
            entries.append(entry)
    return entries


def _resolve(page: str, entry: str) -> str:
    """A toctree entry as a ``_sources``-relative path (entries are relative to the listing page)."""
    name = entry[:-4] if entry.endswith(".rst") else entry
    if name.startswith("/"):
        rel = PurePosixPath(name.lstrip("/"))
    else:
        rel = PurePosixPath(page).parent / name
    parts: list[str] = []
    for part in rel.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) + _SUFFIX


def parse_library_chapters(sources_dir: Path, *, include_subpages: bool = True) -> list[ReferenceLabel]:
    """Label every module page with the title of the chapter that lists it.

    Chapters without a toctree of their own (intro, built-in functions, constants, types,
    exceptions, security considerations) are skipped rather than labelled with their own
    title: each would be a one-page class covering cross-cutting material, which adds noise,
    not a topic.  With ``include_subpages`` pages listed by a module page (asyncio's and
    email's sub-pages) inherit the chapter, since the human grouping covers them too.
    A page listed by two chapters keeps the first; missing files are skipped.
    """
    sources_dir = Path(sources_dir)
    index = sources_dir / LIBRARY_INDEX
    if not index.is_file():
        raise FileNotFoundError(f"{index} not found: is this a Sphinx _sources directory?")
    labels: list[ReferenceLabel] = []
    seen: set[str] = {LIBRARY_INDEX}
    for chapter in (_resolve(LIBRARY_INDEX, e) for e in toctree_entries(index.read_text(encoding="utf-8"))):
        chapter_file = sources_dir / chapter
        if chapter in seen or not chapter_file.is_file():
            continue
        text = chapter_file.read_text(encoding="utf-8")
        title = page_title(text)
        pages = [_resolve(chapter, e) for e in toctree_entries(text)]
        if title is None or not pages:
            continue
        seen.add(chapter)
        stack = list(reversed(pages))
        while stack:
            page = stack.pop()
            if page in seen or not (sources_dir / page).is_file():
                continue
            seen.add(page)
            labels.append(ReferenceLabel(page, title))
            if include_subpages:
                sub_text = (sources_dir / page).read_text(encoding="utf-8")
                stack.extend(reversed([_resolve(page, e) for e in toctree_entries(sub_text)]))
    return labels
