"""The one write path: every byte a build writes goes through `IndexStore`.

A build opens the store (which takes the writer lock), reads what it needs to decide what changed
(files, article hashes, stored vectors to reuse, story members), and writes one new generation in
`IndexStore.generation()`: the keyword index is staged beside the current one, the metadata
changes, the vector file and the manifest go into one SQLite transaction, and its commit publishes
them all. A failure anywhere inside removes what the generation staged and leaves the previous
one serving; a kill leaves at most files the next build removes (`housekeep`).
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import embed_text
from ..errors import BuildError
from ..records import Article, Chunk
from ..stories import StoryMember
from .generations import housekeep, vector_file, writer_lock
from .keyword import KEYWORD_DIR, KeywordIndex, keyword_generation, stage_keywords
from .metadata import (
    ARTICLE_COLUMNS,
    FILE_NAME,
    article_columns,
    article_from_row,
    article_hashes,
    connect,
    f16,
    sentences_json,
    transaction,
)
from .reader import read_meta
from .stories import StoryIndex, names_json, refill_story_names, story_name_rows
from .vectors import build_vectors, factory_for, read_vectors, update_vectors, write_vectors

__all__ = ["IndexStore", "Generation", "add_keywords", "FileRecord", "ARTICLE_FIELDS", "article_values", "chunk_values"]

#: A file as the index remembers it: size, modification time, hash, its article ids, its notes.
FileRecord = tuple[int, int, str, list[str], list[str]]


def add_keywords(keywords: KeywordIndex, article: Article, chunk: Chunk) -> list[str]:
    """A chunk's keyword document (the text it was embedded with, its article, date and source); its terms."""
    return keywords.add(
        chunk.id,
        article.id,
        embed_text(article, chunk),
        article.date.toordinal() if article.date else 0,
        (article.source or "").casefold(),
    )


#: The `articles` columns a build writes (the key is SQLite's, or given: `article_values`).
ARTICLE_FIELDS = "id, hash, file, title, date, source, source_fold, url, author, text, story, names"


def article_values(article: Article, content_hash: str, member: StoryMember) -> tuple[Any, ...]:
    """An article's row of the `articles` table (`ARTICLE_FIELDS`, without the key)."""
    return (
        article.id,
        content_hash,
        article.id.split("#", 1)[0],
        article.title,
        article.date.toordinal() if article.date else None,
        article.source,
        (article.source or "").casefold(),
        article.url,
        article.author,
        article.text,
        member.story,
        names_json(member),
    )


def chunk_values(
    chunks: Sequence[Chunk], keys: Mapping[str, int], vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray]
) -> tuple[list[tuple[Any, ...]], list[tuple[int, bytes]]]:
    """Rows of the `chunks` and `sentence_vectors` tables; `keys` gives each article's key, and a
    chunk's ordinal is its place among its article's chunks (they come in order)."""
    ordinal: dict[str, int] = {}
    rows, sentences = [], []
    for i, chunk in enumerate(chunks):
        n = ordinal[chunk.article_id] = ordinal.get(chunk.article_id, -1) + 1
        rows.append(
            (
                chunk.id,
                keys[chunk.article_id],
                n,
                chunk.start,
                chunk.end,
                chunk.token_count,
                chunk.content_hash,
                sentences_json(chunk),
                f16(vectors[i]),
            )
        )
        sentences.append((chunk.id, f16(sentence_vectors[i])))
    return rows, sentences


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
        return {
            r[0]: r[1:] for r in self.connection.execute("SELECT path, size, mtime_ns, digest, articles, warnings FROM files")
        }

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


