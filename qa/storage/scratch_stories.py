"""The reports a build has linked so far, kept where story linking reads them as it reads stored ones.

A build into a shard set (`qa/indexing/shard_writers.py`) writes no index of its own: its shards
are written by their writers. Its story linking still needs the reports of the windows before
(their names, counts and lead vectors, through a `StoryIndex`), exactly as a new index's windows
link against the ones they committed. They go into a scratch SQLite file of the index's schema
(rows without text), removed when the build ends.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..records import Article, Chunk
from ..stories import StoryMember
from .metadata import FILE_NAME, connect, transaction
from .rows import article_values, chunk_values
from .stories import StoryIndex, story_name_rows

__all__ = ["ScratchStories"]


class ScratchStories:
    """A scratch store of linked reports, for the length of a `with` block."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension

    def __enter__(self) -> ScratchStories:
        self._folder = tempfile.TemporaryDirectory(prefix="qa-linked-")
        self._database = connect(Path(self._folder.name) / FILE_NAME, create=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._database.close()
        self._folder.cleanup()

    def index(self) -> StoryIndex:
        """What story linking reads: the reports added so far."""
        return StoryIndex(self._database, (), self.dimension)

    def add(
        self,
        articles: Sequence[Article],
        members: Sequence[StoryMember],
        keys: Mapping[str, int],
        leads: Sequence[Chunk],
        vectors: np.ndarray,
    ) -> None:
        """Linked reports (with their keys, lead chunks and lead vectors), their text left out."""
        rows, _ = chunk_values(leads, keys, vectors, [np.zeros(0)] * len(leads))
        with transaction(self._database, write=True) as db:
            for article, member in zip(articles, members):
                values = article_values(dataclasses.replace(article, text=""), "", member)
                db.execute(f"INSERT INTO articles VALUES ({', '.join('?' * (len(values) + 1))})", (keys[article.id], *values))
                db.executemany("INSERT INTO story_names VALUES (?, ?, ?)", story_name_rows(keys[article.id], member))
            db.executemany(f"INSERT INTO chunks VALUES ({', '.join('?' * len(rows[0]))})", rows)
