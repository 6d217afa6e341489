"""Reference labels: real human categorisation to measure the labelers against.

For the default corpus this is the chapter structure of the Python library reference
(``library/index`` lists chapter pages; each chapter's toctree lists its module pages), so
nobody has to hand-label chunks to know whether a labeler is any good.  Users with their
own corpus supply a ``path,label`` file instead.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LIBRARY_INDEX = "library/index.rst.txt"
_SUFFIX = ".rst.txt"

_ADORNMENT_RE = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])\1{2,}\s*""")
_TOCTREE_RE = re.compile(r"^(\s*)\.\.\s+toctree::")
_TITLED_ENTRY_RE = re.compile(r"^.*<([^<>]+)>\s*$")


@dataclass(frozen=True)
class ReferenceLabel:
    path: str
    label: str


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


def _normalise_path(raw: str) -> str:
    path = raw.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _checked(source: Path, line: int, path: object, label: object, seen: dict[str, str]) -> ReferenceLabel | None:
    """One validated row; None for an exact duplicate (a conflicting duplicate is an error)."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"{source}:{line}: missing or empty 'path'")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{source}:{line}: missing or empty 'label' for path {path!r}")
    norm, lab = _normalise_path(path), label.strip()
    if norm in seen:
        if seen[norm] != lab:
            raise ValueError(f"{source}:{line}: path {norm!r} labelled {lab!r} but earlier {seen[norm]!r}")
        return None
    seen[norm] = lab
    return ReferenceLabel(norm, lab)


def load_reference_file(path: Path) -> list[ReferenceLabel]:
    """Read ``path,label`` rows from a CSV (with header) or JSONL file; bad rows raise naming file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    seen: dict[str, str] = {}
    out: list[ReferenceLabel] = []
    if suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{lineno}: expected an object with 'path' and 'label'")
                item = _checked(path, lineno, row.get("path"), row.get("label"), seen)
                if item:
                    out.append(item)
        return out
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return out
            columns = [h.strip().lower() for h in header]
            if "path" not in columns or "label" not in columns:
                raise ValueError(f"{path}:1: header must name 'path' and 'label' columns, got {header!r}")
            ip, il = columns.index("path"), columns.index("label")
            for row in reader:
                lineno = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(columns):
                    raise ValueError(f"{path}:{lineno}: expected {len(columns)} fields, got {len(row)}")
                item = _checked(path, lineno, row[ip], row[il], seen)
                if item:
                    out.append(item)
        return out
    raise ValueError(f"{path}: unsupported reference file type {suffix!r} (use .csv or .jsonl)")
