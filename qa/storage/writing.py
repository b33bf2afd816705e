"""The one write path: every byte a build writes goes through `IndexStore`.

A build opens the store (which takes the writer lock), reads what it needs to decide what changed
(files, article hashes, stored vectors to reuse, story members), and writes one new generation in
`IndexStore.generation()`: the keyword index is staged beside the current one, the metadata
changes, the vector file and the manifest go into one SQLite transaction, and its commit publishes
them all. A failure anywhere inside removes what the generation staged and leaves the previous
one serving; a kill leaves at most files the next build removes (`housekeep`). What a generation
writes is `Generation` (`new_generation.py`); the rows it is made of are in `rows.py`.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BuildError
from ..records import Article
from .generations import housekeep, vector_file, writer_lock
from .keyword import keyword_generation
from .metadata import FILE_NAME, article_columns, article_from_row, article_hashes, connect, recorded_files, transaction
from .new_generation import Generation
from .reader import read_meta
from .stories import StoryIndex, refill_story_names

__all__ = ["IndexStore"]


class IndexStore:
    """An index folder opened for writing, for the length of a `with` block (the writer lock held)."""

    def __init__(self, folder: Path, target: Path, *, keyword_heap_mb: int = 64, keyword_threads: int = 1) -> None:
        self.folder, self.target = folder, target
        self.keyword_writer = {"heap_mb": keyword_heap_mb, "threads": keyword_threads}

    def __enter__(self) -> IndexStore:
        self._exit = ExitStack()
        self._exit.enter_context(writer_lock(self.folder))
        try:
            self.connection = connect(self.folder / FILE_NAME, create=True)
            self._exit.callback(self.connection.close)
            self.meta: dict[str, Any] = read_meta(self.connection)
            if refill_story_names(self.connection, self.meta):
                self.meta = read_meta(self.connection)
        except sqlite3.DatabaseError as error:
            self._exit.close()
            raise BuildError(f"the index at {self.target} is damaged ({error}); move it away and build again") from error
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def reread_meta(self) -> dict[str, Any]:
        """The manifest after a commit (a build that commits in windows writes several generations)."""
        self.meta = read_meta(self.connection)
        return self.meta

    # --- what a build reads to decide what changed -----------------------------------------------

    def files(self) -> dict[str, tuple[int, int, str, str, str]]:
        """Each recorded file: size, modification time, hash, article ids (JSON), notes (JSON)."""
        return recorded_files(self.connection)

    def article_hashes(self) -> dict[str, str]:
        return article_hashes(self.connection)

    def article_ids(self) -> set[str]:
        return {r[0] for r in self.connection.execute("SELECT id FROM articles")}

    def stored_vectors(self, content_hashes: list[str]) -> dict[str, tuple[bytes, bytes | None]]:
        """Chunk and sentence vectors already stored for these chunk texts (a renamed file re-embeds nothing)."""
        known: dict[str, tuple[bytes, bytes | None]] = {}
        for first in range(0, len(content_hashes), 900):
            part = content_hashes[first : first + 900]
            for content_hash, vector, sentences in self.connection.execute(
                "SELECT c.content_hash, c.vector, s.vectors FROM chunks c LEFT JOIN sentence_vectors s ON s.chunk = c.id "
                f"WHERE c.content_hash IN ({','.join('?' * len(part))})",
                part,
            ):
                known[content_hash] = (vector, sentences)
        return known

    def stories(self, leaving: Iterable[str], dimension: int) -> StoryIndex:
        """The stored side of story linking: the articles that stay, read by name (`storage/stories.py`)."""
        return StoryIndex(self.connection, leaving, dimension)

    def staying_articles(self, leaving: set[str], dimension: int) -> Iterator[tuple[Article, np.ndarray]]:
        """The articles that stay, one at a time, with their lead vectors: for linking every story anew."""
        rows = self.connection.execute(
            f"SELECT {article_columns('a')}, c.vector FROM articles a LEFT JOIN chunks c ON c.article = a.key AND c.ordinal = 0"
        )
        for row in rows:
            if row[1] not in leaving:
                lead = np.frombuffer(row[8], dtype=np.float16) if row[8] else np.zeros(dimension, np.float16)
                yield article_from_row(row[:8]), lead.astype(np.float32)

    # --- writing ---------------------------------------------------------------------------------

    @contextmanager
    def generation(self, generation: int) -> Iterator[Generation]:
        """The next generation, written whole and published by one commit, or nothing at all."""
        doing = ["writing the keyword index"]
        try:
            with transaction(self.connection, write=True) as db:
                yield Generation(self, db, generation, doing)
        except (OSError, sqlite3.OperationalError) as error:
            self.discard(generation)
            if getattr(error, "errno", None) == errno.ENOSPC or "disk is full" in str(error):
                raise BuildError(
                    f"no space left on device while {doing[0]}; nothing was changed, the previous index still serves"
                ) from None
            raise
        except BaseException:
            self.discard(generation)
            raise
        housekeep(self.folder, generation, self.target)

    def discard(self, generation: int) -> None:
        """What a generation that failed before its commit wrote: its staged keyword index and its vector file."""
        shutil.rmtree(self.folder / keyword_generation(generation), ignore_errors=True)
        (self.folder / vector_file(generation)).unlink(missing_ok=True)
