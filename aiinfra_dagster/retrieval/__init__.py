"""The vector index: versioned Qdrant collections (or qdrant-edge shards) behind an atomically switched alias.

Readers use `index.open_index`; the `vector_index` asset builds, verifies and switches through `build`.

Why qdrant-edge-py is the embedded default (measured on the 2-core machine, 20k x 384 random unit vectors,
8 labels, `benchmarks/vector_index.py`): qdrant-edge-py 0.9 indexes ~18k points/s and answers ~1.3k filtered
queries/s one query per call (~5k/s batched) through our API, against targets of 5,000 points/s and 200
queries/s; qdrant-client local mode does ~900 points/s and ~100 filtered queries/s on only 1k points and
degrades with size (it scans in numpy; ~215 points/s and ~3 queries/s on disk at demo sizes). Edge has no
collections or aliases, so `edge.py` implements them on the file system: one sealed shard directory per
version (created with the write-ahead log off, which is also what lets several processes open one shard at
once; with the WAL on a second open fails with WouldBlock) and an alias file replaced atomically. The server
path (`qdrant.url`) uses qdrant-client's native collections, payload index and `update_collection_aliases`;
`qdrant.embedded_engine: client_local` runs that same code on qdrant-client local mode (one process only).
"""
