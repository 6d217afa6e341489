"""``aiinfra init PATH...``: a starter aiinfra.yaml written from what is actually in the user's folders.

It counts documents per format (by the same sniffing ingestion uses), suggests label
classes (sub-folder names when documents are filed in folders, else the headings most
documents share), and wires a golden file when one is given. Everything it writes is a
plain settings file the user edits; nothing is hidden in code.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from aiinfra_dagster.documents.formats import sniff_format
from aiinfra_dagster.documents.model import UnparseableDocument
from aiinfra_dagster.documents.parse import parse_document
from aiinfra_dagster.settings import DEFAULT_SOURCE_GLOBS

INIT_GLOBS = list(DEFAULT_SOURCE_GLOBS)
_MAX_PARSED = 200
_GENERIC_HEADINGS = frozenset(
    "introduction overview summary contents description name synopsis options examples see also notes "
    "references appendix index table of contents faq changelog license".split()
)


@dataclass
class FolderScan:
    """What one folder holds."""

    path: Path
    formats: Counter[str] = field(default_factory=Counter)
    subfolders: Counter[str] = field(default_factory=Counter)
    headings: Counter[str] = field(default_factory=Counter)
    titles: set[str] = field(default_factory=set)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return sum(self.formats.values())


def scan_folder(path: Path, globs: list[str] = INIT_GLOBS, max_parsed: int = _MAX_PARSED) -> FolderScan:
    """Formats of every matching file, and the headings of a stable sample of them."""
    root = path.expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{path} is not a directory")
    scan = FolderScan(root)
    files = sorted({p for g in globs for p in root.glob(g) if p.is_file()})
    for i, file in enumerate(files):
        rel = file.relative_to(root).as_posix()
        content = file.read_bytes()
        fmt = sniff_format(rel, content)
        scan.formats[fmt] += 1
        if "/" in rel:
            scan.subfolders[rel.split("/", 1)[0]] += 1
        if i >= max_parsed or fmt == "binary":
            continue
        try:
            doc = parse_document(content, fmt, rel)
        except UnparseableDocument as exc:
            scan.unreadable.append((rel, str(exc)))
            continue
        scan.titles.add(doc.title)
        top = {
            s.heading_path[1] if len(s.heading_path) > 1 and s.heading_path[0] == doc.title else s.heading_path[0]
            for s in doc.sections
            if s.heading_path
        }
        scan.headings.update(h.strip() for h in top if h.strip())
    return scan


def suggest_classes(scans: list[FolderScan], limit: int = 8) -> tuple[list[str], str]:
    """Class names and where they came from: sub-folders holding several documents, else shared headings."""
    folders = Counter[str]()
    for scan in scans:
        folders.update({k: v for k, v in scan.subfolders.items() if v >= 2})
    if len(folders) >= 2:
        return [_label(name) for name, _ in folders.most_common(limit)], "sub-folder names"
    headings = Counter[str]()
    for scan in scans:
        headings.update(scan.headings)
    shared = [h for h, n in headings.most_common() if n >= 2 and h.lower() not in _GENERIC_HEADINGS]
    if len(shared) >= 2:
        return shared[:limit], "headings shared by several documents"
    titles = sorted({t for scan in scans for t in scan.titles})
    if 2 <= len(titles) <= 12:
        return titles, "document titles (few documents: one class per document)"
    return [], "nothing (no sub-folders, shared headings or few titles): set labels.classes yourself"


def _label(folder: str) -> str:
    words = re.sub(r"[_\-.]+", " ", folder).strip()
    return words[:1].upper() + words[1:]


def _source_name(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.name).strip("-") or "docs"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def starter_settings(scans: list[FolderScan], golden: list[Path], classes: list[str], origin: str) -> str:
    """The aiinfra.yaml text: the settings, with comments saying what was found."""
    taken: set[str] = set()
    sources = [
        {"name": _source_name(s.path, taken), "kind": "directory", "path": str(s.path), "globs": INIT_GLOBS}
        for s in scans
    ]
    data: dict[str, object] = {
        "profile": "quick",
        "sources": sources,
        "golden": {"kind": "files", "paths": [str(p.resolve()) for p in golden]} if golden else {"kind": "none"},
        "labels": {
            "reference": "none",
            "classes": classes,
            "descriptions": {c: f"Documents about {c.lower()}." for c in classes},
            "keyword_functions": {c: [c.lower()] for c in classes},
        },
    }
    found = [
        f"#   {s.path}: {s.documents} documents ("
        + ", ".join(f"{fmt} {n}" for fmt, n in sorted(s.formats.items()))
        + ")"
        + (f"; {len(s.unreadable)} unreadable, e.g. {s.unreadable[0][0]}: {s.unreadable[0][1]}" if s.unreadable else "")
        for s in scans
    ]
    header = [
        "# aiinfra-dagster settings written by `aiinfra init`. Edit freely; `aiinfra check` dry-runs them.",
        "# Found:",
        *found,
        f"# Label classes: suggested from {origin}; give each a few keywords that occur in its documents and a",
        "# one-sentence description (the zero-shot labeler reads it). Every other key takes its default",
        "# (see the README's settings table); profile quick runs the main job in minutes.",
    ]
    if not golden:
        header.append("# No golden set given: evaluation needs one (golden.paths: JSONL of question, answer, source).")
    return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def init(paths: list[Path], golden: list[Path], output: Path, force: bool = False) -> tuple[Path, list[FolderScan]]:
    """Scan ``paths`` and write ``output``; refuses to overwrite an existing file unless ``force``."""
    if output.exists() and not force:
        raise FileExistsError(f"{output} exists: pass --force to overwrite it, or --output another path")
    for g in golden:
        if not g.is_file():
            raise FileNotFoundError(f"golden file {g} does not exist")
    scans = [scan_folder(p) for p in paths]
    classes, origin = suggest_classes(scans)
    output.write_text(starter_settings(scans, golden, classes, origin), encoding="utf-8")
    return output, scans
