from __future__ import annotations

import random
import time

import pytest

from aiinfra_dagster.data.dedup import near_duplicates, shingles

_VOCAB = [f"w{i}" for i in range(5000)]


def _paragraph(rng: random.Random, n_words: int = 200) -> str:
    return " ".join(rng.choice(_VOCAB) for _ in range(n_words))


def _change_words(text: str, positions: list[int]) -> str:
    words = text.split()
    for p in positions:
        words[p] = "CHANGED" + str(p)
    return " ".join(words)


def _jaccard(a: str, b: str, k: int = 5) -> float:
    sa, sb = shingles(a, k), shingles(b, k)
    return len(sa & sb) / len(sa | sb)


def test_shingles() -> None:
    assert shingles("A b  C d e f", 5) == {b"a b c d e", b"b c d e f"}
    assert shingles("Too   Short", 5) == {b"too short"}
    assert shingles("", 3) == {b""}


def test_planted_one_word_change_is_removed_and_maps_to_original() -> None:
    rng = random.Random(0)
    original = _paragraph(rng)
    edited = _change_words(original, [100])
    assert 0.9 < _jaccard(original, edited) < 1.0
    items = [("orig", original), ("a", _paragraph(rng)), ("edit", edited), ("b", _paragraph(rng))]
    assert near_duplicates(items) == {"edit": "orig"}


def test_priority_order_decides_which_copy_is_kept() -> None:
    rng = random.Random(1)
    original = _paragraph(rng)
    edited = _change_words(original, [7])
    assert near_duplicates([("edit", edited), ("orig", original)]) == {"orig": "edit"}


def test_whitespace_and_case_insensitive_exact_duplicates() -> None:
    items = [("x", "Hello   World"), ("y", "hello world"), ("z", "hello there"), ("w", "HELLO\nWORLD")]
    assert near_duplicates(items) == {"y": "x", "w": "x"}


def test_distinct_texts_are_kept() -> None:
    rng = random.Random(2)
    items = [(str(i), _paragraph(rng, 60)) for i in range(300)]
    assert near_duplicates(items) == {}


def test_similar_but_below_threshold_is_kept() -> None:
    rng = random.Random(3)
    original = _paragraph(rng)
    edited = _change_words(original, list(range(0, 200, 25)))  # 8 edits -> Jaccard ~0.68
    true_j = _jaccard(original, edited)
    assert 0.6 < true_j < 0.8
    items = [("orig", original), ("edit", edited)]
    assert near_duplicates(items, threshold=0.9) == {}
    assert near_duplicates(items, threshold=0.5) == {"edit": "orig"}


def test_removed_items_always_map_to_kept_items_and_result_is_deterministic() -> None:
    rng = random.Random(4)
    bases = [_paragraph(rng, 150) for _ in range(30)]
    items: list[tuple[str, str]] = []
    for i in range(400):
        base = bases[rng.randrange(len(bases))]
        edits = rng.sample(range(150), rng.choice([0, 1, 2, 10]))
        items.append((f"id{i}", _change_words(base, edits)))
    rng.shuffle(items)
    result = near_duplicates(items)
    assert result == near_duplicates(list(items))
    assert len(result) > 100
    kept = {i for i, _ in items} - set(result)
    assert set(result.values()) <= kept
    order = {item_id: n for n, (item_id, _) in enumerate(items)}
    texts = dict(items)
    for removed, keeper in result.items():
        assert order[keeper] < order[removed]
        assert _jaccard(texts[removed], texts[keeper]) > 0.75  # never a random pair


def test_chains_do_not_remove_through_removed_items() -> None:
    rng = random.Random(5)
    a = _paragraph(rng, 600)
    b = _change_words(a, [100, 300, 500])
    c = _change_words(b, [50, 250, 450])
    # a~b and b~c are above the threshold, a~c below it (1024 permutations keep the estimate tight).
    assert _jaccard(a, b) > 0.945 and _jaccard(b, c) > 0.945 and _jaccard(a, c) < 0.91
    result = near_duplicates([("a", a), ("b", b), ("c", c)], threshold=0.93, num_perm=1024)
    assert result == {"b": "a"}  # c resembles only the removed b, so it stays


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="unique"):
        near_duplicates([("x", "a"), ("x", "b")])
    with pytest.raises(ValueError):
        near_duplicates([("x", "a")], threshold=0)
    assert near_duplicates([]) == {}


def test_twenty_thousand_items_is_fast() -> None:
    rng = random.Random(6)
    bases = [_paragraph(rng, 40) for _ in range(19_000)]
    items = [(f"i{n}", t) for n, t in enumerate(bases)]
    items += [(f"d{n}", bases[n * 19]) for n in range(1000)]
    start = time.perf_counter()
    result = near_duplicates(items)
    elapsed = time.perf_counter() - start
    assert result == {f"d{n}": f"i{n * 19}" for n in range(1000)}
    assert elapsed < 20, elapsed
