"""Sharding: one index → N shard indexes and a manifest that lists them (`qa shard`, and
`qa build --ray --shards`, which writes the shards straight from the build).

    <dest>/shards.json     format, partition rule, the shard folders, the source and its generation
    <dest>/terms.sqlite    the set's BM25 statistics: chunks holding each word, per shard (terms.py)
    <dest>/shard-000/ …    each a complete index of format 3 (`qa/storage/`), loadable on its own

An article goes to shard `crc32(article id) mod N`, with its chunks, sentence vectors, story and
database key, so chunk ids, article keys and story ids stay unique and global across shards, and
a story whose reports land in different shards is still one story. Each shard gets its own
FAISS index (its type chosen by the shard's size) and its own keyword index; nothing is
re-embedded.

Both ways of making a set write each shard with a `ShardWriter` (its rows, then its vector and
keyword indexes, then the ballast that gives it the whole set's average chunk length) and publish
the set with `staged_set` and `write_set_manifest`: the set is written beside the destination and
swapped in whole, so a server on the old set keeps answering until it sees the new manifest
(`qa/storage/sharded.py` reads it), and a failed or killed write leaves the old set serving.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import shutil
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..errors import BuildError
from ..records import Chunk
from .generations import housekeep, vector_file
from .keyword import KEYWORD_DIR, KeywordIndex
from .metadata import FILE_NAME, article_columns, article_from_row, connect, transaction
from .reader import Index
from .rows import add_keywords
from .shard_set import MANIFEST, SHARDS_FORMAT, SHARDS_VERSION
from .terms import store_term_statistics
from .vectors import build_vectors, factory_for, write_vectors

__all__ = [
    "split_index",
    "shard_of",
    "shard_folder",
    "ShardReport",
    "ShardWriter",
    "ShardSize",
    "check_set",
    "staged_set",
    "write_set_manifest",
    "MAX_SHARDS",
]

Log = Callable[[str], None]
MAX_SHARDS = 1024


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article lives in: stable across runs, machines and Python versions."""
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % shards


def shard_folder(number: int) -> str:
    return f"shard-{number:03d}"


@dataclass(frozen=True)
class ShardSize:
    articles: int
    chunks: int
    terms: int  #: keyword terms of its chunks (what BM25's length normalisation counts)
    factory: str = ""  #: its FAISS index type
    holding: Mapping[str, int] = field(default_factory=dict)  #: chunks holding each word (the set's BM25 statistics)
    documents: int = 0  #: its keyword index's documents, ballast included (what tantivy's idf counts)

    def summary(self, number: int) -> str:
        return f"shard {number}: {self.articles} articles, {self.chunks} chunks, vectors {self.factory}"


@dataclass(frozen=True)
class ShardReport:
    path: Path
    shards: tuple[tuple[int, int], ...]  #: (articles, chunks) of each shard
    generation: int

    def summary(self) -> str:
        sizes = ", ".join(f"{a} articles/{c} chunks" for a, c in self.shards)
        return f"{len(self.shards)} shards (generation {self.generation}) → {self.path}: {sizes}"


