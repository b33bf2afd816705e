"""The on-disk index, format version 3: one folder, one commit point, generations.

    <index>/qa.sqlite          metadata, settings, the generation (metadata.py)
    <index>/vectors/g*.faiss   the FAISS index of a generation, keyed by chunk id (vectors.py)
    <index>/keywords.g*/       the tantivy keyword index of a generation (keyword.py)
    <index>/build.lock         held by the one build that may write (generations.py)

`Index` (reader.py) is a loaded generation; `qa/indexing/` writes new ones. A shard set (`shards.json`
and shard folders of this format, written by `qa shard`) is read as one by `ShardedIndex` (sharded.py).
"""

from pathlib import Path

from .filters import Filter
from .generations import discard_unfinished, housekeep, is_legacy, vector_file, writer_lock
from .metadata import FILE_NAME, CandidateRows
from .reader import FORMAT, FORMAT_VERSION, Index, read_meta
from .shard_set import is_sharded
from .sharded import ShardedIndex

__all__ = [
    "Index",
    "ShardedIndex",
    "AnyIndex",
    "open_index",
    "Filter",
    "CandidateRows",
    "FORMAT",
    "FORMAT_VERSION",
    "FILE_NAME",
    "read_meta",
    "writer_lock",
    "discard_unfinished",
    "vector_file",
    "housekeep",
    "is_legacy",
    "is_sharded",
]

#: What ranking and answers read: one index, or a shard set read as one.
AnyIndex = Index | ShardedIndex


def open_index(
    path: Path | str, *, nprobe: int = 48, shard_workers: str = "local", ray_address: str = "", shard_seconds: float = 10.0
) -> AnyIndex:
    """The index at `path`: a shard set when it holds `shards.json`, else one index folder."""
    if is_sharded(path):
        return ShardedIndex(
            path, nprobe=nprobe, workers=shard_workers, ray_address=ray_address or None, shard_seconds=shard_seconds
        )
    return Index(path, nprobe=nprobe)
