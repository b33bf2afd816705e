"""One generation being written: `Generation`, what `IndexStore.generation()` (`writing.py`) yields.

Kept apart from the store so each stays short: the store opens the folder and reads what a build
needs to decide what changed; a `Generation` writes the new generation inside the store's one
SQLite transaction (its keyword index, the metadata rows, its vector file and its manifest).
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

import numpy as np

from ..records import Article, Chunk
from ..stories import StoryMember
from .generations import vector_file
from .keyword import KEYWORD_DIR, KeywordIndex, keyword_generation, stage_keywords
from .metadata import ARTICLE_COLUMNS, article_columns, article_from_row
from .rows import ARTICLE_FIELDS, FileRecord, add_keywords, article_values, chunk_values
from .stories import names_json, story_name_rows
from .vectors import build_vectors, factory_for, read_vectors, update_vectors, write_vectors

if TYPE_CHECKING:
    from .writing import IndexStore

__all__ = ["Generation"]


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
