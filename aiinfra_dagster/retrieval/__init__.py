"""The vector index: versioned Qdrant collections (or qdrant-edge shards) behind an atomically switched alias.

Readers use `index.open_index`; the `vector_index` asset builds, verifies and switches through `build`.
"""