class Generation:
    """One generation being written: the SQLite transaction (`db`) and the files it will name."""

    def __init__(self, store: IndexStore, db: sqlite3.Connection, number: int, doing: list[str]) -> None:
        self.store, self.db, self.number, self._doing = store, db, number, doing
        self.keyword_folder = keyword_generation(number)

    def keywords(self, *, full: bool, leaving: set[str]) -> KeywordIndex:
        """This generation's keyword index, staged from the current one less the articles `leaving`
        (hard links, `stage_keywords`); one that disagrees with the metadata in size (written by an
        older qa, whose keyword index generations shared) is rebuilt from the metadata instead."""
        meta = self.store.meta
        current = str(meta.get("keywords") or KEYWORD_DIR) if meta else None
        stage_keywords(self.store.folder, None if full else current, self.keyword_folder)
        keywords = KeywordIndex(self.store.folder, create=True, name=self.keyword_folder, **self.store.keyword_writer)
        stored = int(meta.get("chunks", 0)) if meta else 0
        if not full and keywords.size != stored:
            keywords.delete_all()
            rows = self.store.connection.execute(
                f"SELECT {article_columns('a')}, c.id, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article"
            )
            for row in rows:
                article = article_from_row(row[:8])
                if article.id not in leaving:
                    add_keywords(keywords, article, Chunk(article.id, row[9], row[10], (), 0, "", row[8]))
        elif not full:
            keywords.delete_articles(leaving)
        return keywords

    def doing(self, what: str) -> None:
        """What is being written now: a full disk says where it stopped."""
        self._doing[0] = what

    def delete(self, article_ids: set[str]) -> np.ndarray:
        """Delete articles with their chunks and sentence vectors; returns the chunk ids dropped (for FAISS)."""
        self.doing("writing the metadata")
        dropped: list[int] = []
        for article_id in article_ids:
            row = self.db.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None:
                continue
            for (chunk_id,) in self.db.execute("SELECT id FROM chunks WHERE article = ?", (row[0],)).fetchall():
                self.db.execute("DELETE FROM sentence_vectors WHERE chunk = ?", (chunk_id,))
                dropped.append(chunk_id)
            self.db.execute("DELETE FROM chunks WHERE article = ?", (row[0],))
            self.db.execute("DELETE FROM story_names WHERE article = ?", (row[0],))
            self.db.execute("DELETE FROM articles WHERE key = ?", (row[0],))
        return np.array(dropped, dtype=np.int64)

    def insert(
        self,
        articles: list[tuple[Article, str, StoryMember]],
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentence_vectors: list[np.ndarray],
    ) -> None:
        """Articles (each with its content hash and story member), then their chunks and vectors."""
        keys: dict[str, int] = {}
        for article, content_hash, member in articles:
            cursor = self.db.execute(
                f"INSERT INTO articles ({ARTICLE_FIELDS}) VALUES ({', '.join('?' * 12)})",
                article_values(article, content_hash, member),
            )
            keys[article.id] = int(cursor.lastrowid or 0)
            self.db.executemany("INSERT INTO story_names VALUES (?, ?, ?)", story_name_rows(keys[article.id], member))
        chunk_rows, sentence_rows = chunk_values(chunks, keys, vectors, sentence_vectors)
        self.db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk_rows)
        self.db.executemany("INSERT INTO sentence_vectors VALUES (?, ?)", sentence_rows)

    def relink(self, members: list[StoryMember]) -> None:
        """Kept articles moved into other stories (the linking rules changed), their names with them."""
        for m in members:
            row = self.db.execute("SELECT key FROM articles WHERE id = ?", (m.article_id,)).fetchone()
            if row is None:
                continue
            self.db.execute("UPDATE articles SET story = ?, names = ? WHERE key = ?", (m.story, names_json(m), row[0]))
            self.db.execute("DELETE FROM story_names WHERE article = ?", (row[0],))
            self.db.executemany("INSERT INTO story_names VALUES (?, ?, ?)", story_name_rows(row[0], m))

    def record_files(self, files: dict[str, FileRecord], *, only: bool) -> None:
        """What each file read now held (`only`: and forget every other file)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
            [
                (rel, size, mtime, digest, json.dumps(ids), json.dumps(notes))
                for rel, (size, mtime, digest, ids, notes) in files.items()
            ],
        )
        if only:
            self.db.executemany(
                "DELETE FROM files WHERE path = ?",
                [(r[0],) for r in self.db.execute("SELECT path FROM files") if r[0] not in files],
            )

    def counts(self) -> tuple[int, int]:
        """Articles and chunks of this generation."""
        articles = self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        return int(articles), int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def write_vectors(
        self,
        dropped: np.ndarray,
        chunks: list[Chunk],
        vectors: np.ndarray,
        *,
        full: bool,
        dimension: int,
        exact_below: int,
        nprobe: int,
        retrain: float = 4.0,
    ) -> str:
        """The vector file of this generation: updated from the current one, or rebuilt from the stored
        vectors when the index type changes with the size or an IVF index has outgrown its training (`retrain` times the chunks it was trained on).
        Returns the FAISS factory string."""
        self.doing("writing the vector index")
        meta, folder = self.store.meta, self.store.folder
        count = self.counts()[1]
        factory = factory_for(count, dimension, exact_below)
        trained_on = int(meta.get("trained_on") or 0)
        rebuild = full or not meta or factory != meta.get("factory") or ("IVF" in factory and count > retrain * trained_on)
        path = folder / vector_file(self.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        if rebuild:
            rows = self.db.execute("SELECT id, vector FROM chunks").fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            stored = (
                np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), dimension).astype(np.float32)
            )
            index = build_vectors(factory, ids, stored)
        else:
            index = read_vectors(folder / meta["vectors"], nprobe)
            index = update_vectors(index, dropped, np.array([c.id for c in chunks], dtype=np.int64), vectors)
        write_vectors(index, path)
        return factory

    def publish(self, meta: dict[str, Any]) -> None:
        """The manifest of this generation; the commit at the end of `IndexStore.generation` makes it the current one."""
        self.doing("writing the metadata")
        meta = meta | {
            "generation": self.number,
            "keywords": self.keyword_folder,
            "vectors": vector_file(self.number),
            "story_names": self.number,  # this generation kept `story_names` in step (`storage/stories.py`)
        }
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