class ShardWriter:
    """One shard index, written once: its rows (`add`, as many times as needed), then its vector and
    keyword indexes and its manifest (`finish`), then the ballast that gives its keyword index the
    whole set's average chunk length (`balance`, once every shard's size is known).

    Rows are those of the index tables (`articles` with their keys, `chunks`, `sentence_vectors`),
    so a shard holds exactly what the unsharded index would. `qa shard` fills one from a built
    index; `qa build --ray --shards` runs one per shard as a Ray actor, which writes on its node.
    """

    def __init__(self, folder: Path | str, number: int, shards: int, config: Config) -> None:
        self.folder, self.number, self.shards = Path(folder), number, shards
        self.exact_below = config.exact_below
        self.keyword_writer = {"heap_mb": config.keyword_heap_mb, "threads": config.keyword_threads}
        self.folder.mkdir(parents=True)
        self.database = connect(self.folder / FILE_NAME, create=True)
        self.size = ShardSize(0, 0, 0)

    def add(
        self, articles: Iterable[tuple[Any, ...]], chunks: Iterable[tuple[Any, ...]], sentences: Iterable[tuple[Any, ...]]
    ) -> None:
        """Rows of the three tables, in one transaction (articles first: chunks name their keys)."""
        with transaction(self.database, write=True) as db:
            db.executemany(f"INSERT INTO articles VALUES ({', '.join('?' * 13)})", articles)
            db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", chunks)
            db.executemany("INSERT INTO sentence_vectors VALUES (?, ?)", sentences)

    def finish(self, meta: dict[str, Any], generation: int) -> ShardSize:
        """The vector index, the keyword index and the manifest (`meta`: the unsharded index's, which
        this shard's own figures override), from the rows added."""
        rows = self.database.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        articles = int(self.database.execute("SELECT count(*) FROM articles").fetchone()[0])
        dimension = int(meta["dimension"])
        factory = factory_for(len(rows), dimension, self.exact_below)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), dimension).astype(np.float32)
        (self.folder / "vectors").mkdir(exist_ok=True)
        write_vectors(build_vectors(factory, ids, vectors), self.folder / vector_file(generation))
        del rows, vectors
        keywords = KeywordIndex(self.folder, create=True, **self.keyword_writer)
        terms, holding = 0, Counter[str]()
        for row in self.database.execute(
            f"SELECT {article_columns('a')}, c.id, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article"
        ):
            article = article_from_row(row[:8])
            words = add_keywords(keywords, article, Chunk(article.id, row[9], row[10], (), 0, "", row[8]))
            terms += len(words)
            holding.update(set(words))
        keywords.commit()
        own = {
            "articles": articles,
            "chunks": len(ids),
            "factory": factory,
            "generation": generation,
            "vectors": vector_file(generation),
            "keywords": KEYWORD_DIR,  # a shard is written once: one keyword index, never staged
            "trained_on": len(ids),
            "shard": self.number,
            "shards": self.shards,
        }
        with transaction(self.database, write=True) as db:
            meta = {
                k: v for k, v in meta.items() if k != "story_names"
            }  # a shard holds no `story_names` rows: a build into it refills them
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in (meta | own).items()])
        self.size = ShardSize(articles, len(ids), terms, factory, holding, len(ids))
        return self.size

    def balance(self, documents: int, terms: int) -> ShardSize:
        """Ballast documents in the keyword index, so that its average length (terms per document,
        what BM25 normalises by) is the whole set's (`documents` chunks of `terms` terms in all):
        with the whole set's idf (sharded.py), the shard then scores a chunk exactly as one index
        of every chunk would. Returns the shard's size, its keyword documents now counted."""
        lengths = _ballast(self.size.chunks, self.size.terms, terms / max(documents, 1))
        if lengths:
            keywords = KeywordIndex(self.folder)
            keywords.add_ballast(lengths)
            keywords.commit()
            with transaction(self.database, write=True) as db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('keyword_ballast', ?)", (json.dumps(len(lengths)),))
        self.size = dataclasses.replace(self.size, documents=self.size.chunks + len(lengths))
        return self.size

    def close(self) -> None:
        self.database.close()


def _ballast(chunks: int, terms: int, average: float) -> list[int]:
    """Lengths of the ballast documents that bring `chunks` documents of `terms` terms to `average`."""
    if not chunks or average <= 1:
        return []
    # k documents: k - 1 of one term, one of `last` terms, so (terms + k - 1 + last) / (chunks + k) = average.
    k = max(1, math.ceil((terms - average * chunks) / (average - 1)) + 1)
    last = round(average * (chunks + k) - terms - (k - 1))
    return [1] * (k - 1) + [last] if last >= 1 else []


# --- the set -----------------------------------------------------------------------------------------


