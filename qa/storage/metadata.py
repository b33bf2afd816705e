"""The metadata side, in one SQLite file: articles, chunks, sentences, stories, keywords, settings.

SQLite is the index's commit point. One build is one transaction, so a reader (WAL mode: readers
never wait for the writer) sees the previous generation or the next one, never half of one, and
a `kill -9` at any moment leaves the last committed generation. Queries read only the rows they
need, by primary key or through the indexes on date, source and story.

Tables (one block each in `SCHEMA`):
- `meta`: settings and the generation (model, dimension, vector file and factory, built at…).
- `files`: each article file's size, mtime and digest, so an unchanged file is not even parsed.
- `articles`: metadata, cleaned text, content hash, story and the names it was linked by.
- `chunks`: spans, sentence spans with their resolved dates, the chunk vector (float16).
- `sentence_vectors`: a float16 vector per sentence of a chunk, to choose the sentence to cite.
- `story_names`: each article's lead names as rows (name, outlet, article), for story linking.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..records import Article, Chunk, Sentence

__all__ = ["SCHEMA", "connect", "CandidateRows", "FILE_NAME", "recorded_files", "article_hashes"]

FILE_NAME = "qa.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL,
    articles TEXT NOT NULL, warnings TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS articles (
    key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, file TEXT NOT NULL,
    title TEXT, date INTEGER, source TEXT, source_fold TEXT NOT NULL, url TEXT, author TEXT, text TEXT NOT NULL,
    story TEXT NOT NULL, names TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_date ON articles (date);
CREATE INDEX IF NOT EXISTS articles_source ON articles (source_fold);
CREATE INDEX IF NOT EXISTS articles_story ON articles (story);
CREATE INDEX IF NOT EXISTS articles_file ON articles (file);
CREATE INDEX IF NOT EXISTS articles_outlet ON articles (source);
-- Covering indexes for filtering a few thousand candidate chunks: the lookups read these compact
-- indexes, not the rows with their vectors and texts (13 s → 0.05 s per query at 1M chunks).
CREATE INDEX IF NOT EXISTS articles_filter ON articles (key, source_fold, date);

CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, article INTEGER NOT NULL, ordinal INTEGER NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL, token_count INTEGER NOT NULL, content_hash TEXT NOT NULL, sentences TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks (article);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks (content_hash);
CREATE INDEX IF NOT EXISTS chunks_id_article ON chunks (id, article);

CREATE TABLE IF NOT EXISTS sentence_vectors (chunk INTEGER PRIMARY KEY, vectors BLOB NOT NULL);

-- Story linking's names, as rows (storage/stories.py): who shares a name with a new report is one range.
CREATE TABLE IF NOT EXISTS story_names (
    name TEXT NOT NULL, outlet TEXT NOT NULL, article INTEGER NOT NULL, PRIMARY KEY (name, outlet, article)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_names_article ON story_names (article);
"""


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, fully synced commits."""
    if not create and not path.exists():
        raise FileNotFoundError(path)
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = OFF")
    if create:
        connection.executescript(SCHEMA)
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection, *, write: bool = False) -> Iterator[sqlite3.Connection]:
    """One read snapshot, or one atomic write (`BEGIN IMMEDIATE`: one writer, decided up front)."""
    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def f16(vectors: np.ndarray) -> bytes:
    return np.ascontiguousarray(vectors, dtype=np.float16).tobytes()


def from_f16(blob: bytes, dimension: int) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).reshape(-1, dimension).astype(np.float32)


# --- rows ----------------------------------------------------------------------------------------

ARTICLE_COLUMNS = "key, id, title, date, source, url, author, text"


def article_columns(alias: str) -> str:
    """The columns `article_from_row` reads, qualified for a join."""
    return ", ".join(f"{alias}.{c.strip()}" for c in ARTICLE_COLUMNS.split(","))


def article_from_row(row: Sequence[Any]) -> Article:
    _, article_id, title, date, source, url, author, text = row
    return Article(article_id, text, title, dt.date.fromordinal(date) if date else None, source, url, author)


def chunk_from_row(
    article_id: str, chunk_id: int, start: int, end: int, token_count: int, content_hash: str, sentences: str
) -> Chunk:
    spans = tuple(Sentence(s, e, dt.date.fromordinal(d) if d else None) for s, e, d in json.loads(sentences))
    return Chunk(article_id, start, end, spans, token_count, content_hash, chunk_id)


def sentences_json(chunk: Chunk) -> str:
    return json.dumps([[s.start, s.end, s.refers_to.toordinal() if s.refers_to else 0] for s in chunk.sentences])


@dataclass(frozen=True)
class CandidateRows:
    """Columns of candidate chunks, row for row, as arrays (missing ids are dropped)."""

    ids: np.ndarray
    articles: np.ndarray  #: article key
    dates: np.ndarray  #: publication date as an ordinal, 0 when undated
    sources: list[str]  #: casefolded source, "" when none
    stories: list[str]
    vectors: np.ndarray  #: float32 from float16

    @classmethod
    def fetch(cls, connection: sqlite3.Connection, ids: Iterable[int], dimension: int) -> CandidateRows:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        rows: list[tuple[Any, ...]] = []
        for first in range(0, len(wanted), 900):
            part = wanted[first : first + 900]
            rows += connection.execute(
                "SELECT c.id, c.article, coalesce(a.date, 0), a.source_fold, a.story, c.vector FROM chunks c "
                f"JOIN articles a ON a.key = c.article WHERE c.id IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
        order = {i: n for n, i in enumerate(wanted)}
        rows.sort(key=lambda r: order[r[0]])
        return cls(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.int64),
            [r[3] for r in rows],
            [r[4] for r in rows],
            np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float16).reshape(len(rows), dimension).astype(np.float32)
            if rows
            else np.zeros((0, dimension), dtype=np.float32),
        )

    def where(self, keep: np.ndarray) -> CandidateRows:
        """The rows where `keep` is true."""
        return self.take(np.flatnonzero(keep))

    def take(self, picked: np.ndarray) -> CandidateRows:
        """The rows at these positions, in this order."""
        return CandidateRows(
            self.ids[picked],
            self.articles[picked],
            self.dates[picked],
            [self.sources[i] for i in picked],
            [self.stories[i] for i in picked],
            self.vectors[picked],
        )

    @classmethod
    def empty(cls, dimension: int) -> CandidateRows:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, [], [], np.zeros((0, dimension), dtype=np.float32))

    def join(self, other: CandidateRows) -> CandidateRows:
        return CandidateRows(
            np.concatenate([self.ids, other.ids]),
            np.concatenate([self.articles, other.articles]),
            np.concatenate([self.dates, other.dates]),
            self.sources + other.sources,
            self.stories + other.stories,
            np.concatenate([self.vectors, other.vectors]),
        )


def recorded_files(connection: sqlite3.Connection) -> dict[str, tuple[int, int, str, str, str]]:
    """Each file an index recorded: size, modification time, hash, article ids (JSON), notes (JSON)."""
    return {r[0]: r[1:] for r in connection.execute("SELECT path, size, mtime_ns, digest, articles, warnings FROM files")}


def article_hashes(connection: sqlite3.Connection) -> dict[str, str]:
    """Each article's id and content hash: what a scan compares against."""
    return dict(connection.execute("SELECT id, hash FROM articles"))
