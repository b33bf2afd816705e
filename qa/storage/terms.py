"""A shard set's BM25 statistics (`terms.sqlite` beside `shards.json`): what the asking process holds.

Each shard scores a chunk with the whole set's idf (`sharded.py`), which needs, for each word of a
question, how many chunks of each shard hold it. Asked of the shards, that is a round trip before
every search; recomputed from the shards when the set is written and stored here, it is one
indexed lookup in the asking process, which opens no shard.

    holding(term TEXT PRIMARY KEY, counts BLOB)   counts: int32 per shard, in shard order

A word is counted in a chunk when the chunk's keyword document holds it: the same analysis as
`KeywordIndex.add` (`analyze` of `embed_text`), so the counts equal tantivy's document frequencies
(`tests/test_shards.py` checks them against the shards).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .metadata import transaction

__all__ = ["TERMS_FILE", "store_term_statistics", "TermStatistics"]

TERMS_FILE = "terms.sqlite"


def store_term_statistics(set_folder: Path, holding: Sequence[Mapping[str, int]]) -> None:
    """The set's `terms.sqlite` from each shard's counts (in shard order), which each shard's writer
    (`split.ShardWriter`) counted as it indexed the shard, on whichever machine it ran."""
    counts: dict[str, np.ndarray] = {}
    for number, shard in enumerate(holding):
        for term, count in shard.items():
            counts.setdefault(term, np.zeros(len(holding), dtype=np.int32))[number] = count
    database = _create(set_folder / TERMS_FILE)
    with transaction(database, write=True) as db:
        db.executemany("INSERT INTO holding VALUES (?, ?)", ((t, c.tobytes()) for t, c in counts.items()))
    database.close()


def _create(path: Path) -> sqlite3.Connection:
    database = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    database.execute("CREATE TABLE IF NOT EXISTS holding (term TEXT PRIMARY KEY, counts BLOB NOT NULL) WITHOUT ROWID")
    return database


class TermStatistics:
    """The stored counts of a shard set, read by the asking process."""

    def __init__(self, set_folder: Path, shards: int) -> None:
        self.shards = shards
        self._lock = threading.Lock()  # one connection, asked from the server's threads
        self._connection = sqlite3.connect(f"file:{set_folder / TERMS_FILE}?mode=ro", uri=True, check_same_thread=False)

    def holding(self, terms: Sequence[str]) -> dict[str, list[int]]:
        """Per word, the chunks of each shard that hold it (zeros for a word no chunk holds)."""
        wanted = list(dict.fromkeys(terms))
        found: dict[str, list[int]] = {t: [0] * self.shards for t in wanted}
        for first in range(0, len(wanted), 900):
            part = wanted[first : first + 900]
            with self._lock:
                rows = self._connection.execute(
                    f"SELECT term, counts FROM holding WHERE term IN ({','.join('?' * len(part))})", part
                ).fetchall()
            for term, blob in rows:
                found[term] = np.frombuffer(blob, dtype=np.int32).tolist()
        return found