def check_set(dest: Path | str, shards: int) -> None:
    """What makes a shard set impossible, as one line, before any work is done."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
        raise BuildError(f"--shards must be a whole number from 1 to {MAX_SHARDS}, not {shards!r}")
    dest = Path(dest)
    if dest.exists() and not (dest / MANIFEST).exists():
        raise BuildError(f"{dest} exists and is not a shard set; choose another --out")


@contextmanager
def staged_set(dest: Path | str, shards: int) -> Iterator[tuple[Path, int]]:
    """A new shard set written beside `dest`: yields its staging folder and its generation, and swaps
    it in whole when the block ends; a block that fails (or a killed process) leaves `dest` as it was."""
    check_set(dest, shards)
    dest = Path(dest)
    previous = json.loads((dest / MANIFEST).read_text(encoding="utf-8")).get("generation", 0) if dest.exists() else 0
    housekeep(dest.absolute(), 0, dest)  # staging folders of a write that was killed
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    staging = dest.parent / f".{dest.name}.building-{stamp}"
    staging.mkdir(parents=True)
    try:
        yield staging, previous + 1
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if dest.exists():  # swap: the old set is renamed away first, so `dest` is never half of one
        old = dest.parent / f".{dest.name}.old-{stamp}"
        os.rename(dest, old)
        os.rename(staging, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, dest)


def write_set_manifest(staging: Path, sizes: list[ShardSize], generation: int, *, model: str, source: str, **more: Any) -> None:
    """The set's BM25 statistics (`terms.sqlite`, from the counts each shard's writer made as it
    indexed) and its `shards.json`, the last file written before the swap. Both ways of making a
    set (`split_index`, `qa build --ray --shards`) write them here."""
    store_term_statistics(staging, [size.holding for size in sizes])
    manifest = {
        "format": SHARDS_FORMAT,
        "format_version": SHARDS_VERSION,
        "generation": generation,
        "partition": "crc32(article id, utf-8) mod shards",
        "shards": [shard_folder(n) for n in range(len(sizes))],
        "source": source,
        "model": model,
        "keyword_documents": [size.documents for size in sizes],  # tantivy's, ballast included, for idf
        "chunks": [size.chunks for size in sizes],
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **more,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def balance_all(writers: list[ShardWriter]) -> list[ShardSize]:
    """Every shard's ballast, from the whole set's size; returns the shards' sizes."""
    documents, terms = sum(w.size.chunks for w in writers), sum(w.size.terms for w in writers)
    return [writer.balance(documents, terms) for writer in writers]


# --- qa shard ----------------------------------------------------------------------------------------


def split_index(config: Config, dest: Path | str, shards: int, *, log: Log = lambda _: None) -> ShardReport:
    """Write the index at `config.index` as `shards` shard indexes at `dest` (replacing a shard set there)."""
    check_set(dest, shards)
    source = Index(config.index)
    with staged_set(dest, shards) as (staging, generation):
        writers = []
        try:
            for n in range(shards):
                writer = ShardWriter(staging / shard_folder(n), n, shards, config)
                writers.append(writer)
                _copy_rows(source.folder / FILE_NAME, writer, n, shards)
                size = writer.finish(source.manifest, source.generation)
                log(size.summary(n))
            balance_all(writers)
        finally:
            for writer in writers:
                writer.close()
        write_set_manifest(
            staging,
            [w.size for w in writers],
            generation,
            model=source.model_id,
            source=str(Path(config.index).resolve()),
            source_generation=source.generation,
        )
    return ShardReport(Path(dest), tuple((w.size.articles, w.size.chunks) for w in writers), generation)


def _copy_rows(database: Path, writer: ShardWriter, number: int, shards: int) -> None:
    """One shard's rows of a built index, read in a stream (never the whole table in memory)."""
    with closing(connect(database)) as source:
        source.create_function("shard_of", 1, lambda article_id: shard_of(article_id, shards), deterministic=True)

        def rows(sql: str) -> Iterator[tuple[Any, ...]]:
            yield from source.execute(sql, (number,))

        inside = "JOIN articles a ON a.key = c.article WHERE shard_of(a.id) = ?"
        try:
            writer.add(
                rows("SELECT * FROM articles WHERE shard_of(id) = ?"),
                rows(f"SELECT c.* FROM chunks c {inside}"),
                rows(f"SELECT s.* FROM sentence_vectors s JOIN chunks c ON c.id = s.chunk {inside}"),
            )
        except sqlite3.DatabaseError as error:
            raise BuildError(f"cannot read the index at {database.parent} ({error})") from error
