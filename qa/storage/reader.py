"""A loaded generation of an index: its vector index in memory, its metadata read on demand.

Opening reads the settings and the vector file only (seconds at most, even for a million
chunks); articles, chunks and sentences are read per query, by id. `Index.generation_now()`
is one SQLite read, so an engine can check for a newer build on every question. The reads by
article (passages, stories, lists) are `ArticleReads` (`article_reads.py`); `Filter` is in `filters.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError
from .article_reads import ArticleReads
from .filters import Filter
from .generations import is_legacy
from .keyword import KEYWORD_DIR, KeywordIndex
from .metadata import FILE_NAME, CandidateRows, connect, transaction
from .probe import Fetch, Fetched, Probe, Probed, fetch_index, probe_index
from .vectors import read_vectors, search_vectors

__all__ = ["Index", "FORMAT", "FORMAT_VERSION", "read_meta"]

FORMAT = "qa-index"
FORMAT_VERSION = 3  #: 3: SQLite metadata, tantivy keywords, FAISS by size keyed by chunk id, generations


def read_meta(connection: sqlite3.Connection) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in connection.execute("SELECT key, value FROM meta")}


class Index(ArticleReads):
    """One generation of the index at `path` (a folder, or a link to one)."""

    def __init__(self, path: Path | str, *, nprobe: int = 48) -> None:
        self.path = Path(path)
        self.folder = self.path.resolve()
        database = self.folder / FILE_NAME
        if not database.exists():
            if (self.folder / "shards.json").exists():
                raise IndexMismatchError(
                    f"{self.path} is a shard set (made by `qa shard`): serve it or ask it; to change it, "
                    "build its source index and run `qa shard` again"
                )
            if is_legacy(self.folder):
                raise IndexMismatchError(
                    f"index at {self.path} has an older format; rebuild it with `qa build --index {self.path}`"
                )
            raise IndexNotFoundError(f"no index at {self.path}; build one with `qa build --index {self.path}`")
        self._database = database
        self._local = threading.local()
        try:
            self.manifest = read_meta(self.connection)
        except sqlite3.DatabaseError as error:
            raise CorruptIndexError(f"index at {self.path} is damaged ({error}); rebuild it with `qa build --full`") from error
        if self.manifest.get("format") != FORMAT:
            raise CorruptIndexError(f"{database} is not a qa index; rebuild it with `qa build --full`")
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index at {self.path} has format version {self.manifest.get('format_version')}, this qa reads "
                f"{FORMAT_VERSION}; rebuild it with `qa build --full --index {self.path}`"
            )
        self.generation = int(self.manifest.get("generation", 0))
        if self.generation == 0:
            raise IndexNotFoundError(f"the index at {self.path} has no finished build yet; run `qa build --index {self.path}`")
        self.dimension = int(self.manifest["dimension"])
        self.nprobe = nprobe
        indexes = {r[0] for r in self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        #: The covering-index hints of `admitted` (an index written before they existed has none; the next build adds them).
        self._covering = (
            ("INDEXED BY chunks_id_article", "INDEXED BY articles_filter")
            if {"chunks_id_article", "articles_filter"} <= indexes
            else ("", "")
        )
        try:
            self.vectors: faiss.Index = read_vectors(self.folder / self.manifest["vectors"], nprobe)
        except (RuntimeError, OSError) as error:
            raise CorruptIndexError(
                f"the vectors of the index at {self.path} are damaged ({error}); rebuild them with `qa build --full`"
            ) from error
        if self.vectors.d != self.dimension or self.vectors.ntotal != self.manifest["chunks"]:
            raise CorruptIndexError(
                f"index at {self.path} is inconsistent ({self.vectors.ntotal} vectors of dimension "
                f"{self.vectors.d}, the metadata says {self.manifest['chunks']} of {self.dimension}); "
                "rebuild it with `qa build --full`"
            )
        try:
            self.keywords = KeywordIndex(self.folder, name=str(self.manifest.get("keywords") or KEYWORD_DIR))
        except (OSError, ValueError) as error:
            raise CorruptIndexError(
                f"the keyword index at {self.path} is damaged ({error}); rebuild it with `qa build --full`"
            ) from error
        self._sources: list[str] | None = None

    # --- plumbing -------------------------------------------------------------------------------

    @property
    def connection(self) -> sqlite3.Connection:
        """One connection per thread: the web UI answers from several."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = connect(self._database)
            except (sqlite3.DatabaseError, FileNotFoundError) as error:
                raise CorruptIndexError(
                    f"index at {self.path} cannot be opened ({error}); rebuild it with `qa build --full`"
                ) from error
            self._local.connection = connection
        return connection

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Every read of one question sees one generation of the metadata; nested, the outer one holds."""
        if self.connection.in_transaction:
            yield self.connection
            return
        with transaction(self.connection) as connection:
            yield connection

    def generation_now(self) -> int:
        """The generation committed on disk now (one indexed read)."""
        row = self.connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(json.loads(row[0])) if row else 0

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"])

    @property
    def factory(self) -> str:
        return str(self.manifest["factory"])

    # --- what ranking needs -----------------------------------------------------------------------

    def sources(self) -> list[str]:
        if self._sources is None:
            rows = self.connection.execute("SELECT DISTINCT source FROM articles WHERE source IS NOT NULL ORDER BY source")
            self._sources = [r[0] for r in rows]
        return self._sources

    def date_range(self) -> tuple[dt.date | None, dt.date | None]:
        """The oldest and newest publication dates in the index (indexed min and max)."""
        low, high = self.connection.execute("SELECT min(date), max(date) FROM articles").fetchone()
        return (dt.date.fromordinal(low) if low else None), (dt.date.fromordinal(high) if high else None)

    def admits_any(self, where: Filter) -> bool:
        """Whether any article passes `where` (one indexed lookup)."""
        sql, params = where.sql()
        return self.connection.execute(f"SELECT 1 FROM articles a WHERE {sql} LIMIT 1", params).fetchone() is not None

    def share(self, where: Filter) -> float:
        """The share of articles that pass `where`, from the indexes on source and date."""
        sql, params = where.sql()
        passing = self.connection.execute(f"SELECT count(*) FROM articles a WHERE {sql}", params).fetchone()[0]
        return passing / max(int(self.manifest["articles"]), 1)

    def admitted(self, ids: np.ndarray, where: Filter) -> np.ndarray:
        """The given chunk ids that `where` admits, in their order (ids only: no vectors are read)."""
        sql, params = where.sql()
        passing: set[int] = set()
        wanted = [int(i) for i in ids]
        for first in range(0, len(wanted), 900):
            part = wanted[first : first + 900]
            passing.update(
                r[0]
                for r in self.connection.execute(
                    # CROSS JOIN fixes the order (SQLite's rule): look the ids up first. Left to itself the planner
                    # walked every chunk of the filter's sources instead: 13 s at 1M chunks. The covering indexes
                    # keep the lookups off the rows, which hold vectors and texts (bench/README.md).
                    f"SELECT c.id FROM chunks c {self._covering[0]} CROSS JOIN articles a {self._covering[1]} ON a.key = c.article "
                    f"WHERE c.id IN ({','.join('?' * len(part))}) AND {sql}",
                    [*part, *params],
                )
            )
        return np.array([i for i in wanted if i in passing], dtype=np.int64)

    def filtered_ids(self, where: Filter) -> np.ndarray:
        """Chunk ids of the articles `where` admits (an indexed SQL query, no loop over chunks)."""
        sql, params = where.sql()
        rows = self.connection.execute(f"SELECT c.id FROM chunks c JOIN articles a ON a.key = c.article WHERE {sql}", params)
        return np.array([r[0] for r in rows.fetchall()], dtype=np.int64)

    def dense(self, vector: np.ndarray, limit: int, allowed: np.ndarray | None) -> np.ndarray:
        return self.dense_scored(vector, limit, allowed)[0]

    def dense_scored(self, vector: np.ndarray, limit: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The nearest chunks' ids and (approximate) similarities."""
        return search_vectors(self.vectors, vector, limit, allowed, self.nprobe)

    def keyword(
        self, terms: Sequence[str], limit: int, where: Filter, boosts: Mapping[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `limit` best chunks by BM25 among those `where` admits: ids and scores."""
        return self.keywords.search(
            terms,
            limit,
            sources=where.sources,
            since=where.since.toordinal() if where.since else None,
            until=where.until.toordinal() if where.until else None,
            boosts=boosts,
        )

    def keyword_scores(self, terms: Sequence[str], ids: np.ndarray, boosts: Mapping[str, float] | None = None) -> np.ndarray:
        """BM25 of the given chunks (0 where no term occurs)."""
        return self.keywords.scores(terms, ids, boosts)

    def reachable(self, terms: Sequence[str]) -> float:
        """The sum of the best BM25 score each term reaches anywhere: what a chunk's score is a share of."""
        return sum(self.term_maxes(terms).values())

    def term_maxes(self, terms: Sequence[str]) -> dict[str, float]:
        """The best BM25 score each term alone reaches in any chunk."""
        return {t: self.keywords.term_max(t) for t in set(terms)}

    def term_statistics(self, terms: Sequence[str]) -> tuple[int, int, list[int]]:
        """What BM25's idf is made of: the keyword index's documents (ballast included: tantivy counts
        them), the real chunks among them, and the chunks holding each term."""
        documents, holding = self.keywords.statistics(terms)
        return documents, documents - int(self.manifest.get("keyword_ballast", 0)), holding

    def candidates(self, ids: Iterable[int]) -> CandidateRows:
        return CandidateRows.fetch(self.connection, ids, self.dimension)

    def probe(self, probe: Probe, boosts: Mapping[str, float] | None = None) -> Probed:
        """Everything ranking needs for one question (`qa/storage/probe.py`)."""
        return probe_index(self, probe, boosts)

    def fetch(self, fetch: Fetch, boosts: Mapping[str, float] | None = None) -> Fetched:
        """The passages' texts, and the story of a status question (`qa/storage/probe.py`)."""
        return fetch_index(self, fetch, boosts)

    def story_chunk_ids(self, story: str, where: Filter) -> np.ndarray:
        sql, params = where.sql()
        rows = self.connection.execute(
            f"SELECT c.id FROM chunks c JOIN articles a ON a.key = c.article WHERE a.story = ? AND {sql}", [story, *params]
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)
