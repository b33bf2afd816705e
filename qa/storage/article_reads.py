"""Reads by article, for passages, answers and the index panel: `ArticleReads`, a part of `Index`.

Kept apart from the reader (`reader.py`, which opens a generation and answers what ranking needs)
so each stays short: these methods read the `articles`, `chunks` and `files` tables by id or as
lists, through the connection and the dimension that `Index` provides.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence

import numpy as np

from ..records import Article, Chunk
from .metadata import ARTICLE_COLUMNS, article_columns, article_from_row, article_hashes, chunk_from_row, from_f16, recorded_files

__all__ = ["ArticleReads"]


class ArticleReads:
    """What passages and answers need of an index (mixed into `Index`, which opens the connection)."""

    connection: sqlite3.Connection  #: one per thread (`Index.connection`)
    dimension: int  #: of the sentence vectors

    def chunks(self, ids: Sequence[int]) -> dict[int, tuple[Chunk, Article, np.ndarray]]:
        """Each chunk with its article (text included) and its sentences' vectors."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.connection.execute(
            f"SELECT c.id, c.start, c.end, c.token_count, c.content_hash, c.sentences, s.vectors, "
            f"{article_columns('a')} FROM chunks c "
            f"JOIN articles a ON a.key = c.article LEFT JOIN sentence_vectors s ON s.chunk = c.id WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        out: dict[int, tuple[Chunk, Article, np.ndarray]] = {}
        for chunk_id, start, end, tokens, content_hash, sentences, vectors, *article_row in rows:
            article = article_from_row(article_row)
            chunk = chunk_from_row(article.id, chunk_id, start, end, tokens, content_hash, sentences)
            out[chunk_id] = (
                chunk,
                article,
                from_f16(vectors, self.dimension) if vectors else np.zeros((0, self.dimension), np.float32),
            )
        return out

    def story_of(self, article_id: str) -> list[Article]:
        """The articles of the story that `article_id` belongs to, oldest first (undated last)."""
        story = self.story_id_of(article_id)
        articles = self.story_articles(story) if story is not None else []
        return sorted(articles, key=lambda a: (a.date or dt.date.max, a.id))

    def story_id_of(self, article_id: str) -> str | None:
        row = self.connection.execute("SELECT story FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def story_articles(self, story: str) -> list[Article]:
        return [
            article_from_row(r)
            for r in self.connection.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE story = ?", (story,))
        ]

    def article(self, article_id: str) -> Article | None:
        row = self.connection.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
        return article_from_row(row) if row else None

    def article_rows(self, search: str = "", limit: int = 200) -> list[tuple[str, str, str, str]]:
        """(id, title, date, source) of the newest articles whose id, title or source contains `search`
        (an untitled article shows its first words, as everywhere else)."""
        like = f"%{search.strip()}%"
        rows = self.connection.execute(
            "SELECT id, coalesce(title, substr(text, 1, 70) || ' …'), date, coalesce(source, '') FROM articles WHERE id LIKE ? OR title LIKE ? "
            "OR source LIKE ? ORDER BY date IS NULL, date DESC, id LIMIT ?",
            (like, like, like, limit),
        )
        return [(i, t, dt.date.fromordinal(d).isoformat() if d else "undated", src) for i, t, d, src in rows]

    def files(self) -> dict[str, tuple[int, int, str, str, str]]:
        """Each file the index recorded: size, modification time, hash, article ids (JSON), notes (JSON)."""
        return recorded_files(self.connection)

    def article_hashes(self) -> dict[str, str]:
        """Each article's id and content hash: what a scan compares against."""
        return article_hashes(self.connection)

    def article_ids(self) -> list[str]:
        return [r[0] for r in self.connection.execute("SELECT id FROM articles ORDER BY id")]

    def chunk_texts(self) -> Iterator[str]:
        """Every chunk's text (for evaluation: reads every row)."""
        rows = self.connection.execute(
            "SELECT substr(a.text, c.start + 1, c.end - c.start) FROM chunks c JOIN articles a ON a.key = c.article"
        )
        return (r[0] for r in rows)

    def stories(self) -> dict[str, list[str]]:
        """Every story's article ids (for tests and benchmarks: reads every article row)."""
        out: dict[str, list[str]] = {}
        for article_id, story in self.connection.execute("SELECT id, story FROM articles ORDER BY id"):
            out.setdefault(story, []).append(article_id)
        return out
