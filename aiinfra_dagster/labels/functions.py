"""Programmatic labeling functions (LFs): cheap, noisy heuristics that vote a class or abstain.

Every LF of the project is declared here so reviewers see all heuristics side by side.  An
LF's ``version`` hashes its code and parameters, so stored votes can be recomputed exactly
when (and only when) a heuristic changes.

Generic LFs come from the user's settings (``labels.keyword_functions``: class -> keywords,
and the class names themselves in headings); the Python docs pack adds LFs written for the
library chapters (``aiinfra_dagster.python_docs.labeling``). No LF reads the reference labels
or a chunk's ``path`` (the page name would be a lookup of the answer, not a heuristic).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

ABSTAIN: str | None = None


@dataclass(frozen=True)
class ChunkView:
    chunk_id: str
    path: str
    section: str
    text: str


@dataclass(frozen=True)
class LabelingFunction:
    name: str
    apply: Callable[[ChunkView], str | None]
    version: str


def function_version(
    func: Callable[..., object],
    params: Mapping[str, object] | None = None,
    depends: Iterable[Callable[..., object]] = (),
) -> str:
    """First 12 hex of sha256 over the source of ``func`` (and helpers it calls) plus its parameters."""
    digest = hashlib.sha256()
    for fn in (func, *depends):
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):  # defined in a REPL or compiled: fall back to the code object
            code = fn.__code__
            source = repr((code.co_code, code.co_consts, code.co_names))
        digest.update(source.encode())
    digest.update(json.dumps(params or {}, sort_keys=True, default=repr).encode())
    return digest.hexdigest()[:12]


def labeling_function(
    name: str,
    func: Callable[[ChunkView], str | None],
    params: Mapping[str, object] | None = None,
    depends: Iterable[Callable[..., object]] = (),
) -> LabelingFunction:
    """Wrap a heuristic; ``params`` are whatever the closure captured, so changing them changes the version."""
    return LabelingFunction(name=name, apply=func, version=function_version(func, params, depends))


def slug(label: str) -> str:
    """A stable identifier fragment for a class name ("Data Types" -> "data_types")."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "label"


def compile_keywords(keywords: Sequence[str]) -> re.Pattern[str]:
    """Case-insensitive alternation: entries of only words and spaces match whole words, others are regexes."""
    if not keywords:
        raise ValueError("a keyword list must not be empty")
    words, regexes = [], []
    for kw in keywords:
        if re.fullmatch(r"[\w ]+", kw) and kw.strip():
            words.append(r"\s+".join(re.escape(w) for w in kw.split()) + r"\b")
        else:
            try:
                re.compile(kw)
            except re.error as exc:
                raise ValueError(f"bad keyword regex {kw!r}: {exc}") from None
            if kw.startswith(r"\b") and "|" not in kw:
                words.append(f"(?:{kw[2:]})")
            else:
                regexes.append(f"(?:{kw})")
    # One shared leading \b lets the engine skip mid-word positions quickly.
    parts = ([r"\b(?:" + "|".join(words) + ")"] if words else []) + regexes
    return re.compile("|".join(parts), re.IGNORECASE)


# ----------------------------------------------------------------------------- factories


def topic_lf(label: str, keywords: Sequence[str], min_hits: int, with_heading: bool, name: str) -> LabelingFunction:
    pattern = compile_keywords(keywords)

    def topic(chunk: ChunkView) -> str | None:
        text = f"{chunk.section}\n{chunk.text}" if with_heading else chunk.text
        hits = 0
        for _ in pattern.finditer(text):
            hits += 1
            if hits >= min_hits:
                return label
        return ABSTAIN

    params = {"label": label, "keywords": list(keywords), "min_hits": min_hits, "with_heading": with_heading}
    return labeling_function(name, topic, params, depends=(compile_keywords,))


def keyword_labeling_functions(spec: Mapping[str, Sequence[str]], *, min_hits: int = 1) -> list[LabelingFunction]:
    """One LF per label from settings (label -> keywords/regexes), matched in the heading and the text.

    Each LF's version covers only its own label and keywords, so editing one label's list
    invalidates only that LF's stored votes.
    """
    lfs = []
    names: set[str] = set()
    for label, keywords in spec.items():
        if isinstance(keywords, str):
            raise ValueError(f"keywords for {label!r} must be a list, not a string")
        name = f"kw_{slug(label)}"
        if name in names:
            raise ValueError(f"labels {label!r} and another label share the LF name {name!r}")
        names.add(name)
        lfs.append(topic_lf(label, list(keywords), min_hits, True, name))
    return lfs


def heading_class_function(classes: Sequence[str], keywords: Mapping[str, Sequence[str]]) -> LabelingFunction:
    """Votes the one class whose name or keywords the chunk's heading path mentions (abstains on none or several).

    Headings are short and deliberate ("Incident response > Paging"), so a class named
    there is a precise cue on any corpus; it needs nothing but the user's classes.
    """
    patterns = {
        label: re.compile(
            "|".join(
                r"(?<!\w)" + r"\s+".join(re.escape(w) for w in term.split()) + r"(?!\w)"
                for term in (label, *keywords.get(label, ()))
                if term.strip()
            ),
            re.IGNORECASE,
        )
        for label in classes
    }

    def heading_class(chunk: ChunkView) -> str | None:
        named = [label for label, pattern in patterns.items() if pattern.search(chunk.section)]
        return named[0] if len(named) == 1 else ABSTAIN

    params = {"classes": list(classes), "keywords": {k: list(v) for k, v in sorted(keywords.items()) if k in classes}}
    return labeling_function("heading_class", heading_class, params)


def generic_labeling_functions(classes: Sequence[str], keywords: Mapping[str, Sequence[str]]) -> list[LabelingFunction]:
    """The LFs every corpus gets from its settings: one per class with keywords, and the heading cue."""
    if not classes:
        return []
    known = {k: v for k, v in keywords.items() if k in classes}
    return [*keyword_labeling_functions(known), heading_class_function(classes, known)]


def apply_functions(lfs: Sequence[LabelingFunction], chunks: Sequence[ChunkView], classes: Sequence[str]) -> np.ndarray:
    """Votes as an (n_chunks, n_lfs) int matrix of indices into ``classes``, -1 for abstain.

    An LF emitting a label outside ``classes`` is a bug in the LF, so it raises instead of
    being silently dropped.
    """
    index = {label: i for i, label in enumerate(classes)}
    if len(index) != len(classes):
        raise ValueError("classes must be unique")
    names = [lf.name for lf in lfs]
    if len(set(names)) != len(names):
        raise ValueError(f"labeling function names must be unique: {names}")
    votes = np.full((len(chunks), len(lfs)), -1, dtype=np.int64)
    for j, lf in enumerate(lfs):
        for i, chunk in enumerate(chunks):
            label = lf.apply(chunk)
            if label is None:
                continue
            k = index.get(label)
            if k is None:
                raise ValueError(f"labeling function {lf.name!r} emitted {label!r}, which is not one of the classes")
            votes[i, j] = k
    return votes
