"""Feature definitions, their versions, the history table and point-in-time reads."""

from datetime import UTC, datetime, timedelta

import polars as pl

from aiinfra_dagster.data.chunking import ChunkBlock, blocks_json
from aiinfra_dagster.features.definitions import FEATURES, FeatureDefinition, compute_text_features, feature_set_version
from aiinfra_dagster.features.history import feature_updates
from aiinfra_dagster.features.point_in_time import features_as_of
from aiinfra_dagster.features.tables import CHUNK_FEATURES

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_text_features_by_hand():
    text = "Use it like this::\n\n    x = 1\n>>> print(x)"
    code = ChunkBlock("code", 20, len(text), "x = 1\n>>> print(x)")
    chunks = pl.DataFrame(
        {
            "chunk_id": ["a", "b"],
            "section": ["Top > Sub", ""],
            "text": [text, "one two three"],
            "blocks": [blocks_json([ChunkBlock("paragraph", 0, 18, "Use it like this:"), code]), "[]"],
        }
    )
    f = {r["chunk_id"]: r for r in compute_text_features(chunks).iter_rows(named=True)}
    assert f["a"]["heading_depth"] == 2 and f["b"]["heading_depth"] == 0
    assert f["b"]["n_words"] == 3 and f["b"]["mean_word_length"] == (3 + 3 + 5) / 3
    assert f["a"]["code_block_ratio"] == (len(text) - 20) / (18 + len(text) - 20) and f["b"]["code_block_ratio"] == 0.0
    assert f["a"]["n_lines"] == 4


def test_changing_a_definition_changes_its_version_and_the_set_version():
    def n_chars():
        return pl.col("text").str.len_bytes().cast(pl.Int64)

    changed = FeatureDefinition("n_chars", pl.Int64, "bytes now", n_chars)
    assert changed.version != FEATURES[0].version
    assert feature_set_version([changed, *FEATURES[1:]]) != feature_set_version(FEATURES)
    assert feature_set_version(FEATURES, "model-a") != feature_set_version(FEATURES, "model-b")
    assert feature_set_version(FEATURES) == feature_set_version(FEATURES)


def current(labels: dict[str, str | None], version: str = "v1") -> pl.DataFrame:
    ids = sorted(labels)
    frame = pl.DataFrame(
        {
            "chunk_id": ids,
            "section": [""] * len(ids),
            "text": [f"text of {i}" for i in ids],
            "blocks": ["[]"] * len(ids),
        }
    )
    return compute_text_features(frame).with_columns(
        pl.lit(version).alias("feature_set_version"),
        pl.Series("embedding", [[0.5, 0.5]] * len(ids), dtype=pl.List(pl.Float32)),
        pl.Series("label", [labels[i] for i in ids], dtype=pl.String),
        pl.Series("label_confidence", [0.9 if labels[i] else None for i in ids], dtype=pl.Float64),
    )


def test_history_appends_only_changes_and_point_in_time_never_leaks_later_values():
    history = CHUNK_FEATURES.empty()
    for day, labels in enumerate(
        [{"a": "old", "b": "x"}, {"a": "old", "b": "x"}, {"a": "new", "b": "x"}, {"a": "new"}]
    ):
        update = CHUNK_FEATURES.validate(feature_updates(current(labels), history, T0 + timedelta(days=day)))
        history = pl.concat([history, update])
        if day == 1:
            assert update.is_empty(), "unchanged inputs appended rows"
    assert history.height == 4  # a@0, b@0, a@2 (new label), b@3 (inactive)

    requests = pl.DataFrame(
        {
            "chunk_id": ["a", "a", "a", "b", "b", "a"],
            "as_of": [T0 + timedelta(days=d, hours=h) for d, h in [(1, 0), (2, -1), (2, 0), (2, 12), (3, 1), (-1, 0)]],
        }
    )
    got = features_as_of(history, requests)
    assert got["label"].to_list() == ["old", "old", "new", "x", None, None]
    assert got["n_chars"].to_list()[:4] == [9, 9, 9, 9] and got["n_chars"][4] is None
    assert got["chunk_id"].to_list() == requests["chunk_id"].to_list()
