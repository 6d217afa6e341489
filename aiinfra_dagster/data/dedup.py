"""Near-duplicate removal with MinHash LSH.

Documentation repeats itself (the same note pasted into many pages, versions
of a page that differ by a word); duplicates over-weight those passages in
training and crowd retrieval results.  Exact hashing misses one-word edits, so
texts are compared by the Jaccard similarity of their word shingles, estimated
with MinHash and bucketed with LSH to avoid comparing all pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

from datasketch import LeanMinHash, MinHash, MinHashLSH


def shingles(text: str, shingle_size: int = 5) -> set[bytes]:
    """Word n-grams of the lowercased, whitespace-normalised text.

    Texts shorter than one shingle become a single shingle, so that very short
    texts only match texts with the same words.
    """
    words = text.lower().split()
    if len(words) < shingle_size:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i : i + shingle_size]).encode("utf-8") for i in range(len(words) - shingle_size + 1)}


def near_duplicates(
    items: Sequence[tuple[str, str]],
    threshold: float = 0.9,
    num_perm: int = 128,
    shingle_size: int = 5,
    seed: int = 1,
) -> dict[str, str]:
    """Map each removed id to the kept id it duplicates.

    ``items`` are in priority order: an item is compared only with items kept
    before it, and is removed in favour of the earliest of those whose
    estimated Jaccard similarity is >= ``threshold``.  Removed items never act
    as representatives, so chains (A~B, B~C, A!~C) keep C rather than
    removing it through B.  LSH is tuned below ``threshold`` for recall; the
    MinHash estimate makes the final decision, so LSH false positives never
    remove anything.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    if shingle_size < 1:
        raise ValueError("shingle_size must be >= 1")
    ids = [i for i, _ in items]
    if len(set(ids)) != len(ids):
        raise ValueError("item ids must be unique")
    if not items:
        return {}

    minhashes = [
        LeanMinHash(m)
        for m in MinHash.bulk((shingles(text, shingle_size) for _, text in items), num_perm=num_perm, seed=seed)
    ]
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.1), num_perm=num_perm)
    removed: dict[str, str] = {}
    for index, mh in enumerate(minhashes):
        best: int | None = None
        for key in lsh.query(mh):
            if (best is None or key < best) and mh.jaccard(minhashes[key]) >= threshold:
                best = key
        if best is None:
            lsh.insert(index, mh, check_duplication=False)
        else:
            removed[ids[index]] = ids[best]
    return removed
